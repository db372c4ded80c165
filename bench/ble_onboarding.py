"""How long one Improv BLE onboarding takes on the virtual link, step by step.

    .venv/bin/python -m bench.ble_onboarding --runs 50

Puts one gateway and N simulated Improv devices on a virtual BLE link, onboards each
device with the real adapter (scan, connect + read state, wait for authorization,
send credentials and wait for the result), and prints the median and 95th percentile
of each step and of the whole. The devices join instantly and need no button press,
so the numbers are the protocol and stack cost alone: add the person's button press
and the device's real join time (seconds) on top.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable

from pydantic import SecretStr

from adapters.ble import VirtualBleRadio, open_ble_stack
from adapters.improv import ImprovBleAdapter
from domain.device import DeviceDescriptor
from domain.requests import NetworkCredentials
from simulators.http_wifi import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from simulators.improv_ble import ImprovDeviceFaults, ImprovDeviceFleet, ImprovDeviceSpec

STEPS = ("scan", "connect + read state", "authorization", "provision", "total")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _timed(timings: dict[str, list[float]], step: str, action: Awaitable[object]) -> None:
    started = time.perf_counter()
    await action
    timings[step].append(time.perf_counter() - started)


async def measure(runs: int) -> dict[str, list[float]]:
    """Onboard `runs` devices one after the other; seconds per step."""
    timings: dict[str, list[float]] = {step: [] for step in STEPS}
    network = NetworkCredentials(
        ssid=LAB_NETWORK_SSID, passphrase=SecretStr(LAB_NETWORK_PASSPHRASE)
    )
    specs = [
        ImprovDeviceSpec(
            device_id=f"bench-{index:03d}",
            join_delay=0.0,
            faults=ImprovDeviceFaults(auto_authorize=True),
        )
        for index in range(runs)
    ]
    async with (
        VirtualBleRadio() as radio,
        ImprovDeviceFleet(radio, specs),
        open_ble_stack("virtual", host_name="bench-gw", radio=radio) as stack,
    ):
        adapter = ImprovBleAdapter(stack)
        for spec in specs:
            device = DeviceDescriptor(
                device_id=spec.device_id,
                type="wifi-light",
                vendor="esphome",
                capabilities=frozenset({"ble", "improv"}),
            )
            started = time.perf_counter()
            await _timed(timings, "scan", adapter.detect(device))
            await _timed(timings, "connect + read state", adapter.read_state(device))
            await _timed(timings, "authorization", adapter.wait_for_authorization(device, 5.0))
            await _timed(timings, "provision", adapter.provision(device, network))
            timings["total"].append(time.perf_counter() - started)
    return timings


def report(timings: dict[str, list[float]]) -> str:
    lines = [f"{'step':<22} {'median':>9} {'p95':>9}"]
    for step in STEPS:
        values = timings[step]
        lines.append(
            f"{step:<22} {statistics.median(values) * 1000:>7.1f}ms "
            f"{_percentile(values, 0.95) * 1000:>7.1f}ms"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="devices to onboard")
    args = parser.parse_args()
    timings = asyncio.run(measure(args.runs))
    print(f"Improv onboarding on the virtual BLE link, {args.runs} devices")
    print(report(timings))


if __name__ == "__main__":
    main()
