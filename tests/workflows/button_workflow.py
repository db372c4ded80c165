"""A test-only strategy workflow whose provision step waits for a button press."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.device import DeviceDescriptor
    from domain.facts import DetectedDevice
    from domain.progress import ProvisionResult
    from domain.requests import NetworkCredentials
    from domain.run import ProvisionRun
    from domain.states import Step
    from strategies.base import PreCheckVerdict, StrategySpec
    from workflows.lifecycle import LifecycleWorkflow

BUTTON_SPEC = StrategySpec(
    name="button-test", workflow="ButtonTestProvisioning", description="test strategy"
)


@workflow.defn(name=BUTTON_SPEC.workflow)
class ButtonTestWorkflow(LifecycleWorkflow):
    """detect → press the button (WAITING_FOR_DEVICE) → apply."""

    spec = BUTTON_SPEC

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    def _device(self) -> DeviceDescriptor:
        return self.request.request.device

    async def detect(self) -> DetectedDevice:
        return DetectedDevice(device_id=self.request.device_id)

    async def pre_check(self, found: DetectedDevice) -> PreCheckVerdict:
        return PreCheckVerdict()

    async def provision(self, network: NetworkCredentials | None) -> None:
        await self.wait_for_device_action(
            "press the button on the device",
            self.call(Step.PROVISION, "button.wait_pressed", self._device(), type(None)),
            resumed="button pressed",
        )
        await self.call(Step.PROVISION, "button.apply", self._device(), type(None))

    async def confirm(self, network: NetworkCredentials | None) -> str:
        return "done"

    async def undo_provision(self) -> None:
        await self.call(Step.ROLLBACK, "button.reset", self._device(), type(None))
