"""One simulated Zigbee device: identity, endpoints, network state, faults and counters.

The device answers the real ZDO and ZCL frames the coordinator sends it
(`SimulatedZigbeeDevice.receive`) with real frames; nothing here does I/O or keeps time.
The simulated radio (`simulators.zigbee.radio`) carries frames to and from it and decides
when it may join.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

import zigpy.types as t
import zigpy.util
import zigpy.zdo.types as zdo_t
from pydantic import BaseModel, ConfigDict, Field
from zigpy.zcl import Cluster, foundation

from simulators.zigbee.frames import (
    HOME_AUTOMATION_PROFILE,
    UNKNOWN_IEEE,
    ZDO_ENDPOINT,
    ZDO_PROFILE,
    FrameError,
    ZclFrame,
    ZdoFrame,
    decode_general,
    decode_zcl,
    decode_zdo,
    encode_default_response,
    encode_general_response,
    encode_zdo,
    general_command,
    node_descriptor,
    nwk,
    uint8,
    uint16,
    zdo_command,
)
from simulators.zigbee.install_codes import install_code_for, masked_install_code

logger = logging.getLogger("devprov.simulators.zigbee")

BASIC = 0x0000
POWER_CONFIGURATION = 0x0001
IDENTIFY = 0x0003
ON_OFF = 0x0006
LEVEL_CONTROL = 0x0008
ILLUMINANCE_MEASUREMENT = 0x0400
OCCUPANCY_SENSING = 0x0406


class LogicalType(StrEnum):
    """Zigbee role of a device."""

    ROUTER = "router"
    END_DEVICE = "end_device"


class ZigbeeDeviceFaults(BaseModel):
    """Fault knobs of one simulated device; counted knobs are used up one at a time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    never_joins: bool = Field(
        default=False, description="The device never tries to join (out of range, dead battery)."
    )
    wrong_install_code: bool = Field(
        default=False,
        description=(
            "The device's real install code differs from the one on its label, so it cannot "
            "use the link key the network is opened with."
        ),
    )
    interview_failures: int = Field(
        default=0,
        ge=0,
        description="The next N interviews fail: the device does not acknowledge them.",
    )
    bind_failures: int = Field(
        default=0, ge=0, description="The next N bind requests are refused (TABLE_FULL)."
    )
    leaves_after: float | None = Field(
        default=None,
        ge=0,
        le=3600,
        description="Seconds after joining at which the device leaves the network on its own.",
    )
    unresponsive: bool = Field(
        default=False, description="The device acknowledges nothing (it vanished or sleeps)."
    )


CountedFault = Literal["interview_failures", "bind_failures"]


@dataclass
class ZigbeeDeviceCounters:
    """What happened to the device, for tests to assert on."""

    join_attempts: int = 0
    """Times the device tried to join an open network."""
    joins: int = 0
    """Times it was admitted to a network."""
    rejected_joins: int = 0
    """Attempts refused because the network was not opened with its link key."""
    interviews: int = 0
    """Interviews started (node descriptor requests of a new transaction)."""
    binds: int = 0
    reporting_configs: int = 0
    """Configure Reporting requests accepted."""
    leaves: int = 0
    """Times it left the network on its own."""
    removals: int = 0
    """Times it left because the coordinator told it to (Mgmt_Leave_req) or forced it."""
    frames: dict[str, int] = field(default_factory=dict)
    """Frames received, by ZDO command or ZCL cluster/command name."""

    def as_dict(self) -> dict[str, object]:
        return {
            "join_attempts": self.join_attempts,
            "joins": self.joins,
            "rejected_joins": self.rejected_joins,
            "interviews": self.interviews,
            "binds": self.binds,
            "reporting_configs": self.reporting_configs,
            "leaves": self.leaves,
            "removals": self.removals,
            "frames": dict(sorted(self.frames.items())),
        }


@dataclass(frozen=True)
class SimulatedEndpoint:
    """One application endpoint and the clusters it implements."""

    endpoint_id: int
    device_type: int
    in_clusters: tuple[int, ...]
    out_clusters: tuple[int, ...] = ()
    profile_id: int = HOME_AUTOMATION_PROFILE


@dataclass(frozen=True)
class NetworkMembership:
    """The network a device has joined and the short address it got there."""

    extended_pan_id: str
    nwk: int
    coordinator_ieee: str


