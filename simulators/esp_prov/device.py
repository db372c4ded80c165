"""A simulated ESP32 running ESP-IDF's Wi-Fi provisioning manager: the protocol, no radio.

Written from ESP-IDF's protocol definitions (the `.proto` files) and its description
of protocomm and the security schemes. One protocomm session per BLE connection; the
handshake on `prov-session`, plain text on `proto-ver`, every other endpoint encrypted
with the session's cipher. Time is passed in, so the state machine is tested without
waiting.

Faults: `wifi_auth_error` (the network refuses the passphrase whatever it is),
`network_not_found` (no access point with the SSID answers), `never_connects` (the
station stays connecting), `refuse_sessions` (every handshake fails, like a device
whose secret was changed). A device stops provisioning `auto_stop_after` seconds after
it joined (ESP-IDF's default: 30 s): it stops advertising and drops its links.
"""

from __future__ import annotations

import dataclasses
import hmac
import os
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.esp_prov.proto import (
    constants_pb2,
    sec0_pb2,
    sec1_pb2,
    sec2_pb2,
    session_pb2,
    wifi_config_pb2,
    wifi_constants_pb2,
    wifi_ctrl_pb2,
    wifi_scan_pb2,
)
from adapters.esp_prov.protocol import (
    DEFAULT_SERVICE_UUID,
    Endpoint,
    SecurityScheme,
    VersionInfo,
)
from adapters.esp_prov.security import (
    GCM_NONCE_BYTES,
    SRP_PROOF_BYTES,
    SRP_PUBLIC_KEY_BYTES,
    CtrStream,
    GcmCipher,
    PlainText,
    SessionCipher,
    sec1_key,
)
from adapters.esp_prov.srp6a import SrpError, SrpVerifier, new_salt_and_verifier

PROVISIONING_VERSION = "v1.1"
SECURITY_PATCH = 1
DEFAULT_USERNAME = "wifiprov"


class RequestRefused(Exception):
    """The device answers the write with an ATT error (ESP-IDF: the handler failed)."""


@dataclass
class EspDeviceFaults:
    """Fault knobs; see the module's docstring."""

    wifi_auth_error: bool = False
    network_not_found: bool = False
    never_connects: bool = False
    refuse_sessions: bool = False


@dataclass(frozen=True)
class EspDeviceSpec:
    """One simulated device.

    Attributes:
        device_id: Also its advertised name unless `local_name` is given.
        security: SEC2 (`username` + `secret` as the SRP password), SEC1 (`secret` as
            the proof of possession, empty: `no_pop`) or SEC0.
        join_delay: Seconds from applying a configuration to its outcome.
        capabilities: Besides what the security implies (`wifi_scan` by default).
    """

    device_id: str
    security: SecurityScheme = SecurityScheme.SEC2
    secret: str = field(default="abcd1234", repr=False)
    username: str = DEFAULT_USERNAME
    local_name: str | None = None
    address: str | None = None
    service_uuid: str = DEFAULT_SERVICE_UUID
    join_delay: float = 0.2
    auto_stop_after: float | None = 30.0
    """Seconds from joining to the end of provisioning (BLE service stopped), as ESP-IDF's
    provisioning manager does by default (CONFIG_WIFI_PROV_AUTOSTOP_TIMEOUT, 30 s);
    None: the application disabled auto-stop."""
    capabilities: tuple[str, ...] = ("wifi_scan",)
    missing_endpoints: frozenset[str] = frozenset()
    """Endpoints its firmware leaves out (e.g. `prov-ctrl`: ESP-IDF before 5.1)."""
    faults: EspDeviceFaults = field(default_factory=EspDeviceFaults)


