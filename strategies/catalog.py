"""The strategies devprov ships."""

from __future__ import annotations

from strategies.base import Strategy
from strategies.http_wifi import HttpWifiStrategy
from strategies.improv_ble import ImprovBleStrategy
from strategies.registry import StrategyRegistry
from strategies.wifi_cloud import WifiCloudStrategy
from strategies.zigbee import ZigbeeStrategy


def builtin_strategies() -> list[Strategy]:
    """One instance of every shipped strategy, in selection order.

    A composite strategy comes before the strategies whose capabilities it extends:
    a device with `vendor-cloud` as well as `wifi` and `http-rpc` is a `wifi-cloud` one.
    """
    return [WifiCloudStrategy(), HttpWifiStrategy(), ImprovBleStrategy(), ZigbeeStrategy()]


def build_registry(
    *,
    strategies: list[Strategy] | None = None,
    default: str | None = None,
    disabled: tuple[str, ...] = (),
) -> StrategyRegistry:
    """A registry over `strategies` (default: the built-in ones)."""
    return StrategyRegistry(
        builtin_strategies() if strategies is None else strategies,
        default=default,
        disabled=disabled,
    )
