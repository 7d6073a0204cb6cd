"""Assess: the headline figures of a plan, before and after, for summary.json.

Everything here is recomputed from the plan's tables and the problem's data
(not from model variables), so the summary reports what the plan does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.assess.decode import Plan, counts_by_type, former_catchments
from planner.assess.indicators import assessment, before_table, shortfall_summary, shortfalls
from planner.assess.operating import operating_summary, running_costs
from planner.assess.zones import zone_shares
from planner.data.problem import Problem
from planner.domain import ACTIONS, AREA_KINDS, BANDS, TYPES


def _by_band(series: pd.Series, fill: float = 0.0) -> dict[str, float]:
    return {b: round(float(series.get(b, fill)), 4) for b in BANDS}


def trip_figures(assign: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Pupil-km, mean and max trip by band (weighted by pupils)."""
    a = assign.assign(pkm=assign["pupils"] * assign["distance_km"])
    g = a.groupby("band")
    pkm = g["pkm"].sum()
    pupils = g["pupils"].sum()
    mean = (pkm / pupils.replace(0, np.nan)).fillna(0.0)
    mx = a[a["pupils"] > 1e-9].groupby("band")["distance_km"].max()
    return {"pupil_km": _by_band(pkm), "mean_trip_km": _by_band(mean), "max_trip_km": _by_band(mx)}


def target_report(problem: Problem, counts: dict[str, int]) -> dict[str, dict]:
    """Each target with its bounds and the count reached."""
    out = {}
    for t in TYPES:
        lo, hi = problem.scenario.target_bounds(t)
        if lo is None and hi is None:
            continue
        ok = (lo is None or counts[t] >= lo) and (hi is None or counts[t] <= hi)
        out[t] = {"min": lo, "max": hi, "after": counts[t], "met": bool(ok)}
    return out


def _projected(problem: Problem) -> dict | None:
    """Where the pupils came from when they were projected (else ``None``)."""
    c, p = problem.cohorts, problem.scenario.projection
    if c is None or p is None:
        return None
    return {"base_year": c.base_year, "year": problem.scenario.target_year, "grades_from": c.grade_source}


def _projects(plan: Plan) -> dict | None:
    """The projects built and not, and what the built ones cost (10k yuan)."""
    p = plan.projects
    if p is None:
        return None
    built = p[p["built"]]
    return {
        "built": built["name"].tolist(),
        "not_built": p.loc[~p["built"], "name"].tolist(),
        "cost_10k_yuan": round(float(built["cost_10k_yuan"].sum()), 4),
    }


def _campuses(problem: Problem, s: pd.DataFrame) -> dict | None:
    """The campuses kept (一校两区) by type, each with its host (``campuses:``)."""
    if problem.scenario.campuses is None:
        return None
    c = s[s["campus_of"] != ""]
    return {
        "count": int(len(c)),
        "by_type": counts_by_type(c["type_after"]),
        "hosts": dict(zip(c["school_id"], c["campus_of"])),
    }


def _operating(problem: Problem, plan: Plan) -> dict | None:
    """The plan's running costs a year and over the horizon, against today's
    schools teaching the same pupils, each village-band at its school today
    (:func:`former_catchments`) (``operating:``)."""
    scen = problem.scenario
    if scen.operating is None:
        return None
    s = plan.schools
    after = running_costs(scen, s["type_after"], s, s["boarders"])
    fc = former_catchments(problem)
    fc["pupils"] = [problem.villages.at[v, f"pupils_{b}"] for v, b in zip(fc["village_id"], fc["band"])]
    now = fc.pivot_table(index="site_id", columns="band", values="pupils", aggfunc="sum")
    now = now.reindex(index=problem.schools.index, columns=list(BANDS)).fillna(0.0).add_prefix("pupils_")
    today = running_costs(scen, problem.schools["type_before"], now, pd.Series(0.0, index=now.index))
    return operating_summary(scen, after, today)


def summarise(problem: Problem, plan: Plan) -> dict:
    """The run's summary.json content (indicators are added by the assessment of standards)."""
    scen, res, s = problem.scenario, plan.result, plan.schools
    before = counts_by_type(problem.schools["type_before"])
    after = counts_by_type(s.loc[s["campus_of"] == "", "type_after"])  # a campus counts in its host
    pupils = {b: round(float(problem.villages[f"pupils_{b}"].sum()), 3) for b in BANDS}
    board = plan.assignments[plan.assignments["boards"]].groupby("band")["pupils"].sum()
    boarders = {**_by_band(board), "total": round(float(board.sum()), 3)}
    actions = s["action"].value_counts()
    return {
        "scenario": scen.name,
        "title": scen.title,
        "target_year": scen.target_year,
        "status": res.status.value,
        "objective": res.objective,
        "best_bound": res.bound,
        "mip_gap": res.gap,
        "solver": res.solver,
        "solve_method": res.message,  # e.g. "regional (21 regions): ..." or "staged: ..."
        "solve_seconds": round(res.seconds, 3),
        "build_seconds": round(plan.build_seconds, 3),
        "model_size": plan.model_size,
        "counts_before": before,
        "counts_after": after,
        "targets": target_report(problem, after),
        "actions": {a: int(actions.get(a, 0)) for a in ACTIONS},
        "cost_10k_yuan": plan.cost_10k_yuan,
        "budget_10k_yuan": scen.budget.total_10k_yuan,
        "budget_covers": scen.budget.covers,
        "cost_budgeted_10k_yuan": round(scen.budget.budgeted(plan.cost_10k_yuan), 4),
        "campuses": _campuses(problem, s),
        "projects": _projects(plan),
        "operating": _operating(problem, plan),
        "nearest_zone": zone_shares(problem, plan.schools, plan.assignments),
        "pupils": {**pupils, "total": round(sum(pupils.values()), 3)},
        "pupils_projected": _projected(problem),
        "boarders": boarders,
        **trip_figures(plan.assignments),
        "added_area_m2": {k: round(float(s[f"{k}_area_added_m2"].sum()), 2) for k in AREA_KINDS},
        "indicators": assessment(problem.sites, before_table(problem.sites), s, scen),
        "shortfalls": shortfall_summary(shortfalls(problem.sites, s, scen)),
        "warnings": list(problem.warnings),
    }
