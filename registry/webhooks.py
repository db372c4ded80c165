"""Webhook subscriptions and the outbox of their events, in the registry's database.

Every subscription belongs to one tenant and is only ever read or changed with it
(another tenant's is `WebhookNotFound`, like a missing one). An event is written once
per subscription that names its type (`write_event`), in the transaction of whatever
it tells; the delivery workflow then reads the heads of its lanes (`due`) and records
each try (`record_try`). Secrets arrive here sealed; this module never sees one in clear.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from domain.webhooks import (
    DeliveryStatus,
    DueEvents,
    EventType,
    StoredWebhook,
    Webhook,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookEvent,
    WebhookNotFound,
)
from registry.database import Database
from registry.tables import WebhookEventRow, WebhookSubscriptionRow

SUBSCRIPTIONS = cast(Table, WebhookSubscriptionRow.__table__)
EVENTS = cast(Table, WebhookEventRow.__table__)
MAX_ERROR = 500
_HEADS_SCANNED = 2000
"""Pending events read at most to find the lane heads of one subscription."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _subscription(row: Mapping[Any, Any]) -> StoredWebhook:
    expires = row.get("previous_secret_expires_at")
    view = Webhook(
        id=row["subscription_id"],
        url=row["url"],
        events=[EventType(t) for t in row["event_types"]],
        description=row["description"],
        enabled=row["enabled"],
        created_at=_aware(row["created_at"]),
        previous_secret_expires_at=_aware(expires) if expires is not None else None,
    )
    return StoredWebhook(tenant=row["tenant"], view=view, sealed_secret=row["sealed_secret"])


