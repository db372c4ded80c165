"""Wi-Fi credentials sources: given values, a file, the machine's current network, a
person; and a chain that asks each in turn."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from client.ports import CredentialsRequest, CredentialsSource
from domain.requests import NetworkCredentials

CommandRunner = Callable[[Sequence[str]], Awaitable[str | None]]
"""Runs a command and returns its standard output (None when it failed or is missing)."""


class CredentialsUnavailable(Exception):
    """A credentials source is misconfigured (e.g. its file is unreadable)."""


class _OfferOnce:
    """Offers its credentials until they are rejected or forgotten."""

    def __init__(self) -> None:
        self._forgotten = False

    def forget(self) -> None:
        self._forgotten = True

    def _usable(self, request: CredentialsRequest) -> bool:
        # The same credentials cannot fix a rejection: let the next source answer.
        return not self._forgotten and request.rejected is None


class GivenCredentials(_OfferOnce):
    """Credentials known up front (e.g. from command-line options)."""

    def __init__(self, credentials: NetworkCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def credentials(self, request: CredentialsRequest) -> NetworkCredentials | None:
        return self._credentials if self._usable(request) else None


class FileCredentials(_OfferOnce):
    """Credentials from a JSON file `{"ssid": ..., "passphrase": ...}` (keep it private)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path

    async def credentials(self, request: CredentialsRequest) -> NetworkCredentials | None:
        if not self._usable(request):
            return None
        try:
            return NetworkCredentials.model_validate_json(self._path.read_bytes())
        except OSError as error:
            raise CredentialsUnavailable(f"cannot read {self._path}: {error.strerror}") from None
        except ValidationError as error:
            fields = ", ".join(".".join(map(str, e["loc"])) or "(file)" for e in error.errors())
            raise CredentialsUnavailable(
                f"{self._path} is not valid credentials JSON {{ssid, passphrase}}: {fields}"
            ) from None


async def run_command(argv: Sequence[str]) -> str | None:
    """Run `argv` without a shell; its stdout, or None if it is missing or fails."""
    if shutil.which(argv[0]) is None:
        return None
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=10)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    return out.decode(errors="replace") if process.returncode == 0 else None


class CurrentNetworkCredentials(_OfferOnce):
    """The Wi-Fi network this machine is on, with its passphrase from the OS.

    Linux: NetworkManager (`nmcli`; reading a passphrase may need privileges).
    macOS: `networksetup` and the keychain (`security`, which may ask the user).
    Windows: `netsh wlan`. Elsewhere, or when the OS will not tell, it offers nothing.
    """

    def __init__(self, *, platform: str | None = None, run: CommandRunner = run_command) -> None:
        super().__init__()
        self._platform = platform or sys.platform
        self._run = run

    async def credentials(self, request: CredentialsRequest) -> NetworkCredentials | None:
        if not self._usable(request):
            return None
        if self._platform.startswith("linux"):
            found = await self._network_manager()
        elif self._platform == "darwin":
            found = await self._macos()
        elif self._platform.startswith("win"):
            found = await self._windows()
        else:
            found = None
        if found is None:
            return None
        ssid, passphrase = found
        try:
            return NetworkCredentials.model_validate({"ssid": ssid, "passphrase": passphrase})
        except ValidationError:
            return None

    async def _network_manager(self) -> tuple[str, str] | None:
        active = await self._run(
            ["nmcli", "-t", "-f", "NAME,TYPE", "connection", "show", "--active"]
        )
        names = [
            _nmcli_unescape(line.rsplit(":", 1)[0])
            for line in (active or "").splitlines()
            if line.endswith(":802-11-wireless")
        ]
        if not names:
            return None
        fields = "802-11-wireless.ssid,802-11-wireless-security.psk"
        shown = await self._run(["nmcli", "-s", "-g", fields, "connection", "show", "id", names[0]])
        lines = (shown or "").splitlines()
        if len(lines) < 2 or not lines[0]:
            return None
        return lines[0], lines[1]

    async def _macos(self) -> tuple[str, str] | None:
        shown = await self._run(["networksetup", "-getairportnetwork", "en0"])
        match = re.search(r"Current Wi-Fi Network: (.+)", shown or "")
        if match is None:
            return None
        ssid = match.group(1).strip()
        password = await self._run(
            [
                "security",
                "find-generic-password",
                "-D",
                "AirPort network password",
                "-a",
                ssid,
                "-w",
            ]
        )
        return (ssid, password.strip()) if password else None

    async def _windows(self) -> tuple[str, str] | None:
        shown = await self._run(["netsh", "wlan", "show", "interfaces"])
        match = re.search(r"^\s*SSID\s*:\s*(.+)$", shown or "", re.MULTILINE)
        if match is None:
            return None
        ssid = match.group(1).strip()
        profile = await self._run(["netsh", "wlan", "show", "profile", f"name={ssid}", "key=clear"])
        key = re.search(r"^\s*Key Content\s*:\s*(.+)$", profile or "", re.MULTILINE)
        return (ssid, key.group(1).strip()) if key else None


def _nmcli_unescape(value: str) -> str:
    return value.replace("\\:", ":").replace("\\\\", "\\")


Ask = Callable[[CredentialsRequest], Awaitable[NetworkCredentials | None]]


class PromptCredentials:
    """Asks a person, through the UI's own prompt (`ask` returns None to give up)."""

    def __init__(self, ask: Ask) -> None:
        self._ask = ask

    async def credentials(self, request: CredentialsRequest) -> NetworkCredentials | None:
        return await self._ask(request)

    def forget(self) -> None:
        """A person is asked anew each time: nothing to forget."""


class FirstAvailable:
    """Asks each source in order and returns the first credentials offered."""

    def __init__(self, *sources: CredentialsSource) -> None:
        self._sources = sources

    async def credentials(self, request: CredentialsRequest) -> NetworkCredentials | None:
        for source in self._sources:
            found = await source.credentials(request)
            if found is not None:
                return found
        return None

    def forget(self) -> None:
        for source in self._sources:
            source.forget()
