"""Zigbee 3.0 devices joined with their install code through a gateway's coordinator.

The steps, as the workflow runs them on the edge worker whose coordinator the device
joins (zigpy on a radio stick; see docs/zigbee.md):

1. detect: the gateway's coordinator is up with a formed network; it reports its channel
   and PAN ids and pins the run to itself (a device joins ONE coordinator).
2. pre-check: the install code is well formed with a valid CRC, the IEEE address is not
   on the network already, and the network has room.
3. provision: the network opens for this one device with the link key derived from its
   install code (WAITING_FOR_DEVICE: "power it on in pairing mode") until it joins, and
   closes again; then zigpy interviews it (descriptors, Basic cluster). An interview that
   fails is asked again without re-joining; after the configured attempts the device is
   removed and the run fails with ZIGBEE_INTERVIEW_FAILED.
4. confirm: the Basic cluster, read afresh, names the requested vendor and model; its
   clusters are bound to the coordinator and attribute reporting is configured.
5. rollback: leave request and removal from the coordinator.

The request names the device's IEEE address in `device.transport_hints["ieee"]` and its
install code (a secret) in `secrets["install_code"]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from domain.policies import PolicySection
from domain.requests import ProvisionRequest, ReprovisionPolicy, RequestExample
from domain.secrets import WireSecret
from domain.states import Step
from domain.zigbee import (
    ReportingRule,
    ZigbeeConfiguration,
    ZigbeeDeviceInfo,
    ZigbeeMembership,
    ZigbeeNetwork,
    normalize_ieee,
)
from strategies.activity_contract import ActivityContract
from strategies.base import Placement, PreCheckVerdict, Strategy, StrategySpec
from strategies.decommission import DecommissionPlan, DecommissionTarget, UndoStep
from strategies.family import DeviceFamily

ZIGBEE_SPEC = StrategySpec(
    name="zigbee",
    workflow="ZigbeeProvisioning",
    description=(
        "Zigbee 3.0 device joined with its install code through the site gateway's "
        "coordinator (zigpy): interviewed, its Basic cluster checked, bound and "
        "reporting to the coordinator."
    ),
    required_capabilities=frozenset({"zigbee"}),
    requires_network=False,
    placement=Placement.EDGE,
    required_secrets=frozenset({"install_code"}),
    reprovision=frozenset({ReprovisionPolicy.NEVER, ReprovisionPolicy.RESET}),
    reprovision_notes=(
        (
            ReprovisionPolicy.RESET,
            (
                "leave request and removal from the coordinator, then joined anew with its install "
                "code"
            ),
        ),
        (
            ReprovisionPolicy.MIGRATE,
            (
                "not supported: a Zigbee device has no network credentials to move; `reset` makes "
                "it leave and join again"
            ),
        ),
    ),
)

IEEE_HINT = "ieee"
"""`DeviceDescriptor.transport_hints` key holding the device's IEEE (EUI-64) address."""
INSTALL_CODE = "install_code"
"""`ProvisionRequest.secrets` key holding the device's install code (or its QR code)."""


class ZigbeeProvisionRequest(ProvisionRequest):
    """A Zigbee 3.0 device's provision request: its IEEE address in
    `device.transport_hints.ieee` and its install code in `secrets.install_code`."""

    device: DeviceDescriptor = Field(
        json_schema_extra={
            "properties": {
                "transport_hints": {
                    "required": [IEEE_HINT],
                    "properties": {
                        IEEE_HINT: {
                            "type": "string",
                            "description": "The device's IEEE (EUI-64) address, "
                            "e.g. `00:17:88:01:0b:1c:2d:01`.",
                        }
                    },
                }
            }
        }
    )
    secrets: dict[str, WireSecret] = Field(
        description=(
            "`install_code`: the device's install code, as printed on it or as its QR "
            "code (a secret: never shown in responses, events or logs)."
        ),
        json_schema_extra={"required": [INSTALL_CODE]},
    )

    @field_validator("device")
    @classmethod
    def _has_ieee_address(cls, device: DeviceDescriptor) -> DeviceDescriptor:
        normalize_ieee(device.transport_hints.get(IEEE_HINT, ""))
        return device

    @field_validator("secrets")
    @classmethod
    def _has_install_code(cls, secrets: dict[str, WireSecret]) -> dict[str, WireSecret]:
        if not secrets.get(INSTALL_CODE, SecretStr("")).get_secret_value().strip():
            raise ValueError(
                f"the device's install code is required in secrets.{INSTALL_CODE} "
                "(as printed on the device or its QR code)"
            )
        return secrets


class ZigbeeDeviceRef(BaseModel):
    """A device on (or for) the coordinator's network."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    ieee: str


class ZigbeeJoinOrder(BaseModel):
    """Input of `INSPECT` and `JOIN`: the device and its install code (a secret)."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    ieee: str
    install_code: WireSecret | None = None


