"""Committed histories replay on the current code: changes that break running runs fail CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.__main__ import run as devprov
from cli.replay import load_history_dir, replay_histories
from connection.codec import data_converter
from strategies.family import installed_families
from tests.conftest import TEST_KEY_RING
from tests.workflows.nondeterministic_http_wifi import ChangedHttpWifiWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


SCENARIOS = {
    "http-wifi-rolled-back",
    "http-wifi-cancelled",
    "http-wifi-decommission",
    "http-wifi-reprovision-reset",
    "http-wifi-reprovision-migrate",
    "esp-prov-ble-wrong-secret",
    "improv-ble-client-ble",
    "fleet-cancelled",
    "http-wifi-webhook-events",
    "http-wifi-state-events",
    "webhook-delivery",
}
"""Paths of the shared lifecycle that a recorded run must keep taking on new code (a
rollback, a cancel, a decommissioning, re-provisioning, a family's validation code, the
browser transport, a fleet, webhooks and state-change events): a pin of scenarios, not
of families."""


def test_every_installed_family_has_a_committed_history_of_its_workflow() -> None:
    recorded = {
        history.events[0].workflow_execution_started_event_attributes.workflow_type.name
        for history, _ in load_history_dir(HISTORIES)
    }

    for family in installed_families():
        assert family.make_strategy().spec.workflow in recorded, family.name


def test_the_lifecycle_scenarios_have_committed_histories() -> None:
    assert {path.stem for path in HISTORIES.glob("*.json")} >= SCENARIOS


@pytest.mark.parametrize(
    "history", sorted(p.name for p in HISTORIES.glob("*.json")), ids=lambda name: name
)
async def test_committed_history_replays_on_the_current_code(history: str) -> None:
    histories = [h for h in load_history_dir(HISTORIES) if h[1].endswith(history)]

    [outcome] = await replay_histories(histories, converter=data_converter(TEST_KEY_RING))

    assert outcome.ok, outcome.error


async def test_a_non_deterministic_change_fails_the_replay() -> None:
    histories = [h for h in load_history_dir(HISTORIES) if "http-wifi-happy" in h[1]]

    [outcome] = await replay_histories(
        histories, workflows=[ChangedHttpWifiWorkflow], converter=data_converter(TEST_KEY_RING)
    )

    assert not outcome.ok
    assert "Nondeterminism" in (outcome.error or "")


async def test_devprov_replay_dir_reports_every_history(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Histories recorded with `make run` are encrypted with the tests' key ring.
    monkeypatch.setenv("DEVPROV_CODEC_KEYS", TEST_KEY_RING.dump())
    status = await devprov(["replay", "--dir", str(HISTORIES)])

    printed = capsys.readouterr().out
    assert status == 0
    count = len(list(HISTORIES.glob("*.json")))
    assert f"{count} passed, 0 failed" in printed


SDK_HISTORIES = HISTORIES / "sdk"
"""Histories a worker wrote that do not replay, through a fault of the SDK's worker rather
than of a workflow (docs/reliability.md, "make chaos on 2026-12-05, late")."""


@pytest.mark.xfail(
    strict=True,
    reason="the SDK's worker, cold after a SIGKILL, accepted an update after the commands "
    "of a cancel that came in the same workflow task; a replay accepts it first "
    "(temporalio 1.35.0; see temporalio/sdk-python#1591)",
)
async def test_an_update_accepted_after_a_cancel_on_a_cold_worker_replays() -> None:
    histories = load_history_dir(SDK_HISTORIES)

    [outcome] = await replay_histories(histories, converter=data_converter(TEST_KEY_RING))

    assert outcome.ok, outcome.error
