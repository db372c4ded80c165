"""Run the simulated vendor cloud.

python -m simulators.wifi_cloud --host 127.0.0.1 --port 8092 --quota 50

The API key and the claim token are the development values of `simulators.wifi_cloud`
unless `DEVPROV_CLOUD_API_KEY` / `DEVPROV_CLOUD_CLAIM_TOKENS` (comma-separated) are set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping

from simulators.wifi_cloud.config import (
    DEFAULT_POLICY,
    CloudConfig,
    QuotaConfig,
    SimulatedCloudSettings,
)
from simulators.wifi_cloud.server import start_cloud_simulator

logger = logging.getLogger("devprov.simulators.wifi_cloud")


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.wifi_cloud",
        description="A simulated vendor cloud: fleet provisioning by claim, with quotas.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8092, help="port to listen on (0: any)")
    parser.add_argument("--quota", type=int, default=None, help="requests/s, all clients")
    parser.add_argument("--client-quota", type=int, default=None, help="requests/s per client")
    parser.add_argument(
        "--auto-checkin-delay",
        type=float,
        default=1.0,
        help="seconds after which a ready device checks in by itself (negative: never)",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> CloudConfig:
    """The cloud's configuration from the command line and the environment (default:
    the process's)."""
    settings = SimulatedCloudSettings.from_env(env)
    return CloudConfig(
        api_keys={settings.api_key: "devprov"},
        claim_tokens=settings.accepted_claims(),
        policies=frozenset({DEFAULT_POLICY}),
        quota=QuotaConfig(global_per_second=args.quota, client_per_second=args.client_quota),
        auto_checkin_delay=args.auto_checkin_delay if args.auto_checkin_delay >= 0 else None,
    )


async def main(argv: list[str] | None = None) -> None:
    """Serve the cloud until interrupted (Ctrl-C or SIGTERM)."""
    args = _arguments(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    running = await start_cloud_simulator(config_from(args), args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        quota = running.cloud.quota
        print(f"Simulated vendor cloud on {running.base_url} (API under /v1)", flush=True)
        print(f"  control API: {running.base_url}/_sim/cloud/state", flush=True)
        print(
            f"  quota: {quota.global_per_second or 'unlimited'} req/s global, "
            f"{quota.client_per_second or 'unlimited'} req/s per client",
            flush=True,
        )
        print(f"  policies: {', '.join(sorted(running.cloud.config.policies))}", flush=True)
        await stop.wait()
    finally:
        await running.close()
        logger.info("simulated cloud stopped")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
