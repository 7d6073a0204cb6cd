"""Regional decomposition for counties too big for one MIP.

At ten times the demo (200,000 pairs) the staged solve of
:mod:`planner.staged` finds no plan in ten minutes: the LP relaxation alone
takes most of its stage. The field's answer for facility location at that
size is to decompose by geography and keep one global bound:

1. **the county's LP** (every integer relaxed, HiGHS's interior point
   without crossover) gives the lower bound the gap is measured against and
   the fractional layout, rounded by :func:`planner.staged.round_layout` (an
   assignment of types to sites that keeps the county's target counts and
   never gives a site a type whose cap the LP's pupils there overflow); an
   LP not solved in its share of the time leaves the current layout to
   round instead (:func:`planner.staged.current_layout_guide`): a plan, but no bound unless
   the county's polish proves one. That needs the regions to find plans in
   the time the LP left: at 10x the demo with 300 s they had 145 s, and the
   town's region found none in its 2.8 s, so that run still ends without a
   plan (it needs about 600 s);
2. **regions**: townships are grouped by recursive coordinate bisection into
   regions of about ``solver.region_pairs`` pairs (a township heavier than
   half a region, such as the county town, is cut by its sites); each site
   belongs to its area's region, each village-band, whole, to a region with
   an open site (in the rounded layout) teaching it, chosen by a small MIP
   that keeps each region's pupils of each band within what the LP sent
   there (:func:`split_mip`);
3. **regional plans**: each region is its own problem (its sites, its
   village-bands, the rounded layout's counts as exact targets, and the
   budget left after reserving the LP's spending in the regions still to
   come), solved by the staged solve in half its share of the time; the
   regions still above the target gap then share what is left, the worst
   first (shortfall repair and polish, within the budget still free);
4. **the county's plan** joins the regional plans by variable name; it is a
   plan of the county's model (checked row by row), with a gap against the
   LP bound; shortfalls left at region edges are repaired on the county's
   model and the time left goes to a polish.

A village-band only goes to a site of its own region, so the joined plan is
a restriction of the county's model: feasible, never better than the best
plan, and honest about its gap through the global bound.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pulp

from planner.highs_bulk import BulkHiGHS, model_arrays
from planner.model import COST_CATEGORIES, Model, build_model
from planner.model_standards import INVESTMENT_CATEGORIES
from planner.problem import Problem
from planner.scenario import BudgetConfig, Scenario, SolverConfig
from planner.solve import SolveResult, _gap, restore, snapshot, solve
from planner.repair import repair, short_sites
from planner.staged import (FIX_SHARE, MIN_POLISH_S, current_layout_guide, guides, integers, investments,
                            layout_fixing, relaxing, result, round_layout, solve_staged, taught, whole_investments)

LP_SHARE = 0.5
"""The county's LP may take up to this share of the limit (10x: 163 s of 600)."""
LP_OPTIONS = {"solver": "ipm", "run_crossover": "off"}
"""Interior point without crossover: at 10x 163 s, against 205 s with
crossover and more than 90 s unfinished with dual simplex; the rounding
needs values, not a vertex."""
FIRST_PASS_SHARE = 0.5
"""Each region's first solve gets this share of its part of the time; the
rest goes to the regions still above the target gap (:func:`second_pass`)."""
FIRST_PASS_GAP = 0.01
"""A region's first solve stops within this gap of its own bound (or the
target gap, if looser): at 10x the demo 18 of 21 regions ended within
0.3-1.9 % of their bounds, most still polishing when their time ran out,
while the county town's region, 2.3 times its bound, was still improving
when the second pass's time ran out; the second pass shares the time by
what each region has above its bound. Measured at 10x: gap 9.9 % -> 8.3 %
(2,497,752 -> 2,455,893; shortfalls to close 259.7 -> 151.6 10k yuan)."""
SECOND_PASS_MIN_S = 15.0
"""A region's second pass is skipped with fewer seconds for it: its
polish and the making whole of its investments each take at least
:data:`planner.staged.MIN_POLISH_S`, and passing its model and checking
the warm start come before HiGHS's clock starts; at 10x the last region,
given 6.3 s, took 17.9 s and the run ended 8 s past its limit."""
COUNTY_SHARE = 0.15
"""Of the time after the LP, what the county-level repair and polish keep
back from the regions."""
COUNTY_MIN_S = 30.0
"""The county-level repair and polish are skipped with less time left: a
county-level solve first passes the county's whole model to HiGHS (at 10x,
295,572 rows), and with 11 s left at 10x they took 26 s, past the time
limit, and found nothing."""
SPLIT_OVER = 1000.0
"""Weight, in :func:`split_mip`, of a pupil over what the LP sent to a
region (against 1 for a pupil placed where the LP did not send it)."""
SPLIT_KM = 1e-3
"""Weight, in :func:`split_mip`, of a pupil-km to the nearest site of a
region: it only breaks ties (30 km weigh as 3 % of a village-band's share)."""
SPLIT_SECONDS = 5.0
"""Time limit of :func:`split_mip`. At 10x it has 32,631 binaries and
takes 1.3 s to build; the regions' LPs added up to 2,260,695 after 5 s
and to 2,259,520 after 20 s."""
SPLIT_GAP = 1e-4
"""Relative gap at which :func:`split_mip` stops."""
ROW_TOL = 1e-5
log = logging.getLogger(__name__)
"""Each stage's seconds and objective at INFO (``planner run --verbose``)."""


