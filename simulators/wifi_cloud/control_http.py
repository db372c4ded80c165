"""Control API under `/_sim/cloud`: what the cloud holds, fault knobs, quota, reset.

Used by tests, benchmarks and `make run`. Responses never contain a claim token, an API
key, an ownership token or a certificate.
"""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import ValidationError

from simulators.control_api import control_error, json_object
from simulators.wifi_cloud.app_keys import CLOUD_KEY
from simulators.wifi_cloud.cloud import SimulatedCloud
from simulators.wifi_cloud.config import CloudFaults, QuotaConfig
from simulators.wifi_cloud.registry import CloudApiError

logger = logging.getLogger("devprov.simulators.wifi_cloud")

routes = web.RouteTableDef()


def _invalid(exc: ValidationError) -> web.HTTPException:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return control_error(422, "invalid_body", "request body is invalid", errors=errors)


def _cloud(request: web.Request) -> SimulatedCloud:
    return request.app[CLOUD_KEY]


@routes.get("/_sim/cloud/state")
async def state(request: web.Request) -> web.Response:
    """Devices, credentials, counters, quota and peak rates, faults."""
    return web.json_response(_cloud(request).snapshot())


@routes.get("/_sim/cloud/faults")
async def get_faults(request: web.Request) -> web.Response:
    """The fault knobs now (counted knobs show what is left)."""
    return web.json_response(_cloud(request).faults.model_dump(mode="json"))


@routes.patch("/_sim/cloud/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Set some fault knobs; knobs not in the body keep their value."""
    cloud = _cloud(request)
    merged = {**cloud.faults.model_dump(), **await json_object(request)}
    try:
        cloud.faults = CloudFaults.model_validate(merged)
    except ValidationError as exc:
        raise _invalid(exc) from None
    logger.info("faults set to %s", cloud.faults.model_dump(mode="json"))
    return web.json_response(cloud.faults.model_dump(mode="json"))


@routes.patch("/_sim/cloud/quota")
async def set_quota(request: web.Request) -> web.Response:
    """Change the quotas (`null` for unlimited); limits not in the body keep their value."""
    cloud = _cloud(request)
    merged = {**cloud.quota.model_dump(), **await json_object(request)}
    try:
        cloud.quota = QuotaConfig.model_validate(merged)
    except ValidationError as exc:
        raise _invalid(exc) from None
    logger.info("quota set to %s", cloud.quota.model_dump())
    return web.json_response(cloud.quota.model_dump())


@routes.post("/_sim/cloud/reset")
async def reset(request: web.Request) -> web.Response:
    """Forget every device, credential, idempotency key, counter and fault."""
    cloud = _cloud(request)
    cloud.reset()
    logger.info("cloud reset")
    return web.json_response(cloud.snapshot())


@routes.post("/_sim/cloud/devices/{device_id}/checkin")
async def force_checkin(request: web.Request) -> web.Response:
    """Record a check-in of a registered device without its proof (as if it came online)."""
    cloud = _cloud(request)
    try:
        record = cloud.registry.device(request.match_info["device_id"])
    except CloudApiError as exc:
        raise control_error(exc.status, exc.error, exc.message) from None
    cloud.registry.record_checkin(record, cloud.registry.wall_now())
    return web.json_response(cloud.registry.device_as_wire(record))
