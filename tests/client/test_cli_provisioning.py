"""`devprov provision`, `runs show` and `cancel` through the real entry point."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from simulators.http_wifi import RunningSimulator, SimulatedWifiDevice
from simulators.http_wifi.device import DeviceFaults
from tests.client.proxy import SeverableProxy, severable_proxy
from tests.integration.conftest import NETWORK, ApiClient, request_body

DEVPROV = shutil.which("devprov") or "devprov"


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str


async def devprov(proxy: SeverableProxy, *args: str, stdin: str = "") -> Finished:
    env = {**os.environ, "DEVPROV_API_URL": proxy.url, "COLUMNS": "200"}
    env.pop("DEVPROV_API_KEY", None)
    process = await asyncio.create_subprocess_exec(
        DEVPROV,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


def request_file(tmp_path: Path, site: str, **kwargs: object) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request_body(site, **kwargs)))  # type: ignore[arg-type]
    return path


async def test_provision_follow_shows_the_timeline_and_exits_0_on_success(
    proxy: SeverableProxy, device: SimulatedWifiDevice, site: str, tmp_path: Path
) -> None:
    request = request_file(tmp_path, site)

    done = await devprov(
        proxy, "provision", device.device_id, "--request", str(request), "--follow"
    )

    assert done.code == 0, done.stderr
    assert "strategy http-wifi" in done.stderr
    for state in ("DETECTING", "PROVISIONING", "CONFIRMING", "SUCCEEDED"):
        assert state in done.stderr
    assert NETWORK["passphrase"] not in done.stdout + done.stderr


async def test_provision_asks_for_credentials_and_never_shows_the_passphrase(
    proxy: SeverableProxy, device: SimulatedWifiDevice, site: str, tmp_path: Path
) -> None:
    request = request_file(tmp_path, site, network=None)
    answers = f"{NETWORK['ssid']}\n{NETWORK['passphrase']}\n"

    done = await devprov(
        proxy, "provision", device.device_id, "--request", str(request), "--follow", stdin=answers
    )

    assert done.code == 0, done.stderr
    assert "PENDING_NETWORK" in done.stderr
    assert "Wi-Fi network (SSID)" in done.stderr
    assert device.sta.ssid == NETWORK["ssid"]
    assert NETWORK["passphrase"] not in done.stdout + done.stderr


async def test_a_rolled_back_run_exits_4_without_asking_when_told_not_to(
    proxy: SeverableProxy, device: SimulatedWifiDevice, site: str, tmp_path: Path
) -> None:
    device.faults = DeviceFaults(never_joins=True)
    request = request_file(tmp_path, site)

    done = await devprov(
        proxy, "provision", device.device_id, "--request", str(request), "--follow", "--no-input"
    )

    assert done.code == 4, done.stderr
    assert "ROLLED_BACK" in done.stderr
    assert device.counters.factory_resets >= 1


async def test_an_unsupported_device_exits_3_with_each_strategys_reasons(
    proxy: SeverableProxy, tmp_path: Path
) -> None:
    request = tmp_path / "toaster.json"
    request.write_text(json.dumps({"device": {"type": "toaster", "vendor": "acme"}}))

    done = await devprov(proxy, "provision", "toaster-1", "--request", str(request), "--follow")

    assert done.code == 3
    assert "UNSUPPORTED_DEVICE" in done.stderr
    assert "http-wifi:" in done.stderr


async def test_an_invalid_request_file_exits_2_naming_the_field(
    proxy: SeverableProxy, tmp_path: Path
) -> None:
    request = tmp_path / "bad.json"
    request.write_text(json.dumps({"device": {"type": "Not A Token", "vendor": "acme"}}))

    done = await devprov(proxy, "provision", "dev-1", "--request", str(request))

    assert done.code == 2
    assert "device.type" in done.stderr


async def test_runs_show_and_cancel_act_on_a_waiting_run(
    proxy: SeverableProxy, device: SimulatedWifiDevice, site: str, tmp_path: Path
) -> None:
    request = request_file(tmp_path, site, network=None)
    started = await devprov(proxy, "provision", device.device_id, "--request", str(request))
    assert started.code == 0, started.stderr
    assert json.loads(started.stdout)["workflow_id"] == f"provision-{device.device_id}"

    for _ in range(100):
        shown = await devprov(proxy, "runs", "show", device.device_id, "--json")
        if json.loads(shown.stdout)["state"] == "PENDING_NETWORK":
            break
    assert json.loads(shown.stdout)["awaiting"] == ["credentials", "retry"]

    cancelled = await devprov(proxy, "cancel", device.device_id)
    assert cancelled.code == 0, cancelled.stderr
    for _ in range(100):
        shown = await devprov(proxy, "runs", "show", device.device_id, "--json")
        if json.loads(shown.stdout)["execution_status"] != "RUNNING":
            break
    assert json.loads(shown.stdout)["state"] == "CANCELLED"


async def test_runs_show_of_an_unknown_device_exits_3(proxy: SeverableProxy) -> None:
    done = await devprov(proxy, "runs", "show", "never-seen-device")

    assert done.code == 3
    assert "RUN_NOT_FOUND" in done.stderr


async def test_provision_with_reprovision_migrate_moves_a_device_in_service(
    registered_pipeline: ApiClient,
    simulator: RunningSimulator,
    device: SimulatedWifiDevice,
    site: str,
    tmp_path: Path,
) -> None:
    simulator.fleet.set_network("devprov-lab-2", "another-horse-battery")
    path = f"/api/v1/devices/{device.device_id}/provision"
    assert (await registered_pipeline.post(path, json=request_body(site))).status == 202
    async with asyncio.timeout(30):
        while (await (await registered_pipeline.get(path)).json())["state"] != "SUCCEEDED":
            await asyncio.sleep(0.1)
    moved = request_file(
        tmp_path, site, network={"ssid": "devprov-lab-2", "passphrase": "another-horse-battery"}
    )
    port = registered_pipeline.server.port
    assert port is not None

    async with severable_proxy(port) as proxy:
        done = await devprov(
            proxy,
            "provision",
            device.device_id,
            "--request",
            str(moved),
            "--reprovision",
            "migrate",
            "--follow",
        )

    assert done.code == 0, done.stderr
    assert "SUCCEEDED" in done.stderr
    assert (device.sta.ssid, device.sta1.ssid) == ("devprov-lab-2", "devprov-lab")
    assert device.counters.factory_resets == 0