def region_count(pairs: int, cfg: SolverConfig) -> int:
    """How many regions a model of ``pairs`` pairs is cut into (1: no cut):
    none up to ``solver.decompose_above_pairs``, then about
    ``solver.region_pairs`` pairs each."""
    if cfg.decompose_above_pairs is None or pairs <= cfg.decompose_above_pairs:
        return 1
    return max(2, math.ceil(pairs / cfg.region_pairs))


def solve_county(m: Model, problem: Problem, floors: dict | None = None) -> SolveResult:
    """The staged solve, or for a model above ``solver.decompose_above_pairs``
    pairs the regional decomposition (module docstring). The uncapacitated
    p-median core is never cut: it needs no stages, one HiGHS solve from the
    interchange start takes OR-Library's pmed instances to their optima."""
    cfg = problem.scenario.solver
    n = region_count(len(m.pairs), cfg)
    if n <= 1 or bool(m.pairs.get("relaxed", pd.Series(dtype=bool)).any()):
        return solve_staged(m, cfg, **guides(problem))  # a p-median core (pmed40: 810,000 pairs) is one direct solve
    return solve_regions(m, problem, n, floors)


# ------------------------------------------------------------------ regions


def area_keys(sites: pd.DataFrame, weight: pd.Series, n: int) -> pd.Series:
    """Each site's area: its township, or the site itself when it has none
    or when its township weighs more than half a region (a county town
    of 30,000 pairs at 10x is cut like the rest)."""
    town = sites["township"].fillna("").astype(str)
    heavy = town.map(weight.groupby(town).sum()) > weight.sum() / n / 2
    return town.where((town != "") & ~heavy, "site:" + sites.index.to_series().astype(str))


def bisect(points: pd.DataFrame, n: int) -> pd.Series:
    """Recursive coordinate bisection of weighted points (columns x, y, w)
    into ``n`` parts of about equal weight: split across the wider extent
    where the cumulative weight comes closest to n1/n. Deterministic (ties
    break on index, then on the earlier cut)."""
    out = pd.Series(0, index=points.index, dtype=int)

    def cut(idx: pd.Index, parts: int, first: int) -> None:
        if parts <= 1 or len(idx) <= 1:
            out[idx] = first
            return
        p = points.loc[idx]
        axis = "x" if np.ptp(p["x"]) >= np.ptp(p["y"]) else "y"
        p = p.sort_values([axis, "key"], kind="stable")
        left = parts // 2
        share = p["w"].cumsum() / max(float(p["w"].sum()), 1e-9)
        k = int(np.argmin(np.abs(share.to_numpy()[:-1] - left / parts))) + 1  # the closest cut, first on ties
        cut(p.index[:k], left, first)
        cut(p.index[k:], parts - left, first + left)

    points = points.assign(key=points.index.astype(str))
    cut(points.index, n, 0)
    return out


