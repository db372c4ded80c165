"""Step policies from the TOML file and environment overrides."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.common import RetryPolicy

from config.policies import PolicyConfigError, load_policy_book
from domain.policies import PolicySection
from domain.states import Step
from strategies.family import DeviceFamily
from strategies.http_wifi import HttpWifiStrategy
from workflows.activity_options import activity_options


def family_with(policy: PolicySection) -> DeviceFamily:
    """A family named `slow-wifi` (its strategy is not used here) declaring `policy`."""
    return DeviceFamily(name="slow-wifi", strategy=HttpWifiStrategy, workflow="x:Y", policy=policy)


SLOW_CONFIRM = PolicySection(
    steps={Step.CONFIRM: {"start_to_close": "5m", "retry": {"maximum_attempts": 9}}},
    waits={"device_wait": "1h"},
)


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


def test_each_shipped_family_declares_its_own_policy_over_the_shared_defaults() -> None:
    book = load_policy_book(environ={})

    assert book.for_strategy("improv-ble").for_step(Step.PROVISION).start_to_close == timedelta(
        minutes=2
    )
    zigbee_provision = book.for_strategy("zigbee").for_step(Step.PROVISION)
    assert zigbee_provision.start_to_close == timedelta(minutes=3)
    assert zigbee_provision.retry.maximum_attempts == 3
    # What a family leaves out keeps the shared default, field by field.
    assert book.for_strategy("zigbee").for_step(Step.DETECT).start_to_close == timedelta(seconds=10)


def test_a_family_declares_its_policy_in_its_descriptor() -> None:
    policy = load_policy_book(environ={}, families=[family_with(SLOW_CONFIRM)]).for_strategy(
        "slow-wifi"
    )

    confirm = policy.for_step(Step.CONFIRM)
    assert confirm.start_to_close == timedelta(minutes=5)
    assert confirm.retry.maximum_attempts == 9
    assert confirm.retry.initial_interval == timedelta(seconds=2)  # the shared default's
    assert confirm.heartbeat == timedelta(seconds=5)  # the shared default's
    assert policy.waits.device_wait == timedelta(hours=1)
    assert policy.waits.network_wait == timedelta(hours=24)


def test_environment_and_policy_file_override_a_familys_own_policy(tmp_path: Path) -> None:
    path = tmp_path / "policies.toml"
    path.write_text('[strategies.slow-wifi.steps.confirm]\nstart_to_close = "7m"\n')

    policy = load_policy_book(
        environ={
            "DEVPROV_POLICY_FILE": str(path),
            "DEVPROV_POLICY__STRATEGIES__SLOW_WIFI__WAITS__DEVICE_WAIT": "2m",
        },
        families=[family_with(SLOW_CONFIRM)],
    ).for_strategy("slow-wifi")

    assert policy.for_step(Step.CONFIRM).start_to_close == timedelta(minutes=7)
    assert policy.for_step(Step.CONFIRM).retry.maximum_attempts == 9  # the family's
    assert policy.waits.device_wait == timedelta(minutes=2)


def test_a_shared_default_from_the_environment_leaves_a_familys_own_value() -> None:
    book = load_policy_book(
        environ={"DEVPROV_POLICY__DEFAULTS__STEPS__CONFIRM__START_TO_CLOSE": "90s"}
    )

    assert book.for_strategy("http-wifi").for_step(Step.CONFIRM).start_to_close == timedelta(
        seconds=45
    )
    assert book.for_strategy("other").for_step(Step.CONFIRM).start_to_close == timedelta(seconds=90)


def test_invalid_family_policy_names_the_family() -> None:
    broken = family_with(PolicySection(steps={Step.CONFIRM: {"heartbeat": "often"}}))

    with pytest.raises(PolicyConfigError, match=r"slow-wifi"):
        load_policy_book(environ={}, families=[broken])


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

    book = load_policy_book(environ={"DEVPROV_POLICY_FILE": str(path)})

    assert book.for_strategy("x").for_step(Step.DETECT).start_to_close == timedelta(minutes=1)
    # The packaged defaults are gone; the families' own policies stay.
    assert book.for_strategy("x").for_step(Step.CONFIRM).start_to_close == timedelta(seconds=30)
    assert book.for_strategy("http-wifi").for_step(Step.CONFIRM).start_to_close == timedelta(
        seconds=45
    )


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
