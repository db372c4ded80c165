"""Progress of a run: what the query returns and what SSE/WebSocket streams carry."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import Code
from domain.states import ProvisioningState, Step

LEFTOVERS_DOC = (
    "Undo steps that could not be done after their retries (error code ROLLBACK_FAILED): "
    "what the run left on the device or in the cloud, by name."
)


class ProgressEvent(BaseModel):
    """One transition or message of a run; `sequence` increases by one per event."""

    model_config = ConfigDict(frozen=True)

    sequence: int
    state: ProvisioningState
    step: Step
    message: str
    updated_at: datetime
    attempt: int = 1
    error_code: Code | None = None
    details: dict[str, str] = Field(default_factory=dict)


class StreamedEvent(ProgressEvent):
    """One event as the SSE and WebSocket streams carry it: the event and its run."""

    workflow_id: str
    run_id: str = Field(
        description="The run the stream follows. A retry after a run ended starts a new "
        "run under the same workflow id, whose events are numbered from 1 again."
    )
    device_id: str
    strategy: str
    terminal: bool = Field(description="True on the last event: the run has ended.")


class ProgressSnapshot(BaseModel):
    """The whole visible state of a run, served by the workflow's `progress` query."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    device_id: str
    strategy: str
    state: ProvisioningState
    step: Step
    message: str
    updated_at: datetime
    attempt: int = 1
    error_code: Code | None = None
    reasons: list[str] = Field(default_factory=list)
    awaiting: list[str] = Field(
        default_factory=list,
        description=(
            "Human actions the run waits for, e.g. `credentials`, `device`, `retry`, "
            "`client-ble` (the report of the installer's browser)."
        ),
    )
    network_ssid: str | None = None
    leftovers: list[str] = Field(default_factory=list, description=LEFTOVERS_DOC)
    events: list[ProgressEvent] = Field(default_factory=list)

    @property
    def last_sequence(self) -> int:
        """Sequence number of the newest event (0 when there is none)."""
        return self.events[-1].sequence if self.events else 0

    @property
    def finished(self) -> bool:
        """True once the run reached a terminal state."""
        return self.state.is_terminal

    def event_payload(self, event: ProgressEvent, run_id: str) -> dict[str, object]:
        """JSON-ready data of one SSE/WebSocket event: the run context plus the event."""
        return StreamedEvent(
            **event.model_dump(),
            workflow_id=self.workflow_id,
            run_id=run_id,
            device_id=self.device_id,
            strategy=self.strategy,
            terminal=event.state.is_terminal,
        ).model_dump(mode="json")


class ProvisionResult(BaseModel):
    """Outcome a run returns (or carries as failure details)."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    strategy: str
    state: ProvisioningState
    message: str
    attempt: int = 1
    error_code: Code | None = None
    reasons: list[str] = Field(default_factory=list)
    leftovers: list[str] = Field(default_factory=list, description=LEFTOVERS_DOC)
    details: dict[str, str] = Field(default_factory=dict)
