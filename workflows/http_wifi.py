"""Workflow of the HTTP Wi-Fi strategy: each step is one activity on the site's edge."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.activity_io import JoinCheck, NetworkAssignment, NetworkMove
    from domain.errors import ErrorCode
    from domain.facts import DetectedDevice
    from domain.progress import ProvisionResult
    from domain.requests import NetworkCredentials
    from domain.run import ProvisionRun
    from domain.states import Step
    from strategies.base import PreCheckVerdict
    from strategies.http_wifi import (
        HTTP_WIFI_DECOMMISSION,
        HTTP_WIFI_SPEC,
        HttpWifiActivity,
        HttpWifiStrategy,
    )
    from workflows.failures import StepFailure
    from workflows.lifecycle import LifecycleWorkflow


@workflow.defn(name=HTTP_WIFI_SPEC.workflow)
class HttpWifiProvisioningWorkflow(LifecycleWorkflow):
    """Provision a Wi-Fi device in set-up mode through its local HTTP RPC API."""

    spec = HTTP_WIFI_SPEC
    rules = HttpWifiStrategy()
    decommission_plan = HTTP_WIFI_DECOMMISSION

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    async def detect(self) -> DetectedDevice:
        return await self.perform(Step.DETECT, HttpWifiActivity.DETECT, self.device)

    async def pre_check(self, found: DetectedDevice) -> PreCheckVerdict:
        state = await self.perform(Step.PRE_CHECK, HttpWifiActivity.READ_STATE, self.device)
        return self.rules.pre_check(self.device, state)

    async def provision(self, network: NetworkCredentials | None) -> None:
        if network is None:
            raise StepFailure(ErrorCode.INTERNAL_ERROR, "provision needs network credentials")
        await self.perform(
            Step.PROVISION,
            HttpWifiActivity.APPLY_NETWORK,
            NetworkAssignment(device=self.device, network=network),
        )

    async def confirm(self, network: NetworkCredentials | None) -> str:
        ssid = network.ssid if network else ""
        joined = await self.perform(
            Step.CONFIRM, HttpWifiActivity.CONFIRM_JOINED, JoinCheck(device=self.device, ssid=ssid)
        )
        self.learned(network_ssid=joined.ssid, address=joined.address)
        return f"device joined '{joined.ssid}' with address {joined.address}"

    async def undo_provision(self) -> None:
        await self.perform(Step.ROLLBACK, HttpWifiActivity.RESET, self.device)

    async def migrate(self, network: NetworkCredentials, previous_ssid: str) -> None:
        await self.perform(
            Step.PROVISION,
            HttpWifiActivity.MOVE_NETWORK,
            NetworkAssignment(device=self.device, network=network),
        )

    async def confirm_migration(self, network: NetworkCredentials, previous_ssid: str) -> str:
        joined = await self.perform(
            Step.CONFIRM,
            HttpWifiActivity.CONFIRM_MOVED,
            NetworkMove(device=self.device, ssid=network.ssid, previous_ssid=previous_ssid),
        )
        self.learned(network_ssid=joined.ssid, address=joined.address)
        return (
            f"device moved from '{previous_ssid}' to '{joined.ssid}' with address {joined.address}"
        )

    async def undo_migration(self, network: NetworkCredentials, previous_ssid: str) -> None:
        await self.perform(
            Step.ROLLBACK,
            HttpWifiActivity.RETURN_TO_NETWORK,
            NetworkMove(device=self.device, ssid=network.ssid, previous_ssid=previous_ssid),
        )


@workflow.defn(name=HTTP_WIFI_DECOMMISSION.workflow)
class HttpWifiDecommissionWorkflow(HttpWifiProvisioningWorkflow):
    """Take an HTTP Wi-Fi device out of service: a factory reset, checked."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_decommission()
