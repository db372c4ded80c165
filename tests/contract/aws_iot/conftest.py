"""Fixtures of the AWS IoT tests: moto's server over HTTP, the fault proxy, the adapter.

The adapter finds AWS the standard way (environment variables for credentials, region and
endpoints) and reaches moto through the fault proxy; the tests look at what moto holds
through a separate client that talks to moto directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from aiobotocore.session import AioSession

from adapters.aws_iot import AwsIotAdapter, AwsIotSettings, open_aws_iot_adapter
from simulators.aws_iot import LOCAL_REGION, AwsFaultProxy, LocalAws, SimulatedAwsIotDevice
from tests.contract.aws_iot.helpers import DEVICE_ID, POLICY, POLICY_DOCUMENT

if TYPE_CHECKING:
    from types_aiobotocore_iot import IoTClient
    from types_aiobotocore_iot_data import IoTDataPlaneClient


@pytest.fixture(autouse=True)
def fresh_aws(aws_env: LocalAws, fault_proxy: AwsFaultProxy) -> LocalAws:
    """Every test starts with an empty AWS and no fault pending."""
    aws_env.reset()
    fault_proxy.clear()
    return aws_env


@pytest.fixture(scope="module")
def aws_settings() -> AwsIotSettings:
    return AwsIotSettings(
        connect_timeout=1.0,
        read_timeout=3.0,
        throttle_retry_after=1.5,
        match_certificate_subject=True,  # moto signs a key of its own
    )


@pytest.fixture(scope="module")
async def aws_adapter(
    fault_proxy: AwsFaultProxy, aws_settings: AwsIotSettings, sdk_session: AioSession
) -> AsyncIterator[AwsIotAdapter]:
    """The adapter, configured the AWS way: credentials, region and endpoints from the
    environment (`AWS_ENDPOINT_URL_IOT`, `AWS_ENDPOINT_URL_IOT_DATA_PLANE`)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL_IOT", fault_proxy.url)
        env.setenv("AWS_ENDPOINT_URL_IOT_DATA_PLANE", fault_proxy.url)
        async with open_aws_iot_adapter(aws_settings, session=sdk_session) as adapter:
            yield adapter


@pytest.fixture(scope="module")
async def moto_iot_data(
    aws_env: LocalAws, sdk_session: AioSession
) -> AsyncIterator[IoTDataPlaneClient]:
    """The device's own way to its thing shadow (UpdateThingShadow), past the proxy."""
    async with sdk_session.create_client(
        "iot-data", region_name=LOCAL_REGION, endpoint_url=aws_env.url
    ) as client:
        yield client


@pytest.fixture
async def tenant_policy(fresh_aws: LocalAws, moto_iot: IoTClient) -> str:
    await moto_iot.create_policy(policyName=POLICY, policyDocument=POLICY_DOCUMENT)
    return POLICY


@pytest.fixture
def device() -> SimulatedAwsIotDevice:
    return SimulatedAwsIotDevice(DEVICE_ID)
