"""devprov's promise, checked on one execution against the simulators' own state.

Every run ends either SUCCEEDED with the device configured for the network the run
reports, or with the device as before the run and every side effect undone — with a
leftover only when an undo step itself failed, and then error code ROLLBACK_FAILED and
the leftover named. A provisioning and a decommissioning run of the device never hold it
at once (exactly one wins the registry's claim; the other does nothing), and once every
run ended the registry's record says what the device and the cloud hold. Around that
promise: the run ends within its bounds, every accepted operator action is in its
events, the API's views keep up with the workflow, every answer of the API is one its
contract allows, and every history replays.

A violation's `key` says which finding it is: the shrinker keeps a sequence that fails
with the same key, and the report groups the sequences by it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.explorer.model import ActionKind
from tests.explorer.runner import TERMINAL, ActionRecord, Execution, RunEnd, short
from tests.explorer.world import EXTRA_CREDENTIALS
from workflows.wifi_cloud import CLOUD_COMPENSATION

INVARIANTS: dict[str, str] = {
    "I1": "every run ends within its bounds",
    "I2": "SUCCEEDED: the device (and cloud) hold exactly the network the run reports",
    "I3": "any other end: the device and the cloud are as before the run",
    "I4": "ROLLBACK_FAILED: each leftover is named in the result and in the events",
    "I5-events": "every accepted operator action appears in the run's events",
    "I5-view": "the API's views are never more than a poll interval behind the workflow",
    "I6": "every run's history replays without non-determinism",
    "I7": "no run fails for a reason only devprov itself can cause",
    "I8": "an undo step is never cut short by a cancellation",
    "I9": "at most one run (provisioning or decommissioning) holds the device at a time; "
    "a run that lost the claim does nothing to it",
    "I10": "once every run ended, the registry's record matches the device and the cloud",
    "API": "every API answer is 2xx or a problem+json 4xx the action allows",
    "HARNESS": "the explorer could run the sequence",
}

ACTION_EVENT_WORDS: dict[ActionKind, tuple[tuple[str, ...], ...]] = {
    ActionKind.CREDENTIALS: (
        ("credentials", "received"),
        ("credentials", "accepted"),
        ("new", "credentials"),
    ),
    ActionKind.FORGET_CREDENTIALS: (
        ("credentials", "forgotten"),
        ("credentials", "forget"),
        ("credentials", "dropped"),
        ("no", "credentials", "held"),
    ),
    ActionKind.RETRY: (("retry", "requested"), ("retry", "asked"), ("retry", "received")),
    ActionKind.CANCEL: (
        ("cancel", "requested"),
        ("cancellation", "requested"),
        ("cancel", "asked"),
        ("cancel", "received"),
    ),
}
"""How the events tell an accepted action: any group whose words all appear in one event's
message (case-insensitive). The only place that knows the workflow's wording."""

ALLOWED_ANSWERS: dict[ActionKind, frozenset[tuple[int, str | None]]] = {
    ActionKind.START: frozenset({(202, None)}),
    ActionKind.CREDENTIALS: frozenset(
        {
            (200, None),
            (409, "RUN_NOT_WAITING"),
            (409, "RUN_ALREADY_FINISHED"),
            (422, "INVALID_REQUEST"),
            (404, "RUN_NOT_FOUND"),
        }
    ),
    ActionKind.FORGET_CREDENTIALS: frozenset(
        {
            (200, None),
            (409, "RUN_NOT_WAITING"),
            (409, "RUN_ALREADY_FINISHED"),
            (404, "RUN_NOT_FOUND"),
        }
    ),
    ActionKind.RETRY: frozenset(
        {
            (200, None),
            (202, None),
            (409, "RUN_NOT_WAITING"),
            (409, "RUN_ALREADY_FINISHED"),
            (404, "RUN_NOT_FOUND"),
        }
    ),
    ActionKind.CANCEL: frozenset(
        {(202, None), (409, "RUN_ALREADY_FINISHED"), (404, "RUN_NOT_FOUND")}
    ),
    ActionKind.FLEET_RETRY: frozenset(
        {
            (200, None),
            (202, None),
            (409, "RUN_NOT_WAITING"),
            (409, "RUN_ALREADY_FINISHED"),
            # Two retries of an ended fleet at once: the second meets the run the first
            # one started (docs/fleets.md).
            (409, "RUN_IN_PROGRESS"),
            (422, "INVALID_REQUEST"),
            (404, "RUN_NOT_FOUND"),
        }
    ),
    ActionKind.FLEET_CANCEL: frozenset(
        {(202, None), (409, "RUN_ALREADY_FINISHED"), (404, "RUN_NOT_FOUND")}
    ),
    ActionKind.DECOMMISSION: frozenset(
        {
            (202, None),
            (409, "RUN_IN_PROGRESS"),
            (409, "DEVICE_NOT_IN_SERVICE"),
            (404, "NOT_FOUND"),
            # A family that declares no decommission plan (esp-prov-ble).
            (422, "DECOMMISSION_UNSUPPORTED"),
        }
    ),
    ActionKind.REPROVISION: frozenset(
        {
            (202, None),
            (409, "RUN_IN_PROGRESS"),
            (422, "REPROVISION_POLICY_UNSUPPORTED"),
        }
    ),
}
"""What the API may answer to each operator action (docs/api.md)."""

