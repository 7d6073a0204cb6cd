"""Where the solve strategy is decided: one place, one clock.

- the p-median core (nothing but the uncoupled families, one type): one
  direct solve from the greedy and interchange start, whatever its size
  (OR-Library's pmed instances reach their optima this way);
- a model up to ``decompose_above_pairs`` pairs: the staged solve
  (:mod:`planner.solve.staged`), or one direct solve when it is small
  (``staged.direct_max_columns``), which HiGHS proves sooner;
- above it: the regional decomposition (:mod:`planner.solve.regional`).

:func:`time_plan` prints how the seconds of a run are shared out, from the
same tuning the stages read (``planner run --verbose`` shows it).
"""

from __future__ import annotations

import logging

from planner.config.tuning import SolveTuning
from planner.data.problem import Problem
from planner.model.core import Model
from planner.solve.clock import Clock
from planner.solve.direct import Context, solve_direct
from planner.solve.partition import region_count
from planner.solve.regional import solve_regions
from planner.solve.rounding import guide_of
from planner.solve.staged import solve_staged
from planner.solve.status import Solution, SolveStatus

log = logging.getLogger(__name__)


def strategy_of(m: Model, tuning: SolveTuning) -> str:
    """``direct``, ``staged`` or ``regional`` for this model."""
    if m.relaxable.any():
        return "direct"
    if region_count(len(m.pairs), tuning.regions) > 1:
        return "regional"
    small = len(m.form.cost) <= tuning.staged.direct_max_columns
    return "staged" if (m.whole & ~m.relaxable).any() and not small else "direct"


def solve_model(m: Model, problem: Problem, clock: Clock, floors: dict | None = None) -> Solution:
    """The model solved by its strategy within ``clock``."""
    cfg = problem.scenario.solver
    ctx = Context(cfg, guide_of(problem))
    how = strategy_of(m, cfg.tuning)
    started = clock.elapsed()
    for line in time_plan(how, cfg.tuning, clock.left()):
        log.info(line)
    if how == "regional":
        res = solve_regions(m, problem, region_count(len(m.pairs), cfg.tuning.regions), floors, ctx, clock)
    elif how == "staged":
        res = solve_staged(m, ctx, clock)
    else:
        res = solve_direct(m, ctx, clock)
        res = res.but(message=f"direct: {res.message}")
    if clock.stopped:  # asked to stop: whatever the stages made of it, the run was interrupted
        res = res.but(status=SolveStatus.INTERRUPTED)
    return res.but(seconds=clock.elapsed() - started)


def time_plan(how: str, tuning: SolveTuning, seconds: float) -> list[str]:
    """How ``seconds`` are shared out by a ``how`` solve if every stage uses
    its whole share (a stage that ends early passes its time on)."""
    head = f"time plan: {seconds:.0f} s, {how} solve"
    if how == "direct":
        return [head, "  one solve: all of it"]
    st = tuning.staged
    s1 = seconds * st.relax_share
    start = s1 * st.start_share
    staged = [
        f"  stage 1 (split catchments, the bound): {s1:.0f} s",
        f"    warm start: {start:.0f} s (LP up to {start * st.start_lp_share:.0f} s, then the rounded layout)",
        f"    split-catchment MIP: the rest of stage 1 ({s1 - start:.0f} s)",
        f"  stage 2 (whole catchments): the rest ({seconds - s1:.0f} s), less "
        f"{min(st.min_polish_s, st.investments_share * (seconds - s1)):.0f} s kept for 2b:",
        f"    each fixed solve {st.fix_share:.0%} of what is left; the repair {st.repair_share:.0%}",
        f"  stage 2b (whole investments): {st.fix_share:.0%} of what is left, at least what stage 2 kept for it",
        f"  stage 3 (polish): what is left, if at least {st.min_polish_s:.0f} s",
    ]
    if how == "staged":
        return [head, *staged]
    rg = tuning.regions
    lp = seconds * rg.county_lp_share
    regions = (seconds - lp) * (1 - rg.county_share)
    return [
        head,
        f"  county LP: up to {lp:.0f} s",
        f"  regions: {regions:.0f} s after the LP; each region's first pass {rg.first_pass_share:.0%} of its share "
        f"(by village-bands), then the second pass (at least {rg.second_pass_min_s:.0f} s a region)",
        f"  county repair and polish: the rest ({seconds - lp - regions:.0f} s), if at least {rg.county_min_s:.0f} s",
        "  each region's first pass is a staged solve:",
        *("  " + s for s in staged),
    ]
