"""Workflow of the Improv BLE strategy: every step after detection on the detecting gateway."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.activity_io import NetworkAssignment
    from domain.errors import ErrorCode
    from domain.facts import DetectedDevice
    from domain.progress import ProgressSnapshot, ProvisionResult
    from domain.registry import RunKind
    from domain.requests import ClientBleReport, NetworkCredentials, Transport
    from domain.run import CLIENT_BLE_RESULT_UPDATE, ProvisionRun
    from domain.states import ProvisioningState, Step
    from strategies.base import PreCheckVerdict
    from strategies.improv_ble import (
        IMPROV_BLE_DECOMMISSION,
        IMPROV_BLE_SPEC,
        IMPROV_CANNOT_UNDO,
        ImprovBleActivity,
        ImprovBleStrategy,
        ImprovOnlineCheck,
        ImprovRelease,
        browser_device_name,
        browser_prompt,
    )
    from workflows.failures import StepFailure
    from workflows.lifecycle import LifecycleWorkflow

MAX_AUTHORIZATIONS = 3
"""Button prompts per provisioning attempt (an authorization can expire meanwhile)."""


BROWSER_TRANSPORT = Transport.CLIENT_BLE.value


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

    _browser_report: ClientBleReport | None = None
    """The report of the installer's browser the run has not handled yet."""
    _waits_for_browser = False
    _joined_ssid: str | None = None
    """The network the browser says it gave the device (a `client-ble` run)."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    @property
    def from_the_browser(self) -> bool:
        """Whether the installer's browser onboards the device (`client-ble`)."""
        return (
            self.request.kind is RunKind.PROVISION
            and self.request.request.transport is Transport.CLIENT_BLE
        )

    def takes_network_credentials(self) -> bool:
        # The browser carries them to the device: the API never holds the passphrase.
        return not self.from_the_browser and super().takes_network_credentials()

    def network_shown(self) -> str | None:
        if self.from_the_browser:
            return self._joined_ssid  # what the browser gave the device, once it says
        return super().network_shown()

    # ------------------------------------------------------------------ the browser's report

    @workflow.update(name=CLIENT_BLE_RESULT_UPDATE)
    async def client_ble_result(self, report: ClientBleReport) -> ProgressSnapshot:
        """What the installer's browser did with the device over Web Bluetooth; the run
        answers once it has acted on it (confirming, waiting again, or failing)."""
        self._browser_report = report
        await workflow.wait_condition(
            lambda: self._browser_report is None or self._state.is_terminal
        )
        return self.progress()

    @client_ble_result.validator
    def _validate_client_ble_result(self, report: ClientBleReport) -> None:
        if not self.from_the_browser:
            raise ApplicationError(
                "this run reaches its device through a gateway, not an installer's browser",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )
        if not self._waits_for_browser or self._browser_report is not None:
            raise ApplicationError(
                f"the run is {self._state.value}: it is not waiting for the browser's report",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )
        if self._retry_requested:
            raise ApplicationError(
                "a retry is under way; report once the new attempt asks",
                type=ErrorCode.RUN_NOT_WAITING.value,
            )
        expected = browser_device_name(self.device)
        if report.device_name is not None and report.device_name != expected:
            raise ApplicationError(
                f"the browser onboarded BLE device '{report.device_name}', not '{expected}' "
                f"(device {self.device.device_id}); the run ignores the report",
                type=ErrorCode.DEVICE_MISMATCH.value,
            )

    def _awaiting(self) -> list[str]:
        if self._waits_for_browser and self._state is ProvisioningState.WAITING_FOR_DEVICE:
            return [BROWSER_TRANSPORT, "retry"]
        return super()._awaiting()

    async def _next_browser_report(self) -> ClientBleReport:
        # The installer types the credentials on the page: the wait of a person who
        # owes the run its credentials (PENDING_NETWORK), not of a device to show up.
        wait = self.request.policy.waits.network_wait
        try:
            await workflow.wait_condition(lambda: self._browser_report is not None, timeout=wait)
        except TimeoutError:
            raise StepFailure(
                ErrorCode.NETWORK_WAIT_TIMEOUT,
                f"no report from the installer's browser within {wait}",
            ) from None
        assert self._browser_report is not None
        return self._browser_report

    async def _provision_from_the_browser(self) -> None:
        """WAITING_FOR_DEVICE until the browser reports; judge what it says. A failed
        try the installer may repeat keeps the run waiting, with its error code."""
        device = self.device
        details = {"transport": BROWSER_TRANSPORT, "ble_name": browser_device_name(device)}
        message, code = browser_prompt(device), None
        while True:
            self._waits_for_browser = True
            try:
                report = await self.wait_for_device_action(
                    message,
                    self._next_browser_report(),
                    resumed="the installer's browser reported back",
                    error_code=code,
                    details=details,
                )
            except BaseException:
                # A retry or a cancel won over a report that came with it: its update
                # answers with the run as it now is.
                self._browser_report = None
                raise
            finally:
                self._waits_for_browser = False
            verdict = self.rules.judge_browser_report(device, report)
            self._browser_report = None
            if verdict.error_code is None:
                self._redirect_url = report.redirect_url
                self._joined_ssid = report.ssid
                self._credentials_sent = True
                self.report(
                    f"the installer's browser gave device {device.device_id} the network "
                    f"'{report.ssid}'"
                    + (
                        f"; it says it answers at {report.redirect_url}"
                        if report.redirect_url
                        else ""
                    )
                    + "; devprov checks that from a gateway of the site",
                    transport=BROWSER_TRANSPORT,
                    **({"firmware": report.firmware} if report.firmware else {}),
                )
                return
            if not verdict.try_again:
                self._reasons = list(verdict.reasons)
                raise StepFailure(verdict.error_code, verdict.message)
            message, code = verdict.message, verdict.error_code

    # ------------------------------------------------------------------ the steps

    async def detect(self) -> DetectedDevice:
        if self.from_the_browser:
            # The installer's phone finds it: nothing to look for from here.
            return DetectedDevice(
                device_id=self.device.device_id, attributes={"transport": BROWSER_TRANSPORT}
            )
        return await self.perform(Step.DETECT, ImprovBleActivity.DETECT, self.device)

    async def pre_check(self, found: DetectedDevice) -> PreCheckVerdict:
        if self.from_the_browser:
            # The browser reads its state first; a device provisioned before is
            # reported as such and judged then (`judge_browser_report`).
            self._redirect_url = None
            self._credentials_sent = False
            return PreCheckVerdict()
        state = await self.perform(Step.PRE_CHECK, ImprovBleActivity.READ_STATE, self.device)
        self._needs_authorization = self.rules.needs_authorization(state)
        self._redirect_url = None
        self._credentials_sent = False
        return self.rules.pre_check(self.device, state)

    async def provision(self, network: NetworkCredentials | None) -> None:
        if self.from_the_browser:
            await self._provision_from_the_browser()
            return
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
        ssid = network.ssid if network else (self._joined_ssid or "")
        joined = await self.perform(
            Step.CONFIRM,
            ImprovBleActivity.CONFIRM_ONLINE,
            ImprovOnlineCheck(device=self.device, ssid=ssid, redirect_url=self._redirect_url),
        )
        self.learned(network_ssid=joined.ssid, address=joined.address)
        where = f"; it answers at {self._redirect_url}" if self._redirect_url else ""
        return f"device joined '{joined.ssid}' with address {joined.address}{where}"

    async def undo_provision(self) -> None:
        if self.from_the_browser and self._redirect_url is None:
            # Nothing devprov can reach: the browser reported no join (or nothing yet).
            self.report(
                "nothing to undo from here: the installer's browser reported no network "
                f"join. If it sent credentials anyway, {IMPROV_CANNOT_UNDO}",
                transport=BROWSER_TRANSPORT,
            )
            return
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
