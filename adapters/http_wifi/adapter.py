"""`WifiSetupPort` over the local HTTP RPC API of Shelly Gen2 style devices."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

import httpx

from adapters.errors import CredentialsRejected, DeviceProtocolError, NetworkJoinPending, clip
from adapters.http_wifi.messages import (
    DeviceInfo,
    JoinStatus,
    TlsClientCertStored,
    TlsClientCsr,
    WifiConfig,
    WifiStatus,
    parse_result,
)
from adapters.http_wifi.rpc_client import (
    DEFAULT_TIMEOUT_SECONDS,
    ShellyRpcClient,
)
from adapters.redaction import public_url
from domain.device import ADDRESS_HINT, DeviceDescriptor
from domain.facts import DetectedDevice, NetworkJoin, WifiLink
from domain.requests import NetworkCredentials

logger = logging.getLogger("devprov.adapters.http_wifi")


"""`DeviceDescriptor.transport_hints` key holding the base URL of a device's API."""

_AUTH_FAILED = "auth_failed"
_NO_AP_FOUND = "no_ap_found"


def _flag(value: bool) -> str:
    return "true" if value else "false"


IDENTITY_FRESH_SECONDS = 30.0
"""How long what a device said it was (`identify`) stands in for asking it again."""
MAX_REMEMBERED_IDENTITIES = 4096


