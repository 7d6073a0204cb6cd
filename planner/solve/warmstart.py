"""Warm start: a greedy plus interchange heuristic for the p-median core.

When a model opens exactly ``p`` sites of one type (a ``target_count`` row)
and every other decision follows from which sites are open, the classical
heuristics of the field give a near-optimal plan in a fraction of a second:
greedy addition, then Teitz-Bart interchange evaluated for every (site out,
site in) swap at once in the manner of Whitaker's fast interchange. The MIP
solver receives the plan as a warm start, so its reduced-cost fixing and
pruning work against a good incumbent from the first node.

The heuristic reads only the built model (its ``open`` and ``pairs`` tables,
the objective's coefficients and the rows by key); a model it does not
recognise gets no warm start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.config.tuning import WarmStartTuning
from planner.model.build import UNCOUPLED_FAMILIES
from planner.model.core import Model
from planner.model.form import Form

UNSERVED = 1e9
"""Cost per unit of demand a heuristic pays for a village-band no open site
reaches: a big M, larger than any real assignment's cost."""


@dataclass(frozen=True)
class Core:
    """The p-median core of a model: clients x sites cost matrix (``inf`` =
    no pair), fixed opening costs, sites that must open, and ``p``."""

    cost: np.ndarray
    fixed: np.ndarray
    forced: np.ndarray
    p: int
    sites: np.ndarray
    open_cols: np.ndarray
    pair_rows: np.ndarray
    pair_cols: np.ndarray
    pair_clients: np.ndarray


def _target_p(m: Model) -> tuple[str, int] | None:
    """The single type opened and its exact count, or ``None``."""
    types = m.open["type"].unique()
    if len(types) != 1:
        return None
    row = m.row("target_count", str(types[0]))
    if row is None:
        return None
    return str(types[0]), int(round(m.form.row_lower[row]))


def core_of(m: Model) -> Core | None:
    """Extract the p-median core, or ``None`` when the model is not one."""
    tp = _target_p(m)
    if tp is None or m.pairs.empty:
        return None
    _, p = tp
    cost_of = m.form.cost
    sites = m.open["site_id"].to_numpy()
    col_of = {s: j for j, s in enumerate(sites)}
    clients = m.pairs.groupby(["village_id", "band"], sort=True).ngroup().to_numpy()
    cols = m.pairs["site_id"].map(col_of)
    if cols.isna().any():
        return None
    cols = cols.to_numpy(int)
    coef = cost_of[m.pairs["col"].to_numpy()]
    cost = np.full((clients.max() + 1, len(sites)), np.inf)
    cost[clients, cols] = coef
    fixed = cost_of[m.open["col"].to_numpy()]
    one = [m.row("one_type", s) for s in sites]
    forced = np.array([r is not None and m.form.row_lower[r] == m.form.row_upper[r] for r in one], dtype=bool)
    if forced.sum() > p or p > len(sites) or p < 1:
        return None
    return Core(cost, fixed, forced, p, sites, m.open["col"].to_numpy(), np.arange(len(m.pairs)), cols, clients)


def _assigned(cost: np.ndarray, open_: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(cost[:, open_]), cost[:, open_], UNSERVED)


def total_cost(core: Core, open_: np.ndarray) -> float:
    """Objective of opening ``open_`` (column indices), each client at its cheapest open site."""
    return float(_assigned(core.cost, open_).min(axis=1).sum() + core.fixed[open_].sum())


def greedy(core: Core) -> np.ndarray:
    """Open the forced sites, then add the site that lowers the cost most, until ``p``."""
    c = np.where(np.isfinite(core.cost), core.cost, UNSERVED)
    open_: list[int] = [int(j) for j in np.flatnonzero(core.forced)]
    best = c[:, open_].min(axis=1) if open_ else np.full(len(c), UNSERVED * 10)
    while len(open_) < core.p:
        tot = np.minimum(best[:, None], c).sum(axis=0) + core.fixed
        tot[open_] = np.inf
        j = int(np.argmin(tot))
        open_.append(j)
        best = np.minimum(best, c[:, j])
    return np.array(sorted(open_), dtype=int)


def interchange(core: Core, open_: np.ndarray, *, max_swaps: int) -> np.ndarray:
    """Best-improvement swaps (one out, one in) until none lowers the cost.

    The cost change of every swap is ``G[j] + L[r, j]`` (Whitaker): ``G`` the
    gain of adding ``j``, ``L`` the loss of the clients whose nearest open
    site ``r`` goes, each an O(clients x sites) array operation."""
    c = np.where(np.isfinite(core.cost), core.cost, UNSERVED)
    open_ = np.array(open_, dtype=int)
    if len(open_) < 2 and core.p < 2 or len(open_) == len(c[0]):
        return open_
    for _ in range(max_swaps):
        co = c[:, open_]
        order = np.argsort(co, axis=1, kind="stable")
        d1 = np.take_along_axis(co, order[:, :1], axis=1)[:, 0]
        d2 = np.take_along_axis(co, order[:, 1:2], axis=1)[:, 0] if len(open_) > 1 else np.full(len(c), UNSERVED * 10)
        near = order[:, 0]
        gain = (np.minimum(d1[:, None], c) - d1[:, None]).sum(axis=0)
        extra = np.minimum(d2[:, None], c) - np.minimum(d1[:, None], c)
        loss = np.zeros((len(open_), c.shape[1]))
        np.add.at(loss, near, extra)
        delta = gain[None, :] + loss + core.fixed[None, :] - core.fixed[open_][:, None]
        delta[:, open_] = np.inf
        delta[core.forced[open_], :] = np.inf
        r, j = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[r, j] < -1e-9 * max(1.0, abs(d1.sum())):
            break
        open_[r] = j
        open_ = np.sort(open_)
    return open_


def heuristic_plan(core: Core, tuning: WarmStartTuning) -> np.ndarray:
    """Greedy then interchange: the column indices of the sites to open."""
    return interchange(core, greedy(core), max_swaps=tuning.max_swaps)


def initial_solution(m: Model, tuning: WarmStartTuning, *, with_assignments: bool | None = None) -> np.ndarray | None:
    """A warm start (a value per column, NaN where the solver completes it),
    or ``None`` when the model has no p-median core.

    Open variables are always given; assignments (each client to its cheapest
    open site) only when nothing but the core constrains them, so that a
    capacitated model gets a partial start HiGHS completes itself."""
    core = core_of(m)
    if core is None:
        return None
    open_ = heuristic_plan(core, tuning)
    is_open = np.zeros(len(core.sites), bool)
    is_open[open_] = True
    start = np.full(m.form.shape[1], np.nan)
    start[core.open_cols] = is_open
    if with_assignments is None:
        with_assignments = set(m.family_sizes()) <= UNCOUPLED_FAMILIES
    if with_assignments:
        c = _assigned(core.cost, open_)
        chosen = open_[np.argmin(c, axis=1)]
        start[m.pairs["col"].to_numpy()] = chosen[core.pair_clients] == core.pair_cols
    return start


def is_complete(form: Form, start: np.ndarray | None) -> bool:
    """True when ``start`` sets every integer column of ``form`` (HiGHS
    then completes the continuous rest by one LP)."""
    return start is not None and not np.isnan(start[form.integer]).any()
