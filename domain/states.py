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
