"""The strategy contract."""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass, field
from enum import StrEnum

from domain.device import DeviceDescriptor
from domain.errors import checked_code
from domain.requests import ReprovisionPolicy, Transport


class Placement(StrEnum):
    """Where a strategy's device steps run."""

    EDGE = "edge"
    """On an edge worker of the device's site (task queue `edge.<site>`)."""
    CENTRAL = "central"
    """On the central workers (task queue `provisioning`)."""


@dataclass(frozen=True)
class StrategySpec:
    """What a strategy serves and how it is run.

    Attributes:
        name: Stable strategy name, used in requests, search attributes and config.
        workflow: Temporal workflow type that runs this strategy.
        description: One line for `GET /strategies`.
        device_types: Device types served; empty means any type.
        vendors: Vendors served; empty means any vendor.
        required_capabilities: Capabilities the device must declare.
        requires_network: Whether the run needs network credentials.
        placement: Where the device-facing steps run.
        required_secrets: Names of device secrets (request `secrets`) the run needs.
        reprovision: The re-provisioning policies its runs take for a device in service
            (`never` always; `reset` needs the family's decommission plan; `migrate`
            needs the workflow's `migrate` steps).
        reprovision_notes: Why a policy is not supported, or what it does, per policy.
        validation_codes: The family's codes that say the request itself is wrong (a
            security secret the device refuses): a run that fails with one before it
            changed anything ends FAILED_VALIDATION, as a refused pre-check does. Plain
            code strings, usually among the family's own `error_codes`; a malformed one
            is refused when the spec is made.
        transports: How its runs may reach the device (`gateway` always; `client-ble`
            when its workflow can wait for the installer's browser to onboard it).
    """

    name: str
    workflow: str
    description: str
    device_types: frozenset[str] = frozenset()
    vendors: frozenset[str] = frozenset()
    required_capabilities: frozenset[str] = frozenset()
    requires_network: bool = False
    placement: Placement = Placement.EDGE
    required_secrets: frozenset[str] = frozenset()
    reprovision: frozenset[ReprovisionPolicy] = frozenset({ReprovisionPolicy.NEVER})
    reprovision_notes: tuple[tuple[ReprovisionPolicy, str], ...] = ()
    validation_codes: frozenset[str] = frozenset()
    transports: frozenset[Transport] = frozenset({Transport.GATEWAY})

    def __post_init__(self) -> None:
        for code in self.validation_codes:
            checked_code(code)

    def describe_reprovision(self) -> dict[str, object]:
        """What `GET /strategies` shows of the policies (in the policies' order)."""
        return {
            "policies": [p.value for p in ReprovisionPolicy if p in self.reprovision],
            "notes": {policy.value: note for policy, note in self.reprovision_notes},
        }


@dataclass(frozen=True)
class PreCheckVerdict:
    """Result of a strategy's pre-check rules."""

    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


class Strategy(ABC):
    """Business rules of one device family."""

    spec: StrategySpec

    @property
    def name(self) -> str:
        return self.spec.name

    def mismatches(self, device: DeviceDescriptor) -> list[str]:
        """Why this strategy cannot serve `device`; empty when it can."""
        reasons: list[str] = []
        spec = self.spec
        if spec.device_types and device.type not in spec.device_types:
            reasons.append(f"device type '{device.type}' is not one of {sorted(spec.device_types)}")
        if spec.vendors and device.vendor not in spec.vendors:
            reasons.append(f"vendor '{device.vendor}' is not one of {sorted(spec.vendors)}")
        missing = sorted(spec.required_capabilities - device.capabilities)
        if missing:
            reasons.append(f"missing capabilities: {', '.join(missing)}")
        return reasons

    def describe(self) -> dict[str, object]:
        """Public description served by `GET /strategies`."""
        spec = self.spec
        return {
            "name": spec.name,
            "description": spec.description,
            "workflow": spec.workflow,
            "device_types": sorted(spec.device_types),
            "vendors": sorted(spec.vendors),
            "required_capabilities": sorted(spec.required_capabilities),
            "requires_network": spec.requires_network,
            "placement": spec.placement.value,
            "required_secrets": sorted(spec.required_secrets),
            "reprovision": spec.describe_reprovision(),
            "transports": [t.value for t in Transport if t in spec.transports],
            **self.settings(),
        }

    def settings(self) -> dict[str, object]:
        """Strategy-specific settings added to its description."""
        return {}
