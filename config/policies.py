"""Resolving step policies: shared defaults, each family's own, then the operator's.

A run of strategy `name` starts with, field by field, the later winning:

1. `[defaults]` of the policy file: the packaged `defaults.toml`, or the file
   `DEVPROV_POLICY_FILE` names, with `DEVPROV_POLICY__DEFAULTS__...` variables;
2. the policies its family's descriptor declares (`DeviceFamily.policy`);
3. `[strategies.<name>]` of the policy file, with `DEVPROV_POLICY__STRATEGIES__...`
   variables.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.durations import parse_duration
from config.settings import PolicySettings
from domain.policies import LifecyclePolicy, PolicySection
from strategies.family import DeviceFamily, installed_families

ENV_PREFIX = "DEVPROV_POLICY__"
_DURATION_FIELDS = {
    "start_to_close",
    "schedule_to_close",
    "heartbeat",
    "initial_interval",
    "maximum_interval",
    "network_wait",
    "device_wait",
    "device_poll_interval",
    "pinned_worker_timeout",
    "site_worker_timeout",
}


class PolicyConfigError(ValueError):
    """The policy configuration is invalid; the message names the offending entry."""


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _convert_durations(node: Any, path: str) -> Any:
    if isinstance(node, Mapping):
        return {k: _convert_durations(v, f"{path}.{k}") for k, v in node.items()}
    leaf = path.rsplit(".", 1)[-1]
    if leaf in _DURATION_FIELDS and isinstance(node, str):
        try:
            return parse_duration(node)
        except ValueError as exc:
            raise PolicyConfigError(f"{path}: {exc}") from exc
    return node


def _leaves(tree: Mapping[str, Any], path: tuple[str, ...] = ()) -> list[tuple[list[str], Any]]:
    leaves: list[tuple[list[str], Any]] = []
    for key, value in tree.items():
        if isinstance(value, Mapping):
            leaves += _leaves(value, (*path, key))
        else:
            leaves.append(([*path, key], value))
    return leaves


def _env_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for found, raw in _leaves(overrides):
        parts = [p.lower() for p in found if p]
        name = ENV_PREFIX + "__".join(found).upper()
        if len(parts) < 2:
            raise PolicyConfigError(f"{name}: expected {ENV_PREFIX}<SCOPE>__...__<FIELD>")
        if parts[0] == "strategies" and len(parts) > 2:
            # Shells cannot set names with '-': HTTP_WIFI stands for http-wifi.
            parts[1] = parts[1].replace("_", "-")
        value: Any = raw
        if parts[-1] in {"maximum_attempts", "max_failovers"}:
            value = int(raw)
        elif parts[-1] == "backoff_coefficient":
            value = float(raw)
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def _plain(section: Mapping[Any, Any]) -> dict[str, Any]:
    """A family's policy section as the file's sections are: string keys all the way."""
    return {
        str(key): _plain(value) if isinstance(value, Mapping) else value
        for key, value in section.items()
    }


class PolicyBook:
    """Every strategy's lifecycle policy, resolved from configuration.

    Args:
        raw: The policy file's tree (`defaults`, `strategies`), overrides merged in.
        families: Each family's own policy section, by family name.
    """

    def __init__(
        self, raw: Mapping[str, Any], families: Mapping[str, PolicySection] | None = None
    ) -> None:
        unknown = set(raw) - {"defaults", "strategies"}
        if unknown:
            raise PolicyConfigError(f"unknown top-level sections: {', '.join(sorted(unknown))}")
        converted = _convert_durations(raw, "policy")
        self._defaults: dict[str, Any] = dict(converted.get("defaults", {}))
        self._strategies: dict[str, Any] = dict(converted.get("strategies", {}))
        self._families: dict[str, Any] = {
            name: _convert_durations(_plain(section), f"family {name}")
            for name, section in (families or {}).items()
        }
        self._cache: dict[str, LifecyclePolicy] = {}
        for name in [*self._families, *self._strategies, "*"]:
            self.for_strategy(name)  # validate everything at load time

    def for_strategy(self, name: str) -> LifecyclePolicy:
        """The policy a run of strategy `name` starts with."""
        if name not in self._cache:
            merged = _merge(
                _merge(self._defaults, self._families.get(name, {})),
                self._strategies.get(name, {}),
            )
            try:
                self._cache[name] = LifecyclePolicy.model_validate(merged)
            except ValidationError as exc:
                raise PolicyConfigError(f"policy of strategy '{name}': {exc}") from exc
        return self._cache[name]


def load_policy_book(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    families: Iterable[DeviceFamily] | None = None,
) -> PolicyBook:
    """Load the policy file (default: the packaged `defaults.toml`) with env overrides,
    over the policies of `families` (default: the installed ones)."""
    settings = PolicySettings.from_env(environ)
    file_name = path or settings.policy_file
    if file_name is not None:
        text = file_name.read_text()
    else:
        text = resources.files("config").joinpath("defaults.toml").read_text()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyConfigError(f"{file_name or 'defaults.toml'}: {exc}") from exc
    chosen = installed_families() if families is None else families
    return PolicyBook(
        _merge(raw, _env_overrides(settings.policy)),
        {family.name: family.policy for family in chosen},
    )
