"""Timeouts, heartbeats and retry policies of each lifecycle step.

They are resolved from configuration (see `config.policies`) when a run starts and
travel in the run's input, so a run keeps the policy it started with and replays
deterministically.
"""

from __future__ import annotations

from datetime import timedelta

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
    max_failovers: int = Field(
        default=3, ge=0, description="Failovers to another edge worker before the run fails."
    )


class LifecyclePolicy(BaseModel):
    """Every step's options and the waits of one strategy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: dict[Step, StepPolicy] = Field(default_factory=dict)
    waits: WaitPolicy = Field(default_factory=WaitPolicy)

    def for_step(self, step: Step) -> StepPolicy:
        """Policy of `step`, or the built-in default when it is not configured."""
        return self.steps.get(step, StepPolicy())