@dataclass(frozen=True)
class Binding:
    """A binding entry in the device's binding table."""

    endpoint_id: int
    cluster_id: int
    destination: str
    """IEEE and endpoint of the destination, `aa:bb:..:ff/1`, or `0xNWK` for groups."""


@dataclass(frozen=True)
class ReportingConfig:
    """Attribute reporting configured on the device."""

    min_interval: int
    max_interval: int
    reportable_change: int


@dataclass(frozen=True)
class Frame:
    """An APS frame between the device and the coordinator (addresses left to the radio)."""

    profile_id: int
    cluster_id: int
    src_ep: int
    dst_ep: int
    data: bytes


@dataclass
class Reaction:
    """What the device does in answer to one frame."""

    replies: list[Frame] = field(default_factory=list)
    left_network: NetworkMembership | None = None
    """Set when the frame made the device leave its network."""


class NoAck(Exception):
    """The device does not acknowledge the frame: to the radio, a delivery failure."""


def _default_attributes(
    manufacturer: str, model: str, power_source: int, sw_build_id: str
) -> dict[tuple[int, str], object]:
    return {
        (BASIC, "zcl_version"): 8,
        (BASIC, "app_version"): 1,
        (BASIC, "stack_version"): 2,
        (BASIC, "hw_version"): 1,
        (BASIC, "manufacturer"): manufacturer,
        (BASIC, "model"): model,
        (BASIC, "date_code"): "20240612",
        (BASIC, "power_source"): power_source,
        (BASIC, "sw_build_id"): sw_build_id,
        (POWER_CONFIGURATION, "battery_voltage"): 30,
        (POWER_CONFIGURATION, "battery_percentage_remaining"): 200,
        (IDENTIFY, "identify_time"): 0,
        (ON_OFF, "on_off"): False,
        (LEVEL_CONTROL, "current_level"): 254,
        (ILLUMINANCE_MEASUREMENT, "measured_value"): 10000,
        (OCCUPANCY_SENSING, "occupancy"): 0,
        (OCCUPANCY_SENSING, "occupancy_sensor_type"): 0,
    }


def _cluster_class(cluster_id: int) -> type[Cluster] | None:
    registry: dict[int, type[Cluster]] = Cluster._registry
    return registry.get(cluster_id)


def _cluster_name(cluster_id: int) -> str:
    cls = _cluster_class(cluster_id)
    return str(cls.ep_attribute) if cls is not None and cls.ep_attribute else f"0x{cluster_id:04X}"


