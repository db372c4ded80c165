"""Error codes are open: the shared ones are `ErrorCode` members, a family's own are plain
strings its descriptor declares, and both travel the same way — adapter error, failure
type, step failure, progress event, fleet failure, problem body."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from activities.error_boundary import to_application_error, unexpected_failure
from adapters.errors import AdapterError
from domain.api_models import Problem
from domain.errors import ErrorCode, checked_code, is_code
from domain.fleet import FleetDevice, FleetFailure, FleetFailures, FleetMember
from domain.progress import ProgressEvent
from domain.states import ProvisioningState, Step
from strategies.base import StrategySpec
from workflows.failures import failure_from

FAMILY_CODE = "BEACON_ASLEEP"
"""A code no shared module knows, as a family outside this repository would declare it."""


class BeaconAsleep(AdapterError):
    code = FAMILY_CODE
    retryable = True


@pytest.mark.parametrize(
    "text", ["DEVICE_TIMEOUT", "SESSION_AUTH_FAILED", FAMILY_CODE, "NOT_FOUND", "ZIGBEE_2_FAILED"]
)
def test_screaming_snake_case_is_a_code(text: str) -> None:
    assert is_code(text)


@pytest.mark.parametrize(
    "text",
    ["ValueError", "TimeoutError", "OSError", "device_timeout", "_X", "X__Y", "X_", "", "A" * 65],
)
def test_anything_else_is_not(text: str) -> None:
    assert not is_code(text)


def test_from_type_keeps_shared_members_and_family_codes_and_refuses_the_rest() -> None:
    assert ErrorCode.from_type("DEVICE_TIMEOUT") is ErrorCode.DEVICE_TIMEOUT
    assert ErrorCode.from_type(FAMILY_CODE) == FAMILY_CODE
    assert type(ErrorCode.from_type(FAMILY_CODE)) is str
    # An unexpected exception's class name (unexpected_failure's type), or no type.
    for other in ("ValueError", "TimeoutError", "KeyError", "", None):
        assert ErrorCode.from_type(other) is ErrorCode.INTERNAL_ERROR


def test_checked_code_refuses_a_malformed_code() -> None:
    assert checked_code("RUN_NOT_FOUND") is ErrorCode.RUN_NOT_FOUND
    with pytest.raises(ValueError, match="not an error code"):
        checked_code("BeaconAsleep")


def test_an_adapter_error_carries_a_familys_code_to_the_failure_type() -> None:
    failure = to_application_error(BeaconAsleep("the beacon sleeps"))

    assert failure.type == FAMILY_CODE
    assert not failure.non_retryable
    assert repr(BeaconAsleep("x")) == "BeaconAsleep(code=BEACON_ASLEEP, message='x')"
    assert AdapterError("x", code=FAMILY_CODE).code == FAMILY_CODE


def test_an_adapter_error_with_a_malformed_code_fails_where_it_is_written() -> None:
    with pytest.raises(ValueError, match="not an error code"):

        class Sleepy(AdapterError):
            code = "beacon asleep"

    with pytest.raises(ValueError, match="not an error code"):
        AdapterError("x", code="BeaconAsleep")


def test_a_step_fails_with_a_familys_code_and_an_exception_name_is_internal() -> None:
    family = failure_from(ApplicationError("asleep", type=FAMILY_CODE))
    stray = failure_from(unexpected_failure(ValueError("bug")))

    assert (family.code, family.message) == (FAMILY_CODE, "asleep")
    assert stray.code is ErrorCode.INTERNAL_ERROR


def test_models_carry_a_familys_code_and_give_shared_ones_as_members() -> None:
    def event(code: str) -> ProgressEvent:
        return ProgressEvent.model_validate(
            {
                "sequence": 1,
                "state": ProvisioningState.FAILED,
                "step": Step.DONE,
                "message": "m",
                "updated_at": "2026-01-01T00:00:00Z",
                "error_code": code,
            }
        )

    assert event(FAMILY_CODE).error_code == FAMILY_CODE
    assert event("DEVICE_BUSY").error_code is ErrorCode.DEVICE_BUSY
    assert event(FAMILY_CODE).model_dump(mode="json")["error_code"] == FAMILY_CODE
    with pytest.raises(ValidationError, match="pattern"):
        event("ValueError")

    problem = Problem(type="urn:x", title="t", status=409, detail="d", code=FAMILY_CODE)
    assert problem.code == FAMILY_CODE


def test_a_fleet_counts_failures_by_a_familys_code() -> None:
    failures = FleetFailures()
    member = FleetMember(device=FleetDevice(device_id="b1"), strategy="beacon")
    failures.add(FleetFailure(device_id="b1", error_code=FAMILY_CODE, message="m"), member)
    failures.add(FleetFailure(device_id="b2", error_code="DEVICE_BUSY", message="m"), member)

    assert failures.counts_by_code() == {FAMILY_CODE: 1, "DEVICE_BUSY": 1}
    assert all(type(code) is str for code in failures.members_by_code)
    assert FleetFailures.model_validate(failures.model_dump(mode="json")) == failures


def test_a_spec_takes_family_validation_codes_and_refuses_malformed_ones() -> None:
    spec = StrategySpec(
        name="beacon", workflow="W", description="d", validation_codes=frozenset({FAMILY_CODE})
    )

    assert FAMILY_CODE in spec.validation_codes
    with pytest.raises(ValueError, match="not an error code"):
        StrategySpec(name="b", workflow="W", description="d", validation_codes=frozenset({"bad"}))
