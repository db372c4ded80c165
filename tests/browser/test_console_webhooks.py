"""The console's webhooks view: a webhook added from the form shows its secret once, is
disabled and enabled again, gets a new secret, shows its (empty) delivery log and is
deleted — each checked against what the API then holds."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import ConsoleStack
from tests.browser.console_page import open_console, save_screenshot

RECEIVER = "https://receiver.example/devprov"


async def _webhook(stack: ConsoleStack, webhook_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.api.url, trust_env=False) as http:
        answer = await http.get(
            f"/api/v1/webhooks/{webhook_id}", headers={"Authorization": f"Bearer {stack.key}"}
        )
    assert answer.status_code == 200, answer.text
    webhook: dict[str, Any] = answer.json()
    return webhook


async def test_webhooks_view_adds_disables_rotates_and_deletes_a_webhook(
    page: Page, console_stack: ConsoleStack
) -> None:
    await open_console(page, console_stack)
    await page.get_by_test_id("webhooks-link").click()
    await expect(page.get_by_test_id("webhooks-view")).to_be_visible()

    await page.get_by_label("Receiver URL").fill(RECEIVER)
    description = f"the ERP {uuid.uuid4().hex[:6]}"  # the console stack is shared
    await page.get_by_label("Description").fill(description)
    await page.get_by_test_id("webhook-event-run.state_changed").check()
    await page.get_by_test_id("webhook-form-submit").click()
    secret = page.get_by_test_id("webhook-secret")
    await expect(secret).to_contain_text("whsec_")
    first_secret = await secret.inner_text()
    row = page.get_by_test_id("webhook-row").filter(has_text=description)
    await expect(row).to_contain_text("run.state_changed")
    webhook_id = await row.get_attribute("data-id")
    assert webhook_id is not None
    created = await _webhook(console_stack, webhook_id)
    assert created["events"] == ["run.succeeded", "run.failed", "run.state_changed"]
    assert "secret" not in created

    toggle = row.get_by_test_id("webhook-enabled")
    await toggle.uncheck()
    await expect(row).to_contain_text("disabled")
    assert (await _webhook(console_stack, webhook_id))["enabled"] is False
    await toggle.check()
    await expect(row).to_contain_text("enabled")
    assert (await _webhook(console_stack, webhook_id))["enabled"] is True

    await row.get_by_test_id("webhook-rotate").click()
    await expect(secret).not_to_have_text(first_secret)
    await expect(secret).to_contain_text("whsec_")
    await expect(page.get_by_test_id("webhook-secret-notice")).to_contain_text(
        "old secret signs too until"
    )
    await expect(row).to_contain_text("old secret signs too until")
    assert (await _webhook(console_stack, webhook_id))["previous_secret_expires_at"]

    await row.get_by_test_id("webhook-show-deliveries").click()
    await expect(page.get_by_test_id("deliveries-status")).to_have_text("No event sent yet.")
    await save_screenshot(page, "console-webhooks.png")

    await row.get_by_test_id("webhook-delete").click()
    await expect(row).to_have_count(0)
    async with httpx.AsyncClient(base_url=console_stack.api.url, trust_env=False) as http:
        gone = await http.get(
            f"/api/v1/webhooks/{webhook_id}",
            headers={"Authorization": f"Bearer {console_stack.key}"},
        )
    assert gone.status_code == 404