@dataclass
class SimulatedZigbeeDevice:
    """A Zigbee 3.0 device that joins with an install code.

    Args:
        device_id: Name used by tests, the control API and provisioning requests.
        ieee: EUI-64 address, `aa:bb:cc:dd:ee:ff:00:11`.
        manufacturer: Basic cluster `manufacturer` attribute.
        model: Basic cluster `model` attribute.
        endpoints: Application endpoints and their clusters.
        logical_type: Router (mains powered) or end device (battery).
        install_code: The code on the device's label; derived from `device_id` if empty.
        join_delay: Seconds between the network opening for the device and its join.
        pairing: Whether it is powered on and looking for a network to join.
    """

    device_id: str
    ieee: str
    manufacturer: str
    model: str
    endpoints: tuple[SimulatedEndpoint, ...]
    logical_type: LogicalType = LogicalType.ROUTER
    install_code: bytes = b""
    join_delay: float = 0.2
    pairing: bool = True
    manufacturer_code: int = 0x117C
    sw_build_id: str = "1.0.0"
    faults: ZigbeeDeviceFaults = field(default_factory=ZigbeeDeviceFaults)
    network: NetworkMembership | None = None
    counters: ZigbeeDeviceCounters = field(default_factory=ZigbeeDeviceCounters)
    bindings: set[Binding] = field(default_factory=set)
    reporting: dict[tuple[int, int, int], ReportingConfig] = field(default_factory=dict)
    attributes: dict[tuple[int, str], object] = field(default_factory=dict)
    _interview_tsn: int | None = field(default=None, repr=False)
    _failing_interview_tsn: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.ieee = str(t.EUI64.convert(self.ieee))
        if not self.install_code:
            self.install_code = install_code_for(self.device_id)
        zigpy.util.convert_install_code(self.install_code)  # raises for a malformed code
        if not self.attributes:
            self.attributes = _default_attributes(
                self.manufacturer,
                self.model,
                power_source=1 if self.logical_type is LogicalType.ROUTER else 3,
                sw_build_id=self.sw_build_id,
            )

    def __repr__(self) -> str:
        return (
            f"SimulatedZigbeeDevice({self.device_id!r}, ieee={self.ieee}, "
            f"model={self.model!r}, network={self.network})"
        )

    # ------------------------------------------------------------------ identity and keys

    @property
    def eui64(self) -> t.EUI64:
        return t.EUI64.convert(self.ieee)

    @property
    def actual_install_code(self) -> bytes:
        """The code the device really holds; differs from its label with `wrong_install_code`."""
        if self.faults.wrong_install_code:
            return install_code_for(f"{self.device_id}:not-the-label")
        return self.install_code

    def link_key(self) -> t.KeyData:
        """The link key derived from the device's real install code."""
        key: t.KeyData = zigpy.util.convert_install_code(self.actual_install_code)
        return key

    @property
    def masked_install_code(self) -> str:
        return masked_install_code(self.install_code)

    @property
    def capability_flags(self) -> zdo_t.MACCapabilityFlags:
        """MAC capability flags, announced on joining and in the node descriptor."""
        flags = zdo_t.MACCapabilityFlags
        value = flags.AllocateAddress
        if self.logical_type is LogicalType.ROUTER:
            value |= flags.FullFunctionDevice | flags.MainsPowered | flags.RxOnWhenIdle
        return value

    @property
    def capability(self) -> int:
        return int(self.capability_flags)

    def node_descriptor(self) -> zdo_t.NodeDescriptor:
        router = self.logical_type is LogicalType.ROUTER
        return node_descriptor(
            logical_type=zdo_t.LogicalType.Router if router else zdo_t.LogicalType.EndDevice,
            complex_descriptor_available=0,
            user_descriptor_available=0,
            reserved=0,
            aps_flags=0,
            frequency_band=zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz,
            mac_capability_flags=self.capability_flags,
            manufacturer_code=self.manufacturer_code,
            maximum_buffer_size=82,
            maximum_incoming_transfer_size=82,
            server_mask=0,
            maximum_outgoing_transfer_size=82,
            descriptor_capability_field=zdo_t.NodeDescriptor.DescriptorCapability.NONE,
        )

    # ------------------------------------------------------------------ network state

    @property
    def can_join(self) -> bool:
        """Looking for a network, and able to try."""
        return self.pairing and self.network is None and not self.faults.never_joins

    def join(self, membership: NetworkMembership) -> None:
        """Admitted by a trust center: the device is on `membership`'s network."""
        self.network = membership
        self.pairing = False
        self.counters.joins += 1
        self._interview_tsn = None
        self._failing_interview_tsn = None

    def leave(self, *, requested: bool) -> NetworkMembership | None:
        """Leave the network; returns the membership it had (None if it had none).

        A device told to leave resets and searches for a network again, as Zigbee 3.0
        devices do; one that drops off on its own does not.
        """
        membership = self.network
        if membership is None:
            return None
        self.network = None
        self.bindings.clear()
        self.reporting.clear()
        if requested:
            self.counters.removals += 1
            self.pairing = True
        else:
            self.counters.leaves += 1
        return membership

    def start_pairing(self) -> None:
        """Power on / press the pairing button: look for a network when not on one."""
        if self.network is None:
            self.pairing = True

    def factory_reset(self) -> None:
        """Control-API reset: off the network, pairing, no faults, zeroed counters."""
        self.network = None
        self.pairing = True
        self.faults = ZigbeeDeviceFaults()
        self.counters = ZigbeeDeviceCounters()
        self.bindings.clear()
        self.reporting.clear()
        self._interview_tsn = None
        self._failing_interview_tsn = None

    def take_fault(self, name: CountedFault) -> bool:
        """Use up one unit of a counted fault; True if it applies now."""
        remaining: int = getattr(self.faults, name)
        if remaining <= 0:
            return False
        self.faults = self.faults.model_copy(update={name: remaining - 1})
        return True

    # ------------------------------------------------------------------ frames

    def receive(self, frame: Frame) -> Reaction:
        """Handle one frame from the coordinator.

        Raises:
            NoAck: The device does not acknowledge the frame.
        """
        if self.network is None or self.faults.unresponsive:
            raise NoAck(f"{self.device_id} is not on a network or does not answer")
        if frame.dst_ep == ZDO_ENDPOINT and frame.profile_id == ZDO_PROFILE:
            return self._receive_zdo(frame)
        return self._receive_zcl(frame)

    def _count(self, name: str) -> None:
        self.counters.frames[name] = self.counters.frames.get(name, 0) + 1

    def _endpoint(self, endpoint_id: int) -> SimulatedEndpoint | None:
        return next((ep for ep in self.endpoints if ep.endpoint_id == endpoint_id), None)

    # --- ZDO

    def _receive_zdo(self, frame: Frame) -> Reaction:
        try:
            zdo = decode_zdo(frame.cluster_id, frame.data)
        except FrameError:
            logger.warning("device %s: undecodable ZDO frame dropped", self.device_id)
            return Reaction()
        self._count(zdo.command.name)
        handler = _ZDO_HANDLERS.get(zdo.command)
        if handler is None:
            logger.info("device %s: ZDO %s not supported", self.device_id, zdo.command.name)
            return Reaction()
        return handler(self, zdo)

    def _zdo_reply(self, command: zdo_t.ZDOCmd, tsn: int, *args: Any) -> Frame:
        return Frame(
            ZDO_PROFILE, command, ZDO_ENDPOINT, ZDO_ENDPOINT, encode_zdo(command, tsn, *args)
        )

    @property
    def _nwk(self) -> t.NWK:
        return nwk(self.network.nwk if self.network else 0xFFFE)

    def _node_desc(self, zdo: ZdoFrame) -> Reaction:
        # A new transaction starts an interview; zigpy re-sends the same one on retries.
        if zdo.tsn != self._interview_tsn:
            self._interview_tsn = zdo.tsn
            self.counters.interviews += 1
            if self.take_fault("interview_failures"):
                self._failing_interview_tsn = zdo.tsn
                logger.info("device %s: ignoring its interview (fault)", self.device_id)
        if zdo.tsn == self._failing_interview_tsn:
            raise NoAck(f"{self.device_id} does not answer its interview")
        return Reaction(
            [
                self._zdo_reply(
                    zdo_t.ZDOCmd.Node_Desc_rsp,
                    zdo.tsn,
                    zdo_t.Status.SUCCESS,
                    self._nwk,
                    self.node_descriptor(),
                )
            ]
        )

    def _active_endpoints(self, zdo: ZdoFrame) -> Reaction:
        endpoints = [uint8(ep.endpoint_id) for ep in self.endpoints]
        return Reaction(
            [
                self._zdo_reply(
                    zdo_t.ZDOCmd.Active_EP_rsp, zdo.tsn, zdo_t.Status.SUCCESS, self._nwk, endpoints
                )
            ]
        )

    def _simple_descriptor(self, zdo: ZdoFrame) -> Reaction:
        endpoint = self._endpoint(int(zdo.args["EndPoint"]))
        if endpoint is None:
            reply = self._zdo_reply(
                zdo_t.ZDOCmd.Simple_Desc_rsp, zdo.tsn, zdo_t.Status.NOT_ACTIVE, self._nwk
            )
            return Reaction([reply])
        descriptor = zdo_t.SizePrefixedSimpleDescriptor(
            endpoint=endpoint.endpoint_id,
            profile=endpoint.profile_id,
            device_type=endpoint.device_type,
            device_version=1,
            input_clusters=list(endpoint.in_clusters),
            output_clusters=list(endpoint.out_clusters),
        )
        return Reaction(
            [
                self._zdo_reply(
                    zdo_t.ZDOCmd.Simple_Desc_rsp,
                    zdo.tsn,
                    zdo_t.Status.SUCCESS,
                    self._nwk,
                    descriptor,
                )
            ]
        )

    def _address(self, zdo: ZdoFrame, command: zdo_t.ZDOCmd) -> Reaction:
        # A single-device answer: the optional associated-device fields are left out.
        return Reaction(
            [self._zdo_reply(command, zdo.tsn, zdo_t.Status.SUCCESS, self.eui64, self._nwk)]
        )

    def _ieee_address(self, zdo: ZdoFrame) -> Reaction:
        return self._address(zdo, zdo_t.ZDOCmd.IEEE_addr_rsp)

    def _nwk_address(self, zdo: ZdoFrame) -> Reaction:
        if zdo.args["IEEEAddr"] != self.eui64:
            return Reaction()
        return self._address(zdo, zdo_t.ZDOCmd.NWK_addr_rsp)

    def _binding_of(self, zdo: ZdoFrame) -> tuple[Binding | None, zdo_t.Status]:
        if zdo.args["SrcAddress"] != self.eui64:
            return None, zdo_t.Status.INV_REQUESTTYPE
        endpoint = self._endpoint(int(zdo.args["SrcEndpoint"]))
        if endpoint is None:
            return None, zdo_t.Status.INVALID_EP
        cluster_id = int(zdo.args["ClusterID"])
        if cluster_id not in endpoint.in_clusters + endpoint.out_clusters:
            return None, zdo_t.Status.NOT_SUPPORTED
        target = zdo.args["DstAddress"]
        if target.addrmode == 0x03:
            destination = f"{target.ieee}/{int(target.endpoint)}"
        else:
            destination = f"0x{int(target.nwk):04X}"
        return Binding(endpoint.endpoint_id, cluster_id, destination), zdo_t.Status.SUCCESS

    def _bind(self, zdo: ZdoFrame) -> Reaction:
        binding, status = self._binding_of(zdo)
        if binding is not None and self.take_fault("bind_failures"):
            binding, status = None, zdo_t.Status.TABLE_FULL
        if binding is not None:
            self.bindings.add(binding)
            self.counters.binds += 1
        return Reaction([self._zdo_reply(zdo_t.ZDOCmd.Bind_rsp, zdo.tsn, status)])

    def _unbind(self, zdo: ZdoFrame) -> Reaction:
        binding, status = self._binding_of(zdo)
        if binding is not None:
            if binding in self.bindings:
                self.bindings.discard(binding)
            else:
                status = zdo_t.Status.NO_ENTRY
        return Reaction([self._zdo_reply(zdo_t.ZDOCmd.Unbind_rsp, zdo.tsn, status)])

    def _mgmt_leave(self, zdo: ZdoFrame) -> Reaction:
        target = zdo.args["DeviceAddress"]
        if str(target) not in (self.ieee, UNKNOWN_IEEE, "00:00:00:00:00:00:00:00"):
            status = zdo_t.Status.NOT_SUPPORTED
            return Reaction([self._zdo_reply(zdo_t.ZDOCmd.Mgmt_Leave_rsp, zdo.tsn, status)])
        reply = self._zdo_reply(zdo_t.ZDOCmd.Mgmt_Leave_rsp, zdo.tsn, zdo_t.Status.SUCCESS)
        membership = self.leave(requested=True)
        logger.info("device %s: left the network on request", self.device_id)
        return Reaction([reply], left_network=membership)

    def _mgmt_permit_joining(self, zdo: ZdoFrame) -> Reaction:
        reply = self._zdo_reply(zdo_t.ZDOCmd.Mgmt_Permit_Joining_rsp, zdo.tsn, zdo_t.Status.SUCCESS)
        return Reaction([reply])

    def _not_supported(self, zdo: ZdoFrame) -> Reaction:
        # Routing and neighbour tables are not simulated; zigpy's topology scan accepts this.
        response = zdo_command(zdo.command | 0x8000)
        return Reaction([self._zdo_reply(response, zdo.tsn, zdo_t.Status.NOT_SUPPORTED)])

    # --- ZCL

    def _receive_zcl(self, frame: Frame) -> Reaction:
        try:
            zcl = decode_zcl(frame.data)
        except FrameError:
            logger.warning("device %s: undecodable ZCL frame dropped", self.device_id)
            return Reaction()
        name = _cluster_name(frame.cluster_id)
        endpoint = self._endpoint(frame.dst_ep)
        if endpoint is None or frame.cluster_id not in endpoint.in_clusters:
            self._count(f"{name}:unsupported")
            return self._default_response(frame, zcl, foundation.Status.UNSUPPORTED_CLUSTER)
        try:
            if zcl.is_general:
                return self._receive_general(frame, zcl, name)
            return self._receive_cluster_command(frame, zcl, name)
        except FrameError:
            return self._default_response(frame, zcl, foundation.Status.MALFORMED_COMMAND)

    def _zcl_reply(self, frame: Frame, data: bytes) -> Frame:
        return Frame(frame.profile_id, frame.cluster_id, frame.dst_ep, frame.src_ep, data)

    def _default_response(self, frame: Frame, zcl: ZclFrame, status: foundation.Status) -> Reaction:
        if not zcl.wants_default_response or (
            zcl.is_general and zcl.command_id == foundation.GeneralCommand.Default_Response
        ):
            return Reaction()
        return Reaction([self._zcl_reply(frame, encode_default_response(zcl, status))])

    def _receive_general(self, frame: Frame, zcl: ZclFrame, name: str) -> Reaction:
        command = general_command(zcl.command_id)
        self._count(f"{name}:{command.name}")
        request = decode_general(zcl)
        if command is foundation.GeneralCommand.Read_Attributes:
            records = [
                self._read_record(frame.cluster_id, int(attrid)) for attrid in request.attribute_ids
            ]
            data = encode_general_response(
                zcl, foundation.GeneralCommand.Read_Attributes_rsp, status_records=records
            )
            return Reaction([self._zcl_reply(frame, data)])
        if command is foundation.GeneralCommand.Configure_Reporting:
            return self._configure_reporting(frame, zcl, request.config_records)
        if command in (
            foundation.GeneralCommand.Write_Attributes,
            foundation.GeneralCommand.Write_Attributes_Undivided,
        ):
            statuses = self._write_attributes(frame.cluster_id, request.attributes)
            data = encode_general_response(
                zcl,
                foundation.GeneralCommand.Write_Attributes_rsp,
                status_records=foundation.WriteAttributesResponse(statuses),
            )
            return Reaction([self._zcl_reply(frame, data)])
        return self._default_response(frame, zcl, foundation.Status.UNSUP_GENERAL_COMMAND)

    def _attribute_def(self, cluster_id: int, attrid: int) -> foundation.ZCLAttributeDef | None:
        cls = _cluster_class(cluster_id)
        if cls is None:
            return None
        definition: foundation.ZCLAttributeDef | None = cls.attributes.get(attrid)
        return definition

    def _read_record(self, cluster_id: int, attrid: int) -> foundation.ReadAttributeRecord:
        definition = self._attribute_def(cluster_id, attrid)
        if definition is None or (cluster_id, definition.name) not in self.attributes:
            return foundation.ReadAttributeRecord(
                attrid=uint16(attrid), status=foundation.Status.UNSUPPORTED_ATTRIBUTE
            )
        value = definition.type(self.attributes[(cluster_id, definition.name)])
        return foundation.ReadAttributeRecord(
            attrid=uint16(attrid),
            status=foundation.Status.SUCCESS,
            value=foundation.TypeValue(type=definition.zcl_type, value=value),
        )

    def _write_attributes(
        self, cluster_id: int, attributes: list[foundation.Attribute]
    ) -> list[foundation.WriteAttributesStatusRecord]:
        statuses = []
        for attribute in attributes:
            definition = self._attribute_def(cluster_id, int(attribute.attrid))
            if definition is None or (cluster_id, definition.name) not in self.attributes:
                status = foundation.Status.UNSUPPORTED_ATTRIBUTE
            else:
                self.attributes[(cluster_id, definition.name)] = attribute.value.value
                status = foundation.Status.SUCCESS
            statuses.append(
                foundation.WriteAttributesStatusRecord(status=status, attrid=attribute.attrid)
            )
        return statuses

    def _configure_reporting(self, frame: Frame, zcl: ZclFrame, records: list[Any]) -> Reaction:
        results = []
        for record in records:
            definition = self._attribute_def(frame.cluster_id, int(record.attrid))
            if definition is None or (frame.cluster_id, definition.name) not in self.attributes:
                status = foundation.Status.UNSUPPORTED_ATTRIBUTE
            else:
                self.reporting[(frame.dst_ep, frame.cluster_id, int(record.attrid))] = (
                    ReportingConfig(
                        min_interval=int(record.min_interval),
                        max_interval=int(record.max_interval),
                        reportable_change=int(getattr(record, "reportable_change", 0) or 0),
                    )
                )
                status = foundation.Status.SUCCESS
            results.append(
                foundation.ConfigureReportingResponseRecord(
                    status=status,
                    direction=foundation.ReportingDirection.SendReports,
                    attrid=record.attrid,
                )
            )
        if any(r.status == foundation.Status.SUCCESS for r in results):
            self.counters.reporting_configs += 1
        data = encode_general_response(
            zcl,
            foundation.GeneralCommand.Configure_Reporting_rsp,
            status_records=foundation.ConfigureReportingResponse(results),
        )
        return Reaction([self._zcl_reply(frame, data)])

    def _receive_cluster_command(self, frame: Frame, zcl: ZclFrame, name: str) -> Reaction:
        command_id = zcl.command_id
        self._count(f"{name}:command_0x{command_id:02X}")
        if frame.cluster_id == ON_OFF and command_id in (0x00, 0x01, 0x02):
            current = bool(self.attributes.get((ON_OFF, "on_off"), False))
            self.attributes[(ON_OFF, "on_off")] = {0x00: False, 0x01: True}.get(
                command_id, not current
            )
            return self._default_response(frame, zcl, foundation.Status.SUCCESS)
        if frame.cluster_id == IDENTIFY and command_id == 0x00:
            return self._default_response(frame, zcl, foundation.Status.SUCCESS)
        return self._default_response(frame, zcl, foundation.Status.UNSUP_CLUSTER_COMMAND)

    # ------------------------------------------------------------------ control API view

    def snapshot(self) -> dict[str, object]:
        """State, counters and faults for the control API; the install code is masked."""
        return {
            "device_id": self.device_id,
            "ieee": self.ieee,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "logical_type": self.logical_type.value,
            "install_code": self.masked_install_code,
            "pairing": self.pairing,
            "network": (
                {
                    "extended_pan_id": self.network.extended_pan_id,
                    "nwk": f"0x{self.network.nwk:04X}",
                    "coordinator_ieee": self.network.coordinator_ieee,
                }
                if self.network
                else None
            ),
            "endpoints": [
                {
                    "endpoint_id": ep.endpoint_id,
                    "profile_id": f"0x{ep.profile_id:04X}",
                    "device_type": f"0x{ep.device_type:04X}",
                    "in_clusters": [_cluster_name(c) for c in ep.in_clusters],
                    "out_clusters": [_cluster_name(c) for c in ep.out_clusters],
                }
                for ep in self.endpoints
            ],
            "bindings": sorted(
                f"{b.endpoint_id}/{_cluster_name(b.cluster_id)} -> {b.destination}"
                for b in self.bindings
            ),
            "reporting": sorted(
                f"{ep}/{_cluster_name(cluster)}/0x{attr:04X}: "
                f"{cfg.min_interval}-{cfg.max_interval}s"
                for (ep, cluster, attr), cfg in self.reporting.items()
            ),
            "counters": self.counters.as_dict(),
            "faults": self.faults.model_dump(),
        }


