"""Webhook subscriptions of a tenant: create (the secret shown once), list, show, change
(disable, enable, its events), rotate the secret, delete, the delivery log, and
redelivery by hand.

Creating or enabling a subscription starts its delivery workflow; redelivering wakes
it; a disabled one's workflow ends (its pending events wait in the outbox). Target
URLs obey the outbound-request policy (https, no loopback, private or link-local host
unless the deployment allows private targets); the delivery side checks again on the
address each try connects to.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from domain.errors import ErrorCode
from domain.webhooks import (
    WEBHOOK_DELIVERY_WORKFLOW,
    WEBHOOK_KICK_SIGNAL,
    EventType,
    TargetRefused,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookDeliveryRun,
    WebhookList,
    WebhookNotFound,
    WebhookSecretRotated,
    WebhookSecretRotation,
    WebhookUpdate,
    check_target_url,
    delivery_workflow_id,
)
from services.errors import RequestNotServable, WebhookTargetRefused, WebhookUnknown

if TYPE_CHECKING:  # the store (SQLAlchemy) is loaded by whoever opens a registry
    from registry.webhooks import WebhookStore

SECRET_BYTES = 24


class SecretSealer(Protocol):
    """Encrypts a secret for storage (the API passes the key ring's box)."""

    def seal(self, secret: str) -> str: ...


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _unknown(subscription_id: str) -> WebhookUnknown:
    return WebhookUnknown(ErrorCode.NOT_FOUND, f"no webhook '{subscription_id}'")


class WebhookSubscriptions:
    """A tenant's webhooks.

    Args:
        store: The registry's webhook tables; None (an API without a registry) keeps none.
        temporal: Starts and wakes the delivery workflows.
        task_queue: The central workers' task queue.
        sealer: Encrypts signing secrets (None: payload encryption is off, so secrets
            could not be kept encrypted and no webhook is created).
        allow_private: Targets may be http and loopback, private or link-local.
        poll_seconds: Longest wait of a delivery workflow between two looks.
        secret_grace_seconds: After a rotation, how long the old secret signs too
            (unless the rotation asks for another grace).
    """

    def __init__(
        self,
        store: WebhookStore | None,
        temporal: Client,
        task_queue: str,
        sealer: SecretSealer | None,
        *,
        allow_private: bool = False,
        poll_seconds: float = 60.0,
        secret_grace_seconds: float = 24 * 3600.0,
    ) -> None:
        self._store = store
        self._temporal = temporal
        self._task_queue = task_queue
        self._sealer = sealer
        self._allow_private = allow_private
        self._poll_seconds = poll_seconds
        self._secret_grace = timedelta(seconds=secret_grace_seconds)

    def _sealing(self) -> SecretSealer:
        if self._sealer is None:
            raise RequestNotServable(
                ErrorCode.WEBHOOK_SECRETS_UNAVAILABLE,
                "webhook secrets are kept encrypted with the payload key ring, and payload "
                "encryption is off (DEVPROV_CODEC=off)",
            )
        return self._sealer

    def _stored(self) -> WebhookStore:
        if self._store is None:
            raise RequestNotServable(
                ErrorCode.INVALID_REQUEST, "this API has no registry database to keep webhooks"
            )
        return self._store

    async def create(self, tenant: str, body: WebhookCreate) -> WebhookCreated:
        """Subscribe `body.url` to `body.events`; the answer holds the secret, once.

        Raises:
            WebhookTargetRefused: WEBHOOK_TARGET_NOT_ALLOWED.
            RequestNotServable: No registry, or no key ring to seal the secret with.
        """
        try:
            check_target_url(body.url, allow_private=self._allow_private)
        except TargetRefused as refused:
            raise WebhookTargetRefused(
                ErrorCode.WEBHOOK_TARGET_NOT_ALLOWED,
                f"the webhook URL is refused: {refused}",
            ) from None
        store = self._stored()
        sealer = self._sealing()
        secret = new_signing_secret()
        subscription_id = f"wh_{secrets.token_hex(12)}"
        created = await store.add(
            tenant,
            subscription_id,
            body.url,
            body.events,
            body.description,
            sealer.seal(secret),
        )
        await self._wake(subscription_id)
        return WebhookCreated(**created.model_dump(), secret=secret)

    async def list(self, tenant: str) -> WebhookList:
        if self._store is None:
            return WebhookList(items=[])
        return WebhookList(items=await self._store.list(tenant))

    async def show(self, tenant: str, subscription_id: str) -> Webhook:
        """Raises: WebhookUnknown (another tenant's too)."""
        if self._store is None:
            raise _unknown(subscription_id)
        try:
            return (await self._store.get(subscription_id, tenant)).view
        except WebhookNotFound:
            raise _unknown(subscription_id) from None

    async def update(self, tenant: str, subscription_id: str, body: WebhookUpdate) -> Webhook:
        """Change what `body` names. Disabling stops new events at once (none are
        written for it) and ends its delivery workflow at its next look, keeping the
        pending events; enabling wakes it.

        Raises: WebhookUnknown.
        """
        if self._store is None:
            raise _unknown(subscription_id)
        try:
            updated = await self._store.update(
                tenant,
                subscription_id,
                enabled=body.enabled,
                events=body.events,
                description=body.description,
            )
        except WebhookNotFound:
            raise _unknown(subscription_id) from None
        if body.enabled is not None:
            await self._wake(subscription_id)
        return updated

    async def rotate_secret(
        self, tenant: str, subscription_id: str, body: WebhookSecretRotation
    ) -> WebhookSecretRotated:
        """A new signing secret (shown once in the answer); deliveries carry a signature
        with the old one as well for the grace period, so that receivers can switch
        without refusing an event. A second rotation within the grace drops the oldest.

        Raises: WebhookUnknown; RequestNotServable (WEBHOOK_SECRETS_UNAVAILABLE).
        """
        if self._store is None:
            raise _unknown(subscription_id)
        sealer = self._sealing()
        grace = (
            timedelta(seconds=body.grace_seconds)
            if body.grace_seconds is not None
            else self._secret_grace
        )
        secret = new_signing_secret()
        try:
            rotated = await self._store.rotate_secret(
                tenant, subscription_id, sealer.seal(secret), grace
            )
        except WebhookNotFound:
            raise _unknown(subscription_id) from None
        return WebhookSecretRotated(
            id=subscription_id,
            secret=secret,
            previous_secret_expires_at=rotated.previous_secret_expires_at,
        )

    async def sends_run_states(self, tenant: str) -> bool:
        """Whether the tenant has an enabled subscription to `run.state_changed`: the
        runs it starts now then send their state changes (asked once, at their start)."""
        if self._store is None:
            return False
        return bool(await self._store.subscribers(tenant, EventType.RUN_STATE_CHANGED))

    async def delete(self, tenant: str, subscription_id: str) -> None:
        """Delete it and its pending events; its delivery workflow ends at its next look.

        Raises: WebhookUnknown.
        """
        if self._store is None:
            raise _unknown(subscription_id)
        try:
            await self._store.delete(tenant, subscription_id)
        except WebhookNotFound:
            raise _unknown(subscription_id) from None
        await self._wake(subscription_id)

    async def deliveries(
        self, tenant: str, subscription_id: str, *, limit: int, cursor: str | None
    ) -> WebhookDeliveryList:
        """Its delivery log, newest first. Raises: WebhookUnknown; RequestNotServable
        for a cursor this API did not give."""
        if self._store is None:
            raise _unknown(subscription_id)
        if cursor is not None and not cursor.isdigit():
            raise RequestNotServable(
                ErrorCode.INVALID_REQUEST, "`cursor` is not of the form this API gives"
            )
        try:
            return await self._store.deliveries(
                tenant,
                subscription_id,
                limit=limit,
                before=int(cursor) if cursor is not None else None,
            )
        except WebhookNotFound:
            raise _unknown(subscription_id) from None

    async def redeliver(self, tenant: str, subscription_id: str, event_id: str) -> WebhookDelivery:
        """Send the event again now (a dead one too), its maximum age counted afresh.

        Raises: WebhookUnknown (no such subscription or event of it).
        """
        if self._store is None:
            raise _unknown(subscription_id)
        try:
            delivery = await self._store.redeliver(tenant, subscription_id, event_id)
        except WebhookNotFound:
            raise WebhookUnknown(
                ErrorCode.NOT_FOUND,
                f"no event '{event_id}' for webhook '{subscription_id}'",
            ) from None
        await self._wake(subscription_id)
        return delivery

    async def _wake(self, subscription_id: str) -> None:
        """Start the subscription's delivery workflow, or signal it if it runs."""
        await self._temporal.start_workflow(
            WEBHOOK_DELIVERY_WORKFLOW,
            WebhookDeliveryRun(subscription_id=subscription_id, poll_seconds=self._poll_seconds),
            id=delivery_workflow_id(subscription_id),
            task_queue=self._task_queue,
            start_signal=WEBHOOK_KICK_SIGNAL,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"webhook deliveries of {subscription_id}",
        )
