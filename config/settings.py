"""Runtime settings of the API, the workers and the embedded stack, from the environment.

One pydantic-settings class per concern and per device family, each with its own
environment prefix; every default is written once, on its field. `Settings` composes
them: `Settings()` holds the defaults (what `make run` uses), `Settings.from_env()`
reads the process environment (or a given mapping). See docs/configuration.md.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from config.startup import ConfigurationError


class SettingsError(ConfigurationError):
    """An environment variable holds an invalid value."""


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _host_name(raw: str) -> str:
    """A task-queue-safe host name: lowercase letters, digits and '-'."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    return cleaned[:63] or "edge"


def _unset_when_zero(value: Any) -> Any:
    return None if value in (0, "0") else value


Port = Annotated[int, Field(ge=0, le=65535)]
"""A TCP port (0: any free one)."""
OptionalPort = Annotated[
    Annotated[int, Field(ge=1, le=65535)] | None, BeforeValidator(_unset_when_zero)
]
"""A TCP port, or unset (`None`, also for an empty value or `0`) to serve nothing."""
NameList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_names)]
"""A comma-separated list of names (`a,b`), empty when unset."""
Seconds = Annotated[float, Field(gt=0)]
HostName = Annotated[str, AfterValidator(_host_name)]
"""A task-queue-safe host name."""

_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("devprov_settings_environ")


class _MappingEnvSource(EnvSettingsSource):
    """Environment variables from a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env_vars = parse_env_vars(
            dict(environ), self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class EnvSettings(BaseSettings):
    """Base of every settings class: immutable, unknown variables ignored, empty values
    meaning "unset", and readable from a given mapping for tests and manifests."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get(None)
        if environ is not None:
            env_settings = _MappingEnvSource(settings_cls, environ)
        return init_settings, env_settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Read from `environ` (default: the process environment).

        Raises:
            SettingsError: a variable holds an invalid value (its name is in the message).
        """
        token = _ENVIRON.set(environ)
        try:
            return cls()
        except ValidationError as error:
            raise SettingsError(_explain(cls, error)) from None
        finally:
            _ENVIRON.reset(token)

    @classmethod
    def defaults(cls, **overrides: Any) -> Self:
        """The defaults (with `overrides`), whatever the environment holds."""
        token = _ENVIRON.set({})
        try:
            return cls(**overrides)
        finally:
            _ENVIRON.reset(token)


def _explain(cls: type[BaseSettings], error: ValidationError) -> str:
    """`DEVPROV_ZIGBEE_CAPACITY: Input should be greater than 0 (got '0')`, one per line."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    lines = []
    for problem in error.errors(include_url=False):
        field_name = str(problem["loc"][0]) if problem["loc"] else ""
        field = cls.model_fields.get(field_name)
        names = [f"{prefix}{field_name}".upper()]
        alias = field.validation_alias if field is not None else None
        if isinstance(alias, AliasChoices):
            names = [str(choice) for choice in alias.choices]
        elif isinstance(alias, str):
            names = [alias]
        got = problem.get("input")
        lines.append(f"{' / '.join(names)}: {problem['msg']} (got {got!r})")
    return "; ".join(lines)


# ---------------------------------------------------------------------- concerns


class TemporalSettings(EnvSettings):
    """Where Temporal is (`DEVPROV_TEMPORAL_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_TEMPORAL_")

    port: Port = 7233
    """gRPC port of the embedded dev server; the address defaults to it on loopback."""
    address: str | None = None
    """Temporal frontend to connect to (None: `127.0.0.1:<port>`)."""
    namespace: str = "default"
    ui_port: Port = 8233
    ui_url: str | None = None
    """Base URL of the Temporal Web UI that the console links runs to."""

    @property
    def frontend(self) -> str:
        """The address to connect to."""
        return self.address or f"127.0.0.1:{self.port}"

    @property
    def explicit_frontend(self) -> bool:
        """Whether devprov's own variables chose the frontend (they win over a profile)."""
        return bool({"address", "port"} & self.model_fields_set)

    @property
    def explicit_namespace(self) -> bool:
        """Whether devprov's own variable chose the namespace."""
        return "namespace" in self.model_fields_set


