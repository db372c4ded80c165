"""Finding runs through Temporal's visibility store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client

from workflows import search_attributes as sa


@dataclass(frozen=True)
class RunFilter:
    """Filters of `devprov runs list`; each one is optional."""

    state: str | None = None
    strategy: str | None = None
    error_code: str | None = None
    site: str | None = None
    device_id: str | None = None
    fleet_id: str | None = None
    running: bool = False

    def query(self) -> str:
        """The visibility query (Temporal's SQL-like list filter)."""
        clauses = [f"{sa.DEVICE_ID.name} IS NOT NULL"]
        for key, value in (
            (sa.PROVISIONING_STATE, self.state),
            (sa.STRATEGY, self.strategy),
            (sa.ERROR_CODE, self.error_code),
            (sa.SITE, self.site),
            (sa.DEVICE_ID, self.device_id),
            (sa.FLEET_ID, self.fleet_id),
        ):
            if value:
                clauses.append(f'{key.name}="{_quoted(value)}"')
        if self.running:
            clauses.append('ExecutionStatus="Running"')
        return " AND ".join(clauses)


def _quoted(value: str) -> str:
    return value.replace("\\\\", "\\\\\\\\").replace('"', '\\\\"')


@dataclass(frozen=True)
class RunRow:
    """One line of `devprov runs list`."""

    workflow_id: str
    run_id: str
    status: str
    state: str
    strategy: str
    site: str
    error_code: str
    started: datetime


async def list_runs(client: Client, run_filter: RunFilter, limit: int) -> list[RunRow]:
    """The newest runs matching `run_filter`, at most `limit`."""
    rows: list[RunRow] = []
    async for execution in client.list_workflows(run_filter.query(), limit=limit):
        attributes = execution.typed_search_attributes
        rows.append(
            RunRow(
                workflow_id=execution.id,
                run_id=execution.run_id,
                status=execution.status.name if execution.status else "UNKNOWN",
                state=attributes.get(sa.PROVISIONING_STATE) or "",
                strategy=attributes.get(sa.STRATEGY) or "",
                site=attributes.get(sa.SITE) or "",
                error_code=attributes.get(sa.ERROR_CODE) or "",
                started=execution.start_time,
            )
        )
    return rows
