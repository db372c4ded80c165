"""The `wifi-aws-iot` family under the embedded stack (`make run`): a local AWS (moto's
server on loopback) with the tenant's IoT policy, and Wi-Fi devices with their own AWS
IoT identity in the `http-wifi` family's simulated fleet, which report their network to
their thing shadows once online."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from config.settings import Settings
from simulators.aws_iot.local_aws import LocalAws, start_local_aws
from simulators.aws_iot.wifi_devices import default_aws_iot_devices, report_shadows
from simulators.family_simulator import SimulatorContext, StartedSimulator
from simulators.http_wifi import WifiDeviceFleet

logger = logging.getLogger("devprov.simulators.aws_iot")

LOCAL_AWS_TENANT = "default"
"""The tenant of `make run`'s API key, whose IoT policy the local AWS gets."""
WIFI_FAMILY = "http-wifi"
"""The family whose simulated fleet the AWS IoT devices join (started first)."""
_AWS_CHAIN_OVERRIDES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN")


def use_local_aws(local_aws: LocalAws) -> None:
    """Point this process's AWS SDK at the local AWS through the standard chain (its
    environment), whatever the shell holds: `make run` never reaches a real account."""
    for name in _AWS_CHAIN_OVERRIDES:
        os.environ.pop(name, None)
    os.environ.update(local_aws.sdk_environment())


def match_certificates_by_subject(settings: Settings) -> Settings:
    """moto signs a key of its own: a certificate is found by the CSR's subject."""
    aws_iot = settings.aws_iot.model_copy(update={"match_certificate_subject": True})
    return settings.model_copy(update={"aws_iot": aws_iot})


def _start(port: int) -> LocalAws | None:
    """moto's server on loopback, or None where moto is not installed (a production
    image: moto is in the `aws-local` extra)."""
    try:
        return start_local_aws("127.0.0.1", port)
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("moto"):
            raise
        logger.warning("no local AWS: moto is not installed (pip install 'devprov[aws-local]')")
        return None


@contextlib.asynccontextmanager
async def simulated_aws_iot(context: SimulatorContext) -> AsyncIterator[StartedSimulator]:
    """The local AWS and the AWS IoT devices; the stack's settings then find certificates
    by subject, and this process's AWS SDK points at the local AWS."""
    local_aws = await asyncio.to_thread(_start, context.settings.aws_iot.local_port)
    if local_aws is None:
        yield StartedSimulator(
            lines=[
                (
                    "Local AWS IoT",
                    "(not started: moto is missing; pip install 'devprov[aws-local]')",
                )
            ]
        )
        return
    try:
        use_local_aws(local_aws)
        await local_aws.create_policy(context.settings.aws_iot.policy_for(LOCAL_AWS_TENANT))
        wifi = context.started.get(WIFI_FAMILY)
        fleet = wifi.resource if wifi is not None else None
        async with contextlib.AsyncExitStack() as stack:
            if isinstance(fleet, WifiDeviceFleet):
                for device in default_aws_iot_devices():
                    fleet.add(device)
                # The simulated devices report to their thing shadows once online.
                await stack.enter_async_context(report_shadows(fleet, local_aws.url))
            yield StartedSimulator(
                lines=[
                    (
                        "Local AWS IoT",
                        f"{local_aws.url}  (moto; e.g. aws --endpoint-url {local_aws.url} "
                        "iot list-things)",
                    )
                ],
                settings=match_certificates_by_subject,
            )
    finally:
        await asyncio.to_thread(local_aws.close)
