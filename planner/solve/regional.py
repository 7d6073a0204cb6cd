"""Regional decomposition for counties too big for one MIP.

The field's answer for facility location at that size is to decompose by
geography and keep one global bound:

1. **the county's LP** (every integer relaxed, interior point without
   crossover) gives the lower bound the gap is measured against and the
   fractional layout, rounded (:mod:`planner.solve.rounding`); an LP not
   solved in its share of the time leaves the current layout to round
   instead: a plan, but no bound unless the county's polish proves one;
2. **regions** (:mod:`planner.solve.partition`): townships grouped by
   bisection, each village-band, whole, in one region;
3. **regional plans**: each region is its own problem (its sites, its
   village-bands, the rounded layout's counts as exact targets, and the
   budget left after reserving the LP's spending in the regions still to
   come), solved by the staged solve in a share of the time; the regions
   still above the target gap then share what is left, the worst first
   (shortfall repair and polish, within the budget still free);
4. **the county's plan** joins the regional plans by column name; it is a
   plan of the county's model (checked row by row), with a gap against the
   LP bound; shortfalls left at region edges are repaired on the county's
   model and the time left goes to a polish.

A village-band only goes to a site of its own region, so the joined plan is
a restriction of the county's model: feasible, never better than the best
plan, and honest about its gap through the global bound. Knobs:
:class:`~planner.config.tuning.RegionsTuning`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from planner.config.scenario import BudgetConfig, Scenario, SolverConfig
from planner.data.problem import Problem
from planner.domain import COST_CATEGORIES
from planner.model.build import build_model
from planner.model.core import Model
from planner.solve.clock import Clock
from planner.solve.direct import Context, solve_direct
from planner.solve.partition import band_regions, site_regions
from planner.solve.repair import hot_sites, repair
from planner.solve.rounding import current_layout_values, guide_of, round_layout
from planner.solve.staged import finish, layout_fixing, solve_staged, whole_investments
from planner.solve.status import Solution, SolveStatus, gap, no_plan

log = logging.getLogger(__name__)
"""Each stage's seconds and objective at INFO (``planner run --verbose``)."""


# ------------------------------------------------------------------- budget


def site_spending(m: Model, x: np.ndarray) -> pd.DataFrame:
    """Spending at ``x`` by site (index) and cost category (columns)."""
    rows = []
    for k, v in m.cost.items():
        sites = m.col_site[v.cols]
        rows.append(pd.DataFrame({"site_id": sites, "category": k, "spend": v.coefs * x[v.cols]}))
    tab = (
        pd.concat(rows, ignore_index=True).dropna(subset=["site_id"])
        if rows
        else pd.DataFrame(columns=["site_id", "category", "spend"])
    )
    return tab.pivot_table(index="site_id", columns="category", values="spend", aggfunc="sum", fill_value=0.0)


