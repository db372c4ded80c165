"""Fleet provisioning: one request for up to 10,000 devices of one family."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.device import DEVICE_ID_PATTERN, DeviceDescriptor
from domain.errors import Code
from domain.identifiers import FLEET_ID
from domain.policies import LifecyclePolicy
from domain.requests import NetworkCredentials, ProvisionRequest

MAX_FLEET_DEVICES = 10_000
MAX_LISTED_FAILURES = 100
"""Failures a fleet describes (message and attempt); the rest are only counted."""
MAX_FAILURE_MESSAGE = 1_000
"""Characters of a failure's message a fleet keeps."""


def bounded_message(message: str) -> str:
    """`message`, cut to `MAX_FAILURE_MESSAGE` characters."""
    if len(message) <= MAX_FAILURE_MESSAGE:
        return message
    return message[: MAX_FAILURE_MESSAGE - 1] + "…"


FLEET_ID_PATTERN = FLEET_ID.pattern
FLEET_PROGRESS_QUERY = "fleet_progress"
FLEET_RETRY_FAILED_UPDATE = "retry_failed"
FLEET_SKIP_UPDATE = "skip"


def fleet_workflow_id(fleet_id: str) -> str:
    """Workflow id of a fleet run."""
    return f"fleet-{fleet_id}"


class DeviceTemplate(BaseModel):
    """What the devices of a fleet share; each device may override some of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    vendor: str
    model: str = ""
    capabilities: frozenset[str] = frozenset()
    site: str = "local"
    transport_hints: dict[str, str] = Field(default_factory=dict)


def build_descriptor(template: DeviceTemplate, device: FleetDevice) -> DeviceDescriptor:
    """The full descriptor of one fleet device: the template plus its overrides."""
    return DeviceDescriptor(
        device_id=device.device_id,
        type=template.type,
        vendor=template.vendor,
        model=device.model if device.model is not None else template.model,
        capabilities=template.capabilities,
        site=device.site or template.site,
        transport_hints=(
            device.transport_hints
            if device.transport_hints is not None
            else template.transport_hints
        ),
    )


class FleetDevice(BaseModel):
    """One device of a fleet: its id and what differs from the template."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    site: str | None = None
    model: str | None = None
    transport_hints: dict[str, str] | None = None


