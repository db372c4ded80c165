"""Activities of the ESP-IDF provisioning strategy, hosted by edge workers with a BLE radio.

Adapter errors pass through: the worker's error boundary turns them into
`ApplicationError`s whose type is the error code, retryable or not.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from adapters.errors import NetworkJoinPending
from adapters.esp_prov import EspProvisioningPort, EspSecurity, SecurityScheme
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin
from strategies.esp_prov_ble import (
    EspNetworkAssignment,
    EspProvBleActivity,
    EspSecurityInput,
    EspSessionCheck,
    EspTarget,
)

_DEFAULT_BUDGET = timedelta(seconds=60)
_MARGIN_SECONDS = 1.0


def _budget() -> float:
    """Seconds this attempt may spend waiting, a little under its start-to-close timeout,
    so that it fails with its own error rather than a bare timeout."""
    timeout = activity.info().start_to_close_timeout or _DEFAULT_BUDGET
    return max(timeout.total_seconds() - _MARGIN_SECONDS, timeout.total_seconds() / 2)


def _heartbeat(doing: str) -> None:
    activity.heartbeat(doing)


def security(given: EspSecurityInput) -> EspSecurity:
    """The adapter's security settings from the activity's input."""
    secret = given.secret.get_secret_value() if given.secret is not None else ""
    return EspSecurity(SecurityScheme(given.scheme), secret, given.username)


class EspProvBleActivities:
    """The steps of the ESP-IDF provisioning strategy on one gateway.

    Args:
        device_port: The gateway's ESP-IDF provisioning adapter (its BLE radio).
        host_task_queue: This gateway's own task queue; detect returns it to pin the run.
    """

    def __init__(self, device_port: EspProvisioningPort, *, host_task_queue: str) -> None:
        self._device = device_port
        self._host_queue = host_task_queue

    @activity.defn(name=EspProvBleActivity.DETECT.name)
    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        """Hear the device's advertisement; pin the run to this gateway."""
        found = await self._device.detect(device)
        return found.model_copy(update={"task_queue": self._host_queue})

    @activity.defn(name=EspProvBleActivity.CHECK_SESSION.name)
    async def check_session(self, target: EspTarget) -> EspSessionCheck:
        """Open the secure session (proves the secret) and read version and status."""
        check = await self._device.check(target.device, security(target.security))
        version, status = check.version, check.status
        return EspSessionCheck(
            version=version.version,
            security=int(version.security) if version.security is not None else None,
            capabilities=list(version.capabilities),
            endpoints=sorted(check.endpoints),
            station_state=status.state.value,
            ssid=status.ssid,
            ip_address=status.ip_address,
        )

    @activity.defn(name=EspProvBleActivity.SEND_WIFI_CONFIG.name)
    async def send_wifi_config(self, assignment: EspNetworkAssignment) -> None:
        """Send and apply the Wi-Fi configuration: the device starts joining."""
        target = assignment.target
        await self._device.send_wifi_config(
            target.device, security(target.security), assignment.network
        )

    @activity.defn(name=EspProvBleActivity.CONFIRM_JOINED.name)
    async def confirm_joined(self, assignment: EspNetworkAssignment) -> NetworkJoin:
        """Follow the device's station over a session until it joined the network."""
        target, ssid = assignment.target, assignment.network.ssid
        joined = await self._device.await_join(
            target.device,
            security(target.security),
            ssid,
            timeout=_budget(),
            heartbeat=_heartbeat,
        )
        if joined.ssid != ssid:
            raise NetworkJoinPending(
                f"device '{target.device.device_id}' joined '{joined.ssid}', not '{ssid}'",
                details={"device_id": target.device.device_id, "ssid": ssid},
            )
        return joined

    @activity.defn(name=EspProvBleActivity.RESET_WIFI.name)
    async def reset_wifi(self, target: EspTarget) -> None:
        """Make the device forget the credentials it was given (compensation)."""
        await self._device.reset(target.device, security(target.security))

    def all(self) -> list[object]:
        return [
            self.detect,
            self.check_session,
            self.send_wifi_config,
            self.confirm_joined,
            self.reset_wifi,
        ]
