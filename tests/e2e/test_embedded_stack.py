"""`make run`'s stack as a user meets it: one process, real server, real HTTP, the CLI.

The stack takes seconds to start: the installer's path (scan, provision every example
with the CLI, restart) shares one; the fleet, which needs a quicker failure policy, has
its own.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiobotocore.session import AioSession

from simulators.aws_iot import (
    AWS_EXAMPLE_DEVICE,
    LOCAL_ACCESS_KEY_ID,
    LOCAL_REGION,
    LOCAL_SECRET_ACCESS_KEY,
)
from strategies.family import installed_families
from tests.browser.temporal_ui import CODEC_ERRORS, ENCRYPTED, run_page_text
from tests.e2e.stack import AUTH, EXAMPLES, ROOT, Stack, devprov
from tests.integration.test_secret_scan import spellings
from tests.sse import read_events

STRATEGIES = {family.name for family in installed_families()}
"""Every installed family: `make run` simulates a device of each, and examples/requests
holds a request for one of them at least."""


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    running = Stack(tmp_path / "data")
    try:
        yield running
    finally:
        running.kill()


async def test_the_installers_cli_scans_and_provisions_every_example_and_runs_survive_a_restart(
    stack: Stack,
) -> None:
    assert len(EXAMPLES) >= 1
    banner = await stack.start()
    assert stack.api in banner
    assert f"http://127.0.0.1:{stack.env['DEVPROV_TEMPORAL_UI_PORT']}" in banner

    # A scan through the stack's BLE dongle finds the simulated Improv devices.
    backend = f"bumble-hci:tcp-client:127.0.0.1:{stack.env['DEVPROV_SIMULATOR_BLE_HCI_PORT']}"
    code, out, err = await devprov(
        stack, "scan", "--ble-backend", backend, "--timeout", "3", "--json"
    )
    assert code == 0, err
    found = {json.loads(line)["device_id"] for line in out.splitlines()}
    assert {p.stem for p in EXAMPLES if "improv" in p.read_text()} <= found

    # The CLI provisions every example device, of every strategy, following each run.
    results = await asyncio.gather(
        *(
            devprov(stack, "provision", f.stem, "--request", str(f), "--follow", "--no-input")
            for f in EXAMPLES
        )
    )
    strategies = set()
    for request_file, (code, _, err) in zip(EXAMPLES, results, strict=True):
        assert code == 0, (request_file.name, err)
        for state in ("DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING", "SUCCEEDED"):
            assert state in err, (request_file.name, state, err)
        strategies.add(err.split("strategy ", 1)[1].split()[0])
    assert strategies == STRATEGIES
    code, out, _ = await devprov(stack, "runs", "show", EXAMPLES[0].stem, "--json")
    assert code == 0
    assert json.loads(out)["state"] == "SUCCEEDED"

    await assert_the_local_aws_holds_the_aws_example(stack, banner)
    registered = await in_service_records(stack)
    assert set(registered) == {f.stem for f in EXAMPLES}
    assert all(record["network_ssid"] or record["zigbee_ieee"] for record in registered.values())
    database = stack.data_dir / "registry" / "registry.db"
    assert database.stat().st_mode & 0o777 == 0o600

    device_id = EXAMPLES[0].stem
    listed = subprocess.run(
        [
            "temporal",
            "workflow",
            "list",
            "--address",
            stack.temporal,
            "--query",
            f'DeviceId="{device_id}" AND ProvisioningState="SUCCEEDED"',
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"provision-{device_id}" in listed.stdout
    audit = [json.loads(line) for line in (stack.data_dir / "audit.jsonl").read_text().splitlines()]
    mine = [r for r in audit if r.get("device_id") == device_id]
    assert [r["state"] for r in mine if r["kind"] == "state"][-1] == "SUCCEEDED"
    assert {r["stage"] for r in mine if r["kind"] == "stage"} == {
        "registry",
        "detect",
        "pre_check",
        "provision",
        "confirm",
    }

    async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:
        metrics = (await client.get(f"{stack.api}/metrics")).text
        sdk_port = stack.env["DEVPROV_SDK_METRICS_PORT"]
        sdk_metrics = (await client.get(f"http://127.0.0.1:{sdk_port}/metrics")).text
    assert finished_in(metrics, "SUCCEEDED") == len(EXAMPLES)
    assert "devprov_stage_duration_seconds_bucket" in metrics
    assert "temporal_" in sdk_metrics

    cli_output = "\n".join(out + err for _, out, err in results)
    assert_no_secret_in_clear(stack, metrics, cli_output)

    code, output = await stack.stop()
    assert code == 0, output
    assert "devprov stopped" in output

    await stack.start()
    async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:
        status = await client.get(f"{stack.api}/api/v1/devices/{device_id}/provision")
        again = await client.post(
            f"{stack.api}/api/v1/devices/{device_id}/provision",
            content=EXAMPLES[0].read_bytes(),
            headers={"Content-Type": "application/json"},
        )
    assert status.status_code == 200
    assert json.loads(status.text)["state"] == "SUCCEEDED"
    # The registry survived the restart: every device is still in service, and is not
    # provisioned a second time.
    assert await in_service_records(stack) == registered
    assert (again.status_code, again.json()["code"]) == (409, "DEVICE_IN_SERVICE")
    code, _ = await stack.stop()
    assert code == 0


def finished_in(metrics: str, state: str) -> float:
    """`devprov_runs_finished_total` of one state, summed over the other labels."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("devprov_runs_finished_total{") and f'state="{state}"' in line
    )


