"""Every strategy workflow, for the central worker to register."""

from __future__ import annotations

from workflows.fleet import FleetProvisioningWorkflow
from workflows.http_wifi import HttpWifiProvisioningWorkflow
from workflows.improv_ble import ImprovBleProvisioningWorkflow
from workflows.lifecycle import LifecycleWorkflow
from workflows.wifi_cloud import WifiCloudProvisioningWorkflow
from workflows.zigbee import ZigbeeProvisioningWorkflow

STRATEGY_WORKFLOWS: list[type[LifecycleWorkflow]] = [
    HttpWifiProvisioningWorkflow,
    ImprovBleProvisioningWorkflow,
    WifiCloudProvisioningWorkflow,
    ZigbeeProvisioningWorkflow,
]
"""One workflow per strategy."""

ALL_WORKFLOWS: list[type] = [*STRATEGY_WORKFLOWS, FleetProvisioningWorkflow]
"""Everything the central worker runs."""
