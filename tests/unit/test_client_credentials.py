"""Client-side Wi-Fi credentials sources."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from client.credentials import (
    CommandRunner,
    CredentialsUnavailable,
    CurrentNetworkCredentials,
    FileCredentials,
    FirstAvailable,
    GivenCredentials,
    PromptCredentials,
)
from client.ports import CredentialsRequest
from domain.requests import NetworkCredentials

ASK = CredentialsRequest(device_id="plug-1")
REJECTED = CredentialsRequest(device_id="plug-1", rejected="auth_failed", previous_ssid="home")
HOME = NetworkCredentials.model_validate({"ssid": "home", "passphrase": "correct-horse"})


def canned(outputs: dict[str, str]) -> CommandRunner:
    """A command runner answering the first output whose key is in the command line."""

    async def run(argv: Sequence[str]) -> str | None:
        line = " ".join(argv)
        return next((out for key, out in outputs.items() if key in line), None)

    return run


async def test_network_manager_gives_the_active_wifi_connection() -> None:
    source = CurrentNetworkCredentials(
        platform="linux",
        run=canned(
            {
                "--active": "Wired 1:802-3-ethernet\nHome\\: 5G:802-11-wireless\n",
                "id Home: 5G": "home-5g\ncorrect-horse\n",
            }
        ),
    )

    found = await source.credentials(ASK)

    assert found is not None
    assert found.ssid == "home-5g"
    assert found.passphrase.get_secret_value() == "correct-horse"


async def test_macos_reads_the_network_and_its_keychain_password() -> None:
    source = CurrentNetworkCredentials(
        platform="darwin",
        run=canned(
            {
                "networksetup -getairportnetwork": "Current Wi-Fi Network: office\n",
                "-a office -w": "office-pass-1\n",
            }
        ),
    )

    found = await source.credentials(ASK)

    assert found is not None
    assert (found.ssid, found.passphrase.get_secret_value()) == ("office", "office-pass-1")


async def test_windows_reads_the_interface_and_the_profile_key() -> None:
    source = CurrentNetworkCredentials(
        platform="win32",
        run=canned(
            {
                "show interfaces": "    Name        : Wi-Fi\n    SSID        : lab\n",
                "name=lab key=clear": "    Key Content            : lab-passphrase\n",
            }
        ),
    )

    found = await source.credentials(ASK)

    assert found is not None
    assert (found.ssid, found.passphrase.get_secret_value()) == ("lab", "lab-passphrase")


async def test_windows_without_a_saved_key_offers_nothing() -> None:
    source = CurrentNetworkCredentials(
        platform="win32", run=canned({"show interfaces": "    SSID        : lab\n"})
    )

    assert await source.credentials(ASK) is None


async def test_the_current_network_is_not_offered_again_after_a_rejection() -> None:
    source = CurrentNetworkCredentials(
        platform="linux",
        run=canned({"--active": "Home:802-11-wireless\n", "id Home": "home\ncorrect-horse\n"}),
    )

    assert await source.credentials(REJECTED) is None


async def test_a_real_nmcli_on_the_path_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nmcli = tmp_path / "nmcli"
    nmcli.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  *--active*) echo "Lab:802-11-wireless" ;;\n'
        '  *) printf "lab-net\\nlab-passphrase\\n" ;;\n'
        "esac\n"
    )
    nmcli.chmod(nmcli.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    found = await CurrentNetworkCredentials(platform="linux").credentials(ASK)

    assert found is not None
    assert found.ssid == "lab-net"


async def test_no_network_tool_means_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")

    assert await CurrentNetworkCredentials(platform="linux").credentials(ASK) is None


async def test_a_credentials_file_is_read_and_a_bad_one_is_named(tmp_path: Path) -> None:
    good = tmp_path / "wifi.json"
    good.write_text('{"ssid": "home", "passphrase": "correct-horse"}')
    bad = tmp_path / "bad.json"
    bad.write_text('{"ssid": "home", "passphrase": "short"}')

    assert await FileCredentials(good).credentials(ASK) == HOME
    with pytest.raises(CredentialsUnavailable, match="passphrase"):
        await FileCredentials(bad).credentials(ASK)


async def test_the_chain_falls_back_to_the_person_after_a_rejection() -> None:
    asked: list[CredentialsRequest] = []

    async def person(request: CredentialsRequest) -> NetworkCredentials:
        asked.append(request)
        return HOME

    chain = FirstAvailable(GivenCredentials(HOME), PromptCredentials(person))

    assert await chain.credentials(ASK) == HOME
    assert asked == []
    assert await chain.credentials(REJECTED) == HOME
    assert asked == [REJECTED]


async def test_forgotten_credentials_are_not_offered_again() -> None:
    given = GivenCredentials(HOME)

    given.forget()

    assert await given.credentials(ASK) is None
