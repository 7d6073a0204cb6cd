"""Stage 2's repair in the staged solve: a large-neighbourhood search on
whole catchments around the sites where making catchments whole costs most.

Stage 2 first makes stage 1's split catchments whole with everything else
fixed. At a full site (no land left for more sports ground, say) the few
pupils this adds become a priced shortfall, far dearer than sending one
village to the next school: measured on the demo, 682 m² of sports ground
short at a handful of town sites, 13 % of the objective. Freeing every
catchment at once (the layout-only retry) is too big a MIP to improve that
in the time a stage gets.

The repair works one *hot* site (one paying a shortfall) at a time, the
dearest first: every village-band now at the hot site or at one of its
:data:`PARTNERS` partner sites (the open sites the most of the hot site's
village-bands can also reach) may move among those sites; the layout and
every other catchment stay fixed, and the small MIP starts from the current
plan, so a repair never makes the plan worse. A county town's sites are all
full in the LP, so overflow moves outwards by chains of such swaps: on the
town's region at ten times the demo, freeing the rings around every hot
site at once (the previous repair) made one MIP of 7,000 binaries that
improved nothing in 28 s; site by site (110 MIPs, most proved in 0.1-2 s)
the region's staged solve in 180 s went from 667,633 to 469,449.

Partners chosen by reach alone are as full as the hot site in a county
town, so each hot site also frees :data:`OUTLETS` *outlets*: open sites
with room (:func:`room_m2`, sports ground in surplus or land still free)
that the bands at the hot site or a partner can reach; the overflow moves
there by a chain of swaps inside one MIP. On the first-pass plans of ten
times the demo, the second-pass repair of the three regions above their
bounds reached, with outlets: the town's, from 684,030, 445,883 in 90 s
against 519,149 without (bound 282,889); its neighbours, from 244,018,
164,074 in 24 s (bound 160,551) and, from 265,627, 232,533 in 43 s
(bound 227,423), where an earlier run without outlets took similar plans
only from 243,265 to 212,180 and from 266,289 to 261,521.

HiGHS runs each site's MIP on one core, so the repair solves as many
neighbourhoods at once as the solver has threads (:mod:`planner.batch`),
on disjoint sites: each MIP holds every other site's variables and may use
only its share of a shared row's slack (the budget, the equipment pool),
so every improvement found is kept together with the others. On the
town's region at 10x (first-pass plan 630,939, bound 247,400) 176 s of
second pass reached 293,964 on two threads and 322,461 on one (the
earlier repair, every site's investments free in each MIP: 316,169 and
329,774 in two runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pulp

from planner.batch import Job, Outcome, solve_batch
from planner.model import Model
from planner.scenario import SolverConfig
from planner.solve import SolveResult, fixed_at, highs_available, restore, snapshot, solve

SHORT_TOL = 1e-6
PARTNERS = 3
"""Partner sites freed with each hot site in the first pass; a pass that
improves nothing doubles them, up to :data:`MAX_PARTNERS`. Small and
quick beats large and slow: on the town's region at ten times the demo
(first-pass plan 647,530, bound 282,889, 120 s of repair) six partners at
5 s a site reached 411,679 in 28 MIPs, most stopped at their root by the
time limit (about 500 free binaries each); three partners at 1-2 s a
site, to :data:`SITE_GAP` or closer, reached 338,114-352,864 in three
runs of 61-139 MIPs."""
MAX_PARTNERS = 48
SITE_SECONDS = 2.0
"""Time limit of each site's MIP."""
SITE_GAP = 5e-4
"""Each site's MIP stops within this gap, whatever the target gap: a gap
is relative to the whole objective, so a county's 0.5 % let a
neighbourhood of a 600,000 region stop 3,000 short of its best (six
partners at 5 s: 411,679 at the county's gap, 383,175 at this one)."""
OUTLETS = 3
"""Sites with room freed with each hot site besides its partners: in a
county town every partner is as full as the hot site, and the overflow has
nowhere to go but to a site that can still take pupils."""