BUSY = 2.0
"""Seconds the explorer's own reads took around an action above which a 503
TEMPORAL_UNAVAILABLE counts as the machine being too busy, not as the API failing."""

SELF_INFLICTED = frozenset(
    {
        "INTERNAL_ERROR",
        "CLOUD_IDEMPOTENCY_MISMATCH",
        "CLOUD_CONFLICT",
        "CLOUD_INVALID_REQUEST",
        "CLOUD_FORBIDDEN",
        "CLOUD_NOT_FOUND",
        "CLOUD_UNAUTHORIZED",
        "CLOUD_CLAIM_REJECTED",
        "IMPROV_INVALID_RPC",
        "IMPROV_UNKNOWN_COMMAND",
        "BLE_CHARACTERISTIC_MISSING",
        "ZIGBEE_INVALID_INSTALL_CODE",
    }
)
"""Error codes no generated fault, action or device explains: a reused idempotency key,
a request the cloud finds invalid, a protocol misuse, an internal error."""


@dataclass(frozen=True)
class Violation:
    """One broken invariant in one execution."""

    invariant: str
    key: str
    message: str

    def describe(self) -> str:
        return f"{self.invariant} ({INVARIANTS[self.invariant]}): {self.message}"


def _matches(message: str, kind: ActionKind) -> bool:
    text = message.lower()
    return any(all(word in text for word in group) for group in ACTION_EVENT_WORDS[kind])


def _events(end: RunEnd) -> list[dict[str, Any]]:
    events = end.snapshot.get("events") or []
    return [e for e in events if isinstance(e, dict)]


def _accepted(record: ActionRecord) -> bool:
    answer = record.answer
    return answer is not None and answer.status is not None and 200 <= answer.status < 300


