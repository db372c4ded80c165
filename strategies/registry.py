"""Selecting the strategy for a device."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from strategies.base import Strategy


@dataclass(frozen=True)
class Rejection:
    """One strategy considered for a device, and why it was not chosen."""

    strategy: str
    reasons: tuple[str, ...]


class SelectionError(Exception):
    """No strategy can provision the device; `code` and `rejections` say why."""

    def __init__(self, code: ErrorCode, message: str, rejections: Iterable[Rejection] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rejections = tuple(rejections)

    def reasons(self) -> list[dict[str, object]]:
        """JSON-ready reasons, one per strategy considered."""
        return [{"strategy": r.strategy, "reasons": list(r.reasons)} for r in self.rejections]


class StrategyRegistry:
    """Chooses a strategy by device type, capabilities and vendor.

    Built by composition: pass the strategies, the name of the default (tried last,
    when no specific strategy matches) and the names switched off by configuration.
    """

    def __init__(
        self,
        strategies: Iterable[Strategy],
        *,
        default: str | None = None,
        disabled: Iterable[str] = (),
    ) -> None:
        self._strategies: dict[str, Strategy] = {}
        for strategy in strategies:
            if strategy.name in self._strategies:
                raise ValueError(f"duplicate strategy name: {strategy.name}")
            self._strategies[strategy.name] = strategy
        if default is not None and default not in self._strategies:
            raise ValueError(f"default strategy '{default}' is not registered")
        unknown = set(disabled) - set(self._strategies)
        if unknown:
            raise ValueError(f"cannot disable unknown strategies: {', '.join(sorted(unknown))}")
        self._default = default
        self._disabled = frozenset(disabled)

    @property
    def strategies(self) -> list[Strategy]:
        return list(self._strategies.values())

    def is_enabled(self, name: str) -> bool:
        return name not in self._disabled

    @property
    def default(self) -> str | None:
        return self._default

    def get(self, name: str) -> Strategy:
        """The strategy called `name`; raises `SelectionError` if unknown or disabled."""
        strategy = self._strategies.get(name)
        if strategy is None:
            raise SelectionError(
                ErrorCode.UNKNOWN_STRATEGY,
                f"unknown strategy '{name}'; known: {', '.join(sorted(self._strategies))}",
            )
        if name in self._disabled:
            raise SelectionError(
                ErrorCode.STRATEGY_DISABLED,
                f"strategy '{name}' is switched off by configuration",
                [Rejection(name, ("switched off by configuration",))],
            )
        return strategy

    def select(self, device: DeviceDescriptor, override: str | None = None) -> Strategy:
        """Pick the strategy for `device`.

        An explicit `override` wins but must still match the device. Otherwise the
        first enabled specific strategy that matches is chosen, then the default.
        """
        if override is not None:
            strategy = self.get(override)
            reasons = strategy.mismatches(device)
            if reasons:
                raise SelectionError(
                    ErrorCode.UNSUPPORTED_DEVICE,
                    f"strategy '{override}' cannot provision device '{device.device_id}'",
                    [Rejection(override, tuple(reasons))],
                )
            return strategy

        rejections: list[Rejection] = []
        matched_disabled: list[str] = []
        ordered = [s for s in self._strategies.values() if s.name != self._default]
        if self._default is not None:
            ordered.append(self._strategies[self._default])
        for strategy in ordered:
            reasons = strategy.mismatches(device)
            if not reasons and strategy.name in self._disabled:
                matched_disabled.append(strategy.name)
                reasons = ["switched off by configuration"]
            if not reasons:
                return strategy
            rejections.append(Rejection(strategy.name, tuple(reasons)))
        if matched_disabled:
            raise SelectionError(
                ErrorCode.STRATEGY_DISABLED,
                f"the strategies that serve device '{device.device_id}' are switched off: "
                f"{', '.join(matched_disabled)}",
                rejections,
            )
        raise SelectionError(
            ErrorCode.UNSUPPORTED_DEVICE,
            f"no strategy can provision device '{device.device_id}'",
            rejections,
        )
