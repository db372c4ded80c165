"""Secret values that survive Temporal's pydantic data converter.

pydantic's ``SecretStr`` serialises to ``"**********"`` in JSON, which would lose the
secret between the API, the workflow and the activity. ``WireSecret`` keeps the value
in JSON payloads (which the payload codec protects) while ``repr``/``str`` stay masked,
so secrets never reach logs by accident. Anything shown to people must use
``mask()`` or leave secret fields out.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainSerializer, SecretStr

MASK = "**********"


def _reveal(value: SecretStr) -> str:
    return value.get_secret_value()


WireSecret = Annotated[SecretStr, PlainSerializer(_reveal, return_type=str, when_used="json")]
"""A secret string carried in JSON payloads and masked everywhere else."""


def mask(value: SecretStr | str | None) -> str | None:
    """Return the masked form shown in responses, events and logs."""
    if value is None:
        return None
    return MASK
