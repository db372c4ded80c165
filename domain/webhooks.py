"""Webhooks: a tenant's subscriptions, the events runs and fleets send them, and what
their delivery log shows.

Events follow the Standard Webhooks specification: the body is
`{"type", "timestamp", "data"}`, and every request carries `webhook-id` (the event's
id, the same on every retry), `webhook-timestamp` and `webhook-signature` (`v1,` and
an HMAC-SHA256 with the subscription's `whsec_` secret). See
docs/integrating-a-backend.md.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from domain.identifiers import Identifier
from domain.states import ProvisioningState

WEBHOOK_ID = Identifier("webhook id", r"wh_[0-9a-f]{24}", "'wh_' and 24 lowercase hex digits")
EVENT_ID = Identifier("event id", r"evt_[0-9a-f]{32}", "'evt_' and 32 lowercase hex digits")
WEBHOOK_ID_PATTERN = WEBHOOK_ID.pattern
EVENT_ID_PATTERN = EVENT_ID.pattern
MAX_URL_LENGTH = 2048
WEBHOOK_DELIVERY_WORKFLOW = "WebhookDelivery"
WEBHOOK_KICK_SIGNAL = "new_events"
"""Signal to a subscription's delivery workflow: events were written for it."""


def delivery_workflow_id(subscription_id: str) -> str:
    """The one delivery workflow of a subscription."""
    return f"webhook-delivery-{subscription_id}"


class EventType(StrEnum):
    """What a webhook event tells.

    A provisioning run sends `run.succeeded` or `run.failed` once it ends (every terminal
    state but SUCCEEDED is `run.failed`; `data.state` and `data.error_code` say which); a
    decommissioning run sends `device.decommissioned` when it succeeds and `run.failed`
    otherwise; a fleet sends `fleet.finished` when it completes or is cancelled.
    `run.state_changed` tells that a run entered or left a state people act on
    (`STATE_EVENT_STATES`), and, last, the terminal state it ended in — only for runs
    started while their tenant had an enabled subscription naming it
    (`ProvisionRun.state_events`), so that runs pay nothing for it otherwise.
    """

    RUN_SUCCEEDED = "run.succeeded"
    RUN_FAILED = "run.failed"
    RUN_STATE_CHANGED = "run.state_changed"
    FLEET_FINISHED = "fleet.finished"
    DEVICE_DECOMMISSIONED = "device.decommissioned"


STATE_EVENT_STATES = frozenset(
    {
        ProvisioningState.PENDING_NETWORK,
        ProvisioningState.WAITING_FOR_DEVICE,
        ProvisioningState.ROLLING_BACK,
    }
)
"""States whose entry and exit send `run.state_changed`: a person has to act (credentials,
the device at hand) or the device is being rolled back."""


def sends_state_changed(previous: ProvisioningState, state: ProvisioningState) -> bool:
    """Whether a run's change from `previous` to a non-terminal `state` sends
    `run.state_changed` (its terminal state always does, with its outcome)."""
    if state is previous or state.is_terminal:
        return False
    return state in STATE_EVENT_STATES or previous in STATE_EVENT_STATES


class DeliveryStatus(StrEnum):
    """Where an event stands for one subscription."""

    PENDING = "pending"
    """Not delivered yet: its next try is due at `next_try_at`."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    DEAD = "dead"
    """Not delivered within the maximum age: in the dead letter until redelivered."""


# ---------------------------------------------------------------------- target URLs

BLOCKED_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
"""Where a webhook never goes unless private targets are allowed: loopback, private,
shared (CGNAT), link-local (cloud metadata), multicast and reserved ranges."""


class TargetRefused(ValueError):
    """A webhook URL the outbound-request policy refuses."""


def check_target_url(url: str, *, allow_private: bool) -> None:
    """Refuse a webhook URL before it is stored: HTTPS only, no user info, and no
    loopback, private or link-local host (a literal address or `localhost`) unless
    `allow_private`. Names are checked again on every delivery, on the addresses they
    resolve to then.

    Raises:
        TargetRefused: Why, in words.
    """
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise TargetRefused("not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("URLs with user info are refused: the signature authenticates")
    if allow_private:
        return
    if parts.scheme != "https":
        raise TargetRefused("webhooks go over https only")
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise TargetRefused(f"'{host}' is a loopback name")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    if blocked_address(address):
        raise TargetRefused(f"{address} is a loopback, private or link-local address")


def blocked_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a webhook may not go to `address` (unless private targets are allowed)."""
    return any(address in network for network in BLOCKED_NETWORKS)


