"""Rounding an LP's layout to one type (or none) per site.

Stage 1's warm start and the regional solve both start from an LP's
fractional site values. :func:`round_layout` gives each site one type, or
closes it, keeping the target counts, by a small assignment problem
(:func:`assign_types`); a type whose pupil cap the LP's pupils at the site
overflow does not fit it and weighs nothing, and the counts close the sites
the LP sent fewest pupils. A village-band left with no school in reach then
opens its best site (:func:`repair_coverage`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.config.tuning import RoundingTuning
from planner.data.problem import Problem
from planner.data.travel import serving_types
from planner.domain import BANDS, TYPES
from planner.model.core import Model

Bounds = dict[str, tuple[int | None, int | None]]


@dataclass(frozen=True)
class Guide:
    """What a rounded layout must respect, from the problem: the target
    counts, the types that may teach each band, each type's pupil cap, the
    sites that may not close, and the current layout (rounded instead of an
    LP's values when the LP is not solved in its time)."""

    targets: Bounds
    serving: dict[str, frozenset[str]]
    caps: dict[str, float]
    must_open: frozenset[str]
    current: dict[str, str]


def guide_of(problem: Problem) -> Guide:
    scen = problem.scenario
    caps = {t: float("inf") if (c := scen.caps.school_pupils.get(t)) is None else float(c) for t in TYPES}
    allowed = problem.sites["allowed"]
    return Guide(
        targets={t: scen.target_bounds(t) for t in TYPES},
        serving={b: frozenset(serving_types(problem, b)) for b in BANDS},
        caps=caps,
        must_open=frozenset(allowed.index[allowed.map(lambda a: "closed" not in a)]),
        current={s: t for s, t in problem.sites["type_before"].items() if t in TYPES},
    )


def site_load(m: Model, x: np.ndarray) -> np.ndarray:
    """Per ``open`` row: the pupils the values ``x`` send to its site."""
    load = (m.pairs["pupils"] * x[m.pairs["col"].to_numpy()]).groupby(m.pairs["site_id"]).sum()
    return m.open["site_id"].map(load).fillna(0.0).to_numpy()


def fits(m: Model, guide: Guide, load: np.ndarray, tuning: RoundingTuning) -> np.ndarray:
    """Per ``open`` row: the pupils the LP sent to the site (``load``) are
    within the type's pupil cap plus ``overload_share``. An LP mixes types
    (a town school at 0.93 primary and 0.07 teaching point counts towards
    the teaching points' target and keeps 93 % of a primary's room); by value
    alone such schools became teaching points for hundreds of pupils."""
    cap = m.open["type"].map(guide.caps).to_numpy(float)
    return load <= cap * (1 + tuning.overload_share) + 1e-6


def round_layout(m: Model, x: np.ndarray, guide: Guide, tuning: RoundingTuning) -> np.ndarray:
    """A layout from fractional site values ``x`` (an LP's): per ``open``
    row, 1 for the site's type, 0 otherwise. Each site's type, or none, by
    :func:`assign_types` (the greedy :func:`greedy_types` should the counts
    be out of reach), then :func:`repair_coverage`. Deterministic (ties
    break on table order)."""
    load = site_load(m, x)
    tab = m.open.assign(
        val=x[m.open["col"].to_numpy()], pos=range(len(m.open)), fits=fits(m, guide, load, tuning), load=load
    )
    tab = tab.sort_values(["fits", "val", "pos"], ascending=[False, False, True], kind="stable")
    must = set(guide.must_open) & set(tab["site_id"])
    chosen = assign_types(tab, guide.targets, must, tuning)
    if chosen is None:
        chosen = greedy_types(tab, guide.targets, must)
    repair_coverage(m, tab, chosen, guide, must, tuning)
    on = set(chosen.items())
    return np.array([(s, t) in on for s, t in zip(m.open["site_id"], m.open["type"])], dtype=float)


def assign_types(tab: pd.DataFrame, targets: Bounds, must: set[str], tuning: RoundingTuning) -> dict[str, str] | None:
    """Each site's type, or closed, closest to the LP: maximise the weights
    (:func:`keep_weight`; closing weighs twice the site's LP closedness) with
    every site at most one type (exactly one if in ``must``) and each
    targeted type's count within its bounds. The rows are a bipartite
    incidence (sites x types), totally unimodular, so the optimum is whole.
    ``None`` when no layout meets the counts."""
    from scipy.optimize import Bounds as Box
    from scipy.optimize import LinearConstraint, milp
    from scipy.sparse import coo_matrix, vstack

    sites = pd.Index(sorted(tab["site_id"].unique()))
    openness = _openness(tab)
    weight = keep_weight(tab, tuning)
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
        lo.append(np.array([t_lo if t_lo is not None else 0.0]))
        hi.append(np.array([t_hi if t_hi is not None else np.inf]))
    res = milp(
        -weight,
        constraints=LinearConstraint(vstack(rows), np.concatenate(lo), np.concatenate(hi)),
        integrality=np.ones(n),
        bounds=Box(0.0, 1.0),
    )
    if res.status != 0:
        return None
    pick = res.x[: len(tab)] > 0.5
    return dict(zip(tab["site_id"][pick], tab["type"][pick]))


def _openness(tab: pd.DataFrame) -> pd.Series:
    """Each site's LP openness: the sum of its type values, at most 1."""
    return tab.groupby("site_id")["val"].sum().clip(upper=1.0)


def keep_weight(tab: pd.DataFrame, tuning: RoundingTuning) -> np.ndarray:
    """Per row of ``tab`` (``open`` rows with the LP's ``val``, ``load`` and
    ``fits``): the weight of opening the site as that type, its LP value plus
    the site's LP openness plus one per ``load_unit`` of its LP pupils, zero
    for a type that does not fit; also the order in which
    :func:`repair_coverage` closes sites (lightest first)."""
    kept = (
        tab["val"].to_numpy()
        + tab["site_id"].map(_openness(tab)).to_numpy()
        + tab["load"].to_numpy() / tuning.load_unit
    )
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


def repair_coverage(
    m: Model, tab: pd.DataFrame, chosen: dict[str, str], guide: Guide, must: set[str], tuning: RoundingTuning
) -> None:
    """Every village-band left with no open school in reach that teaches it
    opens its best-valued site; when that exceeds its type's maximum, the
    lightest site of that type (:func:`keep_weight`) that strands nobody
    closes. ``chosen`` (site -> type) is updated in place."""
    reach = m.pairs.groupby(["village_id", "band"])["site_id"].apply(list).to_dict()
    val = {(r.site_id, r.type): r.val for r in tab.itertuples()}
    weight = dict(zip(zip(tab["site_id"], tab["type"]), keep_weight(tab, tuning)))
    serving = guide.serving

    def covered(vb, ch) -> bool:
        return any(ch.get(s) in serving[vb[1]] for s in reach[vb])

    for _ in range(len(reach)):
        lost = [vb for vb in sorted(reach) if not covered(vb, chosen)]
        if not lost:
            return
        vb = lost[0]
        options = sorted(
            (
                (val.get((s, t), 0.0), s, t)
                for s in reach[vb]
                if s not in chosen
                for t in serving[vb[1]]
                if (s, t) in val
            ),
            key=lambda o: (-o[0], o[1]),
        )
        if not options:
            return
        _, s, t = options[0]
        chosen[s] = t
        hi = guide.targets.get(t, (None, None))[1]
        if hi is None or sum(1 for x in chosen.values() if x == t) <= hi:
            continue
        heavier = sorted(
            (weight.get((s2, t2), 0.0), s2) for s2, t2 in chosen.items() if t2 == t and s2 not in must and s2 != s
        )
        for _, s2 in heavier:
            trial = {k: x for k, x in chosen.items() if k != s2}
            if all(covered(v, trial) for v in reach if s2 in reach[v]):
                del chosen[s2]
                break


def taught(pairs: pd.DataFrame, kind: dict[str, str], serving: dict[str, frozenset[str]]) -> np.ndarray:
    """Mask over ``pairs``: the site is open (``kind``: site -> its type)
    as a type that teaches the pair's band."""
    return np.array([kind.get(s) in serving[b] for s, b in zip(pairs["site_id"], pairs["band"])], dtype=bool)


def current_layout_values(m: Model, guide: Guide) -> np.ndarray:
    """Values standing in for an LP's when it was not solved in its time:
    every school open as its current type, every village-band wholly at its
    nearest school of that layout that teaches it, everything else zero.
    :func:`round_layout` then keeps the current schools, closing the
    lightest to meet the counts."""
    x = np.zeros(m.form.shape[1])
    kind = {}
    for s, t, c in m.open[["site_id", "type", "col"]].itertuples(index=False):
        if guide.current.get(s) == t:
            x[c], kind[s] = 1.0, t
    p = m.pairs[taught(m.pairs, kind, guide.serving)]
    x[
        p.sort_values(["distance_km", "site_id"], kind="stable")
        .drop_duplicates(["village_id", "band"])["col"]
        .to_numpy()
    ] = 1.0
    return x
