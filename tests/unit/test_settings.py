"""Settings: every documented variable is read by a settings class, defaults hold once."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings, SettingsError, ZigbeeSettings, environment_variables

EVERY_VARIABLE = {
    "DEVPROV_TEMPORAL_ADDRESS": ("temporal.frontend", "temporal.example:7233", None),
    "DEVPROV_TEMPORAL_NAMESPACE": ("temporal.namespace", "prod", None),
    "DEVPROV_TEMPORAL_UI_PORT": ("temporal.ui_port", "9233", 9233),
    "DEVPROV_TEMPORAL_UI_URL": ("temporal.ui_url", "http://ui.example", None),
    "DEVPROV_DATA_DIR": ("data_dir", "/var/lib/devprov", Path("/var/lib/devprov")),
    "DEVPROV_API_HOST": ("api.host", "0.0.0.0", None),
    "DEVPROV_API_PORT": ("api.port", "9080", 9080),
    "DEVPROV_API_KEY": ("api.key", "dpk_a_b", None),
    "DEVPROV_API_KEYS_FILE": ("api.keys_file", "/etc/keys.json", Path("/etc/keys.json")),
    "DEVPROV_API_AUTH": ("api.auth", "off", None),
    "DEVPROV_SIMULATOR_HOST": ("simulators.host", "0.0.0.0", None),
    "DEVPROV_SIMULATOR_HTTP_PORT": ("simulators.http_port", "9090", 9090),
    "DEVPROV_SIMULATOR_BLE_PORT": ("simulators.ble_port", "9091", 9091),
    "DEVPROV_SIMULATOR_BLE_HCI_PORT": ("simulators.ble_hci_port", "9097", 9097),
    "DEVPROV_SIMULATOR_ZIGBEE_PORT": ("simulators.zigbee_port", "9093", 9093),
    "DEVPROV_SITE": ("edge.site", "lab", None),
    "DEVPROV_EDGE_HOST": ("edge.host", "gw7", None),
    "DEVPROV_EDGE_CAPABILITIES": (
        "edge.capabilities",
        "http-wifi, zigbee",
        ("http-wifi", "zigbee"),
    ),
    "DEVPROV_HTTP_DEVICE_ADDRESS_TEMPLATE": (
        "http_device_address_template",
        "http://lan/{device_id}",
        None,
    ),
    "DEVPROV_HTTP_DEVICE_TIMEOUT": ("http_wifi.timeout_seconds", "7", 7.0),
    "DEVPROV_BLE_BACKEND": ("ble.backend", "bluez", None),
    "DEVPROV_BLE_SCAN_TIMEOUT": ("ble.scan_timeout_seconds", "2.5", 2.5),
    "DEVPROV_ZIGBEE_RADIO": ("zigbee.radio", "znp:/dev/ttyUSB0", None),
    "DEVPROV_ZIGBEE_BAUDRATE": ("zigbee.baudrate", "460800", 460800),
    "DEVPROV_ZIGBEE_CHANNEL": ("zigbee.channel", "20", 20),
    "DEVPROV_ZIGBEE_CAPACITY": ("zigbee.capacity", "250", 250),
    "DEVPROV_DEFAULT_STRATEGY": ("selection.default_strategy", "http-wifi", None),
    "DEVPROV_DISABLED_STRATEGIES": (
        "selection.disabled_strategies",
        "zigbee,improv-ble",
        ("zigbee", "improv-ble"),
    ),
    "DEVPROV_SSE_POLL_INTERVAL": ("api.sse_poll_interval_seconds", "0.25", 0.25),
    "DEVPROV_METRICS_REFRESH": ("metrics.refresh_seconds", "30", 30.0),
    "DEVPROV_METRICS_HOST": ("metrics.host", "0.0.0.0", None),
    "DEVPROV_METRICS_PUBLIC": ("metrics.public", "1", True),
    "DEVPROV_WORKER_METRICS_PORT": ("metrics.worker_port", "9100", 9100),
    "DEVPROV_SDK_METRICS_PORT": ("metrics.sdk_port", "9101", 9101),
    "DEVPROV_WORKER_HEALTH_PORT": ("worker.health_port", "9102", 9102),
    "DEVPROV_WORKER_GRACEFUL_SHUTDOWN": ("worker.graceful_shutdown_seconds", "45", 45.0),
    "DEVPROV_AUDIT_LOG": ("worker.audit_log", "/var/log/audit.jsonl", Path("/var/log/audit.jsonl")),
    "DEVPROV_CLOUD_URL": ("cloud.base_url", "https://cloud.example", None),
    "DEVPROV_CLOUD_PORT": ("cloud.port", "9092", 9092),
    "DEVPROV_CLOUD_API_KEY": ("cloud.api_key", "cloud-key", None),
    "DEVPROV_CLOUD_CLAIM_TOKEN": ("cloud.claim_token", "claim", None),
    "DEVPROV_AWS_IOT_POLICY_TEMPLATE": (
        "aws_iot.policy_template",
        "iot-{tenant}-things",
        None,
    ),
    "DEVPROV_AWS_IOT_THING_TYPE": ("aws_iot.thing_type", "smart-plug", None),
    "DEVPROV_AWS_IOT_THING_GROUP_PREFIX": ("aws_iot.thing_group_prefix", "site-", None),
    "DEVPROV_AWS_IOT_MATCH_CERTIFICATE_SUBJECT": (
        "aws_iot.match_certificate_subject",
        "true",
        True,
    ),
    "DEVPROV_AWS_LOCAL_PORT": ("aws_iot.local_port", "9094", 9094),
    "DEVPROV_CODEC_KEYS": ("codec.keys", "k1:AAAA", None),
    "DEVPROV_CODEC_KEY_FILE": ("codec.key_file", "/etc/codec-keys", Path("/etc/codec-keys")),
    "DEVPROV_CODEC_PORT": ("codec.port", "9096", 9096),
    "DEVPROV_CODEC_TOKEN": ("codec.token", "t0ken", None),
}


def _read(settings: Settings, path: str) -> object:
    value: object = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize("variable", sorted(EVERY_VARIABLE))
def test_each_variable_keeps_its_name(variable: str) -> None:
    path, raw, expected = EVERY_VARIABLE[variable]

    assert _read(Settings.from_env({variable: raw}), path) == (
        raw if expected is None else expected
    )


def test_every_variable_of_the_configuration_guide_is_covered() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    for variable in EVERY_VARIABLE:
        assert f"`{variable}`" in guide, variable


def test_the_aws_iot_policy_is_named_per_tenant() -> None:
    settings = Settings.from_env({"DEVPROV_AWS_IOT_POLICY_TEMPLATE": "iot-{tenant}-things"})

    assert settings.aws_iot.policy_for("acme") == "iot-acme-things"
    assert Settings().aws_iot.policy_for("default") == "devprov-default-devices"


@pytest.mark.parametrize("template", ["iot-{site}", "iot {tenant}", "iot-{tenant"])
def test_a_policy_template_that_cannot_name_a_policy_is_refused(template: str) -> None:
    with pytest.raises(SettingsError, match="DEVPROV_AWS_IOT_POLICY_TEMPLATE"):
        Settings.from_env({"DEVPROV_AWS_IOT_POLICY_TEMPLATE": template})


def test_a_capacity_above_65535_is_a_capacity_not_a_port() -> None:
    settings = Settings.from_env({"DEVPROV_ZIGBEE_CAPACITY": "70000"})

    assert settings.zigbee.capacity == 70000


def test_a_port_above_65535_is_refused_with_the_variable_name() -> None:
    with pytest.raises(SettingsError, match="DEVPROV_API_PORT"):
        Settings.from_env({"DEVPROV_API_PORT": "70000"})


def test_a_capacity_of_zero_is_refused() -> None:
    with pytest.raises(SettingsError, match="DEVPROV_ZIGBEE_CAPACITY"):
        ZigbeeSettings.from_env({"DEVPROV_ZIGBEE_CAPACITY": "0"})


def test_a_word_where_a_number_belongs_is_refused_with_the_variable_name() -> None:
    with pytest.raises(SettingsError, match="DEVPROV_SSE_POLL_INTERVAL"):
        Settings.from_env({"DEVPROV_SSE_POLL_INTERVAL": "soon"})


def test_derived_defaults_follow_the_ports_they_come_from() -> None:
    settings = Settings.from_env(
        {
            "DEVPROV_TEMPORAL_PORT": "7300",
            "DEVPROV_CLOUD_PORT": "9300",
            "DEVPROV_SIMULATOR_HOST": "10.0.0.2",
            "DEVPROV_SIMULATOR_HTTP_PORT": "9400",
        }
    )

    assert settings.temporal.frontend == "127.0.0.1:7300"
    assert settings.cloud.base_url == "http://127.0.0.1:9300"
    assert settings.http_device_address_template == "http://10.0.0.2:9400/devices/{device_id}"


def test_auto_channel_and_unset_ports() -> None:
    settings = Settings.from_env(
        {"DEVPROV_ZIGBEE_CHANNEL": "auto", "DEVPROV_WORKER_METRICS_PORT": "0"}
    )

    assert settings.zigbee.channel is None
    assert settings.metrics.worker_port is None


def test_defaults_ignore_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVPROV_API_PORT", "9999")

    assert Settings().api.port == 8080
    assert Settings.from_env().api.port == 9999


def test_an_explicit_temporal_address_wins_over_a_profile() -> None:
    assert Settings.from_env({"DEVPROV_TEMPORAL_PORT": "7300"}).temporal.explicit_frontend
    assert not Settings.from_env({}).temporal.explicit_frontend


def test_the_configuration_guide_lists_every_variable_the_settings_read() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()

    assert {name for name in environment_variables() if f"`{name}`" not in guide} == set()
