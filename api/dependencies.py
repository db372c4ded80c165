"""What the API is built from: injected by the launcher, by `python -m api` and by tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from temporalio.client import Client

from api.auth import AuthConfig
from config.policies import PolicyBook
from config.settings import Settings
from domain.run import CENTRAL_TASK_QUEUE
from registry import DeviceRegistry
from strategies.family import DeviceFamily
from strategies.registry import StrategyRegistry


@dataclass(frozen=True)
class ApiDependencies:
    """Everything `create_app` needs; nothing is read from globals.

    Attributes:
        temporal: A connected client with the pydantic data converter.
        registry: Selects the strategy of each device.
        policies: The lifecycle policy each new run starts with.
        settings: Request size limit, SSE poll interval, ...
        task_queue: Task queue of the central workers that run strategy workflows.
        stream_ping_seconds: Keep-alive interval of SSE and WebSocket streams.
        auth: API keys, public paths and per-key limits; None serves without
            authentication (everyone is an admin of tenant `default`) — for tests and
            for an API behind a gateway that authenticates.
        families: The device families whose request schemas and examples the API
            serves and checks requests with; None: the installed families.
        devices: The device registry the central workers' runs write (the inventory,
            tenants' devices, the up-front 409s); None knows no device (tests that
            do not exercise it).
    """

    temporal: Client
    registry: StrategyRegistry
    policies: PolicyBook
    settings: Settings
    task_queue: str = CENTRAL_TASK_QUEUE
    stream_ping_seconds: float = 15.0
    auth: AuthConfig | None = None
    families: Sequence[DeviceFamily] | None = None
    devices: DeviceRegistry | None = None