def limits(scen: Scenario) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Each budget row as (limit for the sites, the categories it sums): the
    scenario's limit less its fixed projects' costs in those categories
    (optional projects are left to the county's polish)."""
    b = scen.budget
    out: dict[str, tuple[float, tuple[str, ...]]] = {k: (v, (k,)) for k, v in b.by_category_10k_yuan.items()}
    if b.total_10k_yuan is not None:
        out["total"] = (b.total_10k_yuan, tuple(c for c in COST_CATEGORIES if b.covered(c)))
    fixed = [p for p in scen.projects if not p.optional]
    return {k: (lim - sum(p.cost_10k_yuan for p in fixed if p.category in c), c) for k, (lim, c) in out.items()}


def regional_budget(scen: Scenario, spent: dict[str, float], reserve: dict[str, float]) -> BudgetConfig:
    """The ``budget`` of a region: each limit less what earlier regions spent
    and what later regions' LP spending reserves (never below zero)."""
    upd: dict = {}
    for k, (lim, _) in limits(scen).items():
        left = max(0.0, lim - spent.get(k, 0.0) - reserve.get(k, 0.0))
        if k == "total":
            upd["total_10k_yuan"] = left
        else:
            upd.setdefault("by_category_10k_yuan", dict(scen.budget.by_category_10k_yuan))[k] = left
    return scen.budget.model_copy(update=upd)


def sums(spend: pd.DataFrame, scen: Scenario) -> dict[str, float]:
    """Spending (a :func:`site_spending` table) summed by budget row."""
    return {
        k: float(spend.reindex(columns=list(cats), fill_value=0.0).to_numpy().sum())
        for k, (_, cats) in limits(scen).items()
    }


def added_up(spends: list[dict[str, float]]) -> dict[str, float]:
    """Regions' spending by budget row, added up."""
    return {k: sum(x.get(k, 0.0) for x in spends) for k in {k for x in spends for k in x}}


def cap_budget(sm: Model, x: np.ndarray, scen: Scenario, used: dict[str, float]) -> Model:
    """A region's model whose budget rows allow what it spends at ``x`` plus
    what the county's limits leave free over every region's spending
    (``used``, by budget row), so a region solved again cannot take what a
    later region was given."""
    own = sums(site_spending(sm, x), scen)
    rows = {}
    for k, (lim, _) in limits(scen).items():
        i = sm.row("budget_total") if k == "total" else sm.row("budget_category", k)
        if i is not None:
            rows[i] = (sm.form.row_lower[i], own[k] + max(0.0, lim - used.get(k, 0.0)))
    return replace(sm, form=sm.form.with_rows(rows))


# --------------------------------------------------------------- sub-problems


def regional_problem(
    problem: Problem,
    sites: pd.Index,
    bands: pd.MultiIndex,
    counts: dict[str, int],
    budget: BudgetConfig,
    cfg: SolverConfig,
) -> Problem:
    """The county restricted to ``sites`` and the village-bands ``bands``,
    with ``counts`` as exact targets for the county's targeted types."""
    scen = problem.scenario
    targets = {t: counts.get(t, 0) for t in scen.targets}
    sub = scen.model_copy(update={"targets": targets, "budget": budget, "solver": cfg, "projects": ()})
    pairs = problem.pairs
    keep = pairs["site_id"].isin(sites) & pd.MultiIndex.from_frame(pairs[["village_id", "band"]]).isin(bands)
    return replace(
        problem, scenario=sub, sites=problem.sites.loc[sites], pairs=pairs[keep.to_numpy()].reset_index(drop=True)
    )


def joined(m: Model, parts: list[tuple[Model, np.ndarray]]) -> np.ndarray:
    """The county's values from regional ones, by column name; a column no
    region has (a pair across regions) is zero."""
    x = np.zeros(m.form.shape[1])
    for sm, xs in parts:
        idx = m.form.names.get_indexer(sm.form.names)
        ok = idx >= 0
        x[idx[ok]] = xs[ok]
    return x


@dataclass
class Region:
    """A region's model, its plan, and its spending by budget row."""

    model: Model
    plan: Solution
    spend: dict[str, float]


# -------------------------------------------------------------------- solve


def solve_regions(m: Model, problem: Problem, n: int, floors: dict | None, ctx: Context, clock: Clock) -> Solution:
    """The regional decomposition of the module docstring, in ``n`` regions."""
    t = ctx.tuning.regions
    lp = solve_direct(
        m,
        ctx,
        clock.part("county LP", t.county_lp_share),
        form=m.form.relaxed(),
        lp_method=t.county_lp_method,
        crossover=t.county_lp_crossover,
    )
    if lp.interrupted:
        raise KeyboardInterrupt  # a relaxation is no plan to keep
    if lp.status is SolveStatus.INFEASIBLE:
        return no_plan(SolveStatus.INFEASIBLE, lp.solver, clock.elapsed(), "the county's LP relaxation is infeasible")
    bound = lp.objective if lp.has_plan else None
    values = lp.values if lp.has_plan else current_layout_values(m, ctx.guide)
    log.info("county LP: %s, bound %s, %.1f s", lp.status.value, _num(bound), clock.elapsed())
    regions, why = regional_plans(m, values, problem, n, floors, ctx, clock.part("regions", 1 - t.county_share))
    if regions is None:
        return no_plan(SolveStatus.NO_SOLUTION, lp.solver, clock.elapsed(), why, bound)
    x = joined(m, [(r.model, r.plan.values) for r in regions])
    bad = m.form.violations(x, t.row_tol)
    if bad:
        return no_plan(
            SolveStatus.NO_SOLUTION,
            lp.solver,
            clock.elapsed(),
            "the joined regional plans break " + ", ".join(bad[:5]),
            bound,
        )
    obj = m.form.objective(x)
    log.info("joined plan: %.1f (gap %.2f %%), %.1f s", obj, 100 * (gap(obj, bound) or 0.0), clock.elapsed())
    how = (
        f"{n} regions"
        if bound is not None
        else (
            f"{n} regions guided by the current layout (the county's LP was not solved in {lp.seconds:.0f} s: no bound)"
        )
    )
    status = SolveStatus.INTERRUPTED if regions[-1].plan.interrupted else SolveStatus.TIME_LIMIT
    best = Solution(status, x, obj, bound, lp.solver, 0.0, how)
    if not best.interrupted and not clock.done(t.county_min_s):
        best = repeat_repairs(m, ctx, clock.part("county repair", ctx.tuning.staged.fix_share), best)
    far = (gap(best.objective, bound) or 1.0) > ctx.cfg.mip_gap  # no bound: always worth a polish
    if not best.interrupted and not clock.done(max(ctx.tuning.staged.min_polish_s, t.county_min_s)) and far:
        best = polish(m, ctx, clock.part("county polish"), best)
    log.info("county: %.1f after its repair and polish, %.1f s", best.objective, clock.elapsed())
    bounds = [b for b in (bound, best.bound) if b is not None]
    return finish(best, max(bounds) if bounds else None, clock, ctx, f"regional ({n} regions)")


def regional_plans(
    m: Model, values: np.ndarray, problem: Problem, n: int, floors: dict | None, ctx: Context, clock: Clock
) -> tuple[list[Region] | None, str]:
    """Round the LP's layout (``values``), cut the county into ``n`` regions
    and solve each in turn (each takes its share of ``clock`` by its
    village-bands; a region done early passes its time on), then the second
    pass. Returns the regions or, on failure, why."""
    t, scen = ctx.tuning.regions, problem.scenario
    layout = round_layout(m, values, ctx.guide, ctx.tuning.rounding)
    region = site_regions(problem, n)
    bands = band_regions(m, values, layout, region, ctx, clock)
    spend = site_spending(m, values)
    on = m.open[layout > 0.5]
    solved: list[Region] = []
    for r in range(n):
        sites = region.index[region.to_numpy() == r]
        reserve = sums(spend.reindex(region.index[region.to_numpy() > r]).fillna(0.0), scen)
        mine = bands.index[bands.to_numpy() == r]
        share = len(mine) / max(1, int((bands.to_numpy() >= r).sum()))
        part = clock.part(f"region {r + 1} of {n}, first pass", t.first_pass_share * share)
        rcfg = scen.solver.model_copy(update={"mip_gap": max(scen.solver.mip_gap, t.first_pass_gap)})
        counts = on.loc[on["site_id"].isin(sites), "type"].value_counts().to_dict()
        sub = regional_problem(
            problem, sites, mine, counts, regional_budget(scen, added_up([x.spend for x in solved]), reserve), rcfg
        )
        sm = build_model(sub, floors)
        res = solve_staged(sm, Context(rcfg, guide_of(sub)), part)
        log.info(
            "region %d of %d, first pass: %d pairs, %s, %s (bound %s), %.1f of %.1f s",
            r + 1,
            n,
            len(sm.pairs),
            res.status.value,
            _num(res.objective),
            _num(res.bound),
            res.seconds,
            part.seconds,
        )
        if not res.has_plan or (res.interrupted and r < n - 1):
            return None, f"region {r + 1} of {n}: {res.message}"
        solved.append(Region(sm, res, sums(site_spending(sm, res.values), scen)))
    if not solved[-1].plan.interrupted:
        second_pass(solved, scen, ctx, clock)
    return solved, ""


def second_pass(solved: list[Region], scen: Scenario, ctx: Context, clock: Clock) -> None:
    """The regions still above the target gap, the most objective above
    their bound first, share the time left in proportion to that excess:
    each is repaired (:func:`repeat_repairs`) and polished in what the repair
    left, within its own spending plus what the county's budget still has
    free (:func:`cap_budget`). A share below ``second_pass_min_s`` is raised
    to it while that much is left, and skipped after. ``solved`` is updated
    in place."""
    t = ctx.tuning.regions
    above = {
        i: r.plan.cost - (r.plan.bound or 0.0)
        for i, r in enumerate(solved)
        if r.plan.gap is None or r.plan.gap > ctx.cfg.mip_gap
    }
    excess = {i: e for i, e in above.items() if e > t.row_tol}
    total = sum(excess.values())
    for i in sorted(excess, key=lambda i: (-excess[i], i)):
        seconds = max(clock.left() * excess[i] / total, min(t.second_pass_min_s, clock.left()))
        total -= excess[i]
        if seconds < t.second_pass_min_s:
            continue
        part = clock.part(f"region {i + 1}, second pass", at_most=seconds)
        reg = solved[i]
        sm = cap_budget(reg.model, reg.plan.values, scen, added_up([r.spend for r in solved]))
        rctx = Context(scen.solver, ctx.guide)
        r = repeat_repairs(sm, rctx, part, reg.plan)
        r = polish(sm, rctx, part, r)
        log.info(
            "region %d, second pass: %s -> %s (bound %s), %.1f of %.1f s",
            i + 1,
            _num(reg.plan.objective),
            _num(r.objective),
            _num(r.bound),
            part.elapsed(),
            seconds,
        )
        solved[i] = Region(sm, r, sums(site_spending(sm, r.values), scen))
        if r.interrupted:
            return


def repair_shortfalls(m: Model, ctx: Context, clock: Clock, best: Solution) -> Solution:
    """The plan's shortfalls repaired (across region edges, on the county's
    model): the neighbourhood repair with the layout fixed and investments
    continuous, then investments made whole; kept only if it beats ``best``."""
    if not hot_sites(m, best.values, ctx.tuning.repair.short_tol) or clock.done(1.0):
        return best
    invest = m.investments
    relaxed = replace(m, form=m.form.relaxed(invest))
    r, rounds = repair(
        relaxed, ctx, clock.part("repair", ctx.tuning.staged.fix_share), layout_fixing(m, best.values), best
    )
    whole = whole_investments(m, ctx, clock.part("investments"), r) if rounds else None
    if whole is None or not whole.has_plan or whole.cost >= best.cost:
        return best
    left = len(hot_sites(m, whole.values, ctx.tuning.repair.short_tol))
    return best.but(
        x=whole.x, objective=whole.objective, message=f"{best.message}; shortfalls repaired, {left} short site(s) left"
    )


def repeat_repairs(m: Model, ctx: Context, clock: Clock, best: Solution) -> Solution:
    """:func:`repair_shortfalls` again from each plan it improves, until one
    brings nothing or the clock runs out: each round starts from the sites
    still short after the last round made its investments whole."""
    while not clock.done(1.0):
        r = repair_shortfalls(m, ctx, clock, best)
        if r is best:
            break
        best = r
    return best


def polish(m: Model, ctx: Context, clock: Clock, best: Solution) -> Solution:
    """The model's full MIP (a region's, or the county's) from ``best`` for
    what the clock has left; ``best`` is kept unless the MIP beats it."""
    if clock.done(ctx.tuning.staged.min_polish_s):
        return best
    r = solve_direct(m, ctx, clock, start=best.x)
    status = SolveStatus.INTERRUPTED if r.interrupted else best.status
    bounds = [b for b in (best.bound, r.bound) if b is not None]
    bound = max(bounds) if bounds else None
    if r.has_plan and r.cost <= best.cost + 1e-9:
        return r.but(status=status, bound=bound, message=best.message)
    return best.but(status=status, bound=bound)


def _num(x: float | None) -> str:
    return "none" if x is None else f"{x:,.1f}"
