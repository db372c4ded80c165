"""Control API under `/_sim`: inspect devices, add them, set faults, change the networks.

Used by tests, the web console and `make run`. Responses never contain a passphrase.
"""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulators.http_wifi.app_keys import FLEET_KEY
from simulators.http_wifi.device import (
    DEFAULT_FIRMWARE,
    DEFAULT_MODEL,
    DeviceFaults,
    SimulatedWifiDevice,
)
from simulators.http_wifi.fleet import WifiDeviceFleet, validate_network

logger = logging.getLogger("devprov.simulators.http_wifi")

routes = web.RouteTableDef()

_Model = TypeVar("_Model", bound=BaseModel)

# URL-path safe, like the device ids devprov accepts.
_DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class NewDevice(BaseModel):
    """Body of `POST /_sim/devices`."""

    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(pattern=_DEVICE_ID_PATTERN)
    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=64)
    firmware: str = Field(default=DEFAULT_FIRMWARE, min_length=1, max_length=32)
    mac: str = Field(default="", pattern=r"^([0-9A-F]{12})?$")
    auth_enabled: bool = False
    join_delay: float = Field(default=1.0, ge=0, le=3600)
    faults: DeviceFaults = Field(default_factory=DeviceFaults)


class DeviceChange(BaseModel):
    """Body of `PATCH /_sim/devices/{device_id}`: properties that are not faults."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, min_length=1, max_length=64)
    firmware: str | None = Field(default=None, min_length=1, max_length=32)
    auth_enabled: bool | None = None
    join_delay: float | None = Field(default=None, ge=0, le=3600)


class NetworkPassphrase(BaseModel):
    """Body of `PUT /_sim/networks/{ssid}`."""

    model_config = ConfigDict(extra="forbid")

    passphrase: str = Field(max_length=63, description='"" for an open network.')


class NetworkSet(BaseModel):
    """Body of `PUT /_sim/networks`: the complete set of networks in range."""

    model_config = ConfigDict(extra="forbid")

    networks: dict[str, str]


def _error(status: int, code: str, message: str, **extra: object) -> web.HTTPException:
    body = json.dumps({"error": code, "message": message, **extra})
    exc = web.HTTPException(text=body, content_type="application/json")
    exc.set_status(status)
    return exc


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _error(400, "malformed_json", "request body is not JSON") from None


async def _parse(request: web.Request, model: type[_Model]) -> _Model:
    body = await _json_body(request)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        # Without the input values: a rejected network body would otherwise echo passphrases.
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise _error(422, "invalid_body", "request body is invalid", errors=errors) from None


def _fleet(request: web.Request) -> WifiDeviceFleet:
    return request.app[FLEET_KEY]


def _device(request: web.Request) -> SimulatedWifiDevice:
    device_id = request.match_info["device_id"]
    device = _fleet(request).get(device_id)
    if device is None:
        raise _error(404, "device_not_found", f"no simulated device '{device_id}'")
    return device


def _networks_body(fleet: WifiDeviceFleet) -> web.Response:
    return web.json_response({"networks": fleet.networks_summary()})


@routes.get("/_sim/devices")
async def list_devices(request: web.Request) -> web.Response:
    """Every device with its state, counters and faults."""
    fleet = _fleet(request)
    return web.json_response({"devices": [fleet.snapshot(d) for d in fleet.devices]})


@routes.post("/_sim/devices")
async def add_device(request: web.Request) -> web.Response:
    """Add a device in set-up mode."""
    spec = await _parse(request, NewDevice)
    fleet = _fleet(request)
    if spec.device_id in fleet:
        raise _error(409, "device_exists", f"device '{spec.device_id}' already exists")
    device = fleet.add(
        SimulatedWifiDevice(**spec.model_dump(exclude={"faults"}), faults=spec.faults)
    )
    logger.info("added simulated device %s (%s)", device.device_id, device.model)
    return web.json_response(fleet.snapshot(device), status=201)


@routes.get("/_sim/devices/{device_id}")
async def get_device(request: web.Request) -> web.Response:
    """One device with its state, counters and faults."""
    return web.json_response(_fleet(request).snapshot(_device(request)))


@routes.patch("/_sim/devices/{device_id}")
async def change_device(request: web.Request) -> web.Response:
    """Change a device's model, firmware, authentication or join delay."""
    device = _device(request)
    change = await _parse(request, DeviceChange)
    for name, value in change.model_dump(exclude_none=True).items():
        setattr(device, name, value)
    return web.json_response(_fleet(request).snapshot(device))


@routes.delete("/_sim/devices/{device_id}")
async def remove_device(request: web.Request) -> web.Response:
    """Remove a device: its RPC address answers 404 from then on."""
    device = _device(request)
    _fleet(request).remove(device.device_id)
    return web.Response(status=204)


@routes.patch("/_sim/devices/{device_id}/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Set some fault knobs; knobs not in the body keep their value."""
    device = _device(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise _error(422, "invalid_body", "faults must be a JSON object")
    try:
        device.faults = DeviceFaults.model_validate({**device.faults.model_dump(), **body})
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise _error(422, "invalid_body", "invalid faults", errors=errors) from None
    logger.info("device %s: faults set to %s", device.device_id, device.faults.model_dump())
    return web.json_response(_fleet(request).snapshot(device))


@routes.post("/_sim/devices/{device_id}/reset")
async def reset_device(request: web.Request) -> web.Response:
    """Back to set-up mode, with no faults and zeroed counters."""
    device = _device(request)
    device.restore()
    logger.info("device %s: restored to set-up mode", device.device_id)
    return web.json_response(_fleet(request).snapshot(device))


@routes.get("/_sim/networks")
async def list_networks(request: web.Request) -> web.Response:
    """The networks in range, without passphrases."""
    return _networks_body(_fleet(request))


@routes.put("/_sim/networks")
async def replace_networks(request: web.Request) -> web.Response:
    """Replace every network in range: `{"networks": {ssid: passphrase}}`."""
    body = await _parse(request, NetworkSet)
    fleet = _fleet(request)
    try:
        fleet.replace_networks(body.networks)
    except ValueError as exc:
        raise _error(422, "invalid_network", str(exc)) from None
    logger.info("networks in range: %s", sorted(body.networks))
    return _networks_body(fleet)


@routes.put("/_sim/networks/{ssid}")
async def put_network(request: web.Request) -> web.Response:
    """Add one network in range or change its passphrase."""
    ssid = request.match_info["ssid"]
    body = await _parse(request, NetworkPassphrase)
    fleet = _fleet(request)
    try:
        validate_network(ssid, body.passphrase)
    except ValueError as exc:
        raise _error(422, "invalid_network", str(exc)) from None
    fleet.set_network(ssid, body.passphrase)
    logger.info("network %r is in range", ssid)
    return _networks_body(fleet)


@routes.delete("/_sim/networks/{ssid}")
async def delete_network(request: web.Request) -> web.Response:
    """Take one network out of range."""
    ssid = request.match_info["ssid"]
    fleet = _fleet(request)
    if ssid not in fleet.networks:
        raise _error(404, "network_not_found", f"no network '{ssid}'")
    fleet.remove_network(ssid)
    return web.Response(status=204)
