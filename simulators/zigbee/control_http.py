"""Control API under `/_sim/zigbee`: inspect simulated Zigbee devices, add them, set faults,
power them on in pairing mode, make them leave, reset them; inspect the coordinator sticks.

Used by tests, the web console and `make run`. Install codes are masked in every response
except the one that creates a device without giving its code (the new device's label).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.zigbee import normalize_ieee
from simulators.control_api import control_error
from simulators.serving import serve_app
from simulators.zigbee.device import SimulatedZigbeeDevice, ZigbeeDeviceFaults
from simulators.zigbee.fleet import PRODUCTS, ZigbeeDeviceFleet
from simulators.zigbee.install_codes import format_install_code, install_code_for
from simulators.zigbee.radio import SimulatedStick

logger = logging.getLogger("devprov.simulators.zigbee")

routes = web.RouteTableDef()

_Model = TypeVar("_Model", bound=BaseModel)
_DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


@dataclass
class ZigbeeSimulatorState:
    """What the control API serves: the devices and the coordinator sticks."""

    fleet: ZigbeeDeviceFleet
    sticks: list[SimulatedStick] = field(default_factory=list)


ZIGBEE_SIMULATOR_KEY = web.AppKey("devprov_zigbee_simulator", ZigbeeSimulatorState)


class NewZigbeeDevice(BaseModel):
    """Body of `POST /_sim/zigbee/devices`."""

    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(pattern=_DEVICE_ID_PATTERN)
    ieee: str
    product: Literal["color_bulb", "smart_plug", "motion_sensor"] = "smart_plug"
    manufacturer: str | None = Field(default=None, min_length=1, max_length=32)
    model: str | None = Field(default=None, min_length=1, max_length=32)
    install_code: str | None = Field(
        default=None, description="Hex, CRC included; generated when absent."
    )
    join_delay: float = Field(default=0.5, ge=0, le=3600)
    pairing: bool = True
    faults: ZigbeeDeviceFaults = Field(default_factory=ZigbeeDeviceFaults)


async def _json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise control_error(400, "malformed_json", "request body is not JSON") from None


def _invalid(exc: ValidationError, message: str = "request body is invalid") -> web.HTTPException:
    # Without input values: a rejected body must not echo an install code.
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return control_error(422, "invalid_body", message, errors=errors)


async def _parse(request: web.Request, model: type[_Model]) -> _Model:
    body = await _json_body(request)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _state(request: web.Request) -> ZigbeeSimulatorState:
    return request.app[ZIGBEE_SIMULATOR_KEY]


def _device(request: web.Request) -> SimulatedZigbeeDevice:
    device_id = request.match_info["device_id"]
    device = _state(request).fleet.get(device_id)
    if device is None:
        raise control_error(404, "device_not_found", f"no simulated Zigbee device '{device_id}'")
    return device


@routes.get("/_sim/zigbee/devices")
async def list_devices(request: web.Request) -> web.Response:
    """Every device with its network state, counters and faults (install codes masked)."""
    return web.json_response({"devices": _state(request).fleet.snapshot()})


@routes.post("/_sim/zigbee/devices")
async def add_device(request: web.Request) -> web.Response:
    """Add a device, in pairing mode unless `pairing` is false."""
    spec = await _parse(request, NewZigbeeDevice)
    fleet = _state(request).fleet
    if spec.device_id in fleet:
        raise control_error(409, "device_exists", f"device '{spec.device_id}' already exists")
    try:
        ieee = normalize_ieee(spec.ieee)
        code = (
            bytes.fromhex("".join(spec.install_code.split()))
            if spec.install_code
            else install_code_for(spec.device_id)
        )
        extra: dict[str, Any] = {}
        if spec.manufacturer:
            extra["manufacturer"] = spec.manufacturer
        if spec.model:
            extra["model"] = spec.model
        device = PRODUCTS[spec.product](
            spec.device_id,
            ieee,
            install_code=code,
            join_delay=spec.join_delay,
            pairing=spec.pairing,
            faults=spec.faults,
            **extra,
        )
        fleet.add(device)
    except ValueError as exc:
        # zigpy's install code errors repeat the code: say what is wrong without it.
        message = "invalid install code" if "install code" in str(exc) else str(exc)
        raise control_error(422, "invalid_device", message) from None
    logger.info("added simulated Zigbee device %s (%s)", device.device_id, device.model)
    body = device.snapshot()
    if not spec.install_code:
        body["label"] = {"install_code": format_install_code(device.install_code)}
    return web.json_response(body, status=201)


@routes.get("/_sim/zigbee/devices/{device_id}")
async def get_device(request: web.Request) -> web.Response:
    return web.json_response(_device(request).snapshot())


@routes.delete("/_sim/zigbee/devices/{device_id}")
async def remove_device(request: web.Request) -> web.Response:
    """Take the device out of range (it leaves its network first)."""
    device = _device(request)
    _state(request).fleet.remove(device.device_id)
    return web.Response(status=204)


@routes.patch("/_sim/zigbee/devices/{device_id}/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Set some fault knobs; knobs not in the body keep their value."""
    device = _device(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise control_error(422, "invalid_body", "faults must be a JSON object")
    try:
        _state(request).fleet.set_faults(device.device_id, body)
    except ValidationError as exc:
        raise _invalid(exc, "invalid faults") from None
    logger.info("Zigbee device %s: faults set to %s", device.device_id, device.faults.model_dump())
    return web.json_response(device.snapshot())


@routes.post("/_sim/zigbee/devices/{device_id}/pairing")
async def start_pairing(request: web.Request) -> web.Response:
    """Power the device on / press its pairing button: it looks for a network to join."""
    device = _state(request).fleet.start_pairing(_device(request).device_id)
    return web.json_response(device.snapshot())


@routes.post("/_sim/zigbee/devices/{device_id}/power-off")
async def power_off(request: web.Request) -> web.Response:
    """Stop looking for a network (a joined device stays joined)."""
    device = _state(request).fleet.stop_pairing(_device(request).device_id)
    return web.json_response(device.snapshot())


@routes.post("/_sim/zigbee/devices/{device_id}/leave")
async def leave(request: web.Request) -> web.Response:
    """The device leaves its network on its own."""
    device = _state(request).fleet.make_leave(_device(request).device_id)
    return web.json_response(device.snapshot())


@routes.post("/_sim/zigbee/devices/{device_id}/reset")
async def reset_device(request: web.Request) -> web.Response:
    """Factory reset: off the network, pairing, no faults, zeroed counters."""
    device = _state(request).fleet.reset(_device(request).device_id)
    return web.json_response(device.snapshot())


@routes.post("/_sim/zigbee/reset")
async def reset_all(request: web.Request) -> web.Response:
    """Factory-reset every device."""
    fleet = _state(request).fleet
    fleet.reset_all()
    return web.json_response({"devices": fleet.snapshot()})


@routes.get("/_sim/zigbee/coordinators")
async def list_coordinators(request: web.Request) -> web.Response:
    """The simulated coordinator sticks: network, permit state, counters (no keys)."""
    now = asyncio.get_running_loop().time()
    return web.json_response(
        {"coordinators": [stick.snapshot(now) for stick in _state(request).sticks]}
    )


def add_control_routes(
    app: web.Application, fleet: ZigbeeDeviceFleet, sticks: list[SimulatedStick] | None = None
) -> None:
    """Serve the control API for `fleet` and `sticks` from `app`."""
    # The list is kept, not copied: sticks of gateways started later show up too.
    app[ZIGBEE_SIMULATOR_KEY] = ZigbeeSimulatorState(fleet, sticks if sticks is not None else [])
    app.add_routes(routes)


def create_control_app(
    fleet: ZigbeeDeviceFleet, sticks: list[SimulatedStick] | None = None
) -> web.Application:
    """An application serving only the Zigbee control API."""
    app = web.Application()
    add_control_routes(app, fleet, sticks)
    return app


@dataclass
class RunningZigbeeControl:
    """The control API listening on `base_url`; `close()` stops it."""

    base_url: str
    runner: web.AppRunner

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_zigbee_control(
    fleet: ZigbeeDeviceFleet,
    sticks: list[SimulatedStick] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningZigbeeControl:
    """Serve the control API on `host:port` (0: any free port)."""
    runner, base_url = await serve_app(
        create_control_app(fleet, sticks), host, port, shutdown_timeout=0.5
    )
    return RunningZigbeeControl(base_url, runner)
