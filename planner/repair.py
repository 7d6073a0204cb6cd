"""Stage 2's repair in the staged solve: a large-neighbourhood search on
whole catchments around the sites where making catchments whole costs most.

Stage 2 first makes stage 1's split catchments whole with everything else
fixed. At a full site (no land left for more sports ground, say) the few
pupils this adds become a priced shortfall, far dearer than sending one
village to the next school: measured on the demo, 682 m² of sports ground
short at a handful of town sites, 13 % of the objective. Freeing every
catchment at once (the layout-only retry) is too big a MIP to improve that
in the time a stage gets.

The repair frees only the catchments around the *hot* sites (those paying a
shortfall): every village-band now at a hot site (ring 1) and every
village-band now at a site ring 1 can reach (ring 2), so a village can leave
a hot site and the neighbour it goes to can pass one of its own villages on.
The layout and every other catchment stay fixed; the small MIP starts from
the current plan, so a repair never makes the plan worse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pulp

from planner.model import Model
from planner.scenario import SolverConfig
from planner.solve import SolveResult, restore, snapshot

SHORT_TOL = 1e-6
MAX_ROUNDS = 3

FixedSolve = Callable[[Model, SolverConfig, dict, dict | None], SolveResult]


def short_sites(m: Model) -> set[str]:
    """Sites with a positive shortfall (a standard met only at a price)."""
    return {s for (s, name), v in m.standards.items() if name.startswith("short_") and (v.varValue or 0.0) > SHORT_TOL}


def neighbourhood(pairs: pd.DataFrame, hot: set[str]) -> np.ndarray:
    """Pairs to free, as a mask over ``pairs``: every pair of a village-band
    in ring 1 (now at a hot site) or ring 2 (now at a site that ring 1 can
    reach)."""
    vb = pairs.groupby(["village_id", "band"], sort=False).ngroup().to_numpy()
    site = pairs["site_id"].to_numpy()
    at = pairs["var"].map(lambda v: (v.varValue or 0.0) > 0.5).to_numpy(bool)
    ring1 = np.zeros(vb.max() + 1 if len(vb) else 0, bool)
    ring1[vb[at & np.isin(site, list(hot))]] = True
    reach = list(set(site[ring1[vb]]))
    free = ring1.copy()
    free[vb[at & np.isin(site, reach)]] = True
    return free[vb]


def repair(m: Model, cfg: SolverConfig, fixed_solve: FixedSolve, layout: dict, current: SolveResult,
           seconds: float) -> tuple[SolveResult, int]:
    """Up to :data:`MAX_ROUNDS` neighbourhood solves around the hot sites,
    each from the plan before it, while they improve and time is left.
    Returns the last plan's result (``current`` when none improved; the
    model's values are then those of ``current``) and the rounds run."""
    t0 = time.perf_counter()
    best, rounds = current, 0
    while rounds < MAX_ROUNDS and (left := seconds - (time.perf_counter() - t0)) >= 1.0:
        hot = short_sites(m)
        if not hot:
            break
        start = snapshot(m)
        free = neighbourhood(m.pairs, hot)
        fixing = {**layout, **{v: float(round(v.varValue or 0.0)) for v, f in zip(m.pairs["var"], free)
                               if not f and v.cat == pulp.LpInteger}}
        r = fixed_solve(m, cfg.model_copy(update={"time_limit_s": max(1.0, left / (MAX_ROUNDS - rounds))}), fixing, start)
        rounds += 1
        if not r.has_plan or r.objective >= best.objective - 1e-6 * max(1.0, abs(best.objective)):
            restore(start)
            r = replace(best, status="interrupted") if r.status == "interrupted" else None
        best = r or best
        if r is None or r.status == "interrupted":
            break
    return best, rounds
