"""Replaying workflow histories against the current code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from connection.codec import PYDANTIC_DATA_CONVERTER
from workflows.catalog import all_workflows


@dataclass(frozen=True)
class ReplayOutcome:
    """The replay of one history: `error` is None when the current code agrees with it."""

    workflow_id: str
    source: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def replayer(
    workflows: list[type] | None = None, converter: DataConverter | None = None
) -> Replayer:
    """A replayer of devprov's workflows (or of `workflows`), with devprov's converter."""
    return Replayer(
        workflows=all_workflows() if workflows is None else workflows,
        data_converter=converter or PYDANTIC_DATA_CONVERTER,
    )


async def replay_histories(
    histories: list[tuple[WorkflowHistory, str]],
    workflows: list[type] | None = None,
    converter: DataConverter | None = None,
) -> list[ReplayOutcome]:
    """Replay each history; a non-determinism or workflow-task failure is an error.

    `converter` must be able to decode the histories (devprov's, with the key ring of
    the cluster that wrote them); unencrypted histories decode with any of them.
    """
    outcomes: list[ReplayOutcome] = []
    replay = replayer(workflows, converter)
    for history, source in histories:
        result = await replay.replay_workflow(history, raise_on_replay_failure=False)
        error = result.replay_failure
        outcomes.append(
            ReplayOutcome(
                workflow_id=history.workflow_id,
                source=source,
                error=f"{type(error).__name__}: {error}" if error is not None else None,
            )
        )
    return outcomes


def load_history_dir(directory: Path) -> list[tuple[WorkflowHistory, str]]:
    """The committed histories in `directory` (`<workflow id>.json` each)."""
    files = sorted(directory.glob("*.json"))
    return [(WorkflowHistory.from_json(f.stem, f.read_text()), str(f)) for f in files]


async def fetch_history(client: Client, workflow_id: str, run_id: str | None) -> WorkflowHistory:
    """A run's history from the server (the latest run when `run_id` is None)."""
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
