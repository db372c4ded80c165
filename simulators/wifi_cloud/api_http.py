"""The cloud's API under `/v1`: fleet provisioning by claim, device records, check-in.

Every request goes through the same front door (`_serve`): authentication, the quota,
the request faults, the `Idempotency-Key` replay, then the action on the registry.
Error bodies are `{"error": <code>, "message": <text>}` and never hold a secret.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulators.wifi_cloud.app_keys import CLOUD_KEY
from simulators.wifi_cloud.cloud import SimulatedCloud
from simulators.wifi_cloud.config import MUTATING_ENDPOINTS, Endpoint
from simulators.wifi_cloud.idempotency import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    IdempotencyKeyReused,
    StoredAnswer,
    request_fingerprint,
    valid_key,
)
from simulators.wifi_cloud.registry import CloudApiError

logger = logging.getLogger("devprov.simulators.wifi_cloud")

routes = web.RouteTableDef()

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_ATTRIBUTE_KEY_PATTERN = r"^[A-Za-z0-9_.,@/:#-]{1,128}$"
_MAX_ATTRIBUTES = 50
_MAX_ATTRIBUTE_VALUE = 800

_Model = TypeVar("_Model", bound=BaseModel)
Payload = dict[str, object] | None
Action = Callable[[SimulatedCloud, web.Request, Any], tuple[int, Payload]]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueCredentialBody(_Body):
    """`POST /v1/credentials`: a claim and a CSR for one device."""

    device_id: str = Field(pattern=_ID_PATTERN)
    claim_token: str = Field(min_length=1, max_length=512)
    csr_pem: str = Field(min_length=1, max_length=16384)


class RegisterDeviceBody(_Body):
    """`POST /v1/devices`: the device record, proven by the credential's ownership token."""

    device_id: str = Field(pattern=_ID_PATTERN)
    ownership_token: str = Field(min_length=1, max_length=512)
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("attributes")
    @classmethod
    def _small_attributes(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > _MAX_ATTRIBUTES:
            raise ValueError(f"at most {_MAX_ATTRIBUTES} attributes")
        for name, text in value.items():
            if not re.match(_ATTRIBUTE_KEY_PATTERN, name):
                raise ValueError("attribute names are 1-128 of A-Z a-z 0-9 _.,@/:#-")
            if len(text) > _MAX_ATTRIBUTE_VALUE:
                raise ValueError(f"attribute values are at most {_MAX_ATTRIBUTE_VALUE} characters")
        return value


class AttachPolicyBody(_Body):
    """`POST /v1/devices/{device_id}/policies`."""

    policy_name: str = Field(pattern=_ID_PATTERN)


class CheckinBody(_Body):
    """`POST /v1/devices/{device_id}/checkin`: proof of possession of the private key."""

    credential_id: str = Field(min_length=1, max_length=128)
    timestamp: int = Field(description="Unix seconds, signed with the message.")
    signature: str = Field(min_length=1, max_length=2048, description="Base64.")


def _error(
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> web.HTTPException:
    body = json.dumps({"error": code, "message": message, **extra})
    exc = web.HTTPException(text=body, content_type="application/json", headers=headers)
    exc.set_status(status)
    return exc


def _throttled(wait: float) -> web.HTTPException:
    # Retry-After is whole seconds (RFC 9110); the body has the exact wait.
    seconds = max(1, math.ceil(wait)) if wait > 0 else 0
    return _error(
        429,
        "throttled",
        "request quota exceeded, retry later",
        headers={"Retry-After": str(seconds)},
        retry_after=round(wait, 3),
    )


def _drop_connection(request: web.Request) -> web.Response:
    """Close the connection without answering; 444 is what the counters show."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=444)


def _authenticate(request: web.Request, cloud: SimulatedCloud) -> str:
    scheme, _, api_key = request.headers.get("Authorization", "").partition(" ")
    client = cloud.client_of(api_key.strip()) if scheme.lower() == "bearer" else None
    if client is None:
        raise _error(
            401,
            "unauthenticated",
            "a valid API key is required (Bearer)",
            headers={"WWW-Authenticate": 'Bearer realm="vendor-cloud"'},
        )
    return client


async def _json_body(request: web.Request) -> object:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _error(400, "malformed_json", "request body is not JSON") from None


def _parse(model: type[_Model], body: object) -> _Model:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        # Without the input values: the body may hold a claim or an ownership token.
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise _error(422, "invalid_body", "request body is invalid", errors=errors) from None


async def _serve(
    request: web.Request,
    endpoint: Endpoint,
    action: Action,
    body_model: type[BaseModel] | None = None,
) -> web.Response:
    cloud = request.app[CLOUD_KEY]
    gateway = cloud.gateway
    if endpoint is Endpoint.CHECKIN:
        # Devices authenticate by proof of possession, and are not the API's clients.
        client = f"device:{request.match_info['device_id']}"
    else:
        client = _authenticate(request, cloud)
        if gateway.take_fault("throttle", endpoint):
            raise _throttled(cloud.faults.throttle_retry_after)
        wait = gateway.admit(client, cloud.now())
        if wait > 0:
            raise _throttled(wait)
    # The body is read before the latency: a client that gives up while the request is
    # held must not stop it from taking effect, as with a real server.
    raw: object = await _json_body(request) if body_model is not None else None
    latency = gateway.latency_for(endpoint)
    if latency > 0:
        await asyncio.sleep(latency)
    if gateway.take_fault("drop_connections", endpoint):
        return _drop_connection(request)
    if gateway.take_fault("server_errors", endpoint) or gateway.random_server_error(endpoint):
        raise _error(503, "unavailable", "the service is temporarily unavailable")
    if gateway.take_fault("garbled", endpoint):
        return web.Response(text="<html>\x00 upstream hiccup", content_type="text/html")

    body = _parse(body_model, raw) if body_model is not None else None
    key = request.headers.get(IDEMPOTENCY_HEADER) if endpoint in MUTATING_ENDPOINTS else None
    fingerprint = request_fingerprint(request.method, request.rel_url.path_qs, raw)
    if key is not None:
        if not valid_key(key):
            raise _error(400, "invalid_idempotency_key", "keys are 1-255 visible ASCII characters")
        try:
            stored = cloud.idempotency.lookup(client, key, fingerprint, cloud.now())
        except IdempotencyKeyReused:
            raise _error(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            ) from None
        if stored is not None:
            logger.info("%s: replaying the answer stored for an Idempotency-Key", endpoint)
            return _answer(stored, replayed=True)

    try:
        status, payload = action(cloud, request, body)
    except CloudApiError as exc:
        raise _error(exc.status, exc.error, exc.message) from None
    answer = StoredAnswer(status, json.dumps(payload).encode() if payload is not None else b"")
    if key is not None:
        cloud.idempotency.remember(client, key, fingerprint, answer, cloud.now())
    if endpoint in MUTATING_ENDPOINTS and gateway.take_fault(
        "server_errors_after_commit", endpoint
    ):
        logger.info("%s: done, answering 500 anyway (fault)", endpoint)
        raise _error(500, "internal", "internal error")
    return _answer(answer, replayed=False)


def _answer(answer: StoredAnswer, *, replayed: bool) -> web.Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    if not answer.body:
        return web.Response(status=answer.status, headers=headers)
    return web.Response(
        status=answer.status,
        body=answer.body,
        content_type="application/json",
        headers=headers,
    )


# --- actions ----------------------------------------------------------------------------


def _issue(cloud: SimulatedCloud, _: web.Request, body: IssueCredentialBody) -> tuple[int, Payload]:
    issued = cloud.registry.issue_credential(body.device_id, body.claim_token, body.csr_pem)
    credential = issued.credential
    return 201, {
        "credential_id": credential.credential_id,
        "device_id": credential.device_id,
        "certificate_pem": credential.certificate_pem,
        "not_after": credential.not_after.isoformat(),
        "ownership_token": issued.ownership_token,
        "ownership_token_expires_at": credential.ownership_token_expires_at.isoformat(),
    }


def _list_credentials(cloud: SimulatedCloud, request: web.Request, _: None) -> tuple[int, Payload]:
    device_id = request.query.get("device_id")
    if not device_id:
        raise CloudApiError(400, "missing_device_id", "the device_id query parameter is required")
    credentials = cloud.registry.credentials_of(device_id)
    return 200, {"credentials": [c.as_wire() for c in credentials]}


def _revoke(cloud: SimulatedCloud, request: web.Request, _: None) -> tuple[int, Payload]:
    return 200, cloud.registry.revoke_credential(request.match_info["credential_id"]).as_wire()


def _register(
    cloud: SimulatedCloud, _: web.Request, body: RegisterDeviceBody
) -> tuple[int, Payload]:
    record = cloud.registry.register_device(body.device_id, body.attributes, body.ownership_token)
    return 201, {
        "device_id": record.device_id,
        "credential_id": record.credential_id,
        "attributes": record.attributes,
        "registered_at": record.registered_at.isoformat(),
    }


def _status(cloud: SimulatedCloud, request: web.Request, _: None) -> tuple[int, Payload]:
    record = cloud.registry.device(request.match_info["device_id"])
    return 200, cloud.registry.device_as_wire(record)


def _attach(
    cloud: SimulatedCloud, request: web.Request, body: AttachPolicyBody
) -> tuple[int, Payload]:
    record = cloud.registry.attach_policy(request.match_info["device_id"], body.policy_name)
    return 200, {
        "device_id": record.device_id,
        "policy_name": body.policy_name,
        "policies": sorted(record.policies),
    }


def _deregister(cloud: SimulatedCloud, request: web.Request, _: None) -> tuple[int, Payload]:
    cloud.registry.deregister_device(request.match_info["device_id"])
    return 204, None


def _checkin(cloud: SimulatedCloud, request: web.Request, body: CheckinBody) -> tuple[int, Payload]:
    try:
        signature = base64.b64decode(body.signature, validate=True)
    except (binascii.Error, ValueError):
        raise CloudApiError(400, "invalid_signature", "the signature is not base64") from None
    record = cloud.registry.check_in(
        request.match_info["device_id"], body.credential_id, body.timestamp, signature
    )
    checked_in_at = record.last_checkin_at.isoformat() if record.last_checkin_at else None
    return 200, {"device_id": record.device_id, "checked_in_at": checked_in_at}


# --- routes -----------------------------------------------------------------------------


@routes.post("/v1/credentials", name=Endpoint.ISSUE_CREDENTIAL.value)
async def issue_credential(request: web.Request) -> web.Response:
    """Exchange a claim token and a CSR for a device certificate and an ownership token."""
    return await _serve(request, Endpoint.ISSUE_CREDENTIAL, _issue, IssueCredentialBody)


@routes.get("/v1/credentials", name=Endpoint.LIST_CREDENTIALS.value)
async def list_credentials(request: web.Request) -> web.Response:
    """The credentials issued for `?device_id=`, active or revoked (no secret)."""
    return await _serve(request, Endpoint.LIST_CREDENTIALS, _list_credentials)


@routes.post("/v1/credentials/{credential_id}/revoke", name=Endpoint.REVOKE_CREDENTIAL.value)
async def revoke_credential(request: web.Request) -> web.Response:
    """Revoke a credential; revoking a revoked one answers the same."""
    return await _serve(request, Endpoint.REVOKE_CREDENTIAL, _revoke)


@routes.post("/v1/devices", name=Endpoint.REGISTER_DEVICE.value)
async def register_device(request: web.Request) -> web.Response:
    """Create the device record bound to the credential named by the ownership token."""
    return await _serve(request, Endpoint.REGISTER_DEVICE, _register, RegisterDeviceBody)


@routes.get("/v1/devices/{device_id}", name=Endpoint.DEVICE_STATUS.value)
async def device_status(request: web.Request) -> web.Response:
    """The device record: credential, policies, last check-in."""
    return await _serve(request, Endpoint.DEVICE_STATUS, _status)


@routes.delete("/v1/devices/{device_id}", name=Endpoint.DEREGISTER_DEVICE.value)
async def deregister_device(request: web.Request) -> web.Response:
    """Delete the device record and its policy attachments."""
    return await _serve(request, Endpoint.DEREGISTER_DEVICE, _deregister)


@routes.post("/v1/devices/{device_id}/policies", name=Endpoint.ATTACH_POLICY.value)
async def attach_policy(request: web.Request) -> web.Response:
    """Attach a policy to a registered device; attaching it again changes nothing."""
    return await _serve(request, Endpoint.ATTACH_POLICY, _attach, AttachPolicyBody)


@routes.post("/v1/devices/{device_id}/checkin", name=Endpoint.CHECKIN.value)
async def checkin(request: web.Request) -> web.Response:
    """A device, online with its credential, says hello (signed, no API key)."""
    return await _serve(request, Endpoint.CHECKIN, _checkin, CheckinBody)


_ENDPOINT_NAMES = frozenset(e.value for e in Endpoint)


@web.middleware
async def count_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Count every `/v1` answer by endpoint and status, errors included."""
    name = request.match_info.route.name
    if name not in _ENDPOINT_NAMES:
        return await handler(request)
    gateway = request.app[CLOUD_KEY].gateway
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        gateway.count(name or "", exc.status)
        raise
    gateway.count(name or "", response.status)
    return response