def _delivery(row: Mapping[Any, Any]) -> WebhookDelivery:
    status = DeliveryStatus(row["status"])
    return WebhookDelivery(
        event_id=row["event_id"],
        type=EventType(row["event_type"]),
        lane=row["lane"],
        status=status,
        attempts=row["attempts"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=_aware(row["created_at"]),
        next_try_at=_aware(row["next_try_at"]) if status is DeliveryStatus.PENDING else None,
        delivered_at=_aware(row["delivered_at"]) if row["delivered_at"] else None,
    )


_ENABLED_SUBSCRIPTIONS = select(SUBSCRIPTIONS.c.subscription_id, SUBSCRIPTIONS.c.event_types).where(
    SUBSCRIPTIONS.c.tenant == bindparam("tenant"), SUBSCRIPTIONS.c.enabled.is_(True)
)
"""Built once: every provisioning start and every run's outcome read it."""


def subscriber_ids(
    connection: Connection, tenant: str, event_type: EventType
) -> builtins.list[str]:
    """The enabled subscriptions of `tenant` that name `event_type`."""
    return [
        row.subscription_id
        for row in connection.execute(_ENABLED_SUBSCRIPTIONS, {"tenant": tenant}).all()
        if event_type.value in row.event_types
    ]


def write_event(connection: Connection, event: WebhookEvent, now: datetime) -> builtins.list[str]:
    """Put `event` in the outbox of every enabled subscription of its tenant that names
    its type, inside the caller's transaction; the ids of those subscriptions.

    Idempotent: a subscription that has the event already gets nothing more.
    """
    subscribers = subscriber_ids(connection, event.tenant, event.type)
    if not subscribers:
        return []
    present = set(
        connection.execute(
            select(EVENTS.c.subscription_id).where(
                EVENTS.c.event_id == event.event_id,
                EVENTS.c.subscription_id.in_(subscribers),
            )
        ).scalars()
    )
    rows = [
        {
            "event_id": event.event_id,
            "subscription_id": subscription_id,
            "tenant": event.tenant,
            "lane": event.lane,
            "event_type": event.type.value,
            "payload": event.body(),
            "created_at": now,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_try_at": now,
            "age_from": now,
        }
        for subscription_id in subscribers
        if subscription_id not in present
    ]
    if rows:
        connection.execute(insert(EVENTS), rows)
    return subscribers


class WebhookStore:
    """Subscriptions and their outbox.

    Args:
        database: The registry's database (schema up to date).
        clock: Now, as an aware datetime.
    """

    def __init__(
        self, database: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._database = database
        self._clock = clock

    # ------------------------------------------------------------ subscriptions

    async def add(
        self,
        tenant: str,
        subscription_id: str,
        url: str,
        events: builtins.list[EventType],
        description: str,
        sealed_secret: str,
    ) -> Webhook:
        values = {
            "subscription_id": subscription_id,
            "tenant": tenant,
            "url": url,
            "event_types": [e.value for e in events],
            "description": description,
            "sealed_secret": sealed_secret,
            "previous_sealed_secret": None,
            "previous_secret_expires_at": None,
            "enabled": True,
            "created_at": self._clock(),
        }
        await self._database.transaction(
            lambda connection: connection.execute(insert(SUBSCRIPTIONS).values(values))
        )
        return _subscription(values).view

    async def list(self, tenant: str) -> builtins.list[Webhook]:
        query = (
            select(SUBSCRIPTIONS)
            .where(SUBSCRIPTIONS.c.tenant == tenant)
            .order_by(SUBSCRIPTIONS.c.created_at, SUBSCRIPTIONS.c.subscription_id)
        )
        rows = await self._database.read(
            lambda connection: connection.execute(query).mappings().all()
        )
        return [_subscription(row).view for row in rows]

    async def get(self, subscription_id: str, tenant: str | None = None) -> StoredWebhook:
        """The subscription (any tenant's when `tenant` is None: the delivery side).

        Raises:
            WebhookNotFound: None with this id (for this tenant).
        """
        query = select(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.subscription_id == subscription_id)
        row = await self._database.read(
            lambda connection: connection.execute(query).mappings().first()
        )
        if row is None or (tenant is not None and row["tenant"] != tenant):
            raise WebhookNotFound(subscription_id)
        return _subscription(row)

    async def delete(self, tenant: str, subscription_id: str) -> None:
        """Delete the subscription and its outbox (its delivery workflow then ends).

        Raises:
            WebhookNotFound: None with this id for this tenant.
        """

        def remove(connection: Connection) -> None:
            removed = connection.execute(
                delete(SUBSCRIPTIONS).where(
                    SUBSCRIPTIONS.c.subscription_id == subscription_id,
                    SUBSCRIPTIONS.c.tenant == tenant,
                )
            )
            if removed.rowcount != 1:
                raise WebhookNotFound(subscription_id)
            connection.execute(delete(EVENTS).where(EVENTS.c.subscription_id == subscription_id))

        await self._database.transaction(remove)

    async def update(
        self,
        tenant: str,
        subscription_id: str,
        *,
        enabled: bool | None = None,
        events: builtins.list[EventType] | None = None,
        description: str | None = None,
    ) -> Webhook:
        """Change what is given; the subscription as it is now.

        Raises:
            WebhookNotFound: None with this id for this tenant.
        """
        changes: dict[str, Any] = {}
        if enabled is not None:
            changes["enabled"] = enabled
        if events is not None:
            changes["event_types"] = [e.value for e in events]
        if description is not None:
            changes["description"] = description
        where = (
            SUBSCRIPTIONS.c.subscription_id == subscription_id,
            SUBSCRIPTIONS.c.tenant == tenant,
        )

        def change(connection: Connection) -> Any:
            if changes:
                connection.execute(update(SUBSCRIPTIONS).where(*where).values(changes))
            return connection.execute(select(SUBSCRIPTIONS).where(*where)).mappings().first()

        row = await self._database.transaction(change)
        if row is None:
            raise WebhookNotFound(subscription_id)
        return _subscription(row).view

    async def rotate_secret(
        self, tenant: str, subscription_id: str, sealed_secret: str, grace: timedelta
    ) -> Webhook:
        """Make `sealed_secret` the signing secret; the one it replaces signs too until
        `grace` from now (with no grace, at once no more). A secret rotated out earlier
        is dropped: at most two sign.

        Raises:
            WebhookNotFound: None with this id for this tenant.
        """
        where = (
            SUBSCRIPTIONS.c.subscription_id == subscription_id,
            SUBSCRIPTIONS.c.tenant == tenant,
        )

        def rotate(connection: Connection) -> dict[str, Any]:
            row = connection.execute(select(SUBSCRIPTIONS).where(*where)).mappings().first()
            if row is None:
                raise WebhookNotFound(subscription_id)
            keep = grace > timedelta(0)
            changes = {
                "sealed_secret": sealed_secret,
                "previous_sealed_secret": row["sealed_secret"] if keep else None,
                "previous_secret_expires_at": self._clock() + grace if keep else None,
            }
            connection.execute(update(SUBSCRIPTIONS).where(*where).values(changes))
            return {**dict(row), **changes}

        return _subscription(await self._database.transaction(rotate)).view

    # ------------------------------------------------------------ outbox

    async def publish(self, event: WebhookEvent) -> builtins.list[str]:
        """`write_event` in a transaction of its own (events no outcome record carries)."""
        return await self._database.transaction(
            lambda connection: write_event(connection, event, self._clock())
        )

    async def publish_all(self, events: builtins.list[WebhookEvent]) -> builtins.list[str]:
        """`write_event` of each event, in their order, in one transaction; the ids of
        the subscriptions that got any."""

        def write(connection: Connection) -> builtins.list[str]:
            subscribers: set[str] = set()
            for event in events:
                subscribers.update(write_event(connection, event, self._clock()))
            return sorted(subscribers)

        return await self._database.transaction(write)

    async def subscribers(self, tenant: str, event_type: EventType) -> builtins.list[str]:
        """The enabled subscriptions of `tenant` that name `event_type`."""
        return await self._database.read(
            lambda connection: subscriber_ids(connection, tenant, event_type)
        )

    async def due(self, subscription_id: str, limit: int) -> DueEvents:
        """The first pending event of each lane, those whose try is due (oldest lanes
        first, `limit` at most), and when the next of the others is due; none while the
        subscription is disabled."""
        now = self._clock()

        def heads(connection: Connection) -> DueEvents | Sequence[Any]:
            exists = connection.execute(
                select(SUBSCRIPTIONS.c.enabled).where(
                    SUBSCRIPTIONS.c.subscription_id == subscription_id
                )
            ).first()
            if exists is None:
                return DueEvents(subscription_exists=False)
            if not exists.enabled:
                return DueEvents(subscription_exists=True, enabled=False)
            return connection.execute(
                select(EVENTS.c.event_id, EVENTS.c.lane, EVENTS.c.next_try_at)
                .where(
                    EVENTS.c.subscription_id == subscription_id,
                    EVENTS.c.status == DeliveryStatus.PENDING.value,
                )
                .order_by(EVENTS.c.sequence)
                .limit(_HEADS_SCANNED)
            ).all()

        rows = await self._database.read(heads)
        if isinstance(rows, DueEvents):
            return rows
        lanes: set[str] = set()
        due: builtins.list[str] = []
        later: datetime | None = None
        for row in rows:
            if row.lane in lanes:
                continue
            lanes.add(row.lane)
            next_try = _aware(row.next_try_at)
            if next_try <= now:
                if len(due) < limit:
                    due.append(row.event_id)
            elif later is None or next_try < later:
                later = next_try
        return DueEvents(
            subscription_exists=True,
            event_ids=due,
            next_due_in_seconds=(later - now).total_seconds() if later is not None else None,
        )

    async def pending(self, subscription_id: str, event_id: str) -> Mapping[str, Any] | None:
        """The event's row with its subscription's URL and sealed secrets (the previous
        one with its expiry, after a rotation), if it is still pending; None otherwise
        (delivered, dead, or deleted with its subscription)."""
        query = (
            select(
                EVENTS,
                SUBSCRIPTIONS.c.url,
                SUBSCRIPTIONS.c.sealed_secret,
                SUBSCRIPTIONS.c.previous_sealed_secret,
                SUBSCRIPTIONS.c.previous_secret_expires_at,
            )
            .join(SUBSCRIPTIONS, SUBSCRIPTIONS.c.subscription_id == EVENTS.c.subscription_id)
            .where(
                EVENTS.c.subscription_id == subscription_id,
                EVENTS.c.event_id == event_id,
                EVENTS.c.status == DeliveryStatus.PENDING.value,
            )
        )
        row = await self._database.read(
            lambda connection: connection.execute(query).mappings().first()
        )
        return dict(row) if row is not None else None

    async def record_try(
        self,
        subscription_id: str,
        event_id: str,
        *,
        delivered: bool,
        status_code: int | None,
        error: str | None,
        retry_after: timedelta,
        max_age: timedelta,
    ) -> WebhookDelivery | None:
        """Record one try of a pending event: delivered, or pending again after
        `retry_after` — dead if that would pass its maximum age. None if the event is
        not pending any more."""
        now = self._clock()
        where = (
            EVENTS.c.subscription_id == subscription_id,
            EVENTS.c.event_id == event_id,
            EVENTS.c.status == DeliveryStatus.PENDING.value,
        )

        def record(connection: Connection) -> dict[str, Any] | None:
            row = connection.execute(select(EVENTS).where(*where)).mappings().first()
            if row is None:
                return None
            changes: dict[str, Any] = {
                "attempts": row["attempts"] + 1,
                "last_status_code": status_code,
                "last_error": error[:MAX_ERROR] if error else None,
            }
            if delivered:
                changes.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now)
            elif now + retry_after > _aware(row["age_from"]) + max_age:
                changes["status"] = DeliveryStatus.DEAD.value
            else:
                changes["next_try_at"] = now + retry_after
            connection.execute(update(EVENTS).where(*where).values(changes))
            return {**dict(row), **changes}

        tried = await self._database.transaction(record)
        return _delivery(tried) if tried is not None else None

    async def deliveries(
        self, tenant: str, subscription_id: str, *, limit: int = 100, before: int | None = None
    ) -> WebhookDeliveryList:
        """The subscription's deliveries, newest first, `limit` at a time.

        Raises:
            WebhookNotFound: No such subscription for this tenant.
        """
        await self.get(subscription_id, tenant)
        query = (
            select(EVENTS)
            .where(EVENTS.c.subscription_id == subscription_id)
            .order_by(EVENTS.c.sequence.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(EVENTS.c.sequence < before)
        rows = await self._database.read(
            lambda connection: connection.execute(query).mappings().all()
        )
        items = [_delivery(row) for row in rows[:limit]]
        more = len(rows) > limit
        return WebhookDeliveryList(
            items=items, next_cursor=str(rows[limit - 1]["sequence"]) if more else None
        )

    async def redeliver(self, tenant: str, subscription_id: str, event_id: str) -> WebhookDelivery:
        """Send the event again (delivered or dead alike): pending, due now, its maximum
        age counted from now.

        Raises:
            WebhookNotFound: No such subscription for this tenant, or no such event of it.
        """
        await self.get(subscription_id, tenant)
        now = self._clock()
        where = (EVENTS.c.subscription_id == subscription_id, EVENTS.c.event_id == event_id)
        changes = {
            "status": DeliveryStatus.PENDING.value,
            "next_try_at": now,
            "age_from": now,
            "delivered_at": None,
        }

        def again(connection: Connection) -> dict[str, Any]:
            row = connection.execute(select(EVENTS).where(*where)).mappings().first()
            if row is None:
                raise WebhookNotFound(event_id)
            connection.execute(update(EVENTS).where(*where).values(changes))
            return {**dict(row), **changes}

        return _delivery(await self._database.transaction(again))
