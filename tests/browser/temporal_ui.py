"""A run's page in the Temporal Web UI, read in Debian's chromium as an operator would."""

from __future__ import annotations

import asyncio

from playwright.async_api import async_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT

CODEC_ERRORS = ("Codec Server could not connect", "codec server", "Codec Server")
"""What the Web UI says when it cannot reach, or is refused by, the codec server."""
ENCRYPTED = "binary/encrypted"
"""The encoding of devprov's payloads, shown when the UI could not decode them."""


async def run_page_text(ui_url: str, workflow_id: str, expected: str) -> str:
    """The text of the run's page once `expected` shows in it (or after 45 s)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            await page.goto(f"{ui_url}/namespaces/default/workflows/{workflow_id}")
            text = ""
            for _ in range(90):
                text = await page.inner_text("body")
                if expected in text:
                    break
                await asyncio.sleep(0.5)
            return text
        finally:
            await browser.close()
