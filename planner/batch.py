"""Batch: several fixings of one model solved at the same time, one HiGHS
each, for the repair's site MIPs.

HiGHS's MIP search runs on one core: a 90 s repair of the town's region at
ten times the demo used 111 % CPU on two cores. HiGHS releases Python's
GIL while it solves (two 4 s MIPs took 4.0 s on two threads, 8.0 s in
turn), so :func:`solve_batch` loads each :class:`Job` into its own
``highspy.Highs`` (the model's arrays with the job's variables held and
rows narrowed) and runs them on worker threads. Values come back as arrays
and are not written to the PuLP variables: the caller chooses which to keep.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pulp

from planner.highs_bulk import model_arrays, pass_model, silence_banner, use_threads
from planner.model import Model, apply_relaxation
from planner.scenario import SolverConfig
from planner.solve import WATCHDOG_GRACE

WAIT_S = 0.1
"""How often the main thread looks up from the workers (for Ctrl-C)."""


@dataclass(frozen=True)
class Job:
    """One solve of the model: ``fixing`` holds variables at values,
    ``rows`` narrows rows to new (lower, upper) activity bounds, and
    ``start`` is a plan to start from (variables to values)."""

    fixing: dict[pulp.LpVariable, float]
    rows: dict[pulp.LpConstraint, tuple[float, float]] = field(default_factory=dict)
    start: dict[pulp.LpVariable, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """A job's plan: ``objective`` recomputed from ``values`` (the model's
    variables in ``lp.variables()`` order); both ``None`` without a plan."""

    status: str
    objective: float | None
    values: np.ndarray | None


def _highs(arrays: dict, job: Job, cfg: SolverConfig):
    """A ``highspy.Highs`` holding the job's version of the arrays (columns
    by ``var.index``, as :func:`planner.highs_bulk.model_arrays` sets it)."""
    import highspy

    h = highspy.Highs()
    for k, v in {"output_flag": cfg.msg, "time_limit": cfg.time_limit_s, "mip_rel_gap": cfg.mip_gap,
                 "mip_abs_gap": 1e-6, "threads": cfg.threads, "random_seed": cfg.seed}.items():
        h.setOptionValue(k, v)
    a = dict(arrays, lower=arrays["lower"].copy(), upper=arrays["upper"].copy(),
             row_lower=arrays["row_lower"].copy(), row_upper=arrays["row_upper"].copy())
    for v, x in job.fixing.items():
        a["lower"][v.index] = a["upper"][v.index] = x
    for c, (lo, hi) in job.rows.items():
        a["row_lower"][c.index], a["row_upper"][c.index] = lo, hi
    pass_model(h, a)
    if job.start:
        cols = np.array([v.index for v in job.start], np.int32)
        vals = np.array([float(x or 0.0) for x in job.start.values()])
        order = np.argsort(cols)
        h.setSolution(len(cols), cols[order], vals[order])
    h.HandleUserInterrupt = True
    return h


def _outcome(h, arrays: dict, stopped: bool) -> Outcome:
    """The plan of a finished ``Highs`` and its status: ``interrupted``
    after Ctrl-C (``stopped``), else ``optimal`` or ``time_limit``."""
    import highspy

    S = highspy.HighsModelStatus
    st = h.getModelStatus()
    if st in (S.kInfeasible, S.kUnboundedOrInfeasible) and not stopped:
        return Outcome("infeasible", None, None)
    if h.getInfo().primal_solution_status != 2:  # no feasible plan
        return Outcome("interrupted" if stopped else "no_solution", None, None)
    x = np.asarray(h.getSolution().col_value, float)
    status = "interrupted" if stopped else "optimal" if st == S.kOptimal else "time_limit"
    return Outcome(status, float(arrays["cost"] @ x + arrays["offset"]), x)


def solve_batch(m: Model, cfg: SolverConfig, jobs: list[Job]) -> list[Outcome]:
    """Solve every job at once (HiGHS on a worker thread each) within
    ``cfg.time_limit_s``; after Ctrl-C every outcome is ``interrupted``,
    with the plan its solve had. HiGHS 1.16 can finish on a start it
    improved only in presolve's reduced space and hand back the start's
    own values (see :func:`planner.solve._solve_highs`): such a job is
    solved again without its start in the time left."""
    t0 = time.monotonic()
    apply_relaxation(m)
    if not cfg.msg:
        silence_banner()
    use_threads(cfg.threads)
    arrays = model_arrays(m.lp)
    hs = [_highs(arrays, j, cfg) for j in jobs]
    stopped = _run_all(hs, cfg.time_limit_s)
    outcomes = [_outcome(h, arrays, stopped) for h in hs]
    stale = [i for i, (h, o) in enumerate(zip(hs, outcomes)) if jobs[i].start and _stale(h, o)]
    rest = cfg.time_limit_s - (time.monotonic() - t0)
    if stale and not stopped and rest >= 1.0:
        again = cfg.model_copy(update={"time_limit_s": rest})
        hs = [_highs(arrays, Job(jobs[i].fixing, jobs[i].rows), again) for i in stale]
        stopped = _run_all(hs, rest)
        for i, h in zip(stale, hs):
            o = _outcome(h, arrays, stopped)
            if o.objective is not None and o.objective < outcomes[i].objective:
                outcomes[i] = o
    return outcomes


def _stale(h, o: Outcome) -> bool:
    """HiGHS reported a better objective than its values are worth."""
    if o.objective is None:
        return False
    reported = h.getInfo().objective_function_value
    return o.objective > reported + 1e-6 * max(1.0, abs(reported))


def _run_all(hs: list, seconds: float) -> bool:
    """Run every ``Highs`` on its own thread until all stop (a watchdog
    cancels them past :data:`planner.solve.WATCHDOG_GRACE` times the
    limit); returns whether Ctrl-C stopped them."""
    workers = [threading.Thread(target=h.run, daemon=True) for h in hs]
    for w in workers:
        w.start()
    deadline = time.monotonic() + WATCHDOG_GRACE * seconds + 2.0
    stopped = overran = False
    while any(w.is_alive() for w in workers):
        try:
            next(w for w in workers if w.is_alive()).join(WAIT_S)
            if not overran and time.monotonic() > deadline:
                overran = True
                for h in hs:
                    h.cancelSolve()
        except KeyboardInterrupt:
            stopped = True
            for h in hs:
                h.cancelSolve()
    return stopped
