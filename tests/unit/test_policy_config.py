"""Step policies from the TOML file and environment overrides."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.common import RetryPolicy

from config.policies import PolicyConfigError, load_policy_book
from domain.states import Step
from workflows.activity_options import activity_options


def test_packaged_defaults_give_every_step_a_policy() -> None:
    policy = load_policy_book(environ={}).for_strategy("http-wifi")

    assert set(policy.steps) == {
        Step.DETECT,
        Step.PRE_CHECK,
        Step.PROVISION,
        Step.CONFIRM,
        Step.ROLLBACK,
    }
    assert policy.waits.network_wait == timedelta(hours=24)


def test_strategy_section_overrides_the_defaults() -> None:
    book = load_policy_book(environ={})

    assert book.for_strategy("http-wifi").for_step(Step.CONFIRM).start_to_close == timedelta(
        seconds=45
    )
    assert book.for_strategy("other").for_step(Step.CONFIRM).start_to_close == timedelta(seconds=60)


def test_environment_overrides_the_file() -> None:
    book = load_policy_book(
        environ={
            "DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__START_TO_CLOSE": "3s",
            "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__WAITS__DEVICE_WAIT": "2m",
            "DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__RETRY__MAXIMUM_ATTEMPTS": "7",
        }
    )
    policy = book.for_strategy("http-wifi")

    assert policy.for_step(Step.DETECT).start_to_close == timedelta(seconds=3)
    assert policy.for_step(Step.DETECT).retry.maximum_attempts == 7
    assert policy.waits.device_wait == timedelta(minutes=2)


def test_policy_file_from_the_environment_replaces_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "policies.toml"
    path.write_text('[defaults.steps.detect]\nstart_to_close = "1m"\n')

    policy = load_policy_book(environ={"DEVPROV_POLICY_FILE": str(path)}).for_strategy("x")

    assert policy.for_step(Step.DETECT).start_to_close == timedelta(minutes=1)


def test_invalid_duration_names_the_entry() -> None:
    with pytest.raises(PolicyConfigError, match=r"detect\.start_to_close"):
        load_policy_book(
            environ={"DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__START_TO_CLOSE": "soon"}
        )


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(PolicyConfigError, match="strategy"):
        load_policy_book(environ={"DEVPROV_POLICY__DEFAULTS__STEPS__DETECT__TIMEOUT": "3s"})


def test_step_policy_becomes_temporal_activity_options() -> None:
    policy = load_policy_book(environ={}).for_strategy("http-wifi").for_step(Step.CONFIRM)

    options = activity_options(policy)

    assert options["start_to_close_timeout"] == timedelta(seconds=45)
    assert options["heartbeat_timeout"] == timedelta(seconds=5)
    assert options["retry_policy"] == RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=3,
    )
