"""Planning a fleet run: every device resolved and its strategy selected up front."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from domain.errors import ErrorCode
from domain.fleet import FleetMember, FleetRequest, FleetRun, FleetStrategy
from domain.policies import LifecyclePolicy
from domain.requests import ProvisionRequest
from strategies.family import DeviceFamily
from strategies.registry import SelectionError, StrategyRegistry

MAX_LISTED_REJECTIONS = 50


class FleetPlanError(Exception):
    """Some devices of the fleet cannot be provisioned; nothing was started."""

    def __init__(self, rejected: list[dict[str, object]], total_rejected: int) -> None:
        super().__init__(f"{total_rejected} device(s) of the fleet cannot be provisioned")
        self.rejected = rejected
        self.total_rejected = total_rejected


def plan_fleet(
    fleet_id: str,
    request: FleetRequest,
    registry: StrategyRegistry,
    policy_for: Callable[[str], LifecyclePolicy],
    families: Iterable[DeviceFamily] = (),
) -> FleetRun:
    """Select every device's strategy and check its request against its family's request
    model (a fleet carries no device secrets: a family that needs them cannot be fleeted);
    raise `FleetPlanError` listing the devices that fail."""
    models = {family.name: family for family in families}
    members: list[FleetMember] = []
    strategies: dict[str, FleetStrategy] = {}
    rejected: list[dict[str, object]] = []
    total_rejected = 0

    def reject(
        device_id: str, code: ErrorCode, detail: str, reasons: list[dict[str, object]]
    ) -> None:
        nonlocal total_rejected
        total_rejected += 1
        if len(rejected) < MAX_LISTED_REJECTIONS:
            rejected.append(
                {"device_id": device_id, "code": code.value, "detail": detail, "reasons": reasons}
            )

    for device in request.devices:
        descriptor = request.descriptor(device)
        try:
            strategy = registry.select(descriptor, override=request.strategy)
        except SelectionError as error:
            reject(device.device_id, error.code, error.message, error.reasons())
            continue
        family = models.get(strategy.name)
        single = ProvisionRequest(device=descriptor, network=request.network)
        errors = family.request_errors(single) if family is not None else []
        if errors:
            reject(
                device.device_id,
                ErrorCode.INVALID_REQUEST,
                f"strategy '{strategy.name}' needs what a fleet request cannot give it",
                [
                    {
                        "strategy": strategy.name,
                        "reasons": [
                            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}"
                            for e in errors
                        ],
                    }
                ],
            )
            continue
        if strategy.name not in strategies:
            strategies[strategy.name] = FleetStrategy(
                workflow=strategy.spec.workflow, policy=policy_for(strategy.name)
            )
        members.append(FleetMember(device=device, strategy=strategy.name))
    if total_rejected:
        raise FleetPlanError(rejected, total_rejected)
    return FleetRun(
        fleet_id=fleet_id,
        template=request.template,
        network=request.network,
        limits=request.limits,
        strategies=strategies,
        queue=members,
        total=len(members),
    )
