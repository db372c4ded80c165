"""Every view of the console on a 390 px wide phone screen: nothing wider than the
screen, every control reached by Tab in the page's order, and no serious or critical
violation found by axe-core (the engine Deque publishes on npm; `axe-playwright-python`
ships it and injects it into the page)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from simulators.http_wifi import SimulatedWifiDevice
from tests.browser.conftest import ConsoleStack
from tests.browser.console_page import (
    RUN_TIMEOUT,
    expect_run_state,
    open_console,
    save_screenshot,
)
from tests.browser.test_console import provision_until_in_service
from tests.integration.conftest import request_body

PHONE = {"width": 390, "height": 844}
SERIOUS = {"serious", "critical"}
FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]"


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport=PHONE,  # type: ignore[arg-type]
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"the console's scripts failed: {errors}"


async def overflow(page: Page) -> list[str]:
    """Elements that reach past the right edge of the screen (none when it fits)."""
    found: list[str] = await page.evaluate(
        """(width) => [...document.querySelectorAll("body *")]
            .filter((el) => el.getClientRects().length)
            .filter((el) => el.getBoundingClientRect().right > width + 1)
            .filter((el) => !el.closest(".table-wrap"))
            .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`)""",
        PHONE["width"],
    )
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return found if width > PHONE["width"] else []


SIGNATURE = """(el) => el.closest("#runs-body, [data-testid=device-runs]") ? ""
    : [el.tagName.toLowerCase(), el.id || el.dataset.testid || el.name
    || el.getAttribute("aria-label") || (el.textContent || "").trim().slice(0, 40)].join(":")"""
"""What names a control across re-renders (a view redraws its elements as the run moves);
nothing for the rows of the runs list and of a device's runs, which refresh on a timer."""


async def tab_order(page: Page) -> tuple[list[str], list[str]]:
    """The visible, enabled controls in page order, and the ones Tab reached, in order."""
    expected: list[str] = await page.evaluate(
        f"""(selector) => {{
            // Tab starts after the focused element: start from the top of the page.
            const start = document.createElement("span");
            start.tabIndex = -1;
            start.id = "tab-probe-start";
            document.body.prepend(start);
            start.focus();
            // A region that scrolls sideways (a wide table) with no control inside is
            // reached by Tab itself, to scroll it (Chromium's keyboard-focusable scrollers).
            const scrolls = (el) => el.classList.contains("table-wrap")
                && el.scrollWidth > el.clientWidth && !el.querySelector(selector);
            return [...document.querySelectorAll(`${{selector}}, .table-wrap`)]
                .filter((el) => el.getClientRects().length && !el.disabled
                    && (el.tabIndex >= 0 || scrolls(el))
                    && !(el.classList.contains("table-wrap") && !scrolls(el) && el.tabIndex < 0)
                    && getComputedStyle(el).visibility !== "hidden")
                .map({SIGNATURE}).filter(Boolean);
        }}""",
        FOCUSABLE,
    )
    # Rows of the runs list are reached too but not compared: they count in the budget.
    controls: int = await page.evaluate(
        "(selector) => document.querySelectorAll(`${selector}, .table-wrap`).length", FOCUSABLE
    )
    reached: list[str] = []
    for _ in range(2 * controls + 4):
        await page.keyboard.press("Tab")
        active = await page.evaluate(
            f"() => document.activeElement && ({SIGNATURE})(document.activeElement)"
        )
        if reached[:1] == [active]:
            break  # round the page and back at its start
        # Nothing focused: past the page's end (the next Tab starts over), or the runs
        # list redrew the row that had the focus (it refreshes every two seconds; Tab
        # goes on from where that row was). The list's rows are not compared: they
        # change as other runs move.
        if active and not active.startswith("body:"):
            reached.append(active)
    await page.evaluate("document.getElementById('tab-probe-start').remove()")
    return expected, reached


async def assert_fits_a_phone(page: Page, view: str) -> None:
    assert await overflow(page) == [], f"{view}: wider than a phone"
    expected, reached = await tab_order(page)
    for _ in range(2):
        # A walk that came back to the page's start early, in page order so far, met a
        # redraw of the runs list that took the focus (the list refreshes every two
        # seconds; Chromium then went on from the top once in CI-size runs, not from
        # the removed row). A walk that went on past the controls counted, in their
        # order, met a view still rendering (the device view's re-provisioning form
        # appeared during one in a CI-size run). Walk again either way; a wrong order
        # is a prefix of neither and fails.
        cut_short = reached == expected[: len(reached)]
        page_grew = expected == reached[: len(expected)]
        if reached == expected or not (cut_short or page_grew):
            break
        expected, reached = await tab_order(page)
    assert reached == expected, f"{view}: Tab order {reached}, controls in page order {expected}"
    results = await Axe().run(page)
    response: dict[str, Any] = results.response
    serious = [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']]}"
        for v in response["violations"]
        if v["impact"] in SERIOUS
    ]
    assert serious == [], f"{view}: axe-core found {serious}"
    await save_screenshot(page, f"console-phone-{view}.png", docs=view in {"new-run", "run"})


async def test_every_view_fits_a_phone_is_reachable_by_keyboard_and_passes_axe(
    phone: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await provision_until_in_service(console_stack, device)
    await open_console(phone, console_stack)
    await expect(
        phone.get_by_test_id("start-form").get_by_label("Type", exact=True)
    ).not_to_have_value("")
    await assert_fits_a_phone(phone, "new-run")

    await phone.goto(f"{console_stack.console_url}#/runs/{device.device_id}")
    await expect_run_state(phone, "SUCCEEDED")
    await assert_fits_a_phone(phone, "run")

    await phone.goto(f"{console_stack.console_url}#/devices")
    await expect(phone.get_by_test_id("devices-status")).to_contain_text("device(s)")
    await assert_fits_a_phone(phone, "devices")

    await phone.goto(f"{console_stack.console_url}#/devices/{device.device_id}")
    await expect(phone.get_by_test_id("device-state")).to_have_text("IN_SERVICE")
    # Its runs come from visibility, a moment after the record: wait for them to show.
    await expect(phone.get_by_test_id("device-run").first).to_be_visible(timeout=RUN_TIMEOUT)
    await assert_fits_a_phone(phone, "device")
    await phone.get_by_role("button", name="Re-provision").click()
    await expect(phone.get_by_test_id("reprovision-form")).to_be_visible()
    await assert_fits_a_phone(phone, "reprovision")

    await phone.goto(f"{console_stack.console_url}#/fleets")
    await expect(phone.get_by_test_id("fleet-form")).to_be_visible()
    await assert_fits_a_phone(phone, "fleets")

    await phone.goto(f"{console_stack.console_url}#/enrollments")
    await expect(phone.get_by_test_id("enrollment-required-status")).to_have_text("off")
    await expect(phone.get_by_test_id("group-status")).not_to_be_empty()
    await assert_fits_a_phone(phone, "enrollments")

    async with httpx.AsyncClient(base_url=console_stack.api.url, trust_env=False) as http:
        added = await http.post(
            "/api/v1/webhooks",
            json={
                "url": "https://receiver.example/devprov",
                "events": ["run.succeeded"],
                "description": "a phone's receiver",
            },
            headers={"Authorization": f"Bearer {console_stack.key}"},
        )
        assert added.status_code == 201, added.text
    await phone.goto(f"{console_stack.console_url}#/webhooks")
    # The console stack is shared: other tests' webhooks may be listed too.
    listed = phone.get_by_test_id("webhook-row").filter(has_text="a phone's receiver")
    await expect(listed).to_have_count(1)
    await assert_fits_a_phone(phone, "webhooks")

    fleet_id = f"phone-{uuid.uuid4().hex[:6]}"
    single = request_body(console_stack.site)
    body = {
        "template": single["device"],
        "devices": [{"device_id": console_stack.add_device().device_id}],
        "network": single["network"],
    }
    async with httpx.AsyncClient(base_url=console_stack.api.url, trust_env=False) as http:
        started = await http.post(
            f"/api/v1/fleets/{fleet_id}/provision",
            json=body,
            headers={"Authorization": f"Bearer {console_stack.key}"},
        )
        assert started.status_code == 202, started.text
    await phone.goto(f"{console_stack.console_url}#/fleets/{fleet_id}")
    await expect(phone.get_by_test_id("fleet-state")).to_have_text("COMPLETED", timeout=RUN_TIMEOUT)
    await assert_fits_a_phone(phone, "fleet")
