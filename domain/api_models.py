"""Bodies of the HTTP API that are not domain models, shared by the server and the SDK.

They live in `domain` (pure pydantic) so that the client SDK speaks the backend's own
DTOs without importing the server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.device import DeviceDescriptor
from domain.errors import Code
from domain.fleet import FleetSnapshot
from domain.identifiers import TENANT
from domain.progress import ProgressSnapshot
from domain.registry import DeviceRecord, DeviceState, RunKind
from domain.requests import RequestExample
from domain.states import ProvisioningState, VisibleState

API_PREFIX = "/api/v1"
PROBLEM_CONTENT_TYPE = "application/problem+json"
PROGRESS_SSE_EVENT = "progress"
"""SSE event type of a device run's stream (`data`: a `StreamedEvent`)."""
FLEET_SSE_EVENT = "fleet-progress"
"""SSE event type of a fleet's stream (`data`: a `FleetSnapshot`)."""


class RunLinks(BaseModel):
    """Where to follow and act on a device's run."""

    self: str = Field(description="Status: `GET` the progress snapshot.")
    events: str = Field(description="Server-Sent Events stream of progress.")
    ws: str = Field(description="WebSocket stream of progress.")
    credentials: str = Field(description="`POST` network credentials.")
    forget_credentials: str = Field(
        description="`POST` to drop the credentials the run holds and ask again."
    )
    retry: str = Field(description="`POST` to start over.")
    cancel: str = Field(description="`POST` to cancel (the device is rolled back).")

    @classmethod
    def for_device(cls, device_id: str) -> RunLinks:
        """Links of the run of `device_id`, relative to the API's origin."""
        base = f"{API_PREFIX}/devices/{device_id}/provision"
        return cls(
            self=base,
            events=f"{base}/events",
            ws=f"{base}/ws",
            credentials=f"{base}/credentials",
            forget_credentials=f"{base}/forget-credentials",
            retry=f"{base}/retry",
            cancel=f"{base}/cancel",
        )


class DecommissionLinks(BaseModel):
    """Where to follow and act on a device's decommissioning run."""

    self: str = Field(description="Status: `GET` the progress snapshot.")
    events: str = Field(description="Server-Sent Events stream of progress.")
    ws: str = Field(description="WebSocket stream of progress.")
    cancel: str = Field(
        description="`POST` to cancel: before the first undo step the device stays in "
        "service; after it, the cancel is noted and the decommission finishes."
    )
    device: str = Field(description="The device's registry record.")

    @classmethod
    def for_device(cls, device_id: str) -> DecommissionLinks:
        """Links of the decommissioning run of `device_id`, relative to the API's origin."""
        base = f"{API_PREFIX}/devices/{device_id}/decommission"
        return cls(
            self=base,
            events=f"{base}/events",
            ws=f"{base}/ws",
            cancel=f"{base}/cancel",
            device=device_link(device_id),
        )


class StartedDecommission(BaseModel):
    """Body of `202 Accepted` when a decommissioning run starts."""

    workflow_id: str
    run_id: str
    device_id: str
    strategy: str
    state: ProvisioningState = ProvisioningState.PENDING
    links: DecommissionLinks


class DecommissionStatus(ProgressSnapshot):
    """The progress snapshot of a decommissioning run plus its Temporal execution status."""

    run_id: str
    execution_status: str = Field(
        description="Temporal execution status: RUNNING, COMPLETED, FAILED, CANCELED, ..."
    )
    links: DecommissionLinks


class StartedRun(BaseModel):
    """Body of `202 Accepted` when a run starts."""

    workflow_id: str
    run_id: str
    device_id: str
    strategy: str
    state: ProvisioningState = ProvisioningState.PENDING
    enrollment: str | None = Field(
        default=None,
        description="The enrollment that admitted the device (`individual/<device id>` or "
        "`group/<group id>`) when its tenant requires one.",
    )
    links: RunLinks


class RunStatus(ProgressSnapshot):
    """The progress snapshot of a run plus what Temporal says about its execution."""

    run_id: str
    execution_status: str = Field(
        description="Temporal execution status: RUNNING, COMPLETED, FAILED, CANCELED, ..."
    )
    links: RunLinks


