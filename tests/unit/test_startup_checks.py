"""What the API and the workers refuse at start: weak or placeholder API keys, keys of
a bad shape, and running without payload encryption unless it is switched off loudly.

A refusal is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from api.auth import AuthConfig, KeyStore, Scope, new_key
from config.settings import CodecSettings
from connection.codec import CodecKeyError, KeyRing, load_key_ring

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "dpk_ops1_" + "Zq8x-Lm3vT_p0aW9rYk2Nc5dHs7uEj4B"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("dpk_REPLACE_id_REPLACE_secret", "placeholder"),
        ("dpk_abc_<secret>", "placeholder"),
        ("dpk_a_b", "at least 24"),
        ("dpk_a_" + "a" * 40, "too predictable"),
        ("dpk_a_" + "ab" * 20, "too predictable"),
        ("not-a-key", "dpk_<id>_<secret>"),
        ("dpk_bad-id_" + "Zq8x-Lm3vT_p0aW9rYk2Nc5dHs7uEj4B", "key id"),
    ],
)
def test_a_weak_or_malformed_api_key_is_refused_with_its_reason(key: str, reason: str) -> None:
    with pytest.raises(ValueError, match="DEVPROV_API_KEY") as refused:
        AuthConfig.from_env({"DEVPROV_API_KEY": key})
    assert reason in str(refused.value)
    assert key not in str(refused.value)  # the refusal never echoes the secret


def test_generated_keys_and_a_strong_configured_key_are_accepted() -> None:
    for _ in range(200):
        plaintext, _stored = new_key("tenant-a", [Scope.READ])
        assert AuthConfig.from_env({"DEVPROV_API_KEY": plaintext}).keys.has_keys
    assert AuthConfig.from_env({"DEVPROV_API_KEY": STRONG_KEY}).keys.authenticate(STRONG_KEY)


@pytest.mark.parametrize(
    "entry",
    [
        {"id": "ok1", "sha256": "0" * 64, "tenant": "Tenant A", "scopes": ["read"]},
        {"id": "ok1", "sha256": "0" * 64, "tenant": "tenant-a\n", "scopes": ["read"]},
        {"id": "bad_id", "sha256": "0" * 64, "tenant": "tenant-a", "scopes": ["read"]},
        {"id": "ok1", "sha256": "short", "tenant": "tenant-a", "scopes": ["read"]},
        {"id": "ok1", "sha256": "0" * 64, "tenant": "tenant-a", "scopes": ["root"]},
    ],
)
def test_a_keys_file_with_a_bad_entry_is_refused(tmp_path: Path, entry: dict[str, object]) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([entry]))
    with pytest.raises(ValueError, match="DEVPROV_API_KEYS_FILE"):
        KeyStore.load(path)


def test_without_a_key_ring_payload_encryption_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(CodecKeyError, match="DEVPROV_CODEC=off"):
        load_key_ring(CodecSettings.defaults(), default_file=tmp_path / "codec-keys")


def test_encryption_switched_off_explicitly_is_logged_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = CodecSettings.from_env({"DEVPROV_CODEC": "off"})

    assert load_key_ring(settings, default_file=tmp_path / "codec-keys") is None
    assert any(
        r.levelno >= logging.WARNING and "NOT encrypted" in r.getMessage() for r in caplog.records
    )


def test_the_active_key_id_is_logged_at_start(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ring = KeyRing.generate()
    active = ring.dump().split(":", 1)[0]

    load_key_ring(CodecSettings.from_env({"DEVPROV_CODEC_KEYS": ring.dump()}))

    assert any(f"active key '{active}'" in r.getMessage() for r in caplog.records)


def _start(module: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DEVPROV_", "TEMPORAL_"))}
    environ.update(
        DEVPROV_DATA_DIR=str(tmp_path),
        DEVPROV_TEMPORAL_ADDRESS="127.0.0.1:9",  # nothing listens: no start gets that far
        DEVPROV_METRICS_WORKER_PORT="0",
        DEVPROV_METRICS_SDK_PORT="0",
        **env,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that whatever it started goes with it
    )
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _refused_in_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("module", ["api", "worker.embedded"])
def test_a_placeholder_api_key_stops_the_api_with_one_line_and_status_2(
    module: str, tmp_path: Path
) -> None:
    result = _start(
        module,
        tmp_path,
        DEVPROV_API_KEY="dpk_REPLACE_id_REPLACE_secret",
        DEVPROV_CODEC_KEYS=KeyRing.generate().dump(),
    )
    _refused_in_one_line(result, "DEVPROV_API_KEY", "placeholder")
    assert "REPLACE_secret" not in result.stderr


@pytest.mark.parametrize("module", ["api", "worker.central", "worker.edge"])
def test_a_service_without_codec_keys_stops_with_one_line_and_status_2(
    module: str, tmp_path: Path
) -> None:
    result = _start(module, tmp_path, DEVPROV_API_KEY=STRONG_KEY)
    _refused_in_one_line(result, "DEVPROV_CODEC_KEYS", "DEVPROV_CODEC=off")
