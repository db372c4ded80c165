"""Workflow of the ESP-IDF provisioning strategy: every step after detection on the
detecting gateway, each in a secure session of its own."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.errors import ErrorCode
    from domain.facts import DetectedDevice
    from domain.progress import ProvisionResult
    from domain.requests import NetworkCredentials
    from domain.run import ProvisionRun
    from domain.states import Step
    from strategies.base import PreCheckVerdict
    from strategies.esp_prov_ble import (
        ESP_PROV_BLE_SPEC,
        EspNetworkAssignment,
        EspProvBleActivity,
        EspProvBleStrategy,
        EspTarget,
        security_for,
    )
    from workflows.failures import StepFailure
    from workflows.lifecycle import LifecycleWorkflow


@workflow.defn(name=ESP_PROV_BLE_SPEC.workflow)
class EspProvBleProvisioningWorkflow(LifecycleWorkflow):
    """Onboard an ESP32 running ESP-IDF's provisioning manager over BLE, through the
    gateway that hears it."""

    spec = ESP_PROV_BLE_SPEC
    rules = EspProvBleStrategy()

    _config_sent = False
    """Whether this attempt sent (or may have sent) a Wi-Fi configuration."""
    _can_reset = True

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    @property
    def target(self) -> EspTarget:
        """The device and the security of its sessions (the secret travels in the
        activity's payload, which the codec encrypts; its repr is masked)."""
        return EspTarget(device=self.device, security=security_for(self.request.request))

    def _assignment(self, network: NetworkCredentials | None) -> EspNetworkAssignment:
        if network is None:
            raise StepFailure(ErrorCode.INTERNAL_ERROR, "this step needs network credentials")
        return EspNetworkAssignment(target=self.target, network=network)

    async def detect(self) -> DetectedDevice:
        return await self.perform(Step.DETECT, EspProvBleActivity.DETECT, self.device)

    async def pre_check(self, found: DetectedDevice) -> PreCheckVerdict:
        check = await self.perform(Step.PRE_CHECK, EspProvBleActivity.CHECK_SESSION, self.target)
        self._can_reset = self.rules.can_reset(check)
        self._config_sent = False
        self.report(
            f"secure session open (provisioning {check.version}, security {check.security}); "
            f"station {check.station_state}"
        )
        return self.rules.pre_check(self.device, check)

    async def provision(self, network: NetworkCredentials | None) -> None:
        assignment = self._assignment(network)
        self._config_sent = True
        await self.perform(Step.PROVISION, EspProvBleActivity.SEND_WIFI_CONFIG, assignment)

    async def confirm(self, network: NetworkCredentials | None) -> str:
        joined = await self.perform(
            Step.CONFIRM, EspProvBleActivity.CONFIRM_JOINED, self._assignment(network)
        )
        self.learned(network_ssid=joined.ssid, address=joined.address)
        return f"device joined '{joined.ssid}' with address {joined.address}"

    async def undo_provision(self) -> None:
        if not self._config_sent:
            return
        if not self._can_reset:
            # Asked anyway: the activity fails and the rollback names what it left.
            self.report(
                f"device {self.device.device_id} offers no prov-ctrl endpoint: it may keep "
                "the Wi-Fi configuration it was sent"
            )
        await self.perform(Step.ROLLBACK, EspProvBleActivity.RESET_WIFI, self.target)
