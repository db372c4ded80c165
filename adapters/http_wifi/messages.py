"""The results of the Shelly Gen2 RPC methods the adapter reads, as typed messages."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.errors import DeviceProtocolError, clip


class _Message(BaseModel):
    # Devices add fields with new firmware; only the ones we read are checked.
    model_config = ConfigDict(extra="ignore", frozen=True)


class DeviceInfo(_Message):
    """Result of `Shelly.GetDeviceInfo`."""

    id: str = Field(min_length=1)
    mac: str = ""
    model: str = ""
    gen: int
    ver: str = ""
    fw_id: str = ""
    app: str = ""
    auth_en: bool = False


class StaConfig(_Message):
    """`sta` section of `WiFi.GetConfig`; devices never return the passphrase."""

    ssid: str | None = None
    enable: bool = False
    is_open: bool | None = None


class ApConfig(_Message):
    """`ap` section of `WiFi.GetConfig`."""

    ssid: str | None = None
    enable: bool = False


class WifiConfig(_Message):
    """Result of `WiFi.GetConfig`."""

    sta: StaConfig
    sta1: StaConfig | None = None
    ap: ApConfig | None = None


class JoinStatus(StrEnum):
    """Values of `WiFi.GetStatus.status`."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    GOT_IP = "got ip"


class WifiStatus(_Message):
    """Result of `WiFi.GetStatus`; `sta_error` is the simulator's disconnect reason."""

    status: JoinStatus
    sta_ip: str | None = None
    ssid: str | None = None
    rssi: int | None = None
    sta_error: str | None = None


class TlsClientCsr(_Message):
    """Result of `Shelly.GetTLSClientCSR` (a devprov extension: see docs/simulators.md)."""

    csr: str = Field(min_length=1)


class TlsClientCertStored(_Message):
    """Result of `Shelly.PutTLSClientCert`: how many bytes the device stored."""

    len: int = Field(ge=0)


_M = TypeVar("_M", bound=_Message)


def parse_result(message: type[_M], result: object, *, method: str, details: dict[str, str]) -> _M:
    """Check that `result` has the shape of `message`; raises `DeviceProtocolError`."""
    try:
        return message.model_validate(result)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        # A key of the device's answer may be part of the location: its text is the peer's.
        where = clip(".".join(str(part) for part in first["loc"]) or "result")
        raise DeviceProtocolError(
            f"{method} answered an unexpected result: {where}: {first['msg']}",
            details={**details, "field": where},
        ) from None
