"""The Zigbee strategy's rules, and device secrets in provisioning requests."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr, ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.device import DeviceDescriptor
from domain.requests import ProvisionRequest
from domain.zigbee import ZigbeeDeviceInfo, ZigbeeEndpoint, ZigbeeMembership, ZigbeeNetwork
from strategies.catalog import build_registry
from strategies.zigbee import ZigbeeInspection, ZigbeeStrategy, vendor_matches

RULES = ZigbeeStrategy()
IEEE = "00:12:4b:00:25:1c:2d:02"
CODE = "0EA9 9D36 970B 5E49 0604 9D21 5FB5 CB82 A5F3"
NETWORK = ZigbeeNetwork(
    radio="simulated",
    ready=True,
    formed=True,
    channel=15,
    pan_id="0x1A2B",
    extended_pan_id="dd:dd:dd:dd:dd:dd:dd:dd",
    device_count=3,
    capacity=100,
)


def plug(**changes: object) -> DeviceDescriptor:
    fields: dict[str, object] = {
        "device_id": "zb-plug-office",
        "type": "smart-plug",
        "vendor": "sonoff",
        "model": "S26R2ZB",
        "capabilities": frozenset({"zigbee"}),
        "transport_hints": {"ieee": IEEE},
        **changes,
    }
    return DeviceDescriptor.model_validate(fields)


def found(manufacturer: str = "SONOFF", model: str = "S26R2ZB", *clusters: int) -> ZigbeeDeviceInfo:
    return ZigbeeDeviceInfo(
        ieee=IEEE,
        nwk="0x8ED3",
        interviewed=True,
        manufacturer=manufacturer,
        model=model,
        endpoints=[ZigbeeEndpoint(endpoint_id=1, in_clusters=list(clusters or (0, 3, 6)))],
    )


def inspection(**changes: object) -> ZigbeeInspection:
    fields: dict[str, object] = {"membership": ZigbeeMembership.ABSENT, "network": NETWORK}
    return ZigbeeInspection.model_validate({**fields, **changes})


def test_a_zigbee_device_with_its_ieee_address_selects_the_zigbee_strategy() -> None:
    assert build_registry().select(plug()).name == "zigbee"


@pytest.mark.parametrize(
    ("hints", "expected"),
    [({}, "missing transport hint 'ieee'"), ({"ieee": "00:12"}, "IEEE address is 8 bytes")],
)
def test_a_zigbee_device_without_a_usable_ieee_address_is_not_served(
    hints: dict[str, str], expected: str
) -> None:
    reasons = RULES.mismatches(plug(transport_hints=hints))

    assert any(expected in reason for reason in reasons), reasons


def test_pre_check_passes_a_usable_code_for_a_device_not_yet_on_the_network() -> None:
    assert RULES.pre_check(inspection(), has_install_code=True).passed


def test_pre_check_passes_a_stale_entry_that_will_be_replaced() -> None:
    verdict = RULES.pre_check(
        inspection(membership=ZigbeeMembership.UNRESPONSIVE), has_install_code=True
    )

    assert verdict.passed


@pytest.mark.parametrize(
    ("changes", "has_code", "expected"),
    [
        ({}, False, "no install code"),
        ({"install_code_problem": "the CRC does not match"}, True, "install code: the CRC"),
        ({"membership": ZigbeeMembership.JOINED}, True, "already on this coordinator"),
        (
            {"network": NETWORK.model_copy(update={"device_count": 100})},
            True,
            "full (100 of 100 devices)",
        ),
        ({"network": NETWORK.model_copy(update={"formed": False})}, True, "has no network"),
    ],
    ids=["no-code", "bad-code", "already-joined", "full", "no-network"],
)
def test_pre_check_rejects(changes: dict[str, object], has_code: bool, expected: str) -> None:
    verdict = RULES.pre_check(inspection(**changes), has_install_code=has_code)

    assert not verdict.passed
    assert any(expected in reason for reason in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    ("vendor", "manufacturer", "matches"),
    [
        ("ikea", "IKEA of Sweden", True),
        ("sonoff", "SONOFF", True),
        ("aqara", "LUMI", True),
        ("philips", "Signify Netherlands B.V.", True),
        ("ikea", "SONOFF", False),
        ("sonoff", None, False),
    ],
)
def test_vendor_matches_the_manufacturer_devices_report(
    vendor: str, manufacturer: str | None, matches: bool
) -> None:
    assert vendor_matches(vendor, manufacturer) is matches


def test_identity_matching_the_request_has_no_mismatch() -> None:
    assert RULES.identity_mismatches(plug(model="s26r2zb"), found()) == []


def test_identity_mismatches_name_what_differs() -> None:
    reasons = RULES.identity_mismatches(
        plug(vendor="ikea", model="TRADFRI bulb E27 WS opal 1000lm"), found()
    )

    assert reasons == [
        "manufacturer is 'SONOFF', not vendor 'ikea'",
        "model is 'S26R2ZB', the request says 'TRADFRI bulb E27 WS opal 1000lm'",
    ]


def test_reporting_covers_the_clusters_the_device_has() -> None:
    rules = RULES.reporting_for(found("LUMI", "lumi.sensor_motion.aq2", 0x0000, 0x0001, 0x0406))

    assert [(r.cluster_id, r.attribute) for r in rules] == [
        (0x0406, "occupancy"),
        (0x0001, "battery_percentage_remaining"),
    ]


# --- secrets in requests ----------------------------------------------------------------


def test_request_secrets_are_masked_but_survive_the_temporal_converter() -> None:
    request = ProvisionRequest(device=plug(), secrets={"install_code": SecretStr(CODE)})

    payloads = asyncio.run(pydantic_data_converter.encode([request]))
    (decoded,) = asyncio.run(pydantic_data_converter.decode(payloads, [ProvisionRequest]))

    assert decoded.secret("install_code") == CODE
    assert CODE not in repr(decoded)
    assert CODE not in str(decoded.model_dump())
    assert decoded.secret("pin") is None


@pytest.mark.parametrize(
    "secrets",
    [{"Install-Code": "x"}, {f"s{i}": "x" for i in range(9)}, {"install_code": "x" * 513}],
    ids=["bad-name", "too-many", "too-long"],
)
def test_request_secrets_are_few_named_and_small(secrets: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as caught:
        ProvisionRequest.model_validate({"device": plug().model_dump(), "secrets": secrets})

    assert [error["loc"][0] for error in caught.value.errors()] == ["secrets"]
