"""devprov's payload converter: pydantic JSON, its type adapters kept for the process."""

from __future__ import annotations

from typing import Annotated

from connection.codec import PYDANTIC_DATA_CONVERTER, _type_adapter
from domain.requests import NetworkCredentials


def credentials() -> NetworkCredentials:
    return NetworkCredentials.model_validate({"ssid": "lab", "passphrase": "pass-phrase-1"})


def test_a_new_converter_per_workflow_run_reuses_the_adapters_of_the_runs_before() -> None:
    # The SDK builds a payload converter for each workflow run; a run's payloads must
    # decode the same, without building their type's adapter again.
    [payload] = PYDANTIC_DATA_CONVERTER.payload_converter.to_payloads([credentials()])
    first_run = PYDANTIC_DATA_CONVERTER._new_payload_converter()
    assert first_run.from_payloads([payload], [NetworkCredentials]) == [credentials()]
    built = _type_adapter.cache_info().misses

    for _ in range(3):
        next_run = PYDANTIC_DATA_CONVERTER._new_payload_converter()
        assert next_run is not first_run
        assert next_run.from_payloads([payload], [NetworkCredentials]) == [credentials()]

    assert _type_adapter.cache_info().misses == built


def test_generic_and_unhashable_type_hints_still_decode() -> None:
    converter = PYDANTIC_DATA_CONVERTER.payload_converter
    [listed] = converter.to_payloads([[credentials(), credentials()]])
    assert converter.from_payloads([listed], [list[NetworkCredentials]]) == [
        [credentials(), credentials()]
    ]
    # A hint annotated with a dict is not hashable: decoded with an adapter of its own.
    annotated = Annotated[list[int], {"note": "unhashable"}]
    [numbers] = converter.to_payloads([[1, 2, 3]])
    assert converter.from_payloads([numbers], [annotated]) == [[1, 2, 3]]
    [untyped] = converter.to_payloads([{"ssid": "lab"}])
    assert converter.from_payloads([untyped]) == [{"ssid": "lab"}]
