"""What the AWS IoT contract tests share: names, the tenant's policy, a request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.aws_iot import AwsThingRegistrationRequest
from simulators.aws_iot import SimulatedAwsIotDevice

POLICY = "tenant-acme-devices"
SITE = "lab"
GROUP = f"devprov-site-{SITE}"
DEVICE_ID = "plug-kitchen"
RUN_ID = "provision-plug-kitchen/run-1"
POLICY_DOCUMENT = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Action": "iot:Connect", "Resource": "*"}]}'
)


def registration_request(
    device: SimulatedAwsIotDevice,
    *,
    run_id: str = RUN_ID,
    policy: str = POLICY,
    thing_type: str | None = None,
) -> AwsThingRegistrationRequest:
    return AwsThingRegistrationRequest(
        device_id=device.device_id,
        csr_pem=device.certificate_signing_request(),
        policy_name=policy,
        site=SITE,
        run_id=run_id,
        created_after=datetime.now(UTC) - timedelta(minutes=5),
        attributes={"vendor": "shelly", "model": "SNSW-001X16EU", "firmware": "1.4.2"},
        thing_type=thing_type,
    )
