"""The pre-provisioning hook: a tenant's HTTPS endpoint that allows or denies each
device before anything is done to it (AWS IoT fleet provisioning's pre-provisioning
hook, Azure DPS's custom allocation).

During PRE_CHECK a provisioning run POSTs the device's facts to the hook, signed like a
webhook (Standard Webhooks headers, the hook's own `whsec_` secret). The hook answers
`200` with `{"allow": true|false, "reason": "...", "parameters": {"name": "value"}}`:
a deny ends the run FAILED_VALIDATION with HOOK_DENIED and the hook's reason; an
unreachable hook (no answer, not 200, not that JSON) is retried per the pre-check's
policy and then fails closed: FAILED with HOOK_UNAVAILABLE. See
docs/integrating-a-backend.md.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.webhooks import MAX_URL_LENGTH

HOOK_EVENT_TYPE = "device.pre_provisioning"
MAX_REASON = 500
MAX_PARAMETERS = 32


class PreProvisioningHookSet(BaseModel):
    """Body of `PUT /tenant/settings/pre-provisioning-hook`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="The hook: an https URL (a public address unless private targets are allowed).",
    )


class PreProvisioningHook(BaseModel):
    """The tenant's hook as the API shows it (never its secret)."""

    model_config = ConfigDict(frozen=True)

    url: str
    updated_at: datetime


class PreProvisioningHookCreated(PreProvisioningHook):
    """The answer to setting a hook: the only time its signing secret is shown."""

    secret: str = Field(
        description="Standard Webhooks secret (`whsec_<base64>`) the hook verifies devprov's "
        "requests with. Shown once; setting the hook again makes a new one."
    )


class StoredHook(BaseModel):
    """A hook as the registry holds it: its secret sealed."""

    model_config = ConfigDict(frozen=True)

    view: PreProvisioningHook
    sealed_secret: str


class HookCall(BaseModel):
    """What a run asks the hook about (activity input; never a secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    call_id: str = Field(description="Unique per call: the `webhook-id` header.")
    workflow_id: str
    run_id: str
    strategy: str
    attempt: int
    device_id: str
    device_type: str
    vendor: str
    model: str
    site: str
    capabilities: list[str]
    detected_model: str = ""
    detected_firmware: str = ""


class HookVerdict(BaseModel):
    """The hook's answer (activity result; its parameters stay in the encrypted history)."""

    model_config = ConfigDict(frozen=True)

    consulted: bool = Field(description="False: the tenant has no hook (allowed).")
    allow: bool = True
    reason: str = Field(default="", max_length=MAX_REASON)
    parameters: dict[str, str] = Field(default_factory=dict, max_length=MAX_PARAMETERS)


class HookAnswer(BaseModel):
    """The body a hook answers with."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    allow: bool
    reason: str = ""
    parameters: dict[str, str] = Field(default_factory=dict)


class HookNotFound(LookupError):
    """The tenant has no pre-provisioning hook."""
