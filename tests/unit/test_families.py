"""Device families: one descriptor each, found through the `devprov.families` entry points;
the registry, the workflows, the edge capabilities and the error catalogue follow them.

Every check runs over `installed_families()`: a family added to devprov (or installed
beside it) is checked with no edit here.
"""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from config.settings import EdgeSettings, Settings
from domain.errors import ErrorCode, is_code
from domain.requests import ProvisionRequest, ReprovisionPolicy
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
from worker.families import (
    central_activities,
    edge_capabilities,
    selected_capabilities,
    wiring_of,
)
from workflows.catalog import all_workflows, strategy_workflows

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "requests"
SHARED_PREFIXES = ("ZIGBEE_", "BLE_", "IMPROV_", "CLOUD_")
"""Family-specific codes that are members of the shared `ErrorCode` (they came before a
family could declare codes of its own): each is still claimed by one family."""


def declared_in_pyproject() -> dict[str, str]:
    """The families devprov's own pyproject.toml declares: name -> `module:attribute`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(project["entry-points"][ENTRY_POINT_GROUP])


def test_every_family_devprov_declares_is_found_by_its_entry_point() -> None:
    installed = {family.name: family for family in installed_families()}

    for name, reference in declared_in_pyproject().items():
        assert name in installed, f"{name} is declared but not installed: reinstall devprov"
        assert load_object(reference) is installed[name]


def test_families_are_found_in_selection_order() -> None:
    families = installed_families()
    names = [family.name for family in families]

    assert [(f.selection_order, f.name) for f in families] == sorted(
        (f.selection_order, f.name) for f in families
    )
    # The composite Wi-Fi families extend http-wifi's capabilities: they are tried first.
    assert names.index("wifi-cloud") < names.index("http-wifi")
    assert names.index("wifi-aws-iot") < names.index("http-wifi")


def test_each_family_has_one_name_for_its_strategy_and_its_workflow() -> None:
    for family in installed_families():
        strategy = family.make_strategy()
        workflow = family.workflow_class()

        assert strategy.name == family.name
        assert getattr(workflow, "spec").name == family.name  # noqa: B009


def test_the_registry_serves_every_installed_family() -> None:
    assert [s.name for s in build_registry().strategies] == [
        family.name for family in installed_families()
    ]


def test_the_central_workers_run_every_familys_workflows() -> None:
    families = installed_families()
    workflows = strategy_workflows()
    names = [getattr(w, "__temporal_workflow_definition").name for w in workflows]

    assert workflows == [w for family in families for w in family.workflow_classes()]
    assert len(set(names)) == len(names)
    assert len(workflows) == len(families) + sum(f.decommission is not None for f in families)
    assert set(workflows) < set(all_workflows())


def test_each_family_declares_how_it_takes_a_device_out_of_service_or_why_it_cannot() -> None:
    for family in installed_families():
        plan = family.decommission
        spec = family.make_strategy().spec
        if plan is None:
            # It says so: the API answers 422 DECOMMISSION_UNSUPPORTED, and a reset (a
            # decommissioning first) is neither offered nor left unexplained.
            assert ReprovisionPolicy.RESET not in spec.reprovision, family.name
            assert ReprovisionPolicy.RESET in dict(spec.reprovision_notes), family.name
            continue
        workflow = family.workflow_classes()[-1]

        assert getattr(workflow, "decommission_plan") is plan  # noqa: B009
        assert getattr(workflow, "__temporal_workflow_definition").name == plan.workflow
        assert plan.steps, family.name


def test_edge_capabilities_and_central_activities_come_from_the_wiring() -> None:
    wirings = {family.name: wiring_of(family) for family in installed_families()}

    assert set(edge_capabilities()) == {
        name for name, wiring in wirings.items() if wiring.edge_capability is not None
    }
    assert set(central_activities()) == {
        name for name, wiring in wirings.items() if wiring.central_activities is not None
    }
    # Every family's steps run somewhere: on the edge workers, the central ones, or both.
    assert set(edge_capabilities()) | set(central_activities()) == set(wirings)


def test_a_gateway_hosts_the_capabilities_it_names() -> None:
    settings = Settings(edge=EdgeSettings.defaults(capabilities=("zigbee",)))

    assert list(selected_capabilities(settings)) == ["zigbee"]


def test_an_unknown_capability_is_refused_with_the_known_ones() -> None:
    settings = Settings(edge=EdgeSettings.defaults(capabilities=("carrier-pigeon",)))

    with pytest.raises(ValueError, match="carrier-pigeon"):
        selected_capabilities(settings)


def test_every_family_specific_error_code_is_claimed_by_exactly_one_family() -> None:
    catalogue = error_catalogue(installed_families())
    prefixed = {code.value for code in ErrorCode if code.value.startswith(SHARED_PREFIXES)}

    assert prefixed <= set(catalogue)
    assert all(is_code(code) for code in catalogue)
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


def test_a_family_declaring_a_malformed_error_code_is_refused() -> None:
    with pytest.raises(FamilyError, match=r"malformed error codes \['SessionFailed'\]"):
        DeviceFamily("a", HttpWifiStrategy, "m:C", error_codes=frozenset({"SessionFailed"}))
