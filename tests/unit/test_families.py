"""Device families: one descriptor each, found through the `devprov.families` entry points;
the registry, the workflows, the edge capabilities and the error catalogue follow them."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from config.settings import EdgeSettings, Settings
from domain.errors import ErrorCode
from domain.requests import ProvisionRequest
from strategies import family as family_module
from strategies.catalog import build_registry
from strategies.family import (
    ENTRY_POINT_GROUP,
    DeviceFamily,
    FamilyError,
    error_catalogue,
    installed_families,
    load_object,
)
from strategies.http_wifi import HttpWifiStrategy
from worker.families import central_activities, edge_capabilities, selected_capabilities
from workflows.catalog import strategy_workflows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "requests"
SHIPPED = ["wifi-aws-iot", "wifi-cloud", "esp-prov-ble", "http-wifi", "improv-ble", "zigbee"]
SHARED_PREFIXES = ("ZIGBEE_", "BLE_", "IMPROV_", "CLOUD_")
CANNOT_DECOMMISSION = {"esp-prov-ble"}
"""Its secure session needs a secret a decommissioning run does not hold (docs/esp-idf.md)."""
UNPREFIXED_FAMILY_CODES = {"SESSION_AUTH_FAILED", "NETWORK_NOT_FOUND"}


def test_the_shipped_families_are_found_by_their_entry_points_in_selection_order() -> None:
    assert [family.name for family in installed_families()] == SHIPPED


def test_each_family_has_one_name_for_its_strategy_and_its_workflow() -> None:
    for family in installed_families():
        strategy = family.make_strategy()
        workflow = family.workflow_class()

        assert strategy.name == family.name
        assert getattr(workflow, "spec").name == family.name  # noqa: B009


def test_the_registry_serves_every_installed_family() -> None:
    assert [s.name for s in build_registry().strategies] == SHIPPED


def test_the_central_workers_run_every_familys_workflows() -> None:
    assert {w.__name__ for w in strategy_workflows()} == {
        "WifiAwsIotProvisioningWorkflow",
        "WifiAwsIotDecommissionWorkflow",
        "WifiCloudProvisioningWorkflow",
        "WifiCloudDecommissionWorkflow",
        "HttpWifiProvisioningWorkflow",
        "HttpWifiDecommissionWorkflow",
        "ImprovBleProvisioningWorkflow",
        "ImprovBleDecommissionWorkflow",
        "ZigbeeProvisioningWorkflow",
        "ZigbeeDecommissionWorkflow",
        "EspProvBleProvisioningWorkflow",
    }


def test_each_shipped_family_declares_how_it_takes_a_device_out_of_service() -> None:
    for family in installed_families():
        plan = family.decommission
        if family.name in CANNOT_DECOMMISSION:
            # It says so: the API answers 422 DECOMMISSION_UNSUPPORTED.
            assert plan is None, family.name
            continue
        assert plan is not None, family.name
        workflow = family.workflow_classes()[-1]

        assert getattr(workflow, "decommission_plan") is plan  # noqa: B009
        assert getattr(workflow, "__temporal_workflow_definition").name == plan.workflow
        assert plan.steps, family.name


def test_edge_capabilities_and_central_activities_come_from_the_wiring() -> None:
    assert sorted(edge_capabilities()) == [
        "esp-prov-ble",
        "http-wifi",
        "improv-ble",
        "wifi-aws-iot",
        "zigbee",
    ]
    assert sorted(central_activities()) == ["wifi-aws-iot", "wifi-cloud"]


def test_a_gateway_hosts_the_capabilities_it_names() -> None:
    settings = Settings(edge=EdgeSettings.defaults(capabilities=("zigbee",)))

    assert list(selected_capabilities(settings)) == ["zigbee"]


def test_an_unknown_capability_is_refused_with_the_known_ones() -> None:
    settings = Settings(edge=EdgeSettings.defaults(capabilities=("carrier-pigeon",)))

    with pytest.raises(ValueError, match="carrier-pigeon"):
        selected_capabilities(settings)


def test_every_family_specific_error_code_is_claimed_by_exactly_one_family() -> None:
    catalogue = error_catalogue(installed_families())
    specific = {
        code.value
        for code in ErrorCode
        if code.value.startswith(SHARED_PREFIXES) or code.value in UNPREFIXED_FAMILY_CODES
    }

    assert set(catalogue) == specific
    assert catalogue["ZIGBEE_NETWORK_FULL"] == "zigbee"
    assert catalogue["IMPROV_NOT_AUTHORIZED"] == "improv-ble"
    assert catalogue["CLOUD_CONFLICT"] == "wifi-cloud"
    assert catalogue["SESSION_AUTH_FAILED"] == "esp-prov-ble"


def test_two_families_claiming_one_code_is_an_error() -> None:
    one = DeviceFamily("a", HttpWifiStrategy, "m:C", error_codes=frozenset({"X"}))
    other = DeviceFamily("b", HttpWifiStrategy, "m:C", error_codes=frozenset({"X"}))

    with pytest.raises(FamilyError, match="claimed by 'a' and 'b'"):
        error_catalogue([one, other])


def test_a_family_whose_strategy_has_another_name_is_refused() -> None:
    family = DeviceFamily("not-http-wifi", HttpWifiStrategy, "m:C")

    with pytest.raises(FamilyError, match="makes strategy 'http-wifi'"):
        family.make_strategy()


def test_a_broken_reference_names_itself() -> None:
    with pytest.raises(FamilyError, match="no_such_module"):
        load_object("no_such_module:THING")


def test_two_distributions_declaring_one_family_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = [
        EntryPoint("http-wifi", "strategies.http_wifi:HTTP_WIFI_FAMILY", ENTRY_POINT_GROUP),
        EntryPoint("http-wifi", "other_package:FAMILY", ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(family_module, "entry_points", lambda group: declared)

    with pytest.raises(FamilyError, match="declared twice"):
        installed_families()


def test_an_entry_point_naming_something_else_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = [EntryPoint("zigbee", "strategies.http_wifi:HTTP_WIFI_FAMILY", ENTRY_POINT_GROUP)]
    monkeypatch.setattr(family_module, "entry_points", lambda group: declared)

    with pytest.raises(FamilyError, match="names family 'http-wifi'"):
        installed_families()


def test_every_familys_examples_are_requests_of_make_run_that_its_strategy_serves() -> None:
    registry = build_registry()
    for family in installed_families():
        assert family.examples, family.name
        for example in family.examples:
            request = ProvisionRequest.model_validate(example.body)
            on_file = json.loads((EXAMPLES / f"{example.device_id}.json").read_text())

            assert registry.select(request.device).name == family.name
            assert family.request_errors(request) == []
            # The request of examples/requests, or that request asking for the network later.
            assert example.body in (on_file, {k: v for k, v in on_file.items() if k != "network"})


def test_a_zigbee_request_without_install_code_does_not_fit_its_family() -> None:
    (zigbee,) = [family for family in installed_families() if family.name == "zigbee"]
    body = dict(zigbee.examples[0].body)
    del body["secrets"]

    errors = zigbee.request_errors(ProvisionRequest.model_validate(body))

    assert [error["loc"] for error in errors] == [["secrets"]]
    schema = zigbee.request_schema()
    assert "secrets" in schema["required"]
    assert schema["properties"]["secrets"]["required"] == ["install_code"]


def test_a_family_asking_nothing_more_has_the_plain_request_schema() -> None:
    (http_wifi,) = [family for family in installed_families() if family.name == "http-wifi"]

    assert http_wifi.request_schema() == ProvisionRequest.model_json_schema()
