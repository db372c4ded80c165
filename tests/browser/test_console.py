"""The web console as an installer uses it, in chromium against the real stack."""

from __future__ import annotations

from playwright.async_api import Page, expect

from simulators.http_wifi import SimulatedWifiDevice
from tests.browser.conftest import ARTIFACTS, ConsoleStack
from tests.browser.console_page import (
    RUN_TIMEOUT,
    expect_run_state,
    open_console,
    start_run,
    timeline_event,
)


async def test_run_started_from_the_console_streams_its_states_to_succeeded(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await open_console(page, console_stack)

    await start_run(page, console_stack, device.device_id)

    timeline = page.get_by_test_id("timeline")
    await expect(timeline_event(page, "SUCCEEDED")).to_contain_text(
        "device joined 'devprov-lab'", timeout=RUN_TIMEOUT
    )
    for state in ("PENDING", "DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING"):
        await expect(timeline_event(page, state).first).to_be_visible()
    await expect_run_state(page, "SUCCEEDED")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "console-run.png", full_page=True)
    await expect(timeline).not_to_contain_text("correct-horse-battery")
