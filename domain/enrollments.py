"""Enrollments: a tenant's allow-list of the devices it may provision (DPS style).

An *individual* enrollment names one device (by id), optionally with its serial, MAC,
vendor, model and a claim secret the provision request must present. A *group*
enrollment admits every device whose vendor, model and id match its criteria (the id
by an fnmatch-style glob), and gives the runs it admits defaults (site, strategy).
With the tenant setting `enrollment_required` on, a device no enabled enrollment
admits is refused before any run starts. An individual enrollment beats every group:
a disabled one refuses its device even when a group would admit it.

Claim secrets are stored as salted scrypt hashes only, and compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from domain.device import DeviceDescriptor
from domain.identifiers import DEVICE_ID, FLEET_ID, SITE, Identifier
from domain.secrets import WireSecret

CLAIM_SECRET = "claim_secret"
"""The name of the claim secret in a provision request's `secrets`."""
GROUP_ID = Identifier("group enrollment id", FLEET_ID.body, FLEET_ID.rule)
GLOB = Identifier(
    "device id glob",
    r"[A-Za-z0-9._:*?\[\]!-]{1,128}",
    "1-128 ASCII letters, digits, '.', '_', ':', '-' and the glob characters '*', '?', "
    "'[', ']', '!'",
)
MAX_GLOB_WILDCARDS = 8
"""More `*` than this in one glob is refused: matching stays cheap for any id."""
_TOKEN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_SERIAL = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"
_MAC = r"^[0-9a-fA-F]{2}([:-]?[0-9a-fA-F]{2}){5}$"
_STRATEGY = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
ClaimSecret = Annotated[WireSecret, Field(min_length=8, max_length=256)]
"""A claim secret: 8 to 256 characters."""


class EnrollmentExists(Exception):
    """The tenant already has an enrollment with this id."""


class EnrollmentNotFound(Exception):
    """The tenant has no enrollment with this id."""


class GroupWithoutCriterion(Exception):
    """A change would leave a group matching every device."""


