"""The workflows the central workers run and the replayer checks, from the installed
device families (see `strategies.family`)."""

from __future__ import annotations

from collections.abc import Iterable

from strategies.family import DeviceFamily, installed_families
from workflows.fleet import FleetProvisioningWorkflow
from workflows.webhooks import WebhookDeliveryWorkflow


def strategy_workflows(families: Iterable[DeviceFamily] | None = None) -> list[type]:
    """Each family's provisioning workflow, and its decommissioning one where it has one
    (default: the installed families)."""
    chosen = installed_families() if families is None else list(families)
    return [workflow for family in chosen for workflow in family.workflow_classes()]


def all_workflows(families: Iterable[DeviceFamily] | None = None) -> list[type]:
    """Every workflow of the central workers: the families', the fleet's and webhook
    delivery."""
    return [*strategy_workflows(families), FleetProvisioningWorkflow, WebhookDeliveryWorkflow]
