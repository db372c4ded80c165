"""`python -m api`: serve the API alone, against an already running Temporal."""

from __future__ import annotations

import asyncio
import logging
import signal

from api.app import ApiDependencies, start_api
from api.auth import AuthConfig
from config.policies import load_policy_book
from config.settings import Settings
from config.startup import ConfigurationError, run_service
from connection.temporal_client import connect
from registry import opened_registry
from strategies.catalog import build_registry

logger = logging.getLogger("devprov.api")


def auth_from_settings(settings: Settings) -> AuthConfig | None:
    """The API's keys; refuses to serve without any unless `DEVPROV_API_AUTH=off`."""
    if not settings.api.authenticates:
        logger.warning("DEVPROV_API_AUTH=off: the API accepts every caller as admin")
        return None
    auth = AuthConfig.from_settings(settings)
    if not auth.keys.has_keys:
        raise ConfigurationError(
            "no API keys: set DEVPROV_API_KEY or DEVPROV_API_KEYS_FILE "
            "(or DEVPROV_API_AUTH=off behind a gateway that authenticates)"
        )
    return auth


async def main() -> None:
    """Connect to Temporal, serve until SIGINT or SIGTERM, then stop cleanly."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    auth = auth_from_settings(settings)
    temporal = await connect(settings)  # a refused configuration stops here, first
    async with opened_registry(settings.registry_url) as devices:
        deps = ApiDependencies(
            temporal=temporal,
            registry=build_registry(
                default=settings.selection.default_strategy,
                disabled=settings.selection.disabled_strategies,
            ),
            policies=load_policy_book(),
            settings=settings,
            auth=auth,
            devices=devices,
        )
        server = await start_api(deps, settings.api.host, settings.api.port)
        logger.info(
            "devprov API on %s/api/v1 (Temporal %s)", server.url, settings.temporal.frontend
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await server.close()


if __name__ == "__main__":
    run_service(main)
