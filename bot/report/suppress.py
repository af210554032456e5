"""Small counts are never shown: nobody may be recognised in the network's figures.

A count from 1 to 4 is shown as "<5" (primary suppression). That alone is not enough where a
total is shown: total minus the other cells would give the hidden one back. So in every line
of a table that has a total (a row, a column, or the single line of a list), a lone hidden
cell takes a second one with it, the smallest visible count of that line (complementary
suppression), and this repeats until no line has exactly one hidden cell. A total that is
itself below 5 is hidden too. Zero is shown: "nobody" cannot point to anyone, and an
empty cell cannot be subtracted into a person.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

THRESHOLD = 5
HIDDEN = "<5"

Cell = tuple[Hashable, Hashable]


def small(count: int) -> bool:
    return 0 < count < THRESHOLD


@dataclass(frozen=True)
class Table:
    """A two-way table of counts with its row, column and grand totals, ready to show."""

    rows: tuple[Hashable, ...]
    columns: tuple[Hashable, ...]
    counts: Mapping[Cell, int]
    hidden: frozenset[Cell]  # cells (and totals, as (row, TOTAL) / (TOTAL, col)) not shown

    def shown(self, row: Hashable, column: Hashable) -> str:
        if (row, column) in self.hidden:
            return HIDDEN
        return str(self.value(row, column))

    def value(self, row: Hashable, column: Hashable) -> int:
        if row == TOTAL and column == TOTAL:
            return sum(self.counts.values())
        if row == TOTAL:
            return sum(self.counts.get((r, column), 0) for r in self.rows)
        if column == TOTAL:
            return sum(self.counts.get((row, c), 0) for c in self.columns)
        return self.counts.get((row, column), 0)


class _Total:
    def __repr__(self) -> str:
        return "TOTAL"


TOTAL: Hashable = _Total()


def table(
    counts: Mapping[Cell, int],
    rows: list[Hashable] | tuple[Hashable, ...],
    columns: list[Hashable] | tuple[Hashable, ...],
) -> Table:
    """Hide what must be hidden in a table whose rows and columns all have totals."""
    rows, columns = tuple(rows), tuple(columns)
    grid = Table(rows, columns, dict(counts), frozenset())
    hidden = {(r, c) for r in (*rows, TOTAL) for c in (*columns, TOTAL) if small(grid.value(r, c))}
    lines: list[list[Cell]] = [[(r, c) for c in (*columns, TOTAL)] for r in (*rows, TOTAL)]
    lines += [[(r, c) for r in (*rows, TOTAL)] for c in (*columns, TOTAL)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(cell in hidden for cell in line) != 1:
                continue
            candidates = [cell for cell in line if cell not in hidden and grid.value(*cell) > 0]
            # The smallest inner cell is the cheapest to give up; the total only when the
            # line has no other cell left.
            inner = [cell for cell in candidates if TOTAL not in cell]
            pick = min(inner or candidates, key=lambda cell: grid.value(*cell), default=None)
            if pick is not None:
                hidden.add(pick)
                changed = True
    return Table(rows, columns, grid.counts, frozenset(hidden))


def column(counts: Mapping[Hashable, int], order: list[Hashable] | None = None) -> Table:
    """A one-way list with its total (one column): ``shown(key, "n")``, ``shown(TOTAL, "n")``."""
    keys = order if order is not None else list(counts)
    return table({(k, "n"): v for k, v in counts.items()}, keys, ["n"])


def share(part: int, whole: int) -> str:
    """A percentage that cannot be used to work back to a small count."""
    if whole < THRESHOLD or small(part) or small(whole - part):
        return HIDDEN if small(part) else "–"
    return f"{round(100 * part / whole)}%"
