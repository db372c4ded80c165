"""The states a provisioning run moves through."""

from __future__ import annotations

from enum import StrEnum


class ProvisioningState(StrEnum):
    """State of one provisioning run, as shown to users and stored as a search attribute."""

    PENDING = "PENDING"
    DETECTING = "DETECTING"
    PRE_CHECK = "PRE_CHECK"
    PENDING_NETWORK = "PENDING_NETWORK"
    WAITING_FOR_DEVICE = "WAITING_FOR_DEVICE"
    PROVISIONING = "PROVISIONING"
    CONFIRMING = "CONFIRMING"
    ROLLING_BACK = "ROLLING_BACK"
    SUCCEEDED = "SUCCEEDED"
    FAILED_VALIDATION = "FAILED_VALIDATION"
    FAILED = "FAILED"
    ROLLED_BACK = "ROLLED_BACK"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        """True once the run can no longer change."""
        return self in TERMINAL_STATES


TERMINAL_STATES: frozenset[ProvisioningState] = frozenset(
    {
        ProvisioningState.SUCCEEDED,
        ProvisioningState.FAILED_VALIDATION,
        ProvisioningState.FAILED,
        ProvisioningState.ROLLED_BACK,
        ProvisioningState.CANCELLED,
    }
)


class VisibleState(StrEnum):
    """What Temporal's visibility store records of a run (the `ProvisioningState` search
    attribute): the states people act on or filter by, and one coarse `IN_PROGRESS` while
    the run moves on its own.

    Every change of a search attribute is a visibility write (and a billable action on
    Temporal Cloud); the exact step lives in the run's progress query, its events, its
    current details in the Web UI and the audit log.
    """

    IN_PROGRESS = "IN_PROGRESS"
    PENDING_NETWORK = "PENDING_NETWORK"
    WAITING_FOR_DEVICE = "WAITING_FOR_DEVICE"
    ROLLING_BACK = "ROLLING_BACK"
    SUCCEEDED = "SUCCEEDED"
    FAILED_VALIDATION = "FAILED_VALIDATION"
    FAILED = "FAILED"
    ROLLED_BACK = "ROLLED_BACK"
    CANCELLED = "CANCELLED"

    @classmethod
    def of(cls, state: ProvisioningState) -> VisibleState:
        """The value visibility records for a run in `state`."""
        # A step the run moves through on its own has no value of its own here (looked
        # up, not raised and caught: this runs at every state change of every run).
        return _VISIBLE.get(state.value, cls.IN_PROGRESS)

    @classmethod
    def parse(cls, recorded: str | None) -> VisibleState | None:
        """A recorded value, read back; runs of versions before the coarse states
        recorded every exact state (DETECTING, …), which read as IN_PROGRESS."""
        if not recorded:
            return None
        try:
            return cls.of(ProvisioningState(recorded))
        except ValueError:
            return cls.IN_PROGRESS if recorded == cls.IN_PROGRESS.value else None

    @property
    def is_terminal(self) -> bool:
        """True for the states of a finished run."""
        return any(self.value == state.value for state in TERMINAL_STATES)


class Step(StrEnum):
    """Lifecycle step a run is in; a strategy implements each of them."""

    START = "start"
    DETECT = "detect"
    PRE_CHECK = "pre_check"
    AWAIT_NETWORK = "await_network"
    PROVISION = "provision"
    CONFIRM = "confirm"
    ROLLBACK = "rollback"
    DONE = "done"


_VISIBLE: dict[str, VisibleState] = {visible.value: visible for visible in VisibleState}
