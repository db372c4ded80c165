"""The strategies of the installed device families (see `strategies.family`)."""

from __future__ import annotations

from collections.abc import Iterable

from strategies.base import Strategy
from strategies.family import DeviceFamily, installed_families
from strategies.registry import StrategyRegistry


def installed_strategies(families: Iterable[DeviceFamily] | None = None) -> list[Strategy]:
    """One strategy per family (default: the installed ones), in selection order.

    A composite family comes before the families whose capabilities it extends: a
    device with `vendor-cloud` as well as `wifi` and `http-rpc` is a `wifi-cloud` one.
    """
    chosen = installed_families() if families is None else list(families)
    return [family.make_strategy() for family in chosen]


def build_registry(
    *,
    strategies: list[Strategy] | None = None,
    default: str | None = None,
    disabled: tuple[str, ...] = (),
) -> StrategyRegistry:
    """A registry over `strategies` (default: those of the installed families)."""
    return StrategyRegistry(
        installed_strategies() if strategies is None else strategies,
        default=default,
        disabled=disabled,
    )
