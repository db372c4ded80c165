"""The input of a strategy workflow and the names of its handlers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.policies import LifecyclePolicy
from domain.requests import ProvisionRequest

WORKFLOW_ID_PREFIX = "provision-"
CENTRAL_TASK_QUEUE = "provisioning"
PROGRESS_QUERY = "progress"
SUBMIT_CREDENTIALS_UPDATE = "submit_credentials"
RETRY_UPDATE = "retry"
FORGET_CREDENTIALS_UPDATE = "forget_credentials"


def workflow_id_for(device_id: str) -> str:
    """One run per device at a time: the workflow id is derived from the device id."""
    return f"{WORKFLOW_ID_PREFIX}{device_id}"


def edge_task_queue(site: str) -> str:
    """Task queue served by the edge workers of `site`."""
    return f"edge.{site}"


def host_task_queue(site: str, host: str) -> str:
    """Task queue served only by the edge worker `host` of `site` (edge pinning)."""
    return f"edge.{site}.{host}"


class ProvisionRun(BaseModel):
    """Input of every strategy workflow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request: ProvisionRequest
    strategy: str
    policy: LifecyclePolicy
    started_by: str = Field(
        default="unknown", description="Who started the run (API key id, fleet, CLI)."
    )
    tenant: str = Field(default="default", description="Tenant whose key started the run.")
    retry_of: str | None = Field(
        default=None, description="`<workflow id>/<run id>` of the failed run this one retries."
    )

    @property
    def device_id(self) -> str:
        return self.request.device.device_id

    def summary(self) -> str:
        """One line for the Web UI's run list."""
        device = self.request.device
        return f"provision {device.device_id} ({device.vendor} {device.type}) with {self.strategy}"

    def details(self) -> str:
        """What the run is about, for the Web UI (never a secret)."""
        device = self.request.device
        network = self.request.network
        rows = [
            ("device", device.device_id),
            ("type / vendor / model", f"{device.type} / {device.vendor} / {device.model or '-'}"),
            ("capabilities", ", ".join(sorted(device.capabilities)) or "-"),
            ("site", device.site),
            ("strategy", self.strategy),
            ("network", network.ssid if network else "(asked for during the run)"),
            ("started by", self.started_by),
        ]
        if self.retry_of:
            rows.append(("retry of", self.retry_of))
        return "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])
