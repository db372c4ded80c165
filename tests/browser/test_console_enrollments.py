"""The console's enrollments view: the allow-list switched on, a device enrolled from
the form, a CSV imported (and a bad one refused by line), an enrollment disabled — each
checked by what the API then lets through to the simulated device."""

from __future__ import annotations

import httpx
from playwright.async_api import FilePayload, Page, expect

from simulators.http_wifi import SimulatedWifiDevice
from tests.browser.conftest import ConsoleStack
from tests.browser.console_page import RUN_TIMEOUT, open_console, save_screenshot
from tests.browser.test_console import provision_until_in_service
from tests.integration.conftest import request_body


def _csv_file(name: str, content: bytes) -> FilePayload:
    return {"name": name, "mimeType": "text/csv", "buffer": content}


async def _start(stack: ConsoleStack, device_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.api.url, trust_env=False) as http:
        return await http.post(
            f"/api/v1/devices/{device_id}/provision",
            json=request_body(stack.site),
            headers={"Authorization": f"Bearer {stack.key}"},
        )


async def _require_enrollment(stack: ConsoleStack, required: bool) -> None:
    async with httpx.AsyncClient(base_url=stack.api.url, trust_env=False) as http:
        answer = await http.put(
            "/api/v1/tenant/settings",
            json={"enrollment_required": required},
            headers={"Authorization": f"Bearer {stack.key}"},
        )
        assert answer.status_code == 200, answer.text


async def test_enrollments_view_enrolls_imports_and_disables_devices(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    other = console_stack.add_device()
    await open_console(page, console_stack)
    await page.get_by_test_id("enrollments-link").click()
    status = page.get_by_test_id("enrollment-required-status")
    await expect(status).to_have_text("off")
    try:
        await page.get_by_test_id("enrollment-required").check()
        await expect(status).to_have_text("on")

        refused = await _start(console_stack, device.device_id)
        assert (refused.status_code, refused.json()["code"]) == (403, "DEVICE_NOT_ENROLLED")
        assert device.counters.rpc_calls == {}  # refused before any gateway spoke to it

        form = page.get_by_test_id("individual-form")
        await form.get_by_label("Device id").fill(device.device_id)
        await page.get_by_test_id("individual-form-submit").click()
        row = page.locator(f'[data-testid=individual-row][data-id="{device.device_id}"]')
        await expect(row).to_be_visible(timeout=RUN_TIMEOUT)
        await provision_until_in_service(console_stack, device)
        assert device.sta.ssid == request_body(console_stack.site)["network"]["ssid"]  # type: ignore[index]

        csv = page.get_by_test_id("enrollment-csv")
        bad = b"device_id,enabled\nplug-fine,true\nplug-bad,maybe\n"
        await csv.set_input_files(files=[_csv_file("bad.csv", bad)])
        await page.get_by_test_id("enrollment-import-submit").click()
        problem = page.get_by_test_id("enrollments-problem")
        await expect(problem).to_contain_text("body.3.enabled")
        await expect(page.get_by_test_id("enrollment-import-status")).to_have_text(
            "Nothing was imported."
        )

        good = f"device_id,serial\n{other.device_id},SN-42\n".encode()
        await csv.set_input_files(files=[_csv_file("ok.csv", good)])
        await page.get_by_test_id("enrollment-import-submit").click()
        await expect(page.get_by_test_id("enrollment-import-status")).to_have_text(
            "1 enrollment(s) imported."
        )
        other_row = page.locator(f'[data-testid=individual-row][data-id="{other.device_id}"]')
        await expect(other_row).to_contain_text("SN-42")
        await save_screenshot(page, "console-enrollments.png", docs=True)

        groups = page.get_by_test_id("group-form")
        await groups.get_by_label("Group id").fill("line-x")
        await groups.get_by_label("Device ids", exact=False).fill("plug-x-*")
        await groups.get_by_label("Default site").fill("hall")
        await page.get_by_test_id("group-form-submit").click()
        group_row = page.locator('[data-testid=group-row][data-id="line-x"]')
        await expect(group_row).to_contain_text("plug-x-*")
        await expect(group_row).to_contain_text("hall")

        toggle = other_row.get_by_test_id("individual-enabled")
        await toggle.uncheck()
        await expect(toggle).to_be_enabled()
        await expect(other_row).to_contain_text("disabled")
        refused = await _start(console_stack, other.device_id)
        assert (refused.status_code, refused.json()["code"]) == (403, "DEVICE_NOT_ENROLLED")
        assert other.counters.rpc_calls == {}
    finally:
        await _require_enrollment(console_stack, False)