SCAN = 8
"""Hot sites looked at, in order, for neighbourhoods disjoint from the first's."""

BatchSolve = Callable[[Model, SolverConfig, list[Job]], list[Outcome]]


def short_sites(m: Model) -> set[str]:
    """Sites with a positive shortfall (a standard met only at a price)."""
    return set(hot_sites(m))


def hot_sites(m: Model) -> list[str]:
    """The sites with a shortfall, dearest first (its price in the
    objective; ties by site id)."""
    price: dict[str, float] = {}
    for (s, name), v in m.standards.items():
        if name.startswith("short_") and (v.varValue or 0.0) > SHORT_TOL:
            price[s] = price.get(s, 0.0) + m.lp.objective.get(v, 0.0) * v.varValue
    return sorted(price, key=lambda s: (-price[s], s))


def open_sites(m: Model) -> set[str]:
    """Sites open (as any type) in the current plan."""
    return set(m.open.loc[[(v.varValue or 0.0) > 0.5 for v in m.open["var"]], "site_id"])


def room_m2(m: Model) -> dict[str, float]:
    """Per site: the sports ground (m²) it could still give more pupils,
    its surplus over the sports standard plus the site area still free."""
    out: dict[str, float] = {}
    for name, row in m.rows.items():
        if name.startswith(("sports_area[", "site_room[")):
            s = name[name.index("[") + 1:-1]
            slack = pulp.value(row) if row.sense == pulp.LpConstraintGE else -pulp.value(row)
            out[s] = out.get(s, 0.0) + max(0.0, slack or 0.0)
    return out


