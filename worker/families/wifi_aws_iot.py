"""Wiring of the `wifi-aws-iot` family: the device's CSR and certificate steps on the edge
(its Wi-Fi steps are the `http-wifi` capability's), the AWS IoT Core activities on the
central workers; under `make run`, a local AWS and Wi-Fi devices with an AWS IoT
identity in the `http-wifi` family's simulated fleet."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from config.settings import Settings
from worker.capabilities.wifi_aws_iot import wifi_aws_iot_capability
from worker.families import EmbeddedSimulator, FamilyWiring

logger = logging.getLogger("devprov.worker.aws_iot")


@contextlib.asynccontextmanager
async def aws_iot_activities(settings: Settings) -> AsyncIterator[list[object]]:
    """The central activities wired to AWS IoT Core as the standard AWS chain finds it
    (environment, shared config files, roles). The SDK's clients open on the first AWS
    call, so a worker starts without any AWS setting; they close on exit."""
    try:
        # The AWS SDK is an extra: imported only where a central worker opens AWS.
        from activities.aws_iot import AwsIotActivities
        from adapters.aws_iot import AwsIotOnFirstUse, AwsIotSettings
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith(("aiobotocore", "botocore")):
            raise
        from activities.aws_sdk_missing import AwsSdkMissingActivities

        logger.warning("wifi-aws-iot: no AWS SDK (pip install 'devprov[aws]'); its runs fail")
        yield AwsSdkMissingActivities().all()
        return
    family = settings.aws_iot
    aws_settings = AwsIotSettings(
        thing_group_prefix=family.thing_group_prefix,
        match_certificate_subject=family.match_certificate_subject,
    )
    async with contextlib.aclosing(AwsIotOnFirstUse(aws_settings)) as aws:
        yield AwsIotActivities(
            aws, policy_template=family.policy_template, thing_type=family.thing_type
        ).all()


WIRING = FamilyWiring(
    edge_capability=wifi_aws_iot_capability,
    central_activities=aws_iot_activities,
    simulator=EmbeddedSimulator(
        start="simulators.aws_iot.embedded:simulated_aws_iot", after=("http-wifi",)
    ),
)
