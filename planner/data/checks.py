"""Checks before solving: say why a scenario cannot work, with both numbers.

These are cheap necessary conditions; passing them does not prove a plan
exists, but failing one proves none does, and the message names the rule,
the places involved and the two numbers that disagree (what is asked, what
is possible). The solver is never called on a scenario that fails one.
"""

from __future__ import annotations

import math

import pandas as pd

from planner.data.problem import Problem
from planner.data.travel import band_limit_km, serving_types
from planner.domain import BANDS, LEVEL_OF_BAND, TYPES, priced_upgrade
from planner.errors import ScenarioConflict


def _names(ids: list[str], limit: int = 8) -> str:
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _target_vs_sites(problem: Problem) -> list[str]:
    """A target's minimum above the sites that may take the type; a maximum
    below the sites forced to take it; more forced-open sites than all maxima allow."""
    allowed = problem.sites["allowed"]
    out = []
    for t in TYPES:
        lo, hi = problem.scenario.target_bounds(t)
        n = int(sum(t in a for a in allowed))
        if lo is not None and lo > n:
            out.append(
                f"target {t} = {lo}, but only {n} sites may be {t} (after policy.moves, allowed_types, "
                f"allow_new_builds and fixed decisions)"
            )
        forced = sorted(s for s, a in allowed.items() if tuple(a) == (t,))
        if hi is not None and len(forced) > hi:
            out.append(
                f"target {t} is at most {hi}, but {len(forced)} sites must be {t} (fixed or no other move): "
                f"{_names(forced)}"
            )
    must_open = int(allowed.map(lambda a: "closed" not in a).sum())
    total_max = sum(len(problem.sites) if (hi := problem.scenario.target_bounds(t)[1]) is None else hi for t in TYPES)
    if must_open > total_max:
        out.append(f"{must_open} sites may not close, but the targets allow at most {total_max} open schools")
    return out


def _unreachable(problem: Problem) -> list[str]:
    """Villages with pupils of a band but no site that may teach it within the band's limit."""
    out = []
    reached = problem.pairs.groupby("band")["village_id"].agg(set)
    v = problem.villages
    for b in BANDS:
        need = v.index[v[f"pupils_{b}"] > 0]
        lost = sorted(set(need) - reached.get(b, set()))
        if lost:
            towns = sorted({str(v.at[i, "township"]) for i in lost if str(v.at[i, "township"])})
            where = f" (townships: {_names(towns, 5)})" if towns else ""
            out.append(
                f"{len(lost)} village(s) with {int(v.loc[lost, f'pupils_{b}'].sum())} {b} pupils have no school "
                f"type that may teach {b} within the {band_limit_km(problem, b):g} km limit: {_names(lost)}{where}"
            )
    return out


def site_capacity(problem: Problem, band: str) -> pd.Series:
    """Most pupils of ``band`` each site could hold on its own: the best
    allowed type's school cap, and (with site ``max_classes``) its classes x
    class cap. ``inf`` where no cap applies; 0 where no allowed type teaches it."""
    caps = problem.scenario.caps
    types = set(serving_types(problem, band))
    cls = caps.class_size.get(LEVEL_OF_BAND[band])
    out = {}
    for s, allowed in problem.sites["allowed"].items():
        best = 0.0
        for t in allowed:
            if t not in types:
                continue
            c = caps.school_pupils.get(t)
            cap = math.inf if c is None else float(c)
            if caps.use_site_max_classes and cls is not None:
                cap = min(cap, float(problem.sites.at[s, "max_classes"]) * cls)
            best = max(best, cap)
        out[s] = best
    return pd.Series(out, dtype=float)