class EnrollmentKind(StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"


# ---------------------------------------------------------------- claim secrets


def hash_claim_secret(secret: str) -> str:
    """The stored form of a claim secret: `scrypt$n$r$p$<salt>$<hash>` (base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    encoded = (base64.b64encode(part).decode() for part in (salt, digest))
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), *encoded])


def claim_secret_matches(stored: str, presented: str | None) -> bool:
    """Whether `presented` is the secret whose stored form is `stored`."""
    if presented is None:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            presented.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# ---------------------------------------------------------------- individual


class _IndividualFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: str | None = Field(default=None, pattern=_SERIAL, description="Serial number.")
    mac: str | None = Field(default=None, pattern=_MAC, description="MAC address.")
    vendor: str | None = Field(
        default=None,
        pattern=_TOKEN,
        description="When set, the provision request's `device.vendor` must be this.",
    )
    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="When set, the provision request's `device.model` must be this.",
    )


class IndividualEnrollmentCreate(_IndividualFields):
    """Body of `POST /enrollments/individual` (and a line of its CSV import)."""

    device_id: str = Field(pattern=DEVICE_ID.pattern)
    claim_secret: ClaimSecret | None = Field(
        default=None,
        description="A secret the provision request must present as "
        "`secrets.claim_secret` (8-256 characters); stored hashed, never shown again.",
    )
    enabled: StrictBool = True


class IndividualEnrollmentPatch(_IndividualFields):
    """Body of `PATCH /enrollments/individual/{device_id}`: the fields to change
    (null clears an optional one)."""

    claim_secret: ClaimSecret | None = Field(
        default=None, description="A new claim secret (null: the device needs none)."
    )
    enabled: StrictBool | None = None


class IndividualEnrollment(BaseModel):
    """An individual enrollment as the API shows it (never its claim secret)."""

    device_id: str
    serial: str | None
    mac: str | None
    vendor: str | None
    model: str | None
    claim_secret_set: bool = Field(description="Whether runs must present a claim secret.")
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StoredIndividualEnrollment:
    """An individual enrollment with the stored form of its claim secret."""

    view: IndividualEnrollment
    claim_secret_hash: str | None


class IndividualEnrollmentList(BaseModel):
    """Body of `GET /enrollments/individual`: one page, sorted by device id."""

    items: list[IndividualEnrollment]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class EnrollmentImport(BaseModel):
    """Body of a CSV import's answer: every line was created or replaced."""

    imported: int


# ---------------------------------------------------------------- group


class GroupDefaults(BaseModel):
    """What a group gives the requests it admits, where they leave it open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str | None = Field(
        default=None, pattern=SITE.pattern, description="Site of a request that names none."
    )
    strategy: str | None = Field(
        default=None,
        pattern=_STRATEGY,
        description="Strategy of a request that forces none (`strategy`).",
    )


def _check_glob(value: str | None) -> str | None:
    if value is not None and value.count("*") > MAX_GLOB_WILDCARDS:
        raise ValueError(f"at most {MAX_GLOB_WILDCARDS} '*' in a glob")
    return value


class _GroupFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    vendor: str | None = Field(default=None, pattern=_TOKEN)
    model: str | None = Field(default=None, min_length=1, max_length=128)
    device_id_glob: str | None = Field(
        default=None,
        pattern=GLOB.pattern,
        description="An fnmatch-style glob (`*`, `?`, `[...]`) the device id must match "
        "in full, case-sensitive, e.g. `plug-line4-*`.",
    )
    priority: StrictInt | None = Field(
        default=None, ge=0, le=1000, description="Lower first when several groups match."
    )
    defaults: GroupDefaults | None = None
    enabled: StrictBool | None = None

    @field_validator("device_id_glob")
    @classmethod
    def _bounded_glob(cls, value: str | None) -> str | None:
        return _check_glob(value)


class GroupEnrollmentCreate(_GroupFields):
    """Body of `POST /enrollments/group`: at least one of `vendor`, `model` and
    `device_id_glob`; a device must match every one given."""

    group_id: str = Field(pattern=GROUP_ID.pattern)

    @model_validator(mode="after")
    def _some_criterion(self) -> GroupEnrollmentCreate:
        if self.vendor is None and self.model is None and self.device_id_glob is None:
            raise ValueError("a group needs at least one of vendor, model, device_id_glob")
        return self


class GroupEnrollmentPatch(_GroupFields):
    """Body of `PATCH /enrollments/group/{group_id}`: the fields to change (null
    clears a criterion; the group keeps at least one)."""


class GroupEnrollment(BaseModel):
    """A group enrollment as the API shows it."""

    group_id: str
    vendor: str | None
    model: str | None
    device_id_glob: str | None
    priority: int
    defaults: GroupDefaults
    enabled: bool
    created_at: datetime
    updated_at: datetime

    def matches(self, device: DeviceDescriptor) -> bool:
        """Whether `device` meets every criterion of the group."""
        return (
            (self.vendor is None or self.vendor == device.vendor)
            and (self.model is None or self.model == device.model)
            and (self.device_id_glob is None or fnmatchcase(device.device_id, self.device_id_glob))
        )


class GroupEnrollmentList(BaseModel):
    """Body of `GET /enrollments/group`: one page, sorted by group id."""

    items: list[GroupEnrollment]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


# ---------------------------------------------------------------- tenant settings


class TenantSettingsUpdate(BaseModel):
    """Body of `PUT /tenant/settings`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enrollment_required: StrictBool = Field(
        description="Refuse (403 DEVICE_NOT_ENROLLED) every device no enabled "
        "enrollment of the tenant admits."
    )


class TenantSettings(BaseModel):
    """Body of `GET /tenant/settings`."""

    tenant: str
    enrollment_required: bool
    updated_at: datetime | None


# ---------------------------------------------------------------- admission


class Admission(BaseModel):
    """Which enrollment admitted a device, and the defaults it gives the run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EnrollmentKind
    enrollment_id: str
    defaults: GroupDefaults = Field(default_factory=GroupDefaults)

    @property
    def reference(self) -> str:
        """`individual/<device id>` or `group/<group id>`: how a run records it."""
        return f"{self.kind.value}/{self.enrollment_id}"


class Refusal(StrEnum):
    """Why no enrollment admits a device (shown in the 403's detail)."""

    NOT_ENROLLED = "no enabled enrollment of this tenant admits the device"
    DISABLED = "the device's enrollment is disabled"
    MISMATCH = "the device's vendor or model differs from its enrollment"
    CLAIM_SECRET = (
        "the device's enrollment requires its claim secret (`secrets.claim_secret`); "
        "none or another one was presented"
    )


def admit(
    device: DeviceDescriptor,
    individual: StoredIndividualEnrollment | None,
    groups: Iterable[GroupEnrollment],
    presented_secret: str | None,
    *,
    secret_proven: bool = False,
) -> Admission | Refusal:
    """The enrollment that admits `device`, or why none does.

    `individual` is the device's individual enrollment, if any: it decides alone.
    Otherwise the first enabled group (by priority, then id) that matches admits it.
    `secret_proven`: the claim secret was checked already (the run a retry repeats).
    """
    if individual is not None:
        view = individual.view
        if not view.enabled:
            return Refusal.DISABLED
        if (view.vendor is not None and view.vendor != device.vendor) or (
            view.model is not None and view.model != device.model
        ):
            return Refusal.MISMATCH
        if (
            individual.claim_secret_hash is not None
            and not secret_proven
            and not claim_secret_matches(individual.claim_secret_hash, presented_secret)
        ):
            return Refusal.CLAIM_SECRET
        return Admission(kind=EnrollmentKind.INDIVIDUAL, enrollment_id=view.device_id)
    for group in sorted(groups, key=lambda g: (g.priority, g.group_id)):
        if group.enabled and group.matches(device):
            return Admission(
                kind=EnrollmentKind.GROUP, enrollment_id=group.group_id, defaults=group.defaults
            )
    return Refusal.NOT_ENROLLED
