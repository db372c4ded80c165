"""One BLE connection to an ESP-IDF provisioning device: its endpoints and its secure session.

ESP-IDF's BLE transport opens a protocomm session per connection: every connection
starts with the security handshake on `prov-session`, and everything sent on the other
endpoints (except `proto-ver`) is encrypted with that session's cipher.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import TypeVar

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from cryptography.exceptions import InvalidTag

from adapters.ble.errors import BleCharacteristicMissing, BleConnectionLost, ble_failure
from adapters.ble.stack import BleStack
from adapters.errors import AdapterError, DeviceProtocolError, DeviceUnreachable
from adapters.esp_prov import protocol
from adapters.esp_prov.errors import SecuritySchemeMismatch, SessionAuthFailed
from adapters.esp_prov.protocol import (
    REQUIRED_ENDPOINTS,
    USER_DESCRIPTION_UUID,
    Endpoint,
    VersionInfo,
    WifiStatus,
)
from adapters.esp_prov.security import (
    HandshakeError,
    PlainText,
    ProofRejected,
    SecurityHandshake,
    SessionCipher,
)

logger = logging.getLogger("devprov.adapters.esp_prov")

_T = TypeVar("_T")


@dataclass(frozen=True)
class EspProvTimeouts:
    """How long each part of a session may take, in seconds."""

    connect: float = 10.0
    gatt: float = 5.0


class EspProvSession:
    """A connected provisioning device; open it with `EspProvSession.connect`.

    Endpoints are found by the names in their characteristics' user descriptions, as
    ESP-IDF's tools find them; a device without those descriptions is reached at the
    characteristic UUIDs ESP-IDF derives from the service UUID.
    """

    def __init__(
        self,
        client: BleakClient,
        *,
        service_uuid: str,
        subject: str,
        details: dict[str, str],
    ) -> None:
        self._client = client
        self._service_uuid = service_uuid
        self.subject = subject
        self.details = details
        self._endpoints: dict[str, str] = {}
        self._cipher: SessionCipher | None = None
        self._link_lost = False

    # ------------------------------------------------------------------ opening

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        stack: BleStack,
        ble_device: BLEDevice,
        *,
        service_uuid: str,
        subject: str,
        details: dict[str, str],
        timeouts: EspProvTimeouts,
    ) -> AsyncIterator[EspProvSession]:
        """Connect and map the device's endpoints; no security yet."""
        session: EspProvSession | None = None

        def on_disconnect(_: BleakClient) -> None:
            if session is not None:
                session._link_lost = True

        client = stack.client(
            ble_device,
            disconnected_callback=on_disconnect,
            timeout=timeouts.connect,
            gatt_timeout=timeouts.gatt,
        )
        session = cls(client, service_uuid=service_uuid, subject=subject, details=details)
        try:
            await client.connect()
        except TimeoutError:
            raise DeviceUnreachable(
                f"{subject}: no BLE connection within {timeouts.connect:g} s", details=details
            ) from None
        except Exception as exc:
            failure = ble_failure(exc, operation="connection", connected=False, details=details)
            if isinstance(failure, BleConnectionLost):
                failure = DeviceUnreachable(
                    f"{subject}: BLE connection failed ({exc})", details=details
                )
            raise failure from exc
        try:
            await session._map_endpoints()
            yield session
        finally:
            with contextlib.suppress(Exception):
                await client.disconnect()

    async def _map_endpoints(self) -> None:
        service = self._client.services.get_service(self._service_uuid)
        if service is None:
            raise BleCharacteristicMissing(
                f"{self.subject} does not offer the provisioning service {self._service_uuid}",
                details={**self.details, "service": self._service_uuid},
            )
        for characteristic in service.characteristics:
            descriptor = characteristic.get_descriptor(USER_DESCRIPTION_UUID)
            if descriptor is None:
                continue
            name = await self._guard(
                f"read of the description of {characteristic.uuid}",
                self._client.read_gatt_descriptor(descriptor),
            )
            self._endpoints[bytes(name).decode("utf-8", errors="replace")] = characteristic.uuid
        for endpoint in Endpoint:
            if endpoint.value not in self._endpoints:
                derived = protocol.endpoint_uuid(self._service_uuid, endpoint.short_uuid)
                if service.get_characteristic(derived) is not None:
                    self._endpoints[endpoint.value] = derived
        missing = sorted(e.value for e in REQUIRED_ENDPOINTS if e.value not in self._endpoints)
        if missing:
            raise BleCharacteristicMissing(
                f"{self.subject} lacks the provisioning endpoints: {', '.join(missing)}",
                details={**self.details, "missing": ",".join(missing)},
            )

    @property
    def endpoints(self) -> frozenset[str]:
        """The endpoint names the device offers (`prov-session`, `prov-config`, ...)."""
        return frozenset(self._endpoints)

    # ------------------------------------------------------------------ GATT

    async def _guard(self, operation: str, request: Awaitable[_T]) -> _T:
        try:
            return await request
        except AdapterError:
            raise
        except Exception as exc:
            raise ble_failure(
                exc,
                operation=f"{self.subject}: {operation}",
                connected=self._client.is_connected and not self._link_lost,
                details=self.details,
            ) from exc

    async def exchange(self, endpoint: str, data: bytes) -> bytes:
        """One protocomm request: write it to the endpoint, read the response back."""
        uuid = self._endpoints.get(endpoint)
        if uuid is None:
            raise BleCharacteristicMissing(
                f"{self.subject} has no endpoint '{endpoint}'",
                details={**self.details, "missing": endpoint},
            )
        await self._guard(
            f"write to {endpoint}", self._client.write_gatt_char(uuid, data, response=True)
        )
        return bytes(await self._guard(f"read of {endpoint}", self._client.read_gatt_char(uuid)))

    # ------------------------------------------------------------------ security

    async def version(self) -> VersionInfo:
        """What `proto-ver` says (plain text, no session needed)."""
        answer = await self.exchange(Endpoint.VERSION, b"---")
        try:
            return VersionInfo.parse(answer)
        except ValueError as exc:
            raise DeviceProtocolError(f"{self.subject}: {exc}", details=self.details) from exc

    async def establish(self, handshake: SecurityHandshake | None) -> None:
        """Run the security handshake; None for security 0, whose requests go in plain
        text without one.

        Raises:
            SessionAuthFailed: The device refused our proof, or proved nothing.
            DeviceProtocolError: The handshake's messages are malformed.
        """
        if handshake is None:
            self._cipher = PlainText()
            return
        scheme = handshake.scheme.name.lower()
        try:
            response0 = await self.exchange(Endpoint.SESSION, handshake.command0())
            command1 = handshake.command1(response0)
            try:
                response1 = await self.exchange(Endpoint.SESSION, command1)
            except DeviceProtocolError as refused:
                # ESP-IDF answers a proof it does not accept with an ATT error.
                raise SessionAuthFailed(
                    f"{self.subject} refused the {scheme} proof: the security secret "
                    "(password or proof of possession) is wrong",
                    details={**self.details, **refused.details, "security": scheme},
                ) from None
            self._cipher = handshake.finish(response1)
        except ProofRejected as exc:
            raise SessionAuthFailed(
                f"{self.subject}: {exc}", details={**self.details, "security": scheme}
            ) from None
        except HandshakeError as exc:
            raise DeviceProtocolError(
                f"{self.subject}: {scheme} handshake: {exc}",
                details={**self.details, "security": scheme},
            ) from None
        logger.info("%s: %s session established", self.subject, scheme)

    def check_scheme(self, version: VersionInfo, handshake: SecurityHandshake | None) -> None:
        """Refuse to start a handshake the device would not understand."""
        expected = handshake.scheme if handshake is not None else protocol.SecurityScheme.SEC0
        if version.security is not None and version.security is not expected:
            raise SecuritySchemeMismatch(
                f"{self.subject} uses security {int(version.security)}, "
                f"not {int(expected)} as requested",
                details={
                    **self.details,
                    "device_security": str(int(version.security)),
                    "requested_security": str(int(expected)),
                },
            )

    async def call(self, endpoint: str, request: bytes) -> bytes:
        """An encrypted request on an established session; its decrypted answer."""
        if self._cipher is None:
            raise RuntimeError("no secure session established")
        answer = await self.exchange(endpoint, self._cipher.encrypt(request))
        try:
            return self._cipher.decrypt(answer)
        except InvalidTag:
            raise DeviceProtocolError(
                f"{self.subject}: the answer of {endpoint} does not decrypt with the session key",
                details=self.details,
            ) from None

    # ------------------------------------------------------------------ Wi-Fi

    def _protocol_error(self, exc: ValueError) -> DeviceProtocolError:
        details = dict(self.details)
        if isinstance(exc, protocol.StatusError):
            details["status"] = exc.status_name
        return DeviceProtocolError(f"{self.subject}: {exc}", details=details)

    async def wifi_status(self) -> WifiStatus:
        answer = await self.call(Endpoint.CONFIG, protocol.get_status_request())
        try:
            return protocol.parse_status_response(answer)
        except ValueError as exc:
            raise self._protocol_error(exc) from None

    async def set_wifi_config(self, ssid: str, passphrase: str) -> None:
        # Never log the request: it holds the passphrase.
        answer = await self.call(Endpoint.CONFIG, protocol.set_config_request(ssid, passphrase))
        try:
            protocol.parse_set_config_response(answer)
        except ValueError as exc:
            raise self._protocol_error(exc) from None

    async def apply_wifi_config(self) -> None:
        answer = await self.call(Endpoint.CONFIG, protocol.apply_config_request())
        try:
            protocol.parse_apply_config_response(answer)
        except ValueError as exc:
            raise self._protocol_error(exc) from None

    async def scan_networks(self) -> list[protocol.ScannedNetwork]:
        """The access points the device hears (`prov-scan`: a blocking scan, then its
        results a few at a time)."""
        try:
            protocol.parse_scan_start_response(
                await self.call(Endpoint.SCAN, protocol.scan_start_request())
            )
            finished, count = protocol.parse_scan_status_response(
                await self.call(Endpoint.SCAN, protocol.scan_status_request())
            )
            networks: list[protocol.ScannedNetwork] = []
            while finished and len(networks) < count:
                page = protocol.parse_scan_result_response(
                    await self.call(
                        Endpoint.SCAN,
                        protocol.scan_result_request(
                            len(networks),
                            min(protocol.SCAN_RESULTS_PER_REQUEST, count - len(networks)),
                        ),
                    )
                )
                if not page:
                    break
                networks.extend(page)
        except ValueError as exc:
            raise self._protocol_error(exc) from None
        return networks

    async def reset_wifi(self, *, connected: bool = False) -> None:
        """`prov-ctrl`: the device forgets the credentials it was given. ESP-IDF resets
        a station that is not connected (`CtrlReset`); a connected one is sent back to
        provisioning (`CtrlReprov`)."""
        request = protocol.ctrl_reprov_request() if connected else protocol.ctrl_reset_request()
        answer = await self.call(Endpoint.CTRL, request)
        try:
            protocol.parse_ctrl_response(answer)
        except ValueError as exc:
            raise self._protocol_error(exc) from None