def _capacity(problem: Problem) -> list[str]:
    """Per band: pupils above what every reachable site together could hold;
    per village: its own pupils above what the sites in its reach could hold."""
    out = []
    reached = problem.pairs.groupby("band")["village_id"].agg(set)
    caps = {b: site_capacity(problem, b) for b in BANDS}
    for b in BANDS:
        v = problem.villages
        if set(v.index[v[f"pupils_{b}"] > 0]) - reached.get(b, set()):
            continue  # already reported as out of reach
        cap = caps[b]
        pairs = problem.pairs[problem.pairs["band"] == b]
        pupils = float(problem.villages[f"pupils_{b}"].sum())
        reach = float(cap.reindex(pairs["site_id"].unique()).sum())
        if pupils > reach:
            out.append(
                f"band {b}: {pupils:,.0f} pupils, but the sites within reach that may teach it hold at most "
                f"{reach:,.0f} (school caps, max_classes x class size)"
            )
            continue
        per_village = pairs.assign(cap=pairs["site_id"].map(cap)).groupby("village_id")["cap"].sum()
        need = problem.villages.loc[per_village.index, f"pupils_{b}"]
        short = per_village.index[need > per_village].tolist()
        for v in short[:5]:
            out.append(
                f"village {v} ({problem.villages.at[v, 'township']}): {need[v]:,.0f} {b} pupils, but the sites "
                f"within {band_limit_km(problem, b):g} km hold at most {per_village[v]:,.0f}"
            )
        if len(short) > 5:
            out.append(f"... and {len(short) - 5} more villages whose {b} pupils exceed the capacity in their reach")
    if not out:  # all bands together: each site counted once, at its largest cap
        sites = problem.pairs["site_id"].unique()
        whole = pd.concat([caps[b].reindex(sites) for b in BANDS], axis=1).max(axis=1)
        pupils = float(problem.villages[[f"pupils_{b}" for b in BANDS]].to_numpy().sum())
        if pupils > float(whole.sum()):
            out.append(
                f"all bands: {pupils:,.0f} pupils, but the sites within reach hold at most {whole.sum():,.0f} "
                "together (each at its largest school cap)"
            )
    return out


def fixed_costs(problem: Problem) -> dict[str, float]:
    """Cost (10k yuan) that the fixed decisions commit by category: new
    builds and land for fixed candidate sites, upgrades for fixed schools."""
    scen, sites = problem.scenario, problem.sites
    out = {"new_build": 0.0, "land": 0.0, "upgrade": 0.0}
    for s, t in sorted(scen.fixed.items()):
        if t == "closed" or s not in sites.index:
            continue
        if sites.at[s, "kind"] == "candidate":
            out["new_build"] += float(scen.costs.new_build_10k_yuan.get(t, 0.0))
            out["land"] += float(sites.at[s, "land_cost_10k_yuan"])
        else:
            if priced_upgrade(sites.at[s, "type_before"], t):
                out["upgrade"] += float(scen.costs.upgrade_10k_yuan)
    return out


def _budget(problem: Problem) -> list[str]:
    """The budget (total or by category) below what the fixed decisions cost."""
    scen = problem.scenario
    cost = fixed_costs(problem)
    fixed_ids = ", ".join(s for s, t in sorted(scen.fixed.items()) if t != "closed")
    out = []
    total = sum(cost.values())
    if scen.budget.total_10k_yuan is not None and total > scen.budget.total_10k_yuan + 1e-9:
        out.append(
            f"budget {scen.budget.total_10k_yuan:,.0f} (10k yuan) is below the {total:,.0f} that the fixed "
            f"decisions ({fixed_ids}) cost before any other work"
        )
    for k, limit in sorted(scen.budget.by_category_10k_yuan.items()):
        if cost.get(k, 0.0) > limit + 1e-9:
            out.append(
                f"budget for {k} {limit:,.0f} (10k yuan) is below the {cost[k]:,.0f} that the fixed decisions "
                f"({fixed_ids}) cost"
            )
    return out


def conflicts(problem: Problem) -> list[str]:
    """Every reason found, in a stable order (no exception)."""
    return [*_target_vs_sites(problem), *_unreachable(problem), *_capacity(problem), *_budget(problem)]


def presolve_checks(problem: Problem) -> None:
    """Raise :class:`ScenarioConflict` listing every reason found."""
    reasons = conflicts(problem)
    if reasons:
        raise ScenarioConflict(reasons)
