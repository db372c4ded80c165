"""Simulated Zigbee devices: the real ZDO and ZCL frames they read and answer, their faults.

Requests are built and answers decoded with zigpy's own frame types, independently of
the simulator's encoders.
"""
# zigpy's integer and frame types are not annotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import Any

import pytest
import zigpy.types as t
import zigpy.util
import zigpy.zdo
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation

from simulators.zigbee import (
    NetworkMembership,
    SimulatedZigbeeDevice,
    ZigbeeDeviceFaults,
    ZigbeeDeviceFleet,
    color_bulb,
    format_install_code,
    install_code_for,
    masked_install_code,
    motion_sensor,
    smart_plug,
    with_crc,
)
from simulators.zigbee.device import Frame, NoAck

COORDINATOR = "00:12:4b:00:1c:d0:00:01"
NETWORK = NetworkMembership("dd:dd:dd:dd:dd:dd:dd:dd", 0x4A21, COORDINATOR)
BASIC, ON_OFF, LEVEL = 0x0000, 0x0006, 0x0008


def joined(device: SimulatedZigbeeDevice) -> SimulatedZigbeeDevice:
    device.join(NETWORK)
    return device


@pytest.fixture
def plug() -> SimulatedZigbeeDevice:
    return joined(smart_plug("plug", "00:12:4b:00:25:00:00:01"))


def zdo_request(command: zdo_t.ZDOCmd, tsn: int, *args: Any) -> Frame:
    _, schema = zdo_t.CLUSTERS[command]
    data = bytes([tsn]) + t.serialize(args, schema)
    return Frame(0x0000, command, 0, 0, data)


def zdo_answer(reply: Frame) -> tuple[zdo_t.ZDOCmd, int, list[Any]]:
    header, args = zigpy.zdo.ZDO(None).deserialize(reply.cluster_id, reply.data)
    return header.command_id, header.tsn, args


def zcl_request(
    cluster_id: int,
    command: int,
    body: bytes,
    *,
    tsn: int = 7,
    general: bool = True,
    endpoint: int = 1,
    disable_default_response: bool = False,
) -> Frame:
    control = foundation.FrameControl(
        frame_type=foundation.FrameType.GLOBAL_COMMAND
        if general
        else foundation.FrameType.CLUSTER_COMMAND,
        is_manufacturer_specific=0,
        direction=foundation.Direction.Client_to_Server,
        disable_default_response=int(disable_default_response),
        reserved=0,
    )
    header = foundation.ZCLHeader(frame_control=control, tsn=tsn, command_id=command)
    return Frame(0x0104, cluster_id, endpoint, endpoint, header.serialize() + body)


def zcl_answer(reply: Frame) -> tuple[foundation.ZCLHeader, Any]:
    header, payload = foundation.ZCLHeader.deserialize(reply.data)
    definition = foundation.GENERAL_COMMANDS[foundation.GeneralCommand(header.command_id)]
    command, _ = definition.schema.deserialize(payload)
    return header, command


def read_attributes(cluster_id: int, *attribute_ids: int) -> Frame:
    schema = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes].schema
    body = schema(attribute_ids=list(attribute_ids)).serialize()
    return zcl_request(cluster_id, foundation.GeneralCommand.Read_Attributes, body)


def bind_request(device: SimulatedZigbeeDevice, cluster_id: int, endpoint: int = 1) -> Frame:
    destination = zdo_t.MultiAddress(addrmode=3, ieee=t.EUI64.convert(COORDINATOR), endpoint=1)
    return zdo_request(zdo_t.ZDOCmd.Bind_req, 9, device.eui64, endpoint, cluster_id, destination)


# --- ZDO ------------------------------------------------------------------------------


def test_node_descriptor_describes_a_router_of_its_manufacturer(plug) -> None:
    reaction = plug.receive(zdo_request(zdo_t.ZDOCmd.Node_Desc_req, 3, t.NWK(NETWORK.nwk)))

    command, tsn, (status, nwk, descriptor) = zdo_answer(reaction.replies[0])
    assert (command, tsn, status) == (zdo_t.ZDOCmd.Node_Desc_rsp, 3, zdo_t.Status.SUCCESS)
    assert nwk == NETWORK.nwk
    assert descriptor.is_router
    assert descriptor.is_mains_powered
    assert descriptor.manufacturer_code == plug.manufacturer_code


