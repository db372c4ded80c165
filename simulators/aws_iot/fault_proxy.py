"""An HTTP proxy between the AWS SDK and a local AWS API that fails chosen calls.

moto's server answers every call it implements and never throttles or fails on demand.
Put this proxy in front of it (point the SDK's endpoint at `proxy.url`) and inject faults
by AWS operation name: the proxy recognises the operation of each request from the
SDK's own service models (method and path template, with the service named in the
request's SigV4 credential scope), so faults follow AWS's names, not URL details.

Faults, each used up one matching request at a time:
- `throttle`: HTTP 400 `ThrottlingException` in AWS's REST-JSON error shape
  (`x-amzn-ErrorType` header and `{"message": ...}`), optionally with a `Retry-After`;
- `server_error`: HTTP 503 `ServiceUnavailableException`; the call does not reach AWS;
- `drop`: the connection is closed before the call reaches AWS;
- `drop_after_commit`: the call reaches AWS and takes effect, then the connection is
  closed without an answer (a lost answer);
- `stall`: the call is held `seconds` before it goes on to AWS, as a slow AWS would; a
  caller that gave up meanwhile never sees the answer, though the call takes effect.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
import botocore.session
from aiohttp import web

FaultKind = Literal["throttle", "server_error", "drop", "drop_after_commit", "stall"]
ANY_OPERATION = "*"

_HOP_BY_HOP = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "content-encoding",
    }
)
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


@dataclass
class AwsFault:
    """A fault for the next `times` requests of `operation` (`*`: any operation)."""

    operation: str
    kind: FaultKind
    times: int = 1
    retry_after: float | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    query_keys: frozenset[str]
    literal_length: int


def _route(operation: str, method: str, request_uri: str) -> _Route:
    path, _, query = request_uri.partition("?")
    parts: list[str] = []
    literal = 0
    for token in re.split(r"(\{[^}]+\})", path):
        if token.startswith("{"):
            parts.append(".+" if token.endswith("+}") else "[^/]+")
        else:
            parts.append(re.escape(token))
            literal += len(token)
    keys = frozenset(item.split("=")[0] for item in query.split("&") if item)
    return _Route(operation, method, re.compile("^" + "".join(parts) + "$"), keys, literal)


class AwsOperationResolver:
    """Names the AWS operation of an HTTP request, from botocore's service models."""

    def __init__(self, services: tuple[str, ...] = ("iot", "iot-data")) -> None:
        session = botocore.session.get_session()
        self._routes: dict[str, list[_Route]] = {}
        for service in services:
            model = session.get_service_model(service)
            routes = self._routes.setdefault(model.signing_name or service, [])
            for name in model.operation_names:
                http = model.operation_model(name).http
                routes.append(_route(name, http["method"], http["requestUri"]))

    def resolve(
        self, authorization: str, method: str, path: str, query_keys: set[str]
    ) -> str | None:
        """The operation a request is, or None when no known service has it."""
        scope = _CREDENTIAL_SCOPE.search(authorization)
        services = [scope.group(1)] if scope and scope.group(1) in self._routes else []
        candidates = [
            route
            for service in services or list(self._routes)
            for route in self._routes[service]
            if route.method == method
            and route.query_keys <= query_keys
            and route.pattern.match(path)
        ]
        if not candidates:
            return None
        best = max(candidates, key=lambda r: (r.literal_length, len(r.query_keys)))
        return best.operation


@dataclass
class AwsFaultProxy:
    """The running proxy: where it listens, the faults to inject, what it saw."""

    upstream: str
    resolver: AwsOperationResolver
    faults: list[AwsFault] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    """Every request's operation name, in order ('?' when unknown)."""
    timeline: list[tuple[float, str]] = field(default_factory=list)
    """When each request arrived (event-loop clock, seconds) and its operation."""
    injected: list[tuple[str, FaultKind]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None

    def inject(
        self,
        operation: str,
        kind: FaultKind,
        *,
        times: int = 1,
        retry_after: float | None = None,
        seconds: float = 0.0,
    ) -> None:
        """Fail the next `times` requests of `operation` with `kind`.

        `retry_after` goes with `throttle` answers, `seconds` is how long `stall` holds.
        """
        self.faults.append(AwsFault(operation, kind, times, retry_after, seconds))

    def clear(self) -> None:
        """Forget the faults still pending and what was seen."""
        self.clear_faults()
        self.operations.clear()
        self.timeline.clear()
        self.injected.clear()

    def clear_faults(self) -> None:
        """Forget the faults still pending."""
        self.faults.clear()

    def count(self, operation: str) -> int:
        """How many requests of `operation` reached the proxy."""
        return self.operations.count(operation)

    def _take_fault(self, operation: str) -> AwsFault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.operation in (operation, ANY_OPERATION):
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                self.injected.append((operation, fault.kind))
                return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.raw_path.partition("?")[0]
        operation = self.resolver.resolve(
            request.headers.get("Authorization", ""),
            request.method,
            path,
            set(request.query.keys()),
        )
        name = operation or "?"
        self.operations.append(name)
        self.timeline.append((asyncio.get_running_loop().time(), name))
        fault = self._take_fault(name)
        body = await request.read()
        if fault is not None and fault.kind == "throttle":
            headers = {"x-amzn-ErrorType": "ThrottlingException"}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            return _aws_error(400, headers, "Rate exceeded")
        if fault is not None and fault.kind == "server_error":
            headers = {"x-amzn-ErrorType": "ServiceUnavailableException"}
            return _aws_error(503, headers, "Service Unavailable")
        if fault is not None and fault.kind == "drop":
            return _drop(request)
        if fault is not None and fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
        assert self._http is not None
        async with self._http.request(
            request.method,
            self.upstream + request.raw_path,
            headers={k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP},
            data=body,
            allow_redirects=False,
        ) as answer:
            payload = await answer.read()
            if fault is not None and fault.kind == "drop_after_commit":
                return _drop(request)
            return web.Response(
                status=answer.status,
                body=payload,
                headers={k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP},
            )

    async def close(self) -> None:
        """Stop listening and close the upstream connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._http is not None:
            await self._http.close()
            self._http = None


def _aws_error(status: int, headers: dict[str, str], message: str) -> web.Response:
    return web.Response(
        status=status,
        headers={**headers, "x-amzn-RequestId": "devprov-fault-proxy"},
        content_type="application/json",
        text=json.dumps({"message": message}),
    )


def _drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=444)


async def start_aws_fault_proxy(
    upstream: str,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    resolver: AwsOperationResolver | None = None,
) -> AwsFaultProxy:
    """Start the proxy in front of `upstream` (e.g. moto's server); `close()` it after."""
    proxy = AwsFaultProxy(upstream.rstrip("/"), resolver or AwsOperationResolver())
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    proxy._runner = runner
    # Loopback only: no proxy from the environment between us and the local AWS.
    proxy._http = aiohttp.ClientSession(trust_env=False, auto_decompress=False)
    server = runner.addresses[0]
    proxy.url = f"http://{server[0]}:{server[1]}"
    return proxy
