"""Planning a fleet run: every device resolved and its strategy selected up front."""

from __future__ import annotations

from collections.abc import Callable

from domain.fleet import FleetMember, FleetRequest, FleetRun, FleetStrategy
from domain.policies import LifecyclePolicy
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
) -> FleetRun:
    """Select every device's strategy; raise `FleetPlanError` listing the devices that fail."""
    members: list[FleetMember] = []
    strategies: dict[str, FleetStrategy] = {}
    rejected: list[dict[str, object]] = []
    total_rejected = 0
    for device in request.devices:
        descriptor = request.descriptor(device)
        try:
            strategy = registry.select(descriptor, override=request.strategy)
        except SelectionError as error:
            total_rejected += 1
            if len(rejected) < MAX_LISTED_REJECTIONS:
                rejected.append(
                    {
                        "device_id": device.device_id,
                        "code": error.code.value,
                        "detail": error.message,
                        "reasons": error.reasons(),
                    }
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