# ---------------------------------------------------------------------- subscriptions


class WebhookCreate(BaseModel):
    """`POST /api/v1/webhooks`: where to send which events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="The receiver.")
    events: list[EventType] = Field(
        min_length=1, max_length=len(EventType), description="Event types to send it."
    )
    description: str = Field(default="", max_length=256)

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[EventType]) -> list[EventType]:
        return sorted(set(events), key=list(EventType).index)


class Webhook(BaseModel):
    """A subscription as the API shows it (never its secret)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=WEBHOOK_ID_PATTERN)
    url: str
    events: list[EventType]
    description: str = ""
    enabled: bool = Field(
        default=True,
        description="Disabled: no new events are written for it and its pending ones wait "
        "until it is enabled again.",
    )
    created_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        default=None,
        description="After a secret rotation: until when deliveries are signed with the "
        "previous secret as well as the new one (None: with the current secret only).",
    )


class WebhookCreated(Webhook):
    """The answer to a creation: the only time the secret is shown."""

    secret: str = Field(
        description="Standard Webhooks secret (`whsec_<base64>`): verify signatures with it. "
        "Shown once: it cannot be read again."
    )


class WebhookUpdate(BaseModel):
    """`PATCH /api/v1/webhooks/{id}`: the fields to change (the others stay)."""

    # Each field may be left out, never null; at least one is given (as the schema says).
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"minProperties": 1})

    enabled: StrictBool | SkipJsonSchema[None] = Field(
        default=None, description="Disable (false) or enable (true) the webhook."
    )
    events: (
        Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]
        | SkipJsonSchema[None]
    ) = None
    description: Annotated[str, Field(max_length=256)] | SkipJsonSchema[None] = None

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[EventType] | None) -> list[EventType] | None:
        return None if events is None else sorted(set(events), key=list(EventType).index)

    @model_validator(mode="after")
    def _something(self) -> WebhookUpdate:
        if not self.model_fields_set:
            raise ValueError("name at least one of `enabled`, `events`, `description`")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"`{name}` cannot be null")
        return self


MAX_SECRET_GRACE_SECONDS = 7 * 24 * 3600
"""Longest time a rotated-out secret may keep signing."""


class WebhookSecretRotation(BaseModel):
    """`POST /api/v1/webhooks/{id}/rotate-secret` (the body is optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grace_seconds: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SECRET_GRACE_SECONDS,
        description="How long deliveries are signed with the old secret too (default: the "
        "deployment's `DEVPROV_WEBHOOKS_SECRET_GRACE_SECONDS`, 24 h); 0 drops it at once "
        "(a leaked secret).",
    )


class WebhookSecretRotated(BaseModel):
    """The answer to a rotation: the only time the new secret is shown."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=WEBHOOK_ID_PATTERN)
    secret: str = Field(
        description="The new Standard Webhooks secret (`whsec_<base64>`). Shown once."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until when deliveries carry a signature with the previous secret as "
        "well (None: no more)."
    )


class WebhookList(BaseModel):
    """A tenant's subscriptions, oldest first."""

    model_config = ConfigDict(frozen=True)

    items: list[Webhook]


