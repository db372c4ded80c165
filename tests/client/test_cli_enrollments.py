"""`devprov enrollments ...` and the SDK's enrollment calls, against the real pipeline:
API, workers, registry and a simulated device that counts the RPCs it is sent."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.__main__ import run
from cli.exit_codes import ExitCode
from client import DevprovClient, NotEnrolled
from domain.requests import ProvisionRequest
from domain.states import ProvisioningState
from simulators.http_wifi import SimulatedWifiDevice
from tests.client.proxy import SeverableProxy, severable_proxy
from tests.integration.conftest import (  # noqa: F401  (the pipeline's fixtures)
    ApiClient,
    device,
    registered_pipeline,
    request_body,
    simulator,
)

CLAIM_SECRET = "printed-inside-the-lid-0042"


@dataclass(frozen=True)
class Finished:
    code: int
    stdout: str
    stderr: str


async def devprov(
    proxy: SeverableProxy, capsys: pytest.CaptureFixture[str], *args: str
) -> Finished:
    """The CLI, in this process (a subprocess takes seconds to import on a busy machine)."""
    capsys.readouterr()
    command, subcommand, *rest = args
    code = await run([command, subcommand, "--api", proxy.url, *rest])
    out, err = capsys.readouterr()
    return Finished(code, out, err)


@pytest.fixture
async def registered_proxy(
    registered_pipeline: ApiClient,  # noqa: F811
) -> AsyncIterator[SeverableProxy]:
    port = registered_pipeline.server.port
    assert port is not None
    async with severable_proxy(port) as running:
        yield running


def request(device: SimulatedWifiDevice, site: str, secret: str | None) -> ProvisionRequest:  # noqa: F811
    body = request_body(site)
    body["device"] = {**body["device"], "device_id": device.device_id}  # type: ignore[dict-item]
    if secret is not None:
        body["secrets"] = {"claim_secret": secret}
    return ProvisionRequest.model_validate(body)


async def test_a_device_enrolled_by_the_cli_with_a_claim_secret_provisions_only_with_it(
    registered_proxy: SeverableProxy,
    device: SimulatedWifiDevice,  # noqa: F811
    site: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(CLAIM_SECRET + "\n"))
    added = await devprov(
        registered_proxy,
        capsys,
        "enrollments",
        "add",
        device.device_id,
        "--vendor",
        "shelly",
        "--claim-secret-stdin",
    )
    assert added.code == ExitCode.OK, added.stderr
    async with DevprovClient(registered_proxy.url) as sdk:
        await sdk.put_tenant_settings(enrollment_required=True)
        with pytest.raises(NotEnrolled):
            await sdk.start_provisioning(request(device, site, None))
        assert device.counters.rpc_calls == {}

        started = await sdk.start_provisioning(request(device, site, CLAIM_SECRET))
        states = [event.state async for event in sdk.events(device.device_id)]

    assert started.enrollment == f"individual/{device.device_id}"
    assert states[-1] is ProvisioningState.SUCCEEDED
    assert device.counters.rpc_calls  # the device was provisioned once admitted
    assert CLAIM_SECRET not in added.stdout + added.stderr


async def test_the_cli_lists_disables_and_refuses_a_bad_csv_line(
    registered_proxy: SeverableProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("device_id,serial\nplug-a,SN-A\nplug-b,SN-B\n")
    bad.write_text("device_id,mac\nplug-c,aa:bb:cc:dd:ee:ff\nplug-d,nope\n")

    imported = await devprov(registered_proxy, capsys, "enrollments", "import", str(good))
    refused = await devprov(registered_proxy, capsys, "enrollments", "import", str(bad))
    disabled = await devprov(registered_proxy, capsys, "enrollments", "disable", "plug-b")
    listed = await devprov(registered_proxy, capsys, "enrollments", "list", "--json")

    assert imported.code == ExitCode.OK, imported.stderr
    assert refused.code == ExitCode.REFUSED
    assert "body.3.mac" in refused.stderr
    assert disabled.code == ExitCode.OK, disabled.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["device_id"], r["enabled"]) for r in rows] == [("plug-a", True), ("plug-b", False)]