def test_an_end_device_says_so_in_its_node_descriptor() -> None:
    sensor = joined(motion_sensor("motion", "00:15:8d:00:04:00:00:03"))

    reaction = sensor.receive(zdo_request(zdo_t.ZDOCmd.Node_Desc_req, 1, t.NWK(NETWORK.nwk)))

    _, _, (_, _, descriptor) = zdo_answer(reaction.replies[0])
    assert descriptor.is_end_device
    assert not descriptor.is_mains_powered


def test_active_endpoints_lists_the_application_endpoints(plug) -> None:
    reaction = plug.receive(zdo_request(zdo_t.ZDOCmd.Active_EP_req, 4, t.NWK(NETWORK.nwk)))

    _, _, (status, _, endpoints) = zdo_answer(reaction.replies[0])
    assert (status, endpoints) == (zdo_t.Status.SUCCESS, [1])


def test_simple_descriptor_lists_the_clusters_of_an_endpoint() -> None:
    bulb = joined(color_bulb("bulb", "00:17:88:01:0b:00:00:02"))

    reaction = bulb.receive(zdo_request(zdo_t.ZDOCmd.Simple_Desc_req, 5, t.NWK(NETWORK.nwk), 1))

    _, _, (status, _, descriptor) = zdo_answer(reaction.replies[0])
    assert status == zdo_t.Status.SUCCESS
    assert (descriptor.profile, descriptor.device_type) == (0x0104, 0x0102)
    assert list(descriptor.input_clusters) == [BASIC, 0x0003, ON_OFF, LEVEL]


def test_simple_descriptor_of_an_unknown_endpoint_is_not_active(plug) -> None:
    reaction = plug.receive(zdo_request(zdo_t.ZDOCmd.Simple_Desc_req, 6, t.NWK(NETWORK.nwk), 9))

    _, _, (status, *_) = zdo_answer(reaction.replies[0])
    assert status == zdo_t.Status.NOT_ACTIVE


def test_ieee_address_request_answers_with_the_devices_addresses(plug) -> None:
    reaction = plug.receive(zdo_request(zdo_t.ZDOCmd.IEEE_addr_req, 8, t.NWK(NETWORK.nwk), 0, 0))

    _, _, (status, ieee, nwk, *_) = zdo_answer(reaction.replies[0])
    assert (status, str(ieee), nwk) == (zdo_t.Status.SUCCESS, plug.ieee, NETWORK.nwk)


def test_bind_to_the_coordinator_is_stored(plug) -> None:
    reaction = plug.receive(bind_request(plug, ON_OFF))

    _, _, (status,) = zdo_answer(reaction.replies[0])
    assert status == zdo_t.Status.SUCCESS
    assert {(b.endpoint_id, b.cluster_id, b.destination) for b in plug.bindings} == {
        (1, ON_OFF, f"{COORDINATOR}/1")
    }
    assert plug.counters.binds == 1


@pytest.mark.parametrize(
    ("cluster_id", "endpoint", "expected"),
    [(LEVEL, 1, zdo_t.Status.NOT_SUPPORTED), (ON_OFF, 7, zdo_t.Status.INVALID_EP)],
    ids=["cluster-it-lacks", "unknown-endpoint"],
)
def test_bind_of_what_the_device_lacks_is_refused(plug, cluster_id, endpoint, expected) -> None:
    reaction = plug.receive(bind_request(plug, cluster_id, endpoint))

    _, _, (status,) = zdo_answer(reaction.replies[0])
    assert status == expected
    assert plug.bindings == set()


def test_bind_failure_fault_refuses_with_a_full_table(plug) -> None:
    plug.faults = ZigbeeDeviceFaults(bind_failures=1)

    first = plug.receive(bind_request(plug, ON_OFF))
    second = plug.receive(bind_request(plug, ON_OFF))

    assert zdo_answer(first.replies[0])[2] == [zdo_t.Status.TABLE_FULL]
    assert zdo_answer(second.replies[0])[2] == [zdo_t.Status.SUCCESS]