def check_ends(execution: Execution) -> list[Violation]:
    """I1, I2, I3, I4 and I7 on every run of the device, oldest first.

    The device starts every run in its initial state as long as the runs before left it
    so; after one that did not, later runs start from an unknown device and only the
    first is held to I2/I3.
    """
    family = execution.sequence.family.value
    found = [
        Violation("I1", f"I1/{family}", f"{where} had not ended after its bound (terminated)")
        for where in execution.unended
    ]
    device_as_initially = True
    cloud_left_behind = False
    for run_id in execution.runs:
        end = execution.ends.get(run_id)
        if end is None:
            continue
        state, code, name = end.state, end.error_code, short(run_id)
        if state not in TERMINAL:
            message = f"run {name} closed while it showed {state}"
            found.append(Violation("I1", f"I1/{family}", message))
            continue
        if code == "CLOUD_CONFLICT" and cloud_left_behind:
            pass  # the registration an earlier run named as not undone (docs/errors.md)
        elif code in SELF_INFLICTED:
            found.append(
                Violation("I7", f"I7/{family}/{code}", f"run {name} ended {state} with {code}")
            )
        if code == "ROLLBACK_FAILED":
            found += _leftovers_named(family, end)
            leftovers = [str(x) for x in end.snapshot.get("leftovers") or []]
            cloud_left_behind |= CLOUD_COMPENSATION in leftovers
        if code == "DEVICE_BUSY":
            continue  # it never held the device (I9 checks it did nothing)
        if run_id in execution.reprovisions:
            # A re-provisioning run starts from a device in service: any end but success
            # is judged against the record by I10 (a reset leaves it reset,
            # UNPROVISIONED; a migration back on its previous network, unchanged).
            if state == "SUCCEEDED" and end.problems:
                ssid = end.snapshot.get("network_ssid")
                message = (
                    f"re-provisioning run {name} SUCCEEDED for {ssid!r} but "
                    + "; ".join(end.problems)
                    + f" [{end.world}]"
                )
                found.append(Violation("I2", f"I2/{family}/reprovision", message))
            continue
        if end.problems is None:
            device_as_initially = False  # not seen at its end: what follows is unknown
        if not device_as_initially or not end.problems:
            continue
        device_as_initially = False
        details = "; ".join(end.problems)
        if state == "SUCCEEDED":
            ssid = end.snapshot.get("network_ssid")
            message = f"run {name} SUCCEEDED for {ssid!r} but {details} [{end.world}]"
            found.append(Violation("I2", f"I2/{family}", message))
        elif code != "ROLLBACK_FAILED":
            message = f"run {name} ended {state} ({code}) but {details} [{end.world}]"
            found.append(Violation("I3", f"I3/{family}", message))
    return found


def check_decommissions(execution: Execution) -> list[Violation]:
    """I1, I4 and I7 on the device's decommissioning runs (their effect on the device is
    judged by I9 and I10)."""
    family = execution.sequence.family.value
    found = []
    for run_id in execution.decommissions:
        end = execution.decommission_ends.get(run_id)
        if end is None:
            continue
        state, code, name = end.state, end.error_code, short(run_id)
        if state not in TERMINAL:
            message = f"decommission {name} closed while it showed {state}"
            found.append(Violation("I1", f"I1/{family}/decommission", message))
        if code in SELF_INFLICTED:
            message = f"decommission {name} ended {state} with {code}"
            found.append(Violation("I7", f"I7/{family}/decommission/{code}", message))
        if code == "ROLLBACK_FAILED":
            found += _leftovers_named(f"{family}/decommission", end)
    return found


def check_exclusive_ownership(execution: Execution) -> list[Violation]:
    """I9: the runs' registry claims never overlap, and a run without one did nothing."""
    family = execution.sequence.family.value
    found = [
        Violation(
            "I9",
            f"I9/{family}/acted-without-claim",
            f"run {short(run_id)} never held the device's claim but ran {steps}",
        )
        for run_id, steps in execution.busy_runs_that_acted.items()
    ]
    held = sorted(execution.ownership, key=lambda o: o.since)
    for earlier, later in itertools.pairwise(held):
        if earlier.until is None or later.since < earlier.until:
            found.append(
                Violation(
                    "I9",
                    f"I9/{family}/overlap",
                    f"{earlier.workflow_id} run {short(earlier.run_id)} held the device "
                    f"until {earlier.until} when {later.workflow_id} run "
                    f"{short(later.run_id)} claimed it at {later.since}",
                )
            )
    return found


def check_final_record(execution: Execution) -> list[Violation]:
    """I10: the record, once every run ended, against the device and the cloud."""
    record, world = execution.final_record, execution.final_world
    if record is None or world is None or execution.unended:
        return []
    family = execution.sequence.family.value
    configured, restored, held = world
    state = record.get("state")
    ends = [*execution.ends.values(), *execution.decommission_ends.values()]
    problems: list[str] = []
    if state == "IN_SERVICE":
        problems = configured
        if _cloud_leftover_named(ends):
            # A later run does not undo what an earlier one named as left behind
            # (ROLLBACK_FAILED: a person's job, docs/errors.md), as I2 and I7 hold too.
            problems = [p for p in problems if not p.startswith(EXTRA_CREDENTIALS)]
    elif state in ("UNPROVISIONED", "DECOMMISSIONED"):
        problems = restored
    elif state == "FAILED":
        if not any(end.error_code == "ROLLBACK_FAILED" for end in ends):
            problems = ["no run ended with leftovers (ROLLBACK_FAILED)"]
    else:
        problems = ["a run still holds it, though every run ended"]
    if not problems:
        return []
    message = (
        f"the record says {state} (ssid {record.get('network_ssid')!r}) but "
        + "; ".join(problems)
        + f" [{held}]"
    )
    return [Violation("I10", f"I10/{family}/{state}", message)]


