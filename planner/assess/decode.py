"""Decode: read the solved variables into a :class:`Plan` of plain tables.

The plan says, per existing school and opened candidate site, its type after
the plan, the action (keep, expand, downgrade, upgrade, merge, close, new,
campus: kept as a campus of the school in ``campus_of``),
classes, pupils, boarders and added areas with their cost; per village and
band, where the children go. Mergers are read off the solution: a closed
school merges into the open school that takes most of its former pupils.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from planner.assess.indicators import school_columns
from planner.assess.investments import investment_site_costs, investment_table
from planner.assess.operating import running_costs
from planner.data.problem import Problem
from planner.data.travel import serving_types
from planner.domain import AREA_KINDS, BANDS, CONSTRUCTION_COSTS, LEVELS, TYPES, UPGRADES, priced_upgrade
from planner.model.core import Model
from planner.model.standards import INVESTMENT_COLUMNS
from planner.solve.status import Solution

SCHOOL_COLUMNS = (
    "school_id",
    "name",
    "township",
    "x",
    "y",
    "lon",
    "lat",
    "type_before",
    "type_after",
    "action",
    "merged_into",
    "campus_of",
    "classes_primary",
    "classes_junior",
    "pupils_g1_3",
    "pupils_g4_6",
    "pupils_g7_9",
    "boarders",
    "teaching_area_added_m2",
    "living_area_added_m2",
    "sports_area_added_m2",
    "cost_10k_yuan",
)
ASSIGNMENT_COLUMNS = ("village_id", "band", "school_id", "pupils", "distance_km", "boards")


@dataclass(frozen=True)
class Plan:
    """A decoded plan: the solver's report plus the schools and assignments tables."""

    result: Solution
    schools: pd.DataFrame
    assignments: pd.DataFrame
    cost_10k_yuan: dict[str, float]
    build_seconds: float = 0.0
    model_size: dict[str, int] = field(default_factory=dict)
    phases: pd.DataFrame | None = None
    """A phased plan's ``phases.csv``: per phase and site, its type, classes, pupils and areas added."""
    phase_assignments: pd.DataFrame | None = None
    """A phased plan's catchments in every phase (``assignments.csv`` holds the last phase's)."""
    projects: pd.DataFrame | None = None
    """The scenario's projects outside the sites (``projects.csv``): each one's cost, category and whether built."""
    groups: pd.DataFrame | None = None
    """The school groups (``groups.csv``): each member, its core and the teachers they exchange a year."""


def _types_after(m: Model, x: np.ndarray, problem: Problem) -> pd.Series:
    on = m.open[x[m.open["col"].to_numpy()] > 0.5]
    after = pd.Series("closed", index=problem.sites.index, dtype=object)
    after[on["site_id"].to_numpy()] = on["type"].to_numpy()
    return after


def _assignments(m: Model, x: np.ndarray) -> pd.DataFrame:
    p = m.pairs
    share = x[p["col"].to_numpy()]
    keep = share > 1e-6
    out = p.loc[keep, ["village_id", "band", "site_id", "distance_km", "boards"]].copy()
    out["pupils"] = np.round(p.loc[keep, "pupils"].to_numpy() * share[keep], 6)
    out = out.rename(columns={"site_id": "school_id"})
    out["distance_km"] = out["distance_km"].round(4)
    return out[list(ASSIGNMENT_COLUMNS)].sort_values(["village_id", "band", "school_id"]).reset_index(drop=True)


