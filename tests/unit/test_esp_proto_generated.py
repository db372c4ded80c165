"""The committed ESP-IDF message modules are what `make esp-proto` generates from the
committed `.proto` files with the pinned toolchain, and they keep ESP-IDF's wire format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from adapters.esp_prov.proto import sec2_pb2, session_pb2, wifi_config_pb2

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "adapters" / "esp_prov" / "proto"


def test_the_committed_modules_are_regenerated_identically(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_esp_proto.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )

    fresh = {path.name: path.read_text() for path in tmp_path.iterdir()}
    committed = {
        path.name: path.read_text()
        for path in PROTO_DIR.iterdir()
        if path.name.endswith(("_pb2.py", "_pb2.pyi"))
    }
    assert fresh.keys() == committed.keys()
    stale = sorted(name for name in fresh if fresh[name] != committed[name])
    assert not stale, f"run `make esp-proto`: {stale} differ from a fresh generation"


def test_every_definition_names_its_origin_and_licence() -> None:
    for proto in PROTO_DIR.glob("*.proto"):
        header = proto.read_text().splitlines()[:5]
        assert "// SPDX-License-Identifier: Apache-2.0" in header, proto.name
        assert any("github.com/espressif/esp-idf" in line for line in header), proto.name
    assert (PROTO_DIR / "NOTICE").is_file()
    assert (PROTO_DIR / "LICENSE-ESP-IDF").read_text().lstrip().startswith("Apache License")


def test_field_numbers_are_esp_idfs() -> None:
    # SessionData{sec_ver=2 (tag 2), sec2 (tag 12){sc0 (tag 20){client_username (tag 1)}}};
    # msg = 0 is proto3's default and is not sent.
    message = session_pb2.SessionData(sec_ver=session_pb2.SecScheme2)
    message.sec2.msg = sec2_pb2.S2Session_Command0
    message.sec2.sc0.client_username = b"u"

    assert message.SerializeToString() == bytes.fromhex("1002 6206 a20103 0a0175".replace(" ", ""))

    config = wifi_config_pb2.WiFiConfigPayload(msg=wifi_config_pb2.TypeCmdSetConfig)
    config.cmd_set_config.ssid = b"s"
    assert config.SerializeToString() == bytes.fromhex("0802 6203 0a0173".replace(" ", ""))
