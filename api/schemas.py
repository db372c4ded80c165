"""Response bodies of the API that are not domain models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.progress import ProgressSnapshot
from domain.states import ProvisioningState

API_PREFIX = "/api/v1"


class RunLinks(BaseModel):
    """Where to follow and act on a device's run."""

    self: str = Field(description="Status: `GET` the progress snapshot.")
    events: str = Field(description="Server-Sent Events stream of progress.")
    ws: str = Field(description="WebSocket stream of progress.")
    credentials: str = Field(description="`POST` network credentials.")
    retry: str = Field(description="`POST` to start over.")
    cancel: str = Field(description="`POST` to cancel (the device is rolled back).")

    @classmethod
    def for_device(cls, device_id: str) -> RunLinks:
        """Links of the run of `device_id`, relative to the API's origin."""
        base = f"{API_PREFIX}/devices/{device_id}/provision"
        return cls(
            self=base,
            events=f"{base}/events",
            ws=f"{base}/ws",
            credentials=f"{base}/credentials",
            retry=f"{base}/retry",
            cancel=f"{base}/cancel",
        )


class StartedRun(BaseModel):
    """Body of `202 Accepted` when a run starts."""

    workflow_id: str
    run_id: str
    device_id: str
    strategy: str
    state: ProvisioningState = ProvisioningState.PENDING
    links: RunLinks


class RunStatus(ProgressSnapshot):
    """The progress snapshot of a run plus what Temporal says about its execution."""

    run_id: str
    execution_status: str = Field(
        description="Temporal execution status: RUNNING, COMPLETED, FAILED, CANCELED, ..."
    )
    links: RunLinks


class StrategyInfo(BaseModel):
    """One entry of `GET /strategies`: the strategy's description and switches.

    Strategy-specific settings (e.g. `minimum_firmware`) appear as extra members.
    """

    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    workflow: str
    device_types: list[str]
    vendors: list[str]
    required_capabilities: list[str]
    requires_network: bool
    placement: str
    enabled: bool
    default: bool
