"""A tenant's pre-provisioning hook: set (its secret shown once), read, remove.

The URL obeys the outbound-request policy of webhooks, and must be https: devprov sends
the device's facts there and acts on the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from domain.errors import ErrorCode
from domain.hooks import (
    HookNotFound,
    PreProvisioningHook,
    PreProvisioningHookCreated,
    PreProvisioningHookSet,
)
from domain.webhooks import TargetRefused, check_target_url
from services.errors import RequestNotServable, WebhookTargetRefused, WebhookUnknown
from services.webhooks import SecretSealer, new_signing_secret

if TYPE_CHECKING:  # the store (SQLAlchemy) is loaded by whoever opens a registry
    from registry.hooks import HookStore


def _none() -> WebhookUnknown:
    return WebhookUnknown(ErrorCode.NOT_FOUND, "this tenant has no pre-provisioning hook")


class PreProvisioningHooks:
    """Tenants' hooks.

    Args:
        store: The registry's hooks; None (an API without a registry) keeps none.
        sealer: Encrypts signing secrets (None: payload encryption is off).
        allow_private: Hooks may be on loopback, private or link-local addresses.
    """

    def __init__(
        self, store: HookStore | None, sealer: SecretSealer | None, *, allow_private: bool = False
    ) -> None:
        self._store = store
        self._sealer = sealer
        self._allow_private = allow_private

    async def put(self, tenant: str, body: PreProvisioningHookSet) -> PreProvisioningHookCreated:
        """Set the tenant's hook with a new secret (shown once in the answer).

        Raises:
            WebhookTargetRefused: WEBHOOK_TARGET_NOT_ALLOWED (not https, or refused).
            RequestNotServable: No registry, or no key ring to seal the secret with.
        """
        try:
            if urlsplit(body.url).scheme != "https":
                raise TargetRefused("a pre-provisioning hook is called over https only")
            check_target_url(body.url, allow_private=self._allow_private)
        except (TargetRefused, ValueError) as refused:
            raise WebhookTargetRefused(
                ErrorCode.WEBHOOK_TARGET_NOT_ALLOWED, f"the hook URL is refused: {refused}"
            ) from None
        if self._store is None:
            raise RequestNotServable(
                ErrorCode.INVALID_REQUEST, "this API has no registry database to keep hooks"
            )
        if self._sealer is None:
            raise RequestNotServable(
                ErrorCode.WEBHOOK_SECRETS_UNAVAILABLE,
                "hook secrets are kept encrypted with the payload key ring, and payload "
                "encryption is off (DEVPROV_CODEC=off)",
            )
        secret = new_signing_secret()
        hook = await self._store.put(tenant, body.url, self._sealer.seal(secret))
        return PreProvisioningHookCreated(**hook.model_dump(), secret=secret)

    async def configured(self, tenant: str) -> bool:
        """Whether the tenant has a hook (its runs then ask it in PRE_CHECK)."""
        if self._store is None:
            return False
        try:
            await self._store.get(tenant)
        except HookNotFound:
            return False
        return True

    async def get(self, tenant: str) -> PreProvisioningHook:
        """Raises: WebhookUnknown (NOT_FOUND) when the tenant has none."""
        if self._store is None:
            raise _none()
        try:
            return (await self._store.get(tenant)).view
        except HookNotFound:
            raise _none() from None

    async def delete(self, tenant: str) -> None:
        """Raises: WebhookUnknown (NOT_FOUND) when the tenant has none."""
        if self._store is None:
            raise _none()
        try:
            await self._store.delete(tenant)
        except HookNotFound:
            raise _none() from None
