"""Secrets survive the data converter but are masked everywhere people look."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.requests import NetworkCredentials, ProvisionRequest

PASSPHRASE = "correct-horse-battery"


def credentials() -> NetworkCredentials:
    return NetworkCredentials.model_validate({"ssid": "lab", "passphrase": PASSPHRASE})


async def test_passphrase_survives_the_temporal_payload_converter() -> None:
    payloads = await pydantic_data_converter.encode([credentials()])
    [decoded] = await pydantic_data_converter.decode(payloads, [NetworkCredentials])

    assert decoded.passphrase.get_secret_value() == PASSPHRASE


def test_passphrase_is_masked_in_repr_and_str() -> None:
    request = ProvisionRequest.model_validate(
        {
            "device": {"device_id": "d", "type": "t", "vendor": "v"},
            "network": {"ssid": "lab", "passphrase": PASSPHRASE},
        }
    )

    assert PASSPHRASE not in repr(request)
    assert PASSPHRASE not in str(request)
    assert PASSPHRASE not in str(request.model_dump())


def test_passphrase_shorter_than_wpa_minimum_is_refused() -> None:
    with pytest.raises(ValidationError, match="8 to 63"):
        NetworkCredentials.model_validate({"ssid": "lab", "passphrase": "short"})


def test_open_network_takes_an_empty_passphrase() -> None:
    assert NetworkCredentials.model_validate({"ssid": "cafe", "passphrase": ""}).ssid == "cafe"
