"""Fixtures of the explorer: its settings (printing the seed) and a temporary directory
for the gateways' data."""

from __future__ import annotations

import pytest

from tests.explorer.exploration import ExplorerSettings


@pytest.fixture
def explorer_settings() -> ExplorerSettings:
    """`DEVPROV_EXPLORER_*` settings of the in-process explorer; the seed is printed."""
    settings = ExplorerSettings.from_env()
    print(f"explorer seed: {settings.seed} (replay with DEVPROV_EXPLORER_SEED={settings.seed})")
    return settings


@pytest.fixture
def process_explorer_settings() -> ExplorerSettings:
    """Settings of the process-level explorer (`DEVPROV_EXPLORER_PROCESS_SEQUENCES`)."""
    settings = ExplorerSettings.from_env("DEVPROV_EXPLORER_PROCESS_SEQUENCES", 0)
    print(f"explorer seed: {settings.seed} (replay with DEVPROV_EXPLORER_SEED={settings.seed})")
    return settings
