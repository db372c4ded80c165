"""The pre-provisioning hook's activity: ask the tenant's hook about a device.

Hosted by the central workers (the hook's URL and sealed secret are in the registry).
A tenant without a hook is allowed without a call. The verdict — with the hook's
parameters — is the activity's result, so it is kept in the history encrypted like
every payload; the secret is opened here only, to sign.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity

from activities.webhooks import RegistryOpener
from adapters.pre_provisioning_hook import (
    PreProvisioningHookClient,
    hook_policy,
    hook_tls,
)
from config.settings import WebhookSettings
from connection.secret_box import SecretBox
from domain.hooks import HOOK_EVENT_TYPE, HookCall, HookNotFound, HookVerdict
from registry.hooks import HookStore
from strategies.device_records import HookActivity


class PreProvisioningHookActivities:
    """Calls to tenants' pre-provisioning hooks.

    Args:
        registry: Opens the registry that holds the hooks.
        secrets: Opens the hooks' sealed secrets.
        settings: Timeout, CA file, whether private targets are allowed.
        client: Asks the hooks (default: httpx under the hook's outbound policy).
    """

    def __init__(
        self,
        registry: RegistryOpener,
        secrets: SecretBox | None,
        settings: WebhookSettings,
        *,
        client: PreProvisioningHookClient | None = None,
    ) -> None:
        self._registry = registry
        self._secrets = secrets
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def _hook_client(self) -> PreProvisioningHookClient:
        async with self._lock:
            if self._client is None:
                settings = self._settings
                http = hook_policy(allow_private=settings.allow_private).client(
                    ssl_context=hook_tls(settings.ca_file)
                )
                self._client = PreProvisioningHookClient(
                    http, timeout=settings.hook_timeout_seconds
                )
            return self._client

    @activity.defn(name=HookActivity.CALL.name)
    async def ask(self, call: HookCall) -> HookVerdict:
        """The tenant's hook's verdict on the device (allowed when it has none).

        Raises:
            HookUnavailable: No verdict this time (retried by the run's policy).
        """
        store = HookStore((await self._registry()).database)
        try:
            hook = await store.get(call.tenant)
        except HookNotFound:
            return HookVerdict(consulted=False)
        if self._secrets is None:
            raise RuntimeError("hook secrets cannot be opened: payload encryption is off")
        now = datetime.now(UTC)
        payload = {
            "type": HOOK_EVENT_TYPE,
            "timestamp": now.isoformat(),
            "data": call.model_dump(mode="json", exclude={"tenant", "call_id"}),
        }
        client = await self._hook_client()
        answer = await client.ask(
            hook.view.url, self._secrets.open(hook.sealed_secret), call.call_id, now, payload
        )
        return HookVerdict(
            consulted=True,
            allow=answer.allow,
            reason=answer.reason[:500],
            parameters=dict(list(answer.parameters.items())[:32]),
        )

    def all(self) -> list[object]:
        return [self.ask]
