"""The Shelly Gen2 RPC methods a simulated device answers, independent of HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from enum import IntEnum

from simulators.http_wifi.device import ClientIdentity, SimulatedWifiDevice, StaConfig
from simulators.http_wifi.fleet import WifiDeviceFleet

logger = logging.getLogger("devprov.simulators.http_wifi")

_FW_BUILD = "20240612-093215"


class RpcErrorCode(IntEnum):
    """Error codes of Shelly Gen2 RPC."""

    INVALID_ARGUMENT = -103
    NOT_FOUND = -105
    RESOURCE_UNAVAILABLE = -114
    UNAUTHORIZED = 401


class RpcError(Exception):
    """An RPC that the device answers with an error frame.

    Args:
        code: Shelly error code.
        message: Human message; never contains a passphrase.
        retry_after: Seconds to wait before retrying (simulator extension, with -114).
    """

    def __init__(self, code: RpcErrorCode, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def as_error_object(self) -> dict[str, object]:
        error: dict[str, object] = {"code": int(self.code), "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error


Params = Mapping[str, object]
Method = Callable[[SimulatedWifiDevice, WifiDeviceFleet, Params], object]


def _get_device_info(device: SimulatedWifiDevice, _: WifiDeviceFleet, __: Params) -> object:
    return {
        "name": None,
        "id": device.device_id,
        "mac": device.mac,
        "slot": 0,
        "model": device.model,
        "gen": 2,
        "fw_id": f"{_FW_BUILD}/{device.firmware}-gdevprov",
        "ver": device.firmware,
        "app": device.app,
        "auth_en": device.auth_enabled,
        "auth_domain": None,
    }


def _wifi_get_config(device: SimulatedWifiDevice, _: WifiDeviceFleet, __: Params) -> object:
    # Like the real firmware, the configuration read back never includes `pass`.
    return {
        "ap": {"ssid": device.ap_ssid, "is_open": True, "enable": device.ap_enabled},
        "sta": {
            "ssid": device.sta.ssid,
            "is_open": device.sta.is_open,
            "enable": device.sta.enable,
            "ipv4mode": "dhcp",
        },
        "sta1": {
            "ssid": device.sta1.ssid,
            "is_open": device.sta1.is_open,
            "enable": device.sta1.enable,
            "ipv4mode": "dhcp",
        },
    }


def _wifi_get_status(device: SimulatedWifiDevice, fleet: WifiDeviceFleet, _: Params) -> object:
    return device.wifi_status(fleet.now(), fleet.networks).as_rpc_result()


_STA_KEYS = frozenset({"ssid", "pass", "enable", "ipv4mode"})


def _invalid(message: str) -> RpcError:
    return RpcError(RpcErrorCode.INVALID_ARGUMENT, f"Invalid argument: {message}")


def _requested_sta(current: StaConfig, params: Params, section: str = "sta") -> StaConfig:
    """Merge the `config.<section>` of a SetConfig request into `current`, validating it.

    Error messages name the offending field but never echo the passphrase.
    """
    config = params.get("config")
    if not isinstance(config, dict):
        raise _invalid("'config' is required and must be an object")
    unknown_sections = sorted(set(config) - {"sta", "sta1"})
    if unknown_sections:
        raise _invalid(f"unsupported config sections: {', '.join(unknown_sections)}")
    if section == "sta" and "sta" not in config and "sta1" in config:
        return current
    sta = config.get(section)
    if not isinstance(sta, dict):
        raise _invalid(f"'config.{section}' is required and must be an object")
    unknown_keys = sorted(set(sta) - _STA_KEYS)
    if unknown_keys:
        raise _invalid(f"unsupported 'config.{section}' fields: {', '.join(unknown_keys)}")

    ssid = sta.get("ssid", current.ssid)
    if ssid is not None and not (isinstance(ssid, str) and 1 <= len(ssid.encode()) <= 32):
        raise _invalid("'config.sta.ssid' must be a string of 1 to 32 bytes")
    passphrase = sta.get("pass", current.passphrase)
    if passphrase is None:
        passphrase = ""
    if not isinstance(passphrase, str) or (passphrase and not 8 <= len(passphrase) <= 63):
        raise _invalid("'config.sta.pass' must be 8 to 63 characters, or empty for open")
    enable = sta.get("enable", current.enable)
    if not isinstance(enable, bool):
        raise _invalid("'config.sta.enable' must be a boolean")
    if sta.get("ipv4mode", "dhcp") != "dhcp":
        raise _invalid("'config.sta.ipv4mode' must be 'dhcp' on this simulator")
    if enable and not ssid:
        raise _invalid("'config.sta.ssid' is required to enable the station")
    return StaConfig(ssid=ssid, passphrase=passphrase, enable=enable)


def _requested_sta1(
    device: SimulatedWifiDevice, fleet: WifiDeviceFleet, params: Params
) -> StaConfig:
    """The fallback station a SetConfig request asks for (the current one if none).

    `config.sta1` takes the fields of `config.sta`, or the simulator's extension
    `{"keep_current": true}`: the station the device is on a network with now becomes
    its fallback, passphrase included, which never leaves the device (docs/families.md:
    a real Shelly has no such key; its `sta1` is written with the passphrase).
    """
    config = params.get("config")
    sta1 = config.get("sta1") if isinstance(config, dict) else None
    if sta1 is None:
        return device.sta1
    if isinstance(sta1, dict) and "keep_current" in sta1:
        if sta1 != {"keep_current": True}:
            raise _invalid("'config.sta1.keep_current' must be true and alone")
        current = device.current_station(fleet.now(), fleet.networks)
        if current is None:
            raise _invalid("'config.sta1.keep_current': the device is on no network")
        return current
    return _requested_sta(device.sta1, params, "sta1")


def _wifi_set_config(device: SimulatedWifiDevice, fleet: WifiDeviceFleet, params: Params) -> object:
    requested = _requested_sta(device.sta, params)
    fallback = _requested_sta1(device, fleet, params)
    changed = device.configure_sta(requested, fleet.now(), sta1=fallback, networks=fleet.networks)
    logger.info(
        "device %s: WiFi.SetConfig sta ssid=%r enable=%s sta1 ssid=%r enable=%s changed=%s",
        device.device_id,
        requested.ssid,
        requested.enable,
        fallback.ssid,
        fallback.enable,
        changed,
    )
    return {"restart_required": False}


def _factory_reset(device: SimulatedWifiDevice, _: WifiDeviceFleet, __: Params) -> object:
    device.factory_reset()
    logger.info("device %s: factory reset, back in set-up mode", device.device_id)
    return None


def _identity_of(device: SimulatedWifiDevice, method: str) -> ClientIdentity:
    if device.client_identity is None:
        # A device without a TLS client identity has no such method.
        raise RpcError(RpcErrorCode.NOT_FOUND, f"No handler for {method}")
    return device.client_identity


def _get_tls_client_csr(device: SimulatedWifiDevice, _: WifiDeviceFleet, __: Params) -> object:
    """devprov extension: the device makes its key on the first call, keeps it, and
    answers a CSR for it; the key never leaves the device."""
    identity = _identity_of(device, "Shelly.GetTLSClientCSR")
    logger.info("device %s: CSR for its TLS client key requested", device.device_id)
    return {"csr": identity.certificate_signing_request()}


def _put_tls_client_cert(device: SimulatedWifiDevice, _: WifiDeviceFleet, params: Params) -> object:
    identity = _identity_of(device, "Shelly.PutTLSClientCert")
    data = params.get("data")
    if not isinstance(data, str) or not data:
        raise _invalid("'data' must be the certificate, PEM")
    try:
        identity.receive_certificate(data)
    except ValueError as error:
        raise _invalid(f"'data': {error}") from None
    logger.info("device %s: TLS client certificate stored", device.device_id)
    return {"len": len(data)}


_METHODS: dict[str, tuple[str, Method]] = {
    name.lower(): (name, method)
    for name, method in [
        ("Shelly.GetDeviceInfo", _get_device_info),
        ("Shelly.FactoryReset", _factory_reset),
        ("WiFi.GetConfig", _wifi_get_config),
        ("WiFi.SetConfig", _wifi_set_config),
        ("WiFi.GetStatus", _wifi_get_status),
        ("Shelly.GetTLSClientCSR", _get_tls_client_csr),
        ("Shelly.PutTLSClientCert", _put_tls_client_cert),
    ]
}

METHOD_NAMES: tuple[str, ...] = tuple(name for name, _ in _METHODS.values())
"""Methods the simulator implements, as Shelly spells them."""

# Identity stays readable when authentication is on, so clients can learn that it is.
_UNAUTHENTICATED_METHODS = frozenset({"Shelly.GetDeviceInfo"})


def canonical_method_name(method: str) -> str:
    """Shelly matches method names case-insensitively; return the documented spelling."""
    entry = _METHODS.get(method.lower())
    return entry[0] if entry else method


def call_method(
    device: SimulatedWifiDevice, fleet: WifiDeviceFleet, method: str, params: Params
) -> object:
    """Run one RPC on `device` and return its result; raises `RpcError` for error frames."""
    name = canonical_method_name(method)
    device.record_rpc(name)
    if device.take_fault("busy"):
        logger.info("device %s: answering %s with 'busy' (fault)", device.device_id, name)
        raise RpcError(
            RpcErrorCode.RESOURCE_UNAVAILABLE,
            "Resource unavailable: device busy, try again later",
            retry_after=device.faults.busy_retry_after,
        )
    entry = _METHODS.get(method.lower())
    if entry is None:
        raise RpcError(RpcErrorCode.NOT_FOUND, f"No handler for {method}")
    if device.auth_enabled and name not in _UNAUTHENTICATED_METHODS:
        raise RpcError(RpcErrorCode.UNAUTHORIZED, _auth_challenge(device))
    return entry[1](device, fleet, params)


def _auth_challenge(device: SimulatedWifiDevice) -> str:
    # Real devices put a digest challenge in the message; the simulator does not implement
    # digest authentication, so the challenge only tells clients which scheme is expected.
    return (
        '{"auth_type": "digest", "nonce": 0, "nc": 1, '
        f'"realm": "{device.device_id}", "algorithm": "SHA-256"}}'
    )
