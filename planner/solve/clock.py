"""One clock for a run: ``--time-limit`` bounds everything after it starts.

A :class:`Clock` is a deadline. A stage takes its seconds from its parent's
clock with :meth:`Clock.part` (a share of what is left, at most or at least
so many seconds, less what it must leave for later stages), and never gets
past its parent's deadline, so a run's stages, balance rounds and diagnosis
together end within the run's limit, plus the watchdog's grace on a solve
that overruns and, when a plan was found but its time ran out, the few
seconds that make its investments whole (:meth:`Clock.grace`).

A stop (Ctrl-C or SIGTERM in ``planner run``: :meth:`Clock.request_stop`)
is the clock running out early: every clock of the run then has no time
left, running solves are cancelled with their best plan, and the stages wind
down as at a time limit, keeping the best plan found; the run says
``interrupted``. Each part is logged at INFO (``planner run --verbose``) with the
seconds it got, and kept in the clock's ledger.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from planner.solve.watch import Watch

log = logging.getLogger("planner.time")


@dataclass
class Ledger:
    """Every part handed out: (path, seconds given)."""

    parts: list[tuple[str, float]] = field(default_factory=list)


class Clock:
    """A deadline (see the module docstring). ``now``: the time source
    (``time.monotonic``; a test may pass its own)."""

    def __init__(
        self,
        seconds: float,
        *,
        name: str = "run",
        now: Callable[[], float] = time.monotonic,
        parent: Clock | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.now = now
        self.start = now()
        self.deadline = self.start + max(0.0, seconds)
        if parent is not None:
            self.deadline = max(self.start, min(self.deadline, parent.deadline))
        self.name: str = name if parent is None else f"{parent.name} / {name}"
        self.ledger = ledger if ledger is not None else Ledger()
        self.stop: threading.Event = parent.stop if parent is not None else threading.Event()
        """Set when the run is asked to stop; shared by every clock of the run."""
        self.watch: Watch | None = parent.watch if parent is not None else None
        """What a display reads (set on the run's clock); shared by every clock of the run."""

    @property
    def seconds(self) -> float:
        """The seconds this clock was given."""
        return self.deadline - self.start

    def left(self) -> float:
        """Seconds until the deadline (0 once past it, or once the run is asked to stop)."""
        if self.stop.is_set():
            return 0.0
        return max(0.0, self.deadline - self.now())

    @property
    def stopped(self) -> bool:
        """Whether the run was asked to stop."""
        return self.stop.is_set()

    def request_stop(self) -> None:
        """Stop the run: no clock of it has time left from now on."""
        self.stop.set()

    def watching(self) -> dict:
        """The options a solver call under this clock takes from it: its stop, the watch, the stage's name."""
        return {"stop": self.stop, "watch": self.watch, "stage": self.name}

    def elapsed(self) -> float:
        return self.now() - self.start

    def part(
        self, name: str, share: float = 1.0, *, at_most: float | None = None, at_least: float = 0.0, leave: float = 0.0
    ) -> Clock:
        """A child clock for a stage: ``share`` of the seconds left after
        ``leave`` (kept for later stages), capped by ``at_most``, raised to
        ``at_least`` while that much is left, never past this clock's deadline."""
        left = self.left()
        seconds = max(0.0, left - leave) * share
        if at_most is not None:
            seconds = min(seconds, at_most)
        seconds = min(max(seconds, at_least), left)
        child = Clock(seconds, name=name, now=self.now, parent=self, ledger=self.ledger)
        self.ledger.parts.append((child.name, seconds))
        log.info("time: %s gets %.1f s (%.1f s left of %.1f s)", child.name, seconds, left, self.seconds)
        return child

    def grace(self, name: str, seconds: float) -> Clock:
        """A child clock of at least ``seconds`` even past this clock's
        deadline: only for making a plan already found whole (its
        investments), which would otherwise be lost for want of seconds."""
        left = self.left()
        child = Clock(max(left, seconds), name=name, now=self.now, ledger=self.ledger)
        child.name = f"{self.name} / {name}"
        child.stop = threading.Event()  # not stopped with the run: it finishes what the run keeps
        child.watch = self.watch
        self.ledger.parts.append((child.name, child.seconds))
        log.info(
            "time: %s gets %.1f s (%.1f s left of %.1f s; at least %.1f s)",
            child.name,
            child.seconds,
            left,
            self.seconds,
            seconds,
        )
        return child

    def done(self, minimum: float = 0.0) -> bool:
        """Whether fewer than ``minimum`` seconds (or none) are left."""
        left = self.left()
        return left <= 0.0 or left < minimum
