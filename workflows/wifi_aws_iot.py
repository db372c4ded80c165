"""Workflow of the composite Wi-Fi + AWS IoT Core strategy.

The device steps (Wi-Fi, its CSR, its certificate) run on the site's edge; the AWS calls
on the central workers. The AWS registration is undone before the device is reset,
whenever the run fails or is cancelled after the registration began.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.activity_io import ClientCertificateDelivery
    from domain.aws_iot import AwsIotRunRegistration, ShadowNetworkCheck
    from domain.progress import ProvisionResult
    from domain.registry import certificate_fingerprint
    from domain.requests import NetworkCredentials
    from domain.run import ProvisionRun
    from domain.states import Step
    from strategies.wifi_aws_iot import (
        WIFI_AWS_IOT_DECOMMISSION,
        WIFI_AWS_IOT_SPEC,
        WifiAwsIotActivity,
        WifiAwsIotStrategy,
    )
    from workflows.http_wifi import HttpWifiProvisioningWorkflow

AWS_COMPENSATION = "remove AWS IoT registration"
CERTIFICATE_CLOCK_SKEW = timedelta(minutes=5)
"""How much older than the run a certificate of the run may look, AWS's clock being AWS's."""


@workflow.defn(name=WIFI_AWS_IOT_SPEC.workflow)
class WifiAwsIotProvisioningWorkflow(HttpWifiProvisioningWorkflow):
    """Wi-Fi over the local HTTP API, then an AWS IoT thing, confirmed by its shadow."""

    spec = WIFI_AWS_IOT_SPEC
    rules = WifiAwsIotStrategy()
    decommission_plan = WIFI_AWS_IOT_DECOMMISSION

    _registered_in_attempt: int | None = None
    """The attempt whose AWS registration is in place (its rollback removes it)."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_lifecycle()

    def _registration(self, csr_pem: str) -> AwsIotRunRegistration:
        device = self.device
        info = workflow.info()
        facts = {"vendor": device.vendor, "type": device.type, "model": device.model}
        return AwsIotRunRegistration(
            device_id=device.device_id,
            tenant=self.request.tenant,
            site=device.site,
            csr_pem=csr_pem,
            # The thing is named after the device, and the workflow id after the device
            # too: the run id is what tells this run's thing from another run's.
            run_id=info.run_id,
            created_after=info.workflow_start_time - CERTIFICATE_CLOCK_SKEW,
            attributes={name: value for name, value in facts.items() if value},
        )

    async def provision(self, network: NetworkCredentials | None) -> None:
        await super().provision(network)
        device_id = self.request.device_id
        if self._registered_in_attempt == self.attempt:
            # Another round with new Wi-Fi credentials: the registration stays valid.
            self.report(f"{device_id} is already registered with AWS IoT Core")
            return
        self.report(f"asking {device_id} for a certificate signing request")
        csr_pem = await self.perform(Step.PROVISION, WifiAwsIotActivity.DEVICE_CSR, self.device)
        registration = self._registration(csr_pem)
        # Pushed before the first AWS call: a call whose answer was lost may still have
        # created something; the removal checks before it acts, so it is idempotent.
        self.add_compensation(AWS_COMPENSATION, lambda: self._remove_from_aws(registration))
        self.report(f"registering {device_id} with AWS IoT Core")
        thing = await self.perform(
            Step.PROVISION, WifiAwsIotActivity.REGISTER_THING, registration, central=True
        )
        await self.perform(
            Step.PROVISION,
            WifiAwsIotActivity.DELIVER_CERTIFICATE,
            ClientCertificateDelivery(device=self.device, certificate_pem=thing.certificate_pem),
        )
        self._registered_in_attempt = self.attempt
        self.learned(
            cloud_thing=thing.thing_name,
            cloud_certificate_id=thing.certificate_id,
            cloud_certificate_fingerprint=certificate_fingerprint(thing.certificate_pem),
        )
        self.report(
            f"{device_id} is AWS IoT thing {thing.thing_name} in group {thing.thing_group}, "
            f"with certificate {thing.certificate_id[:12]}… and policy {thing.policy_name}",
            thing_name=thing.thing_name,
            certificate_id=thing.certificate_id,
            policy_name=thing.policy_name,
            thing_group=thing.thing_group,
        )

    async def confirm(self, network: NetworkCredentials | None) -> str:
        joined = await super().confirm(network)
        ssid = network.ssid if network else ""
        self.report(f"{joined}; waiting for its report in its AWS IoT thing shadow")
        report = await self.perform(
            Step.CONFIRM,
            WifiAwsIotActivity.CONFIRM_SHADOW,
            ShadowNetworkCheck(device_id=self.request.device_id, ssid=ssid),
            central=True,
        )
        return (
            f"{joined}; its AWS IoT thing shadow reports it on '{report.ssid}' "
            f"(shadow version {report.shadow_version})"
        )

    async def _remove_from_aws(self, registration: AwsIotRunRegistration) -> None:
        await self.perform(
            Step.ROLLBACK, WifiAwsIotActivity.REMOVE_THING, registration, central=True
        )


@workflow.defn(name=WIFI_AWS_IOT_DECOMMISSION.workflow)
class WifiAwsIotDecommissionWorkflow(WifiAwsIotProvisioningWorkflow):
    """Take a Wi-Fi + AWS IoT device out of service: revoke and delete its certificate,
    delete its thing, then factory-reset it."""

    @workflow.run
    async def run(self, run: ProvisionRun) -> ProvisionResult:
        return await self.run_decommission()
