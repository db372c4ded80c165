"""The `wifi-aws-iot` family end to end, against a local AWS over HTTP.

API → workflow → edge worker (Wi-Fi, the device's CSR and certificate over its local HTTP
API) and central worker (AWS IoT Core through the official SDK, through the fault proxy,
to moto's server). The simulated device reports to its thing shadow once it holds its
certificate and has joined. What AWS holds is read from moto with a separate client, past
the proxy; what the device holds, from the simulated device.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.session import AioSession
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from activities.device_certificate import DeviceCertificateActivities
from activities.http_wifi import HttpWifiActivities
from config.policies import load_policy_book
from config.settings import AwsIotFamilySettings, Settings
from registry import DeviceRegistry
from simulators.aws_iot import (
    DEVICE_POLICY_DOCUMENT,
    LOCAL_REGION,
    AwsFaultProxy,
    LocalAws,
    SimulatedAwsIotDevice,
    aws_iot_wifi_device,
    report_shadows,
)
from simulators.http_wifi import SimulatedWifiDevice, WifiDeviceFleet, start_simulator
from tests.aws_fixtures import SECRET_ACCESS_KEY
from tests.integration.conftest import NETWORK, POLICY_ENV, ApiClient, Everything, serve_api
from tests.integration.test_secret_scan import spellings
from tests.sse import parse_sse
from worker.capabilities.http_wifi import shelly_rpc_adapter
from worker.families.wifi_aws_iot import aws_iot_activities
from worker.workers import central_worker, edge_worker

if TYPE_CHECKING:
    from types_aiobotocore_iot import IoTClient

TENANT_POLICY = AwsIotFamilySettings.defaults().policy_for("default")
THROTTLE_WAIT = 1.5
AWS_POLICY_ENV = {
    **POLICY_ENV,
    **{
        f"DEVPROV_POLICY__STRATEGIES__WIFI_AWS_IOT__STEPS__{step}__RETRY__INITIAL_INTERVAL": "100ms"
        for step in ("PROVISION", "CONFIRM", "ROLLBACK")
    },
    # Two attempts: a fault injected twice fails the step for good.
    "DEVPROV_POLICY__STRATEGIES__WIFI_AWS_IOT__STEPS__PROVISION__RETRY__MAXIMUM_ATTEMPTS": "2",
    "DEVPROV_POLICY__STRATEGIES__WIFI_AWS_IOT__STEPS__CONFIRM__START_TO_CLOSE": "10s",
    "DEVPROV_POLICY__STRATEGIES__WIFI_AWS_IOT__STEPS__CONFIRM__RETRY__MAXIMUM_ATTEMPTS": "1",
}


@pytest.fixture(autouse=True)
async def fresh_aws(aws_env: LocalAws, fault_proxy: AwsFaultProxy, moto_iot: IoTClient) -> LocalAws:
    """An empty AWS holding the tenant's policy, and no fault pending."""
    aws_env.reset()
    fault_proxy.clear()
    await moto_iot.create_policy(policyName=TENANT_POLICY, policyDocument=DEVICE_POLICY_DOCUMENT)
    return aws_env


@pytest.fixture
def device() -> SimulatedWifiDevice:
    return aws_iot_wifi_device(f"aws-{uuid.uuid4().hex[:8]}", join_delay=0.2)


def identity(device: SimulatedWifiDevice) -> SimulatedAwsIotDevice:
    held = device.client_identity
    assert isinstance(held, SimulatedAwsIotDevice)
    return held


