"""The web console as an installer uses it, in chromium against the real stack."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import httpx
from playwright.async_api import APIResponse, Page, Route, expect

from simulators.http_wifi import LAB_NETWORK_PASSPHRASE, LAB_NETWORK_SSID, SimulatedWifiDevice
from tests.browser.conftest import ConsoleStack
from tests.browser.console_page import (
    RUN_TIMEOUT,
    answer_credentials,
    expect_run_state,
    fill_device,
    open_console,
    save_screenshot,
    start_run,
    timeline_event,
)
from tests.integration.conftest import request_body
from tests.integration.test_http_wifi_pipeline import set_faults


async def test_run_started_from_the_console_streams_its_states_to_succeeded(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await open_console(page, console_stack)

    await start_run(page, console_stack, device.device_id)

    await expect(timeline_event(page, "SUCCEEDED")).to_contain_text(
        "device joined 'devprov-lab'", timeout=RUN_TIMEOUT
    )
    for state in ("PENDING", "DETECTING", "PRE_CHECK", "PROVISIONING", "CONFIRMING"):
        await expect(timeline_event(page, state).first).to_be_visible()
    await expect_run_state(page, "SUCCEEDED")
    await expect(page.get_by_test_id("stream-status")).to_have_text("run ended")
    await save_screenshot(page, "console-succeeded.png")


async def test_start_form_shows_which_strategy_runs_and_what_it_will_ask_for(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await open_console(page, console_stack)
    await page.get_by_test_id("new-run-link").click()
    form = page.get_by_test_id("start-form")
    await form.get_by_label("Device id").fill(device.device_id)
    await fill_device(form, console_stack.site)
    await form.get_by_label("Network name (SSID)").fill("")

    await form.get_by_role("button", name="Check device").click()

    await expect(form.get_by_test_id("start-match-strategy")).to_have_text("http-wifi")
    await expect(form.get_by_test_id("start-match-asks")).to_contain_text("PENDING_NETWORK")
    await expect(form.get_by_role("button", name="Start provisioning")).to_be_enabled()


async def test_start_form_offers_each_familys_example_request_from_the_api(
    page: Page, console_stack: ConsoleStack
) -> None:
    await open_console(page, console_stack)
    await page.get_by_test_id("new-run-link").click()
    form = page.get_by_test_id("start-form")
    # The first example fills the form as soon as the examples have loaded.
    await expect(form.get_by_label("Device id")).not_to_have_value("")
    async with httpx.AsyncClient(base_url=console_stack.api.url, trust_env=False) as http:
        listed = await http.get(
            "/api/v1/strategies", headers={"Authorization": f"Bearer {console_stack.key}"}
        )
    strategies = listed.json()
    titles = [f"{e['title']} ({s['name']})" for s in strategies for e in s["examples"]]
    await expect(form.get_by_label("Start from").locator("option")).to_have_text(titles)

    await form.get_by_label("Start from").select_option(
        label="Zigbee plug with an install code (zigbee)"
    )
    await form.get_by_role("button", name="Check device").click()

    await expect(form.get_by_label("Device id")).to_have_value("zb-plug-office")
    await expect(form.get_by_label("Transport hint: ieee")).to_have_value("00:12:4b:00:25:1c:2d:02")
    await expect(form.get_by_label("Capabilities", exact=True)).to_have_value("zigbee")
    await expect(form.get_by_test_id("start-match-strategy")).to_have_text("zigbee")
    await expect(form.get_by_label("Secret: install_code")).not_to_have_value("")
    await save_screenshot(page, "console-new-run.png", docs=True)


async def test_start_form_checks_the_familys_schema_before_sending_anything(
    page: Page, console_stack: ConsoleStack
) -> None:
    matches: list[str] = []
    page.on("request", lambda r: matches.append(r.url) if "/strategies/match" in r.url else None)
    await open_console(page, console_stack)
    await page.get_by_test_id("new-run-link").click()
    form = page.get_by_test_id("start-form")
    await form.get_by_label("Start from").select_option(
        label="Zigbee plug with an install code (zigbee)"
    )
    # The Zigbee family's schema asks for the device's IEEE address; a site is lowercase.
    await form.get_by_label("Transport hint: ieee").fill("")
    await form.get_by_label("Site", exact=True).fill("Not A Site")

    await form.get_by_role("button", name="Check device").click()

    problem = form.get_by_test_id("start-problem-detail")
    await expect(problem).to_contain_text("Transport hint: ieee is required.")
    await expect(problem).to_contain_text("Site is not in the expected form.")
    await expect(form.get_by_label("Site", exact=True)).to_have_attribute("aria-invalid", "true")
    await expect(form.get_by_role("button", name="Start provisioning")).to_be_disabled()
    assert matches == []


async def test_unsupported_device_shows_why_no_strategy_matches(
    page: Page, console_stack: ConsoleStack
) -> None:
    await open_console(page, console_stack)
    await page.get_by_test_id("new-run-link").click()
    form = page.get_by_test_id("start-form")
    await form.get_by_label("Device id").fill("toaster-1")
    await fill_device(form, console_stack.site, type_="toaster", capabilities="infrared")

    await form.get_by_role("button", name="Check device").click()

    problem = form.get_by_test_id("start-problem-detail")
    await expect(problem).to_contain_text("UNSUPPORTED_DEVICE")
    await expect(problem).to_contain_text("http-wifi: ")
    await expect(form.get_by_role("button", name="Start provisioning")).to_be_disabled()


async def test_run_without_network_asks_for_credentials_and_succeeds_once_given(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await open_console(page, console_stack)
    await start_run(page, console_stack, device.device_id, with_network=False)

    prompt = page.get_by_test_id("credentials-form")
    await expect(prompt).to_be_visible(timeout=RUN_TIMEOUT)
    await expect(prompt.get_by_label("Passphrase")).to_have_attribute("type", "password")
    await expect(page.get_by_test_id("credentials-rejection")).to_be_hidden()
    await answer_credentials(page, LAB_NETWORK_PASSPHRASE)

    await expect_run_state(page, "SUCCEEDED")
    await expect(prompt).to_be_hidden()
    await expect(timeline_event(page, "PENDING_NETWORK").first).to_contain_text(
        "waiting for network credentials"
    )


async def test_device_prompt_shows_while_the_run_waits_for_the_device(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    set_faults(device, unreachable=True)
    await open_console(page, console_stack)
    await start_run(page, console_stack, device.device_id)

    prompt = page.get_by_test_id("device-prompt")
    await expect(prompt).to_contain_text("put it in set-up mode", timeout=RUN_TIMEOUT)
    set_faults(device, unreachable=False)

    await expect_run_state(page, "SUCCEEDED")
    await expect(prompt).to_be_hidden()


async def test_forget_credentials_makes_the_run_ask_for_them(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    set_faults(device, unreachable=True)
    await open_console(page, console_stack)
    await start_run(page, console_stack, device.device_id)
    await expect(page.get_by_test_id("device-prompt")).to_be_visible(timeout=RUN_TIMEOUT)

    await page.get_by_role("button", name="Forget credentials").click()
    await expect(page.get_by_test_id("action-note")).to_contain_text("forgot its credentials")
    set_faults(device, unreachable=False)

    await expect(page.get_by_test_id("credentials-form")).to_be_visible(timeout=RUN_TIMEOUT)
    await expect(page.get_by_test_id("run-attempt")).to_have_text("1")


async def test_cancel_ends_the_waiting_run(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await open_console(page, console_stack)
    await start_run(page, console_stack, device.device_id, with_network=False)
    await expect(page.get_by_test_id("credentials-form")).to_be_visible(timeout=RUN_TIMEOUT)

    await page.get_by_role("button", name="Cancel and roll back").click()

    await expect_run_state(page, "CANCELLED")
    await expect(timeline_event(page, "CANCELLED")).to_contain_text("CANCELLED_BY_USER")
    await expect(page.get_by_test_id("credentials-form")).to_be_hidden()
    await expect(page.get_by_role("button", name="Cancel and roll back")).to_be_disabled()
    assert device.in_setup_mode


async def test_failed_run_rolls_back_and_retry_starts_a_new_run_that_succeeds(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    set_faults(device, never_joins=True)
    await open_console(page, console_stack)
    await start_run(page, console_stack, device.device_id)

    await expect_run_state(page, "ROLLED_BACK")
    await expect(timeline_event(page, "ROLLING_BACK")).to_be_visible()
    await expect(timeline_event(page, "ROLLED_BACK")).to_contain_text("NETWORK_JOIN_TIMEOUT")
    first_run = await page.get_by_test_id("run-id").inner_text()
    set_faults(device, never_joins=False)

    await page.get_by_role("button", name="Retry").click()

    await expect(page.get_by_test_id("action-note")).to_have_text("Retry started a new run.")
    await expect_run_state(page, "SUCCEEDED")
    await expect(page.get_by_test_id("run-id")).not_to_have_text(first_run)
    await expect(timeline_event(page, "SUCCEEDED")).to_be_visible()
    await expect(page.get_by_test_id("earlier-run")).to_contain_text("ROLLED_BACK")
    await save_screenshot(page, "console-retried.png")


async def test_a_status_answer_overtaken_by_a_newer_one_does_not_bring_back_the_earlier_run(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    """A loaded API can answer an older status read (the finished run) after a newer one
    (the run a retry started): the console keeps showing the newer run."""
    set_faults(device, never_joins=True)
    await open_console(page, console_stack)
    await start_run(page, console_stack, device.device_id)
    await expect_run_state(page, "ROLLED_BACK")
    first_run = await page.get_by_test_id("run-id").inner_text()
    set_faults(device, never_joins=False)

    held: list[tuple[Route, APIResponse]] = []
    holding = True

    async def hold_status_reads(route: Route) -> None:
        if holding and route.request.method == "GET":
            held.append((route, await route.fetch()))  # the server's answer, delivered late
        else:
            await route.fallback()

    await page.route(re.compile(r".*/devices/[^/]+/provision$"), hold_status_reads)
    while not held:  # the next poll of the finished run (every 5 s)
        await asyncio.sleep(0.1)
    holding = False
    await page.get_by_role("button", name="Retry").click()
    await expect(page.get_by_test_id("run-id")).not_to_have_text(first_run)
    new_run = await page.get_by_test_id("run-id").inner_text()

    for route, answer in held:
        assert answer.ok
        assert (await answer.json())["run_id"] == first_run
        await route.fulfill(response=answer)
    await page.wait_for_timeout(1_000)  # what a late answer would have done, it has done

    await expect(page.get_by_test_id("run-id")).to_have_text(new_run)
    await expect(page.get_by_test_id("earlier-run")).to_have_count(1)
    await expect(page.get_by_test_id("earlier-run")).to_contain_text(first_run)


async def test_runs_list_shows_runs_live_and_filters_by_device(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await open_console(page, console_stack)
    await page.get_by_test_id("filter-device").fill(device.device_id)
    async with httpx.AsyncClient(base_url=console_stack.api.url, trust_env=False) as http:
        started = await http.post(
            f"/api/v1/devices/{device.device_id}/provision",
            json=request_body(console_stack.site),
            headers={"Authorization": f"Bearer {console_stack.key}"},
        )
        assert started.status_code == 202

    rows = page.get_by_test_id("run-row")
    await expect(rows).to_have_count(1, timeout=RUN_TIMEOUT)
    await expect(rows.get_by_test_id("run-row-state")).to_have_text(
        "SUCCEEDED", timeout=RUN_TIMEOUT
    )

    await rows.get_by_role("link", name=device.device_id).click()
    await expect(page.get_by_test_id("run-device-id")).to_have_text(device.device_id)
    await expect(timeline_event(page, "SUCCEEDED")).to_be_visible()


async def test_refused_key_is_reported(page: Page, console_stack: ConsoleStack) -> None:
    await page.goto(console_stack.console_url)
    await page.get_by_label("API key").fill("dpk_console_not-the-right-secret")
    await page.get_by_test_id("api-key-save").click()

    await expect(page.get_by_test_id("api-key-status")).to_have_text("The API refused this key.")
    await expect(page.get_by_test_id("runs-status")).to_contain_text("the API key was refused")


async def test_console_needs_no_key_when_the_api_has_auth_off(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await page.goto(console_stack.open_console_url)

    await expect(page.get_by_test_id("runs-status")).to_contain_text("run(s)")
    await expect(page.get_by_test_id("api-key-form")).to_be_hidden()
    await start_run(page, console_stack, device.device_id)
    await expect_run_state(page, "SUCCEEDED")


async def test_rejected_passphrase_shows_the_rejection_and_the_form_again(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await open_console(page, console_stack)
    await start_run(page, console_stack, device.device_id, with_network=False)
    await expect(page.get_by_test_id("credentials-form")).to_be_visible(timeout=RUN_TIMEOUT)

    await answer_credentials(page, "not-the-passphrase")

    rejection = page.get_by_test_id("credentials-rejection")
    await expect(rejection).to_contain_text("refused the passphrase", timeout=RUN_TIMEOUT)
    await expect(page.get_by_test_id("credentials-form")).to_be_visible()
    await expect(page.get_by_test_id("credentials-passphrase")).to_have_value("")
    await expect(timeline_event(page, "PENDING_NETWORK").last).to_contain_text(
        "CREDENTIALS_REJECTED"
    )
    await answer_credentials(page, LAB_NETWORK_PASSPHRASE)
    await expect_run_state(page, "SUCCEEDED")
    await expect(page.locator("body")).not_to_contain_text("not-the-passphrase")
    # Last in this module so that the runs list is full for the docs' screenshot.
    await save_screenshot(page, "console-run.png", docs=True)


async def provision_until_in_service(stack: ConsoleStack, device: SimulatedWifiDevice) -> None:
    """Provision `device` through the API and wait for its record to say IN_SERVICE."""
    auth = {"Authorization": f"Bearer {stack.key}"}
    async with httpx.AsyncClient(base_url=stack.api.url, trust_env=False) as http:
        body = request_body(stack.site)
        started = await http.post(
            f"/api/v1/devices/{device.device_id}/provision", json=body, headers=auth
        )
        assert started.status_code == 202, started.text
        # In service once the run has recorded its outcome, its last step.
        async with asyncio.timeout(RUN_TIMEOUT / 1000):
            while (await http.get(f"/api/v1/devices/{device.device_id}", headers=auth)).json().get(
                "state"
            ) != "IN_SERVICE":
                await asyncio.sleep(0.2)


async def test_devices_view_lists_the_registry_and_opens_a_devices_record(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await provision_until_in_service(console_stack, device)
    await open_console(page, console_stack)

    await page.get_by_test_id("devices-link").click()
    await page.get_by_test_id("devices-filter-state").select_option("IN_SERVICE")
    row = page.locator(f'[data-testid=device-row][data-device-id="{device.device_id}"]')
    await expect(row.get_by_test_id("device-row-state")).to_have_text("IN_SERVICE")
    await expect(row.get_by_test_id("device-row-network")).to_have_text(str(device.sta.ssid))

    await row.get_by_role("link", name=device.device_id).click()

    record = page.get_by_test_id("device-record")
    await expect(record.get_by_test_id("device-state")).to_have_text("IN_SERVICE")
    await expect(record.get_by_test_id("device-network_ssid")).to_have_text(str(device.sta.ssid))
    await expect(record.get_by_test_id("device-address")).to_have_text(device.sta_ip)
    await record.get_by_test_id("device-run-link").click()
    await expect_run_state(page, "SUCCEEDED")


async def test_fleets_view_starts_a_csv_fleet_follows_it_and_retries_the_failed(
    page: Page, console_stack: ConsoleStack, tmp_path: Path
) -> None:
    devices = [console_stack.add_device() for _ in range(3)]
    stuck = devices[0]
    set_faults(stuck, never_joins=True)
    fleet_id = f"console-{uuid.uuid4().hex[:8]}"
    csv_file = tmp_path / f"{fleet_id}.csv"
    csv_file.write_text(
        "device_id,type,vendor,capabilities,site,ssid,passphrase\n"
        + "".join(
            f"{d.device_id},wifi-relay,shelly,wifi http-rpc,{console_stack.site},"
            f"{LAB_NETWORK_SSID},{LAB_NETWORK_PASSPHRASE}\n"
            for d in devices
        )
    )
    await open_console(page, console_stack)

    await page.get_by_test_id("fleets-link").click()
    form = page.get_by_test_id("fleet-form")
    await form.get_by_label("Fleet id").fill(fleet_id)
    await form.get_by_label(re.compile("^Devices")).set_input_files(csv_file)
    await form.get_by_role("button", name="Start the fleet").click()

    view = page.locator(f'[data-testid=fleet-view][data-fleet-id="{fleet_id}"]')
    await expect(view.get_by_test_id("fleet-state")).to_have_text("COMPLETED", timeout=RUN_TIMEOUT)
    await expect(view.get_by_test_id("fleet-count-SUCCEEDED")).to_have_text("2")
    await expect(view.get_by_test_id("fleet-count-FAILED")).to_have_text("1")
    failure = view.locator(f'[data-testid=fleet-failure][data-device-id="{stuck.device_id}"]')
    await expect(failure).to_contain_text("NETWORK_JOIN_TIMEOUT")
    await save_screenshot(page, "console-fleet.png", docs=True)

    set_faults(stuck, never_joins=False)
    await view.get_by_test_id("fleet-retry").click()
    await expect(view.get_by_test_id("fleet-count-SUCCEEDED")).to_have_text(
        "1", timeout=RUN_TIMEOUT
    )
    await expect(view.get_by_test_id("fleet-state")).to_have_text("COMPLETED", timeout=RUN_TIMEOUT)
    # What the devices themselves say: each joined the fleet's network, configured once
    # (the retried one twice: its first configuration was rolled back).
    assert [d.sta.ssid for d in devices] == [LAB_NETWORK_SSID] * 3
    assert [d.counters.rpc_calls["WiFi.SetConfig"] for d in devices[1:]] == [1, 1]


async def test_fleets_view_names_the_line_of_a_bad_csv(
    page: Page, console_stack: ConsoleStack, tmp_path: Path
) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "device_id,type,vendor,capabilities\n"
        "ok-device-1,wifi-relay,shelly,wifi\n"
        "not a device id!,wifi-relay,shelly,wifi\n"
    )
    await open_console(page, console_stack)
    await page.get_by_test_id("fleets-link").click()
    form = page.get_by_test_id("fleet-form")
    await form.get_by_label("Fleet id").fill(f"bad-{uuid.uuid4().hex[:6]}")
    await form.get_by_label(re.compile("^Devices")).set_input_files(csv_file)
    await form.get_by_role("button", name="Start the fleet").click()

    problem = form.get_by_test_id("fleet-problem")
    await expect(problem).to_contain_text("INVALID_REQUEST")
    await expect(problem).to_contain_text("body.3.device_id")


async def test_a_device_taken_out_of_service_from_its_page_is_back_in_set_up_mode(
    page: Page, console_stack: ConsoleStack, device: SimulatedWifiDevice
) -> None:
    await provision_until_in_service(console_stack, device)
    assert not device.in_setup_mode
    await open_console(page, console_stack)
    await page.goto(f"{console_stack.console_url}#/devices/{device.device_id}")
    record = page.get_by_test_id("device-record")
    await expect(record.get_by_test_id("device-state")).to_have_text("IN_SERVICE")

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await record.get_by_test_id("device-decommission").click()

    await expect(record.get_by_test_id("decommission-state")).to_have_text(
        "SUCCEEDED", timeout=RUN_TIMEOUT
    )
    await expect(record.get_by_test_id("device-state")).to_have_text("DECOMMISSIONED")
    await expect(record.get_by_test_id("device-decommission")).to_have_count(0)
    assert device.in_setup_mode
    # Its page lists both of its runs, as visibility records them.
    runs = record.get_by_test_id("device-run")
    await expect(runs).to_have_count(2)
    await expect(
        record.locator("[data-testid=device-run][data-kind=decommission]")
    ).to_contain_text("SUCCEEDED")
    await expect(record.locator("[data-testid=device-run][data-kind=provision]")).to_contain_text(
        "SUCCEEDED"
    )