def test_leave_request_answers_then_leaves_and_looks_for_a_network_again(plug) -> None:
    plug.receive(bind_request(plug, ON_OFF))

    reaction = plug.receive(zdo_request(zdo_t.ZDOCmd.Mgmt_Leave_req, 2, plug.eui64, 0x40))

    _, _, (status,) = zdo_answer(reaction.replies[0])
    assert status == zdo_t.Status.SUCCESS
    assert reaction.left_network == NETWORK
    assert (plug.network, plug.pairing, plug.bindings) == (None, True, set())
    assert (plug.counters.removals, plug.counters.leaves) == (1, 0)


def test_device_off_the_network_acknowledges_nothing() -> None:
    device = smart_plug("plug", "00:12:4b:00:25:00:00:01")

    with pytest.raises(NoAck):
        device.receive(zdo_request(zdo_t.ZDOCmd.Node_Desc_req, 1, t.NWK(0x1234)))


def test_unresponsive_device_acknowledges_nothing(plug) -> None:
    plug.faults = ZigbeeDeviceFaults(unresponsive=True)

    with pytest.raises(NoAck):
        plug.receive(read_attributes(BASIC, 4))


def test_failing_interview_ignores_its_retries_and_answers_the_next_interview(plug) -> None:
    plug.faults = ZigbeeDeviceFaults(interview_failures=1)
    request = zdo_request(zdo_t.ZDOCmd.Node_Desc_req, 10, t.NWK(NETWORK.nwk))

    for _ in range(3):  # zigpy sends a request up to three times
        with pytest.raises(NoAck):
            plug.receive(request)
    answered = plug.receive(zdo_request(zdo_t.ZDOCmd.Node_Desc_req, 11, t.NWK(NETWORK.nwk)))

    assert zdo_answer(answered.replies[0])[2][0] == zdo_t.Status.SUCCESS
    assert plug.counters.interviews == 2
    assert plug.faults.interview_failures == 0


# --- ZCL ------------------------------------------------------------------------------


def test_basic_cluster_read_returns_manufacturer_and_model(plug) -> None:
    reaction = plug.receive(read_attributes(BASIC, 0x0004, 0x0005))

    header, response = zcl_answer(reaction.replies[0])
    assert header.command_id == foundation.GeneralCommand.Read_Attributes_rsp
    assert header.tsn == 7
    assert header.direction == foundation.Direction.Server_to_Client
    values = {r.attrid: r.value.value for r in response.status_records}
    assert values == {0x0004: "SONOFF", 0x0005: "S26R2ZB"}


def test_reading_an_attribute_the_device_lacks_is_unsupported(plug) -> None:
    reaction = plug.receive(read_attributes(BASIC, 0x0010, 0x0005))

    _, response = zcl_answer(reaction.replies[0])
    statuses = {r.attrid: r.status for r in response.status_records}
    assert statuses == {
        0x0010: foundation.Status.UNSUPPORTED_ATTRIBUTE,
        0x0005: foundation.Status.SUCCESS,
    }


def test_configure_reporting_is_stored(plug) -> None:
    config = foundation.AttributeReportingConfig()
    config.direction = foundation.ReportingDirection.SendReports
    config.attrid = t.uint16_t(0x0000)
    config.datatype = foundation.DataTypeId.bool_
    config.min_interval = 0
    config.max_interval = 300
    config.reportable_change = 0
    schema = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Configure_Reporting].schema
    body = schema(config_records=[config]).serialize()

    reaction = plug.receive(
        zcl_request(ON_OFF, foundation.GeneralCommand.Configure_Reporting, body)
    )

    _, response = zcl_answer(reaction.replies[0])
    assert [r.status for r in response.status_records] == [foundation.Status.SUCCESS]
    assert plug.reporting[(1, ON_OFF, 0x0000)].max_interval == 300
    assert plug.counters.reporting_configs == 1


