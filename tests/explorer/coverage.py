"""Which (state, action) pairs the explorer reached: the state a run was in just before
an operator or device action was sent, by family."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tests.explorer.model import COLUMNS, FAMILIES, Family
from tests.explorer.runner import Execution

ROWS: tuple[str, ...] = (
    "PENDING",
    "DETECTING",
    "PRE_CHECK",
    "PENDING_NETWORK",
    "WAITING_FOR_DEVICE",
    "PROVISIONING",
    "CONFIRMING",
    "ROLLING_BACK",
    "SUCCEEDED",
    "other terminal",
)


def reachable_rows(family: Family) -> tuple[str, ...]:
    """Rows a run of `family` can be in (a Zigbee run never waits for credentials)."""
    if family.takes_credentials:
        return ROWS
    return tuple(row for row in ROWS if row != "PENDING_NETWORK")


class Coverage:
    """Counts of (family, row, column) over executions; generated actions only."""

    def __init__(self) -> None:
        self.cells: Counter[tuple[Family, str, str]] = Counter()
        self.sequences = 0
        self._families: set[Family] = set()

    def add(self, executions: Iterable[Execution]) -> None:
        for execution in executions:
            self.sequences += 1
            family = execution.sequence.family
            self._families.add(family)
            for record in execution.records:
                column = record.action.kind.column
                if column is None or record.end_phase or record.before.row not in ROWS:
                    continue
                self.cells[(family, record.before.row, column)] += 1

    def pairs(self) -> set[tuple[str, str]]:
        """Distinct (state, action) pairs over every family."""
        return {(row, column) for _, row, column in self.cells}

    def reached(self, family: Family) -> tuple[int, int]:
        """Cells reached and cells reachable of `family`'s table."""
        rows = reachable_rows(family)
        reached = sum(
            1 for (f, row, _), n in self.cells.items() if f is family and row in rows and n
        )
        return reached, len(rows) * len(COLUMNS)

    def families(self) -> list[Family]:
        """The families explored, in the usual order."""
        seen = {family for family, _, _ in self.cells} | self._families
        return [family for family in FAMILIES if family in seen]

    def report(self) -> str:
        pairs = self.pairs()
        total = len(ROWS) * len(COLUMNS)
        per_family = [(family, *self.reached(family)) for family in self.families()]
        reached = sum(r for _, r, _ in per_family)
        reachable = sum(t for _, _, t in per_family)
        lines = [
            f"explorer coverage: {self.sequences} sequences; {len(pairs)} of {total} distinct "
            f"(state, action) pairs ({100 * len(pairs) / total:.0f}%); per family "
            f"{reached} of {reachable} reachable cells ({100 * reached / max(reachable, 1):.0f}%)",
        ]
        width = max(len(row) for row in ROWS)
        lines.append("  " + " " * width + "".join(f"{c[:12]:>13}" for c in COLUMNS))
        for row in ROWS:
            counts = [
                sum(n for (_, r, c), n in self.cells.items() if r == row and c == column)
                for column in COLUMNS
            ]
            lines.append(f"  {row:<{width}}" + "".join(f"{n or '.':>13}" for n in counts))
        for family, got, of in per_family:
            missing = self._missing(family)
            lines.append(
                f"  {family.value:<11} {got:>3}/{of} cells ({100 * got / of:.0f}%)"
                + (f"; not reached: {missing}" if missing else "")
            )
        return "\n".join(lines)

    def _missing(self, family: Family) -> str:
        parts = []
        for row in reachable_rows(family):
            absent = [c for c in COLUMNS if not self.cells[(family, row, c)]]
            if len(absent) == len(COLUMNS):
                parts.append(f"{row} (all)")
            elif absent:
                parts.append(f"{row} ({', '.join(absent)})")
        return "; ".join(parts)
