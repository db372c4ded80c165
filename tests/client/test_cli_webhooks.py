"""`devprov webhooks disable|enable|update|rotate-secret` and `devprov hook get|set|clear`,
against the real API and registry (the same calls as the SDK's)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cli.__main__ import run
from cli.exit_codes import ExitCode
from tests.client.proxy import SeverableProxy, severable_proxy
from tests.client.test_cli_enrollments import Finished
from tests.integration.conftest import (  # noqa: F401  (the pipeline's fixtures)
    ApiClient,
    registered_pipeline,
    simulator,
)

RECEIVER = "https://receiver.example/devprov"


@pytest.fixture
async def api_proxy(
    registered_pipeline: ApiClient,  # noqa: F811
) -> AsyncIterator[SeverableProxy]:
    port = registered_pipeline.server.port
    assert port is not None
    async with severable_proxy(port) as running:
        yield running


async def devprov(
    proxy: SeverableProxy, capsys: pytest.CaptureFixture[str], *args: str
) -> Finished:
    capsys.readouterr()
    command, subcommand, *rest = args
    code = await run([command, subcommand, "--api", proxy.url, *rest])
    out, err = capsys.readouterr()
    return Finished(code, out, err)


def answer(finished: Finished) -> dict[str, Any]:
    assert finished.code == ExitCode.OK, finished.stderr
    decoded: dict[str, Any] = json.loads(finished.stdout)
    return decoded


async def test_an_operator_disables_enables_changes_and_rotates_a_webhook(
    api_proxy: SeverableProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    created = answer(await devprov(api_proxy, capsys, "webhooks", "create", RECEIVER, "--json"))
    webhook_id = created["id"]

    disabled = await devprov(api_proxy, capsys, "webhooks", "disable", webhook_id)
    shown = answer(await devprov(api_proxy, capsys, "webhooks", "show", webhook_id, "--json"))
    enabled = answer(await devprov(api_proxy, capsys, "webhooks", "enable", webhook_id, "--json"))
    updated = answer(
        await devprov(
            api_proxy,
            capsys,
            "webhooks",
            "update",
            webhook_id,
            "--event",
            "run.state_changed",
            "--event",
            "run.failed",
            "--json",
        )
    )
    rotated = await devprov(api_proxy, capsys, "webhooks", "rotate-secret", webhook_id)
    at_once = answer(
        await devprov(
            api_proxy, capsys, "webhooks", "rotate-secret", webhook_id, "--grace", "0", "--json"
        )
    )

    assert disabled.code == ExitCode.OK, disabled.stderr
    assert f"{webhook_id} disabled" in disabled.stderr
    assert shown["enabled"] is False
    assert enabled["enabled"] is True
    assert updated["events"] == ["run.failed", "run.state_changed"]
    assert rotated.code == ExitCode.OK, rotated.stderr
    assert "whsec_" in rotated.stderr
    assert "never shown again" in rotated.stderr
    assert "the old secret signs too until" in rotated.stderr
    assert at_once["secret"].startswith("whsec_")
    assert at_once["secret"] != created["secret"]
    assert at_once["previous_secret_expires_at"] is None


async def test_controls_of_an_unknown_webhook_are_refused_with_its_code(
    api_proxy: SeverableProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = "wh_" + "0" * 24

    finished = [
        await devprov(api_proxy, capsys, "webhooks", command, unknown)
        for command in ("disable", "enable", "rotate-secret")
    ]
    nothing = await devprov(api_proxy, capsys, "webhooks", "update", unknown)

    assert [f.code for f in finished] == [ExitCode.REFUSED] * 3
    assert all("NOT_FOUND" in f.stderr for f in finished)
    assert nothing.code == ExitCode.USAGE


async def test_an_admin_sets_reads_and_clears_the_pre_provisioning_hook(
    api_proxy: SeverableProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://hooks.example/devprov/check"

    before = await devprov(api_proxy, capsys, "hook", "get")
    put = answer(await devprov(api_proxy, capsys, "hook", "set", url, "--json"))
    shown = answer(await devprov(api_proxy, capsys, "pre-provisioning-hook", "get", "--json"))
    cleared = await devprov(api_proxy, capsys, "hook", "clear")
    after = await devprov(api_proxy, capsys, "hook", "get")
    plain = await devprov(api_proxy, capsys, "hook", "set", "http://hooks.example/check")

    assert before.code == ExitCode.REFUSED
    assert "NOT_FOUND" in before.stderr
    assert put["url"] == url
    assert put["secret"].startswith("whsec_")
    assert shown["url"] == url
    assert "secret" not in shown
    assert cleared.code == ExitCode.OK, cleared.stderr
    assert after.code == ExitCode.REFUSED
    assert plain.code == ExitCode.REFUSED
    assert "WEBHOOK_TARGET_NOT_ALLOWED" in plain.stderr