@pytest.fixture
async def api(
    temporal_client: Client,
    site: str,
    device: SimulatedWifiDevice,
    aws_env: LocalAws,
    fault_proxy: AwsFaultProxy,
    sdk_session: AioSession,
    aiohttp_client: Callable[..., Awaitable[ApiClient]],
    device_registry: DeviceRegistry,
) -> AsyncIterator[ApiClient]:
    """The API and the registry it reads; a central worker with the AWS IoT activities as
    the family's wiring makes them (the SDK finds AWS, here the fault proxy, through the
    standard chain); an edge worker with the HTTP Wi-Fi and device certificate activities;
    the device online."""
    settings = Settings(aws_iot=AwsIotFamilySettings.defaults(match_certificate_subject=True))
    queue = f"central-{uuid.uuid4().hex[:8]}"
    fleet = WifiDeviceFleet([device])
    async with contextlib.AsyncExitStack() as stack:
        env = stack.enter_context(pytest.MonkeyPatch.context())
        env.setenv("AWS_ENDPOINT_URL_IOT", fault_proxy.url)
        env.setenv("AWS_ENDPOINT_URL_IOT_DATA_PLANE", fault_proxy.url)
        simulator = await start_simulator(fleet, "127.0.0.1", 0)
        stack.push_async_callback(simulator.close)
        await stack.enter_async_context(report_shadows(fleet, aws_env.url, session=sdk_session))
        device_settings = Settings.from_env(
            {"DEVPROV_HTTP_DEVICE_ADDRESS_TEMPLATE": f"{simulator.base_url}/devices/{{device_id}}"}
        )
        shelly = await stack.enter_async_context(shelly_rpc_adapter(device_settings))
        aws = await stack.enter_async_context(aws_iot_activities(settings))
        edge = [*HttpWifiActivities(shelly).all(), *DeviceCertificateActivities(shelly).all()]
        await stack.enter_async_context(
            central_worker(
                temporal_client, task_queue=queue, activities=aws, registry=device_registry
            )
        )
        await stack.enter_async_context(edge_worker(temporal_client, site=site, activities=edge))
        yield await serve_api(
            temporal_client,
            aiohttp_client,
            task_queue=queue,
            policies=load_policy_book(environ=AWS_POLICY_ENV),
            devices=device_registry,
        )


async def provision(api: ApiClient, device: SimulatedWifiDevice, site: str) -> list[dict[str, Any]]:
    path = f"/api/v1/devices/{device.device_id}/provision"
    body = {
        "device": {
            "type": "wifi-relay",
            "vendor": "shelly",
            "model": "SNSW-001X16EU",
            "capabilities": ["wifi", "http-rpc", "aws-iot"],
            "site": site,
        },
        "network": NETWORK,
    }
    started = await api.post(path, json=body)
    assert started.status == 202, await started.text()
    assert (await started.json())["strategy"] == "wifi-aws-iot"
    async with asyncio.timeout(60):
        return [e.data for e in parse_sse(await (await api.get(f"{path}/events")).text())]


async def things(iot: IoTClient) -> list[str]:
    return [t["thingName"] for t in (await iot.list_things())["things"]]


async def certificates(iot: IoTClient) -> list[str]:
    return [c["certificateId"] for c in (await iot.list_certificates())["certificates"]]


