"""The input of a strategy workflow and the names of its handlers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.policies import LifecyclePolicy
from domain.registry import RunKind
from domain.requests import ProvisionRequest

WORKFLOW_ID_PREFIX = "provision-"
DECOMMISSION_WORKFLOW_ID_PREFIX = "decommission-"
CENTRAL_TASK_QUEUE = "provisioning"
PROGRESS_QUERY = "progress"
SUBMIT_CREDENTIALS_UPDATE = "submit_credentials"
RETRY_UPDATE = "retry"
FORGET_CREDENTIALS_UPDATE = "forget_credentials"
CLIENT_BLE_RESULT_UPDATE = "client_ble_result"
"""Update of a `client-ble` run: what the installer's browser did with the device."""


def workflow_id_for(device_id: str) -> str:
    """One run per device at a time: the workflow id is derived from the device id."""
    return f"{WORKFLOW_ID_PREFIX}{device_id}"


def decommission_workflow_id_for(device_id: str) -> str:
    """One decommissioning run per device at a time, under an id of its own: the registry's
    claim (not the workflow id) keeps it and a provisioning run of the device apart."""
    return f"{DECOMMISSION_WORKFLOW_ID_PREFIX}{device_id}"


def workflow_id_of(kind: RunKind, device_id: str) -> str:
    """The workflow id of a device's run of `kind`."""
    if kind is RunKind.DECOMMISSION:
        return decommission_workflow_id_for(device_id)
    return workflow_id_for(device_id)


def edge_task_queue(site: str) -> str:
    """Task queue served by the edge workers of `site`."""
    return f"edge.{site}"


def host_task_queue(site: str, host: str) -> str:
    """Task queue served only by the edge worker `host` of `site` (edge pinning)."""
    return f"edge.{site}.{host}"


class ProvisionRun(BaseModel):
    """Input of every strategy workflow: a provisioning run, or a decommissioning run
    (`kind`), whose `request` then holds the device as the registry knows it and no
    network or secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RunKind = Field(default=RunKind.PROVISION, description="What the run does to the device.")
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
    enrollment: str | None = Field(
        default=None,
        description="`individual/<device id>` or `group/<group id>`: the enrollment that "
        "admitted the run when its tenant requires one.",
    )
    pre_provisioning_hook: bool = Field(
        default=False,
        description="The tenant had a pre-provisioning hook when the run started: its "
        "PRE_CHECK asks it (the hook as set when it asks).",
    )
    state_events: bool = Field(
        default=False,
        description="The tenant had an enabled webhook subscription to `run.state_changed` "
        "when the run started: the run sends one (a run without costs no activity for it).",
    )

    @property
    def device_id(self) -> str:
        return self.request.device.device_id

    def summary(self) -> str:
        """One line for the Web UI's run list."""
        device = self.request.device
        return (
            f"{self.kind.value} {device.device_id} ({device.vendor} {device.type}) "
            f"with {self.strategy}"
        )

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
            ("run", self.kind.value),
            (
                "network",
                network.ssid
                if network
                else "(typed into the installer's browser)"
                if self.request.transport.value == "client-ble"
                else "(asked for during the run)"
                if self.kind is RunKind.PROVISION
                else "-",
            ),
            ("started by", self.started_by),
        ]
        if self.request.transport.value != "gateway":
            rows.append(("transport", self.request.transport.value))
        if self.request.reprovision.value != "never":
            rows.append(("re-provisioning", self.request.reprovision.value))
        if self.request.tenant:
            rows.append(("moves to tenant", self.request.tenant))
        if self.retry_of:
            rows.append(("retry of", self.retry_of))
        if self.enrollment:
            rows.append(("enrollment", self.enrollment))
        return "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])
