"""One solve of a model, from its best start, and the context every stage shares.

:func:`solve_direct` is the building block of every strategy: a solve of the
model's form (or a version of it: fixed, relaxed, with rows narrowed) from a
given plan, or else from the p-median core's greedy and interchange start
(:mod:`planner.solve.warmstart`). A complete interchange start, or a solve that
is mostly a proof, runs without HiGHS's primal heuristics; a start handed in
to improve keeps them (RINS finds what the stages need).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.config.scenario import SolverConfig
from planner.config.tuning import SolveTuning
from planner.model.core import Model
from planner.model.form import Form
from planner.solve import backend
from planner.solve.clock import Clock
from planner.solve.options import SolveOptions
from planner.solve.rounding import Guide
from planner.solve.status import Solution
from planner.solve.warmstart import initial_solution, is_complete


@dataclass(frozen=True)
class Context:
    """What every stage needs besides the model: the scenario's solver
    settings (and so its tuning) and the guide of rounded layouts."""

    cfg: SolverConfig
    guide: Guide

    @property
    def tuning(self) -> SolveTuning:
        return self.cfg.tuning

    def options(self, clock: Clock, **changes) -> SolveOptions:
        """Options for a call that may use what ``clock`` has left, stopped with it."""
        return SolveOptions.of(self.cfg, clock.left()).but(**{**clock.watching(), **changes})


def working_form(m: Model) -> Form:
    """The form the strategies solve: the model's, with its relaxable
    whole catchments (the p-median core's) continuous."""
    return m.form.relaxed(m.relaxable) if m.relaxable.any() else m.form


def solve_direct(
    m: Model,
    ctx: Context,
    clock: Clock,
    *,
    form: Form | None = None,
    start: np.ndarray | None = None,
    proof: bool = False,
    **changes,
) -> Solution:
    """Solve ``form`` (default :func:`working_form`) within ``clock``, from
    ``start`` (default: the p-median core's interchange plan, if any)."""
    form = working_form(m) if form is None else form
    interchange = False
    if start is None:
        start = initial_solution(m, ctx.tuning.warm_start)
        interchange = is_complete(form, start)
    opts = ctx.options(clock, heuristics=not (proof or interchange), **changes)
    res = backend.solve(form, opts, start)
    if res.has_plan and m.relaxable.any():
        x = whole_catchments(m, form, res.values)
        res = res.but(x=x, objective=form.objective(x))
    return res


def whole_catchments(m: Model, form: Form, x: np.ndarray) -> np.ndarray:
    """Every relaxed whole catchment (see :attr:`Model.relaxable`) given to
    one site: the cheapest in the objective among those the solver gave a
    share, so a tie split never costs more than the solver's value."""
    p = m.pairs
    q = p[m.relaxable[p["col"].to_numpy()] & ~form.integer[p["col"].to_numpy()]]
    if q.empty:
        return x
    cols = q["col"].to_numpy()
    share = x[cols]
    t = pd.DataFrame(
        {
            "g": q.groupby(["village_id", "band"], sort=False).ngroup().to_numpy(),
            "coef": form.cost[cols],
            "pos": np.arange(len(q)),
        }
    )[share > 1e-6]
    pick = t.sort_values(["g", "coef", "pos"], kind="stable").drop_duplicates("g")["pos"].to_numpy()
    out = x.copy()
    out[cols] = 0.0
    out[cols[pick]] = 1.0
    return out
