"""Handlers of webhooks (the caller's tenant's subscriptions and their delivery logs) and
of its pre-provisioning hook."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.access import caller_of
from api.bodies import field_errors, invalid, read_model
from api.keys import HOOKS, WEBHOOKS
from api.responses import model_response
from domain.api_models import FieldError
from domain.hooks import PreProvisioningHookSet
from domain.webhooks import WebhookCreate, WebhookSecretRotation, WebhookUpdate

MAX_DELIVERIES_PAGE = 500


class DeliveryPageQuery(BaseModel):
    """Query parameters of a delivery log."""

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(default=None, max_length=20, pattern=r"^[0-9]+$")
    limit: int = Field(default=100, ge=1, le=MAX_DELIVERIES_PAGE)


def _tenant(request: web.Request) -> str:
    return caller_of(request).tenant


async def create_webhook(request: web.Request) -> web.Response:
    """`POST /webhooks`: subscribe a URL to event types (201, with the secret once)."""
    body = await read_model(request, WebhookCreate)
    created = await request.app[WEBHOOKS].create(_tenant(request), body)
    return model_response(created, status=201, headers={"Location": f"{request.path}/{created.id}"})


async def list_webhooks(request: web.Request) -> web.Response:
    """`GET /webhooks`: the tenant's subscriptions (never their secrets)."""
    return model_response(await request.app[WEBHOOKS].list(_tenant(request)))


async def show_webhook(request: web.Request) -> web.Response:
    """`GET /webhooks/{webhook_id}` (another tenant's: 404)."""
    webhook_id = request.match_info["webhook_id"]
    return model_response(await request.app[WEBHOOKS].show(_tenant(request), webhook_id))


async def update_webhook(request: web.Request) -> web.Response:
    """`PATCH /webhooks/{webhook_id}`: disable or enable it, change its events or its
    description (the fields given)."""
    body = await read_model(request, WebhookUpdate)
    webhook_id = request.match_info["webhook_id"]
    return model_response(await request.app[WEBHOOKS].update(_tenant(request), webhook_id, body))


async def rotate_secret(request: web.Request) -> web.Response:
    """`POST /webhooks/{webhook_id}/rotate-secret`: a new secret, shown once; the old one
    signs too for the grace period. The body (`grace_seconds`) is optional."""
    body = (
        await read_model(request, WebhookSecretRotation)
        if request.body_exists
        else WebhookSecretRotation()
    )
    webhook_id = request.match_info["webhook_id"]
    rotated = await request.app[WEBHOOKS].rotate_secret(_tenant(request), webhook_id, body)
    return model_response(rotated)


async def delete_webhook(request: web.Request) -> web.Response:
    """`DELETE /webhooks/{webhook_id}` (204): no more events, pending ones dropped."""
    await request.app[WEBHOOKS].delete(_tenant(request), request.match_info["webhook_id"])
    return web.Response(status=204)


async def list_deliveries(request: web.Request) -> web.Response:
    """`GET /webhooks/{webhook_id}/deliveries`: the delivery log, newest first."""
    try:
        page = DeliveryPageQuery.model_validate(dict(request.query))
    except ValidationError as error:
        errors = [
            FieldError(loc=["query", *e.loc], msg=e.msg, type=e.type) for e in field_errors(error)
        ]
        raise invalid(errors, detail="invalid query parameters") from None
    listing = await request.app[WEBHOOKS].deliveries(
        _tenant(request), request.match_info["webhook_id"], limit=page.limit, cursor=page.cursor
    )
    return model_response(listing)


async def redeliver(request: web.Request) -> web.Response:
    """`POST /webhooks/{webhook_id}/deliveries/{event_id}/redeliver` (202): send it again."""
    delivery = await request.app[WEBHOOKS].redeliver(
        _tenant(request), request.match_info["webhook_id"], request.match_info["event_id"]
    )
    return model_response(delivery, status=202)


async def show_hook(request: web.Request) -> web.Response:
    """`GET /tenant/settings/pre-provisioning-hook` (none: 404)."""
    return model_response(await request.app[HOOKS].get(_tenant(request)))


async def put_hook(request: web.Request) -> web.Response:
    """`PUT /tenant/settings/pre-provisioning-hook`: set it; its new secret, once."""
    body = await read_model(request, PreProvisioningHookSet)
    return model_response(await request.app[HOOKS].put(_tenant(request), body))


async def delete_hook(request: web.Request) -> web.Response:
    """`DELETE /tenant/settings/pre-provisioning-hook` (204): runs ask no hook any more."""
    await request.app[HOOKS].delete(_tenant(request))
    return web.Response(status=204)