class FleetLimits(BaseModel):
    """Bounds on concurrent device runs, so no radio or cloud quota is overrun."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_in_flight: int = Field(default=100, ge=1, le=1000)
    per_site: int = Field(default=20, ge=1, le=1000)
    per_vendor: int = Field(default=50, ge=1, le=1000)


class FleetRequest(BaseModel):
    """Body of `POST /api/v1/fleets/{fleet_id}/provision`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: DeviceTemplate
    devices: list[FleetDevice] = Field(min_length=1, max_length=MAX_FLEET_DEVICES)
    network: NetworkCredentials | None = None
    strategy: str | None = None
    limits: FleetLimits = Field(default_factory=FleetLimits)

    @model_validator(mode="after")
    def _unique_devices(self) -> FleetRequest:
        counts = Counter(d.device_id for d in self.devices)
        duplicates = sorted(device_id for device_id, n in counts.items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate device ids: {', '.join(duplicates[:10])}")
        return self

    def descriptor(self, device: FleetDevice) -> DeviceDescriptor:
        """The full descriptor of one device (template plus its overrides)."""
        return build_descriptor(self.template, device)


class FleetMember(BaseModel):
    """A device of a fleet run, compact: the template holds the rest."""

    model_config = ConfigDict(frozen=True)

    device: FleetDevice
    strategy: str


class FleetStrategy(BaseModel):
    """How to run the devices of one strategy."""

    model_config = ConfigDict(frozen=True)

    workflow: str
    policy: LifecyclePolicy


class DeviceOutcome(StrEnum):
    """Where one device of a fleet stands, from the fleet's point of view."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"


class FleetFailure(BaseModel):
    """A device whose run did not succeed."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    error_code: Code
    message: str
    attempt: int = 1


class FleetFailures(BaseModel):
    """The failed devices of a fleet run, in bounded space: the last few described, and
    every one kept without its message (its id and overrides), by error code, to count
    them and to run them again."""

    recent: list[FleetFailure] = Field(default_factory=list)
    members_by_code: dict[str, list[FleetMember]] = Field(default_factory=dict)

    def add(self, failure: FleetFailure, member: FleetMember) -> None:
        self.recent = [*self.recent[-(MAX_LISTED_FAILURES - 1) :], failure]
        self.members_by_code.setdefault(str(failure.error_code), []).append(member)

    @property
    def count(self) -> int:
        return sum(len(members) for members in self.members_by_code.values())

    def counts_by_code(self) -> dict[str, int]:
        return {code: len(members) for code, members in self.members_by_code.items()}

    def device_ids(self) -> set[str]:
        return {m.device.device_id for ms in self.members_by_code.values() for m in ms}

    def take(self, device_ids: Collection[str]) -> list[FleetMember]:
        """Remove the listed failed devices (every one when empty) and return them."""
        wanted = set(device_ids)
        taken: list[FleetMember] = []
        for code, members in list(self.members_by_code.items()):
            kept = [m for m in members if wanted and m.device.device_id not in wanted]
            taken += [m for m in members if not wanted or m.device.device_id in wanted]
            if kept:
                self.members_by_code[code] = kept
            else:
                del self.members_by_code[code]
        gone = {m.device.device_id for m in taken}
        self.recent = [f for f in self.recent if f.device_id not in gone]
        return taken


class FleetTally(BaseModel):
    """What a fleet run has done so far; carried across continue-as-new."""

    succeeded: int = 0
    cancelled: int = 0
    skipped: int = 0
    failures: FleetFailures = Field(default_factory=FleetFailures)
    generation: int = 1
    sequence: int = 0

    @field_validator("failures", mode="before")
    @classmethod
    def _from_a_list(cls, value: object) -> object:
        return _failures_from_records(value) if isinstance(value, list) else value


def _failures_from_records(records: list[Any]) -> FleetFailures:
    """The failures of a fleet run that started before they were bounded: one record
    per failure, each with its member."""
    failures = FleetFailures()
    for record in records:
        data = dict(record) if isinstance(record, Mapping) else record.model_dump()
        member = FleetMember.model_validate(data.pop("member"))
        failures.add(FleetFailure.model_validate(data), member)
    return failures


class FleetRun(BaseModel):
    """Input of the fleet workflow (and of each continue-as-new of it)."""

    model_config = ConfigDict(frozen=True)

    fleet_id: str
    template: DeviceTemplate
    network: NetworkCredentials | None
    limits: FleetLimits
    strategies: dict[str, FleetStrategy]
    queue: list[FleetMember]
    total: int
    tally: FleetTally = Field(default_factory=FleetTally)
    tenant: str = "default"
    pre_provisioning_hook: bool = Field(
        default=False,
        description="The tenant had a pre-provisioning hook when the fleet started: each "
        "device's run asks it.",
    )
    state_events: bool = Field(
        default=False,
        description="The tenant had an enabled subscription to `run.state_changed` when the "
        "fleet started: each device's run sends its state changes.",
    )
    generation_size: int = Field(
        default=500,
        ge=1,
        description="Children one run starts before it continues as new (bounds history).",
    )

    def request_for(self, member: FleetMember) -> ProvisionRequest:
        """The single-device request of `member`."""
        return ProvisionRequest(
            device=build_descriptor(self.template, member.device),
            strategy=member.strategy,
            network=self.network,
        )


class FleetState(StrEnum):
    """State of a fleet run."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"


class FleetSnapshot(BaseModel):
    """Aggregate progress of a fleet, served by the `fleet_progress` query."""

    model_config = ConfigDict(frozen=True)

    fleet_id: str
    state: FleetState
    total: int
    counts: dict[DeviceOutcome, int]
    failures_by_code: dict[str, int]
    failures: list[FleetFailure] = Field(
        description=f"The most recent failures (at most {MAX_LISTED_FAILURES})."
    )
    in_flight_by_site: dict[str, int]
    generation: int
    sequence: int
    updated_at: datetime

    @property
    def finished(self) -> bool:
        """True once every device is done or the fleet was cancelled."""
        return self.state in {FleetState.COMPLETED, FleetState.CANCELLED}

    @property
    def last_sequence(self) -> int:
        """Grows with every change of the fleet's progress."""
        return self.sequence


class FleetResult(BaseModel):
    """What a fleet run returns when every device is done."""

    model_config = ConfigDict(frozen=True)

    fleet_id: str
    total: int
    succeeded: int
    cancelled: int
    skipped: int
    failed: int = 0
    failures_by_code: dict[str, int] = Field(default_factory=dict)
    failures: list[FleetFailure] = Field(
        default_factory=list, description="The most recent failures (at most 100)."
    )
    to_retry: FleetFailures = Field(
        default_factory=FleetFailures, description="Every failed device, to run it again."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_records(cls, data: object) -> object:
        # A result of a fleet run that ended before failures were bounded.
        if isinstance(data, Mapping) and "to_retry" not in data:
            records = data.get("failures") or []
            if records and isinstance(records[0], Mapping) and "member" in records[0]:
                failures = _failures_from_records(list(records))
                return {
                    **data,
                    "failed": failures.count,
                    "failures_by_code": failures.counts_by_code(),
                    "failures": failures.recent,
                    "to_retry": failures,
                }
        return data

    def retry_device_ids(self) -> set[str]:
        """The ids of every failed device."""
        return self.to_retry.device_ids()
