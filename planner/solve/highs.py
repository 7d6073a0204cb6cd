"""HiGHS: forms passed in one call, solved on worker threads under one watch.

Every HiGHS solve of the planner goes through :func:`solve_highs`, one form
or several at once (the repair's site MIPs: HiGHS searches a MIP on one core
and releases Python's GIL while it does, so two MIPs on two threads take the
time of one). Written once here:

- the model goes in as compressed-column arrays (``Highs.passModel``), a
  start as a (partial) solution (``setSolution``);
- a watchdog cancels a solve past ``watchdog_grace`` times its limit (HiGHS
  can overrun its own at the root of a big MIP), and Ctrl-C (or SIGTERM,
  which the CLI turns into one) cancels every solve at once: HiGHS stops at
  its next callback and keeps the best plan found;
- a stale answer is solved again: HiGHS 1.16 can finish on a start it
  improved only in presolve's reduced space, report the better objective and
  hand back the start's own values; such a form is solved again without its
  start in the time left, and if that finds nothing, the start stands at its
  true objective.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from planner.model.form import Form
from planner.solve.options import SolveOptions
from planner.solve.status import Solution, SolveStatus
from planner.solve.watch import follow_highs

log = logging.getLogger(__name__)

OnPlan = Callable[[np.ndarray, float, float], None]
"""Told of a better plan: its values over the form's columns, its objective and HiGHS's bound."""

HEURISTICS_OFF = {
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_root_reduced_cost": False,
}
"""HiGHS's primal heuristics switched off: for a start believed near-optimal
(the p-median's interchange start, a polish that is mostly a proof)."""


def available() -> bool:
    """True when highspy imports."""
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def version() -> str:
    """``highs`` and the library's version, as summary.json names the solver."""
    import highspy

    silence_banner()  # the first Highs of a process that solved only in a child
    return f"highs {highspy.Highs().version()}"


@functools.cache
def silence_banner() -> None:
    """Make this process's first ``highspy.Highs`` with stdout (file
    descriptor 1) pointed at /dev/null: HiGHS's C++ side prints its banner
    there on the first construction, whatever the options, and ``planner
    run``'s stdout should hold only the planner's lines."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_scheduler: list[int] = []
"""Threads of this process's HiGHS scheduler, once a solve has started it."""


def use_threads(threads: int) -> None:
    """Size HiGHS's thread scheduler for a solve of ``threads`` threads.
    HiGHS keeps one scheduler per process, sized by the first solve; a later
    solve asking for another count fails before it starts (and would read as
    infeasible). A changed count resets the scheduler first."""
    import highspy

    if _scheduler and _scheduler[0] != threads:
        highspy.Highs.resetThreadScheduler(True)  # blocking: the old workers stop first
        _scheduler.clear()
    if not _scheduler:
        _scheduler.append(threads)


def _options(opts: SolveOptions) -> dict:
    out: dict = {
        "mip_rel_gap": opts.mip_gap,
        "threads": opts.threads,
        "time_limit": float(max(opts.time_limit_s, 0.0)),
        "random_seed": opts.seed,
        "mip_abs_gap": opts.backend.mip_abs_gap,
    }
    if not opts.msg:
        out = {"output_flag": False, **out}
    if not opts.heuristics:
        out.update(HEURISTICS_OFF)
    if opts.lp_method is not None:
        out["solver"] = opts.lp_method
    if not opts.crossover:
        out["run_crossover"] = "off"
    return out


def make_highs(form: Form, start: np.ndarray | None, opts: SolveOptions):
    """A ``highspy.Highs`` holding ``form``, its options and its start
    (``start``: a value per column, NaN where HiGHS is to complete it)."""
    import highspy

    h = highspy.Highs()
    for k, v in _options(opts).items():
        h.setOptionValue(k, v)
    inf = highspy.kHighsInf
    a = form.matrix
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = form.cost
    lp.col_lower_ = np.where(np.isinf(form.lower), -inf, form.lower)
    lp.col_upper_ = np.where(np.isinf(form.upper), inf, form.upper)
    lp.row_lower_ = np.where(np.isinf(form.row_lower), -inf, form.row_lower)
    lp.row_upper_ = np.where(np.isinf(form.row_upper), inf, form.row_upper)
    lp.offset_ = form.offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if form.is_mip():
        kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
        lp.integrality_ = [kinds[int(b)] for b in form.integer]
    h.passModel(lp)
    if start is not None:
        cols = np.flatnonzero(~np.isnan(start)).astype(np.int32)
        if len(cols):
            h.setSolution(len(cols), cols, start[cols].astype(float))
    h.HandleUserInterrupt = True
    return h


def run_together(hs: list, seconds: float, opts: SolveOptions) -> tuple[bool, bool]:
    """Run every ``Highs`` on its own thread until all stop; returns
    (stopped: a Ctrl-C or the run's stop, cancelled by the watchdog). A
    Ctrl-C here also sets the run's stop, so the stages after wind down."""
    workers = [threading.Thread(target=h.run, daemon=True) for h in hs]
    for w in workers:
        w.start()
    deadline = time.monotonic() + opts.backend.watchdog_grace * seconds + opts.backend.watchdog_extra_s
    stopped = overran = False
    while any(w.is_alive() for w in workers):
        try:
            next(w for w in workers if w.is_alive()).join(opts.backend.poll_s)
            if not stopped and opts.stop is not None and opts.stop.is_set():
                stopped = True
                for h in hs:
                    h.cancelSolve()
            if not overran and time.monotonic() > deadline:
                overran = True
                for h in hs:
                    h.cancelSolve()
        except KeyboardInterrupt:
            stopped = True
            if opts.stop is not None:
                opts.stop.set()
            for h in hs:
                h.cancelSolve()  # keep waiting: HiGHS stops within a callback
    return stopped, overran


@dataclass(frozen=True)
class _Read:
    solution: Solution
    reported: float | None
    """The objective HiGHS reported (its values may be worth more: a stale answer)."""


def _read(h, form: Form, stopped: bool, overran: bool, seconds: float) -> _Read:
    import highspy

    S = highspy.HighsModelStatus
    st = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if stopped:
        status = SolveStatus.INTERRUPTED  # with the best plan found, if any
    elif st == S.kOptimal and has_sol:
        status = SolveStatus.OPTIMAL
    elif st in (S.kInfeasible, S.kUnboundedOrInfeasible):
        status = SolveStatus.INFEASIBLE
    elif not has_sol:
        status = SolveStatus.NO_SOLUTION
    elif st in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt):
        status = SolveStatus.TIME_LIMIT
    else:
        status = SolveStatus.FEASIBLE
    x = np.asarray(h.getSolution().col_value, float) if has_sol else None
    obj = form.objective(x) if x is not None else None
    bound = float(info.mip_dual_bound) if form.is_mip() else obj
    bound = bound if bound is not None and abs(bound) < 1e300 else None
    reported = float(info.objective_function_value) if has_sol else None
    sol = Solution(status, x, obj, bound, version(), seconds, h.modelStatusToString(st))
    return _Read(sol, reported)


