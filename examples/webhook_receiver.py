"""A complete webhook receiver for devprov: verifies every request with the
`standardwebhooks` library, skips events it has seen, and acts on each outcome.

    pip install aiohttp standardwebhooks
    export DEVPROV_WEBHOOK_SECRET=whsec_...   # from `POST /api/v1/webhooks`, shown once
    python examples/webhook_receiver.py --port 9000

Then subscribe it (under `make run`, loopback receivers are allowed):

    devprov webhooks create http://127.0.0.1:9000/devprov --event run.succeeded \\
        --event run.failed --event fleet.finished --event device.decommissioned

Answer 2xx quickly once the event is safely stored: devprov retries anything else (with
backoff, for 24 h), so the same event may arrive more than once; `webhook-id` is the
same on every retry.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections import OrderedDict
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

logger = logging.getLogger("webhook-receiver")

SEEN_IDS = web.AppKey("seen_ids", OrderedDict[str, None])
VERIFIER = web.AppKey("verifier", Webhook)
REMEMBERED = 10_000
"""Event ids kept to skip redeliveries (a real receiver keeps them in its database)."""


def handle_event(event: dict[str, Any]) -> None:
    """What the backend does with each event (here: log it)."""
    data = event["data"]
    kind = event["type"]
    if kind == "run.succeeded":
        logger.info("device %s is in service on %s", data["device_id"], data["network_ssid"])
    elif kind == "run.failed":
        logger.warning(
            "device %s: run %s ended %s (%s): %s",
            data["device_id"],
            data["workflow_id"],
            data["state"],
            data["error_code"],
            data["message"],
        )
    elif kind == "device.decommissioned":
        logger.info("device %s is out of service", data["device_id"])
    elif kind == "fleet.finished":
        logger.info(
            "fleet %s %s: %d succeeded, %d failed of %d",
            data["fleet_id"],
            data["state"],
            data["succeeded"],
            data["failed"],
            data["total"],
        )


async def receive(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        # Checks the HMAC-SHA256 signature and that the timestamp is within 5 minutes.
        event = request.app[VERIFIER].verify(body, dict(request.headers))
    except WebhookVerificationError:
        return web.Response(status=401, text="bad signature")
    event_id = request.headers["webhook-id"]
    seen = request.app[SEEN_IDS]
    if event_id not in seen:
        handle_event(event)
        seen[event_id] = None
        while len(seen) > REMEMBERED:
            seen.popitem(last=False)
    return web.json_response({"received": event_id})


def create_app(secret: str) -> web.Application:
    app = web.Application()
    app[VERIFIER] = Webhook(secret)
    app[SEEN_IDS] = OrderedDict()
    app.router.add_post("/devprov", receive)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    secret = os.environ.get("DEVPROV_WEBHOOK_SECRET")
    if not secret:
        parser.error("set DEVPROV_WEBHOOK_SECRET to the secret the webhook was created with")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    web.run_app(create_app(secret), host=args.host, port=args.port, print=lambda _: None)


if __name__ == "__main__":
    main()
