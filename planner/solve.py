"""Solve: HiGHS through PuLP by default, CBC as the fallback.

Returns a :class:`SolveResult` with a status the run folder understands
(``optimal``, ``feasible``, ``time_limit``, ``infeasible``, ``no_solution``),
the objective, the best bound and the relative gap. Variable values stay on
the PuLP variables for :mod:`planner.decode` to read.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pulp

from planner.highs_bulk import BulkHiGHS
from planner.model import Model, apply_relaxation
from planner.scenario import SolverConfig
from planner.warmstart import HEURISTICS_OFF, initial_solution, is_complete


@dataclass(frozen=True)
class SolveResult:
    """What the solver reported."""

    status: str
    objective: float | None
    best_bound: float | None
    mip_gap: float | None
    solver: str
    seconds: float
    message: str = ""

    @property
    def bound(self) -> float | None:
        """The best bound if finite (HiGHS reports +-inf before it has one)."""
        return self.best_bound if self.best_bound is not None and abs(self.best_bound) < 1e300 else None

    @property
    def has_plan(self) -> bool:
        return self.status in ("optimal", "feasible", "time_limit", "interrupted")


def highs_available() -> bool:
    """True when highspy imports and PuLP can drive it."""
    try:
        return bool(pulp.HiGHS(msg=False).available())
    except pulp.PulpSolverError:
        return False


WATCHDOG_GRACE = 1.05
"""The solve is cancelled at this multiple of its time limit (plus 2 s)."""


class InterruptibleHiGHS(BulkHiGHS):
    """PuLP's HiGHS with the solve in a worker thread, so that Ctrl-C (or a
    SIGTERM the CLI turns into ``KeyboardInterrupt``) reaches the main thread
    at once and cancels the solve: HiGHS stops at its next callback, keeps
    the best plan found, and reports ``kInterrupt`` (status ``interrupted``)."""

    overran = False
    """Set when the watchdog, not the user, cancelled the solve."""

    def callSolver(self, lp):
        h = lp.solverModel
        h.HandleUserInterrupt = True
        worker = h.startSolve()
        stopped = False
        deadline = time.monotonic() + WATCHDOG_GRACE * self.timeLimit + 2.0 if self.timeLimit else None
        while True:
            try:
                if h.wait(0.1)[0]:
                    break
                if deadline is not None and not self.overran and time.monotonic() > deadline:
                    self.overran = True  # HiGHS overran its time_limit (seen at the root of big MIPs)
                    h.cancelSolve()
            except KeyboardInterrupt:
                h.cancelSolve()  # keep waiting: HiGHS stops within a callback
                stopped = True
        worker.join()
        if stopped and h.getInfo().primal_solution_status != 2:
            raise KeyboardInterrupt  # no plan to keep: stop every later stage too


def whole_catchments(m: Model) -> None:
    """Give every relaxed whole catchment (see
    :func:`planner.model.relax_uncoupled_assignments`) to one site: the
    cheapest in the objective among those the solver gave a share, so a tie
    split never costs more than the solver's value."""
    p = m.pairs
    if "relaxed" not in p.columns or not p["relaxed"].any():
        return
    q = p[p["relaxed"].to_numpy(bool)]
    share = np.array([v.varValue or 0.0 for v in q["var"]])
    if not len(share):
        return
    coef = np.array([m.lp.objective.get(v, 0.0) for v in q["var"]])
    t = pd.DataFrame({"g": q.groupby(["village_id", "band"], sort=False).ngroup().to_numpy(), "coef": coef,
                      "pos": np.arange(len(q))})[share > 1e-6]
    pick = t.sort_values(["g", "coef", "pos"], kind="stable").drop_duplicates("g")["pos"].to_numpy()
    whole = np.zeros(len(q))
    whole[pick] = 1.0
    for v, x in zip(q["var"], whole):
        v.varValue = x


def _highs_version(h) -> str:
    return f"highs {h.version()}" if hasattr(h, "version") else "highs"


def _solve_highs(m: Model, cfg: SolverConfig, warm_start: dict | None = None, proof: bool = False,
                 options: dict | None = None) -> SolveResult:
    """HiGHS from ``warm_start`` (default: :func:`initial_solution`). HiGHS
    1.16 can finish on a warm start it improved only in presolve's reduced
    space, report that better objective and hand back the start's own values
    (seen on a neighbourhood repair: objective 58.7 reported, values worth
    7,418). Such a stale answer is solved again without the start; if that
    finds no plan in the time left, the start stands at its true objective."""
    start = warm_start or initial_solution(m)
    interchange = not warm_start and start and is_complete(m, start)
    res = _run_highs(m, cfg, start, heuristics=not (proof or interchange), options=options)
    if not start or res.objective is None or not _stale(m, res.objective):
        return res
    rest = cfg.model_copy(update={"time_limit_s": max(1.0, cfg.time_limit_s - res.seconds)})
    again = _run_highs(m, rest, {})
    if again.objective is not None:
        return replace(again, seconds=res.seconds + again.seconds)
    restore(start)
    obj = pulp.value(m.lp.objective)
    return replace(res, objective=obj, mip_gap=_gap(obj, res.best_bound), seconds=res.seconds + again.seconds)