_ZdoHandler = Callable[[SimulatedZigbeeDevice, ZdoFrame], Reaction]

_ZDO_HANDLERS: dict[zdo_t.ZDOCmd, _ZdoHandler] = {
    zdo_t.ZDOCmd.Node_Desc_req: SimulatedZigbeeDevice._node_desc,
    zdo_t.ZDOCmd.Active_EP_req: SimulatedZigbeeDevice._active_endpoints,
    zdo_t.ZDOCmd.Simple_Desc_req: SimulatedZigbeeDevice._simple_descriptor,
    zdo_t.ZDOCmd.IEEE_addr_req: SimulatedZigbeeDevice._ieee_address,
    zdo_t.ZDOCmd.NWK_addr_req: SimulatedZigbeeDevice._nwk_address,
    zdo_t.ZDOCmd.Bind_req: SimulatedZigbeeDevice._bind,
    zdo_t.ZDOCmd.Unbind_req: SimulatedZigbeeDevice._unbind,
    zdo_t.ZDOCmd.Mgmt_Leave_req: SimulatedZigbeeDevice._mgmt_leave,
    zdo_t.ZDOCmd.Mgmt_Permit_Joining_req: SimulatedZigbeeDevice._mgmt_permit_joining,
    zdo_t.ZDOCmd.Mgmt_Lqi_req: SimulatedZigbeeDevice._not_supported,
    zdo_t.ZDOCmd.Mgmt_Rtg_req: SimulatedZigbeeDevice._not_supported,
}
