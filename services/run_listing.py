"""Finding runs through Temporal's visibility store (for `GET /runs` and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client, WorkflowExecution

from domain.api_models import DecommissionLinks, RunLinks, RunSummary
from domain.registry import RunKind
from domain.run import DECOMMISSION_WORKFLOW_ID_PREFIX
from domain.states import VisibleState
from services.errors import temporal_errors
from workflows import search_attributes as sa

MAX_RUNS = 500
"""The most runs one listing returns."""


@dataclass(frozen=True)
class RunFilter:
    """Filters of a run listing; each one is optional.

    `tenant` limits the listing to one tenant's runs (runs without one are `default`'s).
    """

    state: VisibleState | None = None
    strategy: str | None = None
    error_code: str | None = None
    site: str | None = None
    device_id: str | None = None
    fleet_id: str | None = None
    running: bool = False
    tenant: str | None = None

    def query(self) -> str:
        """The visibility query (Temporal's SQL-like list filter)."""
        clauses = [f"{sa.DEVICE_ID.name} IS NOT NULL"]
        if self.state:
            clauses.append(state_clause(self.state))
        for key, value in (
            (sa.STRATEGY, self.strategy),
            (sa.ERROR_CODE, self.error_code),
            (sa.SITE, self.site),
            (sa.DEVICE_ID, self.device_id),
            (sa.FLEET_ID, self.fleet_id),
        ):
            if value:
                clauses.append(f'{key.name}="{_quoted(value)}"')
        if self.tenant == "default":
            clauses.append(f'({sa.TENANT.name}="default" OR {sa.TENANT.name} IS NULL)')
        elif self.tenant:
            clauses.append(f'{sa.TENANT.name}="{_quoted(self.tenant)}"')
        if self.running:
            clauses.append('ExecutionStatus="Running"')
        return " AND ".join(clauses)


def state_clause(state: VisibleState) -> str:
    """The visibility clause that finds runs in `state`. IN_PROGRESS is every value but
    the others, so that it also finds runs of versions that recorded each exact state."""
    if state is VisibleState.IN_PROGRESS:
        others = ", ".join(f'"{v.value}"' for v in VisibleState if v is not state)
        return f"{sa.PROVISIONING_STATE.name} NOT IN ({others})"
    return f'{sa.PROVISIONING_STATE.name}="{state.value}"'


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _summary(execution: WorkflowExecution) -> RunSummary:
    attributes = execution.typed_search_attributes
    device_id = attributes.get(sa.DEVICE_ID) or ""
    decommission = execution.id.startswith(DECOMMISSION_WORKFLOW_ID_PREFIX)
    return RunSummary(
        workflow_id=execution.id,
        run_id=execution.run_id,
        device_id=device_id,
        strategy=attributes.get(sa.STRATEGY) or "",
        vendor=attributes.get(sa.VENDOR) or "",
        site=attributes.get(sa.SITE) or "",
        state=VisibleState.parse(attributes.get(sa.PROVISIONING_STATE)),
        error_code=attributes.get(sa.ERROR_CODE) or None,
        fleet_id=attributes.get(sa.FLEET_ID),
        kind=RunKind.DECOMMISSION if decommission else RunKind.PROVISION,
        execution_status=execution.status.name if execution.status else "UNKNOWN",
        started_at=execution.start_time,
        closed_at=execution.close_time,
        links=DecommissionLinks.for_device(device_id)
        if decommission
        else RunLinks.for_device(device_id),
    )


async def list_runs(client: Client, run_filter: RunFilter, limit: int) -> list[RunSummary]:
    """The newest runs matching `run_filter`, at most `limit` (capped at `MAX_RUNS`).

    Raises:
        TemporalUnavailable: the visibility store does not answer.
    """
    runs: list[RunSummary] = []
    with temporal_errors("runs"):
        async for execution in client.list_workflows(
            run_filter.query(), limit=max(1, min(limit, MAX_RUNS))
        ):
            runs.append(_summary(execution))
    return runs
