"""Committed histories replay on the current code: changes that break running runs fail CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.__main__ import run as devprov
from cli.replay import load_history_dir, replay_histories
from connection.codec import data_converter
from tests.conftest import TEST_KEY_RING
from tests.workflows.nondeterministic_http_wifi import ChangedHttpWifiWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def test_every_strategy_has_committed_histories() -> None:
    names = {path.stem for path in HISTORIES.glob("*.json")}

    assert {
        "http-wifi-happy",
        "http-wifi-rolled-back",
        "http-wifi-cancelled",
        "http-wifi-decommission",
        "http-wifi-reprovision-reset",
        "http-wifi-reprovision-migrate",
        "improv-ble-happy-button",
        "esp-prov-ble-happy",
        "esp-prov-ble-wrong-secret",
        "improv-ble-client-ble",
        "zigbee-happy",
        "wifi-cloud-happy",
        "wifi-aws-iot-happy",
        "fleet-cancelled",
        "http-wifi-webhook-events",
        "http-wifi-state-events",
        "webhook-delivery",
    } <= names


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
