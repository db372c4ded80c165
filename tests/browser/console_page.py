"""What a person does in the console, as steps the browser tests share."""

from __future__ import annotations

import os

from playwright.async_api import Locator, Page, expect

from simulators.http_wifi import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID
from tests.browser.conftest import ARTIFACTS, ROOT, ConsoleStack

DOCS_IMAGES = ROOT / "docs" / "images"

RUN_TIMEOUT = 45_000
"""How long a run may take to reach a state a test waits for (a loaded 2-core machine)."""


async def open_console(page: Page, stack: ConsoleStack) -> None:
    """Open the console and give it the API key, as someone with `make run`'s banner would."""
    await page.goto(stack.console_url)
    await page.get_by_label("API key").fill(stack.key)
    await page.get_by_test_id("api-key-save").click()
    await expect(page.get_by_test_id("api-key-status")).to_have_text("Key set for this tab.")


async def start_run(
    page: Page, stack: ConsoleStack, device_id: str, *, with_network: bool = True
) -> None:
    """Describe the device in the form, check which strategy matches, start the run."""
    await page.get_by_test_id("new-run-link").click()
    form = page.get_by_test_id("start-form")
    await form.get_by_label("Device id").fill(device_id)
    await fill_device(form, stack.site)
    await form.get_by_label("Network name (SSID)").fill(LAB_NETWORK_SSID if with_network else "")
    await form.get_by_label("Passphrase").fill(LAB_NETWORK_PASSPHRASE if with_network else "")
    await form.get_by_role("button", name="Check device").click()
    await expect(form.get_by_test_id("start-match-strategy")).to_have_text("http-wifi")
    await form.get_by_role("button", name="Start provisioning").click()
    await expect(page.get_by_test_id("run-device-id")).to_have_text(device_id)


async def fill_device(
    form: Locator, site: str, *, type_: str = "wifi-relay", capabilities: str = "wifi http-rpc"
) -> None:
    """Describe a device in the form's fields (built from its family's request schema)."""
    await form.get_by_label("Type", exact=True).fill(type_)
    await form.get_by_label("Vendor", exact=True).fill("shelly")
    await form.get_by_label("Capabilities", exact=True).fill(capabilities)
    await form.get_by_label("Site", exact=True).fill(site)
    await form.get_by_label("Model", exact=True).fill("")
    await form.get_by_label("Other transport hints", exact=True).fill("")


def timeline_event(page: Page, state: str) -> Locator:
    """The timeline's entries of `state` (for the current run)."""
    return page.get_by_test_id("timeline").locator(
        f'[data-testid="timeline-event"][data-state="{state}"]'
    )


async def expect_run_state(page: Page, state: str) -> None:
    """The run view's state badge shows `state`."""
    await expect(page.get_by_test_id("run-state")).to_have_text(state, timeout=RUN_TIMEOUT)


async def answer_credentials(page: Page, passphrase: str) -> None:
    """Fill the run's credentials prompt and send it."""
    form = page.get_by_test_id("credentials-form")
    await form.get_by_label("Network name (SSID)").fill(LAB_NETWORK_SSID)
    await form.get_by_label("Passphrase").fill(passphrase)
    await form.get_by_role("button", name="Send credentials").click()


async def save_screenshot(page: Page, name: str, *, docs: bool = False) -> None:
    """Keep a screenshot under test-artifacts/; with DEVPROV_DOCS_SCREENSHOTS=1, `docs`
    ones also replace the committed copy under docs/images/."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / name, full_page=True)
    if docs and os.environ.get("DEVPROV_DOCS_SCREENSHOTS") == "1":
        await page.screenshot(path=DOCS_IMAGES / name, full_page=True)
