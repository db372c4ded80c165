"""The CLI's live progress display and prompts (rich), as a `ProvisioningView`."""

from __future__ import annotations

import asyncio
import getpass
import sys

from rich.console import Console
from rich.status import Status
from rich.table import Table

from client.coordinator import ProvisioningOutcome
from client.ports import CredentialsRequest, FoundDevice
from domain.api_models import DeviceView, RunStatus, StartedRun, StrategyMatch
from domain.device import DeviceDescriptor
from domain.progress import ProgressEvent, StreamedEvent
from domain.requests import NetworkCredentials
from domain.states import ProvisioningState

_STYLE = {
    ProvisioningState.SUCCEEDED: "bold green",
    ProvisioningState.FAILED: "bold red",
    ProvisioningState.FAILED_VALIDATION: "bold red",
    ProvisioningState.ROLLED_BACK: "bold yellow",
    ProvisioningState.CANCELLED: "bold yellow",
    ProvisioningState.ROLLING_BACK: "yellow",
    ProvisioningState.PENDING_NETWORK: "bold cyan",
    ProvisioningState.WAITING_FOR_DEVICE: "bold magenta",
}


def event_line(event: ProgressEvent) -> str:
    """One line of a run's timeline (rich markup)."""
    style = _STYLE.get(event.state, "bold")
    code = f" [red]{event.error_code}[/]" if event.error_code else ""
    return (
        f"{event.updated_at:%H:%M:%S} [{style}]{event.state.value:<18}[/] "
        f"{event.step.value:<14} {event.message}{code}"
    )


class RichView:
    """Prints the timeline line by line, with a spinner for the current state.

    Args:
        console: Where to print (stderr keeps stdout for `--json` output).
        interactive: Whether a person may be asked (credentials, retry).
        retries: Retries to accept without asking (non-interactive use).
    """

    def __init__(self, console: Console, *, interactive: bool, retries: int = 0) -> None:
        self._console = console
        self._interactive = interactive
        self._retries = retries
        self._status: Status | None = None

    def strategy_selected(self, device: DeviceDescriptor, match: StrategyMatch) -> None:
        needs = ["Wi-Fi credentials"] if match.requires_network else []
        needs += [f"secret '{name}'" for name in match.secrets]
        self._console.print(
            f"[bold]{device.device_id}[/]: strategy [cyan]{match.strategy}[/] "
            f"({match.placement}); needs {', '.join(needs) or 'nothing from you'}"
        )

    def run_started(self, device_id: str, run: StartedRun) -> None:
        self._console.print(f"started run {run.run_id} of {run.workflow_id}")
        self._spin(f"{device_id}: {run.state.value}")

    def progress(self, event: StreamedEvent) -> None:
        self._console.print(event_line(event), highlight=False)
        if event.terminal:
            self._stop_spinner()
        else:
            self._spin(f"{event.state.value}: {event.message}")

    def device_action_needed(self, event: StreamedEvent) -> None:
        self._console.print(f"[bold magenta]>>> {event.message}[/]")

    def stream_resumed(self, last_event_id: int | None) -> None:
        self._console.print(f"[dim]event stream resumed after event {last_event_id}[/]")

    def note(self, message: str) -> None:
        self._console.print(f"[dim]{message}[/]")

    async def offer_retry(self, outcome: ProvisioningOutcome) -> bool:
        if self._retries > 0:
            self._retries -= 1
            self._console.print("retrying (--retry)")
            return True
        if not self._interactive:
            return False
        answer = await self.ask(f"The run ended {outcome.state.value}. Retry? [y/N] ")
        return answer.strip().lower() in {"y", "yes"}

    async def ask_credentials(self, request: CredentialsRequest) -> NetworkCredentials | None:
        """Ask the person for Wi-Fi credentials (an empty SSID gives up)."""
        if request.rejected:
            self._console.print(f"[red]credentials rejected:[/] {request.rejected}")
        default = f" [{request.previous_ssid}]" if request.previous_ssid else ""
        ssid = (await self.ask(f"Wi-Fi network (SSID){default}: ")).strip()
        ssid = ssid or request.previous_ssid or ""
        if not ssid:
            return None
        passphrase = await self.ask(f"Passphrase for {ssid}: ", secret=True)
        return NetworkCredentials.model_validate({"ssid": ssid, "passphrase": passphrase})

    async def ask(self, prompt: str, *, secret: bool = False) -> str:
        """One line from the person (hidden when `secret` and on a terminal)."""
        self._stop_spinner()
        if sys.stdin.isatty():
            read = getpass.getpass if secret else input
            answer: str = await asyncio.to_thread(read, prompt)
            return answer
        self._console.print(prompt, end="")
        line: str = await asyncio.to_thread(sys.stdin.readline)
        self._console.print()
        return line.rstrip("\n")

    def _spin(self, text: str) -> None:
        if not self._console.is_terminal:
            return
        if self._status is None:
            self._status = self._console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def _stop_spinner(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def run_table(status: RunStatus) -> Table:
    """`devprov runs show`: the run and its timeline."""
    table = Table(title=f"{status.workflow_id} ({status.execution_status})", show_lines=False)
    for column in ("time", "state", "step", "attempt", "message"):
        table.add_column(column)
    for event in status.events:
        code = f" [{event.error_code}]" if event.error_code else ""
        table.add_row(
            f"{event.updated_at:%H:%M:%S}",
            event.state.value,
            event.step.value,
            str(event.attempt),
            event.message + code,
        )
    return table


def devices_table(devices: list[DeviceView]) -> Table:
    """`devprov devices list`: one row per device."""
    table = Table(title=f"{len(devices)} device(s)")
    for column in ("device id", "state", "strategy", "vendor", "site", "network", "address"):
        table.add_column(column)
    for device in devices:
        table.add_row(
            device.device_id,
            device.state.value,
            device.strategy,
            device.vendor,
            device.site,
            device.network_ssid or "",
            device.address or device.zigbee_nwk or "",
        )
    return table


def scan_table(found: list[FoundDevice]) -> Table:
    """`devprov scan`: the devices found."""
    table = Table(title=f"{len(found)} provisionable device(s) nearby")
    for column in ("device id", "transport", "rssi", "address", "detail"):
        table.add_column(column)
    for device in found:
        table.add_row(
            device.descriptor.device_id,
            device.transport,
            str(device.rssi) if device.rssi is not None else "",
            device.descriptor.transport_hints.get("ble_address", ""),
            device.detail,
        )
    return table