def _stale(r: _Read) -> bool:
    """HiGHS reported a better objective than its values are worth."""
    s = r.solution
    if s.objective is None or r.reported is None:
        return False
    return s.objective > r.reported + 1e-6 * max(1.0, abs(r.reported))


def _tell_plans(h, on_plan: OnPlan | None) -> None:
    """Hand each better plan of ``h`` (its values, objective and bound) to ``on_plan``."""
    if on_plan is None:
        return

    def improving(e) -> None:
        out = e.data_out
        on_plan(np.array(out.mip_solution, dtype=float), float(out.objective_function_value), out.mip_dual_bound)

    h.cbMipImprovingSolution += improving


def solve_highs(
    jobs: list[tuple[Form, np.ndarray | None]], opts: SolveOptions, on_plan: OnPlan | None = None
) -> list[Solution]:
    """Solve every (form, start) at once within ``opts.time_limit_s``, one
    HiGHS each (see the module docstring); ``on_plan``: told of each better
    plan of a single form as HiGHS finds it."""
    t0 = time.monotonic()
    if not opts.msg:
        silence_banner()
    use_threads(opts.threads)
    hs = [make_highs(f, s, opts) for f, s in jobs]
    if len(hs) == 1:
        follow_highs(hs[0], opts.watch)
        _tell_plans(hs[0], on_plan)
    t1 = time.monotonic()
    stopped, overran = run_together(hs, opts.time_limit_s, opts)
    log.debug(
        "%d HiGHS solve(s): %.1f s to load, %.1f s to run (limit %.1f s)%s",
        len(hs),
        t1 - t0,
        time.monotonic() - t1,
        opts.time_limit_s,
        ", cancelled by the watchdog" if overran else "",
    )
    reads = [_read(h, f, stopped, overran, time.monotonic() - t0) for h, (f, _) in zip(hs, jobs)]
    out = [r.solution for r in reads]
    stale = [i for i, r in enumerate(reads) if jobs[i][1] is not None and _stale(r)]
    rest = opts.time_limit_s - (time.monotonic() - t0)
    if stale and not stopped and rest >= 1.0:
        log.debug("%d stale answer(s): solved again without the start for %.1f s", len(stale), rest)
        again = opts.but(time_limit_s=rest)
        hs = [make_highs(jobs[i][0], None, again) for i in stale]
        if len(jobs) == 1:
            _tell_plans(hs[0], on_plan)
        stopped, overran = run_together(hs, rest, again)
        for i, h in zip(stale, hs):
            r = _read(h, jobs[i][0], stopped, overran, time.monotonic() - t0).solution
            if r.has_plan and (not out[i].has_plan or r.cost < out[i].cost):
                out[i] = r.but(bound=_better_bound(out[i].bound, r.bound))
            elif stopped:
                out[i] = out[i].but(status=SolveStatus.INTERRUPTED)
    seconds = time.monotonic() - t0
    return [s.but(seconds=seconds) for s in out]


def _better_bound(a: float | None, b: float | None) -> float | None:
    bounds = [x for x in (a, b) if x is not None]
    return max(bounds) if bounds else None
