"""Run the simulated devices of the embedded default.

python -m simulators.http_wifi --host 127.0.0.1 --port 8090
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from simulators.http_wifi.fleet import LAB_NETWORK_SSID, default_fleet
from simulators.http_wifi.server import start_simulator

logger = logging.getLogger("devprov.simulators.http_wifi")


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.http_wifi",
        description="Simulated Wi-Fi devices in set-up mode with a Shelly Gen2 style RPC API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on (0: any)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    """Serve the default fleet until interrupted (Ctrl-C or SIGTERM)."""
    args = _arguments(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    fleet = default_fleet()
    simulator = await start_simulator(fleet, args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Ctrl-C (SIGINT) and SIGTERM (`make run`, process managers) both stop us cleanly.
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        print(f"HTTP Wi-Fi simulator on {simulator.base_url}", flush=True)
        print(f"  control API: {simulator.base_url}/_sim/devices", flush=True)
        print(f"  network in range: {LAB_NETWORK_SSID}", flush=True)
        for device in fleet.devices:
            print(f"  {device.device_id}: {simulator.device_address(device.device_id)}", flush=True)
        await stop.wait()
    finally:
        await simulator.close()
        logger.info("simulator stopped")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