class ZigbeeInspection(BaseModel):
    """What `INSPECT` found out for the pre-check rules."""

    model_config = ConfigDict(frozen=True)

    install_code_problem: str | None = Field(
        default=None, description="Why the install code is unusable (never the code)."
    )
    membership: ZigbeeMembership
    network: ZigbeeNetwork


class ZigbeeInterview(BaseModel):
    """Result of one interview attempt: the device, or why it did not answer."""

    model_config = ConfigDict(frozen=True)

    device: ZigbeeDeviceInfo | None = None
    failure: str | None = None


class ZigbeeConfigureOrder(BaseModel):
    """Input of `CONFIGURE`."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    ieee: str
    rules: list[ReportingRule]


# --- rules ------------------------------------------------------------------------------

DEFAULT_REPORTING: tuple[ReportingRule, ...] = (
    ReportingRule(cluster_id=0x0006, attribute="on_off", min_interval=0, max_interval=900),
    ReportingRule(cluster_id=0x0008, attribute="current_level", min_interval=1, max_interval=900),
    ReportingRule(cluster_id=0x0406, attribute="occupancy", min_interval=0, max_interval=900),
    ReportingRule(
        cluster_id=0x0400,
        attribute="measured_value",
        min_interval=30,
        max_interval=900,
        reportable_change=500,
    ),
    ReportingRule(
        cluster_id=0x0402,
        attribute="measured_value",
        min_interval=30,
        max_interval=900,
        reportable_change=10,
    ),
    ReportingRule(
        cluster_id=0x0001,
        attribute="battery_percentage_remaining",
        min_interval=3600,
        max_interval=21600,
        reportable_change=2,
    ),
)
"""What a coordinator binds and has reported, by server cluster (as ZHA does)."""

MANUFACTURER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "aqara": ("LUMI",),
    "xiaomi": ("LUMI",),
    "philips": ("Philips", "Signify Netherlands B.V."),
    "signify": ("Philips", "Signify Netherlands B.V."),
    "sonoff": ("SONOFF", "eWeLink"),
    "tuya": ("_TZ3000", "_TZE200", "TUYA"),
}
"""Manufacturer names devices report in their Basic cluster, by request vendor, where
the name does not start with the vendor."""


def _token(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def vendor_matches(vendor: str, manufacturer: str | None) -> bool:
    """Whether a Basic cluster `manufacturer` belongs to the request's `vendor` token."""
    if not manufacturer:
        return False
    if _token(manufacturer).startswith(_token(vendor)):
        return True
    return any(
        manufacturer.casefold().startswith(alias.casefold())
        for alias in MANUFACTURER_ALIASES.get(vendor, ())
    )


class ZigbeeActivity:
    """Activities of the Zigbee strategy: the contract between its workflow and the
    activities an edge worker hosts."""

    DETECT = ActivityContract("zigbee.detect", DeviceDescriptor, DetectedDevice)
    INSPECT = ActivityContract("zigbee.inspect", ZigbeeJoinOrder, ZigbeeInspection)
    JOIN = ActivityContract("zigbee.join", ZigbeeJoinOrder, ZigbeeDeviceInfo)
    INTERVIEW = ActivityContract("zigbee.interview", ZigbeeDeviceRef, ZigbeeInterview)
    READ_IDENTITY = ActivityContract("zigbee.read_identity", ZigbeeDeviceRef, ZigbeeDeviceInfo)
    CONFIGURE = ActivityContract("zigbee.configure", ZigbeeConfigureOrder, ZigbeeConfiguration)
    REMOVE = ActivityContract("zigbee.remove", ZigbeeDeviceRef, type(None))


