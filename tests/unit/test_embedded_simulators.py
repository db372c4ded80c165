"""The embedded stack starts each family's simulator after those it names: the AWS IoT
devices join the `http-wifi` family's fleet, so its simulator starts after that one."""

from __future__ import annotations

import pytest

from strategies.family import DeviceFamily, FamilyError
from strategies.http_wifi import HttpWifiStrategy
from worker.families import EmbeddedSimulator, FamilyWiring, embedded_simulators

FIRST = FamilyWiring(simulator=EmbeddedSimulator(start="m:first", after=("b",)))
SECOND = FamilyWiring(simulator=EmbeddedSimulator(start="m:second"))
CIRCLE_A = FamilyWiring(simulator=EmbeddedSimulator(start="m:a", after=("b",)))
CIRCLE_B = FamilyWiring(simulator=EmbeddedSimulator(start="m:b", after=("a",)))
HERE = "tests.unit.test_embedded_simulators"


def _family(name: str, wiring: str) -> DeviceFamily:
    return DeviceFamily(name, HttpWifiStrategy, "m:C", wiring=f"{HERE}:{wiring}")


def test_a_simulator_starts_after_the_ones_it_names_whatever_the_selection_order() -> None:
    families = [_family("a", "FIRST"), _family("b", "SECOND")]

    assert list(embedded_simulators(families)) == ["b", "a"]


def test_a_simulator_after_a_family_that_is_not_installed_starts_all_the_same() -> None:
    assert list(embedded_simulators([_family("a", "FIRST")])) == ["a"]


def test_simulators_that_wait_for_each_other_are_refused() -> None:
    families = [_family("a", "CIRCLE_A"), _family("b", "CIRCLE_B")]

    with pytest.raises(FamilyError, match="circle"):
        embedded_simulators(families)


def test_the_shipped_aws_iot_devices_start_after_the_wifi_fleet_they_join() -> None:
    order = list(embedded_simulators())

    assert order.index("http-wifi") < order.index("wifi-aws-iot")
