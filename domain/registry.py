"""The device registry's records: what is in service, where, and which run owns it now.

A device's record outlives the workflow histories (which Temporal deletes after the
namespace's retention). Runs change it, never the API directly: a provisioning or
decommissioning run claims the device in its first step and records its outcome in its
last, both idempotent (keyed by device and run), so the record and the history agree
even after crashes. See docs/registry.md.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.device import DEVICE_ID_PATTERN
from domain.webhooks import WebhookEvent


class DeviceState(StrEnum):
    """Where a device stands in its life."""

    UNPROVISIONED = "UNPROVISIONED"
    PROVISIONING = "PROVISIONING"
    IN_SERVICE = "IN_SERVICE"
    DECOMMISSIONING = "DECOMMISSIONING"
    DECOMMISSIONED = "DECOMMISSIONED"
    FAILED = "FAILED"


class RunKind(StrEnum):
    """What a run that claims a device does to it."""

    PROVISION = "provision"
    DECOMMISSION = "decommission"


CLAIMABLE_FROM: dict[RunKind, frozenset[DeviceState]] = {
    RunKind.PROVISION: frozenset(
        {DeviceState.UNPROVISIONED, DeviceState.DECOMMISSIONED, DeviceState.FAILED}
    ),
    RunKind.DECOMMISSION: frozenset({DeviceState.IN_SERVICE, DeviceState.FAILED}),
}
"""The states a run of each kind may claim a device in (a new device: any provision)."""

CLAIMED_AS: dict[RunKind, DeviceState] = {
    RunKind.PROVISION: DeviceState.PROVISIONING,
    RunKind.DECOMMISSION: DeviceState.DECOMMISSIONING,
}


class Outcome(StrEnum):
    """How a run that claimed a device left it."""

    DONE = "done"
    """Provisioned (IN_SERVICE) or decommissioned (DECOMMISSIONED)."""
    UNDONE = "undone"
    """Failed or cancelled, and every change undone: the device is as before the run."""
    LEFTOVERS = "leftovers"
    """Failed with something left that could not be undone (ROLLBACK_FAILED): FAILED."""


def claimable_from(kind: RunKind, *, reprovision: bool = False) -> frozenset[DeviceState]:
    """The states a claim of `kind` may take a device in (re-provisioning: IN_SERVICE too)."""
    states = CLAIMABLE_FROM[kind]
    if reprovision and kind is RunKind.PROVISION:
        return states | {DeviceState.IN_SERVICE}
    return states


def state_after(
    kind: RunKind, outcome: Outcome, before: DeviceState, *, reset: bool = False
) -> DeviceState:
    """The device's state once a run of `kind` that claimed it in `before` ended so
    (`reset`: the run had reset the device before it failed, so it is UNPROVISIONED)."""
    if outcome is Outcome.UNDONE and reset:
        return DeviceState.UNPROVISIONED
    if outcome is Outcome.LEFTOVERS:
        return DeviceState.FAILED
    if outcome is Outcome.DONE:
        return DeviceState.IN_SERVICE if kind is RunKind.PROVISION else DeviceState.DECOMMISSIONED
    return before


class DeviceFacts(BaseModel):
    """What a run learned about the device; None leaves a field as it was."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    network_ssid: str | None = Field(default=None, description="Never the passphrase.")
    address: str | None = None
    cloud_thing: str | None = None
    cloud_certificate_id: str | None = None
    cloud_certificate_fingerprint: str | None = None
    zigbee_ieee: str | None = None
    zigbee_nwk: str | None = None


def certificate_fingerprint(pem: str) -> str | None:
    """The SHA-256 fingerprint (hex) of a PEM certificate's DER bytes; None if unreadable."""
    body = "".join(
        line.strip() for line in pem.splitlines() if line.strip() and not line.startswith("-----")
    )
    try:
        der = base64.b64decode(body, validate=True)
    except ValueError:
        return None
    return hashlib.sha256(der).hexdigest() if der else None