def _cloud_leftover_named(ends: list[RunEnd]) -> bool:
    """Whether a run ended ROLLBACK_FAILED naming its cloud registration as left behind."""
    return any(
        end.error_code == "ROLLBACK_FAILED"
        and CLOUD_COMPENSATION in [str(x) for x in end.snapshot.get("leftovers") or []]
        for end in ends
    )


def _leftovers_named(family: str, end: RunEnd) -> list[Violation]:
    leftovers = [str(x) for x in end.snapshot.get("leftovers") or []]
    name = short(end.run_id)
    if not leftovers:
        return [Violation("I4", f"I4/{family}", f"run {name} names no leftover in its result")]
    messages = " ".join(str(e.get("message", "")) for e in _events(end))
    unnamed = [leftover for leftover in leftovers if leftover not in messages]
    if unnamed:
        return [Violation("I4", f"I4/{family}", f"run {name}: no event names {unnamed}")]
    return []


def check_actions_recorded(execution: Execution) -> list[Violation]:
    """I5: each accepted credentials, forget-credentials, retry (in-run) and cancel is in
    the events of the run it was sent to.

    Actions are sent side by side: a retry may start a new run while a cancel is on its
    way, so the run an action hit is one of those current while it was in flight (the
    API answers without naming the run); its events must be in one of them.
    """
    expected: Counter[tuple[tuple[str, ...], ActionKind]] = Counter()
    for record in execution.records:
        kind, answer = record.action.kind, record.answer
        if kind not in ACTION_EVENT_WORDS or answer is None or not _accepted(record):
            continue
        if kind is ActionKind.RETRY and answer.status == 202:
            continue  # a new run after the end: the run itself is the record
        candidates = execution.runs_during(record.sent_at, answer.at)
        if not candidates and record.before.run_id is not None:
            candidates = [record.before.run_id]
        if candidates:
            expected[(tuple(candidates), kind)] += 1
    found = []
    for (runs, kind), count in sorted(expected.items()):
        ends = [execution.ends[run] for run in runs if run in execution.ends]
        if len(ends) < len(runs):
            continue  # a run not seen at its end: nothing to hold it to
        seen = sum(_matches(str(e.get("message", "")), kind) for end in ends for e in _events(end))
        needed = 1 if kind is ActionKind.CANCEL else count
        if seen < needed:
            names = " or ".join(short(run) for run in runs)
            message = f"{count} accepted {kind.value} to run {names}, {seen} in its events"
            if kind is ActionKind.CANCEL:
                message += "".join(
                    f" (run {short(end.run_id)} ended {end.state}; "
                    + (
                        "its history has no cancel request)"
                        if execution.cancel_requests.get(end.run_id) is None
                        else f"after its cancel request: {execution.cancel_requests[end.run_id]})"
                    )
                    for end in ends
                )
            found.append(Violation("I5-events", f"I5-events/{kind.value}", message))
    return found


def check_undo_steps(execution: Execution) -> list[Violation]:
    """I8: no undo activity was sent a cancellation (it would be dropped unfinished)."""
    family = execution.sequence.family.value
    return [
        Violation("I8", f"I8/{family}", f"run {short(run_id)} cancelled its undo step(s) {names}")
        for run_id, names in execution.interrupted_undos.items()
    ]


def check_views(execution: Execution) -> list[Violation]:
    """I5: what the API showed kept up with the workflow."""
    return [
        Violation(
            "I5-view",
            f"I5-view/{stale.view.split()[0]}",
            f"{stale.view} showed {stale.shown} for {stale.seconds}s while the workflow "
            f"was {stale.truth}" + (f" ({stale.detail})" if stale.detail else ""),
        )
        for stale in execution.stale
    ]


