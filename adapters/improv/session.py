"""One BLE connection to an Improv device: reads, RPC commands and notifications.

Built on bleak and on py-improv-ble-client's `protocol` module (UUIDs, command
encoding, states, errors, result parsing). Its ready-made `ImprovBLEClient` is not
used because:

- it connects through bleak-retry-connector's `establish_connection` without a
  `backend=`, so it cannot reach a device through the gateway's configured backend
  (a bumble controller, virtual or on a USB dongle);
- it retries and reconnects by itself (three attempts, a 90 s idle disconnect timer),
  where devprov leaves retries to Temporal's policy of each step;
- it logs the Wi-Fi passphrase at debug level.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from improv_ble_client.errors import InvalidCommand
from improv_ble_client.protocol import (
    CHARACTERISTIC_UUID_CAPABILITIES,
    CHARACTERISTIC_UUID_ERROR,
    CHARACTERISTIC_UUID_RPC_COMMAND,
    CHARACTERISTIC_UUID_RPC_RESULT,
    CHARACTERISTIC_UUID_STATE,
    SERVICE_UUID,
    Capabilities,
    Command,
    DeviceInfoCmd,
    DeviceInfoRes,
    Error,
    IdentifyCmd,
    State,
    WiFiSettingsCmd,
    WiFiSettingsRes,
    parse_result,
)

from adapters.ble.errors import (
    BleCharacteristicMissing,
    BleConnectionLost,
    BleGattTimeout,
    ble_failure,
)
from adapters.ble.stack import BleStack
from adapters.errors import AdapterError, DeviceProtocolError, DeviceUnreachable
from adapters.improv.advertisement import ImprovAdvertisement
from adapters.improv.errors import (
    ImprovAuthorizationTimeout,
    ImprovNoResult,
    ImprovNotAuthorized,
    improv_error,
)

logger = logging.getLogger("devprov.adapters.improv")

_T = TypeVar("_T")
_E = TypeVar("_E", State, Error)

Heartbeat = Callable[[str], None]
"""Called now and then while a session waits on the device (activities heartbeat)."""

_REQUIRED_CHARACTERISTICS = {
    CHARACTERISTIC_UUID_CAPABILITIES: "capabilities",
    CHARACTERISTIC_UUID_STATE: "current state",
    CHARACTERISTIC_UUID_ERROR: "error state",
    CHARACTERISTIC_UUID_RPC_COMMAND: "RPC command",
    CHARACTERISTIC_UUID_RPC_RESULT: "RPC result",
}

_RESULT_GRACE = 1.0
"""Seconds to wait for the RPC result after the state says provisioned."""


@dataclass(frozen=True)
class _StateChanged:
    state: State


@dataclass(frozen=True)
class _ErrorReported:
    error: Error


@dataclass(frozen=True)
class _ResultReceived:
    result: Command


@dataclass(frozen=True)
class _LinkLost:
    pass


_Event = _StateChanged | _ErrorReported | _ResultReceived | _LinkLost


@dataclass(frozen=True)
class ImprovTimeouts:
    """How long each part of a session may take, in seconds."""

    connect: float = 10.0
    gatt: float = 5.0
    result: float = 30.0
    """From sending credentials to the device's result (it joins the network meanwhile)."""
    heartbeat_every: float = 1.0


