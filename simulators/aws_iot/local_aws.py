"""A local AWS API on loopback: moto's server, for tests and the embedded stack.

moto serves the AWS IoT control plane and the thing shadows of the data plane over HTTP,
so the official SDK runs against it as against AWS: request signing, error parsing and
all. It accepts any credentials and checks no signature. It implements neither MQTT nor
mutual TLS, nor `RegisterThing` and provisioning templates (see docs/vendor-cloud.md).
"""

from __future__ import annotations

import errno
import json
import logging
import threading
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiobotocore.session import AioSession

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

LOCAL_ACCESS_KEY_ID = "AKIDLOCALDEVPROV"
"""Credentials the local AWS accepts (it accepts any); never a real account's."""
LOCAL_SECRET_ACCESS_KEY = "local-secret-not-for-aws"
LOCAL_REGION = "us-east-1"

DEVICE_POLICY_DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": "arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}",
            },
            {
                "Effect": "Allow",
                "Action": ["iot:Publish", "iot:Receive"],
                "Resource": "arn:aws:iot:*:*:topic/$aws/things/${iot:Connection.Thing.ThingName}/*",
            },
            {
                "Effect": "Allow",
                "Action": "iot:Subscribe",
                "Resource": (
                    "arn:aws:iot:*:*:topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/*"
                ),
            },
        ],
    }
)
"""An IoT policy for a tenant's devices: each may connect as its own thing and use its
own shadow topics (moto stores it; AWS would enforce it on the MQTT connection)."""


@dataclass
class LocalAws:
    """A running local AWS API; `close()` stops it."""

    url: str
    server: ThreadedMotoServer

    def reset(self) -> None:
        """Forget every resource of every service (moto's reset call)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with opener.open(request, timeout=10) as answer:
            answer.read()

    def sdk_environment(self) -> dict[str, str]:
        """The standard AWS chain's variables that point an SDK at this local AWS (both
        planes) with its local credentials: never a real account's."""
        return {
            "AWS_ENDPOINT_URL_IOT": self.url,
            "AWS_ENDPOINT_URL_IOT_DATA_PLANE": self.url,
            "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
        }

    async def create_policy(self, policy_name: str, document: str = DEVICE_POLICY_DOCUMENT) -> None:
        """Create an IoT policy (a tenant's) unless it exists."""
        async with AioSession().create_client(
            "iot",
            region_name=LOCAL_REGION,
            endpoint_url=self.url,
            aws_access_key_id=LOCAL_ACCESS_KEY_ID,
            aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
        ) as iot:
            try:
                await iot.get_policy(policyName=policy_name)
            except iot.exceptions.ResourceNotFoundException:
                await iot.create_policy(policyName=policy_name, policyDocument=document)

    def close(self) -> None:
        """Stop the server and its thread."""
        self.server.stop()


def start_local_aws(host: str = "127.0.0.1", port: int = 0) -> LocalAws:
    """Start moto's server on `host` (loopback by default) and a free port unless given.

    Raises:
        OSError: the server could not listen on `host:port` (e.g. the port is taken).
    """
    # Imported here: moto takes seconds to import and only the local AWS needs it.
    from moto.server import ThreadedMotoServer

    class _MotoServer(ThreadedMotoServer):
        # ThreadedMotoServer.start() waits forever when its thread cannot listen: werkzeug
        # ends that thread (sys.exit) on a taken port. Watch the thread instead.
        def start(self) -> None:
            self._thread = threading.Thread(target=self._server_entry, daemon=True)
            self._thread.start()
            while not self._server_ready_event.wait(0.05):
                if not self._thread.is_alive():
                    raise OSError(
                        errno.EADDRINUSE,
                        f"error while attempting to bind on address ({host!r}, {port}): "
                        "address already in use",
                    )

    # werkzeug logs every request at INFO: the local AWS's access log is noise here.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = _MotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return LocalAws(url=f"http://{bound_host}:{bound_port}", server=server)