class HttpWifiAdapter:
    """Sets up Wi-Fi devices through `Shelly.*` and `WiFi.*` RPC methods
    (`WifiSetupPort`), and their TLS client identity (`ClientCertificatePort`).

    A device's API is at `transport_hints["address"]` when given, else at
    `address_template` formatted with the device id.

    Applying credentials always writes them (`WiFi.SetConfig` sets absolute values, so a
    repeated call is harmless): devices never return the passphrase, so reading the
    configuration back cannot tell whether the stored passphrase equals a new one for
    the same network, and skipping the write would keep a rejected passphrase forever.

    Args:
        http: Shared HTTP client; the composition root owns its lifecycle.
        address_template: e.g. `http://127.0.0.1:8090/devices/{device_id}`.
        timeout: Seconds allowed for each RPC.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        address_template: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        try:
            address_template.format(device_id="probe")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"address template may only use the {{device_id}} placeholder: {exc}"
            ) from None
        self._template = address_template
        self._rpc = ShellyRpcClient(http, timeout=timeout)
        self._identities: OrderedDict[tuple[str, str], tuple[float, DeviceInfo]] = OrderedDict()

    def address_of(self, device: DeviceDescriptor) -> str:
        """Base URL of `device`'s local API."""
        hinted = device.transport_hints.get(ADDRESS_HINT)
        if hinted:
            return hinted
        return self._template.format(device_id=device.device_id)

    def _details(self, device: DeviceDescriptor, method: str) -> dict[str, str]:
        return {
            "device_id": device.device_id,
            "method": method,
            "address": public_url(self.address_of(device)),
        }

    async def _call(
        self,
        device: DeviceDescriptor,
        method: str,
        params: dict[str, object] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> object:
        return await self._rpc.call(
            self.address_of(device),
            method,
            params,
            device_id=device.device_id,
            secrets=secrets,
        )

    async def _device_info(self, device: DeviceDescriptor) -> DeviceInfo:
        method = "Shelly.GetDeviceInfo"
        result = await self._call(device, method)
        return parse_result(
            DeviceInfo, result, method=method, details=self._details(device, method)
        )

    async def _wifi_config(self, device: DeviceDescriptor) -> WifiConfig:
        method = "WiFi.GetConfig"
        result = await self._call(device, method)
        return parse_result(
            WifiConfig, result, method=method, details=self._details(device, method)
        )

    async def _wifi_status(self, device: DeviceDescriptor) -> WifiStatus:
        method = "WiFi.GetStatus"
        result = await self._call(device, method)
        return parse_result(
            WifiStatus, result, method=method, details=self._details(device, method)
        )

    @staticmethod
    def _identity(info: DeviceInfo, **attributes: str) -> DetectedDevice:
        return DetectedDevice(
            device_id=info.id,
            model=info.model,
            firmware=info.ver,
            attributes={
                "auth_enabled": _flag(info.auth_en),
                "mac": info.mac,
                "gen": str(info.gen),
                "app": info.app,
                "fw_id": info.fw_id,
                **attributes,
            },
        )

    async def identify(self, device: DeviceDescriptor) -> DetectedDevice:
        """Read who answers at the device's address (`Shelly.GetDeviceInfo`)."""
        info = await self._device_info(device)
        self._remember(device, info)
        return self._identity(info)

    def _remember(self, device: DeviceDescriptor, info: DeviceInfo) -> None:
        key = (device.device_id, self.address_of(device))
        self._identities[key] = (time.monotonic(), info)
        self._identities.move_to_end(key)
        while len(self._identities) > MAX_REMEMBERED_IDENTITIES:
            self._identities.popitem(last=False)

    def _recent_identity(self, device: DeviceDescriptor) -> DeviceInfo | None:
        """What the device said it was when `identify` asked it moments ago (the run's
        detect step, on this same gateway), so that the pre-check does not ask again."""
        remembered = self._identities.pop((device.device_id, self.address_of(device)), None)
        if remembered is None or time.monotonic() - remembered[0] > IDENTITY_FRESH_SECONDS:
            return None
        return remembered[1]

    async def read_state(self, device: DeviceDescriptor) -> DetectedDevice:
        """Identity plus the station configuration (`WiFi.GetConfig`).

        The identity is the one `identify` read moments ago on this gateway (the run's
        detect step), else `Shelly.GetDeviceInfo` again. With authentication enabled only
        the identity is readable: the result says so in
        `attributes["wifi_config_readable"]` instead of failing, so the caller's rules can
        explain why the device is not in set-up mode.
        """
        info = self._recent_identity(device) or await self._device_info(device)
        if info.auth_en:
            return self._identity(info, wifi_config_readable="false")
        config = await self._wifi_config(device)
        # After a migration rolled back, the device is on its fallback station (`sta1`).
        station = next(
            (sta for sta in (config.sta, config.sta1) if sta and sta.enable and sta.ssid),
            config.sta,
        )
        provisioned = station.enable and bool(station.ssid)
        attributes = {
            "wifi_config_readable": "true",
            "ap_enabled": _flag(config.ap.enable if config.ap else False),
        }
        identity = self._identity(info, **attributes)
        return identity.model_copy(
            update={
                "provisioned": provisioned,
                "network_ssid": station.ssid if provisioned else None,
            }
        )

    async def apply_network(self, device: DeviceDescriptor, network: NetworkCredentials) -> None:
        """Store the station configuration and enable it (`WiFi.SetConfig`)."""
        passphrase = network.passphrase.get_secret_value()
        await self._call(
            device,
            "WiFi.SetConfig",
            {"config": {"sta": {"ssid": network.ssid, "pass": passphrase, "enable": True}}},
            secrets=(passphrase,),
        )
        logger.info("device %s: Wi-Fi credentials for %r applied", device.device_id, network.ssid)

    async def move_network(self, device: DeviceDescriptor, network: NetworkCredentials) -> None:
        """Write `network` as the station configuration and keep the network the device is
        on now as its fallback (`sta1`), so that it comes back there by itself if it does
        not join `network` (`WiFi.SetConfig`; `sta1.keep_current` is the simulated
        firmware's: a real Shelly's `sta1` is written with its passphrase, docs/families.md).
        """
        passphrase = network.passphrase.get_secret_value()
        await self._call(
            device,
            "WiFi.SetConfig",
            {
                "config": {
                    "sta": {"ssid": network.ssid, "pass": passphrase, "enable": True},
                    "sta1": {"keep_current": True},
                }
            },
            secrets=(passphrase,),
        )
        logger.info(
            "device %s: moving to %r, its current network kept as fallback",
            device.device_id,
            network.ssid,
        )

    async def wifi_link(self, device: DeviceDescriptor) -> WifiLink:
        """Which network the device is on and what its station slots hold."""
        config = await self._wifi_config(device)
        status = await self._wifi_status(device)
        joined = status.status is JoinStatus.GOT_IP
        fallback = config.sta1
        return WifiLink(
            ssid=status.ssid if joined else None,
            address=status.sta_ip if joined else None,
            station_ssid=config.sta.ssid,
            station_enabled=config.sta.enable,
            fallback_ssid=fallback.ssid if fallback else None,
            fallback_enabled=fallback.enable if fallback else False,
        )

    async def disable_station(self, device: DeviceDescriptor) -> None:
        """Switch the station configuration off (`WiFi.SetConfig`): the device stays on,
        or goes to, its fallback station."""
        await self._call(device, "WiFi.SetConfig", {"config": {"sta": {"enable": False}}})
        logger.info("device %s: station switched off, on its fallback", device.device_id)

    async def network_status(self, device: DeviceDescriptor, ssid: str) -> NetworkJoin:
        """Proof that the device joined `ssid` (`WiFi.GetStatus`).

        Raises:
            NetworkJoinPending: Still joining, joined another network, or the network is
                not in range (`details["sta_error"]` says which).
            CredentialsRejected: The network refused the passphrase.
        """
        method = "WiFi.GetStatus"
        status = await self._wifi_status(device)
        details = {**self._details(device, method), "ssid": ssid, "status": status.status.value}
        subject = f"device '{device.device_id}'"
        if status.status is JoinStatus.GOT_IP and status.ssid == ssid:
            if not status.sta_ip:
                raise DeviceProtocolError(f"{subject}: joined without an address", details=details)
            return NetworkJoin(ssid=ssid, address=status.sta_ip, signal_dbm=status.rssi)
        if status.status is JoinStatus.GOT_IP:
            current = clip(status.ssid or "", 64)
            raise NetworkJoinPending(
                f"{subject} is on network '{current}', not '{ssid}'",
                details={**details, "current_ssid": current},
            )
        if status.status is JoinStatus.CONNECTING:
            raise NetworkJoinPending(f"{subject} is still joining '{ssid}'", details=details)
        reason = clip(status.sta_error or "", 64)
        # A rejection of some other network's credentials says nothing about `ssid`.
        if reason == _AUTH_FAILED and status.ssid in (None, ssid):
            raise CredentialsRejected(
                f"network '{ssid}' refused the passphrase given to {subject}",
                details={**details, "sta_error": reason},
            )
        if reason == _NO_AP_FOUND:
            message = f"{subject} does not find network '{ssid}'"
        elif reason:
            message = f"{subject} is disconnected from '{ssid}' ({reason})"
        else:
            message = f"{subject} is not connected to '{ssid}'"
        raise NetworkJoinPending(message, details={**details, "sta_error": reason})

    async def reset(self, device: DeviceDescriptor) -> None:
        """Factory-reset the device back to set-up mode (`Shelly.FactoryReset`)."""
        await self._call(device, "Shelly.FactoryReset")
        logger.info("device %s: factory reset requested", device.device_id)

    async def certificate_signing_request(self, device: DeviceDescriptor) -> str:
        """The device's CSR for its own TLS client key (`Shelly.GetTLSClientCSR`)."""
        method = "Shelly.GetTLSClientCSR"
        result = await self._call(device, method)
        csr = parse_result(
            TlsClientCsr, result, method=method, details=self._details(device, method)
        )
        return csr.csr

    async def install_client_certificate(
        self, device: DeviceDescriptor, certificate_pem: str
    ) -> None:
        """Store the device's TLS client certificate (`Shelly.PutTLSClientCert`); storing
        the same certificate again changes nothing."""
        method = "Shelly.PutTLSClientCert"
        result = await self._call(device, method, {"data": certificate_pem})
        parse_result(
            TlsClientCertStored, result, method=method, details=self._details(device, method)
        )
        logger.info("device %s: TLS client certificate stored", device.device_id)