class StrategyInfo(BaseModel):
    """One entry of `GET /strategies`: the strategy's description and switches.

    Strategy-specific settings (e.g. `minimum_firmware`) appear as extra members.
    """

    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    workflow: str
    device_types: list[str]
    vendors: list[str]
    required_capabilities: list[str]
    required_secrets: list[str] = Field(
        default_factory=list, description="Device secrets (request `secrets`) the run needs."
    )
    requires_network: bool
    placement: str
    enabled: bool
    default: bool
    request_schema: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "JSON Schema of a provision request this strategy serves: its family's "
            "request model, which the API checks such a request against."
        ),
    )
    examples: list[RequestExample] = Field(
        default_factory=list,
        description="Example requests of its family, to start from (the console's templates).",
    )
    reprovision: dict[str, Any] = Field(
        default_factory=lambda: {"policies": ["never"], "notes": {}},
        description=(
            "The re-provisioning `policies` its runs take for a device in service "
            "(`never`, `reset`, `migrate`), and `notes` per policy (what it does, or why it "
            "is not supported)."
        ),
    )
    transports: list[str] = Field(
        default_factory=lambda: ["gateway"],
        description=(
            "How its runs may reach the device: `gateway` (an edge worker near it) and, "
            "where offered, `client-ble` (the installer's browser over Web Bluetooth)."
        ),
    )
    decommission: dict[str, Any] | None = Field(
        default=None,
        description=(
            "How its family takes a device out of service: `workflow`, what it `undoes` in "
            "order, what it `checks` afterwards, and what its protocol `cannot_undo`; "
            "null when it cannot."
        ),
    )


class FleetLinks(BaseModel):
    """Where to follow and act on a fleet."""

    self: str
    events: str
    retry: str
    skip: str
    cancel: str

    @classmethod
    def for_fleet(cls, fleet_id: str) -> FleetLinks:
        base = f"{API_PREFIX}/fleets/{fleet_id}/provision"
        return cls(
            self=base,
            events=f"{base}/events",
            retry=f"{base}/retry",
            skip=f"{base}/skip",
            cancel=f"{base}/cancel",
        )


class StartedFleet(BaseModel):
    """Body of `202 Accepted` when a fleet run starts."""

    fleet_id: str
    workflow_id: str
    run_id: str
    total: int
    links: FleetLinks


class FleetStatus(FleetSnapshot):
    """The fleet's aggregate progress plus its Temporal execution status."""

    run_id: str
    execution_status: str
    links: FleetLinks


class DeviceTransfer(BaseModel):
    """Body of `POST /devices/{device_id}/transfer`: the tenant that gets the device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str = Field(pattern=TENANT.pattern, description=TENANT.rule)


class DeviceSelection(BaseModel):
    """Body of a fleet's retry and skip: which devices (retry: all failed when empty)."""

    model_config = ConfigDict(extra="forbid")

    device_ids: list[str] = Field(default_factory=list, max_length=10_000)


class RunSummary(BaseModel):
    """One entry of `GET /runs`: what visibility knows of a run, without querying it."""

    workflow_id: str
    run_id: str
    device_id: str
    strategy: str
    vendor: str
    site: str
    state: VisibleState | None = Field(
        description="What visibility records of the run: IN_PROGRESS while it moves on its "
        "own, else the state people act on (PENDING_NETWORK, WAITING_FOR_DEVICE, "
        "ROLLING_BACK) or its final state. The exact state: `GET …/provision`."
    )
    error_code: str | None = None
    fleet_id: str | None = None
    kind: RunKind = Field(
        default=RunKind.PROVISION, description="A provisioning or a decommissioning run."
    )
    execution_status: str
    started_at: datetime
    closed_at: datetime | None = None
    links: RunLinks | DecommissionLinks


class RunList(BaseModel):
    """Body of `GET /runs`: the newest runs first."""

    runs: list[RunSummary]
    query: str = Field(description="The visibility query that selected them (for the CLI).")


class StrategyQuery(BaseModel):
    """Body of `POST /strategies/match`: a device, and optionally a forced strategy."""

    model_config = ConfigDict(extra="forbid")

    device: DeviceDescriptor
    strategy: str | None = Field(default=None, description="Check this strategy by name.")


