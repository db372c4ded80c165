"""Workflow of the Improv BLE strategy: every step after detection on the detecting gateway."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.activity_io import NetworkAssignment
    from domain.errors import ErrorCode
    from domain.facts import DetectedDevice
    from domain.progress import ProvisionResult
    from domain.requests import NetworkCredentials
    from domain.run import ProvisionRun
    from domain.states import Step
    from strategies.base import PreCheckVerdict
    from strategies.improv_ble import (
        IMPROV_BLE_DECOMMISSION,
        IMPROV_BLE_SPEC,
        ImprovBleActivity,
        ImprovBleStrategy,
        ImprovOnlineCheck,
        ImprovRelease,
    )
    from workflows.failures import StepFailure
    from workflows.lifecycle import LifecycleWorkflow

MAX_AUTHORIZATIONS = 3
"""Button prompts per provisioning attempt (an authorization can expire meanwhile)."""


def _error_type(error: ActivityError) -> str | None:
    cause: BaseException | None = error.cause
    while isinstance(cause, ActivityError):
        cause = cause.cause
    return cause.type if isinstance(cause, ApplicationError) else None


@workflow.defn(name=IMPROV_BLE_SPEC.workflow)
class ImprovBleProvisioningWorkflow(LifecycleWorkflow):
    """Onboard an Improv Wi-Fi device over BLE, through the gateway that hears it."""

    spec = IMPROV_BLE_SPEC
    rules = ImprovBleStrategy()
    decommission_plan = IMPROV_BLE_DECOMMISSION

    _needs_authorization = True
    _redirect_url: str | None = None
    _credentials_sent = False
    """Whether this attempt sent (or may have sent) credentials to the device."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    async def detect(self) -> DetectedDevice:
        return await self.perform(Step.DETECT, ImprovBleActivity.DETECT, self.device)

    async def pre_check(self, found: DetectedDevice) -> PreCheckVerdict:
        state = await self.perform(Step.PRE_CHECK, ImprovBleActivity.READ_STATE, self.device)
        self._needs_authorization = self.rules.needs_authorization(state)
        self._redirect_url = None
        self._credentials_sent = False
        return self.rules.pre_check(self.device, state)

    async def provision(self, network: NetworkCredentials | None) -> None:
        if network is None:
            raise StepFailure(ErrorCode.INTERNAL_ERROR, "provision needs network credentials")
        device = self.device
        for _ in range(MAX_AUTHORIZATIONS):
            if self._needs_authorization:
                await self.wait_for_device_action(
                    f"press the button on device {device.device_id} to authorize it "
                    "(it is blinking if it can)",
                    self.perform(Step.PROVISION, ImprovBleActivity.AWAIT_AUTHORIZATION, device),
                    resumed=f"device authorized; sending the credentials for '{network.ssid}'",
                )
                self._needs_authorization = False
            self._credentials_sent = True
            try:
                result = await self.perform(
                    Step.PROVISION,
                    ImprovBleActivity.SEND_CREDENTIALS,
                    NetworkAssignment(device=device, network=network),
                )
            except ActivityError as error:
                # Its authorization expired before the credentials arrived (a person
                # took a while to send other credentials): ask for the button again.
                if _error_type(error) != ErrorCode.IMPROV_NOT_AUTHORIZED.value:
                    raise
                self._needs_authorization = True
                continue
            self._redirect_url = result.redirect_url
            return
        raise StepFailure(
            ErrorCode.IMPROV_NOT_AUTHORIZED,
            f"device {device.device_id} lost its authorization {MAX_AUTHORIZATIONS} times",
        )

    async def confirm(self, network: NetworkCredentials | None) -> str:
        ssid = network.ssid if network else ""
        joined = await self.perform(
            Step.CONFIRM,
            ImprovBleActivity.CONFIRM_ONLINE,
            ImprovOnlineCheck(device=self.device, ssid=ssid, redirect_url=self._redirect_url),
        )
        self.learned(network_ssid=joined.ssid, address=joined.address)
        where = f"; it answers at {self._redirect_url}" if self._redirect_url else ""
        return f"device joined '{joined.ssid}' with address {joined.address}{where}"

    async def undo_provision(self) -> None:
        await self.perform(
            Step.ROLLBACK,
            ImprovBleActivity.RELEASE,
            ImprovRelease(
                device=self.device,
                redirect_url=self._redirect_url,
                credentials_may_have_arrived=self._credentials_sent,
            ),
        )


@workflow.defn(name=IMPROV_BLE_DECOMMISSION.workflow)
class ImprovBleDecommissionWorkflow(ImprovBleProvisioningWorkflow):
    """Take an Improv device out of service through the gateway that hears it: reset it
    through its web page, then check over BLE that it forgot its network (Improv itself
    cannot make it forget: what remains is reported)."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_decommission()
