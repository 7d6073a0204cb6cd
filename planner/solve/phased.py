"""The phased model's strategy: relax and fix over time, then the whole model.

1. Looking ahead, phase by phase but the last (:func:`look_ahead`): the
   phased model with this phase's integer columns whole, the earlier phases'
   held at the plan found for them, and the later phases' relaxed (an LP).
   A phase so decided has seen what the later phases will need (the end's
   targets, the peak's places, what the later budgets can pay for), which a
   phase solved alone has not. The first step relaxes nothing that holds a
   phase to the others, only later phases' integrality: its bound is a valid
   bound of the whole phased model, the one the gap is reported against.
2. The last phase (the caller's work, with the single-year strategy, which is
   good at the targets and standards the last phase carries): the problem left
   after the phases before.
3. The single-year strategy's repair of hot sites on the whole phased model
   (:func:`repaired`): around each site short of a standard, every phase's
   catchments and areas move together, the layout held. The phases decided in
   turn leave whole villages where the later phases make them dear; a small
   MIP over a few sites and every phase moves them.
4. The whole phased model started from that plan, in the time left, so that
   HiGHS may move a change to another phase (:func:`solve_phased`).

This is PyPSA's rolling horizon (``optimization/window.py``) with the window
reaching the end, and relax-and-fix as the lot-sizing literature does it over
time periods.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np

from planner.config.scenario import SolverConfig
from planner.model.core import Model
from planner.model.form import Form
from planner.model.phased import PhasedModel
from planner.solve.backend import solve
from planner.solve.clock import Clock
from planner.solve.direct import Context
from planner.solve.options import SolveOptions
from planner.solve.repair import repair
from planner.solve.staged import layout_fixing
from planner.solve.status import Solution, SolveStatus

log = logging.getLogger(__name__)


def look_ahead_form(pm: PhasedModel, k: int, before: np.ndarray) -> Form:
    """Phase ``k`` whole, the phases after it an LP, the integer columns of the
    phases before it held at ``before`` (rounded)."""
    form = pm.model.form
    phase = pm.col_phase
    held = np.flatnonzero(form.integer & (phase >= 0) & (phase < k))
    if np.isnan(before[held]).any():
        raise ValueError("the phases before need their plan")
    return form.relaxed(form.integer & (phase > k)).fixed(held, np.round(before[held]))


@dataclass(frozen=True)
class Ahead:
    """Every phase but the last decided, looking ahead."""

    values: np.ndarray | None
    """The phased model's columns (the last phase's as the last step's LP left
    them); ``None`` if a step found no plan."""
    bound: float | None
    """The first step's bound: a valid bound of the whole phased model."""
    proof: Solution | None
    """The first step's answer when it proved that the whole phased model has no plan."""


def look_ahead(pm: PhasedModel, cfg: SolverConfig, clock: Clock) -> Ahead:
    """Every phase but the last decided in turn, looking ahead (see the module
    docstring), each step an even share of what ``clock`` has left."""
    x = np.full(pm.model.form.shape[1], np.nan)
    bound: float | None = None
    steps = len(pm.phases) - 1
    for k in range(steps):
        part = clock.part(f"phase {pm.phases[k]} looking ahead", 1.0 / (steps - k))
        sol = solve(look_ahead_form(pm, k, x), SolveOptions.of(cfg, part.left()).but(**part.watching()))
        log.info("phase %s looking ahead: %s, %s", pm.phases[k], sol.status.value, sol.objective)
        if k == 0:
            bound = sol.bound
        if not sol.has_plan:
            proved = k == 0 and sol.status is SolveStatus.INFEASIBLE
            return Ahead(None, bound, sol if proved else None)
        x = sol.values
    return Ahead(x, bound, None)


def with_last_phase(pm: PhasedModel, x: np.ndarray, last: Model, values: np.ndarray) -> np.ndarray:
    """``x`` with the last phase's columns from its single-year model's solution:
    ``fam[k..]`` there is ``fam[k..,last]`` here; 0 where there is none (a
    choice the phases before have closed, such as moving out what a school
    that may no longer close holds)."""
    out = x.copy()
    out[pm.col_phase == len(pm.phases) - 1] = 0.0
    phase = pm.phases[-1]
    for (family, key), col in last.columns.items():
        at = pm.model.columns.get((family, (*key, phase)))
        if at is not None:
            out[at] = values[col]
    return out


def complete(x: np.ndarray | None) -> TypeGuard[np.ndarray]:
    """Whether ``x`` is a plan with a value for every column (a step that
    found none leaves ``None`` or NaNs)."""
    return x is not None and not np.isnan(x).any()


def repaired(pm: PhasedModel, ctx: Context, clock: Clock, start: np.ndarray) -> np.ndarray:
    """``start`` (a complete phased plan) after the hot-site repair
    (:func:`~planner.solve.repair.repair`) on the whole phased model, with
    every phase's layout held at ``start``'s, in the time ``clock`` has; the
    repair never makes a plan worse."""
    m = pm.model
    plan = Solution(SolveStatus.FEASIBLE, start, m.form.objective(start), None, ctx.cfg.name, 0.0, "phase by phase")
    res, mips = repair(m, ctx, clock, layout_fixing(m, start), plan)
    log.info("phased repair: %s -> %s in %d MIPs", plan.objective, res.objective, mips)
    return res.values


def _kept_start(form: Form, start: np.ndarray | None, solver: str, tol: float) -> Solution | None:
    """The start itself as a plan, when it is complete and holds every row (within ``tol``)."""
    if not complete(start) or form.violations(start, tol):
        return None
    return Solution(SolveStatus.FEASIBLE, start, form.objective(start), None, solver, 0.0, "phase by phase")


def solve_phased(
    pm: PhasedModel, cfg: SolverConfig, clock: Clock, start: np.ndarray | None = None, bound: float | None = None
) -> Solution:
    """The whole phased model from ``start`` (the phases decided in turn) in
    the time ``clock`` has left; ``bound``: a valid bound found before (the
    first look-ahead's), kept if HiGHS's own is weaker."""
    started = clock.elapsed()
    form = pm.model.form
    res = solve(form, SolveOptions.of(cfg, clock.left()).but(**clock.watching()), start)
    how = "phased: the whole model" if start is None else "phased: phase by phase, then the whole model"
    kept = _kept_start(form, start, res.solver, cfg.tuning.backend.plan_row_tol)
    if kept is not None and (not res.has_plan or res.cost > kept.cost):
        res = kept.but(status=SolveStatus.INTERRUPTED if clock.stopped else SolveStatus.FEASIBLE, bound=res.bound)
    best = max((b for b in (bound, res.bound) if b is not None), default=None)
    if res.has_plan and best is not None:
        res = res.but(bound=min(best, res.cost))
        if res.status is SolveStatus.OPTIMAL and (res.gap is None or res.gap > cfg.mip_gap):
            res = res.but(status=SolveStatus.FEASIBLE)
    return res.but(message=f"{how}: {res.message}", seconds=clock.elapsed() - started)
