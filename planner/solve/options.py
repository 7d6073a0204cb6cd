"""The options of one solver call, derived from the scenario's solver
settings, its tuning and the time a stage was given."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from planner.config.scenario import SolverConfig
from planner.config.tuning import BackendTuning
from planner.solve.watch import Watch


@dataclass(frozen=True)
class SolveOptions:
    """One solver call: which solver, its time and gap, and how HiGHS runs it."""

    solver: str
    time_limit_s: float
    mip_gap: float
    threads: int
    seed: int
    msg: bool
    backend: BackendTuning
    heuristics: bool = True
    """HiGHS's primal heuristics (off for a start believed near-optimal)."""
    lp_method: str | None = None
    """HiGHS's ``solver`` option for an LP (``ipm``, ``simplex``, ``choose``); None: its default."""
    crossover: bool = True
    stop: threading.Event | None = None
    """Set to cancel the call (the run was asked to stop); a Ctrl-C during the call sets it."""
    watch: Watch | None = None
    """Told when the call begins, of each better plan and of the bound (for a display)."""
    stage: str = ""
    """The clock's name of the stage making the call (``run / solve / ...``)."""

    @classmethod
    def of(cls, cfg: SolverConfig, seconds: float) -> SolveOptions:
        """The scenario's solver settings, for ``seconds``."""
        return cls(cfg.name, seconds, cfg.mip_gap, cfg.threads, cfg.seed, cfg.msg, cfg.tuning.backend)

    def but(self, **changes) -> SolveOptions:
        return replace(self, **changes)
