"""Stage 2's repair: a large-neighbourhood search on whole catchments around
the sites where making catchments whole costs most.

Stage 2 first makes stage 1's split catchments whole with everything else
fixed. At a full site (no land left for more sports ground, say) the few
pupils this adds become a priced shortfall, far dearer than sending one
village to the next school. Freeing every catchment at once is too big a MIP
to improve that in the time a stage gets.

The repair works one *hot* site (one paying a shortfall) at a time, the
dearest first: every village-band now at the hot site or at one of its
partner sites (the open sites the most of the hot site's village-bands can
also reach) may move among those sites, and so may those at its outlets (open
sites with room, sports surplus or land still free, that those bands reach:
in a county town every partner is as full as the hot site). The layout and
every other catchment stay fixed, and the small MIP starts from the current
plan, so a repair never makes the plan worse. A pass that improves nothing
doubles the partners (a variable neighbourhood).

HiGHS runs each site's MIP on one core, so the repair solves as many
neighbourhoods at once as the solver has threads, on disjoint sites: each
MIP holds every other site's columns and may use only its share of a shared
row's slack (the budget, the equipment pool), so every improvement found is
kept together with the others. A MIP is sent as the part that can move
(:meth:`~planner.model.form.Form.reduced`), not the whole model with most of
it fixed. Knobs: :class:`~planner.config.tuning.RepairTuning`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.config.tuning import RepairTuning
from planner.model.core import Model
from planner.model.form import Form
from planner.solve import backend
from planner.solve.clock import Clock
from planner.solve.direct import Context
from planner.solve.status import Solution, SolveStatus

Fixing = tuple[np.ndarray, np.ndarray]
Placement = tuple[np.ndarray, np.ndarray, np.ndarray]


def hot_sites(m: Model, x: np.ndarray, tol: float) -> list[str]:
    """The sites with a shortfall, dearest first (its price in the
    objective; ties by site id)."""
    price: dict[str, float] = {}
    for key, c in m.shortfalls().items():
        if x[c] > tol:
            price[key[0]] = price.get(key[0], 0.0) + m.form.cost[c] * x[c]
    return sorted(price, key=lambda s: (-price[s], s))


def open_sites(m: Model, x: np.ndarray) -> set[str]:
    """Sites open (as any type) at ``x``."""
    return set(m.open.loc[x[m.open["col"].to_numpy()] > 0.5, "site_id"])


def room_m2(m: Model, x: np.ndarray) -> dict[str, float]:
    """Per site: the sports ground (m²) it could still give more pupils,
    its surplus over the sports standard plus the site area still free."""
    act = m.form.activity(x)
    out: dict[str, float] = {}
    for fam in ("sports_area", "site_room"):
        for key, i in m.rows_of(fam).items():
            lo, up = m.form.row_lower[i], m.form.row_upper[i]
            slack = act[i] - lo if np.isfinite(lo) else up - act[i]
            out[key[0]] = out.get(key[0], 0.0) + max(0.0, slack)
    return out


def placement(pairs: pd.DataFrame, x: np.ndarray) -> Placement:
    """Per pair: its village-band's number (a village-band in one phase, in
    a phased model), its site, and whether the village-band is at that site
    at ``x``."""
    demand = [c for c in ("village_id", "band", "phase") if c in pairs]
    key = pairs.groupby(demand, sort=False).ngroup().to_numpy()
    return key, pairs["site_id"].to_numpy(), x[pairs["col"].to_numpy()] > 0.5


def neighbourhood_sites(
    placed: Placement, hot: str, open_: set[str], partners: int, room: dict[str, float] | None = None, outlets: int = 0
) -> list[str]:
    """The sites freed around one hot site: ``hot``, its ``partners``
    partners (the open sites that the most village-bands now at ``hot`` can
    reach; ties by site id) and its ``outlets`` outlets (the open sites with
    the most ``room``, :func:`room_m2`, that village-bands at ``hot`` or a
    partner can reach)."""
    key, site, at = placed
    mine = np.isin(key, key[at & (site == hot)])
    reach = pd.Series(site[mine & np.isin(site, list(open_)) & (site != hot)]).value_counts()
    ranked = [hot, *sorted(reach.index, key=lambda s: (-reach[s], s))[:partners]]
    near = np.isin(key, key[at & np.isin(site, ranked)])
    roomy = {s: r for s, r in (room or {}).items() if r > 0.0 and s in open_ and s not in ranked}
    return ranked + sorted(set(site[near]) & set(roomy), key=lambda s: (-roomy[s], s))[:outlets]


def free_pairs(placed: Placement, sites: list[str] | set[str]) -> np.ndarray:
    """Pairs free among ``sites``, as a mask over the pairs: every
    village-band now at one of them may move among them."""
    key, site, at = placed
    nb = np.isin(site, list(sites))
    return np.isin(key, key[at & nb]) & nb


def shared_rows(m: Model) -> np.ndarray:
    """Inequality rows over the columns of more than one site (or of a site
    and none: the budget, the equipment pool). Equality rows need no share:
    a job that holds the other sites' columns keeps its own sites' part of
    the sum as it was."""
    codes = m.site_codes[1]
    a = m.form.matrix.tocsr()
    lens = np.diff(a.indptr)
    c = codes[a.indices].astype(float)
    nonempty = lens > 0
    starts = a.indptr[:-1][nonempty]
    lo = np.full(len(lens), np.inf)
    hi = np.full(len(lens), -np.inf)
    lo[nonempty] = np.minimum.reduceat(c, starts)
    hi[nonempty] = np.maximum.reduceat(c, starts)
    inequality = m.form.row_lower != m.form.row_upper
    return np.flatnonzero(nonempty & (lo != hi) & inequality)


def narrowed(form: Form, rows: np.ndarray, x: np.ndarray, share: float) -> dict[int, tuple[float, float]]:
    """Each row's (lower, upper) bounds narrowed so that it can use only
    ``share`` of its slack at ``x``: jobs on disjoint sites, each within its
    share, stay within the row together."""
    act = form.activity(x)
    out = {}
    for i in rows:
        a, lo, hi = act[i], form.row_lower[i], form.row_upper[i]
        out[int(i)] = (a - share * max(0.0, a - lo), a + share * max(0.0, hi - a))
    return out


def site_job(
    m: Model, layout: Fixing, sites: set[str], free: np.ndarray, rows: dict[int, tuple[float, float]], x: np.ndarray
) -> tuple[Form, np.ndarray]:
    """The MIP of one neighbourhood, over the columns it may change (the
    mask returned): the layout, every pair not ``free`` and every column of
    a site outside ``sites`` (or of none) held at ``x`` (whole columns
    rounded) and reduced away."""
    held = ~m.of_sites(sites)
    held[layout[0]] = True
    pair_cols = m.pairs["col"].to_numpy()
    held[pair_cols[~free]] = True
    vals = np.where(m.form.integer, np.round(x), x)
    vals[layout[0]] = layout[1]
    return m.form.with_rows(rows).reduced(~held, vals), ~held


def disjoint_neighbourhoods(
    m: Model, x: np.ndarray, todo: list[str], partners: int, k: int, tuning: RepairTuning
) -> list[tuple[str, set[str], np.ndarray]]:
    """Up to ``k`` hot sites from ``todo`` (in its order, the first always,
    among its first ``scan``) whose neighbourhoods share no site, each with
    its sites and free pairs."""
    open_, room, placed = open_sites(m, x), room_m2(m, x), placement(m.pairs, x)
    picks: list[tuple[str, set[str], np.ndarray]] = []
    taken: set[str] = set()
    for hot in todo[: tuning.scan]:
        sites = set(neighbourhood_sites(placed, hot, open_, partners, room, tuning.outlets))
        if sites & taken:
            continue
        picks.append((hot, sites, free_pairs(placed, sites)))
        taken |= sites
        if len(picks) == k:
            break
    return picks


def repair(m: Model, ctx: Context, clock: Clock, layout: Fixing, current: Solution) -> tuple[Solution, int]:
    """Hot sites in turn, dearest first, each freed with its partners and
    outlets for at most ``site_seconds`` (to ``site_gap``); a site that
    improves is tried again. As many neighbourhoods at once as the solver
    has threads (:func:`disjoint_neighbourhoods`), each holding every other
    site's columns and a share of each shared row's slack. A pass that
    improved anything starts another; one that did not doubles the partners.
    Stops when the clock runs out or a pass with ``max_partners`` partners
    brings nothing. Returns the best plan (``current`` when none improved)
    and the number of MIPs solved. ``m``'s form is the one repaired (stage
    2's, investments continuous)."""
    t = ctx.tuning.repair
    site_opts = ctx.options(clock).but(mip_gap=min(ctx.cfg.mip_gap, t.site_gap))
    workers = backend.concurrency(site_opts)
    shared = shared_rows(m) if workers > 1 else np.zeros(0, np.int64)
    x = current.values.copy()
    tried: set[str] = set()
    best, rounds, improved, partners = current, 0, False, t.partners
    while not clock.done(1.0):
        todo = [s for s in hot_sites(m, x, t.short_tol) if s not in tried]
        if not todo:
            if not improved and partners >= t.max_partners:
                break
            partners = partners if improved else 2 * partners
            tried, improved = set(), False
            continue
        picks = disjoint_neighbourhoods(m, x, todo, partners, workers, t)
        base = m.form.objective(x)
        rows = narrowed(m.form, shared, x, 1.0 / len(picks)) if len(picks) > 1 else {}
        jobs = [site_job(m, layout, sites, free, rows, x) for _, sites, free in picks]
        outs = backend.solve_many(
            [(f, x[movable]) for f, movable in jobs], site_opts.but(time_limit_s=min(t.site_seconds, clock.left()))
        )
        rounds += len(jobs)
        for (hot, _, _), (_, movable), out in zip(picks, jobs, outs):
            if out.has_plan and out.cost < base - 1e-6 * max(1.0, abs(base)):
                x[movable] = out.values
                improved = True
            else:
                tried.add(hot)
        if (now := m.form.objective(x)) < base:
            best = best.but(objective=now)
        if any(o.interrupted for o in outs):
            best = best.but(status=SolveStatus.INTERRUPTED)
            break
    return best.but(x=x), rounds