def site_regions(problem: Problem, n: int) -> pd.Series:
    """Region of every site: areas (townships) bisected by their pairs."""
    sites = problem.sites
    weight = problem.pairs["site_id"].value_counts().reindex(sites.index, fill_value=0) + 1
    area = area_keys(sites, weight, n)
    pts = pd.DataFrame({"x": sites["x"], "y": sites["y"], "w": weight, "area": area})
    areas = pts.groupby("area", sort=True).agg(x=("x", "mean"), y=("y", "mean"), w=("w", "sum"))
    return area.map(bisect(areas, n)).rename("region")


def band_regions(m: Model, layout: dict, serving: dict, region: pd.Series, cfg: SolverConfig) -> pd.Series:
    """Region of every village-band, whole, keeping each region's pupils of
    a band near what the LP sent to its sites: a region given more pupils
    than the LP had there must pack them onto full sites, and the regions'
    own bounds then add up to more than the county's. A small MIP
    (:func:`split_mip`) picks, for each village-band, one of the regions
    with an open site (in ``layout``) teaching its band; a village-band
    with no such site keeps its nearest site's region. ``cfg``: HiGHS's
    threads and seed."""
    kind = {s: t for s, t, v in m.open[["site_id", "type", "var"]].itertuples(index=False) if layout[v] > 0.5}
    p = m.pairs[["village_id", "band", "site_id", "distance_km", "pupils"]].copy()
    p["share"] = [v.varValue or 0.0 for v in m.pairs["var"]]
    p["region"] = p["site_id"].map(region).to_numpy()
    room = (p["share"] * p["pupils"]).groupby([p["region"], p["band"]]).sum()
    options = p[taught(m.pairs, kind, serving)].groupby(["village_id", "band", "region"], sort=True).agg(
        share=("share", "sum"), pupils=("pupils", "first"), km=("distance_km", "min")).reset_index()
    nearest = p.sort_values(["distance_km", "site_id"], kind="stable").drop_duplicates(["village_id", "band"])
    out = nearest.set_index(["village_id", "band"])["region"].astype(int)
    pick = split_mip(options, room, cfg)
    out.loc[pick.index] = pick.to_numpy()
    return out.sort_index()


def split_mip(options: pd.DataFrame, room: pd.Series, cfg: SolverConfig) -> pd.Series:
    """One region for each village-band of ``options`` (rows: village_id,
    band, region, the LP's share of it there, its pupils, km to its nearest
    site there that teaches it), minimising the pupils over what the LP
    sent to each region and band (``room``), at :data:`SPLIT_OVER` each,
    plus the pupils placed where the LP did not send them, plus
    :data:`SPLIT_KM` per pupil-km to the nearest site (between regions the
    LP did not use, the nearer). A village-band with one option takes it.
    Starts from each village-band in the region with its largest share;
    stops within :data:`SPLIT_SECONDS`. The greedy it replaces (largest
    first, each to its largest share that still had room) gave the town's
    region at 10x 112 pupils more than the LP sent there; the regions' LPs
    then added up to 2,295,538 against the county's 2,251,176, and after
    this MIP to 2,260,695 (the town's region 282,889 -> 247,298)."""
    count = options.groupby(["village_id", "band"], sort=False)["region"].transform("size").to_numpy()
    one, free = options[count == 1], options[count > 1].reset_index(drop=True)
    left = room.sub(one.groupby(["region", "band"])["pupils"].sum(), fill_value=0.0)
    pupils = free["pupils"].to_numpy(float)
    lp = pulp.LpProblem("band_regions")
    y = [lp.add_variable(f"y{i}", 0, 1, cat=pulp.LpInteger) for i in range(len(free))]
    for idx in free.groupby(["village_id", "band"], sort=True).indices.values():
        lp += pulp.LpAffineExpression([(y[i], 1.0) for i in idx]) == 1
    over = []
    for (r, b), idx in free.groupby(["region", "band"], sort=True).indices.items():
        over.append(lp.add_variable(f"over_{r}_{b}", 0))
        terms = [*((y[i], pupils[i]) for i in idx), (over[-1], -1.0)]
        lp += pulp.LpAffineExpression(terms) <= float(left.get((r, b), 0.0))
    cost = ((1.0 - free["share"].clip(0.0, 1.0)) + SPLIT_KM * free["km"]) * pupils
    lp += pulp.LpAffineExpression([(o, SPLIT_OVER) for o in over] + list(zip(y, cost)))
    largest = set(free.sort_values(["village_id", "band", "share", "region"], ascending=[True, True, False, True],
                                   kind="stable").drop_duplicates(["village_id", "band"]).index)
    start = {v: float(i in largest) for i, v in enumerate(y)}
    if y:
        lp.solve(BulkHiGHS(msg=False, timeLimit=SPLIT_SECONDS, gapRel=SPLIT_GAP, threads=cfg.threads,
                           random_seed=cfg.seed, warm_start=start))
    chosen = free[[(v.varValue if v.varValue is not None else start[v]) > 0.5 for v in y]]
    both = pd.concat([one, chosen])
    return pd.Series(both["region"].astype(int).to_numpy(),
                     index=pd.MultiIndex.from_frame(both[["village_id", "band"]]))


