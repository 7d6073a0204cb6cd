"""The model's index sets as tables: one ``open[s,t]`` per allowed (site,
type), one ``assign[v,band,s]`` per pruned pair, and the sums over them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pulp

from planner.data.problem import Problem
from planner.domain import BANDS, LEVEL_OF_BAND
from planner.model.core import Builder, expr


def open_table(b: Builder, problem: Problem) -> pd.DataFrame:
    """One row and binary ``open[site,type]`` per allowed (site, type), closed excluded."""
    rows = [(s, t) for s, allowed in problem.sites["allowed"].items() for t in allowed if t != "closed"]
    tab = pd.DataFrame(rows, columns=["site_id", "type"])
    tab["var"] = [b.var("open", (s, t), upper=1.0, integer=True, site=s) for s, t in rows]
    return tab


def pair_table(b: Builder, problem: Problem) -> pd.DataFrame:
    """The pruned pairs with pupils, level, boarding flag, whether the
    catchment is whole (binary) and ``assign`` variables."""
    pol = problem.scenario.policy
    p = problem.pairs.copy()
    pupils = problem.villages[[f"pupils_{band}" for band in BANDS]].rename(columns=lambda c: c[7:]).stack()
    p["pupils"] = pupils.reindex(pd.MultiIndex.from_arrays([p["village_id"], p["band"]])).to_numpy(float)
    p["level"] = p["band"].map(LEVEL_OF_BAND)
    p["boards"] = p["distance_km"] > p["band"].map(pol.walk_limit_km).astype(float)
    p["whole"] = p["band"].map(lambda band: pol.assignment.get(band, "whole") == "whole").to_numpy(bool)
    p["var"] = [
        b.var("assign", (v, band, s), upper=1.0, integer=w, site=s)
        for v, band, s, w in zip(p["village_id"], p["band"], p["site_id"], p["whole"])
    ]
    return p


def open_by_site(b: Builder, types: tuple[str, ...] | None = None) -> dict[str, list[pulp.LpVariable]]:
    """Per site: its ``open`` variables (of ``types``, default all)."""
    tab = b.open if types is None else b.open[b.open["type"].isin(types)]
    return tab.groupby("site_id", sort=True)["var"].apply(list).to_dict()


def pupil_sums(b: Builder, mask: pd.Series | np.ndarray | None = None) -> dict[str, pulp.LpAffineExpression]:
    """Per site: sum of pupils x assign over the pairs of ``mask`` (default all)."""
    p = b.pairs if mask is None else b.pairs[mask]
    out = {}
    w = p["pupils"].to_numpy(float)
    for s, idx in p.groupby("site_id", sort=True).indices.items():
        out[s] = expr(p["var"].iloc[idx], w[idx])
    return out


def level_pupils(b: Builder, level: str) -> dict[str, pulp.LpAffineExpression]:
    """Per site: the pupils of ``level`` as a one-term expression of ``enrol``."""
    return {s: expr([v]) for (s, lv), v in sorted(b.enrol.items()) if lv == level}


def site_pupils(b: Builder) -> dict[str, pulp.LpAffineExpression]:
    """Per site: all its pupils (sum of its ``enrol`` variables)."""
    out: dict[str, list] = {}
    for (s, _), v in sorted(b.enrol.items()):
        out.setdefault(s, []).append(v)
    return {s: expr(vs) for s, vs in out.items()}
