"""Fixtures of the tests that talk to a local AWS over HTTP: moto's server, the fault proxy
between the SDK and it, and a client that sees what moto holds past the proxy.

Import them into a conftest or a test module (`from tests.aws_fixtures import ...`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
from aiobotocore.session import AioSession

from simulators.aws_iot import (
    LOCAL_REGION,
    AwsFaultProxy,
    AwsOperationResolver,
    LocalAws,
    start_aws_fault_proxy,
    start_local_aws,
)

if TYPE_CHECKING:
    from types_aiobotocore_iot import IoTClient

ACCESS_KEY_ID = "AKIATESTDEVPROV0000"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/devprovTESTsecretKEY"  # what must never leak
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEDevprovTESTsessionTOKEN0123456789"  # nor this


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """moto's server on a free loopback port, and an environment that names only it (no
    profile, no roles), for the module; both undone after it."""
    files = tmp_path_factory.mktemp("aws")
    running = start_local_aws()
    try:
        with pytest.MonkeyPatch.context() as env:
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
                env.delenv(name, raising=False)
            env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            env.setenv("AWS_DEFAULT_REGION", LOCAL_REGION)
            env.setenv("AWS_CONFIG_FILE", str(files / "config"))
            env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(files / "credentials"))
            env.setenv("AWS_EC2_METADATA_DISABLED", "true")
            # The adapter must make one attempt per call whatever the environment asks.
            env.setenv("AWS_MAX_ATTEMPTS", "5")
            env.setenv("AWS_RETRY_MODE", "standard")
            yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def sdk_session(aws_env: LocalAws) -> AioSession:
    """One session for the module's clients: it loads the SDK's service models once."""
    return AioSession()


@pytest.fixture(scope="module")
async def fault_proxy(aws_env: LocalAws) -> AsyncIterator[AwsFaultProxy]:
    proxy = await start_aws_fault_proxy(aws_env.url, resolver=AwsOperationResolver())
    try:
        yield proxy
    finally:
        await proxy.close()


@pytest.fixture(scope="module")
async def moto_iot(aws_env: LocalAws, sdk_session: AioSession) -> AsyncIterator[IoTClient]:
    """A separate client that sees what moto holds, past the fault proxy."""
    async with sdk_session.create_client(
        "iot", region_name=LOCAL_REGION, endpoint_url=aws_env.url
    ) as client:
        yield client