# ------------------------------------------------------------------- budget


def site_spending(m: Model) -> pd.DataFrame:
    """Current spending (the LP's, after its solve) by site and cost category."""
    site_of = {v.name: s for s, v in zip(m.open["site_id"], m.open["var"])}
    site_of.update({v.name: s for (s, _), v in m.added.items()})
    site_of.update({v.name: s for (s, _), v in m.standards.items()})
    rows = [(site_of.get(v.name), k, c * (v.varValue or 0.0)) for k, e in m.cost.items() for v, c in e.items()]
    tab = pd.DataFrame(rows, columns=["site_id", "category", "spend"]).dropna(subset=["site_id"])
    return tab.pivot_table(index="site_id", columns="category", values="spend", aggfunc="sum", fill_value=0.0)


def limits(scen: Scenario) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Each budget row as (limit, the categories it sums)."""
    b = scen.budget
    out = {k: (v, (k,)) for k, v in b.by_category_10k_yuan.items()}
    if b.total_10k_yuan is not None:
        out["total"] = (b.total_10k_yuan, tuple(c for c in COST_CATEGORIES + INVESTMENT_CATEGORIES if b.covered(c)))
    return out


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


def _sums(spend: pd.DataFrame, scen: Scenario) -> dict[str, float]:
    """Spending (a :func:`site_spending` table) summed by budget row."""
    return {k: float(spend.reindex(columns=list(cats), fill_value=0.0).to_numpy().sum())
            for k, (_, cats) in limits(scen).items()}


def _total(spends: list[dict[str, float]]) -> dict[str, float]:
    """Regions' spending by budget row, added up."""
    return {k: sum(x.get(k, 0.0) for x in spends) for k in {k for x in spends for k in x}}


# --------------------------------------------------------------- sub-problems


def regional_problem(problem: Problem, sites: pd.Index, bands: pd.MultiIndex, counts: dict[str, int],
                     budget: BudgetConfig, cfg: SolverConfig) -> Problem:
    """The county restricted to ``sites`` and the village-bands ``bands``,
    with ``counts`` as exact targets for the county's targeted types."""
    scen = problem.scenario
    targets = {t: counts.get(t, 0) for t in scen.targets}
    sub = scen.model_copy(update={"targets": targets, "budget": budget, "solver": cfg})
    pairs = problem.pairs
    keep = pairs["site_id"].isin(sites) & pd.MultiIndex.from_frame(pairs[["village_id", "band"]]).isin(bands)
    return replace(problem, scenario=sub, sites=problem.sites.loc[sites],
                   pairs=pairs[keep.to_numpy()].reset_index(drop=True))


def join(m: Model, values: dict[str, float]) -> None:
    """Put regional values (by variable name) on the county's variables; a
    variable no region has (a pair across regions) is zero."""
    for v in m.lp.variables():
        v.varValue = values.get(v.name, 0.0)