class DeviceClaim(BaseModel):
    """A run asking to own a device for as long as it runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    tenant: str
    kind: RunKind
    workflow_id: str
    run_id: str
    strategy: str
    vendor: str = ""
    model: str = ""
    site: str = ""
    device_type: str = Field(default="", description="The device's type (`DeviceDescriptor.type`).")
    transport_hints: dict[str, str] = Field(
        default_factory=dict,
        description="How gateways reach the device (e.g. the base URL of its local API); "
        "never a secret (`DeviceDescriptor.transport_hints` refuses credentials in URLs).",
    )
    reprovision: bool = Field(
        default=False,
        description="A provisioning run that re-provisions a device in service (policy "
        "`reset` or `migrate`): it may claim the device from IN_SERVICE too.",
    )


class RunOutcome(BaseModel):
    """What a run that claimed a device did to it, recorded in its last step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    run_id: str
    outcome: Outcome
    facts: DeviceFacts = Field(default_factory=DeviceFacts)
    reset: bool = Field(
        default=False,
        description="The run reset the device first (policy `reset`): the facts of its "
        "earlier service are gone; undone, it is UNPROVISIONED rather than as claimed.",
    )
    tenant: str | None = Field(
        default=None,
        description="Done: the tenant the device moves to (a migration to another tenant).",
    )
    event: WebhookEvent | None = Field(
        default=None,
        description="The run's terminal webhook event, written to the outbox with the outcome.",
    )
    state_event: WebhookEvent | None = Field(
        default=None,
        description="The run's last `run.state_changed` (its terminal state), written just "
        "before `event` in the same transaction (runs with `state_events` only).",
    )


class DeviceRecord(BaseModel):
    """One device as the registry holds it."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    tenant: str
    state: DeviceState
    strategy: str
    vendor: str
    model: str
    site: str
    device_type: str = ""
    transport_hints: dict[str, str] = Field(default_factory=dict)
    network_ssid: str | None
    address: str | None
    cloud_thing: str | None
    cloud_certificate_id: str | None
    cloud_certificate_fingerprint: str | None
    zigbee_ieee: str | None
    zigbee_nwk: str | None
    run_kind: RunKind | None
    workflow_id: str | None
    run_id: str | None
    claimed_at: datetime | None
    updated_at: datetime
    version: int = Field(description="Grows with every change (compare-and-set).")


class DeviceFilter(BaseModel):
    """Which devices a listing returns; None matches every value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str | None = None
    state: DeviceState | None = None
    strategy: str | None = None
    vendor: str | None = None
    site: str | None = None
    network_ssid: str | None = None


CURSOR_PATTERN = r"^(?:[2-6][0-9a-f]|7[0-9a-e])*$"
"""A listing's cursor: the hex of the printable ASCII device id a page ends after. Any
string of this form is a valid cursor (a page starts after it), so a cursor is never
refused for its value, only for its form."""
CURSOR_MAX_LENGTH = 256


class DevicePage(BaseModel):
    """One page of a listing, sorted by device id; `next_cursor` None on the last."""

    model_config = ConfigDict(frozen=True)

    devices: list[DeviceRecord]
    next_cursor: str | None


class RegistryError(Exception):
    """A claim or an outcome the registry refuses."""


class DeviceBusy(RegistryError):
    """Another run owns the device, or its state does not allow this kind of run."""

    def __init__(self, record: DeviceRecord, kind: RunKind) -> None:
        owner = f" by run {record.workflow_id}" if record.run_id else ""
        super().__init__(
            f"device '{record.device_id}' is {record.state.value}{owner}: a {kind.value} "
            "run cannot claim it now"
        )
        self.record = record


class DeviceNotFound(RegistryError):
    """No such device for this tenant (another tenant's device answers the same)."""

    def __init__(self, device_id: str) -> None:
        super().__init__(f"no device '{device_id}' in the registry")
        self.device_id = device_id


@dataclass(frozen=True)
class StartFacts:
    """What the registry says when a device's provisioning run starts, as of one moment
    (`registry.start_facts` reads them in one unit of work)."""

    enrollment_required: bool
    """The tenant admits only enrolled devices."""
    hooked: bool
    """The tenant has a pre-provisioning hook (its runs ask it in PRE_CHECK)."""
    sends_run_states: bool
    """The tenant has an enabled subscription to `run.state_changed`."""
    record: DeviceRecord | None
    """The device's record (whichever tenant's), None for a device never seen."""


NO_REGISTRY = StartFacts(
    enrollment_required=False, hooked=False, sends_run_states=False, record=None
)
"""The answers without a registry: nothing required, configured or known."""

StartFactsReader = Callable[[str, str], Awaitable[StartFacts]]
"""Reads the `StartFacts` of a start by (tenant, device id)."""
