"""A whole exploration: generate the sequences, run them side by side, check them, group
the violations into findings, shrink each finding to a minimal sequence, report.

Sizes and seeds come from the environment:

| variable | what | default |
|---|---|---|
| `DEVPROV_EXPLORER_SEQUENCES` | sequences to run in process | 100 |
| `DEVPROV_EXPLORER_PROCESS_SEQUENCES` | sequences of the worker-kill variant (0: skipped) | 0 |
| `DEVPROV_EXPLORER_SEED` | seed of the sequences | random (printed) |
| `DEVPROV_EXPLORER_CONCURRENCY` | sequences at once | 12 (`make chaos`: 24) |
| `DEVPROV_EXPLORER_BATCH` | sequences per dev server (a fresh one per batch) | 400 |
| `DEVPROV_EXPLORER_SHRINK_SECONDS` | seconds to shrink a finding | 60 (`make chaos`: 180) |
| `DEVPROV_EXPLORER_SHRINK_ONLY` | shrink only the findings whose key starts with this | |
| `DEVPROV_EXPLORER_REPLAY` | run only this sequence (`seed/index[/n,n,...]`) | |
| `DEVPROV_EXPLORER_REPEAT` | run the replayed sequence this many times at once | 1 |
| `DEVPROV_EXPLORER_LOG` | write every sequence, what happened and its violations here | |
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from tests.explorer.coverage import Coverage
from tests.explorer.invariants import INVARIANTS, Violation
from tests.explorer.model import FAMILIES, Family, Sequence, generate, parse_replay_spec
from tests.explorer.runner import (
    Execution,
    HistoryReplays,
    OpenWorld,
    execute,
    gather_limited,
    watching_api_poll_failures,
)
from tests.explorer.shrink import Shrunk, shrink

Checker = Callable[[Execution], list[Violation]]
TRIES_PER_CANDIDATE = 2
"""Runs of a shrinking candidate before it counts as not failing (timing varies)."""


@dataclass(frozen=True)
class ExplorerSettings:
    """What to explore, from `DEVPROV_EXPLORER_*`."""

    sequences: int
    seed: int
    concurrency: int
    shrink_seconds: float
    replay: str | None
    log: Path | None = None
    repeat: int = 1
    shrink_only: str = ""
    batch: int = 400

    @classmethod
    def from_env(
        cls, size_variable: str = "DEVPROV_EXPLORER_SEQUENCES", default_size: int = 100
    ) -> ExplorerSettings:
        env = os.environ
        raw_seed = env.get("DEVPROV_EXPLORER_SEED")
        return cls(
            sequences=int(env.get(size_variable, default_size)),
            seed=int(raw_seed) if raw_seed else random.SystemRandom().randrange(1 << 31),
            concurrency=int(env.get("DEVPROV_EXPLORER_CONCURRENCY", 12)),
            shrink_seconds=float(env.get("DEVPROV_EXPLORER_SHRINK_SECONDS", 60)),
            replay=env.get("DEVPROV_EXPLORER_REPLAY") or None,
            log=Path(env["DEVPROV_EXPLORER_LOG"]) if env.get("DEVPROV_EXPLORER_LOG") else None,
            repeat=int(env.get("DEVPROV_EXPLORER_REPEAT", 1)),
            shrink_only=env.get("DEVPROV_EXPLORER_SHRINK_ONLY", ""),
            batch=max(1, int(env.get("DEVPROV_EXPLORER_BATCH", 400))),
        )

    def planned(self, families: Collection[Family] = FAMILIES) -> list[Sequence]:
        """The sequences of this session, of `families` only (just the replayed one with a
        replay spec). A sequence's index picks its family, so a replay spec names it."""
        if self.replay is not None:
            return [parse_replay_spec(self.replay)] * self.repeat
        indices = (i for i in itertools.count() if FAMILIES[i % len(FAMILIES)] in families)
        return [generate(self.seed, i) for i in itertools.islice(indices, self.sequences)]


@dataclass
class Finding:
    """Sequences that broke an invariant the same way (same violation key)."""

    key: str
    violations: list[tuple[Execution, Violation]] = field(default_factory=list)
    shrunk: Shrunk | None = None
    minimal_example: Execution | None = None

    @property
    def invariant(self) -> str:
        return self.violations[0][1].invariant

    @property
    def example(self) -> tuple[Execution, Violation]:
        """The failing sequence with the fewest actions."""
        return min(self.violations, key=lambda pair: len(pair[0].sequence.actions))

    def describe(self) -> str:
        execution, violation = self.example
        lines = [
            f"FINDING {self.key}: {len(self.violations)} sequence(s) broke "
            f"{self.invariant} ({INVARIANTS[self.invariant]})",
            f"  e.g. {violation.message}",
        ]
        if self.shrunk is not None:
            shrunk = self.shrunk
            lines.append(
                f"  minimal sequence: {len(shrunk.sequence.actions)} actions, from "
                f"{len(execution.sequence.actions)}, after {shrunk.tries} tries"
                + (" (shrinking ran out of time)" if shrunk.out_of_time else "")
                + f"; it failed again in {shrunk.reproduced} of {shrunk.verified} re-runs"
                f" ({TRIES_PER_CANDIDATE} tries each)"
            )
        shown = self.minimal_example or execution
        sequence = self.shrunk.sequence if self.shrunk is not None else execution.sequence
        lines += [
            "  " + shown.describe().replace("\n", "\n  "),
            f"  replay: DEVPROV_EXPLORER_REPLAY={sequence.replay_spec} "
            f"(the whole session: DEVPROV_EXPLORER_SEED={execution.sequence.seed})",
        ]
        return "\n".join(lines)


