"""Every strategy workflow, for the central worker to register."""

from __future__ import annotations

from workflows.http_wifi import HttpWifiProvisioningWorkflow
from workflows.lifecycle import LifecycleWorkflow

ALL_WORKFLOWS: list[type[LifecycleWorkflow]] = [HttpWifiProvisioningWorkflow]
