"""Workflow of the composite Wi-Fi + vendor-cloud strategy.

The HTTP Wi-Fi steps run on the site's edge; the cloud steps on the central workers.
The cloud registration is undone (deregister, revoke every credential) before the
device is reset, whenever the run fails or is cancelled after it began.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.activity_io import CloudDevice, CloudIssue, CloudPolicy, CloudRegistration
    from domain.progress import ProvisionResult
    from domain.requests import NetworkCredentials
    from domain.run import ProvisionRun
    from domain.states import Step
    from strategies.wifi_cloud import (
        DEVICE_POLICY,
        WIFI_CLOUD_DECOMMISSION,
        WIFI_CLOUD_SPEC,
        WifiCloudActivity,
        WifiCloudStrategy,
    )
    from workflows.http_wifi import HttpWifiProvisioningWorkflow

CLOUD_COMPENSATION = "remove cloud registration"


@workflow.defn(name=WIFI_CLOUD_SPEC.workflow)
class WifiCloudProvisioningWorkflow(HttpWifiProvisioningWorkflow):
    """Wi-Fi over the local HTTP API, then the vendor cloud, confirmed by a check-in."""

    spec = WIFI_CLOUD_SPEC
    rules = WifiCloudStrategy()
    decommission_plan = WIFI_CLOUD_DECOMMISSION

    _registered_in_attempt: int | None = None
    """The attempt whose cloud registration is in place (its rollback removes it)."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    def _cloud_device(self, step: str) -> CloudDevice:
        return CloudDevice(
            device_id=self.request.device_id, idempotency_key=self.idempotency_key(step)
        )

    async def provision(self, network: NetworkCredentials | None) -> None:
        await super().provision(network)
        device_id = self.request.device_id
        if self._registered_in_attempt == self.attempt:
            # Another round with new Wi-Fi credentials: the registration stays valid.
            self.report(f"{device_id} is already registered with its vendor cloud")
            return
        # Pushed before the first cloud call: a call whose answer was lost may still
        # have created something; removing is idempotent.
        self.add_compensation(CLOUD_COMPENSATION, self._remove_from_cloud)
        self.report(f"registering {device_id} with its vendor cloud")
        keys = await self.perform(
            Step.PROVISION,
            WifiCloudActivity.MAKE_DEVICE_KEYS,
            self._cloud_device("keys"),
            central=True,
        )
        issued = await self.perform(
            Step.PROVISION,
            WifiCloudActivity.ISSUE_CREDENTIAL,
            CloudIssue(
                device_id=device_id,
                csr_pem=keys.csr_pem,
                idempotency_key=self.idempotency_key("issue-credential"),
            ),
            central=True,
        )
        device = self.device
        await self.perform(
            Step.PROVISION,
            WifiCloudActivity.REGISTER_DEVICE,
            CloudRegistration(
                device_id=device_id,
                attributes={"model": device.model, "site": device.site, "vendor": device.vendor},
                ownership_token=issued.ownership_token,
                idempotency_key=self.idempotency_key("register-device"),
            ),
            central=True,
        )
        await self.perform(
            Step.PROVISION,
            WifiCloudActivity.ATTACH_POLICY,
            CloudPolicy(
                device_id=device_id,
                policy_name=DEVICE_POLICY,
                idempotency_key=self.idempotency_key("attach-policy"),
            ),
            central=True,
        )
        self._registered_in_attempt = self.attempt
        self.learned(
            cloud_thing=device_id,
            cloud_certificate_id=issued.credential_id,
            # The cloud names a credential by its certificate's SHA-256.
            cloud_certificate_fingerprint=issued.credential_id,
        )
        self.report(f"{device_id} is registered (credential {issued.credential_id[:12]}…)")

    async def confirm(self, network: NetworkCredentials | None) -> str:
        joined = await super().confirm(network)
        self.report(f"{joined}; waiting for its first check-in with the cloud")
        status = await self.perform(
            Step.CONFIRM,
            WifiCloudActivity.AWAIT_CHECKIN,
            self._cloud_device("checkin"),
            central=True,
        )
        return f"{joined}; checked in with its cloud at {status.last_checkin_at:%H:%M:%S}"

    async def _remove_from_cloud(self) -> None:
        await self.perform(
            Step.ROLLBACK,
            WifiCloudActivity.REMOVE_DEVICE,
            self._cloud_device("remove"),
            central=True,
        )


@workflow.defn(name=WIFI_CLOUD_DECOMMISSION.workflow)
class WifiCloudDecommissionWorkflow(WifiCloudProvisioningWorkflow):
    """Take a Wi-Fi + vendor-cloud device out of service: deregister it and revoke its
    credentials, then factory-reset it."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_decommission()
