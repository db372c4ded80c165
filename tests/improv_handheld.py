"""Shared by the `client-ble` tests: a gateway whose radio hears no Improv device (the
phone reaches it, not the gateway), the edge worker that confirms out of band, and a
Python stand-in for the console's Web Bluetooth page."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from improv_ble_client.protocol import Error, IdentifyCmd, State, WiFiSettingsCmd
from temporalio.client import Client

from activities.improv_ble import ImprovBleActivities
from adapters.errors import DeviceUnreachable
from adapters.improv import DeviceWebPage, Heartbeat, ImprovProvisioning
from domain.device import DeviceDescriptor
from domain.facts import DetectedDevice
from domain.requests import ClientBleOutcome, ClientBleReport, ImprovErrorName, NetworkCredentials
from simulators.improv_ble.handheld import HandheldImprovDevice
from worker.workers import edge_worker


class GatewayOutOfRange:
    """An `ImprovOnboardingPort` whose radio hears no device: a client-ble run must never
    need it (its device is next to a phone)."""

    def _absent(self, device: DeviceDescriptor) -> DeviceUnreachable:
        return DeviceUnreachable(
            f"no gateway radio hears device '{device.device_id}'",
            details={"device_id": device.device_id},
        )

    async def detect(self, device: DeviceDescriptor) -> DetectedDevice:
        raise self._absent(device)

    async def read_state(self, device: DeviceDescriptor) -> DetectedDevice:
        raise self._absent(device)

    async def identify(self, device: DeviceDescriptor) -> bool:
        raise self._absent(device)

    async def wait_for_authorization(
        self, device: DeviceDescriptor, timeout: float, heartbeat: Heartbeat | None = None
    ) -> State:
        raise self._absent(device)

    async def provision(
        self,
        device: DeviceDescriptor,
        network: NetworkCredentials,
        heartbeat: Heartbeat | None = None,
        timeout: float | None = None,
    ) -> ImprovProvisioning:
        raise self._absent(device)

    async def settled_redirect_url(
        self,
        device: DeviceDescriptor,
        heartbeat: Heartbeat | None = None,
        timeout: float | None = None,
    ) -> str | None:
        raise self._absent(device)

    async def release(self, device: DeviceDescriptor) -> int:
        return 0


@contextlib.asynccontextmanager
async def confirming_gateway(client: Client, site: str) -> AsyncIterator[None]:
    """The edge worker of `site`: Improv's activities over a radio that hears nothing and
    the devices' web pages on the LAN (loopback), where it confirms and resets."""
    async with httpx.AsyncClient(trust_env=False) as http:
        activities = ImprovBleActivities(
            GatewayOutOfRange(),
            DeviceWebPage(http, timeout=2.0),
            host_task_queue=f"edge.{site}.gateway-1",
            web_poll_interval=timedelta(seconds=0.2),
        )
        async with edge_worker(client, site=site, activities=activities.all()):
            yield


async def onboard_like_the_page(
    handheld: HandheldImprovDevice, ssid: str, passphrase: str, *, press: bool = True
) -> ClientBleReport:
    """What the console's page does over GATT, played in Python: read the state,
    identify, let the person press the button, send the credentials, wait for the
    outcome (by reading, as the page does without notifications)."""
    device = handheld.device
    handheld.connected("phone")
    if device.state is State.PROVISIONED:
        return ClientBleReport(
            outcome=ClientBleOutcome.ALREADY_PROVISIONED, device_name=device.local_name
        )
    handheld.write_rpc(IdentifyCmd().as_bytes())
    if press and device.state is State.AUTHORIZATION_REQUIRED:
        handheld.press_button()
    handheld.write_rpc(WiFiSettingsCmd(ssid.encode(), passphrase.encode()).as_bytes())
    async with asyncio.timeout(10):
        while device.state is State.PROVISIONING or (
            device.state is State.AUTHORIZED and device.error is Error.NO_ERROR
        ):
            await asyncio.sleep(0.05)
    final = State(int(device.state))  # changed by the device's clock meanwhile
    if final is State.PROVISIONED:
        return ClientBleReport(
            outcome=ClientBleOutcome.PROVISIONED,
            ssid=ssid,
            redirect_url=device.redirect_url,
            device_name=device.local_name,
        )
    return ClientBleReport(
        outcome=ClientBleOutcome.DEVICE_ERROR,
        ssid=ssid,
        error=ImprovErrorName(device.error.name.lower()),
        device_name=device.local_name,
    )
