"""`WifiCloudPort` over the HTTP API of a fleet-provisioning cloud (see docs/vendor-cloud.md)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from adapters.cloud_errors import CloudNotFound, CloudProtocolError
from adapters.errors import clip
from adapters.wifi_cloud.client import DEFAULT_TIMEOUT_SECONDS, CloudHttpClient
from adapters.wifi_cloud.messages import (
    CredentialListMessage,
    CredentialMessage,
    DeviceMessage,
    IssuedCredentialMessage,
    PolicyAttachmentMessage,
    RegisteredDeviceMessage,
    parse_message,
)
from domain.cloud import (
    CloudCredential,
    CloudDeviceStatus,
    IssuedCredential,
    PolicyAttachment,
    RegisteredDevice,
)

logger = logging.getLogger("devprov.adapters.wifi_cloud")

_DEVICE_GONE = "device_not_found"
_CREDENTIAL_GONE = "credential_not_found"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _json(response: httpx.Response, details: dict[str, str]) -> object:
    try:
        return response.json()
    except ValueError:
        raise CloudProtocolError(
            f"{details['endpoint']}: the cloud's answer is not JSON (HTTP {response.status_code})",
            details={**details, "http_status": str(response.status_code)},
        ) from None


def _credential(message: CredentialMessage) -> CloudCredential:
    return CloudCredential(
        credential_id=message.credential_id,
        device_id=message.device_id,
        active=message.status == "active",
        issued_at=message.issued_at,
        revoked_at=message.revoked_at,
    )


class WifiCloudAdapter:
    """Provisions devices in a vendor cloud by claim, over its `/v1` HTTP API.

    Knows no business rule and no Temporal: it sends what it is given, with the
    idempotency key it is given, and raises typed `CloudError`s. Claim tokens, ownership
    tokens and the API key never appear in its errors or logs.

    Args:
        http: Shared HTTP client; the composition root owns its lifecycle.
        base_url: The cloud's API root, e.g. `http://127.0.0.1:8092`.
        api_key: Our API key for the cloud.
        timeout: Seconds allowed for each call.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: SecretStr,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._client = CloudHttpClient(http, base_url, api_key, timeout=timeout)

    async def issue_credential(
        self, device_id: str, claim_token: SecretStr, csr_pem: str, idempotency_key: str
    ) -> IssuedCredential:
        """Exchange the claim and the CSR for a certificate (`POST /v1/credentials`)."""
        details = {"endpoint": "issue_credential", "device_id": device_id}
        claim = claim_token.get_secret_value()
        response = await self._client.call(
            "POST",
            "/v1/credentials",
            details=details,
            body={"device_id": device_id, "claim_token": claim, "csr_pem": csr_pem},
            idempotency_key=idempotency_key,
            secrets=(claim,),
        )
        message = parse_message(IssuedCredentialMessage, _json(response, details), details=details)
        if message.device_id != device_id:
            raise CloudProtocolError(
                f"issue_credential: the cloud issued a credential for '{clip(message.device_id)}', "
                f"not '{device_id}'",
                details=details,
            )
        logger.info("device %s: credential %s issued", device_id, message.credential_id[:12])
        return IssuedCredential(
            device_id=message.device_id,
            credential_id=message.credential_id,
            certificate_pem=message.certificate_pem,
            not_after=message.not_after,
            ownership_token=SecretStr(message.ownership_token),
            ownership_token_expires_at=message.ownership_token_expires_at,
        )

    async def register_device(
        self,
        device_id: str,
        attributes: Mapping[str, str],
        ownership_token: SecretStr,
        idempotency_key: str,
    ) -> RegisteredDevice:
        """Create the device record (`POST /v1/devices`)."""
        details = {"endpoint": "register_device", "device_id": device_id}
        token = ownership_token.get_secret_value()
        response = await self._client.call(
            "POST",
            "/v1/devices",
            details=details,
            body={"device_id": device_id, "ownership_token": token, "attributes": dict(attributes)},
            idempotency_key=idempotency_key,
            secrets=(token,),
        )
        message = parse_message(RegisteredDeviceMessage, _json(response, details), details=details)
        logger.info("device %s: registered (credential %s)", device_id, message.credential_id[:12])
        return RegisteredDevice(
            device_id=message.device_id,
            credential_id=message.credential_id,
            attributes=message.attributes,
            registered_at=message.registered_at,
        )

    async def attach_policy(
        self, device_id: str, policy_name: str, idempotency_key: str
    ) -> PolicyAttachment:
        """Attach a policy (`POST /v1/devices/{device_id}/policies`)."""
        details = {"endpoint": "attach_policy", "device_id": device_id, "policy": policy_name}
        response = await self._client.call(
            "POST",
            f"/v1/devices/{_segment(device_id)}/policies",
            details=details,
            body={"policy_name": policy_name},
            idempotency_key=idempotency_key,
        )
        message = parse_message(PolicyAttachmentMessage, _json(response, details), details=details)
        logger.info("device %s: policy %s attached", device_id, policy_name)
        return PolicyAttachment(device_id=message.device_id, policy_name=message.policy_name)

    async def device_status(self, device_id: str) -> CloudDeviceStatus:
        """The device record (`GET /v1/devices/{device_id}`); unregistered when absent."""
        details = {"endpoint": "device_status", "device_id": device_id}
        try:
            response = await self._client.call(
                "GET", f"/v1/devices/{_segment(device_id)}", details=details
            )
        except CloudNotFound as exc:
            if exc.details.get("cloud_error") == _DEVICE_GONE:
                return CloudDeviceStatus(device_id=device_id, registered=False)
            raise
        message = parse_message(DeviceMessage, _json(response, details), details=details)
        return CloudDeviceStatus(
            device_id=message.device_id,
            registered=True,
            credential_id=message.credential_id,
            credential_active=message.credential_status == "active",
            attributes=message.attributes,
            policies=frozenset(message.policies),
            registered_at=message.registered_at,
            last_checkin_at=message.last_checkin_at,
        )

    async def list_credentials(self, device_id: str) -> list[CloudCredential]:
        """Credentials issued for the device (`GET /v1/credentials?device_id=`)."""
        details = {"endpoint": "list_credentials", "device_id": device_id}
        response = await self._client.call(
            "GET", "/v1/credentials", details=details, params={"device_id": device_id}
        )
        message = parse_message(CredentialListMessage, _json(response, details), details=details)
        return [_credential(c) for c in message.credentials]

    async def deregister(self, device_id: str, idempotency_key: str) -> bool:
        """Delete the device record (`DELETE /v1/devices/{device_id}`).

        Returns:
            False when the cloud did not hold the device: it is gone either way.
        """
        details = {"endpoint": "deregister_device", "device_id": device_id}
        try:
            await self._client.call(
                "DELETE",
                f"/v1/devices/{_segment(device_id)}",
                details=details,
                idempotency_key=idempotency_key,
            )
        except CloudNotFound as exc:
            if exc.details.get("cloud_error") != _DEVICE_GONE:
                raise
            logger.info("device %s: not registered, nothing to deregister", device_id)
            return False
        logger.info("device %s: deregistered", device_id)
        return True

    async def revoke_credential(self, credential_id: str, idempotency_key: str) -> bool:
        """Revoke a credential (`POST /v1/credentials/{credential_id}/revoke`).

        Returns:
            False when the cloud does not know the credential: nothing can use it.
        """
        details = {"endpoint": "revoke_credential", "credential_id": credential_id}
        try:
            response = await self._client.call(
                "POST",
                f"/v1/credentials/{_segment(credential_id)}/revoke",
                details=details,
                idempotency_key=idempotency_key,
            )
        except CloudNotFound as exc:
            if exc.details.get("cloud_error") != _CREDENTIAL_GONE:
                raise
            logger.info("credential %s: unknown to the cloud, nothing to revoke", credential_id)
            return False
        parse_message(CredentialMessage, _json(response, details), details=details)
        logger.info("credential %s: revoked", credential_id[:12])
        return True