def former_catchments(problem: Problem) -> pd.DataFrame:
    """Village-bands and the existing school they are taken to attend today:
    the nearest (straight line) existing school whose current type teaches
    the band. Inputs carry enrolment per school, not per village, so this is
    the estimate mergers are read against."""
    schools = problem.schools
    rows = []
    for band in BANDS:
        teach = schools[schools["type_before"].isin(serving_types(problem, band))]
        vill = problem.villages[problem.villages[f"pupils_{band}"] > 0]
        if teach.empty or vill.empty:
            continue
        _, idx = cKDTree(teach[["x", "y"]].to_numpy()).query(vill[["x", "y"]].to_numpy())
        rows.append(pd.DataFrame({"village_id": vill.index, "band": band, "site_id": teach.index.to_numpy()[idx]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["village_id", "band", "site_id"])


def _merged_into(problem: Problem, assign: pd.DataFrame, after: pd.Series) -> pd.Series:
    """For each closed school: the open school that takes most of its former pupils."""
    former = former_catchments(problem).rename(columns={"site_id": "former"})
    moved = assign.merge(former, on=["village_id", "band"])
    moved = moved[moved["former"].map(after) == "closed"]
    if moved.empty:
        return pd.Series(dtype=object)
    tot = moved.groupby(["former", "school_id"])["pupils"].sum().reset_index()
    tot = tot.sort_values(["former", "pupils", "school_id"], ascending=[True, False, True])
    return tot.drop_duplicates("former").set_index("former")["school_id"]


def _action(before: str, after: str, kind: str, expanded: bool, merged: bool, campus: bool) -> str:
    if kind == "candidate":
        return "new"
    if campus:
        return "campus"
    if after == "closed":
        return "merge" if merged else "close"
    if after == before:
        return "expand" if expanded else "keep"
    return "upgrade" if (before, after) in UPGRADES else "downgrade"


def campus_hosts(m: Model, x: np.ndarray) -> pd.Series:
    """Each campus's host (``campus[s,h]`` at 1), by campus."""
    on = {s: h for (s, h), c in m.campus.items() if x[c] > 0.5}
    return pd.Series(on, dtype=object)


def _site_costs(problem: Problem, after: pd.Series, added: pd.DataFrame) -> pd.DataFrame:
    c, sites = problem.scenario.costs, problem.sites
    unit = {"teaching": c.teaching_yuan_per_m2, "living": c.living_yuan_per_m2, "sports": c.sports_yuan_per_m2}
    out = pd.DataFrame({k: added[f"{k}_area_added_m2"] * unit[k] / 1e4 for k in unit})
    new = (sites["kind"] == "candidate") & (after != "closed")
    out["new_build"] = np.where(new, after.map(c.new_build_10k_yuan).fillna(0.0), 0.0)
    out["land"] = np.where(new, sites["land_cost_10k_yuan"], 0.0)
    up = (sites["kind"] == "school") & np.array([priced_upgrade(b, a) for b, a in zip(sites["type_before"], after)])
    out["upgrade"] = np.where(up, c.upgrade_10k_yuan, 0.0)
    return out[list(CONSTRUCTION_COSTS)]


def _site_values(m: Model, x: np.ndarray, problem: Problem, after: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per site: the areas added (m²) and the classes, read from ``x``
    (without class caps in the model, today's classes at open schools)."""
    sites = problem.sites

    def value(keyed, key) -> float:
        c = keyed.get(key)
        return 0.0 if c is None else float(x[c])

    added = pd.DataFrame(
        {f"{k}_area_added_m2": [round(max(value(m.added, (s, k)), 0.0), 2) for s in sites.index] for k in AREA_KINDS},
        index=sites.index,
    )
    if not m.classes:
        return added, sites[["classes_primary", "classes_junior"]].where(after != "closed", 0).astype(int)
    classes = pd.DataFrame(
        {f"classes_{lv}": [round(value(m.classes, (s, lv))) for s in sites.index] for lv in LEVELS}, index=sites.index
    )
    return added, classes


def _identity(problem: Problem, after: pd.Series) -> pd.DataFrame:
    """The columns that say which site a row is, where, and its type before and after."""
    sites = problem.sites
    return pd.DataFrame(
        {
            "school_id": sites.index,
            "name": sites["name"],
            "township": sites["township"],
            "x": sites["x"].round(2),
            "y": sites["y"].round(2),
            "lon": sites["lon"].round(6),
            "lat": sites["lat"].round(6),
            "type_before": sites["type_before"],
            "type_after": after,
        }
    )


def decode(m: Model, problem: Problem, result: Solution, *, build_seconds: float = 0.0) -> Plan:
    """Turn a solution's values into a :class:`Plan`."""
    x = result.values
    sites = problem.sites
    after = _types_after(m, x, problem)
    assign = _assignments(m, x)
    enrol = assign.pivot_table(index="school_id", columns="band", values="pupils", aggfunc="sum")
    enrol = enrol.reindex(columns=list(BANDS)).reindex(sites.index).fillna(0.0)
    boarders = assign[assign["boards"]].groupby("school_id")["pupils"].sum().reindex(sites.index).fillna(0.0)
    added, classes = _site_values(m, x, problem, after)
    costs = _site_costs(problem, after, added)
    merged = _merged_into(problem, assign, after)
    inv = investment_table(m, x, problem, after, merged)
    if m.standards:
        costs = pd.concat([costs, investment_site_costs(inv, problem)], axis=1)
    expanded = (
        (added.sum(axis=1) > 0.005)
        | (classes["classes_primary"] > sites["classes_primary"])
        | (classes["classes_junior"] > sites["classes_junior"])
    )
    t = _identity(problem, after)
    t["merged_into"] = merged.reindex(sites.index).fillna("")
    t["campus_of"] = campus_hosts(m, x).reindex(sites.index).fillna("")
    t["action"] = [
        _action(b, a, k, e, bool(mi), bool(c))
        for b, a, k, e, mi, c in zip(
            sites["type_before"], after, sites["kind"], expanded, t["merged_into"], t["campus_of"]
        )
    ]
    t = pd.concat(
        [
            t,
            classes,
            enrol.rename(columns=lambda b: f"pupils_{b}").round(6),
            boarders.rename("boarders").round(6),
            added,
            costs.sum(axis=1).round(4).rename("cost_10k_yuan"),
            inv,
        ],
        axis=1,
    )
    keep = (sites["kind"] == "school") | (after != "closed")
    t = t[keep.to_numpy()][[*SCHOOL_COLUMNS, *INVESTMENT_COLUMNS]].reset_index(drop=True)
    t = pd.concat([t, school_columns(sites, t, problem.scenario)], axis=1)
    if problem.scenario.operating is not None:
        running = running_costs(problem.scenario, t["type_after"], t, t["boarders"])
        t["running_10k_yuan_per_year"] = running["total"].round(4).to_numpy()
    cost = {k: round(float(costs.loc[keep, k].sum()), 4) for k in costs.columns}
    projects = project_table(m, x, problem)
    if projects is not None:
        for k, v in projects[projects["built"]].groupby("category")["cost_10k_yuan"].sum().items():
            cost[str(k)] = round(cost.get(str(k), 0.0) + float(v), 4)
    cost["total"] = round(sum(cost.values()), 4)
    rows, cols = m.form.shape
    size = {"rows": rows, "columns": cols, "integers": int(m.form.integer.sum())}
    return Plan(result, t, assign, cost, build_seconds, size, projects=projects)


PROJECT_COLUMNS = ("name", "category", "cost_10k_yuan", "optional", "value", "built")


def project_table(m: Model, x: np.ndarray, problem: Problem) -> pd.DataFrame | None:
    """The scenario's projects, each built (a fixed one always, an optional one
    where ``project[name]`` is 1); ``None`` without projects."""
    projects = problem.scenario.projects
    if not projects:
        return None
    rows = [
        (p.name, p.category, p.cost_10k_yuan, p.optional, p.value, not p.optional or x[m.projects[p.name]] > 0.5)
        for p in projects
    ]
    return pd.DataFrame(rows, columns=list(PROJECT_COLUMNS))


def counts_by_type(types: pd.Series) -> dict[str, int]:
    """Open schools by type (closed excluded), every type present."""
    vc = types.value_counts()
    return {t: int(vc.get(t, 0)) for t in TYPES}
