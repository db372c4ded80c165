"""The installer's CLI (and so the SDK and coordinator) against `make run`'s stack."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

from tests.e2e.test_embedded_stack import E2E_KEY, EXAMPLES, ROOT, Stack, stack  # noqa: F401

DEVPROV = shutil.which("devprov") or "devprov"


async def devprov(stack: Stack, *args: str) -> tuple[int, str, str]:  # noqa: F811
    env = {**os.environ, "DEVPROV_API_URL": stack.api, "DEVPROV_API_KEY": E2E_KEY}
    process = await asyncio.create_subprocess_exec(
        DEVPROV,
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_cli_provisions_every_example_device_of_every_strategy(
    stack: Stack,  # noqa: F811
) -> None:
    await stack.start()

    results = await asyncio.gather(
        *(
            devprov(stack, "provision", f.stem, "--request", str(f), "--follow", "--no-input")
            for f in EXAMPLES
        )
    )

    strategies = set()
    for request_file, (code, _, err) in zip(EXAMPLES, results, strict=True):
        assert code == 0, (request_file.name, err)
        assert "SUCCEEDED" in err
        strategies.add(err.split("strategy ", 1)[1].split()[0])
    assert strategies == {"http-wifi", "improv-ble", "zigbee", "wifi-cloud", "wifi-aws-iot"}

    code, out, _ = await devprov(stack, "runs", "show", EXAMPLES[0].stem, "--json")
    assert code == 0
    assert json.loads(out)["state"] == "SUCCEEDED"


async def test_a_scan_through_the_stacks_ble_dongle_finds_the_simulated_improv_devices(
    stack: Stack,  # noqa: F811
) -> None:
    await stack.start()
    backend = f"bumble-hci:tcp-client:127.0.0.1:{stack.env['DEVPROV_SIMULATOR_BLE_HCI_PORT']}"

    code, out, err = await devprov(
        stack, "scan", "--ble-backend", backend, "--timeout", "3", "--json"
    )

    assert code == 0, err
    found = {json.loads(line)["device_id"] for line in out.splitlines()}
    improv_examples = {p.stem for p in EXAMPLES if "improv" in Path(p).read_text()}
    assert improv_examples <= found
