"""The identifiers callers choose, one pattern per kind, always matched in full.

A path parameter, a body field and a key file all check an identifier against the same
`Identifier`: ASCII only (no lookalike letters), no control character, bounded length.
Checks use `re.fullmatch`, never `re.match` with `$` (which lets a trailing newline by).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Identifier:
    """One kind of identifier: its name in messages and its pattern (without anchors)."""

    kind: str
    body: str
    rule: str
    """What a valid one looks like, in words, for error messages."""
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.body, re.ASCII))

    @property
    def pattern(self) -> str:
        """The anchored pattern, for JSON Schema and pydantic (`$` there is end of text)."""
        return f"^{self.body}$"

    def is_valid(self, value: str) -> bool:
        """Whether `value` is an identifier of this kind, as a whole."""
        return self._compiled.fullmatch(value) is not None


DEVICE_ID = Identifier(
    "device id",
    r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}",
    "1-128 ASCII letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
)
FLEET_ID = Identifier(
    "fleet id",
    r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
    "1-64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit",
)
TENANT = Identifier(
    "tenant",
    r"[a-z0-9][a-z0-9-]{0,62}",
    "1-63 lowercase ASCII letters, digits or '-', starting with a letter or digit",
)
KEY_ID = Identifier(
    "key id",
    r"[A-Za-z0-9]{1,32}",
    "1-32 ASCII letters or digits",
)
SITE = Identifier(
    "site",
    r"[a-z0-9][a-z0-9-]{0,62}",
    "1-63 lowercase ASCII letters, digits or '-', starting with a letter or digit",
)

__all__ = ["DEVICE_ID", "FLEET_ID", "KEY_ID", "SITE", "TENANT", "Identifier"]
