"""Exit statuses of `devprov`: scripts switch on them."""

from __future__ import annotations

from enum import IntEnum

from domain.states import ProvisioningState


class ExitCode(IntEnum):
    """What a `devprov` command's exit status means."""

    OK = 0
    """Done; for `provision --follow`, the run SUCCEEDED."""
    RUN_FAILED = 1
    """The run ended FAILED (its rollback failed too, or it could not roll back)."""
    USAGE = 2
    """Bad command line or request file."""
    REFUSED = 3
    """The API refused: unsupported device, run in progress, invalid request, no key."""
    ROLLED_BACK = 4
    """The run failed and the device was rolled back (ROLLED_BACK)."""
    CANCELLED = 5
    """The run was cancelled (CANCELLED, or ROLLED_BACK after a cancel)."""
    FAILED_VALIDATION = 6
    """The device did not pass the pre-check (FAILED_VALIDATION)."""
    UNAVAILABLE = 7
    """The API (or Temporal behind it) could not be reached."""
    DETACHED = 130
    """Interrupted: the CLI stopped following; the run goes on."""


def for_state(state: ProvisioningState, *, cancelled: bool = False) -> ExitCode:
    """The exit status of a run that ended in `state`."""
    if state is ProvisioningState.SUCCEEDED:
        return ExitCode.OK
    if state is ProvisioningState.CANCELLED or (
        cancelled and state is ProvisioningState.ROLLED_BACK
    ):
        return ExitCode.CANCELLED
    if state is ProvisioningState.ROLLED_BACK:
        return ExitCode.ROLLED_BACK
    if state is ProvisioningState.FAILED_VALIDATION:
        return ExitCode.FAILED_VALIDATION
    return ExitCode.RUN_FAILED
