"""Install codes of simulated devices: the secret printed on a device's label.

A Zigbee 3.0 install code is 6, 8, 12 or 16 random bytes followed by their CRC-16/X-25
(little endian). The trust center derives the device's link key from it (AES-MMO hash,
`zigpy.util.convert_install_code`).
"""

from __future__ import annotations

import hashlib

from domain.secrets import MASK


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 (reflected 0x1021, init and xor-out 0xFFFF), as install codes use."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def with_crc(body: bytes) -> bytes:
    """`body` followed by its CRC: a well-formed install code."""
    if len(body) not in (6, 8, 12, 16):
        raise ValueError("an install code body is 6, 8, 12 or 16 bytes")
    return body + crc16_x25(body).to_bytes(2, "little")


def install_code_for(seed: str) -> bytes:
    """A stable, well-formed 16-byte install code derived from `seed`."""
    return with_crc(hashlib.sha256(f"devprov-install-code:{seed}".encode()).digest()[:16])


def format_install_code(code: bytes) -> str:
    """Upper-case hex in groups of four, as labels print it."""
    text = code.hex().upper()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def masked_install_code(code: bytes) -> str:
    """What may be shown of a code: only its last two bytes (the CRC)."""
    return f"{MASK}{code[-2:].hex().upper()}"
