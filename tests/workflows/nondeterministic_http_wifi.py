"""A deliberately non-deterministic change of the HTTP Wi-Fi workflow, for the replay gate.

It reads the device's state once more before the pre-check, as a careless refactoring
might: new runs would work, but every run started by the old code would break when a
worker replays it. The replay test must catch exactly this.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.facts import DetectedDevice
    from domain.progress import ProvisionResult
    from domain.run import ProvisionRun
    from domain.states import Step
    from strategies.base import PreCheckVerdict
    from strategies.http_wifi import HTTP_WIFI_SPEC, HttpWifiActivity
    from workflows.http_wifi import HttpWifiProvisioningWorkflow


@workflow.defn(name=HTTP_WIFI_SPEC.workflow)
class ChangedHttpWifiWorkflow(HttpWifiProvisioningWorkflow):
    """The HTTP Wi-Fi workflow with one extra activity call in the pre-check."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    async def pre_check(self, found: DetectedDevice) -> PreCheckVerdict:
        await self.call(
            Step.PRE_CHECK,
            HttpWifiActivity.READ_STATE.name,
            self.request.request.device,
            DetectedDevice,
        )
        return await super().pre_check(found)