class ImprovSession:
    """A connected Improv device; open it with `ImprovSession.connect`.

    Notifications of the state, error and RPC result characteristics are queued from
    the moment the session opens, so a command never misses an answer that arrives
    before its write is acknowledged.
    """

    def __init__(
        self,
        client: BleakClient,
        *,
        subject: str,
        details: dict[str, str],
        timeouts: ImprovTimeouts,
    ) -> None:
        self._client = client
        self.subject = subject
        self.details = details
        self._timeouts = timeouts
        self._events: asyncio.Queue[_Event] = asyncio.Queue()
        self._link_lost = False
        self._state_listeners: list[Callable[[State], None]] = []
        self._error_listeners: list[Callable[[Error], None]] = []

    # ------------------------------------------------------------------ opening

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        stack: BleStack,
        found: ImprovAdvertisement,
        *,
        subject: str,
        details: dict[str, str],
        timeouts: ImprovTimeouts,
    ) -> AsyncIterator[ImprovSession]:
        """Connect to `found`, check its Improv characteristics and subscribe to them."""
        session: ImprovSession | None = None

        def on_disconnect(_: BleakClient) -> None:
            if session is not None:
                session._on_link_lost()

        client = stack.client(
            found.ble_device,
            disconnected_callback=on_disconnect,
            timeout=timeouts.connect,
            gatt_timeout=timeouts.gatt,
        )
        session = cls(client, subject=subject, details=details, timeouts=timeouts)
        await session._open()
        try:
            yield session
        finally:
            await session.close()

    async def _open(self) -> None:
        try:
            await self._client.connect()
        except TimeoutError:
            raise DeviceUnreachable(
                f"{self.subject}: no BLE connection within {self._timeouts.connect:g} s",
                details=self.details,
            ) from None
        except Exception as exc:
            failure = ble_failure(
                exc, operation="connection", connected=False, details=self.details
            )
            if isinstance(failure, BleConnectionLost):
                failure = DeviceUnreachable(
                    f"{self.subject}: BLE connection failed ({exc})", details=self.details
                )
            raise failure from exc
        try:
            self._check_characteristics()
            for uuid, callback in (
                (CHARACTERISTIC_UUID_STATE, self._on_state),
                (CHARACTERISTIC_UUID_ERROR, self._on_error),
                (CHARACTERISTIC_UUID_RPC_RESULT, self._on_result),
            ):
                await self._guard(
                    f"subscription to the {_REQUIRED_CHARACTERISTICS[uuid]}",
                    self._client.start_notify(uuid, callback),
                )
        except BaseException:
            await self.close()
            raise

    def _check_characteristics(self) -> None:
        services = self._client.services
        if services.get_service(SERVICE_UUID) is None:
            raise BleCharacteristicMissing(
                f"{self.subject} does not offer the Improv service",
                details={**self.details, "service": SERVICE_UUID},
            )
        missing = [
            name
            for uuid, name in _REQUIRED_CHARACTERISTICS.items()
            if services.get_characteristic(uuid) is None
        ]
        if missing:
            raise BleCharacteristicMissing(
                f"{self.subject} lacks the Improv characteristics: {', '.join(missing)}",
                details={**self.details, "missing": ",".join(missing)},
            )

    async def close(self) -> None:
        """Disconnect; safe to call more than once."""
        with contextlib.suppress(Exception):
            await self._client.disconnect()

    async def __aenter__(self) -> ImprovSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ notifications

    def _on_link_lost(self) -> None:
        self._link_lost = True
        self._events.put_nowait(_LinkLost())

    def subscribe_state(self, listener: Callable[[State], None]) -> Callable[[], None]:
        """Call `listener` with every state the device notifies; returns the unsubscribe."""
        self._state_listeners.append(listener)
        return lambda: self._state_listeners.remove(listener)

    def subscribe_errors(self, listener: Callable[[Error], None]) -> Callable[[], None]:
        """Call `listener` with every error the device notifies; returns the unsubscribe."""
        self._error_listeners.append(listener)
        return lambda: self._error_listeners.remove(listener)

    def _on_state(self, _: BleakGATTCharacteristic, data: bytearray) -> None:
        state = self._parse_enum(State, data, "current state")
        if state is not None:
            self._events.put_nowait(_StateChanged(state))
            for listener in list(self._state_listeners):
                listener(state)

    def _on_error(self, _: BleakGATTCharacteristic, data: bytearray) -> None:
        error = self._parse_enum(Error, data, "error state")
        if error is not None:
            self._events.put_nowait(_ErrorReported(error))
            for listener in list(self._error_listeners):
                listener(error)

    def _on_result(self, _: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self._events.put_nowait(_ResultReceived(parse_result(bytes(data))))
        except InvalidCommand:
            logger.warning("%s sent a malformed RPC result (%d bytes)", self.subject, len(data))

    def _parse_enum(self, kind: type[_E], data: bytearray, what: str) -> _E | None:
        if len(data) == 1:
            with contextlib.suppress(ValueError):
                return kind(data[0])
        logger.warning("%s sent an invalid %s: %s", self.subject, what, bytes(data).hex())
        return None

    # ------------------------------------------------------------------ GATT helpers

    async def _guard(self, operation: str, request: Awaitable[_T]) -> _T:
        """Await a bleak call, turning its failures into adapter errors."""
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

    async def _read_byte(self, uuid: str, what: str) -> int:
        data = await self._guard(f"read of the {what}", self._client.read_gatt_char(uuid))
        if len(data) != 1:
            raise DeviceProtocolError(
                f"{self.subject}: the {what} is {len(data)} bytes long, not 1",
                details=self.details,
            )
        return int(data[0])

    async def read_capabilities(self) -> Capabilities:
        return Capabilities(
            await self._read_byte(CHARACTERISTIC_UUID_CAPABILITIES, "capabilities")
            & Capabilities.ALL
        )

    async def read_state(self) -> State:
        value = await self._read_byte(CHARACTERISTIC_UUID_STATE, "current state")
        try:
            return State(value)
        except ValueError:
            raise DeviceProtocolError(
                f"{self.subject}: unknown Improv state 0x{value:02x}", details=self.details
            ) from None

    async def read_error(self) -> Error:
        value = await self._read_byte(CHARACTERISTIC_UUID_ERROR, "error state")
        try:
            return Error(value)
        except ValueError:
            return Error.UNKNOWN_ERROR

    async def read_redirect_url(self) -> str | None:
        """The redirect URL of the last Wi-Fi settings result, if the device kept it."""
        data = await self._guard(
            "read of the RPC result", self._client.read_gatt_char(CHARACTERISTIC_UUID_RPC_RESULT)
        )
        if not data:
            return None
        try:
            result = parse_result(bytes(data))
        except InvalidCommand:
            return None
        return _redirect_url(result)

    async def _send(self, command: Command, what: str) -> None:
        # Never log the command itself: the Wi-Fi settings command prints the passphrase.
        await self._guard(
            f"write of the {what} command",
            self._client.write_gatt_char(CHARACTERISTIC_UUID_RPC_COMMAND, command.as_bytes(), True),
        )

    def _drain(self) -> None:
        while not self._events.empty():
            event = self._events.get_nowait()
            if isinstance(event, _LinkLost):
                self._events.put_nowait(event)
                return

    async def _next_event(self, deadline: float, heartbeat: Heartbeat | None, doing: str) -> _Event:
        """The next notification, or TimeoutError at `deadline` (loop time)."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            try:
                async with asyncio.timeout(min(remaining, self._timeouts.heartbeat_every)):
                    event = await self._events.get()
            except TimeoutError:
                if heartbeat is not None:
                    heartbeat(doing)
                continue
            if isinstance(event, _LinkLost):
                raise BleConnectionLost(
                    f"{self.subject}: the BLE link dropped while {doing}", details=self.details
                )
            return event

    # ------------------------------------------------------------------ commands

    async def identify(self) -> None:
        """Ask the device to make itself known (blink, beep); it sends no result."""
        self._drain()
        await self._send(IdentifyCmd(), "identify")

    async def device_info(self) -> DeviceInfoRes:
        """Firmware name and version, chip and device name (Improv 2.1)."""
        self._drain()
        await self._send(DeviceInfoCmd(), "device info")
        deadline = asyncio.get_running_loop().time() + self._timeouts.gatt
        try:
            while True:
                event = await self._next_event(deadline, None, "waiting for its device info")
                if isinstance(event, _ResultReceived) and isinstance(event.result, DeviceInfoRes):
                    return event.result
                if isinstance(event, _ErrorReported) and event.error is not Error.NO_ERROR:
                    raise improv_error(event.error, subject=self.subject, details=self.details)
        except TimeoutError:
            raise BleGattTimeout(
                f"{self.subject}: no device info within {self._timeouts.gatt:g} s",
                details=self.details,
            ) from None

    async def wait_for_authorization(
        self, timeout: float, heartbeat: Heartbeat | None = None
    ) -> State:
        """Wait until the device is authorized (its button pressed); return its state.

        Returns at once when the device does not require authorization (any more).

        Raises:
            ImprovAuthorizationTimeout: Still not authorized after `timeout` seconds.
        """
        self._drain()
        state = await self.read_state()
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while state is State.AUTHORIZATION_REQUIRED:
                event = await self._next_event(
                    deadline, heartbeat, "waiting for its button to be pressed"
                )
                if isinstance(event, _StateChanged):
                    state = event.state
        except TimeoutError:
            raise ImprovAuthorizationTimeout(
                f"{self.subject} was not authorized within {timeout:g} s: "
                "nobody pressed its button",
                details=self.details,
            ) from None
        return state

    async def send_wifi_settings(
        self,
        ssid: str,
        passphrase: str,
        heartbeat: Heartbeat | None = None,
        timeout: float | None = None,
    ) -> str | None:
        """Send the Wi-Fi credentials and wait for the outcome; return the redirect URL.

        Raises:
            CredentialsRejected: The device could not join with them (UNABLE_TO_CONNECT).
            ImprovNotAuthorized: The authorization expired before the credentials arrived.
            ImprovNoResult: The device took them but reported nothing within `timeout`
                seconds (default: the session's result timeout).
            BleConnectionLost: The link dropped; the device may still be joining.
        """
        self._drain()
        command = WiFiSettingsCmd(ssid.encode(), passphrase.encode())
        await self._send(command, "Wi-Fi settings")
        logger.info("%s: Wi-Fi credentials for %r sent", self.subject, ssid)
        return await self._await_provisioning(heartbeat, timeout)

    async def await_provisioning(
        self, heartbeat: Heartbeat | None = None, timeout: float | None = None
    ) -> str | None:
        """Wait for the outcome of credentials sent earlier (state PROVISIONING)."""
        return await self._await_provisioning(heartbeat, timeout)

    async def _await_provisioning(
        self, heartbeat: Heartbeat | None, timeout: float | None
    ) -> str | None:
        loop = asyncio.get_running_loop()
        timeout = self._timeouts.result if timeout is None else timeout
        deadline = loop.time() + timeout
        provisioned_at: float | None = None
        doing = "waiting for it to join the network"
        while True:
            try:
                event = await self._next_event(
                    deadline if provisioned_at is None else provisioned_at + _RESULT_GRACE,
                    heartbeat,
                    doing,
                )
            except TimeoutError:
                if provisioned_at is not None:
                    # Provisioned, but the result notification never came: read it.
                    return await self.read_redirect_url()
                raise ImprovNoResult(
                    f"{self.subject} took the credentials but did not report joining the "
                    f"network within {timeout:g} s",
                    details=self.details,
                ) from None
            match event:
                case _ResultReceived(result=WiFiSettingsRes() as result):
                    return _redirect_url(result)
                case _ErrorReported(error=error) if error is not Error.NO_ERROR:
                    raise improv_error(error, subject=self.subject, details=self.details)
                case _StateChanged(state=State.PROVISIONED):
                    provisioned_at = loop.time()
                case _StateChanged(state=State.AUTHORIZATION_REQUIRED):
                    raise ImprovNotAuthorized(
                        f"{self.subject}: its authorization expired before it took the "
                        "credentials; press its button again",
                        details=self.details,
                    )


def _redirect_url(result: Command) -> str | None:
    if not isinstance(result, WiFiSettingsRes) or not result.redirect_url:
        return None
    return result.redirect_url.decode(errors="replace")
