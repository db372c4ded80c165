"""The `esp-prov-ble` family's descriptor: found by its entry point, its codes declared,
and its example requests the devices `make run` simulates."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.esp_prov import FAMILY_ERROR_CODES, SecurityScheme
from domain.errors import ErrorCode, is_code
from domain.requests import ProvisionRequest
from simulators.esp_prov.embedded import default_esp_specs
from strategies.esp_prov_ble import (
    ESP_PROV_BLE_FAMILY,
    ESP_PROV_BLE_SPEC,
    SECURITY_1,
    SECURITY_2,
    security_for,
)
from strategies.family import installed_families

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "requests"


def test_the_family_is_found_by_its_entry_point() -> None:
    assert ESP_PROV_BLE_FAMILY in installed_families()


def test_its_adapter_codes_are_the_ones_it_declares_and_the_validation_code_among_them() -> None:
    assert ESP_PROV_BLE_FAMILY.error_codes == FAMILY_ERROR_CODES
    assert ESP_PROV_BLE_SPEC.validation_codes == {"SESSION_AUTH_FAILED"}


def test_its_codes_are_its_own_strings_not_members_of_the_shared_enum() -> None:
    shared = {code.value for code in ErrorCode}

    assert ESP_PROV_BLE_FAMILY.error_codes.isdisjoint(shared)
    assert all(type(code) is str and is_code(code) for code in FAMILY_ERROR_CODES)


def test_each_example_opens_the_session_of_a_device_make_run_simulates() -> None:
    simulated = {spec.device_id: spec for spec in default_esp_specs()}
    schemes = set()
    for example in ESP_PROV_BLE_FAMILY.examples:
        request = ProvisionRequest.model_validate(
            json.loads((EXAMPLES / f"{example.device_id}.json").read_text())
        )
        security = security_for(request)
        device = simulated[example.device_id]

        assert security.scheme == int(device.security)
        assert security.secret is not None
        assert security.secret.get_secret_value() == device.secret
        schemes.add(security.scheme)
    assert schemes == {SECURITY_1, SECURITY_2}
    assert {int(SecurityScheme.SEC1), int(SecurityScheme.SEC2)} == schemes
