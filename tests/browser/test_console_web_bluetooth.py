"""Onboarding an Improv device from the console over Web Bluetooth (`client-ble`).

chromium runs at a phone's width with Web Bluetooth on
(`--enable-experimental-web-platform-features`); the Improv device is emulated through
the Chrome DevTools Protocol (`EmulatedImprovPeripheral`) over the simulator's state
machine, and the device chooser is answered through `DeviceAccess`. The run confirms the
device out of band, from the edge worker of its site, at the web page it answers at once
it joined.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Page,
    async_playwright,
    expect,
)
from temporalio.testing import WorkflowEnvironment

from simulators.http_wifi.fleet import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from simulators.improv_ble import ImprovDeviceSpec
from simulators.improv_ble.handheld import HandheldImprovDevice
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ConsoleStack
from tests.browser.console_page import (
    RUN_TIMEOUT,
    expect_run_state,
    fill_device,
    open_console,
    save_screenshot,
)
from tests.browser.improv_peripheral import (
    EmulatedImprovPeripheral,
    answer_device_chooser,
)
from tests.browser.test_console_on_a_phone import assert_fits_a_phone
from tests.improv_handheld import confirming_gateway

WEB_BLUETOOTH_ARGS = [*CHROMIUM_ARGS, "--enable-experimental-web-platform-features"]
PHONE = {"width": 390, "height": 844}
"""The installer's phone at the device (the console's phone width)."""


@pytest.fixture(scope="module")
async def bluetooth_browser() -> AsyncIterator[tuple[Browser, CDPSession]]:
    """chromium with Web Bluetooth, a browser of its own with an emulated adapter, and
    the browser-level session that drives the emulation."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=WEB_BLUETOOTH_ARGS, headless=True
        )
        try:
            yield browser, await browser.new_browser_cdp_session()
        finally:
            await browser.close()


