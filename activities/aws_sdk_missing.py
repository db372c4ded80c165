"""The AWS IoT activities of a central worker installed without the AWS SDK.

aiobotocore is an extra (`pip install 'devprov[aws]'`), so a worker without it still
starts and serves every other family. A `wifi-aws-iot` run that reaches it fails at once,
saying what to install, rather than waiting out its retries for an activity that no
worker hosts.
"""

from __future__ import annotations

from typing import NoReturn

from temporalio import activity

from adapters.errors import AdapterError
from domain.aws_iot import (
    AwsIotRunRegistration,
    AwsThingDeregistration,
    AwsThingRegistration,
    AwsThingRemoval,
    ShadowNetworkCheck,
    ShadowNetworkReport,
)
from domain.errors import ErrorCode
from strategies.wifi_aws_iot import WifiAwsIotActivity


class AwsSdkMissing(AdapterError):
    """This worker cannot call AWS: the SDK is not installed."""

    code = ErrorCode.CLOUD_UNAVAILABLE
    retryable = False


def _missing() -> NoReturn:
    raise AwsSdkMissing(
        "this central worker has no AWS SDK: install devprov with its 'aws' extra "
        "(pip install 'devprov[aws]') to register devices with AWS IoT Core"
    )


class AwsSdkMissingActivities:
    """The AWS IoT activities' names, each failing with `AwsSdkMissing` (not retried)."""

    @activity.defn(name=WifiAwsIotActivity.REGISTER_THING.name)
    async def register_thing(self, registration: AwsIotRunRegistration) -> AwsThingRegistration:
        _missing()

    @activity.defn(name=WifiAwsIotActivity.REMOVE_THING.name)
    async def remove_thing(self, registration: AwsIotRunRegistration) -> AwsThingRemoval:
        _missing()

    @activity.defn(name=WifiAwsIotActivity.DEREGISTER_THING.name)
    async def deregister_thing(self, request: AwsThingDeregistration) -> AwsThingRemoval:
        _missing()

    @activity.defn(name=WifiAwsIotActivity.CONFIRM_SHADOW.name)
    async def confirm_shadow(self, check: ShadowNetworkCheck) -> ShadowNetworkReport:
        _missing()

    def all(self) -> list[object]:
        """Every AWS IoT activity name, for `Worker(activities=...)`."""
        return [self.register_thing, self.remove_thing, self.deregister_thing, self.confirm_shadow]
