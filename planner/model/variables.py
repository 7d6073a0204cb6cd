"""The model's index sets as tables: one ``open[s,t]`` per allowed (site,
type), one ``assign[v,band,s]`` per pruned pair, and the sums over them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pulp

from planner.data.problem import Problem
from planner.domain import BANDS, LEVEL_OF_BAND
from planner.model.core import Builder, expr
from planner.model.form import Rows


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
    p["pos"] = b.columns(
        "assign",
        list(zip(p["village_id"], p["band"], p["site_id"])),
        upper=1.0,
        integer=p["whole"].to_numpy(bool),
        sites=p["site_id"].tolist(),
    )
    return p


def pair_vars(b: Builder) -> pd.Series:
    """PuLP stand-ins of the ``assign`` columns, aligned with ``b.pairs``
    (made once, for the families written in PuLP's algebra over pairs)."""
    if "var" not in b.pairs.columns:
        b.pairs["var"] = b.stand_ins(b.pairs["pos"])
    return b.pairs["var"]


def pupil_rows(b: Builder, mask: np.ndarray, total: Callable[[str], pulp.LpVariable]) -> tuple[list[str], Rows]:
    """Per site with pairs in ``mask`` (sorted): ``total(site) - sum(pupils x
    assign) = 0`` as arrays, ``total`` making the site's column. Returns the
    sites and their rows."""
    p = b.pairs[np.asarray(mask, bool)]
    groups = p.groupby("site_id", sort=True).indices
    sites = list(groups)
    own = np.array([total(s).pos for s in sites], np.int64)
    idx = np.concatenate(list(groups.values())) if sites else np.zeros(0, np.int64)
    lens = np.array([len(i) for i in groups.values()], np.int64)
    row = np.concatenate([np.arange(len(sites)), np.repeat(np.arange(len(sites)), lens)])
    col = np.concatenate([own, p["pos"].to_numpy(np.int64)[idx]])
    coef = np.concatenate([np.ones(len(sites)), -p["pupils"].to_numpy(float)[idx]])
    order = np.argsort(row, kind="stable")
    zero = np.zeros(len(sites))
    return sites, Rows(lens + 1, col[order], coef[order], zero, zero)


def open_by_site(b: Builder, types: tuple[str, ...] | None = None) -> dict[str, list[pulp.LpVariable]]:
    """Per site: its ``open`` variables (of ``types``, default all)."""
    out: dict[str, list[pulp.LpVariable]] = {}
    for s, t, v in zip(b.open["site_id"], b.open["type"], b.open["var"]):
        if types is None or t in types:
            out.setdefault(s, []).append(v)
    return dict(sorted(out.items()))


def pupil_sums(b: Builder, mask: pd.Series | np.ndarray | None = None) -> dict[str, pulp.LpAffineExpression]:
    """Per site: sum of pupils x assign over the pairs of ``mask`` (default all)."""
    var = pair_vars(b)
    p = b.pairs if mask is None else b.pairs[mask]
    var = var if mask is None else var[mask]
    out = {}
    w = p["pupils"].to_numpy(float)
    for s, idx in p.groupby("site_id", sort=True).indices.items():
        out[s] = expr(var.iloc[idx], w[idx])
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