def snapshot(m: Model) -> dict[pulp.LpVariable, float | None]:
    """Every variable's current value (a plan to warm-start from or go back to)."""
    return {v: v.varValue for v in m.lp.variables()}


def restore(values: dict[pulp.LpVariable, float | None]) -> None:
    """Put a :func:`snapshot` back on the variables."""
    for v, x in values.items():
        v.varValue = x


@contextmanager
def fixed_at(fixing: dict[pulp.LpVariable, float]) -> Iterator[None]:
    """Variables held at the given values for the duration (bounds restored after)."""
    saved = [(v, v.lowBound, v.upBound) for v in fixing]
    for v, x in fixing.items():
        v.lowBound = v.upBound = x
    try:
        yield
    finally:
        for v, lo, hi in saved:
            v.lowBound, v.upBound = lo, hi


def _stale(m: Model, reported: float) -> bool:
    """The values on the variables cost more than the objective HiGHS reported."""
    return pulp.value(m.lp.objective) > reported + 1e-6 * max(1.0, abs(reported))


def _run_highs(m: Model, cfg: SolverConfig, start: dict, heuristics: bool = True,
               options: dict | None = None) -> SolveResult:
    """One HiGHS run. ``heuristics`` off only for the interchange start of a
    p-median (see :data:`HEURISTICS_OFF`): a staged solve's own start, a plan
    to improve, needs them (RINS found nothing without them on the demo)."""
    import highspy

    t0 = time.perf_counter()
    solver = InterruptibleHiGHS(msg=cfg.msg, gapRel=cfg.mip_gap, threads=cfg.threads, timeLimit=cfg.time_limit_s,
                                random_seed=cfg.seed, mip_abs_gap=1e-6, warm_start=start,
                                **({} if heuristics else HEURISTICS_OFF), **(options or {}))
    m.lp.solve(solver)
    whole_catchments(m)
    secs = time.perf_counter() - t0
    h = m.lp.solverModel
    st = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    S = highspy.HighsModelStatus
    if st == S.kOptimal:
        status = "optimal"
    elif st in (S.kInfeasible, S.kUnboundedOrInfeasible):
        status = "infeasible"
    elif st in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt):
        user = st == S.kInterrupt and not solver.overran
        status = ("interrupted" if user else "time_limit") if has_sol else "no_solution"
    else:
        status = "feasible" if has_sol else "no_solution"
    obj = float(info.objective_function_value) if has_sol else None
    bound = float(info.mip_dual_bound) if m.lp.isMIP() else obj
    gap = _gap(obj, bound)
    return SolveResult(status, obj, bound, gap, _highs_version(h), secs, h.modelStatusToString(st))


def _gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None or not abs(bound) < 1e300:
        return None
    return abs(obj - bound) / max(abs(obj), 1e-9)


def _solve_cbc(m: Model, cfg: SolverConfig) -> SolveResult:
    opts = dict(msg=cfg.msg, gapRel=cfg.mip_gap, timeLimit=cfg.time_limit_s, threads=cfg.threads,
                options=[f"randomCbcSeed {cfg.seed + 1}"])
    solver = pulp.COIN_CMD(**opts)  # a CBC on the PATH, else the one bundled with PuLP
    if not solver.available():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3.x deprecates the bundled CBC
            solver = pulp.PULP_CBC_CMD(**opts)
    t0 = time.perf_counter()
    code = m.lp.solve(solver)
    whole_catchments(m)
    secs = time.perf_counter() - t0
    sol = m.lp.sol_status
    if code == pulp.LpStatusInfeasible:
        status = "infeasible"
    elif sol == pulp.LpSolutionOptimal:
        status = "optimal"
    elif sol in (pulp.LpSolutionIntegerFeasible,):
        status = "time_limit" if secs >= cfg.time_limit_s * 0.98 else "feasible"
    else:
        status = "no_solution"
    obj = pulp.value(m.lp.objective) if status not in ("infeasible", "no_solution") else None
    bound = obj if status == "optimal" else None
    return SolveResult(status, obj, bound, 0.0 if status == "optimal" else None, "cbc", secs, pulp.LpStatus[code])


def solve(m: Model, cfg: SolverConfig, warm_start: dict | None = None, *, proof: bool = False,
          options: dict | None = None) -> SolveResult:
    """Solve with the configured solver; fall back to CBC (with a warning)
    when HiGHS is unavailable or fails. ``warm_start`` maps variables to a
    known plan's values (default: the heuristic of :mod:`planner.warmstart`).
    ``proof``: the start is believed near-optimal and the solve is mostly to
    prove it, so HiGHS's primal heuristics are off (as for the interchange start).
    ``options``: further HiGHS options (e.g. the LP method); CBC ignores them."""
    apply_relaxation(m)
    if cfg.name == "highs":
        if highs_available():
            try:
                return _solve_highs(m, cfg, warm_start, proof, options)
            except (pulp.PulpSolverError, RuntimeError) as e:
                warnings.warn(f"HiGHS failed ({e}); falling back to CBC", RuntimeWarning, stacklevel=2)
        else:
            warnings.warn("HiGHS (highspy) is not available; falling back to CBC", RuntimeWarning, stacklevel=2)
    return _solve_cbc(m, cfg)
