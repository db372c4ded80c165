"""The cloud's answers as typed messages, checked before they become domain models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.cloud_errors import CloudProtocolError
from adapters.errors import clip


class _Message(BaseModel):
    # Clouds add fields over time; only the ones we read are checked.
    model_config = ConfigDict(extra="ignore", frozen=True)


class IssuedCredentialMessage(_Message):
    """`POST /v1/credentials` → 201."""

    credential_id: str = Field(min_length=1)
    device_id: str
    certificate_pem: str = Field(min_length=1)
    not_after: datetime
    ownership_token: str = Field(min_length=1, repr=False)
    ownership_token_expires_at: datetime


class CredentialMessage(_Message):
    """One credential in `GET /v1/credentials` and the answer of a revoke."""

    credential_id: str
    device_id: str
    status: Literal["active", "revoked"]
    issued_at: datetime
    revoked_at: datetime | None = None


class CredentialListMessage(_Message):
    """`GET /v1/credentials?device_id=` → 200."""

    credentials: list[CredentialMessage]


class RegisteredDeviceMessage(_Message):
    """`POST /v1/devices` → 201."""

    device_id: str
    credential_id: str
    attributes: dict[str, str] = Field(default_factory=dict)
    registered_at: datetime


class DeviceMessage(_Message):
    """`GET /v1/devices/{device_id}` → 200."""

    device_id: str
    credential_id: str
    credential_status: Literal["active", "revoked"]
    attributes: dict[str, str] = Field(default_factory=dict)
    policies: list[str] = Field(default_factory=list)
    registered_at: datetime
    last_checkin_at: datetime | None = None


class PolicyAttachmentMessage(_Message):
    """`POST /v1/devices/{device_id}/policies` → 200."""

    device_id: str
    policy_name: str


class ErrorMessage(_Message):
    """An error answer: `{"error": code, "message": text}`."""

    error: str = ""
    message: str = ""
    retry_after: float | None = None


_M = TypeVar("_M", bound=_Message)


def parse_message(message: type[_M], body: object, *, details: dict[str, str]) -> _M:
    """Check that `body` has the shape of `message`; raises `CloudProtocolError`.

    The error names the field, never its value: answers may hold an ownership token.
    """
    try:
        return message.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        # A key of the cloud's answer may be part of the location: its text is the peer's.
        where = clip(".".join(str(part) for part in first["loc"]) or "body")
        raise CloudProtocolError(
            f"the cloud answered {details.get('endpoint', 'a call')} with an unexpected body: "
            f"{where}: {first['msg']}",
            details={**details, "field": where},
        ) from None
