"""What a plan costs (10k yuan) by category, the budget rows, and the objective."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pulp

from planner.data.problem import Problem
from planner.domain import BANDS, LEVELS, priced_upgrade
from planner.model.core import Builder, expr
from planner.model.variables import pupil_sums


def cost_expressions(
    b: Builder, problem: Problem, before: Mapping[tuple[str, str], pulp.LpVariable] | None = None
) -> dict[str, pulp.LpAffineExpression]:
    """Cost of building works by category: areas at unit cost, lump sums for
    new builds and upgrades, land for opened candidate sites. In a phase's
    block, ``before`` holds the previous phase's ``open`` by (site, type): a
    change is priced in the phase it is made (open now, not before)."""
    c, sites = problem.scenario.costs, problem.sites
    unit = {"teaching": c.teaching_yuan_per_m2, "living": c.living_yuan_per_m2, "sports": c.sports_yuan_per_m2}
    out = {k: expr([v for (_, kk), v in b.added.items() if kk == k], unit[k] / 1e4) for k in unit}
    kind = b.open["site_id"].map(sites["kind"])
    type_before = b.open["site_id"].map(sites["type_before"])
    upgrade = [k == "school" and priced_upgrade(bt, t) for k, bt, t in zip(kind, type_before, b.open["type"])]
    new = b.open[kind == "candidate"]
    up = b.open[upgrade]
    priced = {
        "new_build": (new, new["type"].map(c.new_build_10k_yuan).astype(float).to_numpy()),
        "land": (new, new["site_id"].map(sites["land_cost_10k_yuan"]).astype(float).to_numpy()),
        "upgrade": (up, c.upgrade_10k_yuan),
    }
    was = before or {}
    for k, (rows, coef) in priced.items():
        coefs = np.broadcast_to(np.asarray(coef, dtype=float), (len(rows),))
        out[k] = expr(rows["var"], coefs)
        for key, cf in zip(zip(rows["site_id"], rows["type"]), coefs):
            if key in was:
                out[k] -= float(cf) * was[key]
    return out


def add_projects(b: Builder, problem: Problem) -> None:
    """Projects outside the sites in their cost categories: a fixed one's cost
    a constant, an optional one's ``project[name]`` (binary, 1: built) times it."""
    for p in problem.scenario.projects:
        term = p.cost_10k_yuan
        if p.optional:
            term = p.cost_10k_yuan * (y := b.var("project", (p.name,), upper=1.0, integer=True))
            b.projects[p.name] = y
        b.cost[p.category] = b.cost.get(p.category, pulp.LpAffineExpression()) + term


def add_operating(b: Builder, problem: Problem) -> None:
    """With ``operating.in_objective``: ``funds_top_up[s]`` (10k yuan a year),
    the public funds a village primary or teaching point gets for the pupils it
    lacks under ``min_funded_pupils``; these and the boarders' costs enter the
    objective ``horizon_years`` times at ``per_10k_yuan`` (call after
    :func:`set_objective`). Per-pupil funds and salaries by the norm are the
    same for every layout (every pupil is placed somewhere), so left out."""
    op = problem.scenario.operating
    if op is None or not op.in_objective:
        return
    rate = op.funds_yuan_per_pupil["primary"] / 1e4
    floored = b.open[b.open["type"].isin(op.floored_types)]
    everyone = None if b.enrol else pupil_sums(b, b.pairs["pupils"] >= 0)  # no enrol columns in a p-median
    terms = []
    for s, grp in floored.groupby("site_id", sort=True):
        if everyone is None:
            pupils = pulp.lpSum(b.enrol[(s, lv)] for lv in LEVELS if (s, lv) in b.enrol)
        else:
            pupils = everyone.get(s, pulp.LpAffineExpression())
        y = b.var("funds_top_up", (s,), site=s)
        b.add("funds_top_up", (s,), y >= rate * (op.min_funded_pupils * pulp.lpSum(grp["var"]) - pupils))
        terms.append(y)
    boarders = b.boarders.values() if b.boarders else pupil_sums(b, b.pairs["boards"]).values()
    boarding = pulp.lpSum(boarders) * (op.boarding_yuan_per_boarder / 1e4)
    b.objective += problem.scenario.objective.per_10k_yuan * op.horizon_years * (pulp.lpSum(terms) + boarding)


def add_budget(b: Builder, problem: Problem) -> None:
    """``budget_total``: the costs the budget covers <= budget (``budget.covers``);
    ``budget_category[k]``: per category."""
    budget = problem.scenario.budget
    if budget.total_10k_yuan is not None:
        b.add(
            "budget_total", (), pulp.lpSum(e for k, e in b.cost.items() if budget.covered(k)) <= budget.total_10k_yuan
        )
    for k, limit in sorted(budget.by_category_10k_yuan.items()):
        b.add("budget_category", (k,), b.cost.get(k, 0) <= limit)


def set_objective(b: Builder, problem: Problem) -> None:
    """Pupil-km + weight x cost + weights x boarders by band + weight x pupils
    moved from their current school - the value of the optional projects built
    + the campuses' penalty (all in pupil-km equivalents)."""
    w = problem.scenario.objective
    p = b.pairs
    coef = w.pupil_km * p["pupils"] * p["distance_km"]
    coef = coef + p["boards"] * p["pupils"] * p["band"].map(w.per_boarder).fillna(0.0)
    b.objective_terms = [(p["pos"].to_numpy(np.int64), coef.to_numpy(float))]
    obj = pulp.LpAffineExpression()
    if w.per_10k_yuan:
        obj += w.per_10k_yuan * pulp.lpSum(b.cost.values())
    if w.per_pupil_moved:
        obj += w.per_pupil_moved * moved_pupils(b, problem)
    value = {p.name: p.value for p in problem.scenario.projects}
    obj -= pulp.lpSum(value[name] * y for name, y in b.projects.items())
    cc = problem.scenario.campuses
    if cc is not None and cc.penalty:
        obj += cc.penalty * pulp.lpSum(b.campus.values())
    b.objective = obj


def moved_pupils(b: Builder, problem: Problem) -> pulp.LpAffineExpression:
    """``moved[s,band] >= enrolled now - enrolled after``: a lower bound on
    the pupils who must change school."""
    terms = []
    for band in BANDS:
        now = problem.schools[f"pupils_{band}"]
        after = pupil_sums(b, b.pairs["band"] == band)
        for s, n in now[now > 0].items():
            mv = b.moved[(s, band)] = b.var("moved", (s, band), site=s)
            b.add("moved", (s, band), mv >= float(n) - after.get(s, pulp.LpAffineExpression()))
            terms.append(mv)
    return pulp.lpSum(terms)
