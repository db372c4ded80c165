"""One sequence's world: its simulated device (and cloud), the workers that reach it, the API.

In process (`open_world`), every sequence gets a stack of its own on the session's
Temporal dev server — its own site (so edge task queues never mix), central task queue
(so its cloud activities reach its own simulated cloud), simulators, real central and
edge workers with the real activities and adapters, and the real API app on a loopback
port with short step policies. Sequences then run side by side without touching each
other's devices, clouds or faults.

For the process-level variant (`open_chaos_world`) the sequences share a `ChaosStack`:
its dev server and workers are child processes, its devices and cloud live here.

The world answers what the invariants ask of the device and the cloud, from the
simulators' own state, never from devprov's report: `configured_problems` (it holds the
network the run reports) and `restored_problems` (it is as before the run). In process,
each world has a device registry of its own (a SQLite file) that its central worker's
runs write and its API reads, as under `make run`: the decommission action needs it, and
the invariants compare its record with the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from improv_ble_client.protocol import State as ImprovState
from pydantic import SecretStr
from temporalio.client import Client

from activities.http_wifi import HttpWifiActivities
from activities.wifi_cloud import WifiCloudActivities
from adapters.ble import VirtualBleRadio
from adapters.http_wifi import HttpWifiAdapter
from adapters.wifi_cloud import WifiCloudAdapter
from api import ApiDependencies, start_api
from config.policies import load_policy_book
from config.settings import ApiSettings, BleSettings, EdgeSettings, Settings, WorkerSettings
from registry import DeviceRegistry, open_registry
from simulators.esp_prov import (
    EspDeviceFaults,
    EspDeviceFleet,
    EspDeviceSpec,
    SimulatedEspDevice,
    Station,
)
from simulators.http_wifi import (
    DeviceFaults,
    SimulatedWifiDevice,
    WifiDeviceFleet,
    start_simulator,
)
from simulators.improv_ble import (
    ImprovDeviceFaults,
    ImprovDeviceFleet,
    ImprovDeviceSpec,
    SimulatedImprovDevice,
    start_improv_control,
)
from simulators.wifi_cloud import (
    DEV_API_KEY,
    DEV_CLAIM_TOKEN,
    CloudConfig,
    CloudFaults,
    SimulatedCloud,
    start_cloud_simulator,
)
from simulators.zigbee import (
    SimulatedZigbeeDevice,
    SimulatedZigbeeWorld,
    ZigbeeDeviceFleet,
    format_install_code,
    smart_plug,
)
from strategies.catalog import build_registry
from tests.chaos.harness import SITE as CHAOS_SITE
from tests.chaos.harness import ChaosStack
from tests.explorer.model import ActionKind, Credentials, DeviceSetup, Family, Fault, Sequence
from worker.capabilities import SimulatedWorld
from worker.capabilities.esp_prov_ble import share_virtual_esp_radio
from worker.capabilities.improv_ble import share_virtual_ble_radio
from worker.capabilities.zigbee import share_simulated_zigbee_world
from worker.edge import edge_node
from worker.workers import central_worker, edge_worker

LAB_SSID, LAB_PASSPHRASE = "devprov-lab", "correct-horse-battery"
GUEST_SSID, GUEST_PASSPHRASE = "devprov-guest", "guest-passphrase-1"
NETWORKS: Mapping[str, str] = {LAB_SSID: LAB_PASSPHRASE, GUEST_SSID: GUEST_PASSPHRASE}
"""The Wi-Fi networks in every device's range."""

EXTRA_CREDENTIALS = "extra credentials: "
"""How a problem of a configured device starts when the cloud holds active credentials
for it besides its registration's: what an earlier run's failed cloud undo step leaves."""

CREDENTIALS_BODIES: Mapping[Credentials, dict[str, str]] = {
    Credentials.LAB: {"ssid": LAB_SSID, "passphrase": LAB_PASSPHRASE},
    Credentials.GUEST: {"ssid": GUEST_SSID, "passphrase": GUEST_PASSPHRASE},
    Credentials.WRONG_PASSPHRASE: {"ssid": LAB_SSID, "passphrase": "not-the-lab-passphrase"},
    Credentials.UNKNOWN_NETWORK: {"ssid": "devprov-nowhere", "passphrase": "nowhere-pass-1"},
    Credentials.INVALID: {"ssid": LAB_SSID, "passphrase": "short"},
}

GATEWAY = "gw1"
ESP_PASSWORD = "explorer-srp-password"
"""The SRP6a password of the explorer's ESP32s (security 2)."""
HUB_POLL_INTERVAL = 0.5
"""Seconds between two progress queries of the API's event streams (as under `make run`)."""
_SHUTDOWN = timedelta(seconds=1)
"""Workers of a finished sequence do not wait long for activities still in flight."""
HTTP_DEVICE_TIMEOUT = 2.0
"""Seconds the edge's HTTP client waits for a device (a stalled device exceeds it)."""