async def assert_thing_with_one_active_certificate(iot: IoTClient, device_id: str) -> str:
    """The thing, exactly one certificate, ACTIVE, attached to it with the tenant's
    policy; returns the certificate's PEM."""
    assert await things(iot) == [device_id]
    [principal] = (await iot.list_thing_principals(thingName=device_id))["principals"]
    [certificate_id] = await certificates(iot)
    described = (await iot.describe_certificate(certificateId=certificate_id))[
        "certificateDescription"
    ]
    assert described["certificateArn"] == principal
    assert described["status"] == "ACTIVE"
    policies = (await iot.list_attached_policies(target=principal))["policies"]
    assert [p["policyName"] for p in policies] == [TENANT_POLICY]
    return described["certificatePem"]


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload anywhere in a history event."""
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if isinstance(item, Payload):
                yield item
            elif isinstance(item, Message):
                yield from payloads_in(item)


async def test_the_device_joins_wifi_and_becomes_a_thing_with_an_active_certificate(
    api: ApiClient,
    device: SimulatedWifiDevice,
    site: str,
    moto_iot: IoTClient,
    temporal_client: Client,
    logs: Everything,
) -> None:
    events = await provision(api, device, site)

    assert events[-1]["state"] == "SUCCEEDED", events[-1]
    assert "AWS IoT thing shadow reports it on 'devprov-lab'" in events[-1]["message"]
    certificate_pem = await assert_thing_with_one_active_certificate(moto_iot, device.device_id)
    members = await moto_iot.list_things_in_thing_group(thingGroupName=f"devprov-site-{site}")
    assert members["things"] == [device.device_id]
    signed = x509.load_pem_x509_certificate(certificate_pem.encode())
    assert identity(device).certificate_fingerprint == signed.fingerprint(hashes.SHA256()).hex()
    assert device.counters.wifi_config_writes == 1
    registered = next(e for e in events if "certificate_id" in e["details"])
    assert registered["details"]["thing_name"] == device.device_id
    record = await (await api.get(f"/api/v1/devices/{device.device_id}")).json()
    assert (record["state"], record["cloud_thing"]) == ("IN_SERVICE", device.device_id)
    assert record["cloud_certificate_id"] == registered["details"]["certificate_id"]
    assert record["cloud_certificate_fingerprint"] == signed.fingerprint(hashes.SHA256()).hex()

    history = await temporal_client.get_workflow_handle(
        f"provision-{device.device_id}"
    ).fetch_history()
    codec = temporal_client.data_converter.payload_codec
    assert codec is not None
    decoded = await codec.decode([p for e in history.events for p in payloads_in(e)])
    surfaces = {
        "history": history.to_json(),
        "payloads": "\n".join(p.data.decode(errors="replace") for p in decoded),
        "logs": "\n".join(logs.text),
    }
    assert certificate_pem.split("\n")[1] in surfaces["payloads"]  # the scan did decode
    for name, text in surfaces.items():
        for form in spellings(SECRET_ACCESS_KEY):
            assert form not in text, f"the AWS secret key shows in the {name}"


async def test_a_failure_after_the_certificate_was_created_leaves_nothing_in_aws(
    api: ApiClient,
    device: SimulatedWifiDevice,
    site: str,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
) -> None:
    # Both attempts of the registration fail once the certificate exists.
    fault_proxy.inject("AttachThingPrincipal", "server_error", times=2)

    events = await provision(api, device, site)

    assert [e["state"] for e in events][-2:] == ["ROLLING_BACK", "ROLLED_BACK"]
    assert events[-1]["error_code"] == "CLOUD_UNAVAILABLE"
    assert fault_proxy.count("CreateCertificateFromCsr") == 1
    assert fault_proxy.injected == [("AttachThingPrincipal", "server_error")] * 2
    assert await things(moto_iot) == []
    assert await certificates(moto_iot) == []
    assert device.counters.factory_resets == 1
    assert not identity(device).has_certificate


async def test_a_throttled_call_is_retried_after_the_wait_aws_asked_for_and_succeeds(
    api: ApiClient,
    device: SimulatedWifiDevice,
    site: str,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
) -> None:
    fault_proxy.inject("CreateThing", "throttle", retry_after=THROTTLE_WAIT)

    events = await provision(api, device, site)

    assert events[-1]["state"] == "SUCCEEDED", events[-1]
    assert fault_proxy.injected == [("CreateThing", "throttle")]
    throttled, retried = [at for at, name in fault_proxy.timeline if name == "CreateThing"]
    # The retry policy's own interval is 100 ms: the wait is the one AWS asked for.
    assert retried - throttled >= THROTTLE_WAIT - 0.1
    await assert_thing_with_one_active_certificate(moto_iot, device.device_id)


async def test_a_decommissioned_device_leaves_nothing_in_aws_and_is_back_in_set_up_mode(
    api: ApiClient,
    device: SimulatedWifiDevice,
    site: str,
    moto_iot: IoTClient,
    fault_proxy: AwsFaultProxy,
    aws_env: LocalAws,
    sdk_session: AioSession,
) -> None:
    assert (await provision(api, device, site))[-1]["state"] == "SUCCEEDED"
    [certificate_id] = await certificates(moto_iot)
    fault_proxy.timeline.clear()

    path = f"/api/v1/devices/{device.device_id}/decommission"
    started = await api.post(path)
    assert started.status == 202, await started.text()
    async with asyncio.timeout(60):
        events = [e.data for e in parse_sse(await (await api.get(f"{path}/events")).text())]

    assert events[-1]["state"] == "SUCCEEDED", events[-1]
    assert await things(moto_iot) == []
    assert await certificates(moto_iot) == []
    members = await moto_iot.list_things_in_thing_group(thingGroupName=f"devprov-site-{site}")
    assert members["things"] == []
    operations = [name for _, name in fault_proxy.timeline]
    # Revoked before it was deleted: a certificate that connects nowhere meanwhile.
    assert operations.index("UpdateCertificate") < operations.index("DeleteCertificate")
    async with sdk_session.create_client(
        "iot-data", region_name=LOCAL_REGION, endpoint_url=aws_env.url
    ) as iot_data:
        with pytest.raises(iot_data.exceptions.ResourceNotFoundException):
            await iot_data.get_thing_shadow(thingName=device.device_id)
    assert not identity(device).has_certificate
    assert device.in_setup_mode
    record = await (await api.get(f"/api/v1/devices/{device.device_id}")).json()
    assert record["state"] == "DECOMMISSIONED"
    assert (record["cloud_thing"], record["cloud_certificate_id"]) == (None, None)
    assert any(certificate_id in e["message"] or "revocation" in e["message"] for e in events)
