"""What every run must leave behind, whatever crashed: the device and cloud side effects."""

from __future__ import annotations

from typing import Any

from simulators.http_wifi.fleet import LAB_NETWORK_SSID
from tests.chaos.harness import ChaosStack

FULLY_UNDONE = "ROLLED_BACK"


def assert_side_effects_once_and_nothing_orphaned(
    stack: ChaosStack, states: dict[str, str], *, allowed: frozenset[str]
) -> None:
    """Each succeeded device was configured once and registered once with one credential;
    each rolled-back device is back in set-up mode and unknown to the cloud; no credential
    is left without its device."""
    unexpected = {d: s for d, s in states.items() if s not in allowed}
    assert not unexpected, (
        f"runs ended in unexpected states: {unexpected}\n{stack.explain(unexpected)}\n"
        f"{stack.diagnostics()}"
    )
    cloud: dict[str, Any] = stack.cloud_state()
    registered: dict[str, Any] = cloud["devices"]
    registrations: dict[str, int] = cloud["registrations_per_device"]
    credentials: list[dict[str, Any]] = list(cloud["credentials"].values())
    assert cloud["orphaned_credentials"] == [], "a credential outlived its device"
    for device_id, state in states.items():
        device = stack.device(device_id)
        active = [c for c in credentials if c["device_id"] == device_id and c["status"] == "active"]
        if state == "SUCCEEDED":
            assert device.sta.enable, device_id
            assert device.sta.ssid == LAB_NETWORK_SSID, device_id
            assert device.counters.wifi_config_writes == 1, (device_id, device.counters)
            assert device.counters.factory_resets == 0, (device_id, device.counters)
            assert registrations.get(device_id) == 1, (device_id, registrations.get(device_id))
            assert device_id in registered, device_id
            assert registered[device_id]["credential_status"] == "active", device_id
            issued = [c for c in credentials if c["device_id"] == device_id]
            assert len(issued) == 1, (device_id, issued)
        else:
            assert state == FULLY_UNDONE, (device_id, state)
            assert device.in_setup_mode, (device_id, "not back in set-up mode")
            assert device_id not in registered, (device_id, "still registered in the cloud")
            assert active == [], (device_id, "an active credential was left behind")
