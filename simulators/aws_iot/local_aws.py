"""A local AWS API on loopback: moto's server, for tests and the embedded stack.

moto serves the AWS IoT control plane and the thing shadows of the data plane over HTTP,
so the official SDK runs against it as against AWS: request signing, error parsing and
all. It accepts any credentials and checks no signature. It implements neither MQTT nor
mutual TLS, nor `RegisterThing` and provisioning templates (see docs/vendor-cloud.md).
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

LOCAL_ACCESS_KEY_ID = "AKIDLOCALDEVPROV"
"""Credentials the local AWS accepts (it accepts any); never a real account's."""
LOCAL_SECRET_ACCESS_KEY = "local-secret-not-for-aws"
LOCAL_REGION = "us-east-1"


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

    def close(self) -> None:
        """Stop the server and its thread."""
        self.server.stop()


def start_local_aws(host: str = "127.0.0.1", port: int = 0) -> LocalAws:
    """Start moto's server on `host` (loopback by default) and a free port unless given."""
    # Imported here: moto takes seconds to import and only the local AWS needs it.
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return LocalAws(url=f"http://{bound_host}:{bound_port}", server=server)
