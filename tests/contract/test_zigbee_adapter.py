"""Contract of `ZigbeeCoordinator` (ZigbeeCoordinatorPort) against the simulated radio.

Every test runs zigpy's real stack — join handling, device interview, ZDO/ZCL requests,
its SQLite database and network backups — on the simulated coordinator radio, and asserts
what the adapter returns or raises and what the simulated devices saw.
"""

from __future__ import annotations

import asyncio
import stat
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.errors import DeviceUnreachable
from adapters.zigbee import (
    CoordinatorNotReady,
    CoordinatorSettings,
    InvalidInstallCode,
    ZigbeeConfigurationFailed,
    ZigbeeCoordinator,
    ZigbeeDeviceMismatch,
    ZigbeeInterviewFailed,
    ZigbeeJoinTimeout,
    ZigbeeNetworkFull,
    parse_radio,
)
from adapters.zigbee.port import ZigbeeCoordinatorPort
from domain.errors import ErrorCode
from domain.zigbee import ReportingRule, ZigbeeMembership
from simulators.zigbee import (
    SimulatedCoordinator,
    SimulatedStick,
    SimulatedZigbeeDevice,
    ZigbeeDeviceFaults,
    ZigbeeDeviceFleet,
    ZigbeeSimulation,
    color_bulb,
    format_install_code,
    simulation_config,
    smart_plug,
)
from tests.contract.assertions import assert_error, assert_no_secret

PLUG = "zb-plug"
BULB = "zb-bulb"
ON_OFF = 0x0006
LEVEL_CONTROL = 0x0008
ON_OFF_REPORTING = ReportingRule(
    cluster_id=ON_OFF, attribute="on_off", min_interval=0, max_interval=300
)
JOIN_TIMEOUT = 5.0
INTERVIEW_TIMEOUT = 5.0

CoordinatorFactory = Callable[..., ZigbeeCoordinator]


@pytest.fixture(autouse=True)
async def no_leftovers() -> AsyncIterator[None]:
    """Fail a test that leaves tasks or threads (zigpy's database thread) behind."""
    tasks_before = asyncio.all_tasks()
    threads_before = set(threading.enumerate())
    yield
    for _ in range(5):
        await asyncio.sleep(0)
    tasks = asyncio.all_tasks() - tasks_before - {asyncio.current_task()}
    # The event loop's default executor keeps its worker threads (`asyncio_N`) for good.
    threads = {
        thread
        for thread in set(threading.enumerate()) - threads_before
        if thread.is_alive() and not thread.name.startswith("asyncio_")
    }
    assert tasks == set()
    assert threads == set()


@pytest.fixture
def fleet() -> ZigbeeDeviceFleet:
    """A plug and a bulb in pairing mode, joining 50 ms after the network opens for them."""
    return ZigbeeDeviceFleet(
        [
            smart_plug(PLUG, "00:12:4b:00:25:00:00:01", join_delay=0.05),
            color_bulb(BULB, "00:17:88:01:0b:00:00:02", join_delay=0.05),
        ]
    )


@pytest.fixture
def stick() -> SimulatedStick:
    return SimulatedStick()


