"""The Zigbee coordinator of one edge worker, on zigpy's `ControllerApplication`.

One `ZigbeeCoordinator` per edge worker process: opened when the worker starts and closed
when it stops. zigpy keeps the network state (devices, endpoints, attributes, network
backups) in its SQLite database, under the worker's data directory, so a restarted
worker finds its network and its devices again. If the radio cannot be opened, the
coordinator keeps trying in the background and every operation fails with the retryable
`CoordinatorNotReady` meanwhile.

Joining uses Zigbee 3.0 install codes: the network is opened for ONE device with the link
key derived from its install code (`permit_with_link_key`), and closed again as soon as
that device joined, or when the wait ends, unless other devices are being let in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import zigpy.config as zconf
import zigpy.exceptions
import zigpy.types as t
import zigpy.zdo.types
from zigpy.application import ControllerApplication
from zigpy.device import ZigbeeDevice
from zigpy.zcl import foundation

from adapters.errors import DeviceUnreachable
from adapters.files import private_file
from adapters.zigbee.errors import (
    CoordinatorNotReady,
    ZigbeeConfigurationFailed,
    ZigbeeDeviceMismatch,
    ZigbeeDeviceNotOnNetwork,
    ZigbeeError,
    ZigbeeInterviewFailed,
    ZigbeeJoinTimeout,
    ZigbeeNetworkFull,
)
from adapters.zigbee.events import CoordinatorEvents, DeviceEvent, DeviceEventFailure
from adapters.zigbee.install_codes import check_install_code, link_key_for
from adapters.zigbee.radios import RadioSpec, load_controller
from domain.zigbee import (
    ConfiguredCluster,
    ReportingRule,
    ZigbeeConfiguration,
    ZigbeeDeviceInfo,
    ZigbeeEndpoint,
    ZigbeeMembership,
    ZigbeeNetwork,
    normalize_ieee,
)

logger = logging.getLogger("devprov.adapters.zigbee")

MAX_PERMIT_SECONDS = 254
"""Longest permit-joining window Zigbee allows; longer waits re-open it."""

_DELIVERY_FAILURES = (TimeoutError, zigpy.exceptions.DeliveryError)


@dataclass(frozen=True)
class CoordinatorSettings:
    """How the coordinator runs.

    Attributes:
        database_path: zigpy's SQLite database (network state), under the data directory.
        channel: Channel to form a new network on; None lets zigpy pick one by energy scan.
        pan_id: PAN id of a new network; None picks one at random.
        extended_pan_id: Extended PAN id of a new network, `aa:bb:..`; None picks one.
        capacity: Devices the network may hold (routers and end devices).
        reconnect_interval: Seconds between attempts to open a radio that failed.
        probe_timeout: Seconds to wait for a listed device to answer a membership probe.
        removal_timeout: Seconds to wait for a device to acknowledge its leave request.
    """

    database_path: Path
    channel: int | None = 15
    pan_id: int | None = None
    extended_pan_id: str | None = None
    capacity: int = 100
    reconnect_interval: float = 10.0
    probe_timeout: float = 5.0
    removal_timeout: float = 10.0


def _eui(ieee: str) -> t.EUI64:
    try:
        return t.EUI64.convert(normalize_ieee(ieee))
    except ValueError as exc:
        raise ZigbeeDeviceNotOnNetwork(f"'{ieee}' is not an IEEE address: {exc}") from None


def _info(device: ZigbeeDevice) -> ZigbeeDeviceInfo:
    node = device.node_desc
    logical_type = None
    if node is not None:
        logical_type = "end_device" if node.is_end_device else "router"
    endpoints = [
        ZigbeeEndpoint(
            endpoint_id=endpoint.endpoint_id,
            profile_id=endpoint.profile_id,
            device_type=int(endpoint.device_type) if endpoint.device_type is not None else None,
            in_clusters=sorted(endpoint.in_clusters),
            out_clusters=sorted(endpoint.out_clusters),
        )
        for endpoint in device.non_zdo_endpoints
    ]
    return ZigbeeDeviceInfo(
        ieee=str(device.ieee),
        nwk=f"0x{int(device.nwk):04X}",
        interviewed=device.is_initialized,
        manufacturer=device.manufacturer,
        model=device.model,
        logical_type=logical_type,
        endpoints=endpoints,
    )


def _same_text(a: str | None, b: str) -> bool:
    return (a or "").strip().casefold() == b.strip().casefold()


class ZigbeeCoordinator:
    """One coordinator radio and its network, with the operations provisioning needs.

    Args:
        radio: Which radio, e.g. `parse_radio("znp:/dev/ttyUSB0")`.
        settings: Database path, network parameters, capacity.
        controller: zigpy controller class; loaded from the radio's library when None
            (the composition root passes the simulated radio's class).
        radio_config: Extra zigpy configuration entries for the controller.
    """

    def __init__(
        self,
        radio: RadioSpec,
        settings: CoordinatorSettings,
        *,
        controller: type[ControllerApplication] | None = None,
        radio_config: Mapping[str, Any] | None = None,
    ) -> None:
        self._radio = radio
        self._settings = settings
        self._controller = controller
        self._radio_config = dict(radio_config or {})
        self._app: ControllerApplication | None = None
        self._events = CoordinatorEvents(on_connection_lost=self._connection_lost)
        self._reconnect_task: asyncio.Task[None] | None = None
        self._last_error = "not opened yet"
        self._permits: dict[str, float] = {}
        """Devices the network is open for, with the loop time their window ends."""
        self._closing = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def radio(self) -> RadioSpec:
        return self._radio

    @property
    def ready(self) -> bool:
        return self._app is not None

    @property
    def last_error(self) -> str:
        return self._last_error

    def _zigpy_config(self) -> dict[str, Any]:
        settings = self._settings
        device: dict[str, Any] = {zconf.CONF_DEVICE_PATH: self._radio.port or "simulated://"}
        if self._radio.baudrate is not None:
            device[zconf.CONF_DEVICE_BAUDRATE] = self._radio.baudrate
        if self._radio.flow_control is not None:
            device[zconf.CONF_DEVICE_FLOW_CONTROL] = self._radio.flow_control
        network: dict[str, Any] = {}
        if settings.channel is not None:
            network[zconf.CONF_NWK_CHANNEL] = settings.channel
        if settings.pan_id is not None:
            network[zconf.CONF_NWK_PAN_ID] = settings.pan_id
        if settings.extended_pan_id is not None:
            network[zconf.CONF_NWK_EXTENDED_PAN_ID] = settings.extended_pan_id
        return {
            zconf.CONF_DATABASE: str(settings.database_path),
            zconf.CONF_DEVICE: device,
            zconf.CONF_NWK: network,
            # Firmware updates and topology scans are not provisioning's business, and
            # OTA providers would reach out to the internet.
            zconf.CONF_OTA: {zconf.CONF_OTA_ENABLED: False},
            zconf.CONF_TOPO_SCAN_ENABLED: False,
            **self._radio_config,
        }

    async def open(self) -> None:
        """Connect to the radio and start (or form) the network.

        Raises:
            ZigbeeRadioUnavailable: The radio's library is missing.
            CoordinatorNotReady: The radio could not be opened or started.
        """
        if self._app is not None:
            return
        controller = self._controller or load_controller(self._radio)
        # It holds the network key and every device's link key.
        private_file(self._settings.database_path)
        self._closing = False
        app = await controller.new(self._zigpy_config(), auto_form=True, start_radio=False)
        try:
            await app.startup(auto_form=True)
        except Exception as exc:
            await app.shutdown()
            self._last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise CoordinatorNotReady(
                f"cannot start the Zigbee coordinator on {self._radio}: {self._last_error}",
                details={"radio": str(self._radio)},
            ) from exc
        app.add_listener(self._events)
        self._app = app
        self._last_error = ""
        info = app.state.network_info
        logger.info(
            "Zigbee coordinator on %s: channel %s, PAN 0x%04X, extended PAN %s, %d devices",
            self._radio,
            info.channel,
            info.pan_id,
            info.extended_pan_id,
            self._device_count(app),
        )

    async def start(self) -> None:
        """Open the coordinator, or keep trying in the background if that fails now."""
        try:
            await self.open()
        except CoordinatorNotReady as error:
            logger.warning(
                "%s; retrying every %gs", error.message, self._settings.reconnect_interval
            )
            self._schedule_reconnect()

    async def close(self) -> None:
        """Stop reconnecting, close the network to joins and release the radio."""
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
            self._reconnect_task = None
        app, self._app = self._app, None
        self._permits.clear()
        if app is not None:
            with contextlib.suppress(*_DELIVERY_FAILURES, zigpy.exceptions.ZigbeeException):
                await app.permit(0)
            app.remove_listener(self._events)
            await app.shutdown()
            logger.info("Zigbee coordinator on %s closed", self._radio)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _schedule_reconnect(self) -> None:
        if self._closing or (self._reconnect_task and not self._reconnect_task.done()):
            return
        self._reconnect_task = asyncio.get_running_loop().create_task(
            self._reconnect(), name="zigbee-coordinator-reconnect"
        )

    async def _reconnect(self) -> None:
        while not self._closing:
            await asyncio.sleep(self._settings.reconnect_interval)
            try:
                await self.open()
            except ZigbeeError as error:
                logger.debug("Zigbee coordinator still not ready: %s", error.message)
                continue
            logger.info("Zigbee coordinator on %s is back", self._radio)
            return

    def _connection_lost(self, exc: Exception) -> None:
        app, self._app = self._app, None
        self._last_error = f"connection lost: {exc}"
        if app is None or self._closing:
            return

        async def restart() -> None:
            app.remove_listener(self._events)
            await app.shutdown()
            self._schedule_reconnect()

        asyncio.get_running_loop().create_task(restart(), name="zigbee-coordinator-restart")

    def _ready_app(self) -> ControllerApplication:
        if self._app is None:
            raise CoordinatorNotReady(
                f"the Zigbee coordinator on {self._radio} is not ready: {self._last_error}",
                details={"radio": str(self._radio)},
            )
        return self._app

    # ------------------------------------------------------------------ network

    def _device_count(self, app: ControllerApplication) -> int:
        coordinator = app.state.node_info.ieee
        return sum(1 for ieee in app.devices if ieee != coordinator)

    async def network_status(self) -> ZigbeeNetwork:
        """The network as it is now; `ready` is False while the radio is not open."""
        app = self._app
        if app is None:
            return ZigbeeNetwork(
                radio=str(self._radio),
                ready=False,
                formed=False,
                capacity=self._settings.capacity,
            )
        info = app.state.network_info
        return ZigbeeNetwork(
            radio=str(self._radio),
            ready=True,
            formed=str(info.extended_pan_id) != "ff:ff:ff:ff:ff:ff:ff:ff",
            coordinator_ieee=str(app.state.node_info.ieee),
            channel=int(info.channel),
            pan_id=f"0x{int(info.pan_id):04X}",
            extended_pan_id=str(info.extended_pan_id),
            device_count=self._device_count(app),
            capacity=self._settings.capacity,
        )

    def _zigbee_device(self, app: ControllerApplication, ieee: str) -> ZigbeeDevice:
        device = app.devices.get(_eui(ieee))
        if not isinstance(device, ZigbeeDevice) or device.ieee == app.state.node_info.ieee:
            raise ZigbeeDeviceNotOnNetwork(
                f"device {normalize_ieee(ieee)} is not on the network of {self._radio}",
                details={"ieee": normalize_ieee(ieee)},
            )
        return device

    async def membership(self, ieee: str) -> ZigbeeMembership:
        """Whether `ieee` is on the network: absent, joined (it answers) or unresponsive."""
        app = self._ready_app()
        try:
            device = self._zigbee_device(app, ieee)
        except ZigbeeDeviceNotOnNetwork:
            return ZigbeeMembership.ABSENT
        try:
            async with asyncio.timeout(self._settings.probe_timeout):
                await device.zdo.IEEE_addr_req(device.nwk, 0, 0)
        except _DELIVERY_FAILURES:
            return ZigbeeMembership.UNRESPONSIVE
        return ZigbeeMembership.JOINED

    def device_info(self, ieee: str) -> ZigbeeDeviceInfo:
        """What the coordinator knows about `ieee` (from its table, no radio traffic)."""
        return _info(self._zigbee_device(self._ready_app(), ieee))

    # ------------------------------------------------------------------ joining

    def check_install_code(self, install_code: str, ieee: str) -> None:
        """Raise `InvalidInstallCode` unless the code is well formed with a valid CRC."""
        check_install_code(install_code, ieee)

    async def permit_join(self, ieee: str, install_code: str, timeout: float) -> ZigbeeDeviceInfo:
        """Open the network for `ieee` with its install code and wait until it joins.

        The install code is checked before anything else: a malformed one never opens
        the network. A stale entry for the device is removed first, so it joins anew;
        if the device did not acknowledge the leave and does not join, the entry is put
        back (the device may still hold the network key: forgotten, nothing could
        remove it later).
        The network is re-opened every 254 s for waits longer than that, and closed
        when the device joined or the wait ended (unless other devices are let in).

        Raises:
            InvalidInstallCode: The code is malformed or its CRC is wrong.
            ZigbeeNetworkFull: No room for another device.
            ZigbeeJoinTimeout: The device did not join within `timeout` seconds.
            CoordinatorNotReady: The radio is not open.
        """
        key = link_key_for(install_code, ieee)
        address = normalize_ieee(ieee)
        eui = t.EUI64.convert(address)
        app = self._ready_app()
        unacknowledged: ZigbeeDevice | None = None
        if eui in app.devices:
            logger.info("device %s is already listed: removing the entry so it joins anew", address)
            unacknowledged = await self._drop_stale_entry(app, eui)
        if self._device_count(app) >= self._settings.capacity:
            raise ZigbeeNetworkFull(
                f"the network of {self._radio} holds {self._device_count(app)} devices, "
                f"its capacity",
                details={"capacity": str(self._settings.capacity)},
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        joined = self._events.expect((DeviceEvent.JOINED,), address)
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ZigbeeJoinTimeout(
                        f"device {address} did not join within {timeout:g} s; "
                        "the network is closed again",
                        details={"ieee": address, "timeout_seconds": f"{timeout:g}"},
                    )
                # Zigbee counts permit windows in whole seconds.
                window = max(1, min(MAX_PERMIT_SECONDS, math.ceil(remaining)))
                self._permits[address] = loop.time() + window
                await app.permit_with_link_key(eui, key, time_s=window)
                logger.info("network open for %s for %d s (install code given)", address, window)
                try:
                    async with asyncio.timeout(min(window, remaining)):
                        device = await asyncio.shield(joined)
                except TimeoutError:
                    continue
                logger.info("device %s joined as 0x%04X", address, device.nwk)
                unacknowledged = None
                return _info(self._zigbee_device(app, address))
        finally:
            if unacknowledged is not None and eui not in app.devices:
                self._restore(app, unacknowledged)
            self._events.forget(joined)
            self._permits.pop(address, None)
            await self._close_network_if_idle()

    async def close_permit(self, ieee: str) -> None:
        """Stop letting `ieee` in; closes the network if no other device is being let in."""
        self._permits.pop(normalize_ieee(ieee), None)
        await self._close_network_if_idle()

    async def _close_network_if_idle(self) -> None:
        app = self._app
        if app is None:
            return
        now = asyncio.get_running_loop().time()
        if any(until > now for until in self._permits.values()):
            return
        try:
            await app.permit(0)
        except (*_DELIVERY_FAILURES, zigpy.exceptions.ZigbeeException) as error:
            logger.warning("could not close the network of %s: %s", self._radio, error)
        else:
            logger.info("network of %s closed to joins", self._radio)

    # ------------------------------------------------------------------ interview

    async def interview(self, ieee: str, timeout: float) -> ZigbeeDeviceInfo:
        """zigpy's device initialization: node descriptor, endpoints, Basic cluster.

        A device interviewed already is returned as it is; one whose interview failed
        or is still running is (re)interviewed without joining again.

        Raises:
            ZigbeeDeviceNotOnNetwork: The device is not in the table.
            ZigbeeInterviewFailed: It did not answer (retryable) or left meanwhile.
        """
        app = self._ready_app()
        address = normalize_ieee(ieee)
        device = self._zigbee_device(app, address)
        if device.is_initialized and device.model is not None:
            return _info(device)
        outcome = self._events.expect(
            (DeviceEvent.INTERVIEWED, DeviceEvent.INTERVIEW_FAILED, DeviceEvent.LEFT), address
        )
        try:
            if not device.initializing:
                logger.info("interviewing %s", address)
                device.schedule_initialize()
            async with asyncio.timeout(timeout):
                await outcome
        except TimeoutError:
            raise ZigbeeInterviewFailed(
                f"device {address} did not finish its interview within {timeout:g} s",
                details={"ieee": address},
            ) from None
        except DeviceEventFailure as failure:
            left = failure.event is DeviceEvent.LEFT
            raise ZigbeeInterviewFailed(
                f"device {address} left the network during its interview"
                if left
                else f"device {address} did not answer its interview "
                "(node descriptor, endpoints or Basic cluster)",
                retryable=not left,
                details={"ieee": address},
            ) from None
        finally:
            self._events.forget(outcome)
        return _info(self._zigbee_device(app, address))

    async def verify_identity(
        self,
        ieee: str,
        *,
        model: str | None = None,
        manufacturers: Sequence[str] = (),
    ) -> ZigbeeDeviceInfo:
        """Read the Basic cluster's manufacturer and model afresh and compare them.

        Matching ignores case and surrounding spaces; an empty `manufacturers` or a
        None `model` accepts any value.

        Raises:
            ZigbeeDeviceMismatch: The device names another manufacturer or model.
            DeviceUnreachable: It did not answer the read (retryable).
        """
        app = self._ready_app()
        address = normalize_ieee(ieee)
        device = self._zigbee_device(app, address)
        endpoint = next((ep for ep in device.non_zdo_endpoints if 0x0000 in ep.in_clusters), None)
        if endpoint is None:
            raise ZigbeeDeviceMismatch(
                f"device {address} has no Basic cluster to identify it",
                details={"ieee": address},
            )
        try:
            found, _ = await endpoint.in_clusters[0x0000].read_attributes(
                ["manufacturer", "model"], allow_cache=False
            )
        except _DELIVERY_FAILURES as error:
            raise DeviceUnreachable(
                f"device {address} did not answer the Basic cluster read: {error}",
                details={"ieee": address},
            ) from error
        manufacturer = found.get("manufacturer")
        found_model = found.get("model")
        details = {
            "ieee": address,
            "manufacturer": str(manufacturer),
            "model": str(found_model),
        }
        if model is not None and not _same_text(found_model, model):
            raise ZigbeeDeviceMismatch(
                f"device {address} is a '{found_model}', the request says '{model}'",
                details={**details, "expected_model": model},
            )
        if manufacturers and not any(_same_text(manufacturer, m) for m in manufacturers):
            raise ZigbeeDeviceMismatch(
                f"device {address} is made by '{manufacturer}', expected "
                + " or ".join(f"'{m}'" for m in manufacturers),
                details={**details, "expected_manufacturers": ", ".join(manufacturers)},
            )
        return _info(device)

    # ------------------------------------------------------------------ configuration

    async def configure(self, ieee: str, rules: Sequence[ReportingRule]) -> ZigbeeConfiguration:
        """Bind each rule's cluster to the coordinator and configure its reporting.

        Clusters the device does not have are skipped (and listed). Repeating it is
        harmless: bindings and reporting are set to the same values.

        Raises:
            ZigbeeConfigurationFailed: A bind or reporting configuration was refused, or
                (retryable) not delivered.
        """
        app = self._ready_app()
        address = normalize_ieee(ieee)
        device = self._zigbee_device(app, address)
        if not device.is_initialized:
            raise ZigbeeConfigurationFailed(
                f"device {address} has not been interviewed yet", details={"ieee": address}
            )
        configured: list[ConfiguredCluster] = []
        skipped: list[int] = []
        for rule in rules:
            endpoint = next(
                (ep for ep in device.non_zdo_endpoints if rule.cluster_id in ep.in_clusters), None
            )
            if endpoint is None:
                skipped.append(rule.cluster_id)
                continue
            cluster = endpoint.in_clusters[rule.cluster_id]
            name = str(cluster.ep_attribute or f"0x{rule.cluster_id:04X}")
            details = {"ieee": address, "cluster": name, "attribute": rule.attribute}
            try:
                bound = await cluster.bind()
                if bound[0] != 0:
                    raise ZigbeeConfigurationFailed(
                        f"device {address} refused to bind {name}: {bound[0]!s}",
                        details={**details, "status": str(bound[0])},
                    )
                statuses = await cluster.configure_reporting(
                    rule.attribute, rule.min_interval, rule.max_interval, rule.reportable_change
                )
            except _DELIVERY_FAILURES as error:
                raise ZigbeeConfigurationFailed(
                    f"device {address} did not answer while configuring {name}: {error}",
                    retryable=True,
                    details=details,
                ) from error
            except (KeyError, ValueError) as error:
                raise ZigbeeConfigurationFailed(
                    f"cannot configure {name}.{rule.attribute} on {address}: {error}",
                    details=details,
                ) from error
            refused = {
                attr.name: status.name
                for attr, status in statuses.items()
                if status != foundation.Status.SUCCESS
            }
            if refused:
                raise ZigbeeConfigurationFailed(
                    f"device {address} refused reporting of {name}: {refused}",
                    details={**details, "status": ", ".join(refused.values())},
                )
            configured.append(
                ConfiguredCluster(
                    endpoint_id=endpoint.endpoint_id,
                    cluster_id=rule.cluster_id,
                    cluster=name,
                    attribute=rule.attribute,
                )
            )
        return ZigbeeConfiguration(ieee=address, clusters=configured, skipped=skipped)

    # ------------------------------------------------------------------ removal

    async def remove(self, ieee: str) -> bool:
        """Ask the device to leave, then drop it from the coordinator's table and database.

        Idempotent: returns False when the device was not listed. The network is closed
        to it first, in case a join was under way.

        Raises:
            DeviceUnreachable: The device did not acknowledge the leave request (retryable).
                It stays listed, so that asking again asks the device again: dropped
                unacknowledged, it would keep the network key and could come back.
        """
        app = self._ready_app()
        address = normalize_ieee(ieee)
        eui = t.EUI64.convert(address)
        if self._permits.pop(address, None) is not None:
            await self._close_network_if_idle()
        device = app.devices.get(eui)
        if device is None or eui == app.state.node_info.ieee:
            return False
        if not isinstance(device, ZigbeeDevice):  # Green Power: nothing to ask
            await app.remove(eui)
            return True
        if self._events.has_left(address):  # it announced its leave: nothing to ask
            self._drop(app, device)
            return True
        # zigpy's own `remove` drops the device whether or not it heard the leave
        # request; send it here to know.
        try:
            async with asyncio.timeout(self._settings.removal_timeout):
                response = await device.zdo.leave(remove_children=True, rejoin=False)
        except _DELIVERY_FAILURES as error:
            raise DeviceUnreachable(
                f"device {address} did not acknowledge the request to leave the network "
                f"({type(error).__name__}); it stays listed on the coordinator until it "
                "does, or until it is factory-reset and removed",
                details={"ieee": address},
            ) from None
        status = response[0] if isinstance(response, Sequence) and response else response
        if status != zigpy.zdo.types.Status.SUCCESS:
            logger.warning("device %s answered its leave request with %s", address, status)
        self._drop(app, device)
        logger.info("device %s removed from the network of %s", address, self._radio)
        return True

    async def _drop_stale_entry(
        self, app: ControllerApplication, eui: t.EUI64
    ) -> ZigbeeDevice | None:
        """Drop a listed device that is about to join anew, telling it to leave if it
        still hears (it need not: a reset device has lost the network already).

        A device that did not acknowledge the leave may still hold the network key: it
        leaves the table only, its database row stays (a join rewrites it), and it is
        returned so that the caller can list it again if it does not join.
        """
        device = app.devices.get(eui)
        if not isinstance(device, ZigbeeDevice):
            return None
        with contextlib.suppress(*_DELIVERY_FAILURES, zigpy.exceptions.ZigbeeException):
            async with asyncio.timeout(self._settings.probe_timeout):
                await device.zdo.leave(remove_children=True, rejoin=False)
                self._drop(app, device)
                return None
        device.cancel_initialization()
        app.devices.pop(device.ieee, None)
        return device

    @staticmethod
    def _restore(app: ControllerApplication, device: ZigbeeDevice) -> None:
        """List a device set aside by `_drop_stale_entry` again (its database row was
        kept), so that a later removal asks it to leave."""
        app.devices[device.ieee] = device
        logger.warning(
            "device %s did not acknowledge the leave nor join again: it stays listed, "
            "as it may still hold the network key",
            device.ieee,
        )

    @staticmethod
    def _drop(app: ControllerApplication, device: ZigbeeDevice) -> None:
        """Forget `device` in the device table and (through zigpy's listener) the database."""
        device.cancel_initialization()
        app.devices.pop(device.ieee, None)
        app.listener_event("device_removed", device)
