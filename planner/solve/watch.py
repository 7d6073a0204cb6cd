"""What the solve is doing now, for a person watching: the stage, its
seconds, the best plan's objective and the bound.

A :class:`Watch` is shared by every clock of a run (like its stop). Each
solver call says when it begins (:meth:`Watch.begin`); HiGHS's callbacks,
on the solver's threads, say when a better plan is found and where the
bound stands. The command line reads :meth:`Watch.snapshot` for its live
line, and a listener hears each stage and each better plan (its log lines
and ``run.log``). Nothing here changes the solve.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Event(Enum):
    """What a listener hears."""

    STAGE = "stage"
    IMPROVED = "improved"


@dataclass(frozen=True)
class Snapshot:
    """The solve as it stands."""

    stage: str
    elapsed_s: float
    left_s: float
    best: float | None
    """The best plan's objective in this stage's model (None: none yet)."""
    bound: float | None

    @property
    def gap(self) -> float | None:
        """Relative gap between the best plan and the bound, as HiGHS reports it."""
        if self.best is None or self.bound is None or not math.isfinite(self.bound):
            return None
        return abs(self.best - self.bound) / max(abs(self.best), 1e-9)


class Watch:
    """A thread-safe record of the current solver call (see the module docstring)."""

    def __init__(
        self, listener: Callable[[Event, Snapshot], None] | None = None, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._listener = listener
        self._now = now
        self._lock = threading.Lock()
        self._stage, self._start, self._seconds = "", now(), 0.0
        self._best: float | None = None
        self._bound: float | None = None

    def begin(self, stage: str, seconds: float) -> None:
        """A solver call of ``seconds`` starts for ``stage``."""
        with self._lock:
            self._stage, self._start, self._seconds = stage, self._now(), max(0.0, seconds)
            self._best = self._bound = None
        self._tell(Event.STAGE)

    def improved(self, objective: float, bound: float | None = None) -> None:
        """A better plan (on a solver's thread)."""
        with self._lock:
            if self._best is not None and objective >= self._best:
                return
            self._best = objective
            if bound is not None and math.isfinite(bound):
                self._bound = bound
        self._tell(Event.IMPROVED)

    def bound(self, bound: float) -> None:
        """Where the bound stands (on a solver's thread, often: no listener call)."""
        if math.isfinite(bound):
            with self._lock:
                self._bound = bound

    def snapshot(self) -> Snapshot:
        with self._lock:
            elapsed = self._now() - self._start
            return Snapshot(self._stage, elapsed, max(0.0, self._seconds - elapsed), self._best, self._bound)

    def _tell(self, event: Event) -> None:
        if self._listener is not None:
            self._listener(event, self.snapshot())


def follow_highs(h, watch: Watch | None) -> None:
    """Report a ``highspy.Highs``'s better plans and bound to ``watch``."""
    if watch is None:
        return

    def improving(e) -> None:
        watch.improved(e.data_out.objective_function_value, e.data_out.mip_dual_bound)

    def interrupt(e) -> None:
        watch.bound(e.data_out.mip_dual_bound)

    h.cbMipImprovingSolution += improving
    h.cbMipInterrupt += interrupt