@pytest.fixture
async def make_coordinator(
    tmp_path: Path, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> AsyncIterator[CoordinatorFactory]:
    """Builds coordinators on the simulated stick with their database in `tmp_path`;
    closes every one of them after the test."""
    made: list[ZigbeeCoordinator] = []

    def factory(stick_: SimulatedStick | None = None, **settings: object) -> ZigbeeCoordinator:
        coordinator = ZigbeeCoordinator(
            parse_radio("simulated"),
            CoordinatorSettings(database_path=tmp_path / "zigbee" / "zigbee.db", **settings),  # type: ignore[arg-type]
            controller=SimulatedCoordinator,
            radio_config=simulation_config(ZigbeeSimulation(fleet, stick_ or stick)),
        )
        made.append(coordinator)
        return coordinator

    yield factory
    for coordinator in made:
        await coordinator.close()


@pytest.fixture
async def coordinator(make_coordinator: CoordinatorFactory) -> ZigbeeCoordinator:
    opened = make_coordinator()
    await opened.open()
    return opened


async def test_the_network_database_is_readable_by_its_owner_only(
    coordinator: ZigbeeCoordinator, tmp_path: Path
) -> None:
    # It holds the network key and every device's link key (issue 17).
    directory = tmp_path / "zigbee"

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(directory.iterdir())
    assert files, "zigpy wrote no database"
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


def code_of(device: SimulatedZigbeeDevice) -> str:
    """The install code as printed on the device's label."""
    return format_install_code(device.install_code)


def corrupted(code: str) -> str:
    """The code with one digit mistyped, so its CRC no longer matches."""
    first = "1" if code[0] != "1" else "2"
    return first + code[1:]


async def joined_and_interviewed(
    coordinator: ZigbeeCoordinator, device: SimulatedZigbeeDevice
) -> None:
    await coordinator.permit_join(device.ieee, code_of(device), JOIN_TIMEOUT)
    await coordinator.interview(device.ieee, INTERVIEW_TIMEOUT)


def test_coordinator_implements_the_port(coordinator: ZigbeeCoordinator) -> None:
    port: ZigbeeCoordinatorPort = coordinator

    assert port is coordinator


# --- network --------------------------------------------------------------------------


async def test_a_new_coordinator_forms_a_network_and_reports_it(
    coordinator: ZigbeeCoordinator, stick: SimulatedStick
) -> None:
    network = await coordinator.network_status()

    assert network.ready
    assert network.formed
    assert network.channel == 15
    assert network.coordinator_ieee == stick.ieee
    assert (network.pan_id or "").startswith("0x")
    assert network.extended_pan_id == str(stick.network_info.extended_pan_id)  # type: ignore[union-attr]
    assert (network.device_count, network.capacity) == (0, 100)


async def test_restart_keeps_the_network_and_its_devices(
    make_coordinator: CoordinatorFactory, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> None:
    first = make_coordinator()
    await first.open()
    await joined_and_interviewed(first, fleet[PLUG])
    before = await first.network_status()
    await first.close()

    second = make_coordinator()
    await second.open()

    after = await second.network_status()
    assert (after.extended_pan_id, after.pan_id, after.channel) == (
        before.extended_pan_id,
        before.pan_id,
        before.channel,
    )
    assert after.device_count == 1
    known = second.device_info(fleet[PLUG].ieee)
    assert (known.interviewed, known.model) == (True, "S26R2ZB")
    assert await second.membership(fleet[PLUG].ieee) is ZigbeeMembership.JOINED
    assert stick.counters.network_writes == 1


async def test_a_replaced_stick_gets_the_network_back_from_the_database(
    make_coordinator: CoordinatorFactory, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> None:
    first = make_coordinator()
    await first.open()
    before = await first.network_status()
    await first.close()

    blank = SimulatedStick(ieee=stick.ieee)
    second = make_coordinator(blank)
    await second.open()

    after = await second.network_status()
    assert (after.extended_pan_id, after.pan_id) == (before.extended_pan_id, before.pan_id)


async def test_a_radio_that_cannot_be_opened_is_not_ready_until_it_can(
    make_coordinator: CoordinatorFactory, stick: SimulatedStick
) -> None:
    stick.fail_connect = True
    coordinator = make_coordinator(reconnect_interval=0.05)

    with pytest.raises(CoordinatorNotReady) as caught:
        await coordinator.open()
    assert_error(caught.value, ErrorCode.ZIGBEE_COORDINATOR_NOT_READY, retryable=True)

    await coordinator.start()
    assert not (await coordinator.network_status()).ready
    with pytest.raises(CoordinatorNotReady):
        await coordinator.membership("00:12:4b:00:25:00:00:01")

    stick.fail_connect = False
    async with asyncio.timeout(5):
        while not coordinator.ready:
            await asyncio.sleep(0.02)
    assert (await coordinator.network_status()).formed


# --- joining --------------------------------------------------------------------------


async def test_device_joins_with_its_install_code_and_the_network_closes_again(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> None:
    plug = fleet[PLUG]

    joined = await coordinator.permit_join(plug.ieee, code_of(plug), JOIN_TIMEOUT)

    assert joined.ieee == plug.ieee
    assert plug.network is not None
    assert joined.nwk == f"0x{plug.network.nwk:04X}"
    assert plug.counters.joins == 1
    assert not stick.permit_open(asyncio.get_running_loop().time())
    assert stick.install_keys == {}
    assert fleet[BULB].network is None
    assert (await coordinator.network_status()).device_count == 1


async def test_install_code_from_a_qr_code_is_accepted(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    qr = f"Z:{plug.ieee.replace(':', '').upper()}$I:{plug.install_code.hex().upper()}"

    await coordinator.permit_join(plug.ieee, qr, JOIN_TIMEOUT)

    assert plug.counters.joins == 1


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (corrupted, "CRC"),
        (lambda code: code.replace(" ", "")[:-2], "digits"),
        (lambda code: "not an install code", "neither hex"),
    ],
    ids=["bad-crc", "truncated", "not-hex"],
)
async def test_invalid_install_code_is_rejected_before_the_network_opens(
    coordinator: ZigbeeCoordinator,
    fleet: ZigbeeDeviceFleet,
    stick: SimulatedStick,
    mangle: Callable[[str], str],
    reason: str,
) -> None:
    plug = fleet[PLUG]
    typed = mangle(code_of(plug))

    with pytest.raises(InvalidInstallCode) as caught:
        await coordinator.permit_join(plug.ieee, typed, JOIN_TIMEOUT)

    assert_error(caught.value, ErrorCode.ZIGBEE_INVALID_INSTALL_CODE, retryable=False)
    assert reason in caught.value.message
    assert_no_secret(caught.value, typed)
    assert (stick.counters.permits_opened, stick.counters.install_keys_added) == (0, 0)
    assert plug.counters.join_attempts == 0


async def test_device_that_never_joins_times_out_and_the_network_is_closed_again(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> None:
    plug = fleet[PLUG]
    plug.faults = ZigbeeDeviceFaults(never_joins=True)

    with pytest.raises(ZigbeeJoinTimeout) as caught:
        await coordinator.permit_join(plug.ieee, code_of(plug), 0.5)

    assert_error(caught.value, ErrorCode.ZIGBEE_JOIN_TIMEOUT, retryable=False)
    assert "closed again" in caught.value.message
    assert stick.counters.permits_opened == 1
    assert not stick.permit_open(asyncio.get_running_loop().time())
    assert plug.counters.join_attempts == 0
    assert await coordinator.membership(plug.ieee) is ZigbeeMembership.ABSENT


async def test_device_whose_real_install_code_differs_is_not_admitted(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    plug.faults = ZigbeeDeviceFaults(wrong_install_code=True)

    with pytest.raises(ZigbeeJoinTimeout):
        await coordinator.permit_join(plug.ieee, code_of(plug), 0.5)

    assert plug.counters.rejected_joins >= 1
    assert plug.counters.joins == 0
    assert plug.network is None


async def test_another_devices_install_code_lets_nobody_in(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug, bulb = fleet[PLUG], fleet[BULB]

    with pytest.raises(ZigbeeJoinTimeout):
        await coordinator.permit_join(plug.ieee, code_of(bulb), 0.5)

    assert (plug.counters.joins, bulb.counters.joins) == (0, 0)


async def test_full_network_does_not_open_for_another_device(
    make_coordinator: CoordinatorFactory, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> None:
    coordinator = make_coordinator(capacity=1)
    await coordinator.open()
    await coordinator.permit_join(fleet[PLUG].ieee, code_of(fleet[PLUG]), JOIN_TIMEOUT)

    with pytest.raises(ZigbeeNetworkFull) as caught:
        await coordinator.permit_join(fleet[BULB].ieee, code_of(fleet[BULB]), JOIN_TIMEOUT)

    assert_error(caught.value, ErrorCode.ZIGBEE_NETWORK_FULL, retryable=False)
    assert stick.counters.permits_opened == 1
    assert fleet[BULB].network is None


async def test_two_devices_join_at_the_same_time(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> None:
    plug, bulb = fleet[PLUG], fleet[BULB]

    await asyncio.gather(
        coordinator.permit_join(plug.ieee, code_of(plug), JOIN_TIMEOUT),
        coordinator.permit_join(bulb.ieee, code_of(bulb), JOIN_TIMEOUT),
    )

    assert (plug.counters.joins, bulb.counters.joins) == (1, 1)
    assert not stick.permit_open(asyncio.get_running_loop().time())


# --- interview ------------------------------------------------------------------------


async def test_interview_reads_endpoints_and_the_basic_cluster(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    bulb = fleet[BULB]
    await coordinator.permit_join(bulb.ieee, code_of(bulb), JOIN_TIMEOUT)

    info = await coordinator.interview(bulb.ieee, INTERVIEW_TIMEOUT)

    assert info.interviewed
    assert (info.manufacturer, info.model) == ("IKEA of Sweden", "TRADFRI bulb E27 WS opal 1000lm")
    assert info.logical_type == "router"
    assert [ep.endpoint_id for ep in info.endpoints] == [1]
    assert info.has_cluster(ON_OFF)
    assert info.has_cluster(LEVEL_CONTROL)
    assert bulb.counters.interviews == 1


async def test_interview_that_fails_twice_succeeds_on_the_third_try_with_one_join(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    plug.faults = ZigbeeDeviceFaults(interview_failures=2)
    await coordinator.permit_join(plug.ieee, code_of(plug), JOIN_TIMEOUT)

    for _ in range(2):
        with pytest.raises(ZigbeeInterviewFailed) as caught:
            await coordinator.interview(plug.ieee, INTERVIEW_TIMEOUT)
        assert_error(caught.value, ErrorCode.ZIGBEE_INTERVIEW_FAILED, retryable=True)
    info = await coordinator.interview(plug.ieee, INTERVIEW_TIMEOUT)

    assert (info.interviewed, info.model) == (True, "S26R2ZB")
    assert (plug.counters.joins, plug.counters.interviews) == (1, 3)


async def test_interview_of_an_interviewed_device_asks_nothing_again(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)

    again = await coordinator.interview(plug.ieee, INTERVIEW_TIMEOUT)

    assert again.model == "S26R2ZB"
    assert plug.counters.interviews == 1


async def test_identity_matching_the_request_is_confirmed(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)

    info = await coordinator.verify_identity(plug.ieee, model="s26r2zb", manufacturers=["Sonoff"])

    assert info.model == "S26R2ZB"
    assert plug.counters.frames["basic:Read_Attributes"] == 2


async def test_wrong_model_is_detected(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)

    with pytest.raises(ZigbeeDeviceMismatch) as caught:
        await coordinator.verify_identity(plug.ieee, model="TRADFRI bulb E27 WS opal 1000lm")

    assert_error(caught.value, ErrorCode.DEVICE_MISMATCH, retryable=False)
    assert caught.value.details["model"] == "S26R2ZB"
    assert "S26R2ZB" in caught.value.message


async def test_wrong_manufacturer_is_detected(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)

    with pytest.raises(ZigbeeDeviceMismatch) as caught:
        await coordinator.verify_identity(plug.ieee, manufacturers=["IKEA of Sweden"])

    assert caught.value.details["manufacturer"] == "SONOFF"


# --- configuration --------------------------------------------------------------------


async def test_configure_binds_to_the_coordinator_and_sets_up_reporting(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet, stick: SimulatedStick
) -> None:
    bulb = fleet[BULB]
    await joined_and_interviewed(coordinator, bulb)
    level = ReportingRule(
        cluster_id=LEVEL_CONTROL, attribute="current_level", min_interval=1, max_interval=600
    )
    occupancy = ReportingRule(
        cluster_id=0x0406, attribute="occupancy", min_interval=0, max_interval=600
    )

    result = await coordinator.configure(bulb.ieee, [ON_OFF_REPORTING, level, occupancy])

    assert [c.cluster for c in result.clusters] == ["on_off", "level"]
    assert result.skipped == [0x0406]
    assert {(b.cluster_id, b.destination) for b in bulb.bindings} == {
        (ON_OFF, f"{stick.ieee}/1"),
        (LEVEL_CONTROL, f"{stick.ieee}/1"),
    }
    assert bulb.reporting[(1, ON_OFF, 0x0000)].max_interval == 300
    assert bulb.reporting[(1, LEVEL_CONTROL, 0x0000)].min_interval == 1
    assert (bulb.counters.binds, bulb.counters.reporting_configs) == (2, 2)


async def test_configure_twice_leaves_the_same_configuration(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)

    await coordinator.configure(plug.ieee, [ON_OFF_REPORTING])
    await coordinator.configure(plug.ieee, [ON_OFF_REPORTING])

    assert len(plug.bindings) == 1
    assert len(plug.reporting) == 1


async def test_refused_binding_fails_the_configuration(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)
    plug.faults = ZigbeeDeviceFaults(bind_failures=1)

    with pytest.raises(ZigbeeConfigurationFailed) as caught:
        await coordinator.configure(plug.ieee, [ON_OFF_REPORTING])

    assert_error(caught.value, ErrorCode.ZIGBEE_CONFIGURATION_FAILED, retryable=False)
    assert "TABLE_FULL" in caught.value.message
    assert plug.bindings == set()


async def test_configuring_a_device_that_left_is_retryable(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)
    fleet.make_leave(PLUG)

    with pytest.raises(ZigbeeConfigurationFailed) as caught:
        await coordinator.configure(plug.ieee, [ON_OFF_REPORTING])

    assert caught.value.retryable


# --- membership and removal -----------------------------------------------------------


async def test_device_that_left_on_its_own_is_listed_but_unresponsive(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)

    fleet.make_leave(PLUG)

    assert await coordinator.membership(plug.ieee) is ZigbeeMembership.UNRESPONSIVE
    assert plug.counters.leaves == 1


async def test_device_that_leaves_after_a_while_is_unresponsive_then(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    plug.faults = ZigbeeDeviceFaults(leaves_after=0.05)
    await coordinator.permit_join(plug.ieee, code_of(plug), JOIN_TIMEOUT)

    async with asyncio.timeout(5):
        while plug.network is not None:
            await asyncio.sleep(0.02)

    assert await coordinator.membership(plug.ieee) is ZigbeeMembership.UNRESPONSIVE


async def test_a_stale_entry_is_replaced_when_the_device_joins_again(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)
    fleet.reset(PLUG)

    await coordinator.permit_join(plug.ieee, code_of(plug), JOIN_TIMEOUT)
    info = await coordinator.interview(plug.ieee, INTERVIEW_TIMEOUT)

    assert (plug.counters.joins, plug.counters.interviews) == (1, 1)
    assert info.model == "S26R2ZB"
    assert (await coordinator.network_status()).device_count == 1


async def test_a_join_that_times_out_keeps_the_listed_entry_of_a_device_that_did_not_leave(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    """Explorer finding (I10, seed 1660017568/435): a retry's join dropped the listed entry
    of a device that heard no leave and never joined again; the coordinator forgot a
    device that kept the network key, and the decommission found nothing to remove."""
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)
    fleet.set_faults(PLUG, {"unresponsive": True, "never_joins": True})

    with pytest.raises(ZigbeeJoinTimeout):
        await coordinator.permit_join(plug.ieee, code_of(plug), 1.0)

    assert plug.network is not None
    assert (await coordinator.network_status()).device_count == 1
    fleet.set_faults(PLUG, {"unresponsive": False, "never_joins": False})
    assert await coordinator.remove(plug.ieee)
    assert plug.network is None
    assert plug.counters.removals == 1


async def test_remove_sends_leave_and_drops_the_device(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)
    await coordinator.configure(plug.ieee, [ON_OFF_REPORTING])

    removed = await coordinator.remove(plug.ieee)

    assert removed
    assert plug.network is None
    assert plug.counters.removals == 1
    assert plug.counters.frames["Mgmt_Leave_req"] >= 1
    assert await coordinator.membership(plug.ieee) is ZigbeeMembership.ABSENT
    assert (await coordinator.network_status()).device_count == 0


async def test_remove_is_idempotent(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)

    assert await coordinator.remove(plug.ieee)
    assert not await coordinator.remove(plug.ieee)
    assert plug.counters.removals == 1


async def test_removed_device_stays_removed_after_a_restart(
    make_coordinator: CoordinatorFactory, fleet: ZigbeeDeviceFleet
) -> None:
    first = make_coordinator()
    await first.open()
    await joined_and_interviewed(first, fleet[PLUG])
    await first.remove(fleet[PLUG].ieee)
    await first.close()

    second = make_coordinator()
    await second.open()

    assert (await second.network_status()).device_count == 0


async def test_remove_of_a_device_that_does_not_answer_keeps_it_listed_until_it_leaves(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    """Explorer finding: dropped unacknowledged, the device kept the network (I3)."""
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)
    fleet.set_faults(PLUG, {"unresponsive": True})

    with pytest.raises(DeviceUnreachable, match="did not acknowledge"):
        await coordinator.remove(plug.ieee)
    assert plug.network is not None
    assert (await coordinator.network_status()).device_count == 1

    fleet.set_faults(PLUG, {"unresponsive": False})
    assert await coordinator.remove(plug.ieee)
    assert plug.network is None
    assert plug.counters.removals == 1
    assert (await coordinator.network_status()).device_count == 0


async def test_remove_of_a_device_that_left_drops_its_entry(
    coordinator: ZigbeeCoordinator, fleet: ZigbeeDeviceFleet
) -> None:
    plug = fleet[PLUG]
    await joined_and_interviewed(coordinator, plug)
    fleet.make_leave(PLUG)

    assert await coordinator.remove(plug.ieee)
    assert await coordinator.membership(plug.ieee) is ZigbeeMembership.ABSENT
