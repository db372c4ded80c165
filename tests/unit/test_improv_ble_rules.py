"""The Improv BLE strategy's rules and how Improv errors map to codes."""

from __future__ import annotations

import pytest
from improv_ble_client.protocol import Error

from adapters.improv.errors import improv_error
from domain.device import DeviceDescriptor
from domain.errors import ErrorCode
from domain.facts import DetectedDevice
from strategies.catalog import build_registry
from strategies.improv_ble import ImprovBleStrategy

DEVICE = DeviceDescriptor(
    device_id="porch",
    type="wifi-light",
    vendor="esphome",
    capabilities=frozenset({"ble", "improv"}),
)


def state(improv_state: str, **attributes: str) -> DetectedDevice:
    return DetectedDevice(
        device_id="porch", attributes={"improv_state": improv_state, **attributes}
    )


def test_a_device_with_ble_and_improv_selects_the_improv_strategy() -> None:
    assert build_registry().select(DEVICE).name == "improv-ble"


@pytest.mark.parametrize("improv_state", ["authorization_required", "authorized"])
def test_a_device_ready_for_credentials_passes(improv_state: str) -> None:
    assert ImprovBleStrategy().pre_check(DEVICE, state(improv_state)).passed


def test_an_already_provisioned_device_is_reported_with_where_it_answers() -> None:
    verdict = ImprovBleStrategy().pre_check(
        DEVICE, state("provisioned", redirect_url="http://10.0.0.5/")
    )

    assert not verdict.passed
    assert "already provisioned" in verdict.reasons[0]
    assert "http://10.0.0.5/" in verdict.reasons[0]


def test_a_device_still_joining_is_not_provisioned_again() -> None:
    assert not ImprovBleStrategy().pre_check(DEVICE, state("provisioning")).passed


def test_only_a_device_requiring_authorization_is_waited_for() -> None:
    rules = ImprovBleStrategy()

    assert rules.needs_authorization(state("authorization_required"))
    assert not rules.needs_authorization(state("authorized"))


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (Error.UNABLE_TO_CONNECT, ErrorCode.CREDENTIALS_REJECTED, False),
        (Error.NOT_AUTHORIZED, ErrorCode.IMPROV_NOT_AUTHORIZED, False),
        (Error.INVALID_RPC_PACKET, ErrorCode.IMPROV_INVALID_RPC, False),
        (Error.UNKNOWN_RPC_COMMAND, ErrorCode.IMPROV_UNKNOWN_COMMAND, False),
        (Error.BAD_HOSTNAME, ErrorCode.DEVICE_REJECTED_REQUEST, False),
        (Error.UNKNOWN_ERROR, ErrorCode.IMPROV_DEVICE_ERROR, True),
    ],
)
def test_every_improv_error_has_a_stable_code(
    error: Error, code: ErrorCode, retryable: bool
) -> None:
    failure = improv_error(error, subject="device 'porch'", details={"device_id": "porch"})

    assert (failure.code, failure.retryable) == (code, retryable)
    assert failure.details["improv_error"] == error.name