class ZigbeeStrategy(Strategy):
    """Rules for Zigbee 3.0 devices joined with install codes."""

    spec = ZIGBEE_SPEC

    def mismatches(self, device: DeviceDescriptor) -> list[str]:
        reasons = super().mismatches(device)
        ieee = device.transport_hints.get(IEEE_HINT)
        if not ieee:
            reasons.append(
                f"missing transport hint '{IEEE_HINT}': the device's IEEE address, "
                "e.g. 00:17:88:01:0b:1c:2d:01"
            )
        else:
            try:
                normalize_ieee(ieee)
            except ValueError as exc:
                reasons.append(f"transport hint '{IEEE_HINT}': {exc}")
        return reasons

    @staticmethod
    def ieee_of(device: DeviceDescriptor) -> str:
        """The device's IEEE address from its transport hints (checked at selection)."""
        return normalize_ieee(device.transport_hints.get(IEEE_HINT, ""))

    def pre_check(self, inspection: ZigbeeInspection, *, has_install_code: bool) -> PreCheckVerdict:
        """Judge what the coordinator and the install code check reported."""
        reasons: list[str] = []
        if not has_install_code:
            reasons.append(
                f"the request has no install code: put it in secrets.{INSTALL_CODE} "
                "(as printed on the device or its QR code)"
            )
        elif inspection.install_code_problem:
            reasons.append(f"install code: {inspection.install_code_problem}")
        if inspection.membership is ZigbeeMembership.JOINED:
            reasons.append(
                "the device is already on this coordinator's network and answers; "
                "remove it (or factory-reset it) to provision it again"
            )
        network = inspection.network
        if not network.formed:
            reasons.append(f"the coordinator on {network.radio} has no network")
        elif not network.has_room:
            reasons.append(
                f"the network of {network.radio} is full "
                f"({network.device_count} of {network.capacity} devices)"
            )
        return PreCheckVerdict(reasons)

    def identity_mismatches(self, device: DeviceDescriptor, found: ZigbeeDeviceInfo) -> list[str]:
        """Where the device's Basic cluster contradicts the request."""
        reasons: list[str] = []
        if not vendor_matches(device.vendor, found.manufacturer):
            reasons.append(f"manufacturer is '{found.manufacturer}', not vendor '{device.vendor}'")
        if device.model and (found.model or "").strip().casefold() != device.model.casefold():
            reasons.append(f"model is '{found.model}', the request says '{device.model}'")
        return reasons

    @staticmethod
    def reporting_for(found: ZigbeeDeviceInfo) -> list[ReportingRule]:
        """The default bindings and reporting for the clusters the device has."""
        return [rule for rule in DEFAULT_REPORTING if found.has_cluster(rule.cluster_id)]

    def settings(self) -> dict[str, object]:
        return {
            "transport_hints": [IEEE_HINT],
            "secrets": [INSTALL_CODE],
            "reported_clusters": sorted({f"0x{r.cluster_id:04X}" for r in DEFAULT_REPORTING}),
        }


def _recorded_device(target: DecommissionTarget) -> ZigbeeDeviceRef:
    ieee = target.record.zigbee_ieee or ZigbeeStrategy.ieee_of(target.device)
    return ZigbeeDeviceRef(device_id=target.device.device_id, ieee=ieee)


ZIGBEE_DECOMMISSION = DecommissionPlan(
    workflow="ZigbeeDecommission",
    workflow_class="workflows.zigbee:ZigbeeDecommissionWorkflow",
    steps=(
        UndoStep(
            "leave request and removal from the coordinator",
            ZigbeeActivity.REMOVE,
            _recorded_device,
        ),
    ),
)
"""Detection pins the run to the gateway whose coordinator the device is on; the removal
runs there (the provisioning rollback's own step)."""

ZIGBEE_POLICY = PolicySection(
    steps={
        # Probing a listed device that no longer answers takes a few seconds.
        Step.PRE_CHECK: {"start_to_close": "20s"},
        # Joining waits for a person to power the device on in pairing mode
        # (WAITING_FOR_DEVICE): the network stays open for it about this long, then
        # closes. maximum_attempts also bounds the interviews of a device that joined
        # but does not answer them; after the last one it is removed and the run fails
        # with ZIGBEE_INTERVIEW_FAILED.
        Step.PROVISION: {
            "start_to_close": "3m",
            "heartbeat": "10s",
            "retry": {"maximum_attempts": 3, "initial_interval": "2s", "maximum_interval": "10s"},
        },
        Step.CONFIRM: {"start_to_close": "60s", "heartbeat": "10s"},
        # The leave request to a sleepy end device goes through its parent: up to 30 s.
        Step.ROLLBACK: {"start_to_close": "60s", "heartbeat": "10s"},
    }
)

ZIGBEE_FAMILY = DeviceFamily(
    name="zigbee",
    strategy=ZigbeeStrategy,
    workflow="workflows.zigbee:ZigbeeProvisioningWorkflow",
    wiring="worker.families.zigbee:WIRING",
    request_model=ZigbeeProvisionRequest,
    examples=(
        RequestExample(
            title="Zigbee plug with an install code",
            body={
                "device": {
                    "device_id": "zb-plug-office",
                    "type": "smart-plug",
                    "vendor": "sonoff",
                    "model": "S26R2ZB",
                    "capabilities": ["zigbee"],
                    "site": "local",
                    "transport_hints": {"ieee": "00:12:4b:00:25:1c:2d:02"},
                },
                "secrets": {"install_code": "0EA9 9D36 970B 5E49 0604 9D21 5FB5 CB82 A5F3"},
            },
        ),
    ),
    policy=ZIGBEE_POLICY,
    decommission=ZIGBEE_DECOMMISSION,
    error_codes=frozenset(
        {
            "ZIGBEE_INVALID_INSTALL_CODE",
            "ZIGBEE_JOIN_TIMEOUT",
            "ZIGBEE_INTERVIEW_FAILED",
            "ZIGBEE_CONFIGURATION_FAILED",
            "ZIGBEE_DEVICE_NOT_ON_NETWORK",
            "ZIGBEE_COORDINATOR_NOT_READY",
            "ZIGBEE_NETWORK_FULL",
            "ZIGBEE_RADIO_UNAVAILABLE",
        }
    ),
)
"""The `zigbee` family's descriptor (entry point `devprov.families:zigbee`)."""