def violations(m: Model, tol: float = ROW_TOL) -> list[str]:
    """Rows and bounds the current values break (names, worst first)."""
    arrays = model_arrays(m.lp)
    x = np.array([v.varValue or 0.0 for v in m.lp.variables()])
    act = arrays["matrix"] @ x
    lo, up = arrays["row_lower"], arrays["row_upper"]
    scale = np.maximum.reduce([np.ones_like(act), np.where(np.isfinite(lo), np.abs(lo), 0.0),
                               np.where(np.isfinite(up), np.abs(up), 0.0)])
    over = np.maximum(lo - act, act - up) / scale
    bad = np.flatnonzero(over > tol)
    name_of = {id(c): n for n, c in m.rows.items()}
    cons = list(m.lp._constraints.values())
    rows = [name_of.get(id(cons[i]), cons[i].name) for i in bad[np.argsort(-over[bad])]]
    off = np.maximum(arrays["lower"] - x, x - arrays["upper"])
    cols = [f"bound {v.name}" for v, o in zip(m.lp.variables(), off) if o > tol]
    return rows + cols


# -------------------------------------------------------------------- solve


def solve_regions(m: Model, problem: Problem, n: int, floors: dict | None = None) -> SolveResult:
    """The regional decomposition of the module docstring, in ``n`` regions."""
    cfg = problem.scenario.solver
    t0 = time.perf_counter()
    elapsed = lambda: time.perf_counter() - t0  # noqa: E731
    left = lambda: cfg.time_limit_s - elapsed()  # noqa: E731
    lp = county_lp(m, cfg)
    if lp.status == "infeasible":
        return result("infeasible", None, None, lp.solver, t0, "the county's LP relaxation is infeasible", cfg)
    bound = lp.objective if lp.has_plan else None
    if bound is None:  # no LP values to round: the current layout stands in (and no LP spending is reserved)
        g = guides(problem)
        current_layout_guide(m, g["current"], g["serving"])
    log.info("county LP: %s, bound %s, %.1f s", lp.status, _num(bound), elapsed())
    values, last, why = regional_plans(m, problem, n, floors, lambda: left() * (1 - COUNTY_SHARE))
    if values is None:
        return result("no_solution", None, bound, last.solver, t0, why, cfg)
    join(m, values)
    bad = violations(m)
    if bad:
        return result("no_solution", None, bound, last.solver, t0, "the joined regional plans break " + ", ".join(bad[:5]),
                      cfg)
    obj = pulp.value(m.lp.objective)
    log.info("joined plan: %.1f (gap %.2f %%), %.1f s", obj, 100 * (_gap(obj, bound) or 0.0), elapsed())
    how = f"{n} regions" if bound is not None else (f"{n} regions guided by the current layout (the county's LP "
                                                     f"was not solved in {lp.seconds:.0f} s: no bound)")
    best = SolveResult("interrupted" if last.status == "interrupted" else "time_limit", obj, bound, _gap(obj, bound),
                       lp.solver, 0.0, how)
    if best.status != "interrupted" and left() >= COUNTY_MIN_S:
        best = repeat_repairs(m, cfg, left() * FIX_SHARE, best)
    far = (_gap(best.objective, bound) or 1.0) > cfg.mip_gap  # no bound: always worth a polish
    if best.status != "interrupted" and left() >= max(MIN_POLISH_S, COUNTY_MIN_S) and far:
        best = polish(m, cfg, left(), best)
    log.info("county: %.1f after its repair and polish, %.1f s", best.objective, elapsed())
    bounds = [b for b in (bound, best.bound) if b is not None]
    return result(best.status, best.objective, max(bounds) if bounds else None, best.solver, t0,
                  f"regional ({n} regions): {best.message}", cfg)


def county_lp(m: Model, cfg: SolverConfig) -> SolveResult:
    """The county's LP relaxation (every integer relaxed), within
    :data:`LP_SHARE` of the limit; its values stay on the variables."""
    with relaxing(integers(m)):
        lp = solve(m, cfg.model_copy(update={"time_limit_s": cfg.time_limit_s * LP_SHARE}), options=LP_OPTIONS)
    if lp.status == "interrupted":
        raise KeyboardInterrupt  # a relaxation is no plan to keep
    return lp


