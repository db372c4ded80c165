"""Which API the SDK and the CLI talk to, from `DEVPROV_API_URL` and `DEVPROV_API_KEY`.

The SDK ships to backend services without devprov's server packages, so it reads its
two variables with a settings class of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "http://127.0.0.1:8080"


class ClientSettings(BaseSettings):
    """The API's base URL and the caller's key."""

    model_config = SettingsConfigDict(
        env_prefix="DEVPROV_API_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    url: str = DEFAULT_API_URL
    key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSettings:
        """From `environ` (default: the process environment)."""
        if environ is None:
            return cls()
        return cls(
            url=environ.get("DEVPROV_API_URL") or DEFAULT_API_URL,
            key=environ.get("DEVPROV_API_KEY") or None,
        )
