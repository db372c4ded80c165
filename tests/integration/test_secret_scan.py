"""A secret scan: a run's passphrase is nowhere but where it must be (and encrypted there)."""

from __future__ import annotations

import asyncio
import base64

from google.protobuf import json_format
from temporalio.client import Client

from simulators.http_wifi import SimulatedWifiDevice
from tests.integration.conftest import NETWORK, ApiClient, Everything, request_body
from tests.sse import parse_sse

SECRET = "scan-me-if-you-can-8d1f27"
MIN_FRAGMENT = 8  # the shortest base64 fragment of a secret worth looking for


def spellings(secret: str) -> list[str]:
    """The secret as text and as it would appear base64-encoded inside JSON payloads."""
    raw = secret.encode()
    forms = [secret]
    for shift in range(3):  # base64 of the secret at any alignment inside a larger blob
        encoded = base64.b64encode(b"x" * shift + raw).decode()
        fragment = encoded[4 * ((shift + 2) // 3) : -4]
        # A fragment under 8 characters turns up by chance in kilobytes of ciphertext
        # (4 characters: once in 64**4 ≈ 17 million), so it cannot tell a leak from noise;
        # a short secret is still checked as text and at the alignments long enough.
        if len(fragment) >= MIN_FRAGMENT:
            forms.append(fragment)
    return forms


async def test_passphrase_appears_nowhere_in_clear(
    pipeline: ApiClient,
    device: SimulatedWifiDevice,
    site: str,
    temporal_client: Client,
    logs: Everything,
) -> None:
    network = {"ssid": "devprov-lab", "passphrase": SECRET}
    path = f"/api/v1/devices/{device.device_id}/provision"
    started = await pipeline.post(path, json=request_body(site, network=network))
    # The simulated network refuses this passphrase: the run waits for new credentials,
    # which a person then sends — the secret went through start, history and rejection.
    async with asyncio.timeout(30):
        while (await (await pipeline.get(path)).json()).get("state") != "PENDING_NETWORK":
            await asyncio.sleep(0.1)
    answered = await pipeline.post(f"{path}/credentials", json=NETWORK)
    stream = await pipeline.get(f"{path}/events")
    events = parse_sse(await stream.text())
    status = await pipeline.get(path)
    metrics = await pipeline.get("/metrics")
    assert events[-1].data["state"] == "SUCCEEDED"

    handle = temporal_client.get_workflow_handle(f"provision-{device.device_id}")
    history = await handle.fetch_history()
    raw_history = history.to_json()
    description = await handle.describe()
    attributes = " ".join(str(v) for _, v in description.typed_search_attributes)

    surfaces = {
        "raw history": raw_history,
        "search attributes": attributes,
        "start response": await started.text(),
        "credentials response": await answered.text(),
        "events": "\n".join(str(e.data) for e in events),
        "status": await status.text(),
        "metrics": await metrics.text(),
        "logs": "\n".join(logs.text),
    }
    for name, text in surfaces.items():
        for form in spellings(SECRET):
            assert form not in text, f"the passphrase shows in the {name}"

    decoded = await temporal_client.data_converter.payload_codec.decode(  # type: ignore[union-attr]
        list(history.events[0].workflow_execution_started_event_attributes.input.payloads)
    )
    assert SECRET in json_format.MessageToJson(decoded[0]) or SECRET in decoded[0].data.decode()
    assert device.device_id in attributes  # the scan did read the run's attributes