class StoredWebhook(BaseModel):
    """A subscription as the registry holds it: with the secret sealed (encrypted)."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    view: Webhook
    sealed_secret: str


# ---------------------------------------------------------------------- events


class RunEventData(BaseModel):
    """`data` of the events of one run (never a passphrase or any other secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    kind: str = Field(description="`provision` or `decommission`.")
    workflow_id: str
    run_id: str
    strategy: str
    state: ProvisioningState
    error_code: str | None = None
    message: str = ""
    network_ssid: str | None = None
    site: str = ""
    vendor: str = ""
    started_by: str = ""
    fleet_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime


class RunStateData(BaseModel):
    """`data` of `run.state_changed`: where the run is now, what it left, and what it
    waits for (never a passphrase or any other secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    kind: str = Field(description="`provision` or `decommission`.")
    workflow_id: str
    run_id: str
    strategy: str
    state: ProvisioningState
    previous_state: ProvisioningState
    step: str
    attempt: int
    awaiting: list[str] = Field(
        default_factory=list,
        description="What the run waits for: `credentials`, `device`, `retry` (empty when "
        "it moves on its own or has ended).",
    )
    error_code: str | None = None
    message: str = ""
    site: str = ""
    vendor: str = ""
    started_by: str = ""
    fleet_id: str | None = None
    started_at: datetime | None = None
    changed_at: datetime


class FleetEventData(BaseModel):
    """`data` of `fleet.finished`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fleet_id: str
    workflow_id: str
    run_id: str
    state: str = Field(description="`COMPLETED` or `CANCELLED`.")
    total: int
    succeeded: int
    failed: int
    cancelled: int
    skipped: int
    failures_by_code: dict[str, int] = Field(default_factory=dict)
    ended_at: datetime


class WebhookEvent(BaseModel):
    """One event to send every subscription of `tenant` that names its type.

    Written to the outbox in the same transaction as what it tells (a run's outcome),
    under an id its workflow chose (deterministic on replay), so that it is written once.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(pattern=EVENT_ID_PATTERN)
    tenant: str
    type: EventType
    lane: str = Field(description="Events of one lane (a device, a fleet) are delivered in order.")
    occurred_at: datetime
    data: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """The Standard Webhooks body."""
        return {
            "type": self.type.value,
            "timestamp": self.occurred_at.isoformat(),
            "data": self.data,
        }


def run_event_type(kind: str, state: ProvisioningState) -> EventType:
    """The type of the event a run of `kind` that ended in `state` sends."""
    if state is not ProvisioningState.SUCCEEDED:
        return EventType.RUN_FAILED
    return EventType.DEVICE_DECOMMISSIONED if kind == "decommission" else EventType.RUN_SUCCEEDED


# ---------------------------------------------------------------------- delivery log


class WebhookEventBatch(BaseModel):
    """Events one run writes to the outbox together, in their order (its state changes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: list[WebhookEvent] = Field(min_length=1)


class WebhookDelivery(BaseModel):
    """One event's delivery to one subscription, as its log shows it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: EventType
    lane: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    next_try_at: datetime | None = Field(
        default=None, description="When the next try is due (pending only)."
    )
    delivered_at: datetime | None = None


class WebhookDeliveryList(BaseModel):
    """A subscription's deliveries, newest first."""

    model_config = ConfigDict(frozen=True)

    items: list[WebhookDelivery]
    next_cursor: str | None = None


# ---------------------------------------------------------------------- workflow I/O


class WebhookDeliveryRun(BaseModel):
    """Input of a subscription's delivery workflow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subscription_id: str
    poll_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait between two looks at the outbox (a missed signal "
        "costs this much delay at most).",
    )
    rounds_per_generation: int = Field(default=200, ge=1)


class DueEventsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subscription_id: str
    limit: int = Field(default=10, ge=1)


class DueEvents(BaseModel):
    """What a delivery workflow sends next: the first pending event of each lane whose
    try is due (at most one per lane, so a lane's order holds)."""

    model_config = ConfigDict(frozen=True)

    subscription_exists: bool
    enabled: bool = Field(
        default=True, description="False: the subscription is disabled (nothing is sent)."
    )
    event_ids: list[str] = Field(default_factory=list)
    next_due_in_seconds: float | None = Field(
        default=None, description="When the earliest lane head not due yet is due."
    )


class DeliveryOrder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subscription_id: str
    event_id: str


class DeliveryOutcome(BaseModel):
    """What one try of one delivery did (no body, no secret)."""

    model_config = ConfigDict(frozen=True)

    status: DeliveryStatus | None = Field(
        default=None, description="None: the event was not pending any more (not tried)."
    )
    status_code: int | None = None
    attempts: int = 0


class WebhookNotFound(LookupError):
    """No subscription (or no event of it) with this id for the tenant."""
