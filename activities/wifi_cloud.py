"""Vendor-cloud activities, hosted by the central workers (they need the cloud, not the
device's radio). Every mutating call carries the idempotency key the workflow derives
from the run, its attempt and the step, so a retried activity never registers twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import SecretStr
from temporalio import activity

from activities.polling import poll_cloud_until
from adapters.errors import AdapterError
from adapters.wifi_cloud import WifiCloudPort, make_device_key_pair
from domain.activity_io import CloudDevice, CloudIssue, CloudPolicy, CloudRegistration
from domain.cloud import (
    CloudDeviceStatus,
    DeviceKeyPair,
    IssuedCredential,
    PolicyAttachment,
    RegisteredDevice,
)
from domain.errors import ErrorCode
from strategies.wifi_cloud import WifiCloudActivity


class CheckinPending(AdapterError):
    """The device has not checked in with the cloud yet."""

    code = ErrorCode.CLOUD_CHECKIN_TIMEOUT
    retryable = True


class WifiCloudActivities:
    """The cloud steps of composite strategies.

    Args:
        cloud: The vendor cloud.
        claim_token: The fleet claim exchanged for per-device credentials (a secret of
            this worker's: it never enters a workflow history).
        checkin_poll: Time between two status reads while waiting for the check-in.
    """

    def __init__(
        self,
        cloud: WifiCloudPort,
        claim_token: SecretStr,
        checkin_poll: timedelta = timedelta(seconds=0.5),
    ) -> None:
        self._cloud = cloud
        self._claim = claim_token
        self._poll = checkin_poll.total_seconds()

    @activity.defn(name=WifiCloudActivity.MAKE_DEVICE_KEYS.name)
    async def make_device_keys(self, device: CloudDevice) -> DeviceKeyPair:
        """A key pair and CSR for the device (see DeviceKeyPair on why it is made here)."""
        return await asyncio.to_thread(make_device_key_pair, device.device_id)

    @activity.defn(name=WifiCloudActivity.ISSUE_CREDENTIAL.name)
    async def issue_credential(self, issue: CloudIssue) -> IssuedCredential:
        """Exchange the claim for the device's certificate."""
        return await self._cloud.issue_credential(
            issue.device_id, self._claim, issue.csr_pem, issue.idempotency_key
        )

    @activity.defn(name=WifiCloudActivity.REGISTER_DEVICE.name)
    async def register_device(self, registration: CloudRegistration) -> RegisteredDevice:
        """Create the device record with the credential's ownership token."""
        return await self._cloud.register_device(
            registration.device_id,
            registration.attributes,
            registration.ownership_token,
            registration.idempotency_key,
        )

    @activity.defn(name=WifiCloudActivity.ATTACH_POLICY.name)
    async def attach_policy(self, policy: CloudPolicy) -> PolicyAttachment:
        """Let the device connect with its credential."""
        return await self._cloud.attach_policy(
            policy.device_id, policy.policy_name, policy.idempotency_key
        )

    @activity.defn(name=WifiCloudActivity.AWAIT_CHECKIN.name)
    async def await_checkin(self, device: CloudDevice) -> CloudDeviceStatus:
        """Poll the cloud until the device has checked in (heartbeats while waiting)."""
        return await poll_cloud_until(
            lambda: self._cloud.device_status(device.device_id),
            lambda status: status.checked_in,
            poll=self._poll,
            waiting="waiting for the device's check-in",
            timed_out=lambda status: CheckinPending(
                f"device {device.device_id} has not checked in with its cloud",
                details={"registered": str(status.registered).lower()},
            ),
        )

    @activity.defn(name=WifiCloudActivity.REMOVE_DEVICE.name)
    async def remove_device(self, device: CloudDevice) -> None:
        """Compensation: deregister the device and revoke every credential it was issued.

        Listing the credentials also catches one whose issue answer was lost; both calls
        treat "already gone" as done, so the compensation can run any number of times.
        """
        await self._cloud.deregister(device.device_id, f"{device.idempotency_key}/deregister")
        for credential in await self._cloud.list_credentials(device.device_id):
            if credential.active:
                await self._cloud.revoke_credential(
                    credential.credential_id,
                    f"{device.idempotency_key}/revoke/{credential.credential_id}",
                )

    def all(self) -> list[object]:
        """Every cloud activity, for `Worker(activities=...)`."""
        return [
            self.make_device_keys,
            self.issue_credential,
            self.register_device,
            self.attach_policy,
            self.await_checkin,
            self.remove_device,
        ]
