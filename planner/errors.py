"""The project's errors: a few classes, each carrying everything a user needs.

Input problems are collected, not raised one at a time: a loader appends an
:class:`Issue` per mistake and raises one :class:`InputError` with all of them,
so a planner fixes a hand-exported spreadsheet in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    """One mistake in the input: where it is and what was expected."""

    file: str
    message: str
    layer: str | None = None
    row: int | None = None
    column: str | None = None
    id: str | None = None
    line: int | None = None
    key: str | None = None
    cell: str | None = None
    """A workbook's cell (or row, or range) as Excel shows it, e.g. ``学校!F12``."""

    def __str__(self) -> str:
        where = [self.file]
        if self.cell:
            where.append(self.cell + (f" ({self.column})" if self.column else ""))
            if self.id:
                where.append(f"id {self.id}")
            return ", ".join(where) + ": " + self.message
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.layer:
            where.append(f"layer {self.layer}")
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (id {self.id})" if self.id else ""))
        elif self.id:
            where.append(f"id {self.id}")
        if self.column:
            where.append(f"column {self.column}")
        if self.key:
            where.append(f"key {self.key}")
        return ", ".join(where) + ": " + self.message


class PlannerError(Exception):
    """Base class of every error the planner raises on purpose."""

    exit_code = 1


@dataclass
class InputError(PlannerError):
    """Bad input: files, layers, columns, values or scenario keys (exit 2)."""

    issues: list[Issue] = field(default_factory=list)
    exit_code = 2

    def __str__(self) -> str:
        head = f"{len(self.issues)} problem(s) in the input:"
        return "\n".join([head, *(f"  - {i}" for i in self.issues)])


@dataclass
class ScenarioConflict(PlannerError):
    """A scenario that cannot work, found before solving (exit 3).

    Each reason states the rule and both numbers, e.g. "target junior = 30
    but only 24 sites may be junior".
    """

    reasons: list[str] = field(default_factory=list)
    diagnosis: dict | None = None
    exit_code = 3

    def __str__(self) -> str:
        return "The scenario cannot be satisfied:\n" + "\n".join(f"  - {r}" for r in self.reasons)


@dataclass
class InfeasibleError(PlannerError):
    """The solver proved no plan exists (exit 3)."""

    message: str
    diagnosis: dict | None = None
    suggested: tuple | None = None
    """Where the budget is short: (problem, plan, summary) of the plan at the budget's high end."""
    exit_code = 3

    def __str__(self) -> str:
        return self.message


class Collector:
    """Accumulates :class:`Issue` objects and raises them together."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self._relocators: list[Callable[[list[Issue]], list[Issue]]] = []

    def relocate(self, fn: Callable[[list[Issue]], list[Issue]]) -> None:
        """Rewrite the issues before they are raised (a workbook names cells, not rows)."""
        self._relocators.append(fn)

    def add(self, file: str, message: str, **where: object) -> None:
        """Record one problem; ``where`` takes layer, row, column, id, line and key."""
        self.issues.append(Issue(str(file), message, **where))  # type: ignore[arg-type]

    def raise_if_any(self) -> None:
        """Raise one :class:`InputError` if anything was recorded."""
        if self.issues:
            issues = list(self.issues)
            for fn in self._relocators:
                issues = fn(issues)
            raise InputError(issues)


class NoPlanInTime(PlannerError):
    """The time limit passed before any plan was found; the scenario is not
    proved infeasible, so no diagnosis is made (exit 4)."""

    exit_code = 4


class Interrupted(PlannerError):
    """Ctrl-C or SIGTERM before a plan was found: nothing written (exit 1)."""

    exit_code = 1
