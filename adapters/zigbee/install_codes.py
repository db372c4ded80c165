"""Reading install codes as people type them, and deriving link keys with zigpy's helpers.

An install code is entered as hex (spaces, dashes or colons between groups are fine) or
as the content of the device's QR code. It is a secret: nothing here puts it, or the
key derived from it, in a message.
"""

from __future__ import annotations

import re

import zigpy.types as t
import zigpy.util

from adapters.zigbee.errors import InvalidInstallCode
from domain.secrets import MASK
from domain.zigbee import normalize_ieee

_SEPARATORS = re.compile(r"[\s:.-]")
_HEX = re.compile(r"^[0-9a-fA-F]*$")
VALID_LENGTHS = (8, 10, 14, 18)
"""Install code sizes in bytes, CRC included (6, 8, 12 or 16 bytes of code)."""

_DETAILS = {"install_code": MASK}


def _from_hex(text: str) -> bytes | None:
    cleaned = _SEPARATORS.sub("", text.strip()).removeprefix("0x")
    if not cleaned or not _HEX.match(cleaned):
        return None
    if len(cleaned) % 2 or len(cleaned) // 2 not in VALID_LENGTHS:
        raise InvalidInstallCode(
            f"the install code must be 8, 10, 14 or 18 bytes of hex (16, 20, 28 or 36 "
            f"digits); {len(cleaned)} digits were given",
            details={**_DETAILS, "digits": str(len(cleaned))},
        )
    return bytes.fromhex(cleaned)


def link_key_from_code(code: bytes) -> t.KeyData:
    """The link key of a binary install code; checks its length and CRC."""
    if len(code) not in VALID_LENGTHS:
        raise InvalidInstallCode(
            f"the install code must be 8, 10, 14 or 18 bytes; {len(code)} bytes were given",
            details={**_DETAILS, "bytes": str(len(code))},
        )
    try:
        key: t.KeyData = zigpy.util.convert_install_code(code)
    except ValueError:
        # zigpy's message repeats the code: never let it through.
        raise InvalidInstallCode(
            "the install code's CRC (its last 4 hex digits) does not match: "
            "a character was probably mistyped",
            details={**_DETAILS, "reason": "crc"},
        ) from None
    return key


def link_key_for(install_code: str, ieee: str) -> t.KeyData:
    """The link key for the device `ieee` from its install code or QR code content.

    Raises:
        InvalidInstallCode: Not hex of a valid length, a wrong CRC, an unknown QR code
            format, or a QR code of another device.
    """
    code = _from_hex(install_code)
    if code is not None:
        return link_key_from_code(code)
    try:
        qr_ieee, key = zigpy.util.parse_install_code_qr(install_code.strip())
    except ValueError as exc:
        crc_failed = "CRC" in str(exc)
        raise InvalidInstallCode(
            "the install code's CRC does not match"
            if crc_failed
            else "the install code is neither hex nor a known QR code format",
            details={**_DETAILS, "reason": "crc" if crc_failed else "format"},
        ) from None
    found = normalize_ieee(str(qr_ieee))
    if found != normalize_ieee(ieee):
        raise InvalidInstallCode(
            f"the QR code is for device {found}, not {normalize_ieee(ieee)}",
            details={**_DETAILS, "reason": "other_device", "qr_ieee": found},
        )
    result: t.KeyData = key
    return result


def check_install_code(install_code: str, ieee: str) -> None:
    """Raise `InvalidInstallCode` unless `install_code` yields a link key for `ieee`."""
    link_key_for(install_code, ieee)