def regional_plans(m: Model, problem: Problem, n: int, floors: dict | None,
                   left) -> tuple[dict[str, float] | None, SolveResult, str]:
    """Round the LP's layout, cut the county into ``n`` regions and solve
    each in turn (``left()``: the seconds the regions may still use, shared
    by their village-bands; a region done early passes its time on).
    Returns the values by variable name, the last result and, on failure,
    why."""
    g = guides(problem)
    layout = round_layout(m, g["targets"], g["serving"])
    region = site_regions(problem, n)
    bands = band_regions(m, layout, g["serving"], region, problem.scenario.solver)
    spend = site_spending(m)
    spends: list[dict[str, float]] = []  # each solved region's spending, by budget row
    solved: list[tuple[Model, SolveResult]] = []
    for r in range(n):
        sites = region.index[region.to_numpy() == r]
        reserve = _sums(spend.reindex(region.index[region.to_numpy() > r]).fillna(0.0), problem.scenario)
        mine = bands.index[bands.to_numpy() == r]
        share = len(mine) / max(1, int((bands.to_numpy() >= r).sum()))
        rcfg = problem.scenario.solver.model_copy(update={"time_limit_s": max(1.0, left() * FIRST_PASS_SHARE * share),
                                                          "mip_gap": max(problem.scenario.solver.mip_gap, FIRST_PASS_GAP)})
        sub = regional_problem(problem, sites, mine, _counts(m, layout, sites),
                               regional_budget(problem.scenario, _total(spends), reserve), rcfg)
        sm = build_model(sub, floors)
        res = solve_staged(sm, rcfg, **guides(sub))
        log.info("region %d of %d, first pass: %d pairs, %s, %s (bound %s), %.1f of %.1f s", r + 1, n, len(sm.pairs),
                 res.status, _num(res.objective), _num(res.bound), res.seconds, rcfg.time_limit_s)
        if not res.has_plan or (res.status == "interrupted" and r < n - 1):
            return None, res, f"region {r + 1} of {n}: {res.message}"
        solved.append((sm, res))
        spends.append(_sums(site_spending(sm), problem.scenario))
    if solved[-1][1].status != "interrupted":
        second_pass(solved, spends, problem.scenario, left)
    values = {v.name: v.varValue or 0.0 for sm, _ in solved for v in sm.lp.variables()}
    return values, solved[-1][1], ""


def second_pass(solved: list[tuple[Model, SolveResult]], spends: list[dict[str, float]], scen: Scenario,
                left) -> None:
    """The regions still above the target gap, the most objective above
    their bound first, share the time left in proportion to that excess:
    each is repaired (:func:`repeat_repairs`, which stops by itself when a
    round brings nothing) and polished from its plan in what the repair
    left (at 10x the town's region was still improving when its repair's
    60 % ran out, 678,037 to 536,150 in 79 s, and its polish then found
    nothing in 52 s),
    within its own spending plus what the county's budget still has free
    (:func:`cap_budget`). A hard region (a county town's full sites) thus
    gets the time the easy ones did not need. A share below
    :data:`SECOND_PASS_MIN_S` is raised to it while that much is left: at
    10x a region 8,600 above its bound (5 %) got about 5 s and was skipped, and
    the last one, 400 above, got the 15.6 s it passed on. ``solved`` and
    ``spends`` (each region's spending by budget row) are updated in place."""
    cfg = scen.solver
    above = {i: r.objective - (r.bound or 0.0) for i, (_, r) in enumerate(solved)
             if r.mip_gap is None or r.mip_gap > cfg.mip_gap}
    excess = {i: e for i, e in above.items() if e > ROW_TOL}
    total = sum(excess.values())
    for i in sorted(excess, key=lambda i: (-excess[i], i)):
        seconds = max(left() * excess[i] / total, min(SECOND_PASS_MIN_S, left()))
        total -= excess[i]
        if seconds < SECOND_PASS_MIN_S:
            continue
        t0 = time.perf_counter()
        sm, r = solved[i]
        cap_budget(sm, scen, _total(spends))
        r = repeat_repairs(sm, cfg, seconds, r)
        r = polish(sm, cfg, seconds - (time.perf_counter() - t0), r)
        log.info("region %d, second pass: %s -> %s (bound %s), %.1f of %.1f s", i + 1, _num(solved[i][1].objective),
                 _num(r.objective), _num(r.bound), time.perf_counter() - t0, seconds)
        solved[i] = (sm, r)
        spends[i] = _sums(site_spending(sm), scen)
        if r.status == "interrupted":
            return