def test_on_off_commands_switch_the_device_and_are_acknowledged(plug) -> None:
    reaction = plug.receive(zcl_request(ON_OFF, 0x01, b"", general=False))

    _, response = zcl_answer(reaction.replies[0])
    assert (response.command_id, response.status) == (0x01, foundation.Status.SUCCESS)
    assert plug.attributes[(ON_OFF, "on_off")] is True

    silent = plug.receive(
        zcl_request(ON_OFF, 0x02, b"", general=False, disable_default_response=True)
    )
    assert silent.replies == []
    assert plug.attributes[(ON_OFF, "on_off")] is False


def test_frame_for_a_cluster_the_device_lacks_is_unsupported(plug) -> None:
    reaction = plug.receive(read_attributes(LEVEL, 0x0000))

    _, response = zcl_answer(reaction.replies[0])
    assert response.status == foundation.Status.UNSUPPORTED_CLUSTER


# --- identity, install codes, fleet ---------------------------------------------------


def test_generated_install_codes_have_a_valid_crc() -> None:
    code = install_code_for("anything")

    assert len(code) == 18
    assert zigpy.util.convert_install_code(code) is not None
    assert with_crc(code[:-2]) == code


def test_install_code_crc_matches_zigpys_test_vector() -> None:
    code = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")

    assert with_crc(code[:-2]) == code


def test_link_key_comes_from_the_devices_real_install_code(plug) -> None:
    label_key = zigpy.util.convert_install_code(plug.install_code)

    assert plug.link_key() == label_key
    plug.faults = ZigbeeDeviceFaults(wrong_install_code=True)
    assert plug.link_key() != label_key


def test_snapshot_masks_the_install_code(plug) -> None:
    snapshot = plug.snapshot()

    assert snapshot["install_code"] == masked_install_code(plug.install_code)
    assert plug.install_code.hex() not in repr(snapshot).lower()
    assert format_install_code(plug.install_code) not in repr(snapshot)


class Recorder:
    def __init__(self) -> None:
        self.pairing: list[str] = []
        self.left: list[tuple[str, int]] = []

    def device_started_pairing(self, device: SimulatedZigbeeDevice) -> None:
        self.pairing.append(device.device_id)

    def device_left(self, device: SimulatedZigbeeDevice, membership: NetworkMembership) -> None:
        self.left.append((device.device_id, membership.nwk))


def test_fleet_tells_radios_about_pairing_and_leaving() -> None:
    plug = smart_plug("plug", "00:12:4b:00:25:00:00:01", pairing=False)
    fleet = ZigbeeDeviceFleet([plug])
    radio = Recorder()
    fleet.attach(radio)

    fleet.start_pairing("plug")
    plug.join(NETWORK)
    fleet.make_leave("plug")

    assert radio.pairing == ["plug"]
    assert radio.left == [("plug", NETWORK.nwk)]
    assert plug.counters.leaves == 1


def test_fleet_gives_each_device_its_own_short_address() -> None:
    devices = [smart_plug(f"plug-{i}", f"00:12:4b:00:25:00:01:{i:02x}") for i in range(20)]
    fleet = ZigbeeDeviceFleet(devices)
    for device in devices:
        device.join(
            NetworkMembership(
                NETWORK.extended_pan_id,
                fleet.allocate_nwk(device, NETWORK.extended_pan_id),
                COORDINATOR,
            )
        )

    addresses = {d.network.nwk for d in devices if d.network}
    assert len(addresses) == 20
    assert all(0x0001 <= a <= 0xFFF7 for a in addresses)


def test_fleet_refuses_two_devices_with_one_ieee() -> None:
    fleet = ZigbeeDeviceFleet([smart_plug("a", "00:12:4b:00:25:00:00:01")])

    with pytest.raises(ValueError, match="IEEE"):
        fleet.add(smart_plug("b", "00:12:4b:00:25:00:00:01"))


def test_factory_reset_clears_faults_counters_and_network(plug) -> None:
    plug.faults = ZigbeeDeviceFaults(never_joins=True)
    fleet = ZigbeeDeviceFleet([plug])

    fleet.reset("plug")

    assert (plug.network, plug.pairing, plug.faults) == (None, True, ZigbeeDeviceFaults())
    assert plug.counters.joins == 0