class ApiSettings(EnvSettings):
    """The HTTP API: where it listens, its keys, its limits (`DEVPROV_API_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_API_")

    host: str = "127.0.0.1"
    port: Port = 8080
    auth: str = ""
    """`off`: serve every caller as admin (behind a gateway that authenticates)."""
    key: str | None = None
    """One API key (admin of tenant `default`); `make run` makes one when unset."""
    keys_file: Path | None = None
    """A file of API keys with their tenants and scopes."""
    sse_poll_interval_seconds: Seconds = Field(
        default=0.5, validation_alias=AliasChoices("DEVPROV_SSE_POLL_INTERVAL")
    )
    max_request_bytes: PositiveInt = 64 * 1024
    max_fleet_request_bytes: PositiveInt = 2 * 1024 * 1024
    """Fleet requests list up to 10,000 devices."""
    starts_per_minute: PositiveInt = 600
    """Starts (runs, fleets, retries) per key and minute."""
    devices_per_hour: PositiveInt = 20_000
    """Devices started per key and hour: a fleet counts each of its devices."""
    streams_per_key: PositiveInt = 50
    """Event streams a key may hold open at once."""

    @property
    def authenticates(self) -> bool:
        """False when `DEVPROV_API_AUTH=off`."""
        return self.auth.lower() != "off"


class MetricsSettings(EnvSettings):
    """Prometheus endpoints of the API, the workers and the SDK (`DEVPROV_METRICS_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_METRICS_")

    host: str = "127.0.0.1"
    """Address the worker and SDK metrics endpoints bind to (`0.0.0.0` in a container)."""
    refresh_seconds: Seconds = Field(
        default=10.0, validation_alias=AliasChoices("DEVPROV_METRICS_REFRESH")
    )
    """How often the API counts open runs per state for `/metrics`."""
    public: bool = False
    """`/metrics` of the API answers without a key."""
    worker_port: OptionalPort = Field(
        default=None, validation_alias=AliasChoices("DEVPROV_WORKER_METRICS_PORT")
    )
    """Serve the workers' Prometheus metrics on this port (standalone workers)."""
    sdk_port: OptionalPort = Field(
        default=None, validation_alias=AliasChoices("DEVPROV_SDK_METRICS_PORT")
    )
    """Serve the Temporal SDK's runtime metrics on this port."""
    serve_process_metrics: bool = True
    """`/metrics` of the API also shows this process's worker metrics (embedded stack)."""


class WorkerSettings(EnvSettings):
    """A worker process: probes, shutdown, audit trail, where it keeps data."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_WORKER_")

    health_port: OptionalPort = None
    """Serve a standalone worker's `/healthz` and `/readyz` on this port."""
    graceful_shutdown_seconds: Annotated[float, Field(ge=0)] = Field(
        default=10.0, validation_alias=AliasChoices("DEVPROV_WORKER_GRACEFUL_SHUTDOWN")
    )
    """How long a stopping worker lets its in-flight tasks finish before cancelling them."""
    audit_log: Path | None = Field(default=None, validation_alias=AliasChoices("DEVPROV_AUDIT_LOG"))
    """Where the JSON audit trail goes (None: standard output, or the stack's file)."""
    data_dir: Path = Field(default=Path("data"), validation_alias=AliasChoices("DEVPROV_DATA_DIR"))
    """The dev server's database, the codec keys, each gateway's own files."""


LAN_OUTBOUND = " ".join(
    f"{scheme}://{network}:1-65535"
    for scheme in ("http", "https")
    for network in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "[fc00::]/7",
        "[::1]/128",
    )
)
"""The default outbound allow-list of a gateway: private and loopback addresses."""


class EdgeSettings(EnvSettings):
    """An edge worker: its site, its gateway name, its capabilities (`DEVPROV_EDGE_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_EDGE_")

    site: str = Field(default="local", validation_alias=AliasChoices("DEVPROV_SITE"))
    host: HostName = Field(default_factory=socket.gethostname)
    """Gateway name: its own task queue is `edge.<site>.<host>`."""
    capabilities: NameList = ()
    """Edge capabilities to host; empty means all of them."""
    outbound: str = LAN_OUTBOUND
    """Where this gateway may send HTTP for a device: rules `scheme://range:ports`,
    checked on the resolved address of every request and redirect (see
    `adapters.outbound`). The default is the private and loopback ranges, never a public
    or link-local address; narrow it to the site's device subnets and ports."""


class RegistrySettings(EnvSettings):
    """The device registry's database (`DEVPROV_REGISTRY_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_REGISTRY_")

    url: SecretStr | None = None
    """`postgresql+asyncpg://user:password@host/devprov` or `sqlite+aiosqlite:///<path>`
    (`sqlite:///<path>` alike: the registry runs SQLite on `sqlite3` either way; None: a
    SQLite file `registry/registry.db` under the data directory). A secret: it may hold
    the database's password."""


class SelectionSettings(EnvSettings):
    """Which strategy serves a device: the default and the kill switch (`DEVPROV_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_")

    default_strategy: str | None = None
    disabled_strategies: NameList = ()


class CodecSettings(EnvSettings):
    """Payload encryption keys and the codec server (`DEVPROV_CODEC_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_CODEC_")

    enabled: bool = Field(default=True, validation_alias=AliasChoices("DEVPROV_CODEC"))
    """`DEVPROV_CODEC=off` writes payloads in clear (the only way to run without keys)."""
    keys: str | None = None
    """Key ring `id:base64key,...`, active key first (a secret)."""
    key_file: Path | None = None
    """A file holding that ring."""
    port: Port = 8096
    token: str | None = None
    """Token of the codec server (random when unset)."""


class WebhookSettings(EnvSettings):
    """Webhook delivery (`DEVPROV_WEBHOOKS_*`): target policy, retries, maximum age."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_WEBHOOKS_")

    allow_private: bool = False
    """Let subscriptions target http and loopback, private or link-local addresses
    (`make run` and tests turn it on); off: https to public addresses only."""
    max_age_seconds: Seconds = 24 * 3600.0
    """An event not delivered this long after it was written (or redelivered) is dead."""
    first_retry_seconds: Seconds = 5.0
    """Wait after the first failed try; each later wait doubles, up to `max_retry_seconds`."""
    max_retry_seconds: Seconds = 3600.0
    timeout_seconds: Seconds = 10.0
    """How long a receiver has to answer one try."""
    poll_seconds: Seconds = 60.0
    """Longest wait of a delivery workflow between two looks at its outbox."""
    lanes_at_once: PositiveInt = 10
    """Devices (lanes) whose next event one subscription sends at once."""
    secret_grace_seconds: Seconds = 24 * 3600.0
    """After a secret rotation, how long deliveries are signed with the old secret as
    well as the new one (a rotation may ask for another grace)."""
    hook_timeout_seconds: Seconds = 5.0
    """How long a tenant's pre-provisioning hook has to answer one call."""
    ca_file: Path | None = None
    """PEM certificates of the CAs that sign the hooks' TLS certificates, instead of the
    system's trust store (private CAs, tests)."""


class SimulatorSettings(EnvSettings):
    """Where the embedded stack serves its simulated devices (`DEVPROV_SIMULATOR_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_SIMULATOR_")

    host: str = "127.0.0.1"
    http_port: Port = 8090
    ble_port: Port = 8091
    """Control API and web pages of the simulated Improv devices."""
    ble_hci_port: Port = 8097
    """HCI-over-TCP controller on the simulated BLE link, for `devprov scan`."""
    zigbee_port: Port = 8093
    """Control API of the simulated Zigbee devices."""
    esp_port: Port = 8098
    """Control API of the simulated ESP32s (`esp-prov-ble`)."""


class SystemdSettings(EnvSettings):
    """What systemd tells a service it starts (`NOTIFY_SOCKET`, `WATCHDOG_USEC`)."""

    notify_socket: str = ""
    watchdog_usec: int = 0


class PolicySettings(EnvSettings):
    """Where the step policies come from: `DEVPROV_POLICY_FILE` replaces the packaged
    file, `DEVPROV_POLICY__<SCOPE>__...__<FIELD>` overrides one entry of it."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_", env_nested_delimiter="__")

    policy_file: Path | None = None
    policy: dict[str, Any] = Field(default_factory=dict)
    """The overrides as a tree (`{"defaults": {"steps": {"confirm": {...}}}}`)."""


# ---------------------------------------------------------------------- device families


class HttpWifiSettings(EnvSettings):
    """The `http-wifi` family: devices with a local HTTP RPC API (`DEVPROV_HTTP_DEVICE_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_HTTP_DEVICE_")

    address_template: str | None = None
    """Base URL of a device's RPC API (None: the embedded stack's simulated devices)."""
    timeout_seconds: Seconds = Field(
        default=5.0, validation_alias=AliasChoices("DEVPROV_HTTP_DEVICE_TIMEOUT")
    )


class BleSettings(EnvSettings):
    """The `improv-ble` family's radio (`DEVPROV_BLE_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_BLE_")

    backend: str = "virtual"
    """Edge workers' BLE backend: `virtual`, `bluez[:<adapter>]`, `bumble-hci:<transport>`."""
    scan_timeout_seconds: Seconds = Field(
        default=5.0, validation_alias=AliasChoices("DEVPROV_BLE_SCAN_TIMEOUT")
    )


class ZigbeeSettings(EnvSettings):
    """The `zigbee` family's coordinator (`DEVPROV_ZIGBEE_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_ZIGBEE_")

    radio: str = "simulated"
    """`simulated`, `znp:<port>`, `ezsp:<port>`, `deconz:<port>`."""
    baudrate: PositiveInt | None = None
    channel: Annotated[int, Field(ge=11, le=26)] | None = 15
    """Channel of a network the coordinator forms (`auto`/None: zigpy picks one)."""
    capacity: PositiveInt = 100
    """Devices a gateway's Zigbee network may hold."""

    @field_validator("channel", mode="before")
    @classmethod
    def _auto_channel(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.lower() == "auto" else value


class CloudSettings(EnvSettings):
    """The `wifi-cloud` family's vendor cloud (`DEVPROV_CLOUD_*`)."""

    model_config = SettingsConfigDict(env_prefix="DEVPROV_CLOUD_")

    port: Port = 8092
    """Port of the simulated cloud of the embedded stack."""
    url: str | None = None
    """The vendor cloud (None: the simulated one on `port`)."""
    api_key: str = "devprov-cloud-dev-key"
    """API key of the vendor cloud (a secret of the central workers)."""
    claim_token: str = "devprov-fleet-claim-dev"
    """Claim exchanged for per-device credentials (a secret of the central workers)."""

    @property
    def base_url(self) -> str:
        """The cloud to call."""
        return self.url or f"http://127.0.0.1:{self.port}"


def _policy_template(value: str) -> str:
    try:
        probe = value.format(tenant="tenant")
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"may only use the {{tenant}} placeholder: {error}") from None
    if not re.fullmatch(r"[\w+=,.@-]{1,128}", probe):
        raise ValueError("must make an AWS IoT policy name: letters, digits and _+=,.@- only")
    return value


class AwsIotFamilySettings(EnvSettings):
    """The `wifi-aws-iot` family's AWS account naming (`DEVPROV_AWS_IOT_*`).

    Region, credentials and endpoints are not here: the AWS SDK finds them the standard
    way (`AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `AWS_ENDPOINT_URL_IOT`,
    `AWS_ENDPOINT_URL_IOT_DATA_PLANE`, roles), so no AWS secret is a devprov setting.
    """

    model_config = SettingsConfigDict(env_prefix="DEVPROV_AWS_IOT_")

    policy_template: Annotated[str, AfterValidator(_policy_template)] = "devprov-{tenant}-devices"
    """The IoT policy attached to a tenant's devices; `{tenant}` is the run's tenant."""
    thing_type: str | None = None
    """Thing type of every thing (it must exist); None: no type."""
    thing_group_prefix: str = "devprov-site-"
    """Each site's thing group is this prefix and the site name."""
    match_certificate_subject: bool = False
    """Only against a local AWS (moto), which signs a key of its own: also find a
    certificate by the CSR's subject. The embedded stack sets it."""
    local_port: Port = Field(default=8094, validation_alias=AliasChoices("DEVPROV_AWS_LOCAL_PORT"))
    """Port of the embedded stack's local AWS (moto's server) on loopback."""

    def policy_for(self, tenant: str) -> str:
        """The IoT policy of `tenant`'s devices."""
        return self.policy_template.format(tenant=tenant)


# ---------------------------------------------------------------------- all of them


def _defaults(cls: type[EnvSettings]) -> Any:
    return Field(default_factory=lambda: cls.defaults())


class Settings(BaseModel):
    """Every setting of a devprov process, by concern and by family."""

    model_config = ConfigDict(frozen=True)

    temporal: TemporalSettings = _defaults(TemporalSettings)
    api: ApiSettings = _defaults(ApiSettings)
    metrics: MetricsSettings = _defaults(MetricsSettings)
    worker: WorkerSettings = _defaults(WorkerSettings)
    edge: EdgeSettings = _defaults(EdgeSettings)
    registry: RegistrySettings = _defaults(RegistrySettings)
    selection: SelectionSettings = _defaults(SelectionSettings)
    codec: CodecSettings = _defaults(CodecSettings)
    webhooks: WebhookSettings = _defaults(WebhookSettings)
    simulators: SimulatorSettings = _defaults(SimulatorSettings)
    http_wifi: HttpWifiSettings = _defaults(HttpWifiSettings)
    ble: BleSettings = _defaults(BleSettings)
    zigbee: ZigbeeSettings = _defaults(ZigbeeSettings)
    cloud: CloudSettings = _defaults(CloudSettings)
    aws_iot: AwsIotFamilySettings = _defaults(AwsIotFamilySettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every concern from `environ` (default: the process environment).

        Raises:
            SettingsError: a variable holds an invalid value (its name is in the message).
        """
        concerns: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, EnvSettings):
                concerns[name] = kind.from_env(environ)
        return cls(**concerns)

    @property
    def data_dir(self) -> Path:
        """Where this process keeps its files."""
        return self.worker.data_dir

    @property
    def registry_url(self) -> str:
        """The device registry's database URL (default: SQLite under the data directory)."""
        if self.registry.url is not None:
            return self.registry.url.get_secret_value()
        return f"sqlite+aiosqlite:///{(self.data_dir / 'registry' / 'registry.db').resolve()}"

    @property
    def http_device_address_template(self) -> str:
        """Base URL of a device's RPC API (default: the simulated devices)."""
        simulators = self.simulators
        return (
            self.http_wifi.address_template
            or f"http://{simulators.host}:{simulators.http_port}/devices/{{device_id}}"
        )


def environment_variables() -> dict[str, str]:
    """Every environment variable the settings classes read, with the setting it sets
    (`DEVPROV_ZIGBEE_CAPACITY` -> `zigbee.capacity`)."""
    names: dict[str, str] = {}
    for concern, field in Settings.model_fields.items():
        kind = field.annotation
        if not (isinstance(kind, type) and issubclass(kind, EnvSettings)):
            continue
        prefix = str(kind.model_config.get("env_prefix", ""))
        for name, setting in kind.model_fields.items():
            alias = setting.validation_alias
            if isinstance(alias, AliasChoices):
                variables = [str(choice) for choice in alias.choices]
            elif isinstance(alias, str):
                variables = [alias]
            else:
                variables = [f"{prefix}{name}".upper()]
            for variable in variables:
                names[variable] = f"{concern}.{name}"
    return names
