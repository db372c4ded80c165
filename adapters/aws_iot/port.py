"""The port a cloud-registration step depends on to register devices in AWS IoT Core."""

from __future__ import annotations

from typing import Protocol

from domain.aws_iot import (
    AwsThingDeregistration,
    AwsThingRegistration,
    AwsThingRegistrationRequest,
    AwsThingRemoval,
    ShadowNetworkReport,
)


class AwsIotRegistrationPort(Protocol):
    """AWS IoT Core as a provisioning run sees it: register, undo, confirm.

    AWS takes no idempotency key for these calls, so each method checks what AWS holds
    before it acts and converges to the same end state however often it runs. Errors are
    `adapters.cloud_errors.CloudError` subclasses (see `adapters.aws_iot.errors`).
    """

    async def register_thing(self, request: AwsThingRegistrationRequest) -> AwsThingRegistration:
        """Sign the device's CSR and make it a thing with an active certificate.

        The certificate gets the tenant's policy and is attached to the thing exclusively;
        the thing joins its site's thing group. Raises `CloudConflict` when the thing
        belongs to another run or tool, `CloudNotFound` when the policy or thing type
        does not exist.
        """
        ...

    async def remove_thing(self, request: AwsThingRegistrationRequest) -> AwsThingRemoval:
        """Undo `register_thing` for the same request, wherever it stopped.

        Removes the certificates made from the request's CSR and, when it carries the
        request's run id, the thing and its group memberships. Removing what is already
        gone is not an error, so this may run before, during or after a registration.
        """
        ...

    async def deregister_thing(self, request: AwsThingDeregistration) -> AwsThingRemoval:
        """Take a device in service out of AWS IoT: revoke and delete the recorded
        certificate and every certificate attached to the thing, take the thing out of
        its groups, delete it and its shadow. What is already gone is skipped, so this
        may run any number of times.
        """
        ...

    async def confirm_network(self, device_id: str, expected_ssid: str) -> ShadowNetworkReport:
        """Read the thing shadow's reported state: is the device on `expected_ssid`?

        A thing with no shadow yet answers `reported=False`, not an error.
        """
        ...
