"""Encoding and decoding the ZDO and ZCL frames simulated devices exchange with zigpy.

Everything goes through zigpy's own frame types (`zigpy.zdo.types`, `zigpy.zcl.foundation`),
so the simulated devices read exactly the bytes a real radio would hand to a device and
answer with bytes zigpy has to parse like a real answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation

ZDO_PROFILE = 0x0000
ZDO_ENDPOINT = 0
HOME_AUTOMATION_PROFILE = 0x0104
UNKNOWN_IEEE = "ff:ff:ff:ff:ff:ff:ff:ff"


# zigpy's integer and enum types are not annotated: these typed constructors keep the
# untyped calls in one place.


def nwk(value: int) -> t.NWK:
    """A 16-bit short network address."""
    return t.NWK(value)  # type: ignore[no-untyped-call]


def uint8(value: int) -> t.uint8_t:
    return t.uint8_t(value)  # type: ignore[no-untyped-call]


def uint16(value: int) -> t.uint16_t:
    return t.uint16_t(value)  # type: ignore[no-untyped-call]


def int8s(value: int) -> t.int8s:
    return t.int8s(value)  # type: ignore[no-untyped-call]


def zdo_command(value: int) -> zdo_t.ZDOCmd:
    return zdo_t.ZDOCmd(value)  # type: ignore[no-untyped-call]


def general_command(value: int) -> foundation.GeneralCommand:
    return foundation.GeneralCommand(value)  # type: ignore[no-untyped-call]


def node_descriptor(**fields: Any) -> zdo_t.NodeDescriptor:
    return zdo_t.NodeDescriptor(**fields)  # type: ignore[no-untyped-call]


class FrameError(ValueError):
    """A frame that cannot be decoded."""


@dataclass(frozen=True)
class ZdoFrame:
    """A decoded ZDO frame: its command, transaction number and arguments by name."""

    command: zdo_t.ZDOCmd
    tsn: int
    args: dict[str, Any]


def decode_zdo(cluster_id: int, data: bytes) -> ZdoFrame:
    """Decode the payload of a ZDO frame sent on `cluster_id`."""
    try:
        command = zdo_command(cluster_id)
        names, schema = zdo_t.CLUSTERS[command]
        header, rest = zdo_t.ZDOHeader.deserialize(uint16(cluster_id), data)
        values, _ = t.deserialize(rest, schema)  # type: ignore[no-untyped-call]
    except (KeyError, ValueError) as exc:
        raise FrameError(f"cannot decode ZDO frame 0x{cluster_id:04X}: {exc}") from exc
    return ZdoFrame(command, int(header.tsn), dict(zip(names, values, strict=False)))


def encode_zdo(command: zdo_t.ZDOCmd, tsn: int, *args: Any) -> bytes:
    """The payload of a ZDO frame: the transaction number then the arguments."""
    _, schema = zdo_t.CLUSTERS[command]
    payload: bytes = t.serialize(args, schema)  # type: ignore[no-untyped-call]
    return bytes(uint8(tsn).serialize()) + payload


@dataclass(frozen=True)
class ZclFrame:
    """A ZCL frame split into its header and the undecoded command payload."""

    header: foundation.ZCLHeader
    payload: bytes

    @property
    def is_general(self) -> bool:
        return bool(self.header.frame_control.is_general)

    @property
    def wants_default_response(self) -> bool:
        return not self.header.frame_control.disable_default_response

    @property
    def command_id(self) -> int:
        return int(self.header.command_id)

    @property
    def tsn(self) -> int:
        return int(self.header.tsn)


def decode_zcl(data: bytes) -> ZclFrame:
    """Split a ZCL frame into header and payload."""
    try:
        header, payload = foundation.ZCLHeader.deserialize(data)
    except (KeyError, ValueError) as exc:
        raise FrameError(f"cannot decode ZCL header: {exc}") from exc
    return ZclFrame(header, payload)


def decode_general(frame: ZclFrame) -> Any:
    """The arguments of a global (foundation) ZCL command."""
    try:
        definition = foundation.GENERAL_COMMANDS[general_command(frame.command_id)]
        command, _ = definition.schema.deserialize(frame.payload)
    except (KeyError, ValueError) as exc:
        raise FrameError(f"cannot decode ZCL command 0x{frame.command_id:02X}: {exc}") from exc
    return command


def encode_general_response(
    request: ZclFrame, command: foundation.GeneralCommand, **fields: Any
) -> bytes:
    """A global command sent back by the server side of a cluster, for `request`."""
    header = foundation.ZCLHeader(
        frame_control=foundation.FrameControl.general(
            direction=foundation.Direction.Server_to_Client
        ),
        manufacturer=request.header.manufacturer,
        tsn=request.tsn,
        command_id=command,
    )
    body = foundation.GENERAL_COMMANDS[command].schema(**fields)
    return bytes(header.serialize()) + bytes(body.serialize())


def encode_default_response(request: ZclFrame, status: foundation.Status) -> bytes:
    """The Default Response to `request` with `status`."""
    return encode_general_response(
        request,
        foundation.GeneralCommand.Default_Response,
        command_id=request.command_id,
        status=status,
    )
