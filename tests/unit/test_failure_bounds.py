"""Failures stay small whatever a peer sends (issue 9).

Temporal keeps a retrying activity's last failure only while it is under 4 KB
(`limit.mutableStateActivityFailureSize.error`); a larger one becomes "Failure exceeds
size limit." without its type. These tests encode the failures the activity boundary
builds with the workers' own data converter (encrypted, message and stack trace in the
encoded attributes) and measure them.
"""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from activities.error_boundary import (
    DETAILS_OMITTED,
    STACK_FRAMES,
    bounded_details,
    to_application_error,
    unexpected_failure,
)
from adapters.errors import MESSAGE_BYTES, AdapterError, clip
from adapters.wifi_cloud import CloudUnavailable, WifiCloudAdapter
from connection.codec import data_converter
from domain.errors import ErrorCode
from tests.conftest import TEST_KEY_RING

MEGABYTES = 5 * 1024 * 1024
FAILURE_BUDGET = 3 * 1024
"""What the boundary's failure may take encoded, leaving room under Temporal's 4 KB for
the frames the worker adds above the activity."""


def json_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


async def encoded(error: BaseException) -> Failure:
    """`error` as the worker sends it to Temporal."""
    failure = Failure()
    await data_converter(TEST_KEY_RING).encode_failure(error, failure)
    return failure


async def decoded(failure: Failure) -> ApplicationError:
    error = await data_converter(TEST_KEY_RING).decode_failure(failure)
    assert isinstance(error, ApplicationError)
    return error


def raised(error: BaseException, cause: BaseException | None = None) -> BaseException:
    """`error` with a traceback and a cause, as a caught exception has them."""
    try:
        raise error from cause
    except BaseException as caught:
        return caught


async def boundary_failure(error: AdapterError) -> ApplicationError:
    """What the activity boundary raises for `error`, with the traceback it gets."""
    try:
        raise to_application_error(error) from None
    except ApplicationError as failure:
        return failure


@pytest.mark.parametrize(
    "text",
    ["x" * MEGABYTES, '"' * 10_000, "\\" * 10_000, "\x00" * 10_000, "😀" * 10_000, "\ud800" * 99],
    ids=["ascii", "quotes", "backslashes", "control", "emoji", "lone-surrogates"],
)
def test_clip_bounds_peer_text_once_json_encoded_and_marks_the_cut(text: str) -> None:
    clipped = clip(text, 300)

    assert json_bytes(clipped) <= 300
    assert clipped.encode()  # valid UTF-8: lone surrogates are replaced
    if len(text) > 100:
        assert clipped.endswith(" chars]")


def test_clip_keeps_short_clean_text_as_it_is() -> None:
    assert clip("device_not_found") == "device_not_found"
    assert clip("line one\nline two") == "line one line two"


def test_bounded_details_keep_the_facts_in_order_and_count_what_did_not_fit() -> None:
    details = {"endpoint": "deregister_device", "device_id": "plug-1"}
    details |= {f"echo_{n}": "y" * MEGABYTES for n in range(50)}

    bounded = bounded_details(details)

    assert list(bounded)[:2] == ["endpoint", "device_id"]
    assert bounded["endpoint"] == "deregister_device"
    assert int(bounded[DETAILS_OMITTED]) >= 40
    assert sum(json_bytes(k) + json_bytes(v) for k, v in bounded.items()) < 1024


async def test_an_adapter_error_with_megabytes_of_peer_text_stays_small_and_keeps_its_code() -> (
    None
):
    transport_error = raised(httpx.RemoteProtocolError("peer said " + "z" * MEGABYTES))
    error = raised(
        CloudUnavailable(
            "deregister_device: HTTP 503: " + "m" * MEGABYTES,
            retry_after=2,
            details={"endpoint": "deregister_device", "cloud_error": "e" * MEGABYTES}
            | {f"k{n}" * 1000: "v" * MEGABYTES for n in range(30)},
        ),
        transport_error,
    )
    assert isinstance(error, CloudUnavailable)

    failure = await encoded(await boundary_failure(error))
    back = await decoded(failure)

    assert failure.ByteSize() < FAILURE_BUDGET
    assert not failure.HasField("cause")
    assert back.type == ErrorCode.CLOUD_UNAVAILABLE.value
    assert not back.non_retryable
    assert back.message.startswith("deregister_device: HTTP 503: mmm")
    assert back.message.endswith(" chars]")
    assert back.details[0]["endpoint"] == "deregister_device"
    assert back.details[0][DETAILS_OMITTED]


async def test_the_failure_stack_trace_shows_where_the_adapter_raised() -> None:
    def deep(level: int) -> None:
        if level == 0:
            raise CloudUnavailable("deregister_device: connection dropped")
        deep(level - 1)

    try:
        deep(200)
    except CloudUnavailable as error:
        failure = await encoded(await boundary_failure(error))

    back = await decoded(failure)
    assert failure.ByteSize() < FAILURE_BUDGET
    assert back.failure is not None
    assert "raise CloudUnavailable" in back.failure.stack_trace
    assert back.failure.stack_trace.count("in deep") == STACK_FRAMES
    assert "deep(200)" not in back.failure.stack_trace


def test_an_adapter_error_message_is_clipped_at_construction_for_logs_too() -> None:
    error = AdapterError("the device said " + "q" * MEGABYTES)

    assert json_bytes(error.message) <= MESSAGE_BYTES
    assert json_bytes(str(error)) <= MESSAGE_BYTES
    assert len(repr(error)) < 2 * MESSAGE_BYTES


async def test_a_stray_exception_keeps_its_class_name_as_type_and_stays_small() -> None:
    error = raised(ValueError("bad " + "v" * MEGABYTES), raised(KeyError("k" * MEGABYTES)))
    assert isinstance(error, ValueError)

    try:
        raise unexpected_failure(error) from None
    except ApplicationError as failure:
        encoded_failure = await encoded(failure)

    back = await decoded(encoded_failure)
    assert encoded_failure.ByteSize() < FAILURE_BUDGET
    assert back.type == "ValueError"
    assert not back.non_retryable


def _hostile_cloud(request: httpx.Request) -> httpx.Response:
    """A cloud answering megabytes: an error body, or a 201 whose keys are megabytes."""
    if request.url.path == "/v1/devices":
        body = {
            "device_id": "plug-1",
            "credential_id": "c1",
            "registered_at": "2026-01-01T00:00:00Z",
            "attributes": {"a" * MEGABYTES: 1},
        }
        return httpx.Response(201, json=body)
    body = {"error": "e" * MEGABYTES, "message": '"\\\x00😀' * MEGABYTES}
    return httpx.Response(503, json=body, headers={"Retry-After": "1"})


@pytest.mark.parametrize("call", ["deregister", "register_device"])
async def test_a_cloud_answering_megabytes_gives_a_small_failure_with_its_code(call: str) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_hostile_cloud)) as http:
        cloud = WifiCloudAdapter(http, "http://cloud.test", SecretStr("api-key"))
        calling = (
            cloud.deregister("plug-1", "key-1/deregister")
            if call == "deregister"
            else cloud.register_device("plug-1", {}, SecretStr("token"), "key-1/register")
        )
        with pytest.raises(AdapterError) as caught:
            await calling

    failure = await encoded(await boundary_failure(caught.value))
    back = await decoded(failure)

    expected = (
        ErrorCode.CLOUD_UNAVAILABLE if call == "deregister" else ErrorCode.CLOUD_PROTOCOL_ERROR
    )
    assert back.type == expected.value
    assert failure.ByteSize() < FAILURE_BUDGET
    assert json_bytes(back.message) <= MESSAGE_BYTES
