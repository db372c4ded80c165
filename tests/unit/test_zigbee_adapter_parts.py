"""The Zigbee adapter's pure parts: install codes as typed, radio choice, IEEE addresses."""

from __future__ import annotations

import importlib.util
import json

import pytest
import zigpy.util

from adapters.zigbee import (
    SIMULATED,
    InvalidInstallCode,
    RadioSpec,
    ZigbeeRadioUnavailable,
    load_controller,
    parse_radio,
)
from adapters.zigbee.install_codes import check_install_code, link_key_for
from domain.errors import ErrorCode
from domain.zigbee import normalize_ieee
from simulators.zigbee import format_install_code, install_code_for

IEEE = "00:12:4b:00:25:00:00:01"
CODE = install_code_for("unit")
TYPED = format_install_code(CODE)


def mistyped(text: str) -> str:
    """`text` with its last digit changed, so its CRC no longer matches."""
    return text[:-1] + ("1" if text[-1] != "1" else "2")


def assert_masked(error: InvalidInstallCode, typed: str) -> None:
    compact = typed.replace(" ", "").lower()
    for text in (str(error), repr(error), json.dumps(error.details)):
        assert compact not in text.replace(" ", "").lower()


@pytest.mark.parametrize(
    "typed",
    [TYPED, TYPED.replace(" ", ""), TYPED.replace(" ", "-").lower(), "0x" + CODE.hex()],
    ids=["label", "compact", "dashes-lowercase", "0x-prefix"],
)
def test_install_code_as_typed_gives_zigpys_link_key(typed: str) -> None:
    assert link_key_for(typed, IEEE) == zigpy.util.convert_install_code(CODE)


def test_install_code_from_a_qr_code_must_be_for_the_same_device() -> None:
    qr = f"Z:{IEEE.replace(':', '')}$I:{CODE.hex()}"

    assert link_key_for(qr, IEEE) == zigpy.util.convert_install_code(CODE)
    with pytest.raises(InvalidInstallCode) as caught:
        check_install_code(qr, "00:12:4b:00:25:00:00:99")
    assert caught.value.details["reason"] == "other_device"
    assert_masked(caught.value, CODE.hex())


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        (mistyped(TYPED), "crc"),
        (TYPED[:-5], None),
        ("hello world", "format"),
        (f"Z:{IEEE.replace(':', '')}$I:{mistyped(CODE.hex())}", "crc"),
    ],
    ids=["one-digit-wrong", "truncated", "words", "qr-with-bad-crc"],
)
def test_invalid_install_codes_are_rejected_without_echoing_them(
    typed: str, reason: str | None
) -> None:
    with pytest.raises(InvalidInstallCode) as caught:
        check_install_code(typed, IEEE)

    error = caught.value
    assert (error.code, error.retryable) == (ErrorCode.ZIGBEE_INVALID_INSTALL_CODE, False)
    if reason is not None:
        assert error.details["reason"] == reason
    assert_masked(error, typed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("simulated", RadioSpec(SIMULATED)),
        ("znp:/dev/ttyUSB0", RadioSpec("znp", "/dev/ttyUSB0")),
        ("EZSP:socket://10.0.0.5:6638", RadioSpec("ezsp", "socket://10.0.0.5:6638")),
        ("deconz:/dev/ttyACM0", RadioSpec("deconz", "/dev/ttyACM0")),
    ],
)
def test_radio_is_read_as_kind_and_port(text: str, expected: RadioSpec) -> None:
    assert parse_radio(text) == expected


@pytest.mark.parametrize("text", ["", "znp", "ezsp:"])
def test_radio_without_kind_or_port_is_refused(text: str) -> None:
    with pytest.raises(ZigbeeRadioUnavailable):
        parse_radio(text)


@pytest.mark.parametrize(
    ("kind", "package"),
    [("znp", "zigpy-znp"), ("ezsp", "bellows"), ("deconz", "zigpy-deconz")],
)
def test_missing_radio_library_names_the_package_to_install(kind: str, package: str) -> None:
    module = {"znp": "zigpy_znp", "ezsp": "bellows", "deconz": "zigpy_deconz"}[kind]
    if importlib.util.find_spec(module) is not None:
        assert load_controller(RadioSpec(kind, "/dev/null")).__name__ == "ControllerApplication"
        return

    with pytest.raises(ZigbeeRadioUnavailable) as caught:
        load_controller(RadioSpec(kind, "/dev/ttyUSB0"))

    assert caught.value.code is ErrorCode.ZIGBEE_RADIO_UNAVAILABLE
    assert package in caught.value.message
    assert f"devprov[zigbee-{kind}]" in caught.value.message


def test_unknown_radio_kind_lists_the_known_ones() -> None:
    with pytest.raises(ZigbeeRadioUnavailable, match="known: simulated, deconz, ezsp, znp"):
        load_controller(RadioSpec("xbee3000", "/dev/ttyUSB0"))


@pytest.mark.parametrize(
    "text",
    [
        "00:12:4B:00:25:00:00:01",
        "00124b0025000001",
        "0x00124B0025000001",
        "00-12-4b-00-25-00-00-01",
    ],
)
def test_ieee_addresses_are_normalized(text: str) -> None:
    assert normalize_ieee(text) == IEEE


@pytest.mark.parametrize("text", ["", "00:12:4b", "zz:12:4b:00:25:00:00:01", "00124b00250000011"])
def test_malformed_ieee_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="IEEE"):
        normalize_ieee(text)