def cap_budget(sm: Model, scen: Scenario, used: dict[str, float]) -> None:
    """Set a region's budget rows to what it spends now plus what the
    county's limits leave free over every region's spending (``used``, by
    budget row), so a region solved again cannot take what a later region
    was given."""
    own = _sums(site_spending(sm), scen)
    for k, (lim, _) in limits(scen).items():
        row = sm.rows.get("budget_total[]" if k == "total" else f"budget_category[{k}]")
        if row is not None:
            row.constant = -(own[k] + max(0.0, lim - used[k]))


def repair_shortfalls(m: Model, cfg: SolverConfig, seconds: float, best: SolveResult) -> SolveResult:
    """The joined plan's shortfalls repaired across region edges: the
    neighbourhood repair of :mod:`planner.repair` on the county's model
    (layout fixed, investments continuous), then investments made whole;
    kept only if it beats the joined plan."""
    if not short_sites(m) or seconds < 1.0:
        return best
    t0 = time.perf_counter()
    joined = snapshot(m)
    with relaxing(investments(m)):
        r, rounds = repair(m, cfg.model_copy(update={"time_limit_s": seconds}), None, layout_fixing(m), best,
                           seconds * FIX_SHARE)
    if rounds:
        r = whole_investments(m, cfg, lambda: seconds - (time.perf_counter() - t0), r)
    if not rounds or r is None or not r.has_plan or r.objective >= best.objective:
        restore(joined)
        return best
    return replace(best, objective=r.objective, mip_gap=_gap(r.objective, best.best_bound),
                   message=f"{best.message}; shortfalls repaired, {len(short_sites(m))} short site(s) left")


def repeat_repairs(m: Model, cfg: SolverConfig, seconds: float, best: SolveResult) -> SolveResult:
    """:func:`repair_shortfalls` again from each plan it improves, until one
    brings nothing or ``seconds`` are spent: each round's repair starts from
    the sites still short after the last round made its investments whole.
    At 3x (with the earlier ring repair) the town's region went from 259,000
    to 167,000 in one round and to 159,000 in a second, where a full-MIP
    polish of the region then found nothing better in 62 s."""
    t0 = time.perf_counter()
    while (left := seconds - (time.perf_counter() - t0)) >= 1.0:
        r = repair_shortfalls(m, cfg, left, best)
        if r is best:
            break
        best = r
    return best


def _num(x: float | None) -> str:
    return "none" if x is None else f"{x:,.1f}"


def _counts(m: Model, layout: dict, sites: pd.Index) -> dict[str, int]:
    on = m.open[m.open["site_id"].isin(sites)]
    return on.loc[[layout[v] > 0.5 for v in on["var"]], "type"].value_counts().to_dict()


def polish(m: Model, cfg: SolverConfig, seconds: float, best: SolveResult) -> SolveResult:
    """The model's full MIP (a region's, or the county's) from its current
    plan for ``seconds``; the plan is kept unless the MIP beats it."""
    if seconds < MIN_POLISH_S:
        return best
    start = snapshot(m)
    r = solve(m, cfg.model_copy(update={"time_limit_s": seconds}), warm_start=start)
    if r.has_plan and r.objective <= best.objective + 1e-9:
        return replace(r, status="interrupted" if r.status == "interrupted" else best.status)
    restore(start)
    return replace(best, best_bound=r.bound, status="interrupted" if r.status == "interrupted" else best.status)