@pytest.fixture
async def phone(
    bluetooth_browser: tuple[Browser, CDPSession],
) -> AsyncIterator[tuple[BrowserContext, Page]]:
    context = await bluetooth_browser[0].new_context(
        viewport=PHONE,  # type: ignore[arg-type]
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(30_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    try:
        yield context, page
    finally:
        await context.close()
    assert not errors, f"the console's scripts failed: {errors}"


@dataclass(frozen=True)
class Bulb:
    peripheral: EmulatedImprovPeripheral
    site: str

    @property
    def handheld(self) -> HandheldImprovDevice:
        return self.peripheral.handheld


@pytest.fixture
async def bulb(
    bluetooth_browser: tuple[Browser, CDPSession],
    console_stack: ConsoleStack,
    temporal_env: WorkflowEnvironment,
) -> AsyncIterator[Bulb]:
    """An Improv bulb with a button, next to the browser; a gateway of its site that
    cannot hear it but reaches its web page."""
    device_id = f"bulb-{uuid.uuid4().hex[:6]}"
    site = f"phone{uuid.uuid4().hex[:6]}"
    spec = ImprovDeviceSpec(device_id=device_id, friendly_name="Porch bulb", join_delay=0.3)
    session = bluetooth_browser[1]
    async with (
        HandheldImprovDevice(spec) as handheld,
        confirming_gateway(temporal_env.client, site),
    ):
        address = "0C:DE:57:" + ":".join(f"{b:02X}" for b in uuid.uuid4().bytes[:3])
        peripheral = EmulatedImprovPeripheral(session, handheld, address)
        await peripheral.power_on()
        yield Bulb(peripheral, site)
        await console_stack.end_run(device_id)
    # Its adapter goes with it: the next test's context gets a fresh one.
    await session.send("BluetoothEmulation.disable")


async def start_browser_run(page: Page, stack: ConsoleStack, device_id: str, site: str) -> None:
    """Describe the Improv device in the form and start a run onboarded from here."""
    await open_console(page, stack)
    await page.get_by_test_id("new-run-link").click()
    form = page.get_by_test_id("start-form")
    await form.get_by_label("Device id").fill(device_id)
    await fill_device(form, site, type_="wifi-light", capabilities="ble improv wifi")
    await form.get_by_label("Vendor", exact=True).fill("esphome")
    await form.get_by_role("button", name="Check device").click()
    await expect(form.get_by_test_id("start-match-strategy")).to_have_text("improv-ble")
    await form.get_by_label("This browser, over Bluetooth").check()
    await expect(form.get_by_label("Passphrase")).to_be_hidden()
    await form.get_by_role("button", name="Start provisioning").click()
    await expect(page.get_by_test_id("run-device-id")).to_have_text(device_id)


async def connect_and_send(page: Page, passphrase: str) -> None:
    form = page.get_by_test_id("ble-form")
    await form.get_by_label("Network name (SSID)").fill(LAB_NETWORK_SSID)
    await form.get_by_label("Passphrase").fill(passphrase)
    await form.get_by_role("button", name="Connect and send").click()


async def test_an_improv_device_onboarded_from_the_page_over_web_bluetooth_succeeds(
    phone: tuple[BrowserContext, Page], bulb: Bulb, console_stack: ConsoleStack
) -> None:
    context, page = phone
    device = bulb.handheld.device
    await start_browser_run(page, console_stack, device.device_id, bulb.site)
    form = page.get_by_test_id("ble-form")
    await expect(form).to_be_visible(timeout=RUN_TIMEOUT)
    await expect(form.get_by_test_id("ble-name")).to_have_text(device.device_id)
    await assert_fits_a_phone(page, "bluetooth")  # width, Tab order, axe-core
    chooser = await answer_device_chooser(
        await context.new_cdp_session(page), bulb.peripheral.address
    )

    await connect_and_send(page, LAB_NETWORK_PASSPHRASE)
    # The person at the device presses its button when the page asks.
    await expect(form.get_by_test_id("ble-press-button")).to_be_visible()
    assert device.counters.identifies == 1
    bulb.handheld.press_button()

    await expect(form.get_by_test_id("ble-joined")).to_be_visible()
    await expect_run_state(page, "SUCCEEDED")
    await expect(page.get_by_test_id("run-message")).to_contain_text(
        f"device joined '{LAB_NETWORK_SSID}'"
    )
    await expect(form.get_by_test_id("ble-device-info")).to_contain_text("Porch bulb")
    assert len(chooser) == 1
    assert bulb.peripheral.log.connections == 1
    assert device.wifi.joined
    assert device.wifi.ssid == LAB_NETWORK_SSID
    assert device.counters.provisions_succeeded == 1
    # The passphrase went to the device over GATT, and nowhere near the API.
    assert LAB_NETWORK_PASSPHRASE.encode() in b"".join(bulb.peripheral.log.writes)
    assert bulb.peripheral.log.reads["state"] > 1  # followed by reading: no notifications
    assert LAB_NETWORK_PASSPHRASE not in await page.get_by_test_id("run-view").inner_text()
    await save_screenshot(page, "console-web-bluetooth.png", docs=True)


async def test_wrong_credentials_reported_by_the_device_show_on_the_run(
    phone: tuple[BrowserContext, Page], bulb: Bulb, console_stack: ConsoleStack
) -> None:
    context, page = phone
    device = bulb.handheld.device
    device.set_faults(
        device.faults.model_copy(update={"auto_authorize": True}), bulb.handheld.now()
    )
    await start_browser_run(page, console_stack, device.device_id, bulb.site)
    form = page.get_by_test_id("ble-form")
    await expect(form).to_be_visible(timeout=RUN_TIMEOUT)
    await answer_device_chooser(await context.new_cdp_session(page), bulb.peripheral.address)

    await connect_and_send(page, "not-the-passphrase")

    await expect(form.get_by_test_id("ble-device-error")).to_contain_text("unable to connect")
    await expect(page.get_by_test_id("run-error-code")).to_have_text("CREDENTIALS_REJECTED")
    await expect_run_state(page, "WAITING_FOR_DEVICE")
    await expect(form.get_by_test_id("ble-rejection")).to_contain_text(
        f"could not join '{LAB_NETWORK_SSID}'"
    )
    await expect(form.get_by_role("button", name="Connect and send")).to_be_enabled()
    assert device.counters.join_failures == 1
    assert not device.wifi.joined


async def test_a_browser_without_web_bluetooth_says_so_instead_of_failing(
    page: Page, console_stack: ConsoleStack
) -> None:
    # The suite's shared chromium runs without Web Bluetooth, like Firefox or Safari.
    device_id = f"bulb-{uuid.uuid4().hex[:6]}"
    body = {
        "device": {
            "type": "wifi-light",
            "vendor": "esphome",
            "capabilities": ["ble", "improv", "wifi"],
            "site": console_stack.site,
        },
        "transport": "client-ble",
    }
    async with httpx.AsyncClient(base_url=console_stack.api.url, trust_env=False) as http:
        started = await http.post(
            f"/api/v1/devices/{device_id}/provision",
            json=body,
            headers={"Authorization": f"Bearer {console_stack.key}"},
        )
    assert started.status_code == 202, started.text
    try:
        await open_console(page, console_stack)
        await page.goto(f"{console_stack.console_url}#/runs/{device_id}")

        form = page.get_by_test_id("ble-form")
        await expect(form.get_by_test_id("ble-unsupported")).to_be_visible(timeout=RUN_TIMEOUT)
        await expect(form.get_by_role("button", name="Connect and send")).to_be_disabled()
        await expect(page.get_by_test_id("device-prompt")).to_be_hidden()
    finally:
        await console_stack.end_run(device_id)
