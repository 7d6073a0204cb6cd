"""What a solve returns: a status and, with a plan, its values."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

import numpy as np


class SolveStatus(str, Enum):
    """How a solve ended; the value is what summary.json says."""

    OPTIMAL = "optimal"
    """Proved within the target gap (at gap 0 or the scenario's ``mip_gap``)."""
    FEASIBLE = "feasible"
    """A plan, not proved within the target gap, and the solve did not stop at its time."""
    TIME_LIMIT = "time_limit"
    """The time ran out: the best plan found so far."""
    INTERRUPTED = "interrupted"
    """Ctrl-C or SIGTERM: the best plan found so far."""
    INFEASIBLE = "infeasible"
    """Proved: no plan exists."""
    NO_SOLUTION = "no_solution"
    """No plan found, nothing proved (time ran out, or a Ctrl-C, before any plan)."""

    @property
    def has_plan(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.TIME_LIMIT, SolveStatus.INTERRUPTED)


def gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap between a plan's objective and a lower bound."""
    if objective is None or bound is None or not abs(bound) < 1e300:
        return None
    g = abs(objective - bound) / max(abs(objective), 1e-9)
    return 0.0 if g < 1e-12 else g  # below rounding noise: proved


@dataclass(frozen=True, eq=False)
class Solution:
    """A solve's answer: ``x`` holds every column's value (``None`` without a plan)."""

    status: SolveStatus
    x: np.ndarray | None
    objective: float | None
    bound: float | None
    """The best lower bound proved (finite), or ``None``."""
    solver: str
    seconds: float
    message: str = ""

    @property
    def has_plan(self) -> bool:
        return self.status.has_plan and self.x is not None

    @property
    def values(self) -> np.ndarray:
        """``x`` of a solution known to have a plan."""
        if self.x is None:
            raise ValueError(f"a {self.status.value} solve has no plan ({self.message})")
        return self.x

    @property
    def cost(self) -> float:
        """The objective of a solution known to have a plan."""
        if self.objective is None:
            raise ValueError(f"a {self.status.value} solve has no plan ({self.message})")
        return self.objective

    @property
    def gap(self) -> float | None:
        return gap(self.objective, self.bound)

    @property
    def interrupted(self) -> bool:
        return self.status is SolveStatus.INTERRUPTED

    def but(self, **changes) -> Solution:
        """A copy with some fields changed."""
        return replace(self, **changes)


def no_plan(status: SolveStatus, solver: str, seconds: float, message: str, bound: float | None = None) -> Solution:
    """A :class:`Solution` without a plan."""
    return Solution(status, None, None, bound, solver, seconds, message)
