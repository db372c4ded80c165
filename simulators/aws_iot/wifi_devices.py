"""Wi-Fi devices that register with AWS IoT Core, and their going online.

Such a device is a simulated HTTP Wi-Fi device (its local RPC API) with an AWS IoT
identity: it makes its own key and answers a CSR (`Shelly.GetTLSClientCSR`), and keeps the
certificate AWS signed (`Shelly.PutTLSClientCert`). Once it holds its certificate and has
joined its Wi-Fi network, a real device connects to AWS IoT over MQTT and reports its
state to its thing shadow. The local AWS has no MQTT, so `ShadowReporter` plays that part:
it watches the fleet and sends each such device's report over the data plane's HTTP API
(`UpdateThingShadow`), straight to the local AWS, as the device's own traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiobotocore.session import AioSession

from simulators.aws_iot.device import SimulatedAwsIotDevice
from simulators.aws_iot.local_aws import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from simulators.http_wifi import JoinStatus, SimulatedWifiDevice, WifiDeviceFleet

if TYPE_CHECKING:
    from types_aiobotocore_iot_data import IoTDataPlaneClient

logger = logging.getLogger("devprov.simulators.aws_iot")

AWS_EXAMPLE_DEVICE = "shelly-plus1-aws-hall"
"""The embedded stack's device for the `wifi-aws-iot` family (examples/requests)."""


def aws_iot_wifi_device(device_id: str, **options: Any) -> SimulatedWifiDevice:
    """A simulated Wi-Fi device with its own AWS IoT identity (key, CSR, certificate);
    `options` go to `SimulatedWifiDevice` (model, join_delay, faults, ...)."""
    return SimulatedWifiDevice(
        device_id, client_identity=SimulatedAwsIotDevice(device_id), **options
    )


def default_aws_iot_devices() -> list[SimulatedWifiDevice]:
    """The devices of the embedded default (`make run`) registered with AWS IoT Core.

    - `shelly-plus1-aws-hall`: a Plus 1 that joins in about a second, then becomes an AWS
      IoT thing of the local AWS and reports its network in its shadow.
    """
    return [aws_iot_wifi_device(AWS_EXAMPLE_DEVICE)]


class ShadowReporter:
    """Reports, for every device of `fleet` that holds its AWS IoT certificate and has
    joined its network, that network to its thing shadow; once per certificate and network.

    Args:
        fleet: The simulated Wi-Fi devices (those without an AWS identity are skipped).
        iot_data: A data-plane client of the local AWS (the devices' own way in).
        interval: Seconds between two looks at the fleet.
    """

    def __init__(
        self, fleet: WifiDeviceFleet, iot_data: IoTDataPlaneClient, interval: float = 0.2
    ) -> None:
        self._fleet = fleet
        self._iot_data = iot_data
        self._interval = interval
        self._reported: dict[str, tuple[str, str]] = {}
        self.reports = 0
        """Shadow updates sent so far."""

    async def report_once(self) -> None:
        """Look at every device once and report what is new."""
        for device in self._fleet.devices:
            identity = device.client_identity
            if not isinstance(identity, SimulatedAwsIotDevice):
                continue
            status = device.wifi_status(self._fleet.now(), self._fleet.networks)
            fingerprint = identity.certificate_fingerprint
            if fingerprint is None or status.status is not JoinStatus.GOT_IP or not status.ssid:
                # Offline, or no longer registered: report again once it is back.
                self._reported.pop(device.device_id, None)
                continue
            current = (status.ssid, fingerprint)
            if self._reported.get(device.device_id) == current:
                continue
            try:
                version = await identity.report_network(self._iot_data, status)
            except Exception as error:  # the thing may not exist yet: try again later
                logger.info("device %s: shadow report failed: %r", device.device_id, error)
                continue
            self._reported[device.device_id] = current
            self.reports += 1
            logger.info(
                "device %s: reported network %r in its thing shadow (version %d)",
                device.device_id,
                status.ssid,
                version,
            )

    async def run(self) -> None:
        """Report until cancelled."""
        while True:
            await self.report_once()
            await asyncio.sleep(self._interval)


@contextlib.asynccontextmanager
async def report_shadows(
    fleet: WifiDeviceFleet,
    endpoint_url: str,
    *,
    interval: float = 0.2,
    session: AioSession | None = None,
) -> AsyncIterator[ShadowReporter]:
    """Run a `ShadowReporter` for `fleet` against the local AWS at `endpoint_url`.

    The devices use the local AWS's own credentials, not the worker's AWS chain: they
    stand for devices connecting with their certificates, not for devprov.
    """
    session = session or AioSession()
    async with session.create_client(
        "iot-data",
        region_name=LOCAL_REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
    ) as iot_data:
        reporter = ShadowReporter(fleet, iot_data, interval)
        task = asyncio.create_task(reporter.run(), name="aws-iot-shadow-reporter")
        try:
            yield reporter
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