@dataclass
class ExplorationReport:
    """What an exploration ran, reached and found."""

    settings: ExplorerSettings
    executions: list[Execution]
    coverage: Coverage
    findings: list[Finding]

    @classmethod
    def merged(
        cls, settings: ExplorerSettings, reports: list[ExplorationReport]
    ) -> ExplorationReport:
        """One report of several batches' reports."""
        executions = [e for report in reports for e in report.executions]
        coverage = Coverage()
        coverage.add(executions)
        findings = [f for report in reports for f in report.findings]
        return cls(settings, executions, coverage, sorted(findings, key=lambda f: f.key))

    def summary(self) -> str:
        """Sequences, runs, the median sequence's duration and the findings' count."""
        seconds = sorted(e.seconds for e in self.executions)
        median = seconds[len(seconds) // 2] if seconds else 0.0
        runs = sum(len(e.runs) for e in self.executions)
        keys = ", ".join(f.key for f in self.findings)
        return (
            f"{len(self.executions)} sequences, {runs} runs; median sequence {median:.1f}s; "
            f"{len(self.findings)} finding(s)" + (f" ({keys})" if keys else "")
        )

    def describe(self) -> str:
        lines = [
            f"explorer seed: {self.settings.seed} "
            f"(replay with DEVPROV_EXPLORER_SEED={self.settings.seed})",
            self.summary(),
            self.coverage.report(),
        ]
        if not self.findings:
            lines.append("no invariant was broken")
        for finding in self.findings:
            lines.append(finding.describe())
        return "\n".join(lines)


def group(executions: list[Execution], checker: Checker) -> list[Finding]:
    """The violations of every execution, grouped by key."""
    findings: dict[str, Finding] = {}
    for execution in executions:
        for violation in checker(execution):
            finding = findings.setdefault(violation.key, Finding(violation.key))
            finding.violations.append((execution, violation))
    return sorted(findings.values(), key=lambda f: f.key)


async def explore(
    settings: ExplorerSettings,
    open_world: OpenWorld,
    checker: Checker,
    *,
    families: Collection[Family] = FAMILIES,
    shrink_findings: bool = True,
    planned: list[Sequence] | None = None,
) -> ExplorationReport:
    """Run the planned sequences (`settings.planned(families)` unless given), check
    them, shrink every finding."""
    if planned is None:
        planned = settings.planned(families)
    replays = HistoryReplays()
    with watching_api_poll_failures():
        executions = await gather_limited(
            [lambda s=s: execute(s, open_world, replays) for s in planned],  # type: ignore[misc]
            settings.concurrency,
        )
        await replays.flush()
        coverage = Coverage()
        coverage.add(executions)
        findings = group(executions, checker)
        if settings.log is not None:
            _write_log(settings.log, executions, checker)
        if shrink_findings and settings.replay is None and settings.shrink_seconds > 0:
            await _shrink_all(findings, open_world, checker, settings)
    return ExplorationReport(settings, executions, coverage, findings)


async def _shrink_all(
    findings: list[Finding], open_world: OpenWorld, checker: Checker, settings: ExplorerSettings
) -> None:
    """Shrink every finding, all at once. Findings whose example is the same sequence
    (one sequence often breaks two invariants) share one shrinking when its minimal
    sequence breaks both."""
    gate = asyncio.Semaphore(settings.concurrency)
    by_example: dict[str, list[Finding]] = {}
    for finding in findings:
        wanted = finding.key.startswith(settings.shrink_only)
        if wanted and not finding.key.startswith("HARNESS"):
            spec = finding.example[0].sequence.replay_spec
            by_example.setdefault(spec, []).append(finding)

    async def shrink_one(finding: Finding) -> None:
        last: dict[str, Execution] = {}

        async def reproduces(candidate: Sequence) -> bool:
            # Runs are timed: a candidate gets a second chance before it counts as passing.
            for _ in range(TRIES_PER_CANDIDATE):
                async with gate:
                    execution = await execute(candidate, open_world)
                if any(v.key == finding.key for v in checker(execution)):
                    last[candidate.replay_spec] = execution
                    return True
            return False

        sequence = finding.example[0].sequence
        finding.shrunk = await shrink(sequence, reproduces, budget=settings.shrink_seconds)
        finding.minimal_example = last.get(finding.shrunk.sequence.replay_spec)

    async def shrink_group(group: list[Finding]) -> None:
        first, *others = group
        await shrink_one(first)
        for other in others:
            example = first.minimal_example
            if example is not None and any(v.key == other.key for v in checker(example)):
                other.shrunk, other.minimal_example = first.shrunk, example
            else:
                await shrink_one(other)

    await asyncio.gather(*(shrink_group(group) for group in by_example.values()))


def _write_log(path: Path, executions: list[Execution], checker: Checker) -> None:
    with path.open("w") as log:
        for execution in executions:
            log.write(execution.describe(events=True) + "\n")
            for violation in checker(execution):
                log.write(f"  VIOLATION {violation.describe()}\n")
            log.write(f"  ({execution.seconds}s)\n\n")
