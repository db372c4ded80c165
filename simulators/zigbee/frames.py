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
        command = zdo_t.ZDOCmd(cluster_id)
        names, schema = zdo_t.CLUSTERS[command]
        header, rest = zdo_t.ZDOHeader.deserialize(cluster_id, data)
        values, _ = t.deserialize(rest, schema)
    except (KeyError, ValueError) as exc:
        raise FrameError(f"cannot decode ZDO frame 0x{cluster_id:04X}: {exc}") from exc
    return ZdoFrame(command, int(header.tsn), dict(zip(names, values, strict=False)))


def encode_zdo(command: zdo_t.ZDOCmd, tsn: int, *args: Any) -> bytes:
    """The payload of a ZDO frame: the transaction number then the arguments."""
    _, schema = zdo_t.CLUSTERS[command]
    payload: bytes = t.serialize(args, schema)
    return bytes(t.uint8_t(tsn).serialize()) + payload


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
        definition = foundation.GENERAL_COMMANDS[foundation.GeneralCommand(frame.command_id)]
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
