"""The SDK guide's quick start runs as written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from simulators.http_wifi import SimulatedWifiDevice
from tests.client.proxy import SeverableProxy
from tests.integration.conftest import request_body

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def quick_start() -> str:
    [code, *_] = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    return str(code)


async def test_the_quick_start_provisions_a_device(
    proxy: SeverableProxy,
    device: SimulatedWifiDevice,
    site: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = request_body(site)
    body["device"]["device_id"] = device.device_id  # type: ignore[index]
    request = tmp_path / "request.json"
    request.write_text(json.dumps(body))
    namespace: dict[str, Any] = {"__name__": "sdk_guide"}
    exec(compile(quick_start(), str(GUIDE), "exec"), namespace)

    state = await namespace["provision_one"](proxy.url, None, str(request))

    assert state == "SUCCEEDED"
    printed = capsys.readouterr().out
    assert "strategy: http-wifi needs Wi-Fi: True" in printed
    assert "CONFIRMING" in printed
