"""Taking a device out of service: what each family undoes, declared with the family.

A family's `DecommissionPlan` lists the undo steps of what its provisioning runs put in
service — the activities that already undo a provisioning run where they fit (a factory
reset, a Zigbee leave and removal, the vendor cloud's deregistration) — how each step's
argument is made from the device's registry record, an optional check of the device
afterwards, and what the family's protocol cannot undo at all (reported to the people
following the run, never hidden). The plan is pure: the family's decommissioning workflow
(`workflows.lifecycle.LifecycleWorkflow.run_decommission`) runs it with the saga
discipline of a rollback — every step to its end, even when the run is cancelled
meanwhile, and what fails after its retries is named as a leftover.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from domain.registry import DeviceRecord
from strategies.activity_contract import ActivityContract

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class DecommissionTarget:
    """What a decommissioning run knows when it undoes a device's service.

    Attributes:
        record: The device's registry record as the run's claim returned it (the facts
            the provisioning run learned: network, address, cloud thing, Zigbee address).
        device: The device as the run addresses it (from the same record).
        tenant: The tenant whose key started the run.
        idempotency_key: A key for a side effect of the named step, unique to the run.
    """

    record: DeviceRecord
    device: DeviceDescriptor
    tenant: str
    idempotency_key: Callable[[str], str]


def _always(_: DeviceRecord) -> bool:
    return True


@dataclass(frozen=True)
class UndoStep(Generic[ArgT, ResultT]):
    """One thing to undo.

    Attributes:
        description: What it undoes, as events and leftovers name it ("factory reset
            over the local HTTP API").
        contract: The activity that undoes it (idempotent: it may run more than once).
        argument: Makes the activity's argument from what the run knows.
        central: Runs on the central workers (a cloud call) rather than the device's edge.
        applies: Whether the step has anything to undo for this record.
    """

    description: str
    contract: ActivityContract[ArgT, ResultT]
    argument: Callable[[DecommissionTarget], ArgT]
    central: bool = False
    applies: Callable[[DeviceRecord], bool] = _always


@dataclass(frozen=True)
class ServiceCheck:
    """A look at the device once every step is done: what of its service remains.

    Attributes:
        description: What it checks.
        contract: The activity that reads the device.
        argument: Makes its argument.
        remains: What the reading shows still in place (empty: nothing).
    """

    description: str
    contract: ActivityContract[Any, DetectedDevice]
    argument: Callable[[DecommissionTarget], Any]
    remains: Callable[[DetectedDevice], list[str]]


@dataclass(frozen=True)
class DecommissionPlan:
    """How a family takes a device out of service.

    Attributes:
        workflow: The Temporal workflow type that runs the plan for the family.
        workflow_class: `module:Class` of that workflow (the central workers run it).
        steps: The undo steps, in the order they run.
        check: The look at the device afterwards, if the family has one.
        cannot_undo: What the family's protocol has no way to undo, told to the people
            following every decommissioning run of the family.
        confirms_identity: The device found must say it is the device of the record
            (else nothing is done to it: FAILED_VALIDATION).
    """

    workflow: str
    workflow_class: str
    steps: tuple[UndoStep[Any, Any], ...]
    check: ServiceCheck | None = None
    cannot_undo: tuple[str, ...] = ()
    confirms_identity: bool = False

    def describe(self) -> dict[str, object]:
        """What `GET /strategies` shows of it."""
        return {
            "workflow": self.workflow,
            "undoes": [step.description for step in self.steps],
            "checks": self.check.description if self.check is not None else None,
            "cannot_undo": list(self.cannot_undo),
        }


def device_of(record: DeviceRecord) -> DeviceDescriptor:
    """The device as a decommissioning run addresses it, from its registry record.

    Records written before the registry kept a device's type have none: `unknown`.
    """
    hints = dict(record.transport_hints)
    if record.zigbee_ieee and "ieee" not in hints:
        hints["ieee"] = record.zigbee_ieee
    return DeviceDescriptor(
        device_id=record.device_id,
        type=record.device_type or "unknown",
        vendor=record.vendor or "unknown",
        model=record.model,
        site=record.site or "local",
        transport_hints=hints,
    )
