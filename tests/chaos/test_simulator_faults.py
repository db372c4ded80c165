"""Faults injected at a steady rate into the simulated devices and cloud.

While many runs go on, the devices time out, drop connections after applying a
configuration, answer 5xx or busy (-114, the device's 429), and the cloud answers 503, 429, drops
requests and loses the answers of changes it made. Every run still ends, either
SUCCEEDED with each side effect applied once or ROLLED_BACK with nothing left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import httpx
import pytest

from simulators.http_wifi import DeviceFaults, SimulatedWifiDevice
from simulators.wifi_cloud import CloudConfig, CloudFaults
from tests.chaos.conftest import StackFactory
from tests.chaos.harness import ChaosStack, chaos_size
from tests.chaos.outcomes import assert_side_effects_once_and_nothing_orphaned

RUNS = chaos_size("FAULT_RUNS", 8)
FAULT_EVERY = chaos_size("FAULT_EVERY", 5)
"""One injected fault for every this many requests, on the devices and on the cloud."""
NEVER_JOINS_EVERY = 4
"""Every fourth device never joins its network: its run must roll back completely."""

FAULT_POLICY_ENV = {
    # A device that never joins is given up after three confirm attempts.
    "DEVPROV_POLICY__STRATEGIES__WIFI_CLOUD__STEPS__CONFIRM__RETRY__MAXIMUM_ATTEMPTS": "3",
}
# Transient faults only: a device that answers garbage does not speak the protocol, and
# the adapter fails such a run at once by design (DEVICE_PROTOCOL_ERROR, not retried).
DEVICE_FAULTS = ("busy", "drop_after_apply", "server_errors", "timeout")
CLOUD_FAULTS = ("server_errors", "server_errors_after_commit", "drop_connections", "throttle")
SUCCEEDED_OR_ROLLED_BACK = frozenset({"SUCCEEDED", "ROLLED_BACK"})


def fault_devices(count: int) -> list[SimulatedWifiDevice]:
    return [
        SimulatedWifiDevice(
            f"fault-{n:04d}",
            join_delay=0.5,
            faults=DeviceFaults(never_joins=n % NEVER_JOINS_EVERY == 0),
        )
        for n in range(count)
    ]


def device_requests(stack: ChaosStack) -> int:
    return sum(sum(d.counters.rpc_calls.values()) for d in stack.devices)


def cloud_requests(stack: ChaosStack) -> int:
    assert stack.cloud is not None
    return sum(stack.cloud.cloud.gateway.requests.values())


async def inject_faults(stack: ChaosStack, rng: random.Random, seen: dict[str, int]) -> None:
    """One fault for every `FAULT_EVERY` requests the devices (or the cloud) received:
    a steady share of the traffic, which a run that keeps trying gets through."""
    assert stack.cloud is not None
    cloud = stack.cloud.cloud
    faulted = {"devices": 0, "cloud": 0}
    while True:
        await asyncio.sleep(0.05)
        if device_requests(stack) // FAULT_EVERY > faulted["devices"]:
            faulted["devices"] += 1
            device = rng.choice(stack.devices)
            fault = rng.choice(DEVICE_FAULTS)
            if fault == "timeout":
                # Longer than the edge's HTTP timeout (2 s), for a moment.
                device.faults = device.faults.model_copy(update={"latency": 2.5})
                await asyncio.sleep(0.3)
                device.faults = device.faults.model_copy(update={"latency": 0.0})
            else:
                current: int = getattr(device.faults, fault)
                device.faults = device.faults.model_copy(update={fault: current + 1})
            seen[fault] = seen.get(fault, 0) + 1
        if cloud_requests(stack) // FAULT_EVERY > faulted["cloud"]:
            faulted["cloud"] += 1
            fault = rng.choice(CLOUD_FAULTS)
            current = getattr(cloud.faults, fault)
            cloud.faults = cloud.faults.model_copy(update={fault: current + 1})
            seen[f"cloud {fault}"] = seen.get(f"cloud {fault}", 0) + 1


async def runs_with_a_dropped_failure(stack: ChaosStack, device_ids: list[str]) -> list[str]:
    """Runs whose history holds Temporal's placeholder for a failure over its size limit
    (a retrying activity's last failure must stay under 4 KB to be kept, code and all)."""
    assert stack.client is not None
    dropped = []
    for device_id in device_ids:
        history = await stack.client.get_workflow_handle(f"provision-{device_id}").fetch_history()
        if "exceeds size limit" in history.to_json():
            dropped.append(device_id)
    return dropped


@pytest.mark.timeout(900)
async def test_steady_device_and_cloud_faults_end_every_run_succeeded_or_fully_rolled_back(
    chaos_stack: StackFactory, rng: random.Random
) -> None:
    stack = await chaos_stack(
        fault_devices(RUNS),
        cloud=CloudConfig(
            auto_checkin_delay=0.3,
            seed=rng.randrange(1 << 30),
            faults=CloudFaults(server_error_rate=0.05, throttle_retry_after=1),
        ),
        policy_env=FAULT_POLICY_ENV,
    )
    device_ids = [d.device_id for d in stack.devices]
    seen: dict[str, int] = {}
    injector = asyncio.create_task(inject_faults(stack, rng, seen))
    try:
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            for device_id in device_ids:
                await stack.provision(http, device_id)
            await stack.wait_for_every_run_to_close(device_ids, timeout=120 + 10 * RUNS)
            injector.cancel()
            states = await stack.final_states(http, device_ids)
    finally:
        injector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await injector

    assert len(seen) >= 4, f"too few kinds of faults were injected: {seen}"
    never_joining = {d.device_id for d in stack.devices if d.faults.never_joins}
    assert {states[d] for d in never_joining} == {"ROLLED_BACK"}, stack.explain(never_joining)
    assert "SUCCEEDED" in {s for d, s in states.items() if d not in never_joining}
    assert_side_effects_once_and_nothing_orphaned(stack, states, allowed=SUCCEEDED_OR_ROLLED_BACK)
    assert await runs_with_a_dropped_failure(stack, device_ids) == []
