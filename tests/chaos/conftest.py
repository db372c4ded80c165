"""Fixtures of the chaos tests: a killable stack per test, and the session's seed."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from simulators.http_wifi import SimulatedWifiDevice
from simulators.wifi_cloud import CloudConfig
from tests.chaos.harness import ChaosStack, chaos_seed

StackFactory = Callable[..., Awaitable[ChaosStack]]


@pytest.fixture(scope="session")
def seed() -> int:
    value = chaos_seed()
    print(f"chaos seed: {value} (replay with DEVPROV_CHAOS_SEED={value})")
    return value


@pytest.fixture
def rng(seed: int, request: pytest.FixtureRequest) -> random.Random:
    """Random choices of one test, reproducible from the session's seed."""
    return random.Random(f"{seed}/{request.node.name}")


@pytest.fixture
async def chaos_stack(tmp_path: Path) -> AsyncIterator[StackFactory]:
    """Build and start a ChaosStack; every process it started is stopped afterwards."""
    started: list[ChaosStack] = []

    async def build(
        devices: list[SimulatedWifiDevice],
        cloud: CloudConfig | None = None,
        policy_env: dict[str, str] | None = None,
    ) -> ChaosStack:
        stack = ChaosStack(
            tmp=tmp_path / uuid.uuid4().hex[:6],
            devices=devices,
            cloud_config=cloud or CloudConfig(auto_checkin_delay=0.3),
        )
        if policy_env is not None:
            stack.policy_env.update(policy_env)
        started.append(stack)
        await stack.start()
        return stack

    try:
        yield build
    finally:
        for stack in started:
            await stack.close()
