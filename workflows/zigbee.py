"""Workflow of the Zigbee strategy: every step after detection on the detecting gateway,
whose coordinator the device joins."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.errors import ErrorCode
    from domain.facts import DetectedDevice
    from domain.progress import ProvisionResult
    from domain.requests import NetworkCredentials
    from domain.run import ProvisionRun
    from domain.states import Step
    from domain.zigbee import ZigbeeMembership
    from strategies.base import PreCheckVerdict
    from strategies.zigbee import (
        INSTALL_CODE,
        ZIGBEE_DECOMMISSION,
        ZIGBEE_SPEC,
        ZigbeeActivity,
        ZigbeeConfigureOrder,
        ZigbeeDeviceRef,
        ZigbeeJoinOrder,
        ZigbeeStrategy,
    )
    from workflows.failures import StepFailure, application_error
    from workflows.lifecycle import LifecycleWorkflow

UNLIMITED_INTERVIEWS_CAP = 10
"""Interviews asked for when the provision step's retry policy is unlimited (0)."""


@workflow.defn(name=ZIGBEE_SPEC.workflow)
class ZigbeeProvisioningWorkflow(LifecycleWorkflow):
    """Join a Zigbee 3.0 device with its install code, interview it, check and configure it."""

    spec = ZIGBEE_SPEC
    rules = ZigbeeStrategy()
    decommission_plan = ZIGBEE_DECOMMISSION

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    # ------------------------------------------------------------------ request data

    @property
    def _ieee(self) -> str:
        return self.rules.ieee_of(self.device)

    def _ref(self) -> ZigbeeDeviceRef:
        return ZigbeeDeviceRef(device_id=self.request.device_id, ieee=self._ieee)

    def _join_order(self) -> ZigbeeJoinOrder:
        return ZigbeeJoinOrder(
            device_id=self.request.device_id,
            ieee=self._ieee,
            install_code=self.request.request.secrets.get(INSTALL_CODE),
        )

    # ------------------------------------------------------------------ steps

    async def detect(self) -> DetectedDevice:
        try:
            found = await self.perform(Step.DETECT, ZigbeeActivity.DETECT, self.device)
        except ActivityError as error:
            cause = application_error(error)
            if cause is None or cause.type != ErrorCode.ZIGBEE_COORDINATOR_NOT_READY.value:
                raise
            # No gateway can let the device in yet: wait for one, as for an absent device.
            raise StepFailure(
                ErrorCode.DEVICE_UNREACHABLE,
                f"no Zigbee coordinator of site {self.device.site} is ready: {cause.message}",
            ) from None
        network = found.attributes
        self.report(
            f"coordinator on {network.get('radio')}: channel {network.get('channel')}, "
            f"PAN {network.get('pan_id')}, extended PAN {network.get('extended_pan_id')}, "
            f"{network.get('device_count')} of {network.get('capacity')} devices",
            channel=network.get("channel", ""),
            pan_id=network.get("pan_id", ""),
            extended_pan_id=network.get("extended_pan_id", ""),
        )
        return found

    async def pre_check(self, found: DetectedDevice) -> PreCheckVerdict:
        inspection = await self.perform(Step.PRE_CHECK, ZigbeeActivity.INSPECT, self._join_order())
        if inspection.membership is ZigbeeMembership.UNRESPONSIVE:
            self.report(
                f"{self._ieee} is listed on the network but does not answer (a stale "
                "entry, e.g. after a factory reset): it is replaced when the device joins"
            )
        return self.rules.pre_check(
            inspection, has_install_code=INSTALL_CODE in self.request.request.secrets
        )

    async def provision(self, network: NetworkCredentials | None) -> None:
        device_id, ieee = self.request.device_id, self._ieee
        window = self.request.policy.for_step(Step.PROVISION).start_to_close
        joined = await self.wait_for_device_action(
            f"power on device {device_id} ({ieee}) in pairing mode near the gateway: the "
            f"network is open for it, with the key of its install code, for up to {window}",
            self.perform(Step.PROVISION, ZigbeeActivity.JOIN, self._join_order()),
            resumed=f"device {ieee} joined; its join window is closed",
        )
        self.learned(zigbee_ieee=ieee, zigbee_nwk=joined.nwk)
        self.report(
            f"device {ieee} joined as {joined.nwk}; interviewing it",
            nwk=joined.nwk,
        )
        await self._interview()

    async def _interview(self) -> None:
        """Interview the joined device, asking again (without re-joining) when it does not
        answer, up to the provision step's configured attempts."""
        ieee = self._ieee
        retry = self.request.policy.for_step(Step.PROVISION).retry
        attempts = retry.maximum_attempts or UNLIMITED_INTERVIEWS_CAP
        delay = retry.initial_interval
        for attempt in range(1, attempts + 1):
            outcome = await self.perform(Step.PROVISION, ZigbeeActivity.INTERVIEW, self._ref())
            if outcome.device is not None:
                found = outcome.device
                self.report(
                    f"interviewed {ieee}: {found.manufacturer} {found.model}, endpoints "
                    + ", ".join(str(ep.endpoint_id) for ep in found.endpoints),
                    manufacturer=found.manufacturer or "",
                    model=found.model or "",
                )
                return
            if attempt == attempts:
                raise StepFailure(
                    ErrorCode.ZIGBEE_INTERVIEW_FAILED,
                    f"device {ieee} joined but failed {attempts} interviews: {outcome.failure}",
                    {"ieee": ieee, "interviews": str(attempts)},
                )
            self.report(
                f"interview {attempt} of {attempts} failed: {outcome.failure}; asking "
                f"again in {delay} without re-joining",
                error_code=ErrorCode.ZIGBEE_INTERVIEW_FAILED.value,
            )
            await workflow.sleep(delay)
            delay = min(
                timedelta(seconds=delay.total_seconds() * retry.backoff_coefficient),
                retry.maximum_interval,
            )

    async def confirm(self, network: NetworkCredentials | None) -> str:
        device, ieee = self.device, self._ieee
        found = await self.perform(Step.CONFIRM, ZigbeeActivity.READ_IDENTITY, self._ref())
        mismatches = self.rules.identity_mismatches(device, found)
        if mismatches:
            raise StepFailure(
                ErrorCode.DEVICE_MISMATCH,
                f"device {ieee} is not what the request says: " + "; ".join(mismatches),
                {"manufacturer": found.manufacturer or "", "model": found.model or ""},
            )
        configuration = await self.perform(
            Step.CONFIRM,
            ZigbeeActivity.CONFIGURE,
            ZigbeeConfigureOrder(
                device_id=self.request.device_id,
                ieee=ieee,
                rules=self.rules.reporting_for(found),
            ),
        )
        self.learned(zigbee_ieee=ieee, zigbee_nwk=found.nwk)
        reporting = ", ".join(c.cluster for c in configuration.clusters) or "nothing to report"
        return (
            f"device {ieee} ({found.manufacturer} {found.model}) is on the network as "
            f"{found.nwk}; bound to the coordinator and reporting: {reporting}"
        )

    async def undo_provision(self) -> None:
        await self.perform(Step.ROLLBACK, ZigbeeActivity.REMOVE, self._ref())


@workflow.defn(name=ZIGBEE_DECOMMISSION.workflow)
class ZigbeeDecommissionWorkflow(ZigbeeProvisioningWorkflow):
    """Take a Zigbee device out of service: leave request and removal from the
    coordinator of the gateway it is on."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_decommission()
