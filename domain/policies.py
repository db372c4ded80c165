"""Timeouts, heartbeats and retry policies of each lifecycle step.

They are resolved from configuration (see `config.policies`) when a run starts and
travel in the run's input, so a run keeps the policy it started with and replays
deterministically.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TypedDict

from pydantic import BaseModel, ConfigDict, Field

from domain.states import Step


class RetrySpec(BaseModel):
    """Temporal retry policy of one step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = Field(default=2.0, ge=1.0)
    maximum_interval: timedelta = timedelta(seconds=30)
    maximum_attempts: int = Field(default=5, ge=0, description="0 means unlimited.")
    non_retryable_error_types: list[str] = Field(default_factory=list)


class StepPolicy(BaseModel):
    """Activity options of one step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_to_close: timedelta = timedelta(seconds=30)
    schedule_to_close: timedelta | None = None
    heartbeat: timedelta | None = None
    retry: RetrySpec = Field(default_factory=RetrySpec)


class WaitPolicy(BaseModel):
    """Durable waits for people and devices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    network_wait: timedelta = Field(
        default=timedelta(hours=24), description="How long PENDING_NETWORK waits."
    )
    device_wait: timedelta = Field(
        default=timedelta(minutes=10), description="How long WAITING_FOR_DEVICE waits."
    )
    device_poll_interval: timedelta = Field(
        default=timedelta(seconds=5), description="Time between two detection attempts."
    )
    pinned_worker_timeout: timedelta = Field(
        default=timedelta(seconds=30),
        description=(
            "How long a step sent to the edge worker that detected the device may wait for "
            "that worker before the run fails over (detects again elsewhere)."
        ),
    )
    site_worker_timeout: timedelta = Field(
        default=timedelta(minutes=5),
        description=(
            "How long a step sent to the site's shared edge queue may wait for any gateway "
            "of the site: a forward step then counts as a failover (the run undoes the "
            "attempt and starts another), an undo step as one that could not be done."
        ),
    )
    max_failovers: int = Field(
        default=3,
        ge=0,
        description=(
            "Failovers (a step no edge worker took in time) before the run fails with "
            "EDGE_WORKER_LOST."
        ),
    )


class LifecyclePolicy(BaseModel):
    """Every step's options and the waits of one strategy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: dict[Step, StepPolicy] = Field(default_factory=dict)
    waits: WaitPolicy = Field(default_factory=WaitPolicy)

    def for_step(self, step: Step) -> StepPolicy:
        """Policy of `step`, or the built-in default when it is not configured."""
        return self.steps.get(step, StepPolicy())


# ------------------------------------------------------------ a family's policy section
# What a device family's descriptor declares (`strategies.family.DeviceFamily.policy`):
# the same shape and units as a `[strategies.<name>]` section of the policy file, every
# entry optional, durations written as in the file ("500ms", "30s", "5m", "2h", "1d").


class RetrySection(TypedDict, total=False):
    """Retry entries of one step (`RetrySpec`'s fields)."""

    initial_interval: str
    backoff_coefficient: float
    maximum_interval: str
    maximum_attempts: int
    non_retryable_error_types: list[str]


class StepSection(TypedDict, total=False):
    """Activity options of one step (`StepPolicy`'s fields)."""

    start_to_close: str
    schedule_to_close: str
    heartbeat: str
    retry: RetrySection


class WaitSection(TypedDict, total=False):
    """Durable waits (`WaitPolicy`'s fields)."""

    network_wait: str
    device_wait: str
    device_poll_interval: str
    pinned_worker_timeout: str
    site_worker_timeout: str
    max_failovers: int


class PolicySection(TypedDict, total=False):
    """One strategy's policies: what it changes of the `[defaults]` for its steps and
    waits. Entries left out keep the defaults' values, field by field."""

    steps: Mapping[Step, StepSection]
    waits: WaitSection