def _step_env(scope: str, steps: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    return {
        f"DEVPROV_POLICY__{scope}__STEPS__{step}__{knob}": value
        for step, knobs in steps.items()
        for knob, value in knobs.items()
    }


_QUICK = {"RETRY__INITIAL_INTERVAL": "100ms", "RETRY__MAXIMUM_INTERVAL": "500ms"}
HEARTBEAT = "5s"
"""Heartbeat timeouts as in production: a step must not time out because the machine
running many sequences at once is busy (that would be the harness's fault, not a device's)."""
_PATIENT_ROLLBACK = {
    "START_TO_CLOSE": "4s",
    "SCHEDULE_TO_CLOSE": "30s",
    "RETRY__MAXIMUM_ATTEMPTS": "0",
    **_QUICK,
}
_IMPATIENT_ROLLBACK = {
    "START_TO_CLOSE": "2s",
    "SCHEDULE_TO_CLOSE": "3s",
    "RETRY__MAXIMUM_ATTEMPTS": "2",
    **_QUICK,
}


def explorer_policy_env(setup: DeviceSetup) -> dict[str, str]:
    """Short step policies: a run of any family ends within seconds once nothing is at
    fault, and a fault costs a few seconds, not minutes (`config/defaults.toml` has the
    production values these override, strategy by strategy)."""
    rollback = _IMPATIENT_ROLLBACK if setup.impatient_rollback else _PATIENT_ROLLBACK
    env = {
        "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_POLL_INTERVAL": "300ms",
        "DEVPROV_POLICY__DEFAULTS__WAITS__DEVICE_WAIT": "6s",
        "DEVPROV_POLICY__DEFAULTS__WAITS__NETWORK_WAIT": "20s",
        "DEVPROV_POLICY__DEFAULTS__WAITS__PINNED_WORKER_TIMEOUT": "10s",
        # A step no edge worker takes (all of them being killed) fails over instead of
        # holding the run: two such failovers, then EDGE_WORKER_LOST, inside END_BOUND.
        "DEVPROV_POLICY__DEFAULTS__WAITS__SITE_WORKER_TIMEOUT": "8s",
        "DEVPROV_POLICY__DEFAULTS__WAITS__MAX_FAILOVERS": "2",
        **_step_env(
            "DEFAULTS",
            {
                "DETECT": {"START_TO_CLOSE": "3s", "RETRY__MAXIMUM_ATTEMPTS": "2", **_QUICK},
                "PRE_CHECK": {"START_TO_CLOSE": "3s", "RETRY__MAXIMUM_ATTEMPTS": "3", **_QUICK},
                "PROVISION": {"START_TO_CLOSE": "4s", "RETRY__MAXIMUM_ATTEMPTS": "4", **_QUICK},
                "CONFIRM": {
                    "START_TO_CLOSE": "4s",
                    "HEARTBEAT": HEARTBEAT,
                    "RETRY__MAXIMUM_ATTEMPTS": "1",
                    **_QUICK,
                },
                "ROLLBACK": rollback,
            },
        ),
        **_step_env(
            "STRATEGIES__HTTP_WIFI",
            {"CONFIRM": {"START_TO_CLOSE": "4s", "HEARTBEAT": HEARTBEAT}, "ROLLBACK": rollback},
        ),
        **_step_env(
            "STRATEGIES__WIFI_CLOUD",
            {
                "PROVISION": {
                    "START_TO_CLOSE": "4s",
                    "SCHEDULE_TO_CLOSE": "20s",
                    "RETRY__MAXIMUM_ATTEMPTS": "0",
                    **_QUICK,
                },
                "CONFIRM": {
                    "START_TO_CLOSE": "5s",
                    "HEARTBEAT": HEARTBEAT,
                    "RETRY__MAXIMUM_ATTEMPTS": "1",
                    **_QUICK,
                },
                "ROLLBACK": rollback,
            },
        ),
        **_step_env(
            "STRATEGIES__IMPROV_BLE",
            {
                "DETECT": {"START_TO_CLOSE": "3s"},
                "PRE_CHECK": {"START_TO_CLOSE": "4s"},
                "PROVISION": {"START_TO_CLOSE": "5s", "HEARTBEAT": HEARTBEAT},
                "CONFIRM": {"START_TO_CLOSE": "4s", "HEARTBEAT": HEARTBEAT},
                "ROLLBACK": rollback,
            },
        ),
        **_step_env(
            "STRATEGIES__ESP_PROV_BLE",
            {
                "DETECT": {"START_TO_CLOSE": "3s"},
                "PRE_CHECK": {"START_TO_CLOSE": "4s"},
                "PROVISION": {"START_TO_CLOSE": "4s"},
                "CONFIRM": {"START_TO_CLOSE": "4s", "HEARTBEAT": HEARTBEAT},
                "ROLLBACK": rollback,
            },
        ),
        **_step_env(
            "STRATEGIES__ZIGBEE",
            {
                "PRE_CHECK": {"START_TO_CLOSE": "4s"},
                "PROVISION": {
                    "START_TO_CLOSE": "5s",
                    "HEARTBEAT": HEARTBEAT,
                    "RETRY__MAXIMUM_ATTEMPTS": "3",
                    **_QUICK,
                },
                "CONFIRM": {"START_TO_CLOSE": "5s", "HEARTBEAT": HEARTBEAT},
                "ROLLBACK": {**rollback, "HEARTBEAT": HEARTBEAT},
            },
        ),
    }
    return env


def _now() -> float:
    return asyncio.get_running_loop().time()


# ---------------------------------------------------------------------- device sides


class DeviceSide(ABC):
    """The simulated device of a sequence: its knobs, and what it holds."""

    device_id: str

    @abstractmethod
    async def set_fault(self, fault: Fault, on: bool) -> None:
        """Switch one of the device's faults."""

    @abstractmethod
    async def clear_faults(self) -> None:
        """Every fault off; the device in range."""

    @abstractmethod
    async def act(self, kind: ActionKind) -> None:
        """A device action: button, power-on in pairing mode, leaving or entering range."""

    @abstractmethod
    async def help_as_person(self) -> None:
        """What a person standing by does for a run waiting on the device."""

    @abstractmethod
    def configured_problems(self, ssid: str | None) -> list[str]:
        """Why the device does not hold the network the run reports ([] if it does)."""

    @abstractmethod
    def restored_problems(self) -> list[str]:
        """Why the device is not as before the run ([] if it is)."""

    @abstractmethod
    def describe(self) -> str:
        """What the device holds, for a report."""


class WifiDeviceSide(DeviceSide):
    """A Wi-Fi device in set-up mode with a local HTTP RPC API (simulators.http_wifi)."""

    def __init__(self, device: SimulatedWifiDevice, networks: Mapping[str, str]) -> None:
        self.device = device
        self.device_id = device.device_id
        self._networks = networks

    def _set(self, **knobs: Any) -> None:
        self.device.faults = self.device.faults.model_copy(update=knobs)

    async def set_fault(self, fault: Fault, on: bool) -> None:
        knobs: dict[Fault, dict[str, Any]] = {
            Fault.WRONG_PASSPHRASE: {"wrong_passphrase": on},
            Fault.DROP_AFTER_APPLY: {"drop_after_apply": 1 if on else 0},
            Fault.SLOW_DEVICE: {"latency": 0.6 if on else 0.0},
            Fault.STALLED_DEVICE: {"latency": HTTP_DEVICE_TIMEOUT + 0.5 if on else 0.0},
            Fault.NEVER_JOINS: {"never_joins": on},
            Fault.BUSY: {"busy": 2 if on else 0, "busy_retry_after": 0.3},
            Fault.DEVICE_5XX: {"server_errors": 2 if on else 0},
        }
        if fault in knobs:
            self._set(**knobs[fault])

    async def clear_faults(self) -> None:
        self.device.faults = DeviceFaults()

    async def act(self, kind: ActionKind) -> None:
        if kind is ActionKind.DEVICE_DISAPPEARS:
            self._set(unreachable=True)
        elif kind is ActionKind.DEVICE_APPEARS:
            self._set(unreachable=False)

    async def help_as_person(self) -> None:
        self._set(unreachable=False)

    def configured_problems(self, ssid: str | None) -> list[str]:
        sta = self.device.sta
        if not sta.enable and self.device.sta1.enable:
            sta = self.device.sta1  # a migration rolled back: on its fallback station
        problems = []
        if not sta.enable:
            problems.append("its station is off")
        if sta.ssid != ssid:
            problems.append(f"it is configured for {sta.ssid!r}, the run reports {ssid!r}")
        elif ssid is not None and self._networks.get(ssid) != sta.passphrase:
            problems.append(f"it holds a passphrase that {ssid!r} refuses")
        return problems

    def restored_problems(self) -> list[str]:
        if self.device.in_setup_mode:
            return []
        sta = self.device.sta
        return [
            f"it is not in set-up mode: station {'on' if sta.enable else 'off'} "
            f"for {sta.ssid!r}, access point {'on' if self.device.ap_enabled else 'off'}"
        ]

    def describe(self) -> str:
        sta, counters = self.device.sta, self.device.counters
        return (
            f"wifi device {self.device_id}: set-up mode {self.device.in_setup_mode}, station "
            f"{'on' if sta.enable else 'off'} for {sta.ssid!r}; config writes "
            f"{counters.wifi_config_writes}, factory resets {counters.factory_resets}"
        )


class ImprovDeviceSide(DeviceSide):
    """An Improv Wi-Fi device on the virtual BLE link (simulators.improv_ble)."""

    def __init__(self, fleet: ImprovDeviceFleet, device: SimulatedImprovDevice) -> None:
        self.fleet = fleet
        self.device = device
        self.device_id = device.device_id
        self.in_range = True
        self._initial_faults = device.faults

    async def _set_faults(self, faults: ImprovDeviceFaults) -> None:
        if self.in_range:
            await self.fleet.set_faults(self.device_id, faults)
        else:
            self.device.set_faults(faults, self.fleet.now())

    async def set_fault(self, fault: Fault, on: bool) -> None:
        knobs: dict[Fault, dict[str, Any]] = {
            Fault.GATT_UNRESPONSIVE: {"gatt_unresponsive": on},
            Fault.DROP_LINK: {"drop_link_mid_provision": 1 if on else 0},
            Fault.NEVER_AUTHORIZES: {"never_authorizes": on},
            Fault.NEVER_REPORTS: {"never_reports": on},
        }
        if fault in knobs:
            await self._set_faults(self.device.faults.model_copy(update=knobs[fault]))

    async def clear_faults(self) -> None:
        await self._set_faults(self._initial_faults)
        await self._into_range()

    async def _into_range(self) -> None:
        if not self.in_range:
            await self.fleet.come_into_range(self.device_id)
            self.in_range = True

    async def act(self, kind: ActionKind) -> None:
        if kind is ActionKind.PRESS_BUTTON:
            if self.in_range:
                await self.fleet.press_button(self.device_id)
            else:
                self.device.press_button(self.fleet.now())
        elif kind is ActionKind.DEVICE_DISAPPEARS and self.in_range:
            await self.fleet.go_out_of_range(self.device_id)
            self.in_range = False
        elif kind is ActionKind.DEVICE_APPEARS:
            await self._into_range()

    async def help_as_person(self) -> None:
        await self._into_range()
        await self.fleet.press_button(self.device_id)

    def configured_problems(self, ssid: str | None) -> list[str]:
        wifi, problems = self.device.wifi, []
        if not wifi.joined:
            problems.append("it has not joined a network")
        if wifi.ssid != ssid:
            problems.append(f"it holds network {wifi.ssid!r}, the run reports {ssid!r}")
        if self.device.state is not ImprovState.PROVISIONED:
            problems.append(f"its Improv state is {self.device.state.name}")
        return problems

    def restored_problems(self) -> list[str]:
        wifi, problems = self.device.wifi, []
        if wifi.joined or wifi.ssid is not None:
            problems.append(f"it holds network {wifi.ssid!r} (joined: {wifi.joined})")
        if self.device.state not in (ImprovState.AUTHORIZATION_REQUIRED, ImprovState.AUTHORIZED):
            problems.append(f"its Improv state is {self.device.state.name}, not ready")
        return problems

    def describe(self) -> str:
        device, counters = self.device, self.device.counters
        return (
            f"improv device {self.device_id}: {device.state.name}, network "
            f"{device.wifi.ssid!r} joined {device.wifi.joined}; credentials received "
            f"{counters.credentials_received}, provisions {counters.provisions_succeeded}, "
            f"factory resets {counters.factory_resets}"
        )


class EspDeviceSide(DeviceSide):
    """An ESP32 in ESP-IDF provisioning mode on the virtual BLE link (simulators.esp_prov)."""

    def __init__(self, fleet: EspDeviceFleet, device: SimulatedEspDevice) -> None:
        self.fleet = fleet
        self.device = device
        self.device_id = device.device_id
        self.in_range = True

    async def set_fault(self, fault: Fault, on: bool) -> None:
        knobs: dict[Fault, str] = {
            Fault.WRONG_PASSPHRASE: "wifi_auth_error",
            Fault.ESP_NEVER_CONNECTS: "never_connects",
            Fault.ESP_NETWORK_NOT_FOUND: "network_not_found",
            Fault.ESP_REFUSES_SESSIONS: "refuse_sessions",
        }
        if fault in knobs:
            self.device.faults = dataclasses.replace(self.device.faults, **{knobs[fault]: on})

    async def clear_faults(self) -> None:
        self.device.faults = EspDeviceFaults()
        await self._into_range()

    async def _into_range(self) -> None:
        if not self.in_range:
            await self.fleet.come_into_range(self.device_id)
            self.in_range = True

    async def act(self, kind: ActionKind) -> None:
        if kind is ActionKind.DEVICE_DISAPPEARS and self.in_range:
            await self.fleet.go_out_of_range(self.device_id)
            self.in_range = False
        elif kind is ActionKind.DEVICE_APPEARS:
            await self._into_range()

    async def help_as_person(self) -> None:
        await self._into_range()

    def _now(self) -> SimulatedEspDevice:
        # The device settles a join whose delay has passed when it is next asked.
        self.device.tick(self.fleet.now())
        return self.device

    def configured_problems(self, ssid: str | None) -> list[str]:
        device, problems = self._now(), []
        if device.station is not Station.CONNECTED:
            problems.append(f"its station is {device.station.value}")
        if device.ssid != ssid:
            problems.append(f"it holds network {device.ssid!r}, the run reports {ssid!r}")
        return problems

    def restored_problems(self) -> list[str]:
        device, problems = self._now(), []
        if device.station is not Station.IDLE:
            problems.append(f"its station is {device.station.value}")
        if device.ssid is not None or device.pending_ssid is not None:
            problems.append(f"it holds network {device.ssid or device.pending_ssid!r}")
        return problems

    def describe(self) -> str:
        device, counters = self._now(), self.device.counters
        return (
            f"esp32 {self.device_id}: station {device.station.value} on {device.ssid!r}; "
            f"configs applied {counters.configs_applied}, resets {counters.resets}, "
            f"refused sessions {counters.session_auth_failures}"
        )


class ZigbeeDeviceSide(DeviceSide):
    """A Zigbee 3.0 plug joining gateway `gw1`'s simulated coordinator (simulators.zigbee)."""

    def __init__(self, world: SimulatedZigbeeWorld, plug: SimulatedZigbeeDevice) -> None:
        self.world = world
        self.plug = plug
        self.device_id = plug.device_id

    async def set_fault(self, fault: Fault, on: bool) -> None:
        knobs: dict[Fault, dict[str, Any]] = {
            Fault.ZB_NEVER_JOINS: {"never_joins": on},
            Fault.ZB_WRONG_INSTALL_CODE: {"wrong_install_code": on},
            Fault.ZB_INTERVIEW_FAILURES: {"interview_failures": 2 if on else 0},
            Fault.ZB_BIND_FAILURES: {"bind_failures": 2 if on else 0},
        }
        if fault in knobs:
            self.world.fleet.set_faults(self.device_id, knobs[fault])

    async def clear_faults(self) -> None:
        self.world.fleet.set_faults(
            self.device_id,
            {
                "never_joins": False,
                "wrong_install_code": False,
                "interview_failures": 0,
                "bind_failures": 0,
                "unresponsive": False,
            },
        )

    async def act(self, kind: ActionKind) -> None:
        fleet = self.world.fleet
        if kind is ActionKind.POWER_ON_PAIRING:
            fleet.start_pairing(self.device_id)
        elif kind is ActionKind.DEVICE_DISAPPEARS:
            fleet.set_faults(self.device_id, {"unresponsive": True})
            fleet.stop_pairing(self.device_id)
        elif kind is ActionKind.DEVICE_APPEARS:
            fleet.set_faults(self.device_id, {"unresponsive": False})

    async def help_as_person(self) -> None:
        self.world.fleet.start_pairing(self.device_id)

    def configured_problems(self, ssid: str | None) -> list[str]:
        stick = self.world.stick_for(GATEWAY)
        network, problems = self.plug.network, []
        if network is None:
            problems.append("it is on no network")
        elif network.coordinator_ieee != str(stick.ieee):
            problems.append(f"it is on coordinator {network.coordinator_ieee}, not {stick.ieee}")
        if not self.plug.reporting:
            problems.append("no attribute reporting is configured on it")
        return problems

    def restored_problems(self) -> list[str]:
        stick, now = self.world.stick_for(GATEWAY), _now()
        problems = []
        if self.plug.network is not None:
            problems.append(f"it is still on the network as 0x{self.plug.network.nwk:04X}")
        if stick.permit_open(now):
            problems.append("the coordinator's network is still open for joining")
        if stick.key_for(self.plug.ieee, now) is not None:
            problems.append("the coordinator still holds its install-code link key")
        return problems

    def describe(self) -> str:
        plug, counters = self.plug, self.plug.counters
        return (
            f"zigbee device {self.device_id}: network {plug.network}, pairing {plug.pairing}; "
            f"joins {counters.joins}, removals {counters.removals}, "
            f"reporting configs {counters.reporting_configs}"
        )


class CloudSide:
    """What the simulated vendor cloud holds for one device."""

    def __init__(self, cloud: SimulatedCloud, device_id: str) -> None:
        self.cloud = cloud
        self.device_id = device_id

    def set_fault(self, fault: Fault, on: bool) -> None:
        knobs: dict[Fault, dict[str, Any]] = {
            Fault.CLOUD_5XX: {"server_errors": 2 if on else 0},
            Fault.CLOUD_429: {"throttle": 2 if on else 0, "throttle_retry_after": 1},
            Fault.CLOUD_AFTER_COMMIT: {"server_errors_after_commit": 1 if on else 0},
            Fault.CLOUD_DROPS: {"drop_connections": 2 if on else 0},
            Fault.CLOUD_LATENCY: {"latency": 1.0 if on else 0.0},
        }
        faults = self.cloud.faults
        if fault is Fault.CLOUD_SILENT:
            silent = set(faults.silent_devices)
            (silent.add if on else silent.discard)(self.device_id)
            self.cloud.faults = faults.model_copy(update={"silent_devices": frozenset(silent)})
        elif fault in knobs:
            self.cloud.faults = faults.model_copy(update=knobs[fault])

    def clear_faults(self) -> None:
        silent = self.cloud.faults.silent_devices - {self.device_id}
        self.cloud.faults = CloudFaults(silent_devices=silent)

    def _held(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[str]]:
        state = self.cloud.registry.snapshot()
        devices: dict[str, Any] = state["devices"]  # type: ignore[assignment]
        credentials: dict[str, Any] = state["credentials"]  # type: ignore[assignment]
        active = [
            c
            for c in credentials.values()
            if c["device_id"] == self.device_id and c["status"] == "active"
        ]
        bound = {d["credential_id"] for d in devices.values()}
        orphaned = [c["credential_id"] for c in active if c["credential_id"] not in bound]
        return devices.get(self.device_id), active, orphaned

    def configured_problems(self) -> list[str]:
        record, active, orphaned = self._held()
        problems = []
        if record is None:
            problems.append("the cloud does not hold the device")
        elif record["credential_status"] != "active":
            problems.append("the cloud's record of the device has no active credential")
        if not active:
            problems.append("the cloud holds no active credential for it")
        elif len(active) > 1:
            problems.append(
                f"{EXTRA_CREDENTIALS}the cloud holds {len(active)} active credentials for it"
            )
        if orphaned:
            problems.append(f"{EXTRA_CREDENTIALS}credentials {orphaned} active without a device")
        return problems

    def restored_problems(self) -> list[str]:
        record, active, orphaned = self._held()
        problems = []
        if record is not None:
            problems.append("the cloud still holds the device's registration")
        if active:
            problems.append(f"the cloud holds {len(active)} active credentials for it")
        if orphaned:
            problems.append(f"credentials {orphaned} are active without their device")
        return problems

    def describe(self) -> str:
        record, active, _ = self._held()
        registrations = self.cloud.registry.registrations_per_device.get(self.device_id, 0)
        return (
            f"cloud: registered {record is not None}, active credentials {len(active)}, "
            f"registrations so far {registrations}"
        )


# ---------------------------------------------------------------------- the world


@dataclass
class World:
    """Everything one sequence acts on and checks."""

    family: Family
    temporal: Client
    api_url: str
    site: str
    device: DeviceSide
    cloud: CloudSide | None = None
    fleet_id: str | None = None
    start_extra: dict[str, Any] = field(default_factory=dict)
    """Request fields the device needs besides its descriptor (e.g. its install code)."""
    descriptor: dict[str, Any] = field(default_factory=dict)
    registry: DeviceRegistry | None = None
    """The registry the world's runs write and its API reads (None: not known here)."""

    @property
    def device_id(self) -> str:
        return self.device.device_id

    @property
    def workflow_id(self) -> str:
        return f"provision-{self.device_id}"

    @property
    def decommission_workflow_id(self) -> str:
        return f"decommission-{self.device_id}"

    def decommission_path(self, action: str = "") -> str:
        base = f"/api/v1/devices/{self.device_id}/decommission"
        return f"{base}/{action}" if action else base

    @property
    def fleet_workflow_id(self) -> str | None:
        return f"fleet-{self.fleet_id}" if self.fleet_id else None

    def run_path(self, action: str = "") -> str:
        base = f"/api/v1/devices/{self.device_id}/provision"
        return f"{base}/{action}" if action else base

    def fleet_path(self, action: str = "") -> str:
        base = f"/api/v1/fleets/{self.fleet_id}/provision"
        return f"{base}/{action}" if action else base

    def start_request(self, credentials: Credentials | None) -> tuple[str, dict[str, Any]]:
        """Path and body of the request that starts the sequence's run (or fleet)."""
        network = CREDENTIALS_BODIES[credentials] if credentials is not None else None
        if self.fleet_id is not None:
            template = {k: v for k, v in self.descriptor.items() if k != "device_id"}
            body: dict[str, Any] = {
                "template": template,
                "devices": [{"device_id": self.device_id}],
                "limits": {"max_in_flight": 1, "per_site": 1, "per_vendor": 1},
            }
            if network is not None:
                body["network"] = network
            return self.fleet_path(), body
        body = {"device": dict(self.descriptor), **self.start_extra}
        if network is not None:
            body["network"] = network
        return self.run_path(), body

    async def set_fault(self, fault: Fault, on: bool) -> None:
        if fault.value.startswith("cloud-"):
            if self.cloud is not None:
                self.cloud.set_fault(fault, on)
        else:
            await self.device.set_fault(fault, on)

    async def clear_faults(self) -> None:
        await self.device.clear_faults()
        await self.device.act(ActionKind.DEVICE_APPEARS)
        if self.cloud is not None:
            self.cloud.clear_faults()

    def configured_problems(self, ssid: str | None) -> list[str]:
        problems = self.device.configured_problems(ssid)
        if self.cloud is not None:
            problems += self.cloud.configured_problems()
        return problems

    def restored_problems(self) -> list[str]:
        problems = self.device.restored_problems()
        if self.cloud is not None:
            problems += self.cloud.restored_problems()
        return problems

    def describe(self) -> str:
        text = self.device.describe()
        if self.cloud is not None:
            text += "; " + self.cloud.describe()
        return text


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _wifi_descriptor(family: Family, device_id: str, site: str) -> dict[str, Any]:
    if family is Family.WIFI_CLOUD:
        return {
            "device_id": device_id,
            "type": "wifi-hub",
            "vendor": "acme",
            "capabilities": ["wifi", "http-rpc", "vendor-cloud"],
            "site": site,
        }
    return {
        "device_id": device_id,
        "type": "wifi-relay",
        "vendor": "shelly",
        "capabilities": ["wifi", "http-rpc"],
        "site": site,
    }


def _api_dependencies(
    temporal: Client, task_queue: str, setup: DeviceSetup, devices: DeviceRegistry
) -> ApiDependencies:
    return ApiDependencies(
        temporal=temporal,
        registry=build_registry(),
        policies=load_policy_book(environ=explorer_policy_env(setup)),
        settings=Settings(api=ApiSettings.defaults(sse_poll_interval_seconds=HUB_POLL_INTERVAL)),
        task_queue=task_queue,
        devices=devices,
    )


async def _serve_api(
    stack: contextlib.AsyncExitStack,
    temporal: Client,
    task_queue: str,
    setup: DeviceSetup,
    devices: DeviceRegistry,
) -> str:
    server = await start_api(
        _api_dependencies(temporal, task_queue, setup, devices),
        "127.0.0.1",
        0,
        shutdown_timeout=1.0,
    )
    stack.push_async_callback(server.close)
    return server.url


async def _open_registry(stack: contextlib.AsyncExitStack, tmp: Path) -> DeviceRegistry:
    """A registry of the world's own: a SQLite file, a connection per use."""
    path = tmp / _unique("registry") / "registry.db"
    registry = await open_registry(f"sqlite+aiosqlite:///{path}", pooled=False)
    stack.push_async_callback(registry.close)
    return registry


async def _open_wifi(
    stack: contextlib.AsyncExitStack, temporal: Client, sequence: Sequence, tmp: Path
) -> World:
    family = sequence.family
    registry = await _open_registry(stack, tmp)
    device = SimulatedWifiDevice(_unique("xw"), join_delay=0.3)
    simulator = await start_simulator(WifiDeviceFleet([device], networks=NETWORKS), "127.0.0.1", 0)
    stack.push_async_callback(simulator.close)
    # Loopback only: no TLS, so no certificate store to load for every sequence.
    http = await stack.enter_async_context(httpx.AsyncClient(trust_env=False, verify=False))
    site, task_queue = _unique("xs"), _unique("explorer")
    central_activities: list[object] = []
    cloud: CloudSide | None = None
    if family is Family.WIFI_CLOUD:
        running = await start_cloud_simulator(CloudConfig(auto_checkin_delay=0.3))
        stack.push_async_callback(running.close)
        vendor = WifiCloudAdapter(http, running.base_url, SecretStr(DEV_API_KEY), timeout=3.0)
        central_activities = WifiCloudActivities(vendor, SecretStr(DEV_CLAIM_TOKEN)).all()
        cloud = CloudSide(running.cloud, device.device_id)
    adapter = HttpWifiAdapter(
        http, f"{simulator.base_url}/devices/{{device_id}}", timeout=HTTP_DEVICE_TIMEOUT
    )
    await stack.enter_async_context(
        central_worker(
            temporal,
            task_queue=task_queue,
            activities=central_activities,
            registry=registry,
            graceful_shutdown_timeout=_SHUTDOWN,
        )
    )
    await stack.enter_async_context(
        edge_worker(
            temporal,
            site=site,
            activities=HttpWifiActivities(adapter).all(),
            graceful_shutdown_timeout=_SHUTDOWN,
        )
    )
    return World(
        family=family,
        temporal=temporal,
        api_url=await _serve_api(stack, temporal, task_queue, sequence.setup, registry),
        site=site,
        device=WifiDeviceSide(device, NETWORKS),
        cloud=cloud,
        fleet_id=_unique("xf") if family is Family.FLEET else None,
        descriptor=_wifi_descriptor(family, device.device_id, site),
        registry=registry,
    )


async def _open_improv(
    stack: contextlib.AsyncExitStack, temporal: Client, sequence: Sequence, tmp: Path
) -> World:
    device_id, site, task_queue = _unique("xi"), _unique("xs"), _unique("explorer")
    registry = await _open_registry(stack, tmp)
    radio = VirtualBleRadio()
    stack.push_async_callback(radio.close)
    spec = ImprovDeviceSpec(
        device_id=device_id,
        authorization_timeout=6.0,
        join_delay=0.2,
        faults=ImprovDeviceFaults(auto_authorize=not sequence.setup.has_button),
    )
    fleet = await stack.enter_async_context(ImprovDeviceFleet(radio, [spec], networks=NETWORKS))
    control = await start_improv_control(fleet)
    stack.push_async_callback(control.close)
    world = SimulatedWorld()
    share_virtual_ble_radio(world, radio)
    await _start_ble_workers(stack, temporal, tmp, "improv-ble", site, task_queue, registry, world)
    return World(
        family=Family.IMPROV_BLE,
        temporal=temporal,
        api_url=await _serve_api(stack, temporal, task_queue, sequence.setup, registry),
        registry=registry,
        site=site,
        device=ImprovDeviceSide(fleet, fleet[device_id]),
        descriptor={
            "device_id": device_id,
            "type": "wifi-light",
            "vendor": "esphome",
            "capabilities": ["ble", "improv", "wifi"],
            "site": site,
        },
    )


async def _start_ble_workers(
    stack: contextlib.AsyncExitStack,
    temporal: Client,
    tmp: Path,
    capability: str,
    site: str,
    task_queue: str,
    registry: DeviceRegistry,
    world: SimulatedWorld,
) -> None:
    """A central worker and the site's gateway with one BLE capability, on the virtual
    radio `world` shares (the BLE families' worlds)."""
    settings = Settings(
        edge=EdgeSettings.defaults(capabilities=(capability,)),
        ble=BleSettings.defaults(backend="virtual", scan_timeout_seconds=0.5),
        worker=WorkerSettings.defaults(
            data_dir=tmp / site, graceful_shutdown_seconds=_SHUTDOWN.total_seconds()
        ),
    )
    await stack.enter_async_context(
        central_worker(
            temporal,
            task_queue=task_queue,
            registry=registry,
            graceful_shutdown_timeout=_SHUTDOWN,
        )
    )
    await stack.enter_async_context(
        edge_node(temporal, settings, site=site, host=GATEWAY, world=world)
    )


async def _open_esp(
    stack: contextlib.AsyncExitStack, temporal: Client, sequence: Sequence, tmp: Path
) -> World:
    device_id, site, task_queue = _unique("xe"), _unique("xs"), _unique("explorer")
    registry = await _open_registry(stack, tmp)
    radio = VirtualBleRadio()
    stack.push_async_callback(radio.close)
    # Auto-stop off: its application keeps provisioning up, so a later run finds it.
    spec = EspDeviceSpec(
        device_id=device_id, secret=ESP_PASSWORD, join_delay=0.2, auto_stop_after=None
    )
    fleet = await stack.enter_async_context(EspDeviceFleet(radio, [spec], networks=NETWORKS))
    world = SimulatedWorld()
    share_virtual_esp_radio(world, radio)
    await _start_ble_workers(
        stack, temporal, tmp, "esp-prov-ble", site, task_queue, registry, world
    )
    return World(
        family=Family.ESP_PROV_BLE,
        temporal=temporal,
        api_url=await _serve_api(stack, temporal, task_queue, sequence.setup, registry),
        registry=registry,
        site=site,
        device=EspDeviceSide(fleet, fleet[device_id]),
        descriptor={
            "device_id": device_id,
            "type": "wifi-plug",
            "vendor": "espressif",
            "capabilities": ["ble", "esp-prov", "wifi"],
            "site": site,
        },
        start_extra={"secrets": {"esp_password": ESP_PASSWORD}},
    )


async def _open_zigbee(
    stack: contextlib.AsyncExitStack, temporal: Client, sequence: Sequence, tmp: Path
) -> World:
    device_id, site, task_queue = _unique("xz"), _unique("xs"), _unique("explorer")
    registry = await _open_registry(stack, tmp)
    suffix = uuid.uuid4().hex[:10]
    ieee = "00:12:" + ":".join(suffix[i : i + 2] for i in range(0, 10, 2)) + ":01"
    plug = smart_plug(device_id, ieee, join_delay=0.2, pairing=sequence.setup.pairing_at_start)
    zigbee = SimulatedZigbeeWorld(ZigbeeDeviceFleet([plug]))
    world = SimulatedWorld()
    share_simulated_zigbee_world(world, zigbee)
    settings = Settings(
        edge=EdgeSettings.defaults(capabilities=("zigbee",)),
        worker=WorkerSettings.defaults(
            data_dir=tmp / site, graceful_shutdown_seconds=_SHUTDOWN.total_seconds()
        ),
    )
    await stack.enter_async_context(
        central_worker(
            temporal,
            task_queue=task_queue,
            registry=registry,
            graceful_shutdown_timeout=_SHUTDOWN,
        )
    )
    await stack.enter_async_context(
        edge_node(temporal, settings, site=site, host=GATEWAY, world=world)
    )
    return World(
        family=Family.ZIGBEE,
        temporal=temporal,
        api_url=await _serve_api(stack, temporal, task_queue, sequence.setup, registry),
        registry=registry,
        site=site,
        device=ZigbeeDeviceSide(zigbee, plug),
        descriptor={
            "device_id": device_id,
            "type": "smart-plug",
            "vendor": "sonoff",
            "model": plug.model,
            "capabilities": ["zigbee"],
            "site": site,
            "transport_hints": {"ieee": plug.ieee},
        },
        start_extra={"secrets": {"install_code": format_install_code(plug.install_code)}},
    )


@contextlib.asynccontextmanager
async def open_world(sequence: Sequence, temporal: Client, tmp: Path) -> AsyncIterator[World]:
    """A fresh world for `sequence` on the session's dev server; everything it started
    is stopped on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        if sequence.family is Family.IMPROV_BLE:
            world = await _open_improv(stack, temporal, sequence, tmp)
        elif sequence.family is Family.ZIGBEE:
            world = await _open_zigbee(stack, temporal, sequence, tmp)
        elif sequence.family is Family.ESP_PROV_BLE:
            world = await _open_esp(stack, temporal, sequence, tmp)
        else:
            world = await _open_wifi(stack, temporal, sequence, tmp)
        yield world


@contextlib.asynccontextmanager
async def open_chaos_world(sequence: Sequence, stack: ChaosStack) -> AsyncIterator[World]:
    """A world on a shared `ChaosStack` (workers and dev server are child processes):
    a new simulated device on its simulator; its cloud is shared by every sequence."""
    assert stack.simulator is not None
    assert stack.cloud is not None
    assert stack.api is not None
    assert stack.client is not None
    family = sequence.family
    device = stack.simulator.fleet.add(SimulatedWifiDevice(_unique("xp"), join_delay=0.3))
    stack.devices.append(device)
    site = CHAOS_SITE
    stack.simulator.fleet.set_network(GUEST_SSID, GUEST_PASSPHRASE)
    yield World(
        family=family,
        temporal=stack.client,
        api_url=stack.api.url,
        site=site,
        device=WifiDeviceSide(device, stack.simulator.fleet.networks),
        cloud=CloudSide(stack.cloud.cloud, device.device_id)
        if family is Family.WIFI_CLOUD
        else None,
        descriptor=_wifi_descriptor(family, device.device_id, site),
    )
