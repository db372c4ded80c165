"""The dev server's CLI is found from the interpreter's virtualenv, whatever PATH says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from worker.dev_server import temporal_cli


def test_the_virtualenvs_temporal_is_found_without_it_on_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    found = temporal_cli()
    assert found is not None
    assert Path(found).parent == Path(sys.executable).parent
