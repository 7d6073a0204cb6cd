"""Staged solve for whole catchments coupled by per-site rules.

With caps, areas, budget and targets all tied to who goes where, branch and
bound on every (village, band, site) binary finds a first plan slowly. The
field's answer is relax-and-fix with a proven bound:

1. **relax**: catchments may split (assignment shares continuous) and
   investments in teachers and rooms are continuous; only site decisions and
   classes are integer. Every plan of the full model is a plan of this one,
   so its best bound is a valid lower bound. Measured on the demo: a 0.2 %
   gap with 60 of 3,000 village-bands split.
2. **fix**: the layout of stage 1 is fixed, and so is every catchment it kept
   whole; only the split ones are solved as whole catchments (a small MIP).
   Where that leaves a site short of a standard (a full site taking a whole
   village it had only part of), the catchments around it are freed and
   re-solved (:mod:`planner.repair`). If the first try has no plan, it is
   retried with just the layout fixed. Then, with
   layout and catchments fixed, the investments are made whole (teachers
   and rooms per site: a small MIP). Left integer in stage 1, they stall
   HiGHS: the rounded layout's first plan spends the budget to the last yuan
   and every fractional room becomes a priced shortfall.
3. **polish**: everything is freed and the full model solved from stage 2's
   plan as a warm start, for the time that is left, when the gap is still
   above the target.

The reported bound is the best of stage 1's and stage 3's and the gap is
measured against it, so a plan from stage 2 alone still says how good it is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd
import pulp

from planner import BANDS, TYPES
from planner.model import Model, apply_relaxation
from planner.problem import Problem
from planner.repair import repair
from planner.scenario import SolverConfig
from planner.solve import SolveResult, _gap, fixed_at, restore, snapshot, solve
from planner.travel import SERVES, serving_types

RELAX_SHARE = 0.5
START_SHARE = 0.4
LP_SHARE = 0.75
"""Stage 1's warm start gets START_SHARE of the stage, its LP up to LP_SHARE
of that (it stops when solved; the rounded layout's solve takes the rest)."""
FIX_SHARE = 0.6
FIRST_GAP = 0.02
"""Stage 2's first try stops within this gap: on the demo it found its plan
in 15 s and spent 40 s more proving 0.5 %, time the repair uses better."""
REPAIR_SHARE = 0.85
"""The repair's share of stage 2's time left: it stops by itself once no
hot site improves, passing the rest on. On the town's region at ten times
the demo the layout-only retry and the polish after it found nothing in
57 s where the repair was still improving."""
MIN_POLISH_S = 5.0
PROOF_GAP = 0.01
"""Stage 3 from a plan this close to the bound is mostly a proof: HiGHS's
primal heuristics go off (pmedcap1-7: 2.5 s against 5 s with them on)."""
WHOLE = 1 - 1e-6

Fixing = dict[pulp.LpVariable, float]
Bounds = dict[str, tuple[int | None, int | None]]
Serving = dict[str, set[str]]


def guides(problem: Problem) -> dict:
    """The keyword arguments of :func:`solve_staged` for a model of
    ``problem``: the target counts and the types that may teach each band,
    which keep stage 1's rounded layout one the hard rows accept, and the
    current layout (site -> type), rounded instead when the LP is not solved
    in its time."""
    scen = problem.scenario
    before = problem.sites["type_before"]
    return {"targets": {t: scen.target_bounds(t) for t in TYPES},
            "serving": {b: set(serving_types(problem, b)) for b in BANDS},
            "current": {s: t for s, t in before.items() if t in TYPES}}


def _with(cfg: SolverConfig, seconds: float, gap: float | None = None) -> SolverConfig:
    upd: dict = {"time_limit_s": max(1.0, seconds)}
    if gap is not None:
        upd["mip_gap"] = gap
    return cfg.model_copy(update=upd)


def layout_fixing(m: Model) -> Fixing:
    """Every site decision at its current (stage 1) value."""
    return {v: (1.0 if (v.varValue or 0.0) > 0.5 else 0.0) for v in m.open["var"]}


def whole_catchment_fixing(m: Model) -> Fixing:
    """Every pair of a village-band that stage 1 kept whole, at its value;
    pairs of split village-bands stay free."""
    p = m.pairs
    share = p["var"].map(lambda v: v.varValue or 0.0)
    whole_vb = set(map(tuple, p.loc[share >= WHOLE, ["village_id", "band"]].to_numpy()))
    keys = list(zip(p["village_id"], p["band"]))
    return {v: float(round(x)) for v, x, k in zip(p["var"], share, keys) if k in whole_vb}


@contextmanager
def relaxing(vars_: list[pulp.LpVariable]) -> Iterator[None]:
    """The given integer variables continuous for the duration."""
    for v in vars_:
        v.cat = pulp.LpContinuous
    try:
        yield
    finally:
        for v in vars_:
            v.cat = pulp.LpInteger


def _whole(m: Model) -> list[pulp.LpVariable]:
    """The whole-catchment (binary) assignment variables."""
    return [v for v in m.pairs["var"] if v.cat == pulp.LpInteger]


def integers(m: Model) -> list[pulp.LpVariable]:
    """Every integer variable of the model (relaxed together for an LP)."""
    return [v for v in m.lp.variables() if v.cat == pulp.LpInteger]


def investments(m: Model) -> list[pulp.LpVariable]:
    """The integer investments (teachers, rooms): per site, so cheap to make
    whole once the layout and the catchments are fixed."""
    return [v for v in m.standards.values() if v.cat == pulp.LpInteger]


def assignment_fixing(m: Model) -> Fixing:
    """Every site decision and every assignment at its current value."""
    return {**layout_fixing(m), **{v: (float(round(v.varValue or 0.0)) if v.cat == pulp.LpInteger else v.varValue or 0.0)
                                   for v in m.pairs["var"]}}


def solve_fixed(m: Model, cfg: SolverConfig, fixing: Fixing, start: dict | None = None) -> SolveResult:
    """:func:`planner.solve.solve` with the variables of ``fixing`` held at its values."""
    with fixed_at(fixing):
        return solve(m, cfg, warm_start=start)


def result(status: str, obj: float | None, bound: float | None, solver: str, t0: float, msg: str,
           cfg: SolverConfig) -> SolveResult:
    """A staged (or regional) run's result: the gap against ``bound``, and a
    time-limited plan within the target gap reported as feasible (optimal at 0)."""
    gap = _gap(obj, bound)
    if status in ("time_limit", "feasible") and gap is not None and gap <= cfg.mip_gap + 1e-9:
        status = "optimal" if gap <= 1e-9 else "feasible"
    return SolveResult(status, obj, bound, gap, solver, time.perf_counter() - t0, msg)


def round_layout(m: Model, targets: Bounds, serving: Serving) -> Fixing:
    """A layout from fractional site values (an LP's): each site's type, or
    none, by :func:`assign_types` (the greedy :func:`greedy_types` should
    the counts be out of reach); then every village-band left with no open
    school in reach opens its best-valued site, closing the lightest site
    (:func:`keep_weight`) of that type that strands nobody when a maximum
    would be exceeded.
    Deterministic (ties break on table order)."""
    load = site_load(m)
    tab = m.open.assign(val=[v.varValue or 0.0 for v in m.open["var"]], pos=range(len(m.open)), fits=fits(m, load),
                        load=load)
    tab = tab.sort_values(["fits", "val", "pos"], ascending=[False, False, True], kind="stable")
    must = {k[len("one_type["):-1] for k, r in m.rows.items() if k.startswith("one_type[") and r.sense == pulp.LpConstraintEQ}
    chosen = assign_types(tab, targets, must)
    if chosen is None:
        chosen = greedy_types(tab, targets, must)
    _repair_coverage(m, tab, chosen, targets, must, serving)
    on = set(chosen.items())
    return {v: (1.0 if (s, t) in on else 0.0) for s, t, v in m.open[["site_id", "type", "var"]].itertuples(index=False)}


def assign_types(tab: pd.DataFrame, targets: Bounds, must: set[str]) -> dict[str, str] | None:
    """Each site's type, or closed, closest to the LP: maximise the weights
    with every site at most one type (exactly one if in ``must``) and each
    targeted type's count within its bounds. A type that :func:`fits` the
    site weighs its LP value plus the site's LP openness (the sum of its
    values) plus its LP pupils per :data:`LOAD_UNIT`, one that does not
    weighs nothing; closing weighs twice the site's LP closedness. The
    sites the counts close are thus the ones the LP sent fewest pupils.
    An LP that opens a county-town school as 0.7 teaching point and 0.3
    primary thus keeps it open, as a primary, and the teaching point goes
    where one fits. The rows are a bipartite incidence (sites x types),
    totally unimodular, so the optimum is whole. ``None`` when no layout
    meets the counts."""
    from scipy.optimize import Bounds as Box, LinearConstraint, milp
    from scipy.sparse import coo_matrix, vstack

    sites = pd.Index(sorted(tab["site_id"].unique()))
    openness = _openness(tab)
    weight = keep_weight(tab)
    may_close = sites[~sites.isin(list(must))]
    weight = np.concatenate([weight, 2.0 * (1.0 - openness.reindex(may_close).to_numpy())])
    site_of = np.concatenate([sites.get_indexer(tab["site_id"]), sites.get_indexer(may_close)])
    n = len(weight)
    rows = [coo_matrix((np.ones(n), (site_of, np.arange(n))), shape=(len(sites), n))]
    lo, hi = [np.ones(len(sites))], [np.ones(len(sites))]
    for t, (t_lo, t_hi) in sorted(targets.items()):
        if t_lo is None and t_hi is None:
            continue
        cols = np.flatnonzero((tab["type"] == t).to_numpy())
        rows.append(coo_matrix((np.ones(len(cols)), (np.zeros(len(cols), int), cols)), shape=(1, n)))
        lo.append([t_lo if t_lo is not None else 0.0])
        hi.append([t_hi if t_hi is not None else np.inf])
    res = milp(-weight, constraints=LinearConstraint(vstack(rows), np.concatenate(lo), np.concatenate(hi)),
               integrality=np.ones(n), bounds=Box(0.0, 1.0))
    if res.status != 0:
        return None
    pick = res.x[: len(tab)] > 0.5
    return dict(zip(tab["site_id"][pick], tab["type"][pick]))


def _openness(tab: pd.DataFrame) -> pd.Series:
    """Each site's LP openness: the sum of its type values, at most 1."""
    return tab.groupby("site_id")["val"].sum().clip(upper=1.0)


def keep_weight(tab: pd.DataFrame) -> np.ndarray:
    """Per row of ``tab`` (``open`` rows with the LP's ``val``, ``load`` and
    ``fits``): the weight of opening the site as that type in
    :func:`assign_types`, also the order in which :func:`_repair_coverage`
    closes sites (lightest first)."""
    kept = tab["val"].to_numpy() + tab["site_id"].map(_openness(tab)).to_numpy() + tab["load"].to_numpy() / LOAD_UNIT
    return np.where(tab["fits"], kept, 0.0)


def greedy_types(tab: pd.DataFrame, targets: Bounds, must: set[str]) -> dict[str, str]:
    """Sites that may not close keep their best type; types fill to their
    minimum in table order (``tab`` sorted fitting types first, then by
    value), then values >= 0.5 up to the maximum."""
    chosen: dict[str, str] = {}
    for r in tab[tab["site_id"].isin(must)].drop_duplicates("site_id").itertuples():
        chosen[r.site_id] = r.type
    count = lambda t: sum(1 for x in chosen.values() if x == t)  # noqa: E731
    for phase in ("min", "half"):
        for r in tab.itertuples():
            lo, hi = targets.get(r.type, (None, None))
            if r.site_id in chosen or (hi is not None and count(r.type) >= hi):
                continue
            if (phase == "min" and lo is not None and count(r.type) < lo) or (phase == "half" and r.val >= 0.5):
                chosen[r.site_id] = r.type
    return chosen


LOAD_UNIT = 25.0
"""In :func:`assign_types`, a site kept open as a type that fits gains one
unit of weight per this many of the LP's pupils there, on top of its LP
values: at 10x the demo the values alone closed three county-town schools
the LP had wholly open with 386-696 pupils (as teaching point plus primary,
the primaries' count spent) rather than make a rural primary of 100 pupils
a teaching point; the town's region then lacked the land for 19,000 m² of
sports ground at every layout its counts allowed (its stage 1, split
catchments, proved 870,080 against its LP's 307,756). With this weight its
stage 1 proves 282,930, its LP's 282,889."""
OVERLOAD_SHARE = 0.25
"""How far above a type's pupil cap the LP's pupils at a site may lie for
the type still to :func:`fit` it."""


def site_load(m: Model) -> np.ndarray:
    """Per ``open`` row: the pupils the current (LP) values send to its site."""
    load = (m.pairs["pupils"] * [v.varValue or 0.0 for v in m.pairs["var"]]).groupby(m.pairs["site_id"]).sum()
    return m.open["site_id"].map(load).fillna(0.0).to_numpy()


def fits(m: Model, load: np.ndarray | None = None) -> np.ndarray:
    """Per ``open`` row: the pupils the LP sent to the site (``load``, per
    row; :func:`site_load` when not given) are within the type's cap
    (``school_cap[s]``) plus :data:`OVERLOAD_SHARE`. An LP mixes
    types: a county town's school at 0.93 primary and 0.07 teaching point
    counts towards the teaching points' target and keeps 93 % of a
    primary's room, so rounding by value alone made 21 such schools, each
    sent 400-950 pupils, teaching points (cap 200) at 10x the demo."""
    rows = [m.rows.get(f"school_cap[{s}]") for s in m.open["site_id"]]
    coef = [None if r is None else r.get(v, None) for r, v in zip(rows, m.open["var"])]  # -cap of the type
    cap = np.array([np.inf if c is None else -c for c in coef])
    return (site_load(m) if load is None else load) <= cap * (1 + OVERLOAD_SHARE) + 1e-6


def _repair_coverage(m: Model, tab, chosen: dict[str, str], targets: Bounds, must: set[str], serving: Serving) -> None:
    reach = m.pairs.groupby(["village_id", "band"])["site_id"].apply(list).to_dict()
    val = {(r.site_id, r.type): r.val for r in tab.itertuples()}
    weight = dict(zip(zip(tab["site_id"], tab["type"]), keep_weight(tab)))

    def covered(vb, ch) -> bool:
        return any(ch.get(s) in serving[vb[1]] for s in reach[vb])

    for _ in range(len(reach)):
        lost = [vb for vb in sorted(reach) if not covered(vb, chosen)]
        if not lost:
            return
        vb = lost[0]
        options = sorted(((val.get((s, t), 0.0), s, t) for s in reach[vb] if s not in chosen
                          for t in serving[vb[1]] if (s, t) in val), key=lambda o: (-o[0], o[1]))
        if not options:
            return
        _, s, t = options[0]
        chosen[s] = t
        hi = targets.get(t, (None, None))[1]
        if hi is None or sum(1 for x in chosen.values() if x == t) <= hi:
            continue
        for _, s2 in sorted((weight.get((s2, t2), 0.0), s2) for s2, t2 in chosen.items() if t2 == t and s2 not in must and s2 != s):
            trial = {k: x for k, x in chosen.items() if k != s2}
            if all(covered(v, trial) for v in reach if s2 in reach[v]):
                del chosen[s2]
                break


def layout_start(m: Model, cfg: SolverConfig, targets: Bounds, serving: Serving,
                 current: dict[str, str] | None = None) -> dict | None:
    """A complete split-catchment plan to warm-start stage 1: the LP
    relaxation, its site values rounded by :func:`round_layout`, and that
    layout fixed and solved (classes and investments stay integer). An LP
    not solved in its time leaves the ``current`` layout to round (see
    :func:`current_layout_guide`): without a start, HiGHS found no plan for
    the demo's strict budget-cut diagnosis in 40 s, its LP needing 10 s of
    the 6 s it had."""
    t0 = time.perf_counter()
    with relaxing(integers(m)):
        lp = solve(m, _with(cfg, cfg.time_limit_s * LP_SHARE))
    _stop_if_interrupted(lp)
    if lp.status == "infeasible" or not (lp.has_plan or current):
        return None
    if not lp.has_plan:
        current_layout_guide(m, current, serving)
    layout = round_layout(m, targets, serving)
    with relaxing(_whole(m)):
        r = solve_fixed(m, _with(cfg, cfg.time_limit_s - (time.perf_counter() - t0)), layout)
    _stop_if_interrupted(r)
    return snapshot(m) if r.has_plan else None


def taught(pairs: pd.DataFrame, kind: dict[str, str], serving: Serving) -> np.ndarray:
    """Mask over ``pairs``: the site is open (``kind``: site -> its type)
    as a type that teaches the pair's band."""
    return np.array([kind.get(s) in serving[b] for s, b in zip(pairs["site_id"], pairs["band"])], dtype=bool)


def current_layout_guide(m: Model, current: dict[str, str], serving: Serving) -> None:
    """Values standing in for an LP's when it was not solved in its time:
    every school open as its ``current`` type, every village-band wholly at
    its nearest school of that layout that teaches it, everything else zero.
    :func:`round_layout` then keeps the current schools, closing the
    lightest to meet the counts."""
    for v in m.lp.variables():
        v.varValue = 0.0
    kind = {}
    for s, t, v in m.open[["site_id", "type", "var"]].itertuples(index=False):
        if current.get(s) == t:
            v.varValue, kind[s] = 1.0, t
    p = m.pairs[taught(m.pairs, kind, serving)]
    for v in p.sort_values(["distance_km", "site_id"], kind="stable").drop_duplicates(["village_id", "band"])["var"]:
        v.varValue = 1.0


def _stop_if_interrupted(r: SolveResult) -> None:
    """A Ctrl-C in a warm start's solve stops the run: its plan (split
    catchments or a relaxation) is not one to keep, and swallowing the
    interrupt would carry on to the next stage as if nothing happened."""
    if r.status == "interrupted":
        raise KeyboardInterrupt


def _relaxed(m: Model, cfg: SolverConfig, targets: Bounds, serving: Serving,
             current: dict[str, str] | None) -> SolveResult:
    """Stage 1: the model with split catchments, from a rounded layout."""
    t0 = time.perf_counter()
    start = layout_start(m, _with(cfg, cfg.time_limit_s * START_SHARE), targets, serving, current)
    rest = _with(cfg, cfg.time_limit_s - (time.perf_counter() - t0))
    with relaxing(_whole(m)):
        return solve(m, rest, warm_start=start)


def _fixed(m: Model, cfg: SolverConfig, left, relaxed_objective: float) -> SolveResult | None:
    """Stage 2: whole catchments on stage 1's layout. First every catchment
    stage 1 kept whole stays fixed and only the split ones are solved, to
    :data:`FIRST_GAP` (a start, not the answer); then the sites where that
    costs a shortfall are repaired (:func:`planner.repair.repair`); then,
    still above the target gap, only the layout stays fixed, warm-started
    from the best so far (on the capacitated p-median this smaller MIP
    reaches the optimum the full polish would take longer to find)."""
    layout = layout_fixing(m)
    gap = max(cfg.mip_gap, FIRST_GAP)
    done = lambda r: r.status == "interrupted" or (  # noqa: E731
        r.has_plan and (_gap(r.objective, relaxed_objective) or 0.0) <= cfg.mip_gap)
    r = solve_fixed(m, _with(cfg, left() * FIX_SHARE, gap), {**layout, **whole_catchment_fixing(m)})
    if done(r):
        return r
    if r.has_plan:
        r = repair(m, cfg, None, layout, r, left() * REPAIR_SHARE)[0]
        if done(r):
            return r
    first = (r, snapshot(m)) if r.has_plan else None
    r2 = solve_fixed(m, _with(cfg, left() * FIX_SHARE), layout, first[1] if first else None)
    if r2.has_plan and (first is None or r2.objective <= first[0].objective):
        return r2
    if first is None:
        return None
    restore(first[1])
    return replace(first[0], status="interrupted") if r2.status == "interrupted" else first[0]


def whole_investments(m: Model, cfg: SolverConfig, left, r2: SolveResult | None) -> SolveResult | None:
    """Stage 2b: stage 2 ran with investments continuous; with its layout and
    catchments fixed, make them whole (a small per-site MIP). No plan here
    means stage 2's plan is not one of the full model. After a Ctrl-C it
    still runs, briefly, so the plan kept is whole, and stays ``interrupted``."""
    if r2 is None or not r2.has_plan or not investments(m):
        return r2
    stopped = r2.status == "interrupted"
    r = solve_fixed(m, _with(cfg, MIN_POLISH_S if stopped else max(left() * FIX_SHARE, MIN_POLISH_S)),
                     assignment_fixing(m))
    if not r.has_plan:
        return None
    return replace(r, status="interrupted") if stopped else r


def solve_staged(m: Model, cfg: SolverConfig, *, targets: Bounds | None = None,
                 serving: Serving | None = None, current: dict[str, str] | None = None) -> SolveResult:
    """Relax, fix, polish (see the module docstring); plain :func:`solve`
    when no whole catchment is binary, as in the p-median core once
    :func:`planner.model.apply_relaxation` made its assignments continuous. ``targets`` (type -> (min, max)) and
    ``serving`` (band -> types that teach it) guide the rounded layout of
    stage 1's warm start; ``current`` (site -> type) is rounded instead when
    the LP is not solved in its time."""
    targets = targets or {}
    serving = serving or {b: set(t) for b, t in SERVES.items()}
    apply_relaxation(m)  # the p-median core: its assignments are continuous, nothing to stage
    if not _whole(m):
        return solve(m, cfg)
    t0 = time.perf_counter()
    left = lambda: cfg.time_limit_s - (time.perf_counter() - t0)  # noqa: E731
    invest = investments(m)
    with relaxing(invest):
        r1 = _relaxed(m, _with(cfg, cfg.time_limit_s * RELAX_SHARE, cfg.mip_gap / 2), targets, serving, current)
    if r1.status == "infeasible":
        return result("infeasible", None, None, r1.solver, t0, "infeasible even with split catchments", cfg)
    if r1.status == "interrupted" and not r1.has_plan:
        return result("no_solution", None, None, r1.solver, t0, "interrupted before any plan was found", cfg)
    bound = r1.bound
    best = None
    if r1.has_plan:
        if r1.status == "interrupted":
            return result("no_solution", None, bound, r1.solver, t0, "interrupted before a whole-catchment plan", cfg)
        with relaxing(invest):
            r2 = _fixed(m, cfg, left, r1.objective)
        r2 = whole_investments(m, cfg, left, r2)
        if r2 is not None:
            best = (r2, snapshot(m))
            if r2.status == "interrupted" or (_gap(r2.objective, bound) or 1.0) <= cfg.mip_gap:
                return _finish(best, bound, t0, cfg, "relax-and-fix")
    if left() >= MIN_POLISH_S:
        near = best is not None and (_gap(best[0].objective, bound) or 1.0) <= PROOF_GAP
        r3 = solve(m, _with(cfg, left()), warm_start=best[1] if best else None, proof=near)
        if r3.bound is not None and (bound is None or r3.bound > bound):
            bound = r3.bound
        if r3.has_plan and (best is None or r3.objective <= best[0].objective + 1e-9):
            best = (r3, snapshot(m))
        elif r3.status == "interrupted" and best is not None:
            best = (replace(best[0], status="interrupted"), best[1])  # a Ctrl-C in the polish still says so
        if r3.status == "infeasible" and best is None:
            return result("infeasible", None, None, r3.solver, t0, r3.message, cfg)
    if best is None:
        return result("no_solution", None, bound, r1.solver, t0, "no plan found within the time limit", cfg)
    return _finish(best, bound, t0, cfg, "staged")


def _finish(best: tuple[SolveResult, dict], bound: float | None, t0: float, cfg: SolverConfig, how: str) -> SolveResult:
    res, values = best
    restore(values)
    status = "interrupted" if res.status == "interrupted" else "time_limit"
    return result(status, res.objective, bound if bound is not None else res.best_bound, res.solver, t0,
                   f"{how}: {res.message}", cfg)
