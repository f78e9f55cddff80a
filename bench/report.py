"""The one table: each figure beside its baseline from the same run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HEADERS = ("#", "figure", "measured", "baseline (same run)", "ratio", "goal")


@dataclass(frozen=True, slots=True)
class Row:
    scenario: str
    figure: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""

    def cells(self) -> tuple[str, ...]:
        return (self.scenario, self.figure, self.measured, self.baseline, self.ratio, self.goal)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


def mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def times(ratio: float) -> str:
    return f"{ratio:.2f}x"


def table(rows: Sequence[Row], title: str, notes: Sequence[str] = ()) -> str:
    cells = [HEADERS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    rule = "-+-".join("-" * w for w in widths)

    def line(values: Sequence[str]) -> str:
        return " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [title, "", line(HEADERS), rule]
    previous = None
    for row in rows:
        if previous is not None and row.scenario != previous:
            out.append(rule)
        out.append(line(row.cells()))
        previous = row.scenario
    if notes:
        out.append("")
        out.extend(notes)
    return "\n".join(out)