class Station(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"


@dataclass
class EspDeviceCounters:
    connections: int = 0
    sessions_established: int = 0
    session_auth_failures: int = 0
    configs_received: int = 0
    configs_applied: int = 0
    status_requests: int = 0
    resets: int = 0
    scans: int = 0
    undecryptable_requests: int = 0


@dataclass
class _Session:
    """One connection's protocomm session."""

    step: int = 0
    cipher: SessionCipher | None = None
    srp: SrpVerifier | None = None
    sec1_private: X25519PrivateKey | None = None
    sec1_client_public: bytes = b""
    sec1_stream: CtrStream | None = None


def _raw(public_key: X25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class SimulatedEspDevice:
    """The device side of unified provisioning, over any transport that delivers
    (connection, endpoint, request) and takes back a response.

    Args:
        spec: What the device is and how it fails.
        host_number: Its last IPv4 octet once joined (10.77.0.<n>).
    """

    def __init__(self, spec: EspDeviceSpec, *, host_number: int = 10) -> None:
        self.spec = spec
        self.faults = dataclasses.replace(spec.faults)
        self.counters = EspDeviceCounters()
        self.host_number = host_number
        # A device keeps a salt and verifier, never the password itself.
        self._salt, self._verifier = new_salt_and_verifier(
            spec.username.encode(), spec.secret.encode()
        )
        self._sessions: dict[int, _Session] = {}
        self.pending_ssid: str | None = None
        self._pending_passphrase = ""
        self.station = Station.IDLE
        self.ssid: str | None = None
        self._passphrase = ""
        self._join_at: float | None = None
        self.joined_at: float | None = None
        self.fail_reason: wifi_constants_pb2.WifiConnectFailedReason.ValueType | None = None
        self.networks: dict[str, str] = {}
        """The Wi-Fi networks in range (ssid → passphrase); the fleet sets them."""

    @property
    def device_id(self) -> str:
        return self.spec.device_id

    @property
    def local_name(self) -> str:
        return self.spec.local_name or self.spec.device_id

    @property
    def version(self) -> VersionInfo:
        capabilities = list(self.spec.capabilities)
        if self.spec.security is SecurityScheme.SEC0:
            capabilities.insert(0, "no_sec")
        elif self.spec.security is SecurityScheme.SEC1 and not self.spec.secret:
            capabilities.insert(0, "no_pop")
        return VersionInfo(
            version=PROVISIONING_VERSION,
            security=self.spec.security,
            security_patch=SECURITY_PATCH if self.spec.security is SecurityScheme.SEC2 else 0,
            capabilities=tuple(capabilities),
        )

    @property
    def ip_address(self) -> str | None:
        return f"10.77.0.{self.host_number}" if self.station is Station.CONNECTED else None

    # ------------------------------------------------------------------ connections

    def connected(self, connection: int) -> None:
        """A central connected: a new protocomm session, no security yet."""
        self.counters.connections += 1
        self._sessions[connection] = self._new_session()

    def _new_session(self) -> _Session:
        # Security 0 encrypts nothing: protocomm passes requests through from the start.
        if self.spec.security is SecurityScheme.SEC0:
            return _Session(cipher=PlainText())
        return _Session()

    def disconnected(self, connection: int) -> None:
        self._sessions.pop(connection, None)

    def handle(self, connection: int, endpoint: str, request: bytes, now: float) -> bytes:
        """One request on an endpoint; its response.

        Raises:
            RequestRefused: The device answers with an ATT error.
        """
        self.tick(now)
        session = self._sessions.get(connection)
        if session is None:
            session = self._sessions[connection] = self._new_session()
        if endpoint == Endpoint.VERSION:
            return self.version.to_json()
        if endpoint == Endpoint.SESSION:
            return self._handshake(session, request)
        if session.cipher is None:
            raise RequestRefused(f"{endpoint} before a secure session")
        try:
            plain = session.cipher.decrypt(request)
        except InvalidTag:
            self.counters.undecryptable_requests += 1
            raise RequestRefused(f"{endpoint}: the request does not decrypt") from None
        match endpoint:
            case Endpoint.CONFIG:
                answer = self._config(plain, now)
            case Endpoint.CTRL:
                answer = self._ctrl(plain)
            case Endpoint.SCAN:
                answer = self._scan(plain)
            case _:
                raise RequestRefused(f"no endpoint {endpoint}")
        return session.cipher.encrypt(answer)

    # ------------------------------------------------------------------ security

    def _handshake(self, session: _Session, request: bytes) -> bytes:
        message = session_pb2.SessionData()
        try:
            message.ParseFromString(request)
        except Exception:
            raise RequestRefused("not a SessionData message") from None
        if message.sec_ver != int(self.spec.security):
            raise RequestRefused("another security scheme")
        match self.spec.security:
            case SecurityScheme.SEC2:
                return self._sec2(session, message.sec2).SerializeToString()
            case SecurityScheme.SEC1:
                return self._sec1(session, message.sec1).SerializeToString()
        session.cipher = PlainText()
        answer = session_pb2.SessionData(sec_ver=session_pb2.SecScheme0)
        answer.sec0.msg = sec0_pb2.S0_Session_Response
        answer.sec0.sr.status = constants_pb2.Success
        return answer.SerializeToString()

    def _auth_failed(self, session: _Session, why: str) -> RequestRefused:
        self.counters.session_auth_failures += 1
        session.step = 0
        session.cipher = None
        return RequestRefused(why)

    def _sec2(self, session: _Session, payload: sec2_pb2.Sec2Payload) -> session_pb2.SessionData:
        answer = session_pb2.SessionData(sec_ver=session_pb2.SecScheme2)
        if payload.msg == sec2_pb2.S2Session_Command0:
            command0 = payload.sc0
            if len(command0.client_pubkey) != SRP_PUBLIC_KEY_BYTES or not (
                command0.client_username
            ):
                raise RequestRefused("invalid security parameters")
            # A new command 0 restarts the session, as ESP-IDF does.
            session.cipher = None
            srp = SrpVerifier(self._salt, self._verifier)
            try:
                srp.accept(command0.client_username, command0.client_pubkey)
            except SrpError:
                raise self._auth_failed(session, "unusable client public key") from None
            session.srp, session.step = srp, 1
            answer.sec2.msg = sec2_pb2.S2Session_Response0
            answer.sec2.sr0.status = constants_pb2.Success
            answer.sec2.sr0.device_pubkey = srp.public_key
            answer.sec2.sr0.device_salt = self._salt
            return answer
        if payload.msg == sec2_pb2.S2Session_Command1:
            if session.step != 1 or session.srp is None:
                raise RequestRefused("command 1 out of order")
            if len(payload.sc1.client_proof) != SRP_PROOF_BYTES or self.faults.refuse_sessions:
                raise self._auth_failed(session, "client proof refused")
            try:
                device_proof, key = session.srp.verify_client(payload.sc1.client_proof)
            except SrpError:
                raise self._auth_failed(session, "client proof does not match") from None
            nonce = os.urandom(8) + (1).to_bytes(4, "big")
            assert len(nonce) == GCM_NONCE_BYTES
            session.cipher = GcmCipher(key[:32], nonce, counting=SECURITY_PATCH >= 1)
            session.step = 2
            self.counters.sessions_established += 1
            answer.sec2.msg = sec2_pb2.S2Session_Response1
            answer.sec2.sr1.status = constants_pb2.Success
            answer.sec2.sr1.device_proof = device_proof
            answer.sec2.sr1.device_nonce = nonce
            return answer
        raise RequestRefused("unknown security 2 message")

    def _sec1(self, session: _Session, payload: sec1_pb2.Sec1Payload) -> session_pb2.SessionData:
        answer = session_pb2.SessionData(sec_ver=session_pb2.SecScheme1)
        if payload.msg == sec1_pb2.Session_Command0:
            if len(payload.sc0.client_pubkey) != 32:
                raise RequestRefused("invalid client public key")
            private = X25519PrivateKey.generate()
            shared = private.exchange(X25519PublicKey.from_public_bytes(payload.sc0.client_pubkey))
            device_random = os.urandom(16)
            session.sec1_private = private
            session.sec1_client_public = payload.sc0.client_pubkey
            session.sec1_stream = CtrStream(sec1_key(shared, self.spec.secret), device_random)
            session.cipher, session.step = None, 1
            answer.sec1.msg = sec1_pb2.Session_Response0
            answer.sec1.sr0.status = constants_pb2.Success
            answer.sec1.sr0.device_pubkey = _raw(private.public_key())
            answer.sec1.sr0.device_random = device_random
            return answer
        if payload.msg == sec1_pb2.Session_Command1:
            stream, device_key = session.sec1_stream, session.sec1_private
            if session.step != 1 or stream is None or device_key is None:
                raise RequestRefused("command 1 out of order")
            check = stream.decrypt(payload.sc1.client_verify_data)
            if self.faults.refuse_sessions or not hmac.compare_digest(
                check, _raw(device_key.public_key())
            ):
                raise self._auth_failed(session, "client verification data does not match")
            session.cipher, session.step = stream, 2
            self.counters.sessions_established += 1
            answer.sec1.msg = sec1_pb2.Session_Response1
            answer.sec1.sr1.status = constants_pb2.Success
            answer.sec1.sr1.device_verify_data = stream.encrypt(session.sec1_client_public)
            return answer
        raise RequestRefused("unknown security 1 message")

    # ------------------------------------------------------------------ Wi-Fi

    def _config(self, plain: bytes, now: float) -> bytes:
        request = wifi_config_pb2.WiFiConfigPayload()
        try:
            request.ParseFromString(plain)
        except Exception:
            raise RequestRefused("not a WiFiConfigPayload") from None
        answer = wifi_config_pb2.WiFiConfigPayload()
        match request.WhichOneof("payload"):
            case "cmd_get_status":
                self.counters.status_requests += 1
                answer.msg = wifi_config_pb2.TypeRespGetStatus
                self._status(answer.resp_get_status)
            case "cmd_set_config":
                self.counters.configs_received += 1
                answer.msg = wifi_config_pb2.TypeRespSetConfig
                # ESP-IDF takes credentials once per provisioning (until a prov-ctrl reset).
                if self.station is not Station.IDLE or not request.cmd_set_config.ssid:
                    answer.resp_set_config.status = constants_pb2.InvalidArgument
                else:
                    self.pending_ssid = request.cmd_set_config.ssid.decode(errors="replace")
                    self._pending_passphrase = request.cmd_set_config.passphrase.decode(
                        errors="replace"
                    )
                    answer.resp_set_config.status = constants_pb2.Success
            case "cmd_apply_config":
                answer.msg = wifi_config_pb2.TypeRespApplyConfig
                if self.pending_ssid is None:
                    answer.resp_apply_config.status = constants_pb2.InvalidArgument
                else:
                    self.counters.configs_applied += 1
                    self.ssid, self._passphrase = self.pending_ssid, self._pending_passphrase
                    self.station, self.fail_reason = Station.CONNECTING, None
                    self._join_at = now + self.spec.join_delay
                    answer.resp_apply_config.status = constants_pb2.Success
            case _:
                raise RequestRefused("unknown Wi-Fi config command")
        return answer.SerializeToString()

    def _status(self, response: wifi_config_pb2.RespGetStatus) -> None:
        response.status = constants_pb2.Success
        match self.station:
            case Station.CONNECTED:
                response.sta_state = wifi_constants_pb2.Connected
                response.connected.ip4_addr = self.ip_address or ""
                response.connected.ssid = (self.ssid or "").encode()
                response.connected.auth_mode = wifi_constants_pb2.WPA2_PSK
            case Station.CONNECTING:
                response.sta_state = wifi_constants_pb2.Connecting
            case Station.FAILED:
                response.sta_state = wifi_constants_pb2.ConnectionFailed
                response.fail_reason = self.fail_reason or wifi_constants_pb2.AuthError
            case Station.IDLE:
                response.sta_state = wifi_constants_pb2.Disconnected

    def _ctrl(self, plain: bytes) -> bytes:
        request = wifi_ctrl_pb2.WiFiCtrlPayload()
        try:
            request.ParseFromString(plain)
        except Exception:
            raise RequestRefused("not a WiFiCtrlPayload") from None
        answer = wifi_ctrl_pb2.WiFiCtrlPayload()
        if request.msg == wifi_ctrl_pb2.TypeCmdCtrlReset:
            answer.msg = wifi_ctrl_pb2.TypeRespCtrlReset
            answer.resp_ctrl_reset.SetInParent()
            # ESP-IDF resets only a station that is not connected (or failed).
            if self.station is Station.CONNECTED:
                answer.status = constants_pb2.InvalidArgument
            else:
                self.counters.resets += 1
                self._forget()
                answer.status = constants_pb2.Success
        elif request.msg == wifi_ctrl_pb2.TypeCmdCtrlReprov:
            answer.msg = wifi_ctrl_pb2.TypeRespCtrlReprov
            answer.resp_ctrl_reprov.SetInParent()
            self.counters.resets += 1
            self._forget()
            answer.status = constants_pb2.Success
        else:
            raise RequestRefused("unknown Wi-Fi control command")
        return answer.SerializeToString()

    def _scan(self, plain: bytes) -> bytes:
        """A scan finds every network in range at once (the lab's RSSI falls by name)."""
        request = wifi_scan_pb2.WiFiScanPayload()
        try:
            request.ParseFromString(plain)
        except Exception:
            raise RequestRefused("not a WiFiScanPayload") from None
        answer = wifi_scan_pb2.WiFiScanPayload(status=constants_pb2.Success)
        heard = sorted(self.networks)
        match request.WhichOneof("payload"):
            case "cmd_scan_start":
                self.counters.scans += 1
                answer.msg = wifi_scan_pb2.TypeRespScanStart
                answer.resp_scan_start.SetInParent()
            case "cmd_scan_status":
                answer.msg = wifi_scan_pb2.TypeRespScanStatus
                answer.resp_scan_status.scan_finished = True
                answer.resp_scan_status.result_count = len(heard)
            case "cmd_scan_result":
                answer.msg = wifi_scan_pb2.TypeRespScanResult
                start = request.cmd_scan_result.start_index
                for index in range(start, min(len(heard), start + request.cmd_scan_result.count)):
                    entry = answer.resp_scan_result.entries.add()
                    entry.ssid = heard[index].encode()
                    entry.channel = 1 + (5 * index) % 11
                    entry.rssi = -40 - 7 * index
                    entry.bssid = bytes([0x24, 0x0A, 0xC4, 0x00, 0x00, index])
                    entry.auth = wifi_constants_pb2.WPA2_PSK
            case _:
                raise RequestRefused("unknown Wi-Fi scan command")
        return answer.SerializeToString()

    def _forget(self) -> None:
        self.pending_ssid, self._pending_passphrase = None, ""
        self.ssid, self._passphrase = None, ""
        self.station, self.fail_reason, self._join_at = Station.IDLE, None, None
        self.joined_at = None

    # ------------------------------------------------------------------ time

    def tick(self, now: float, networks: dict[str, str] | None = None) -> None:
        """Let the join in progress finish once its delay has passed."""
        if self.station is not Station.CONNECTING or self._join_at is None:
            return
        if now < self._join_at or self.faults.never_connects:
            return
        joined_at, self._join_at = self._join_at, None
        known = self.networks if networks is None else networks
        if self.faults.network_not_found or self.ssid not in known:
            self.station, self.fail_reason = Station.FAILED, wifi_constants_pb2.NetworkNotFound
        elif self.faults.wifi_auth_error or known[self.ssid] != self._passphrase:
            self.station, self.fail_reason = Station.FAILED, wifi_constants_pb2.AuthError
        else:
            self.station, self.joined_at = Station.CONNECTED, joined_at

    @property
    def provisioning_ends_at(self) -> float | None:
        """When the provisioning service stops (auto-stop after joining), if it will."""
        if self.joined_at is None or self.spec.auto_stop_after is None:
            return None
        return self.joined_at + self.spec.auto_stop_after

    def next_deadline(self) -> float | None:
        """The next time something happens by itself: a join's outcome, or auto-stop."""
        if self.station is Station.CONNECTING and not self.faults.never_connects:
            return self._join_at
        return self.provisioning_ends_at

    def snapshot(self) -> dict[str, object]:
        """State, counters and knobs, without any secret."""
        return {
            "device_id": self.device_id,
            "station": self.station.value,
            "ssid": self.ssid,
            "ip_address": self.ip_address,
            "security": int(self.spec.security),
            "counters": dataclasses.asdict(self.counters),
            "faults": dataclasses.asdict(self.faults),
        }