def check_replays(execution: Execution) -> list[Violation]:
    """I6."""
    family = execution.sequence.family.value
    return [
        Violation("I6", f"I6/{family}", f"run {short(run_id)}: {error[:300]}")
        for run_id, error in execution.replay_failures.items()
    ]


def check_answers(
    execution: Execution, extra: frozenset[tuple[int, str]] = frozenset()
) -> list[Violation]:
    """Every answer is 2xx or a problem+json 4xx allowed for the action (or one of
    `extra`); a retry after a success is refused."""
    found = []
    for record in execution.records:
        kind, answer = record.action.kind, record.answer
        if answer is None or not kind.is_operator:
            continue
        if answer.status is None:
            found.append(Violation("API", f"API/{kind.value}/none", record.describe()))
            continue
        status, code = answer.status, answer.code
        if (status, code) == (503, "TEMPORAL_UNAVAILABLE") and record.busy >= BUSY:
            continue  # the machine was too busy to answer in time (the API says so)
        if (status, code) == (503, "TEMPORAL_UNAVAILABLE") and kind is ActionKind.CANCEL:
            continue  # the run's worker did not answer in time: check_refused_cancels
        if status >= 300 and not answer.problem:
            found.append(
                Violation(
                    "API", f"API/{kind.value}/{status}", f"not problem+json: {record.describe()}"
                )
            )
        elif (status, code if status >= 300 else None) not in ALLOWED_ANSWERS[kind] | extra:
            found.append(Violation("API", f"API/{kind.value}/{status}/{code}", record.describe()))
        elif kind is ActionKind.RETRY and status == 202 and record.before.state == "SUCCEEDED":
            found.append(
                Violation("API", "API/retry/202-after-success", f"a new run: {record.describe()}")
            )
    return found


def check_refused_cancels(execution: Execution) -> list[Violation]:
    """A cancel answered `503 TEMPORAL_UNAVAILABLE` changed nothing (docs/api.md): a run
    it may have reached holds no cancel request unless another cancel was accepted there.

    The API reads the run before it cancels; when the run's worker does not answer that
    read in time the cancel is not sent, and the person is told to try again.
    """
    accepted: set[str] = set()
    refused: list[tuple[ActionRecord, list[str]]] = []
    for record in execution.records:
        kind, answer = record.action.kind, record.answer
        if kind not in (ActionKind.CANCEL, ActionKind.FLEET_CANCEL) or answer is None:
            continue
        runs = execution.runs_during(record.sent_at, answer.at)
        if not runs and record.before.run_id is not None:
            runs = [record.before.run_id]
        if _accepted(record):
            accepted.update(runs)
        elif kind is ActionKind.CANCEL and (answer.status, answer.code) == (
            503,
            "TEMPORAL_UNAVAILABLE",
        ):
            refused.append((record, runs))
    return [
        Violation(
            "API",
            "API/cancel/503-took-effect",
            f"run {short(run)} holds a cancel request that only a refused cancel could have "
            f"sent: {record.describe()}",
        )
        for record, runs in refused
        for run in runs
        if run in execution.cancel_requests and run not in accepted
    ]


def check(
    execution: Execution, *, extra_answers: frozenset[tuple[int, str]] = frozenset()
) -> list[Violation]:
    """Every invariant on one execution; `extra_answers` are allowed besides the API's
    usual answers (e.g. 503 while a worker is down)."""
    if execution.harness_error is not None:
        family = execution.sequence.family.value
        return [Violation("HARNESS", f"HARNESS/{family}", execution.harness_error)]
    return [
        *check_ends(execution),
        *check_decommissions(execution),
        *check_exclusive_ownership(execution),
        *check_final_record(execution),
        *check_actions_recorded(execution),
        *check_undo_steps(execution),
        *check_views(execution),
        *check_replays(execution),
        *check_refused_cancels(execution),
        *check_answers(execution, extra_answers),
    ]
