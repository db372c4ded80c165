"""The API's bodies: they live in `domain.api_models`, shared with the client SDK."""

from domain.api_models import (
    API_PREFIX,
    ConsoleConfig,
    DeviceSelection,
    FleetLinks,
    FleetStatus,
    RunLinks,
    RunList,
    RunStatus,
    RunSummary,
    StartedFleet,
    StartedRun,
    StrategyInfo,
    StrategyMatch,
    StrategyQuery,
)

__all__ = [
    "API_PREFIX",
    "ConsoleConfig",
    "DeviceSelection",
    "FleetLinks",
    "FleetStatus",
    "RunLinks",
    "RunList",
    "RunStatus",
    "RunSummary",
    "StartedFleet",
    "StartedRun",
    "StrategyInfo",
    "StrategyMatch",
    "StrategyQuery",
]
