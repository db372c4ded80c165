"""A simulated coordinator radio: the radio side of zigpy's `ControllerApplication`.

zigpy's stack (device interview, ZDO/ZCL requests, the device database, backups) runs
unchanged on top of `SimulatedCoordinator`; what a radio library would send over a serial
line goes to the simulated devices of a `ZigbeeDeviceFleet` instead, and their answers come
back through `packet_received()`, as a radio library delivers frames from the air.

The stick's non-volatile memory (network settings) lives in a `SimulatedStick`, so a
coordinator that is closed and opened again within one process finds its network, like a
real stick keeps its NVRAM. The trust center is simulated too: while the network is open
for a device with a link key (`permit_with_link_key`), that device is admitted only if the
key derived from its own install code equals the one given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol
import zigpy.application
import zigpy.config
import zigpy.endpoint
import zigpy.exceptions
import zigpy.profiles.zha
import zigpy.state
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.device import ZigbeeDevice

from simulators.zigbee.device import (
    Frame,
    NetworkMembership,
    NoAck,
    Reaction,
    SimulatedZigbeeDevice,
)
from simulators.zigbee.fleet import ZigbeeDeviceFleet
from simulators.zigbee.frames import (
    UNKNOWN_IEEE,
    ZDO_ENDPOINT,
    ZDO_PROFILE,
    encode_zdo,
    int8s,
    node_descriptor,
    nwk,
    uint8,
    uint16,
)

logger = logging.getLogger("devprov.simulators.zigbee")

CONF_SIMULATION = "devprov_simulation"
"""Key of the radio configuration holding the `ZigbeeSimulation` to talk to."""

DEFAULT_STICK_IEEE = "00:12:4b:00:1c:d0:00:01"
_JOIN_RETRY_SECONDS = 0.25
_LINK_LQI = 200
_LINK_RSSI = -48


@dataclass
class StickCounters:
    """What the stick did, for tests to assert on."""

    connects: int = 0
    network_writes: int = 0
    permits_opened: int = 0
    permits_closed: int = 0
    install_keys_added: int = 0
    joins_admitted: int = 0
    frames_sent: int = 0
    delivery_failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class SimulatedStick:
    """The coordinator hardware: its IEEE address, NVRAM, trust-center state and counters.

    Args:
        ieee: The stick's EUI-64.
        fail_connect: Knob: opening the stick fails (unplugged, wrong port).
    """

    ieee: str = DEFAULT_STICK_IEEE
    manufacturer: str = "devprov"
    model: str = "Simulated coordinator"
    fail_connect: bool = False
    network_info: zigpy.state.NetworkInfo | None = field(default=None, repr=False)
    node_info: zigpy.state.NodeInfo | None = field(default=None, repr=False)
    connected: bool = False
    permit_until: float | None = None
    install_keys: dict[str, tuple[t.KeyData, float]] = field(default_factory=dict, repr=False)
    """Link keys the trust center accepts, by IEEE, with the loop time they expire."""
    endpoints: dict[int, zdo_t.SimpleDescriptor] = field(default_factory=dict, repr=False)
    counters: StickCounters = field(default_factory=StickCounters)

    @property
    def eui64(self) -> t.EUI64:
        return t.EUI64.convert(self.ieee)

    @property
    def formed(self) -> bool:
        return self.network_info is not None

    def permit_open(self, now: float) -> bool:
        return self.permit_until is not None and now < self.permit_until

    def key_for(self, ieee: str, now: float) -> t.KeyData | None:
        entry = self.install_keys.get(ieee)
        if entry is None or now >= entry[1]:
            return None
        return entry[0]

    def close_permit(self) -> None:
        self.permit_until = None
        self.install_keys.clear()

    def wipe(self) -> None:
        """Forget the network, as a factory-reset stick."""
        self.network_info = None
        self.node_info = None
        self.close_permit()

    def snapshot(self, now: float) -> dict[str, object]:
        """Control-API view; never the network key or link keys."""
        info = self.network_info
        return {
            "ieee": self.ieee,
            "connected": self.connected,
            "formed": info is not None,
            "channel": int(info.channel) if info else None,
            "pan_id": f"0x{int(info.pan_id):04X}" if info else None,
            "extended_pan_id": str(info.extended_pan_id) if info else None,
            "permit_open": self.permit_open(now),
            "install_keys": len(self.install_keys),
            "counters": self.counters.as_dict(),
        }


@dataclass(frozen=True)
class ZigbeeSimulation:
    """What a simulated radio talks to: the devices in range and its stick."""

    fleet: ZigbeeDeviceFleet
    stick: SimulatedStick


def simulation_config(simulation: ZigbeeSimulation) -> dict[str, Any]:
    """The radio configuration entries that point `SimulatedCoordinator` at `simulation`."""
    return {
        CONF_SIMULATION: simulation,
        zigpy.config.CONF_DEVICE: {
            zigpy.config.CONF_DEVICE_PATH: "simulated://" + simulation.stick.ieee
        },
    }


def _coordinator_node_descriptor() -> zdo_t.NodeDescriptor:
    flags = zdo_t.NodeDescriptor.MACCapabilityFlags
    return node_descriptor(
        logical_type=zdo_t.LogicalType.Coordinator,
        complex_descriptor_available=0,
        user_descriptor_available=0,
        reserved=0,
        aps_flags=0,
        frequency_band=zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz,
        mac_capability_flags=(
            flags.AlternatePanCoordinator
            | flags.FullFunctionDevice
            | flags.MainsPowered
            | flags.RxOnWhenIdle
            | flags.AllocateAddress
        ),
        manufacturer_code=0x0000,
        maximum_buffer_size=82,
        maximum_incoming_transfer_size=160,
        server_mask=0x2C41,
        maximum_outgoing_transfer_size=160,
        descriptor_capability_field=zdo_t.NodeDescriptor.DescriptorCapability.NONE,
    )


class SimulatedCoordinator(zigpy.application.ControllerApplication):
    """zigpy's controller on a simulated radio stick (see the module docstring)."""

    SCHEMA = zigpy.config.CONFIG_SCHEMA.extend(
        {vol.Required(CONF_SIMULATION): ZigbeeSimulation}, extra=vol.ALLOW_EXTRA
    )
    DISPLAY_NAME = "devprov simulated radio"
    DESCRIPTION = "A coordinator radio simulated in process, with simulated devices in range"

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        simulation: ZigbeeSimulation = self.config[CONF_SIMULATION]
        self._fleet = simulation.fleet
        self._stick = simulation.stick
        self._holds_stick = False
        self._joining: set[str] = set()
        self._sim_tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        # The radio's own tasks (joins, deliveries) end with its connection.
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._sim_tasks.add(task)
        task.add_done_callback(self._sim_tasks.discard)

    # ------------------------------------------------------------------ radio lifecycle

    async def connect(self) -> None:
        stick = self._stick
        if stick.fail_connect:
            raise ConnectionRefusedError(f"simulated stick {stick.ieee} does not answer")
        if stick.connected:
            raise ConnectionRefusedError(f"simulated stick {stick.ieee} is in use")
        stick.connected = True
        stick.counters.connects += 1
        self._holds_stick = True
        self._fleet.attach(self)
        logger.info("simulated stick %s connected", stick.ieee)

    async def disconnect(self) -> None:
        tasks = list(self._sim_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if not self._holds_stick:
            return
        self._fleet.detach(self)
        self._stick.close_permit()
        self._stick.connected = False
        self._holds_stick = False
        logger.info("simulated stick %s disconnected", self._stick.ieee)

    def _require_stick(self) -> SimulatedStick:
        if not self._holds_stick:
            raise zigpy.exceptions.DeliveryError("the simulated radio is not connected")
        return self._stick

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        stick = self._require_stick()
        if stick.network_info is None or stick.node_info is None:
            raise zigpy.exceptions.NetworkNotFormed("the simulated stick holds no network")
        network_info = stick.network_info.replace()
        if load_devices:
            members = self._fleet.members_of(str(network_info.extended_pan_id))
            network_info = network_info.replace(
                children=[d.eui64 for d in members],
                nwk_addresses={d.eui64: nwk(d.network.nwk) for d in members if d.network},
            )
        self.state.network_info = network_info
        self.state.node_info = stick.node_info.replace(
            manufacturer=stick.manufacturer, model=stick.model, version="sim-1"
        )

    async def write_network_info(
        self, *, network_info: zigpy.state.NetworkInfo, node_info: zigpy.state.NodeInfo
    ) -> None:
        stick = self._require_stick()
        # UNKNOWN means "keep the stick's own address", as real radios treat it.
        if str(node_info.ieee) == UNKNOWN_IEEE:
            node_info = node_info.replace(ieee=stick.eui64)
        stick.network_info = network_info.replace(
            children=[], nwk_addresses={}, source="devprov-simulated-radio"
        )
        # Stored as the radio reports it: a typed short address (zigpy's backups need it).
        stick.node_info = node_info.replace(nwk=nwk(int(node_info.nwk)))
        stick.counters.network_writes += 1
        logger.info(
            "simulated stick %s: network written (channel %s, PAN 0x%04X)",
            stick.ieee,
            network_info.channel,
            network_info.pan_id,
        )

    async def reset_network_info(self) -> None:
        self._require_stick().wipe()

    async def start_network(self) -> None:
        await self.load_network_info(load_devices=False)
        coordinator = self.add_device(ieee=self.state.node_info.ieee, nwk=self.state.node_info.nwk)
        coordinator.node_desc = _coordinator_node_descriptor()
        await self.register_endpoints()
        for descriptor in self._stick.endpoints.values():
            endpoint = coordinator.add_endpoint(descriptor.endpoint)
            endpoint.profile_id = descriptor.profile
            if descriptor.profile == zigpy.profiles.zha.PROFILE_ID:
                endpoint.device_type = zigpy.profiles.zha.DeviceType(descriptor.device_type)  # type: ignore[no-untyped-call]
            for cluster_id in descriptor.input_clusters:
                endpoint.add_input_cluster(cluster_id)
            for cluster_id in descriptor.output_clusters:
                endpoint.add_output_cluster(cluster_id)
            endpoint.status = zigpy.endpoint.Status.ZDO_INIT
        coordinator.manufacturer = self._stick.manufacturer
        coordinator.model = self._stick.model

    async def add_endpoint(self, descriptor: zdo_t.SimpleDescriptor) -> None:
        self._stick.endpoints[int(descriptor.endpoint)] = descriptor

    async def force_remove(self, dev: ZigbeeDevice) -> None:
        device = self._fleet.by_ieee(dev.ieee)
        if device is not None and self._is_member(device):
            device.leave(requested=True)

    # ------------------------------------------------------------------ joining

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    @property
    def _extended_pan_id(self) -> str:
        return str(self.state.network_info.extended_pan_id)

    def _is_member(self, device: SimulatedZigbeeDevice) -> bool:
        return device.network is not None and (
            device.network.extended_pan_id == self._extended_pan_id
        )

    async def permit_ncp(self, time_s: int = 60) -> None:
        stick = self._require_stick()
        if time_s > 0:
            stick.permit_until = self._now() + time_s
            stick.counters.permits_opened += 1
            logger.info("simulated stick %s: network open for %ss", stick.ieee, time_s)
            for device in self._fleet.devices:
                self.device_started_pairing(device)
        else:
            if stick.permit_until is not None:
                stick.counters.permits_closed += 1
            stick.close_permit()
            logger.info("simulated stick %s: network closed", stick.ieee)

    async def permit_with_link_key(
        self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60
    ) -> None:
        stick = self._require_stick()
        stick.install_keys[str(node)] = (link_key, self._now() + time_s)
        stick.counters.install_keys_added += 1
        await self.permit(time_s)

    def device_started_pairing(self, device: SimulatedZigbeeDevice) -> None:
        """Fleet callback: a device looks for a network; try to join while permitted."""
        if not self._holds_stick or not self._stick.permit_open(self._now()):
            return
        if device.can_join and device.device_id not in self._joining:
            self._joining.add(device.device_id)
            self._spawn(self._try_to_join(device), name=f"sim-join-{device.device_id}")

    def device_left(self, device: SimulatedZigbeeDevice, membership: NetworkMembership) -> None:
        """Fleet callback: a device left; tell zigpy if it was on this network."""
        if self._holds_stick and membership.extended_pan_id == self._extended_pan_id:
            self.handle_leave(nwk(membership.nwk), device.eui64)

    async def _try_to_join(self, device: SimulatedZigbeeDevice) -> None:
        try:
            await asyncio.sleep(device.join_delay)
            while (
                self._holds_stick
                and self._stick.permit_open(self._now())
                and device.can_join
                and device.device_id in self._fleet
            ):
                device.counters.join_attempts += 1
                key = self._stick.key_for(device.ieee, self._now())
                if key is not None and key == device.link_key():
                    self._admit(device)
                    return
                # The trust center sends the network key encrypted with a key the device
                # does not have: it cannot decrypt it and keeps searching.
                device.counters.rejected_joins += 1
                await asyncio.sleep(max(device.join_delay, _JOIN_RETRY_SECONDS))
        finally:
            self._joining.discard(device.device_id)

    def _admit(self, device: SimulatedZigbeeDevice) -> None:
        address = self._fleet.allocate_nwk(device, self._extended_pan_id)
        membership = NetworkMembership(
            self._extended_pan_id, address, str(self.state.node_info.ieee)
        )
        device.join(membership)
        self._stick.counters.joins_admitted += 1
        logger.info("simulated device %s joined as 0x%04X", device.device_id, address)
        announce = encode_zdo(
            zdo_t.ZDOCmd.Device_annce,
            self.get_sequence(),
            nwk(address),
            device.eui64,
            uint8(device.capability),
        )
        self.packet_received(
            self._packet_from(
                address,
                Frame(ZDO_PROFILE, zdo_t.ZDOCmd.Device_annce, ZDO_ENDPOINT, ZDO_ENDPOINT, announce),
                broadcast=True,
            )
        )
        if device.faults.leaves_after is not None:
            self._spawn(
                self._leave_later(device, membership, device.faults.leaves_after),
                name=f"sim-leave-{device.device_id}",
            )

    async def _leave_later(
        self, device: SimulatedZigbeeDevice, membership: NetworkMembership, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        if device.network == membership and device.device_id in self._fleet:
            logger.info("simulated device %s leaves on its own (fault)", device.device_id)
            self._fleet.make_leave(device.device_id)

    # ------------------------------------------------------------------ frames

    def _packet_from(self, source: int, frame: Frame, *, broadcast: bool = False) -> t.ZigbeePacket:
        destination = (
            t.AddrModeAddress(
                addr_mode=t.AddrMode.Broadcast, address=t.BroadcastAddress.RX_ON_WHEN_IDLE
            )
            if broadcast
            else t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=self.state.node_info.nwk)
        )
        return t.ZigbeePacket(
            src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=nwk(source)),
            src_ep=uint8(frame.src_ep),
            dst=destination,
            dst_ep=uint8(frame.dst_ep),
            profile_id=uint16(frame.profile_id),
            cluster_id=uint16(frame.cluster_id),
            data=t.SerializableBytes(frame.data),
            lqi=uint8(_LINK_LQI),
            rssi=int8s(_LINK_RSSI),
        )

    def _addressee(self, address: t.AddrModeAddress) -> SimulatedZigbeeDevice | None:
        target = address.address
        if isinstance(target, t.NWK):
            return self._fleet.on_network(self._extended_pan_id, int(target))
        if isinstance(target, t.EUI64):
            device = self._fleet.by_ieee(target)
            return device if device is not None and self._is_member(device) else None
        return None

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        stick = self._require_stick()
        stick.counters.frames_sent += 1
        destination = packet.dst
        if destination is None or destination.addr_mode in (t.AddrMode.Broadcast, t.AddrMode.Group):
            # Broadcasts (permit joining, Green Power) need no answer here.
            return
        if destination.address in (self.state.node_info.nwk, self.state.node_info.ieee):
            logger.debug("simulated stick %s: loopback frame ignored", stick.ieee)
            return
        device = self._addressee(destination)
        if device is None:
            stick.counters.delivery_failures += 1
            raise zigpy.exceptions.DeliveryError(
                f"no device answers at {destination.address}", status=t.MACStatus.MAC_NO_ACK
            )
        source = device.network.nwk if device.network else 0xFFFE
        frame = Frame(
            profile_id=int(packet.profile_id or 0),
            cluster_id=int(packet.cluster_id),
            src_ep=int(packet.src_ep or 0),
            dst_ep=int(packet.dst_ep or 0),
            data=packet.data.serialize(),
        )
        try:
            reaction = device.receive(frame)
        except NoAck as exc:
            stick.counters.delivery_failures += 1
            raise zigpy.exceptions.DeliveryError(
                f"no acknowledgement from 0x{source:04X}", status=t.MACStatus.MAC_NO_ACK
            ) from exc
        if reaction.replies or reaction.left_network is not None:
            self._spawn(self._deliver(device, source, reaction), name="sim-deliver")

    async def _deliver(
        self, device: SimulatedZigbeeDevice, source: int, reaction: Reaction
    ) -> None:
        # Answers come back over the air after the request went out, never inside it.
        await asyncio.sleep(0)
        for reply in reaction.replies:
            self.packet_received(self._packet_from(source, reply))
        if reaction.left_network is not None:
            self.handle_leave(nwk(source), device.eui64)