class StrategyMatch(BaseModel):
    """Which strategy would provision a device, and what its run will ask for."""

    strategy: str
    description: str
    requires_network: bool = Field(
        description="The run needs Wi-Fi credentials (it waits in PENDING_NETWORK without)."
    )
    placement: str = Field(description="`edge` (a gateway near the device) or `central`.")
    secrets: list[str] = Field(
        default_factory=list, description="Names of device secrets the strategy needs."
    )
    transports: list[str] = Field(
        default_factory=lambda: ["gateway"],
        description="`gateway`, and `client-ble` where the console may onboard it over "
        "Web Bluetooth (request `transport`).",
    )


class StreamAccess(BaseModel):
    """A stream ticket and the stream URLs that carry it (`POST .../stream-ticket`)."""

    ticket: str | None = Field(
        description="Opaque; opens this run's (or fleet's) streams until `expires_at`. "
        "None when the API does not authenticate (`DEVPROV_API_AUTH=off`)."
    )
    expires_at: datetime = Field(description="Streams must be opened before this moment.")
    events: str = Field(description="The Server-Sent Events stream, with the ticket.")
    ws: str | None = Field(default=None, description="The WebSocket stream, with the ticket.")


class ConsoleConfig(BaseModel):
    """What the web console needs to know about this deployment (nothing secret)."""

    temporal_ui_url: str | None = Field(description="Base URL of the Temporal Web UI.")
    namespace: str
    auth_required: bool


class FieldError(BaseModel):
    """One invalid field of a request body; never carries the submitted value."""

    loc: list[str | int] = Field(description='Path to the field, e.g. `["device", "type"]`.')
    msg: str
    type: str


class StrategyRejection(BaseModel):
    """One strategy considered for a device and why it cannot serve it."""

    strategy: str
    reasons: list[str]


class Problem(BaseModel):
    """Body of every error response (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI naming the problem type: `urn:devprov:problem:<code>`.")
    title: str
    status: int
    detail: str
    code: Code = Field(description="Stable error code; switch on this, not on `detail`.")
    reasons: list[StrategyRejection] | None = Field(
        default=None, description="Strategies considered and why each was not chosen."
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Invalid fields of the request body."
    )


def device_link(device_id: str) -> str:
    """The URL of a device's registry record, relative to the API's origin."""
    return f"{API_PREFIX}/devices/{device_id}"


class DeviceLinks(BaseModel):
    """Where a device's record and its runs are."""

    self: str = Field(description="`GET` this record.")
    run: str = Field(description="The device's latest provisioning run.")
    decommission: str = Field(
        description="`POST` to take the device out of service; `GET` its latest "
        "decommissioning run."
    )


class DeviceView(BaseModel):
    """A device as the registry holds it (`GET /devices/{device_id}`).

    Never a secret: the network's SSID, not its passphrase; certificate ids and
    fingerprints, not keys.
    """

    device_id: str
    tenant: str
    state: DeviceState
    strategy: str = Field(description="The strategy of the last run that claimed it.")
    vendor: str
    model: str
    site: str
    device_type: str = Field(default="", description="The device's type, as provisioned.")
    transport_hints: dict[str, str] = Field(
        default_factory=dict, description="How gateways reach the device (never a secret)."
    )
    network_ssid: str | None
    address: str | None
    cloud_thing: str | None
    cloud_certificate_id: str | None
    cloud_certificate_fingerprint: str | None
    zigbee_ieee: str | None
    zigbee_nwk: str | None
    last_run_kind: RunKind | None
    last_workflow_id: str | None
    last_run_id: str | None = Field(
        description="The run that owns the device now (PROVISIONING, DECOMMISSIONING), "
        "or the last one that changed it."
    )
    claimed_at: datetime | None
    updated_at: datetime
    links: DeviceLinks

    @classmethod
    def of(cls, record: DeviceRecord) -> DeviceView:
        """The view of a registry record."""
        fields = record.model_dump(
            exclude={"run_kind", "workflow_id", "run_id", "version"}, mode="python"
        )
        return cls(
            **fields,
            last_run_kind=record.run_kind,
            last_workflow_id=record.workflow_id,
            last_run_id=record.run_id,
            links=DeviceLinks(
                self=device_link(record.device_id),
                run=RunLinks.for_device(record.device_id).self,
                decommission=DecommissionLinks.for_device(record.device_id).self,
            ),
        )


class DeviceList(BaseModel):
    """Body of `GET /devices`: one page, sorted by device id."""

    items: list[DeviceView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
