"""Configuration and fault knobs of the simulated vendor cloud."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from config.settings import EnvSettings, NameList

DEV_API_KEY = "devprov-cloud-dev-key"
"""API key of the embedded default (client `devprov`); a development value, not a secret."""

DEV_CLAIM_TOKEN = "devprov-fleet-claim-dev"
"""Fleet claim token of the embedded default; a development value, not a secret."""

DEFAULT_POLICY = "devprov-device"
"""The policy the embedded default knows."""


class SimulatedCloudSettings(EnvSettings):
    """What `python -m simulators.wifi_cloud` accepts (`DEVPROV_CLOUD_*`): the same
    variables as the central workers' `CloudSettings`, seen from the cloud's side."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_CLOUD_")

    api_key: str = DEV_API_KEY
    """The API key the cloud accepts (of client `devprov`)."""
    claim_tokens: NameList = ()
    """Fleet claim tokens the cloud accepts, comma-separated (empty: `DEV_CLAIM_TOKEN`)."""

    def accepted_claims(self) -> frozenset[str]:
        """The claim tokens to accept: those configured, else the development one."""
        return frozenset(self.claim_tokens or (DEV_CLAIM_TOKEN,))


class Endpoint(StrEnum):
    """The calls of the simulated cloud's API, as counters and faults name them."""

    ISSUE_CREDENTIAL = "issue_credential"
    LIST_CREDENTIALS = "list_credentials"
    REVOKE_CREDENTIAL = "revoke_credential"
    REGISTER_DEVICE = "register_device"
    DEVICE_STATUS = "device_status"
    ATTACH_POLICY = "attach_policy"
    DEREGISTER_DEVICE = "deregister_device"
    CHECKIN = "checkin"


MUTATING_ENDPOINTS = frozenset(
    {
        Endpoint.ISSUE_CREDENTIAL,
        Endpoint.REVOKE_CREDENTIAL,
        Endpoint.REGISTER_DEVICE,
        Endpoint.ATTACH_POLICY,
        Endpoint.DEREGISTER_DEVICE,
        Endpoint.CHECKIN,
    }
)

CountedFault = Literal[
    "server_errors", "server_errors_after_commit", "drop_connections", "throttle", "garbled"
]


class CloudFaults(BaseModel):
    """Fault knobs; counted knobs are used up one request at a time.

    Faults apply to the management API (every endpoint but `checkin`), or only to the
    endpoints in `endpoints` when it is set.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency: float = Field(
        default=0.0, ge=0, le=300, description="Seconds before a request is handled."
    )
    server_errors: int = Field(
        default=0, ge=0, description="The next N requests answer 503 and change nothing."
    )
    server_error_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of requests answering 503, changing nothing."
    )
    server_errors_after_commit: int = Field(
        default=0,
        ge=0,
        description="The next N mutating requests take effect, then answer 500 (lost answer).",
    )
    drop_connections: int = Field(
        default=0, ge=0, description="The next N requests are dropped without an answer."
    )
    throttle: int = Field(
        default=0, ge=0, description="The next N requests answer 429, whatever the quota."
    )
    throttle_retry_after: int = Field(
        default=1, ge=0, le=3600, description="Retry-After (seconds) sent with `throttle`."
    )
    garbled: int = Field(
        default=0, ge=0, description="The next N requests answer 200 with a body that is not JSON."
    )
    silent_devices: frozenset[str] = Field(
        default_factory=frozenset,
        description="Devices that never check in by themselves (see `auto_checkin_delay`).",
    )
    endpoints: frozenset[Endpoint] | None = Field(
        default=None, description="Only these endpoints are faulted; all when unset."
    )

    def applies_to(self, endpoint: Endpoint) -> bool:
        """Whether request faults hit `endpoint`."""
        if self.endpoints is not None:
            return endpoint in self.endpoints
        return endpoint is not Endpoint.CHECKIN


class QuotaConfig(BaseModel):
    """Requests admitted per second, over any sliding one-second window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    global_per_second: int | None = Field(
        default=None, ge=1, description="All clients together; unlimited when unset."
    )
    client_per_second: int | None = Field(
        default=None, ge=1, description="Each API client; unlimited when unset."
    )


class CloudConfig(BaseModel):
    """What the simulated cloud accepts and how it behaves.

    `api_keys` and `claim_tokens` are secrets of the cloud: they are compared, never
    shown by `/_sim/cloud/state`, never logged.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_keys: dict[str, str] = Field(
        default_factory=lambda: {DEV_API_KEY: "devprov"},
        description="API key -> client name (quotas and idempotency keys are per client).",
    )
    claim_tokens: frozenset[str] = Field(default_factory=lambda: frozenset({DEV_CLAIM_TOKEN}))
    policies: frozenset[str] = Field(default_factory=lambda: frozenset({DEFAULT_POLICY}))
    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    auto_checkin_delay: float | None = Field(
        default=None,
        ge=0,
        description=(
            "Seconds after which a registered device with a policy and an active credential "
            "checks in by itself (stands for the real device); never when unset."
        ),
    )
    certificate_validity_days: int = Field(default=365, ge=1, le=36500)
    ownership_token_ttl: float = Field(default=3600.0, gt=0)
    idempotency_ttl: float = Field(default=24 * 3600.0, gt=0)
    checkin_clock_skew: float = Field(
        default=300.0, gt=0, description="Seconds a check-in timestamp may be off."
    )
    faults: CloudFaults = Field(default_factory=CloudFaults)
    seed: int | None = Field(default=None, description="Seed of `server_error_rate`.")
