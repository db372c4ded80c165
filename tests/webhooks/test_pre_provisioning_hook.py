"""The pre-provisioning hook over TLS, with a CA the test makes: a deny ends the run
FAILED_VALIDATION with HOOK_DENIED and the hook's reason, an allow lets it provision, a
hook that gives no verdict fails the run closed (HOOK_UNAVAILABLE). The hook verifies
devprov's signature with the `standardwebhooks` library."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook
from temporalio.client import Client

from config.policies import load_policy_book
from config.settings import ApiSettings, Settings, WebhookSettings
from registry import DeviceRegistry
from simulators.http_wifi import SimulatedWifiDevice, WifiDeviceFleet, start_simulator
from tests.integration.conftest import POLICY_ENV, ApiClient, request_body, serve_pipeline

HOOK = "/api/v1/tenant/settings/pre-provisioning-hook"
TERMINAL = {"SUCCEEDED", "FAILED", "FAILED_VALIDATION", "ROLLED_BACK", "CANCELLED"}


@dataclass(frozen=True)
class HookCa:
    ca_file: Path
    server: ssl.SSLContext


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> HookCa:
    """A CA of the test's own and a certificate it signs for 127.0.0.1."""
    directory = tmp_path_factory.mktemp("ca")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("devprov test CA"))
        .issuer_name(_name("devprov test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file = directory / "server.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "server.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return HookCa(ca_file=ca_file, server=server)


@dataclass
class Hook:
    """A tenant's hook on https://127.0.0.1: answers by `verdict` (None: 503)."""

    url: str = ""
    secret: str = ""
    verdict: dict[str, Any] | None = field(default_factory=lambda: {"allow": True})
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        call = Webhook(self.secret).verify(body, dict(request.headers))
        self.calls.append(call)
        if self.verdict is None:
            return web.Response(status=503)
        return web.json_response(self.verdict)


@pytest.fixture
async def hook(test_ca: HookCa) -> AsyncIterator[Hook]:
    found = Hook()
    app = web.Application()
    app.router.add_post("/allow", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=test_ca.server).start()
    found.url = f"https://127.0.0.1:{runner.addresses[0][1]}/allow"
    try:
        yield found
    finally:
        await runner.cleanup()


@pytest.fixture
def device() -> SimulatedWifiDevice:
    return SimulatedWifiDevice(f"hooked-{uuid.uuid4().hex[:8]}", join_delay=0.2)


@pytest.fixture
async def pipeline(
    temporal_client: Client,
    site: str,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
    device: SimulatedWifiDevice,
    hook: Hook,
    test_ca: HookCa,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[ApiClient]:
    """The stack, with the tenant's hook set (its CA trusted by the central worker)."""
    monkeypatch.setenv("DEVPROV_WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("DEVPROV_WEBHOOKS_CA_FILE", str(test_ca.ca_file))
    monkeypatch.setenv("DEVPROV_WEBHOOKS_HOOK_TIMEOUT_SECONDS", "2")
    simulator = await start_simulator(WifiDeviceFleet([device]), "127.0.0.1", 0)
    settings = Settings(
        api=ApiSettings.defaults(sse_poll_interval_seconds=0.1),
        webhooks=WebhookSettings.defaults(allow_private=True),
    )
    try:
        async with serve_pipeline(
            temporal_client,
            simulator,
            site,
            aiohttp_client,
            policies=load_policy_book(environ=POLICY_ENV),
            settings=settings,
            devices=device_registry,
        ) as api:
            answer = await api.put(HOOK, json={"url": hook.url})
            assert answer.status == 200, await answer.text()
            hook.secret = (await answer.json())["secret"]
            yield api
    finally:
        await simulator.close()


async def final(api: ApiClient, device: SimulatedWifiDevice) -> dict[str, Any]:
    path = f"/api/v1/devices/{device.device_id}/provision"
    async with asyncio.timeout(30):
        while True:
            body: dict[str, Any] = await (await api.get(path)).json()
            if body.get("state") in TERMINAL:
                return body
            await asyncio.sleep(0.1)


async def start(api: ApiClient, device: SimulatedWifiDevice, site: str) -> None:
    path = f"/api/v1/devices/{device.device_id}/provision"
    started = await api.post(path, json=request_body(site))
    assert started.status == 202, await started.text()


async def test_a_denying_hook_ends_the_run_failed_validation_with_its_reason(
    pipeline: ApiClient, hook: Hook, device: SimulatedWifiDevice, site: str
) -> None:
    hook.verdict = {"allow": False, "reason": "not on purchase order 4711"}
    await start(pipeline, device, site)

    ended = await final(pipeline, device)

    assert (ended["state"], ended["error_code"]) == ("FAILED_VALIDATION", "HOOK_DENIED")
    assert ended["reasons"] == ["pre-provisioning hook: not on purchase order 4711"]
    assert device.counters.set_config_calls == 0
    [call] = hook.calls
    assert call["type"] == "device.pre_provisioning"
    assert call["data"]["device_id"] == device.device_id
    assert "passphrase" not in str(call)


async def test_an_allowing_hook_lets_the_run_provision(
    pipeline: ApiClient, hook: Hook, device: SimulatedWifiDevice, site: str
) -> None:
    hook.verdict = {"allow": True, "parameters": {"profile": "line-4"}}
    await start(pipeline, device, site)

    ended = await final(pipeline, device)

    assert ended["state"] == "SUCCEEDED"
    assert len(hook.calls) == 1
    assert hook.calls[0]["data"]["vendor"] == "shelly"


async def test_a_hook_that_gives_no_verdict_fails_the_run_closed(
    pipeline: ApiClient, hook: Hook, device: SimulatedWifiDevice, site: str
) -> None:
    hook.verdict = None
    await start(pipeline, device, site)

    ended = await final(pipeline, device)

    assert (ended["state"], ended["error_code"]) == ("FAILED", "HOOK_UNAVAILABLE")
    assert len(hook.calls) >= 2  # retried first
    assert device.counters.set_config_calls == 0


async def test_a_hook_url_that_is_not_https_is_refused(pipeline: ApiClient) -> None:
    answer = await pipeline.put(HOOK, json={"url": "http://127.0.0.1:9/allow"})

    assert answer.status == 422
    assert (await answer.json())["code"] == "WEBHOOK_TARGET_NOT_ALLOWED"


async def test_a_fleets_devices_ask_the_hook_too(
    pipeline: ApiClient, hook: Hook, device: SimulatedWifiDevice, site: str
) -> None:
    hook.verdict = {"allow": False, "reason": "not ordered"}
    fleet = f"/api/v1/fleets/hooked-{uuid.uuid4().hex[:6]}/provision"
    body = {
        "template": request_body(site)["device"],
        "network": request_body(site)["network"],
        "devices": [{"device_id": device.device_id}],
    }
    started = await pipeline.post(fleet, json=body)
    assert started.status == 202, await started.text()

    async with asyncio.timeout(30):
        while (status := await (await pipeline.get(fleet)).json())["state"] != "COMPLETED":
            await asyncio.sleep(0.1)

    assert status["failures_by_code"] == {"HOOK_DENIED": 1}
    assert [call["data"]["device_id"] for call in hook.calls] == [device.device_id]
