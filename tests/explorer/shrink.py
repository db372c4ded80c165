"""Shrinking a failing sequence to a minimal one that fails the same way.

Delta debugging (Zeller's ddmin) over the actions a sequence may lose (all but its
start): split them in `n` chunks, try every chunk alone and every complement — all at
once, each in a world of its own, since each try is a real run of several seconds —
keep the smallest that still fails with the same violation key, and refine until no
single action can go. Runs are real and timed, so a try may pass by luck: the result
is re-run a few times and its reproduction rate reported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.explorer.model import Action, Sequence

Reproduces = Callable[[Sequence], Awaitable[bool]]
"""Runs a candidate and says whether it fails with the violation being shrunk."""


@dataclass(frozen=True)
class Shrunk:
    """The smallest failing sequence found, and how reliably it fails."""

    sequence: Sequence
    tries: int
    reproduced: int
    verified: int
    out_of_time: bool


def _chunks(actions: tuple[Action, ...], n: int) -> list[tuple[Action, ...]]:
    size, extra = divmod(len(actions), n)
    chunks, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        chunks.append(actions[start:end])
        start = end
    return [c for c in chunks if c]


async def shrink(
    sequence: Sequence,
    reproduces: Reproduces,
    *,
    budget: float,
    verify_runs: int = 3,
) -> Shrunk:
    """A 1-minimal subsequence of `sequence` that still `reproduces`, within `budget`
    seconds (then the smallest found so far)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    tries = 0
    actions = sequence.removable
    n = 2
    out_of_time = False
    # The bare start first: many findings need no action at all.
    tries += 1
    if actions and await reproduces(sequence.keeping(())):
        actions = ()
    while len(actions) >= 1:
        if loop.time() >= deadline:
            out_of_time = True
            break
        n = min(n, len(actions))
        chunks = _chunks(actions, n)
        candidates = list(chunks)
        if n > 1:
            candidates += [tuple(a for a in actions if a not in chunk) for chunk in chunks]
        candidates = [c for c in candidates if len(c) < len(actions)]
        if not candidates:
            break
        tries += len(candidates)
        results = await asyncio.gather(*(reproduces(sequence.keeping(c)) for c in candidates))
        failing = [c for c, failed in zip(candidates, results, strict=True) if failed]
        if failing:
            smallest = min(failing, key=len)
            n = 2 if len(smallest) <= len(actions) // n else max(n - 1, 2)
            actions = smallest
            continue
        if n >= len(actions):
            break
        n = min(2 * n, len(actions))
    minimal = sequence.keeping(actions)
    verified = list(await asyncio.gather(*(reproduces(minimal) for _ in range(verify_runs))))
    return Shrunk(minimal, tries, sum(verified), verify_runs, out_of_time)