async def in_service_records(stack: Stack) -> dict[str, dict[str, object]]:
    """The registry's in-service records, by device id (every page)."""
    records: dict[str, dict[str, object]] = {}
    params = {"state": "IN_SERVICE", "limit": "3"}
    async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:
        while True:
            page = (await client.get(f"{stack.api}/api/v1/devices", params=params)).json()
            records |= {item["device_id"]: item for item in page["items"]}
            if page["next_cursor"] is None:
                return records
            params["cursor"] = page["next_cursor"]


FLEET = ROOT / "examples" / "fleets" / "line-100.json"

QUICK_FAILURE_POLICY = {
    # The line's faulty plugs never join: give up on them in seconds, not minutes.
    "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__CONFIRM__START_TO_CLOSE": "4s",
    "DEVPROV_POLICY__STRATEGIES__HTTP_WIFI__STEPS__CONFIRM__RETRY__MAXIMUM_ATTEMPTS": "1",
}


async def test_fleet_example_provisions_the_line_live_and_reads_decoded_in_the_web_ui(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path / "data", QUICK_FAILURE_POLICY)
    try:
        await stack.start()
        base = f"{stack.api}/api/v1/fleets/line/provision"
        async with httpx.AsyncClient(timeout=120, headers=AUTH) as client:
            started = await client.post(
                base, content=FLEET.read_bytes(), headers={"Content-Type": "application/json"}
            )
            assert started.status_code == 202, started.text
            snapshots = [event.data async for event in read_events(client, f"{base}/events")]
        failed = {failure["device_id"] for failure in snapshots[-1]["failures"]}
        succeeded = next(
            device["device_id"]
            for device in json.loads(FLEET.read_text())["devices"]
            if device["device_id"] not in failed
        )
        ui = f"http://127.0.0.1:{stack.env['DEVPROV_TEMPORAL_UI_PORT']}"
        run_page = await run_page_text(ui, f"provision-{succeeded}", '"state": "SUCCEEDED"')
        code, _ = await stack.stop()
    finally:
        stack.kill()

    final = snapshots[-1]
    assert final["state"] == "COMPLETED"
    assert final["counts"]["SUCCEEDED"] == 90
    assert final["failures_by_code"] == {"NETWORK_JOIN_TIMEOUT": 10}
    assert len(snapshots) > 2
    assert code == 0
    # An operator opening a device's run in the Temporal Web UI of `make run` reads its
    # input and result decoded, with nothing to set up and no codec error.
    assert '"state": "SUCCEEDED"' in run_page
    assert f'"device_id": "{succeeded}"' in run_page
    assert ENCRYPTED not in run_page
    assert not [error for error in CODEC_ERRORS if error in run_page], run_page


def example_secrets() -> set[str]:
    """Every secret the example requests carry (passphrases, install codes)."""
    found: set[str] = set()
    for path in EXAMPLES:
        body = json.loads(path.read_text())
        if body.get("network", {}).get("passphrase"):
            found.add(body["network"]["passphrase"])
        for value in body.get("secrets", {}).values():
            found.add(value)
            found.add(value.replace(" ", "").replace(":", ""))
    return found


async def assert_the_local_aws_holds_the_aws_example(stack: Stack, banner: str) -> None:
    """The banner names the local AWS on a line of its own, and that AWS lists the AWS
    example's thing with an ACTIVE certificate attached (asked with the SDK, not devprov)."""
    aws_url = f"http://127.0.0.1:{stack.env['DEVPROV_AWS_LOCAL_PORT']}"
    assert any("AWS" in line and aws_url in line for line in banner.splitlines()), banner
    async with AioSession().create_client(
        "iot",
        region_name=LOCAL_REGION,
        endpoint_url=aws_url,
        aws_access_key_id=LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
    ) as iot:
        listed = [t["thingName"] for t in (await iot.list_things())["things"]]
        assert listed == [AWS_EXAMPLE_DEVICE]
        [principal] = (await iot.list_thing_principals(thingName=AWS_EXAMPLE_DEVICE))["principals"]
        certificate_id = principal.rpartition("/")[2]
        described = await iot.describe_certificate(certificateId=certificate_id)
        assert described["certificateDescription"]["status"] == "ACTIVE"


def assert_no_secret_in_clear(stack: Stack, metrics: str, cli_output: str) -> None:
    """The secret scan: raw histories (read without the codec), audit log, metrics, and
    what the CLI printed."""
    raw_histories = []
    for path in EXAMPLES:
        shown = subprocess.run(
            [
                "temporal",
                "workflow",
                "show",
                "--address",
                stack.temporal,
                "--workflow-id",
                f"provision-{path.stem}",
                "--output",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        raw_histories.append(shown.stdout)
    surfaces = {
        "raw histories": "\n".join(raw_histories),
        "audit log": (stack.data_dir / "audit.jsonl").read_text(),
        "metrics": metrics,
        "CLI output": cli_output,
    }
    secrets = example_secrets()
    assert len(secrets) >= 2
    secrets.add(LOCAL_SECRET_ACCESS_KEY)  # the AWS SDK's, in the stack's environment
    for secret in secrets:
        for name, text in surfaces.items():
            for form in spellings(secret):
                assert form not in text, f"a secret shows in the {name}"