def placement(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: its village-band's number, its site, and whether the
    village-band is now at that site."""
    key = pairs.groupby(["village_id", "band"], sort=False).ngroup().to_numpy()
    at = pairs["var"].map(lambda v: (v.varValue or 0.0) > 0.5).to_numpy(bool)
    return key, pairs["site_id"].to_numpy(), at


def neighbourhood_sites(pairs: pd.DataFrame, hot: str, open_: set[str], partners: int = PARTNERS,
                        room: dict[str, float] | None = None, outlets: int = OUTLETS,
                        placed: tuple | None = None) -> list[str]:
    """The sites freed around one hot site: ``hot``, its ``partners``
    partners (the open sites that the most village-bands now at ``hot`` can
    reach; ties by site id) and its ``outlets`` outlets (the open sites with
    the most ``room``, :func:`room_m2`, that village-bands at ``hot`` or a
    partner can reach). ``placed``: the pairs' :func:`placement`, when
    already known."""
    key, site, at = placed or placement(pairs)
    mine = np.isin(key, key[at & (site == hot)])
    reach = pd.Series(site[mine & np.isin(site, list(open_)) & (site != hot)]).value_counts()
    ranked = [hot, *sorted(reach.index, key=lambda s: (-reach[s], s))[:partners]]
    near = np.isin(key, key[at & np.isin(site, ranked)])
    roomy = {s: r for s, r in (room or {}).items() if r > 0.0 and s in open_ and s not in ranked}
    return ranked + sorted(set(site[near]) & set(roomy), key=lambda s: (-roomy[s], s))[:outlets]


def free_pairs(pairs: pd.DataFrame, sites: list[str] | set[str], placed: tuple | None = None) -> np.ndarray:
    """Pairs free among ``sites``, as a mask over ``pairs``: every
    village-band now at one of them may move among them."""
    key, site, at = placed or placement(pairs)
    nb = np.isin(site, list(sites))
    return np.isin(key, key[at & nb]) & nb


def site_neighbourhood(pairs: pd.DataFrame, hot: str, open_: set[str], partners: int = PARTNERS,
                       room: dict[str, float] | None = None, outlets: int = OUTLETS) -> np.ndarray:
    """Pairs to free around one hot site (:func:`neighbourhood_sites`,
    :func:`free_pairs`), as a mask over ``pairs``."""
    return free_pairs(pairs, neighbourhood_sites(pairs, hot, open_, partners, room, outlets))


def owners(m: Model) -> dict[pulp.LpVariable, str]:
    """The site each variable belongs to: its pairs, types, classes, pupils,
    boarders, areas, investments, shortfalls and moved pupils."""
    out: dict[pulp.LpVariable, str] = {}
    for tab in (m.pairs, m.open):
        out.update(zip(tab["var"], tab["site_id"]))
    for keyed in (m.classes, m.added, m.enrol, m.standards, m.moved):
        out.update((v, k[0]) for k, v in keyed.items())
    out.update((v, s) for s, v in m.boarders.items())
    return out


def shared_rows(m: Model, owner: dict[pulp.LpVariable, str]) -> list[pulp.LpConstraint]:
    """Inequality rows over the variables of more than one site (the budget,
    the equipment pool). Equality rows need no share: a job that holds the
    other sites' variables keeps its own sites' part of the sum as it was."""
    return [c for c in m.rows.values()
            if c.sense != pulp.LpConstraintEQ and len({owner.get(v) for v in c.keys()}) > 1]


def narrowed(rows: list[pulp.LpConstraint], share: float) -> dict[pulp.LpConstraint, tuple[float, float]]:
    """Each row's (lower, upper) bounds on its terms' sum, narrowed so that
    it can use only ``share`` of its slack in the current plan: jobs on
    disjoint sites, each within its share, stay within the row together."""
    out = {}
    for c in rows:
        act = (pulp.value(c) or 0.0) - c.constant
        lo = -np.inf if c.getLb() is None else c.getLb()
        hi = np.inf if c.getUb() is None else c.getUb()
        out[c] = (act - share * max(0.0, act - lo), act + share * max(0.0, hi - act))
    return out


def _held(v: pulp.LpVariable) -> float:
    x = v.varValue or 0.0
    return float(round(x)) if v.cat == pulp.LpInteger else x


def site_job(m: Model, layout: dict, owner: dict[pulp.LpVariable, str], sites: set[str], free: np.ndarray,
             rows: dict, start: dict) -> Job:
    """The MIP of one neighbourhood: the layout, every pair not ``free``
    and every variable of a site outside ``sites`` (or of none) held at
    the current plan (``start``, every variable's value)."""
    fixing = dict(layout)
    fixing.update((v, _held(v)) for v, f in zip(m.pairs["var"], free) if not f)
    fixing.update((v, _held(v)) for v in start if v not in fixing and owner.get(v) not in sites)
    return Job(fixing, rows, start)


def disjoint_neighbourhoods(m: Model, todo: list[str], partners: int, k: int) -> list[tuple[str, set[str], np.ndarray]]:
    """Up to ``k`` hot sites from ``todo`` (in its order, the first always,
    among its first :data:`SCAN`) whose neighbourhoods share no site, each
    with its sites and free pairs."""
    open_, room, placed = open_sites(m), room_m2(m), placement(m.pairs)
    picks: list[tuple[str, set[str], np.ndarray]] = []
    taken: set[str] = set()
    for hot in todo[:SCAN]:
        sites = set(neighbourhood_sites(m.pairs, hot, open_, partners, room, placed=placed))
        if sites & taken:
            continue
        picks.append((hot, sites, free_pairs(m.pairs, sites, placed)))
        taken |= sites
        if len(picks) == k:
            break
    return picks


def serial_batch(m: Model, cfg: SolverConfig, jobs: list[Job]) -> list[Outcome]:
    """The jobs one after another through :func:`planner.solve.solve` (CBC,
    or HiGHS when highspy cannot be driven directly); ``rows`` must be empty.
    The model's values are left as they were."""
    order = m.lp.variables()
    out = []
    for job in jobs:
        assert not job.rows, "a serial batch solves one job at a time"
        before = snapshot(m)
        with fixed_at(job.fixing):
            r = solve(m, cfg, warm_start=job.start)
        x = np.array([v.varValue or 0.0 for v in order]) if r.has_plan else None
        out.append(Outcome(r.status, pulp.value(m.lp.objective) if r.has_plan else None, x))
        restore(before)
    return out


def default_batch(cfg: SolverConfig) -> tuple[BatchSolve, int]:
    """:func:`planner.batch.solve_batch` with ``cfg.threads`` jobs at a time
    under HiGHS; :func:`serial_batch`, one at a time, otherwise."""
    if cfg.name == "highs" and highs_available():
        return solve_batch, cfg.threads
    return serial_batch, 1


def repair(m: Model, cfg: SolverConfig, batch: BatchSolve | None, layout: dict, current: SolveResult,
           seconds: float) -> tuple[SolveResult, int]:
    """Hot sites in turn, dearest first, each freed with its partners
    (:func:`site_neighbourhood`) for at most :data:`SITE_SECONDS` (to
    :data:`SITE_GAP`); a site that improves is tried again. ``batch``
    (default :func:`default_batch`) solves as many neighbourhoods at once
    as the machine has threads, on disjoint sites
    (:func:`disjoint_neighbourhoods`), each holding every other site's
    variables and a share of each shared row's slack (:func:`narrowed`),
    so that every improvement found is kept. A pass that improved anything
    starts another; one that did not doubles the partners (a variable
    neighbourhood: small MIPs prove most sites stuck in a fraction of a
    second). Stops when time is out or a pass with :data:`MAX_PARTNERS`
    partners brings nothing. Returns the last plan's result (``current``
    when none improved; the model's values are then those of ``current``)
    and the MIPs solved."""
    t0 = time.perf_counter()
    solver, workers = (batch, cfg.threads) if batch is not None else default_batch(cfg)
    owner = owners(m)
    shared = shared_rows(m, owner) if workers > 1 else []
    best, rounds, tried, improved, partners = current, 0, set(), False, PARTNERS
    while (left := seconds - (time.perf_counter() - t0)) >= 1.0:
        todo = [s for s in hot_sites(m) if s not in tried]
        if not todo:
            if not improved and partners >= MAX_PARTNERS:
                break
            partners = partners if improved else 2 * partners
            tried, improved = set(), False
            continue
        picks = disjoint_neighbourhoods(m, todo, partners, workers)
        start, base = snapshot(m), pulp.value(m.lp.objective)
        order = list(start)  # the model's variables, in the order of the outcomes' values
        rows = narrowed(shared, 1.0 / len(picks)) if len(picks) > 1 else {}
        jobs = [site_job(m, layout, owner, sites, free, rows, start) for _, sites, free in picks]
        site = {"time_limit_s": min(SITE_SECONDS, left), "mip_gap": min(cfg.mip_gap, SITE_GAP)}
        outs = solver(m, cfg.model_copy(update=site), jobs)
        rounds += len(jobs)
        for (hot, _, _), job, out in zip(picks, jobs, outs):
            if out.objective is not None and out.objective < base - 1e-6 * max(1.0, abs(base)):
                keep(job, out, order)
                improved = True
            else:
                tried.add(hot)
        if (now := pulp.value(m.lp.objective)) < base:
            best = replace(best, objective=now)
        if any(o.status == "interrupted" for o in outs):
            best = replace(best, status="interrupted")
            break
    return best, rounds


def keep(job: Job, out: Outcome, variables: list[pulp.LpVariable]) -> None:
    """Put a job's values on the variables it was free to change
    (``variables``: the model's, in the order of ``out.values``)."""
    for v, x in zip(variables, out.values):
        if v not in job.fixing:
            v.varValue = float(x)
