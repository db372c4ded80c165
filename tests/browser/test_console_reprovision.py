"""Re-provisioning a device in service from its page in the console (`reprovision` with
one of its strategy's policies: docs/runbooks/move-to-a-new-network.md)."""

from __future__ import annotations

from playwright.async_api import Page, expect

from simulators.http_wifi import SimulatedWifiDevice
from tests.browser.conftest import ConsoleStack
from tests.browser.console_page import RUN_TIMEOUT, expect_run_state, open_console
from tests.browser.test_console import provision_until_in_service

NEW_SSID = "devprov-lab-2"
NEW_PASSPHRASE = "another-horse-battery"


async def test_a_device_re_provisioned_from_its_page_moves_to_the_new_network(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    console_stack.fleet.set_network(NEW_SSID, NEW_PASSPHRASE)
    await provision_until_in_service(console_stack, device)
    await open_console(page, console_stack)
    await page.goto(f"{console_stack.console_url}#/devices/{device.device_id}")
    record = page.get_by_test_id("device-record")
    await expect(record.get_by_test_id("device-state")).to_have_text("IN_SERVICE")

    await record.get_by_role("button", name="Re-provision").click()
    form = record.get_by_test_id("reprovision-form")
    await form.get_by_label("Policy").select_option("migrate")
    await expect(form.get_by_test_id("reprovision-note")).to_contain_text("fallback")
    await form.get_by_label("Network name (SSID)").fill(NEW_SSID)
    await form.get_by_label("Passphrase").fill(NEW_PASSPHRASE)
    await form.get_by_role("button", name="Start re-provisioning").click()

    await expect(page.get_by_test_id("run-device-id")).to_have_text(device.device_id)
    await expect_run_state(page, "SUCCEEDED")
    await expect(page.get_by_test_id("run-message")).to_contain_text(NEW_SSID)
    assert device.sta.ssid == NEW_SSID
    assert device.counters.factory_resets == 0
    await page.goto(f"{console_stack.console_url}#/devices/{device.device_id}")
    await expect(record.get_by_test_id("device-network_ssid")).to_have_text(
        NEW_SSID, timeout=RUN_TIMEOUT
    )


async def test_a_migration_without_a_network_is_refused_in_the_page(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await provision_until_in_service(console_stack, device)
    await open_console(page, console_stack)
    await page.goto(f"{console_stack.console_url}#/devices/{device.device_id}")
    record = page.get_by_test_id("device-record")

    await record.get_by_role("button", name="Re-provision").click()
    form = record.get_by_test_id("reprovision-form")
    await form.get_by_label("Policy").select_option("migrate")
    await form.get_by_role("button", name="Start re-provisioning").click()

    await expect(form.get_by_role("alert")).to_contain_text("needs the network")
    options = await form.get_by_label("Policy").locator("option").all_inner_texts()
    assert "never" not in options
    assert set(options) <= {"reset", "migrate"}
