"""Choosing the strategy for a device."""

from __future__ import annotations

import pytest

from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from strategies.base import Placement, Strategy, StrategySpec
from strategies.http_wifi import HttpWifiStrategy
from strategies.registry import SelectionError, StrategyRegistry


class FakeStrategy(Strategy):
    def __init__(self, spec: StrategySpec) -> None:
        self.spec = spec


ZIGBEE = FakeStrategy(
    StrategySpec(
        name="zigbee",
        workflow="Zigbee",
        description="zigbee join",
        required_capabilities=frozenset({"zigbee"}),
    )
)
CLOUD = FakeStrategy(
    StrategySpec(
        name="acme-cloud",
        workflow="AcmeCloud",
        description="vendor cloud",
        vendors=frozenset({"acme"}),
        placement=Placement.CENTRAL,
    )
)
GENERIC = FakeStrategy(StrategySpec(name="generic", workflow="Generic", description="anything"))


def device(**overrides: object) -> DeviceDescriptor:
    fields: dict[str, object] = {
        "device_id": "dev-1",
        "type": "wifi-relay",
        "vendor": "shelly",
        "capabilities": {"wifi", "http-rpc"},
    }
    fields.update(overrides)
    return DeviceDescriptor.model_validate(fields)


def test_device_with_wifi_and_http_rpc_selects_http_wifi() -> None:
    registry = StrategyRegistry([ZIGBEE, HttpWifiStrategy()])

    assert registry.select(device()).name == "http-wifi"


def test_vendor_rule_selects_the_vendor_strategy() -> None:
    registry = StrategyRegistry([ZIGBEE, CLOUD])

    assert registry.select(device(vendor="acme", capabilities=set())).name == "acme-cloud"


def test_default_strategy_is_used_when_no_specific_one_matches() -> None:
    registry = StrategyRegistry([GENERIC, ZIGBEE, HttpWifiStrategy()], default="generic")

    assert registry.select(device(capabilities={"thread"})).name == "generic"


def test_default_strategy_does_not_shadow_a_specific_match() -> None:
    registry = StrategyRegistry([GENERIC, HttpWifiStrategy()], default="generic")

    assert registry.select(device()).name == "http-wifi"


def test_unsupported_device_lists_every_strategy_considered_and_why() -> None:
    registry = StrategyRegistry([ZIGBEE, HttpWifiStrategy()])

    with pytest.raises(SelectionError) as error:
        registry.select(device(capabilities={"wifi"}))

    assert error.value.code is ErrorCode.UNSUPPORTED_DEVICE
    assert error.value.reasons() == [
        {"strategy": "zigbee", "reasons": ["missing capabilities: zigbee"]},
        {"strategy": "http-wifi", "reasons": ["missing capabilities: http-rpc"]},
    ]


def test_override_selects_the_named_strategy() -> None:
    registry = StrategyRegistry([GENERIC, HttpWifiStrategy()])

    assert registry.select(device(), override="generic").name == "generic"


def test_override_that_does_not_fit_the_device_is_rejected_with_reasons() -> None:
    registry = StrategyRegistry([ZIGBEE, HttpWifiStrategy()])

    with pytest.raises(SelectionError) as error:
        registry.select(device(), override="zigbee")

    assert error.value.code is ErrorCode.UNSUPPORTED_DEVICE
    assert error.value.reasons()[0]["reasons"] == ["missing capabilities: zigbee"]


def test_unknown_override_names_the_known_strategies() -> None:
    registry = StrategyRegistry([ZIGBEE, HttpWifiStrategy()])

    with pytest.raises(SelectionError) as error:
        registry.select(device(), override="matter")

    assert error.value.code is ErrorCode.UNKNOWN_STRATEGY
    assert "http-wifi" in error.value.message


def test_switched_off_strategy_is_reported_as_disabled() -> None:
    registry = StrategyRegistry([ZIGBEE, HttpWifiStrategy()], disabled=["http-wifi"])

    with pytest.raises(SelectionError) as error:
        registry.select(device())

    assert error.value.code is ErrorCode.STRATEGY_DISABLED
    assert {"strategy": "http-wifi", "reasons": ["switched off by configuration"]} in (
        error.value.reasons()
    )


def test_switched_off_strategy_cannot_be_forced_by_override() -> None:
    registry = StrategyRegistry([HttpWifiStrategy()], disabled=["http-wifi"])

    with pytest.raises(SelectionError) as error:
        registry.select(device(), override="http-wifi")

    assert error.value.code is ErrorCode.STRATEGY_DISABLED


def test_registry_refuses_an_unknown_default_or_disabled_name() -> None:
    with pytest.raises(ValueError, match="default"):
        StrategyRegistry([ZIGBEE], default="nope")
    with pytest.raises(ValueError, match="unknown"):
        StrategyRegistry([ZIGBEE], disabled=["nope"])
