"""Crashes in the middle of many runs: a SIGKILLed worker, a restarted Temporal server.

Whatever step each run is at when its worker dies, every run ends, the device was
configured once, the cloud registered it once with one credential, and nothing is left
orphaned. Sizes: `DEVPROV_CHAOS_RUNS`, `DEVPROV_CHAOS_CRASHES` (`make chaos` raises them);
the random choices replay with `DEVPROV_CHAOS_SEED`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.chaos.conftest import StackFactory
from tests.chaos.harness import IN_FLIGHT, ChaosStack, chaos_size, new_devices
from tests.chaos.outcomes import assert_side_effects_once_and_nothing_orphaned

RUNS = chaos_size("RUNS", 6)
CRASHES = chaos_size("CRASHES", 2)
ALL_SUCCEED = frozenset({"SUCCEEDED"})


async def start_runs_in_waves(
    stack: ChaosStack, http: httpx.AsyncClient, device_ids: list[str]
) -> None:
    """Start the runs a little apart, so that a crash finds them at different steps."""
    for device_id in device_ids:
        await stack.provision(http, device_id)
        await asyncio.sleep(0.15)


async def crash_at_random_steps(
    stack: ChaosStack,
    http: httpx.AsyncClient,
    device_ids: list[str],
    rng: random.Random,
    crash: Callable[[], Awaitable[None]],
) -> list[str]:
    """Wait for some run to be at a randomly chosen step, then crash; `CRASHES` times."""
    chosen = []
    for _ in range(CRASHES):
        step = rng.choice(IN_FLIGHT)
        chosen.append(step)
        await stack.wait_until_some_run_is_in(http, device_ids, step, timeout=15)
        await asyncio.sleep(rng.uniform(0, 0.5))
        await crash()
    return chosen


async def runs_through_crashes(
    stack: ChaosStack,
    device_ids: list[str],
    rng: random.Random,
    crash: Callable[[], Awaitable[None]],
) -> dict[str, str]:
    """Start the runs in waves, `crash` at random steps meanwhile; the final states."""
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        starting = asyncio.create_task(start_runs_in_waves(stack, http, device_ids))
        await crash_at_random_steps(stack, http, device_ids, rng, crash)
        await starting
        await stack.wait_for_every_run_to_close(device_ids, timeout=60 + 6 * RUNS)
        return await stack.final_states(http, device_ids)


@pytest.mark.timeout(900)
async def test_sigkill_of_the_workers_at_random_steps_loses_no_run_and_repeats_no_side_effect(
    chaos_stack: StackFactory, rng: random.Random
) -> None:
    """The edge and the central worker are killed in turn (in a random order), so one
    stack serves both: each crash finds the runs at a step of their own."""
    stack = await chaos_stack(new_devices("kill", RUNS, join_delay=1.0))
    device_ids = [d.device_id for d in stack.devices]
    victims = rng.sample(["edge", "central"], 2)
    killed = {name: 0 for name in victims}

    async def kill_and_restart() -> None:
        victim = victims[sum(killed.values()) % len(victims)]
        killed[victim] += 1
        worker = stack.workers[victim]
        worker.kill()
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        worker.start()
        await worker.wait_ready()

    states = await runs_through_crashes(stack, device_ids, rng, kill_and_restart)

    assert sum(killed.values()) == CRASHES
    for name, kills in killed.items():
        assert stack.workers[name].starts == 1 + kills
    assert_side_effects_once_and_nothing_orphaned(stack, states, allowed=ALL_SUCCEED)


@pytest.mark.timeout(900)
async def test_restarting_the_temporal_server_mid_runs_loses_no_run(
    chaos_stack: StackFactory, rng: random.Random
) -> None:
    stack = await chaos_stack(new_devices("restart", RUNS, join_delay=1.0))
    device_ids = [d.device_id for d in stack.devices]

    async def restart_server() -> None:
        await stack.restart_server(down_for=rng.uniform(0.5, 2.0))

    states = await runs_through_crashes(stack, device_ids, rng, restart_server)

    assert len(states) == RUNS
    assert_side_effects_once_and_nothing_orphaned(stack, states, allowed=ALL_SUCCEED)
