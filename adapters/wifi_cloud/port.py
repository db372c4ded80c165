"""The port activities depend on to register devices in a vendor cloud."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pydantic import SecretStr

from domain.cloud import (
    CloudCredential,
    CloudDeviceStatus,
    IssuedCredential,
    PolicyAttachment,
    RegisteredDevice,
)


class WifiCloudPort(Protocol):
    """A vendor cloud that provisions devices by claim (AWS IoT / Azure DPS style).

    Every mutating call takes an idempotency key: the same key with the same arguments
    takes effect once, however often it is sent (derive it from the workflow id and the
    step). Errors are `adapters.cloud_errors.CloudError` subclasses.
    """

    async def issue_credential(
        self, device_id: str, claim_token: SecretStr, csr_pem: str, idempotency_key: str
    ) -> IssuedCredential:
        """Exchange a claim and the device's CSR for its certificate and ownership token."""
        ...

    async def register_device(
        self,
        device_id: str,
        attributes: Mapping[str, str],
        ownership_token: SecretStr,
        idempotency_key: str,
    ) -> RegisteredDevice:
        """Create the device record, bound to the credential the ownership token names."""
        ...

    async def attach_policy(
        self, device_id: str, policy_name: str, idempotency_key: str
    ) -> PolicyAttachment:
        """Attach a policy to a registered device (attaching it again changes nothing)."""
        ...

    async def device_status(self, device_id: str) -> CloudDeviceStatus:
        """What the cloud holds about the device; `registered=False` when nothing."""
        ...

    async def list_credentials(self, device_id: str) -> list[CloudCredential]:
        """Every credential issued for the device, active or revoked."""
        ...

    async def deregister(self, device_id: str, idempotency_key: str) -> bool:
        """Delete the device record; False when the cloud did not hold it (not an error)."""
        ...

    async def revoke_credential(self, credential_id: str, idempotency_key: str) -> bool:
        """Revoke a credential; False when the cloud does not know it (not an error)."""
        ...
