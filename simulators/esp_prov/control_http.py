"""Control API of the simulated ESP32s under `/_sim/esp`, as the other simulators have.

Used by people trying `make run` and by tests: list the devices (station, network,
counters, knobs; never a secret), set fault knobs, take a device out of radio range and
back, and power a device off and on again as new (`reset`).

- `GET /_sim/esp/devices`: every device, and the networks in range (names only);
- `GET /_sim/esp/devices/{id}`: one device;
- `PATCH /_sim/esp/devices/{id}/faults`: set knobs (`wifi_auth_error`,
  `network_not_found`, `never_connects`, `refuse_sessions`); the others keep their value;
- `POST /_sim/esp/devices/{id}/range`: `{"in_range": false}` leaves radio range keeping
  its state, `true` comes back;
- `POST /_sim/esp/devices/{id}/reset`: powered off and on again as new (provisioning
  mode, knobs and counters cleared).
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from simulators.control_api import control_error, json_object
from simulators.esp_prov.device import EspDeviceFaults, SimulatedEspDevice
from simulators.esp_prov.fleet import EspDeviceFleet
from simulators.serving import serve_app

ESP_FLEET_KEY = web.AppKey("devprov_esp_fleet", EspDeviceFleet)
"""The simulated ESP32s the routes act on."""
FAULT_KNOBS = frozenset(field.name for field in dataclasses.fields(EspDeviceFaults))

routes = web.RouteTableDef()


def _fleet(request: web.Request) -> EspDeviceFleet:
    return request.app[ESP_FLEET_KEY]


def _snapshot(device: SimulatedEspDevice, *, in_range: bool) -> dict[str, object]:
    return {**device.snapshot(), "in_range": in_range}


def _device(request: web.Request) -> tuple[SimulatedEspDevice, bool]:
    """The device the path names, and whether it is in radio range."""
    device_id = request.match_info["device_id"]
    fleet = _fleet(request)
    device = fleet.get(device_id)
    if device is not None:
        return device, True
    away = fleet.out_of_range.get(device_id)
    if away is None:
        raise control_error(404, "device_not_found", f"no simulated ESP32 '{device_id}'")
    return away, False


@routes.get("/_sim/esp/devices")
async def list_devices(request: web.Request) -> web.Response:
    fleet = _fleet(request)
    devices = [_snapshot(d, in_range=True) for d in fleet.devices]
    devices += [_snapshot(d, in_range=False) for d in fleet.out_of_range.values()]
    return web.json_response(
        {
            "devices": sorted(devices, key=lambda d: str(d["device_id"])),
            "networks": sorted(fleet.networks),
        }
    )


@routes.get("/_sim/esp/devices/{device_id}")
async def get_device(request: web.Request) -> web.Response:
    device, in_range = _device(request)
    return web.json_response(_snapshot(device, in_range=in_range))


@routes.patch("/_sim/esp/devices/{device_id}/faults")
async def set_faults(request: web.Request) -> web.Response:
    device, in_range = _device(request)
    body = await json_object(request)
    unknown = sorted(set(body) - FAULT_KNOBS)
    if unknown:
        raise control_error(
            422, "invalid_body", f"unknown knobs {unknown}; known: {sorted(FAULT_KNOBS)}"
        )
    not_boolean = sorted(name for name, value in body.items() if not isinstance(value, bool))
    if not_boolean:
        raise control_error(422, "invalid_body", f"knobs {not_boolean} must be true or false")
    device.faults = dataclasses.replace(device.faults, **body)
    return web.json_response(_snapshot(device, in_range=in_range))


@routes.post("/_sim/esp/devices/{device_id}/range")
async def set_range(request: web.Request) -> web.Response:
    device, in_range = _device(request)
    wanted = (await json_object(request)).get("in_range")
    if not isinstance(wanted, bool):
        raise control_error(422, "invalid_body", "give `in_range`: true or false")
    fleet = _fleet(request)
    if wanted and not in_range:
        device = await fleet.come_into_range(device.device_id)
    elif not wanted and in_range:
        device = await fleet.go_out_of_range(device.device_id)
    return web.json_response(_snapshot(device, in_range=wanted))


@routes.post("/_sim/esp/devices/{device_id}/reset")
async def reset_device(request: web.Request) -> web.Response:
    device, in_range = _device(request)
    fleet = _fleet(request)
    if not in_range:
        await fleet.come_into_range(device.device_id)
    await fleet.remove(device.device_id)
    fresh = await fleet.add(device.spec)
    return web.json_response(_snapshot(fresh, in_range=True))


def create_esp_control_app(fleet: EspDeviceFleet) -> web.Application:
    """The `/_sim/esp` routes for `fleet`."""
    app = web.Application()
    app[ESP_FLEET_KEY] = fleet
    app.add_routes(routes)
    return app


async def start_esp_control(
    fleet: EspDeviceFleet, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Serve `fleet`'s control API on `host:port` (0: any free port); its runner and URL."""
    return await serve_app(create_esp_control_app(fleet), host, port)
