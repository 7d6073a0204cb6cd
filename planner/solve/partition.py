"""Cutting a county into regions for the regional decomposition.

Townships are grouped by recursive coordinate bisection into regions of about
``region_pairs`` pairs (a township heavier than half a region, such as the
county town, is cut by its sites); each site belongs to its area's region,
and each village-band, whole, to a region with an open site teaching it,
chosen by a small MIP that keeps each region's pupils of each band within
what the county's LP sent there (:func:`split_mip`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.config.tuning import RegionsTuning
from planner.data.problem import Problem
from planner.model.core import Model
from planner.model.form import Rows, compile_form
from planner.solve import backend
from planner.solve.clock import Clock
from planner.solve.direct import Context
from planner.solve.rounding import taught


def region_count(pairs: int, tuning: RegionsTuning) -> int:
    """How many regions a model of ``pairs`` pairs is cut into (1: no cut):
    none up to ``decompose_above_pairs``, then about ``region_pairs`` pairs each."""
    if tuning.decompose_above_pairs is None or pairs <= tuning.decompose_above_pairs:
        return 1
    return max(2, math.ceil(pairs / tuning.region_pairs))


def area_keys(sites: pd.DataFrame, weight: pd.Series, n: int) -> pd.Series:
    """Each site's area: its township, or the site itself when it has none
    or when its township weighs more than half a region."""
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


def band_regions(
    m: Model, x: np.ndarray, layout: np.ndarray, region: pd.Series, ctx: Context, clock: Clock
) -> pd.Series:
    """Region of every village-band, whole, keeping each region's pupils of
    a band near what the LP (``x``) sent to its sites: a region given more
    pupils than the LP had there must pack them onto full sites. The split
    MIP picks, for each village-band, one of the regions with an open site
    (in ``layout``, per ``open`` row) teaching its band; a village-band with
    no such site keeps its nearest site's region."""
    on = layout > 0.5
    kind = dict(zip(m.open["site_id"][on], m.open["type"][on]))
    p = m.pairs[["village_id", "band", "site_id", "distance_km", "pupils"]].copy()
    p["share"] = x[m.pairs["col"].to_numpy()]
    p["region"] = p["site_id"].map(region).to_numpy()
    room = (p["share"] * p["pupils"]).groupby([p["region"], p["band"]]).sum()
    options = (
        p[taught(m.pairs, kind, ctx.guide.serving)]
        .groupby(["village_id", "band", "region"], sort=True)
        .agg(share=("share", "sum"), pupils=("pupils", "first"), km=("distance_km", "min"))
        .reset_index()
    )
    nearest = p.sort_values(["distance_km", "site_id"], kind="stable").drop_duplicates(["village_id", "band"])
    out = nearest.set_index(["village_id", "band"])["region"].astype(int)
    pick = split_mip(options, room, ctx, clock)
    out.loc[pick.index] = pick.to_numpy()
    return out.sort_index()


def split_mip(options: pd.DataFrame, room: pd.Series, ctx: Context, clock: Clock) -> pd.Series:
    """One region for each village-band of ``options`` (rows: village_id,
    band, region, the LP's share of it there, its pupils, km to its nearest
    site there that teaches it), minimising the pupils over what the LP sent
    to each region and band (``room``), at ``split_over`` each, plus the
    pupils placed where the LP did not send them, plus ``split_km`` per
    pupil-km to the nearest site. A village-band with one option takes it.
    Starts from each village-band in the region with its largest share;
    stops within ``split_seconds`` and ``split_gap``."""
    t = ctx.tuning.regions
    count = options.groupby(["village_id", "band"], sort=False)["region"].transform("size").to_numpy()
    one, free = options[count == 1], options[count > 1].reset_index(drop=True)
    largest = (
        free.sort_values(["village_id", "band", "share", "region"], ascending=[True, True, False, True], kind="stable")
        .drop_duplicates(["village_id", "band"])
        .index.to_numpy()
    )
    chosen = free.loc[np.sort(largest)]
    if len(free):
        x = _split_solve(
            free, room.sub(one.groupby(["region", "band"])["pupils"].sum(), fill_value=0.0), largest, ctx, clock, t
        )
        if x is not None:
            chosen = free[x[: len(free)] > 0.5]
    both = pd.concat([one, chosen])
    return pd.Series(
        both["region"].astype(int).to_numpy(), index=pd.MultiIndex.from_frame(both[["village_id", "band"]])
    )


def _split_solve(
    free: pd.DataFrame, left: pd.Series, largest: np.ndarray, ctx: Context, clock: Clock, t: RegionsTuning
) -> np.ndarray | None:
    """The split MIP's values (its ``y`` columns first), or ``None`` without a plan."""
    n = len(free)
    pupils = free["pupils"].to_numpy(float)
    groups = list(free.groupby(["village_id", "band"], sort=True).indices.values())
    cells = list(free.groupby(["region", "band"], sort=True).indices.items())
    k = len(cells)
    rows = [(idx.astype(np.int64), np.ones(len(idx)), 1.0, 1.0) for idx in groups]
    rows += [
        (np.append(idx, n + j).astype(np.int64), np.append(pupils[idx], -1.0), -np.inf, float(left.get(rb, 0.0)))
        for j, (rb, idx) in enumerate(cells)
    ]
    cost = np.concatenate(
        [((1.0 - free["share"].clip(0.0, 1.0)) + t.split_km * free["km"]).to_numpy() * pupils, np.full(k, t.split_over)]
    )
    form = compile_form(
        cost,
        0.0,
        np.zeros(n + k),
        np.concatenate([np.ones(n), np.full(k, np.inf)]),
        np.concatenate([np.ones(n, bool), np.zeros(k, bool)]),
        Rows.of(rows),
        [f"y{i}" for i in range(n)] + [f"over{j}" for j in range(k)],
        [""] * len(rows),
    )
    start = np.full(n + k, np.nan)
    start[:n] = 0.0
    start[largest] = 1.0
    opts = ctx.options(clock).but(time_limit_s=min(t.split_seconds, clock.left()), mip_gap=t.split_gap)
    res = backend.solve(form, opts, start)
    return res.x if res.has_plan else None
