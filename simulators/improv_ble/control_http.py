"""Control API of the simulated Improv devices under `/_sim/ble`, and their web pages.

Used by tests, the web console and people trying `make run`: list devices, press a
device's button, set fault knobs, reset a device. Responses never hold a passphrase.

A device that joined its network answers at its redirect URL,
`/_sim/ble/devices/{device_id}/http` (503 before), the "second channel" devprov
confirms a provisioning through; `POST …/http/reset` is its web page's factory reset.
"""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import ValidationError

from simulators.control_api import control_error, json_object
from simulators.improv_ble.device import ImprovDeviceFaults
from simulators.improv_ble.fleet import ImprovDeviceFleet

logger = logging.getLogger("devprov.simulators.improv_ble")

IMPROV_FLEET_KEY = web.AppKey("devprov_improv_fleet", ImprovDeviceFleet)
"""The simulated Improv devices the control routes act on."""

routes = web.RouteTableDef()


def _fleet(request: web.Request) -> ImprovDeviceFleet:
    return request.app[IMPROV_FLEET_KEY]


def _device_id(request: web.Request) -> str:
    device_id = request.match_info["device_id"]
    if device_id not in _fleet(request):
        raise control_error(404, "device_not_found", f"no simulated Improv device '{device_id}'")
    return device_id


@routes.get("/_sim/ble/devices")
async def list_devices(request: web.Request) -> web.Response:
    """Every device with its state, Wi-Fi, counters and knobs."""
    fleet = _fleet(request)
    return web.json_response(
        {
            "devices": [fleet.snapshot(device.device_id) for device in fleet.devices],
            "networks": fleet.networks_summary(),
        }
    )


@routes.get("/_sim/ble/devices/{device_id}")
async def get_device(request: web.Request) -> web.Response:
    return web.json_response(_fleet(request).snapshot(_device_id(request)))


@routes.post("/_sim/ble/devices/{device_id}/button")
async def press_button(request: web.Request) -> web.Response:
    """Press the device's button: it authorizes (unless `never_authorizes`)."""
    device_id = _device_id(request)
    fleet = _fleet(request)
    accepted = await fleet.press_button(device_id)
    logger.info("device %s: button pressed (%s)", device_id, "accepted" if accepted else "ignored")
    return web.json_response({"accepted": accepted, **fleet.snapshot(device_id)})


@routes.patch("/_sim/ble/devices/{device_id}/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Set some fault knobs; knobs not in the body keep their value."""
    device_id = _device_id(request)
    fleet = _fleet(request)
    body = await json_object(request)
    try:
        faults = ImprovDeviceFaults.model_validate({**fleet[device_id].faults.model_dump(), **body})
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise control_error(422, "invalid_body", "invalid faults", errors=errors) from None
    await fleet.set_faults(device_id, faults)
    logger.info("device %s: faults set to %s", device_id, faults.model_dump())
    return web.json_response(fleet.snapshot(device_id))


@routes.post("/_sim/ble/devices/{device_id}/reset")
async def reset_device(request: web.Request) -> web.Response:
    """Back to its initial state and knobs, with zeroed counters."""
    device_id = _device_id(request)
    fleet = _fleet(request)
    await fleet.restore(device_id)
    return web.json_response(fleet.snapshot(device_id))


@routes.get("/_sim/ble/devices/{device_id}/http")
async def web_page(request: web.Request) -> web.Response:
    """The device's own web page, reachable once it joined its network."""
    device_id = _device_id(request)
    page = _fleet(request)[device_id].web_page()
    if page is None:
        raise control_error(
            503, "not_on_network", f"device '{device_id}' is not reachable on a network"
        )
    reset_url = str(request.url.with_path(request.path.rstrip("/") + "/reset").with_query(None))
    return web.json_response({**page, "reset_url": reset_url})


@routes.post("/_sim/ble/devices/{device_id}/http/reset")
async def web_factory_reset(request: web.Request) -> web.Response:
    """The web page's factory reset: forget the network, start Improv again."""
    device_id = _device_id(request)
    fleet = _fleet(request)
    if fleet[device_id].web_page() is None:
        raise control_error(503, "not_on_network", f"device '{device_id}' has not joined a network")
    await fleet.factory_reset(device_id)
    logger.info("device %s: factory reset through its web page", device_id)
    return web.json_response(fleet.snapshot(device_id))


def add_improv_control(app: web.Application, fleet: ImprovDeviceFleet) -> None:
    """Serve the `/_sim/ble` routes for `fleet` on an existing application."""
    app[IMPROV_FLEET_KEY] = fleet
    app.add_routes(routes)


def create_improv_control_app(fleet: ImprovDeviceFleet) -> web.Application:
    """An application serving only the `/_sim/ble` routes."""
    app = web.Application()
    add_improv_control(app, fleet)
    return app
