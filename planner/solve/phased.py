"""The phased model's strategy: the final layout first, then when each change happens.

1. The caller solves the last phase alone with the single-year strategy: the
   layout at the end (``phased.final_share`` of the run).
2. The whole phased model's LP relaxation: the bound the gap is reported
   against (``phased.bound_share`` of what is left).
3. The phased model with each site's types held to its type before and its
   type at the end, so the MIP decides *when* each change happens and the
   catchments, classes and areas of every phase; started from the phases
   solved one by one (each site keeping its type or taking its end type, the
   caller's work), which is a plan already. Where there is none, from the end
   layout in every phase (HiGHS completes the rest), and where that has no
   plan (a peak needs a site the end state closes), the whole phased model.

This is PyPSA's way with investment periods seen from the other end: the
end state is cheap to find well, and timing it is a much smaller MIP than
choosing it for every period at once.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from planner.config.scenario import SolverConfig
from planner.model.phased import PhasedModel
from planner.solve.backend import solve
from planner.solve.clock import Clock
from planner.solve.options import SolveOptions
from planner.solve.status import Solution, SolveStatus

log = logging.getLogger(__name__)


def held_to_end(pm: PhasedModel, type_before: pd.Series, type_after: pd.Series) -> np.ndarray:
    """The ``open`` columns of types a site neither had nor ends with (to hold at 0)."""
    o = pm.model.open
    before = o["site_id"].map(type_before).to_numpy()
    after = o["site_id"].map(type_after).fillna("closed").to_numpy()
    keep = (o["type"].to_numpy() == before) | (o["type"].to_numpy() == after)
    return o.loc[~keep, "col"].to_numpy()


def end_start(pm: PhasedModel, type_after: pd.Series) -> np.ndarray:
    """A partial start: every phase in the end layout (NaN: for HiGHS to complete)."""
    x = np.full(pm.model.form.shape[1], np.nan)
    o = pm.model.open
    x[o["col"].to_numpy()] = (o["site_id"].map(type_after).to_numpy() == o["type"].to_numpy()).astype(float)
    return x


def lp_bound(pm: PhasedModel, cfg: SolverConfig, clock: Clock) -> float | None:
    """The whole phased model's LP optimum, a valid bound (``None`` if not solved in time)."""
    sol = solve(pm.model.form.relaxed(), SolveOptions.of(cfg, clock.left()).but(**clock.watching()))
    return sol.objective if sol.status is SolveStatus.OPTIMAL else None


def start_from(pm: PhasedModel, phases: list[tuple[pd.Index, np.ndarray]]) -> np.ndarray:
    """A start from each phase's single-year solution (its column names and
    values): ``fam[k..]`` of phase p is ``fam[k..,p]`` here; NaN elsewhere."""
    x = np.full(pm.model.form.shape[1], np.nan)
    for phase, (names, values) in zip(pm.phases, phases):
        mapped = [n[:-1] + ("," if not n.endswith("[]") else "") + f"{phase}]" for n in names]
        at = pm.model.form.names.get_indexer(mapped)
        x[at[at >= 0]] = values[at >= 0]
    return x


def _kept_start(form, start: np.ndarray | None, solver: str) -> Solution | None:
    """The start itself as a plan, when it is complete and holds every row."""
    if start is None or np.isnan(start).any() or form.violations(start, 1e-6):
        return None
    return Solution(SolveStatus.FEASIBLE, start, form.objective(start), None, solver, 0.0, "the phases one by one")


def solve_phased(
    pm: PhasedModel,
    type_before: pd.Series,
    type_after: pd.Series,
    cfg: SolverConfig,
    clock: Clock,
    start: np.ndarray | None = None,
) -> Solution:
    """Time the end layout's changes (see the module docstring), from ``start``
    (the phases solved one by one) when given; the result's bound is the whole
    phased model's LP bound (when solved)."""
    started = clock.elapsed()
    bound = lp_bound(pm, cfg, clock.part("phased bound", cfg.tuning.phased.bound_share))
    held = held_to_end(pm, type_before, type_after)
    form = pm.model.form.fixed(held, np.zeros(len(held)))
    part = clock.part("phased timing")
    first = start if start is not None else end_start(pm, type_after)
    res = solve(form, SolveOptions.of(cfg, part.left()).but(**part.watching()), first)
    how = "phased: the end layout timed"
    kept = _kept_start(form, start, res.solver)
    if kept is not None and (not res.has_plan or res.cost > kept.cost):
        res = kept.but(status=SolveStatus.INTERRUPTED if clock.stopped else SolveStatus.FEASIBLE)
    if not res.has_plan and not clock.done():
        log.info("phased: no plan within the end layout; the whole phased model")
        res = solve(pm.model.form, SolveOptions.of(cfg, clock.left()).but(**clock.watching()))
        how = "phased: the whole model"
    if res.has_plan and how != "phased: the whole model":  # the timing MIP's own bound is not the model's
        res = res.but(bound=None if bound is None else min(bound, res.cost))
        if res.status is SolveStatus.OPTIMAL and (res.gap is None or res.gap > cfg.mip_gap):
            res = res.but(status=SolveStatus.FEASIBLE)
    return res.but(message=f"{how}: {res.message}", seconds=clock.elapsed() - started)
