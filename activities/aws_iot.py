"""AWS IoT Core activities, hosted by the central workers (they need AWS, not the radio).

AWS takes no idempotency key for these calls: the adapter checks what AWS holds before
each step, so a retried activity converges on one thing and one certificate. The SDK makes
one attempt per call and Temporal retries the activity; a throttled call's wait reaches
Temporal as the failure's `next_retry_delay` (activities/error_boundary.py).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import ValidationError
from temporalio import activity

from activities.polling import poll_cloud_until
from adapters.aws_iot.port import AwsIotRegistrationPort
from adapters.cloud_errors import CloudInvalidRequest
from adapters.errors import AdapterError, clip
from domain.aws_iot import (
    AwsIotRunRegistration,
    AwsThingDeregistration,
    AwsThingRegistration,
    AwsThingRegistrationRequest,
    AwsThingRemoval,
    ShadowNetworkCheck,
    ShadowNetworkReport,
)
from domain.errors import ErrorCode
from strategies.wifi_aws_iot import WifiAwsIotActivity


class ShadowReportPending(AdapterError):
    """The device has not reported the expected network in its thing shadow yet."""

    code = ErrorCode.CLOUD_CHECKIN_TIMEOUT
    retryable = True


class AwsIotActivities:
    """The AWS IoT Core steps of the `wifi-aws-iot` family.

    Args:
        aws: AWS IoT Core (`adapters.aws_iot.open_aws_iot_adapter`).
        policy_template: The tenant's IoT policy name, `{tenant}` standing for the
            tenant of the run (e.g. `devprov-{tenant}-devices`).
        thing_type: The thing type of every thing, or None.
        shadow_poll: Time between two shadow reads while waiting for the device's report.
    """

    def __init__(
        self,
        aws: AwsIotRegistrationPort,
        *,
        policy_template: str,
        thing_type: str | None = None,
        shadow_poll: timedelta = timedelta(seconds=0.5),
    ) -> None:
        self._aws = aws
        self._policy_template = policy_template
        self._thing_type = thing_type
        self._poll = shadow_poll.total_seconds()

    def request_for(self, registration: AwsIotRunRegistration) -> AwsThingRegistrationRequest:
        """The adapter's request: the run's registration plus this account's naming.

        Raises:
            CloudInvalidRequest: a name does not fit AWS's rules (not retried).
        """
        policy = self._policy_template.format(tenant=registration.tenant)
        try:
            return AwsThingRegistrationRequest(
                device_id=registration.device_id,
                csr_pem=registration.csr_pem,
                policy_name=policy,
                site=registration.site,
                run_id=registration.run_id,
                created_after=registration.created_after,
                attributes=registration.attributes,
                thing_type=self._thing_type,
            )
        except ValidationError as error:
            fields = sorted(
                {str(problem["loc"][0]) for problem in error.errors() if problem["loc"]}
            )
            raise CloudInvalidRequest(
                f"device {clip(registration.device_id, 128)} cannot be registered with AWS IoT "
                f"as asked: invalid {', '.join(fields)}",
                details={"device_id": clip(registration.device_id, 128), "policy_name": policy},
            ) from None

    @activity.defn(name=WifiAwsIotActivity.REGISTER_THING.name)
    async def register_thing(self, registration: AwsIotRunRegistration) -> AwsThingRegistration:
        """Thing, certificate from the device's CSR, the tenant's policy, the site's group."""
        return await self._aws.register_thing(self.request_for(registration))

    @activity.defn(name=WifiAwsIotActivity.REMOVE_THING.name)
    async def remove_thing(self, registration: AwsIotRunRegistration) -> AwsThingRemoval:
        """Compensation: remove whatever `register_thing` made for this run, wherever it
        stopped; what is already gone is skipped, so it may run any number of times."""
        return await self._aws.remove_thing(self.request_for(registration))

    @activity.defn(name=WifiAwsIotActivity.DEREGISTER_THING.name)
    async def deregister_thing(self, request: AwsThingDeregistration) -> AwsThingRemoval:
        """Decommission: revoke and delete the device's certificates, delete its thing
        (and shadow); what is already gone is skipped, so it may run any number of times."""
        return await self._aws.deregister_thing(request)

    @activity.defn(name=WifiAwsIotActivity.CONFIRM_SHADOW.name)
    async def confirm_shadow(self, check: ShadowNetworkCheck) -> ShadowNetworkReport:
        """Read the thing shadow until the device reports being on `check.ssid`.

        Heartbeats while it waits, and gives up just before its start-to-close deadline
        with CLOUD_CHECKIN_TIMEOUT and what the shadow last said.
        """
        return await poll_cloud_until(
            lambda: self._aws.confirm_network(check.device_id, check.ssid),
            lambda report: report.on_expected_network,
            poll=self._poll,
            waiting="waiting for the device's report in its thing shadow",
            timed_out=lambda report: ShadowReportPending(
                f"device {check.device_id} has not reported network '{check.ssid}' "
                "in its AWS IoT thing shadow",
                details={
                    "reported": str(report.reported).lower(),
                    "reported_ssid": clip(report.ssid or "", 64),
                    "connected": str(report.connected).lower(),
                },
            ),
        )

    def all(self) -> list[object]:
        """Every AWS IoT activity, for `Worker(activities=...)`."""
        return [self.register_thing, self.remove_thing, self.deregister_thing, self.confirm_shadow]
