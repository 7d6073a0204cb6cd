"""The model's families for the national standard beyond floor areas: staff,
equipment, multimedia classrooms, music and art rooms (STANDARDS.md).

Per site (never per pair, so the model grows by a few dozen columns a site):

- ``hired_qualified[s]``, ``hired_pe_art[s]`` (integer): new teachers; a
  qualified hire counts towards indicator 1, a PE/art hire towards indicator 3
  only (so PE/art hires never stand in for subject teachers), both towards
  the headcount and the staffing norm; ``trained_backbone[s]``
  (integer): teachers trained to county-level backbone (no new headcount);
- ``moved_in[s,c]``, ``moved_out[s,c]`` (integer) for c in teachers (headcount),
  qualified, backbone, PE/art: transfers through a county pool (交流轮岗);
  every teacher moved out is placed somewhere (``staff_pool[c]``). A closing
  school moves out all its teachers (``close_out``), so the pool redeploys them;
- ``equipment_bought[s]``, ``equipment_in[s]``, ``equipment_out[s]`` (10k yuan):
  equipment bought at its value; a closing school's equipment joins the pool
  and may be redeployed (``equipment_pool``);
- ``multimedia_added[s]``, ``music_rooms_added[s]``, ``art_rooms_added[s]``
  (integer). A music (96 m²) or art (90 m²) room is made within the teaching
  floor area: its m² count into the teaching area, whose per-pupil standard
  (``add_areas``) already includes special rooms, so it costs a conversion
  and fit-out per room, not new floor.

Standards are linear because pupils are: ``resource >= standard x pupils``.
The floor-area rows of ``add_areas`` (teaching, sports ground) take the same
kind of shortfall (``add_area_shortfalls``); ``indicators.allow_shortfalls:
false`` makes every standard hard again.
Each such row carries a shortfall variable (``short[s,k]``, in the resource's
unit) priced in the objective at its unit cost x
``shortfall_penalty_per_10k_yuan``: when the budget allows, no shortfall is
cheaper than any; when it does not, the plan keeps the gaps that cost least to
close and reports them. A nine-year school under the ``pupils`` split must
reach the stricter (junior) standard for all its pupils: a second row per
indicator, switched on by ``open[s,nine_year]`` with a big-M.

Balance (CV <= 0.50 / 0.45). The CV is not linear, but it falls when low
values are lifted: if every school's value x_i lies in [L, U] with mean m, the
pupil-weighted variance is at most (m - L)(U - m) (Bhatia-Davis), so raising
L towards m shrinks the bound to 0. Floors at the standard already lift the
low tail. When an indicator's assessed CV still exceeds its limit d,
:func:`planner.assess.balance.balance_floors` finds the lowest floor F that, lifting every school
below F with the plan's pupils, brings the CV to 0.98 d (the CV is
recomputed exactly for each trial F, bisection), and the pipeline re-solves
with ``resource >= F x pupils`` (at most ``indicators.balance_rounds``
solves). The high tail is not capped: floor area and rooms cannot be taken
away. Because pupils may move in the re-solve, the assessment of the final
round, not this argument, says whether the CV holds, and summary.json
reports it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pulp

from planner.config.standards import (
    MOVABLE,
    PLANNED,
    RESOURCE,
    TEACHER_CATEGORIES,
    per_pupil,
    standards,
    unit_cost_10k_yuan,
)
from planner.data.problem import Problem
from planner.domain import LEVELS
from planner.model.core import Builder, expr
from planner.model.variables import level_pupils, open_by_site

INVESTMENT_COLUMNS = (
    "hired_qualified",
    "hired_pe_art",
    "trained_backbone",
    *(f"moved_{d}_{c}" for c in MOVABLE for d in ("in", "out")),
    "equipment_bought_yuan",
    "multimedia_rooms_added",
    "music_rooms_added",
    "art_rooms_added",
)
"""Columns the decoder adds to the schools table."""


def stock_of(problem: Problem, col: str) -> pd.Series:
    """A resource today; zero at candidate sites, NaN where the input lacks it."""
    s = problem.sites
    v = s[col].astype(float) if col in s.columns else pd.Series(np.nan, index=s.index)
    return v.where(s["kind"] == "school", 0.0)


def _stock_at(problem: Problem, col: str, s: str) -> float:
    """:func:`_stock` of one site (a scalar lookup: called per site)."""
    sites = problem.sites
    if sites.at[s, "kind"] != "school":
        return 0.0
    return float(sites.at[s, col]) if col in sites.columns else float("nan")


def add_investment_variables(b: Builder, problem: Problem) -> list[str]:
    """Create the per-site investment variables in ``b.standards``; return the sites."""
    ids = sorted(b.open["site_id"].unique())
    for s in ids:
        for name in (
            "hired_qualified",
            "hired_pe_art",
            "trained_backbone",
            "multimedia_added",
            "music_rooms_added",
            "art_rooms_added",
        ):
            b.standards[(s, name)] = b.var(name, (s,), integer=True, site=s)
        for c in TEACHER_CATEGORIES:
            b.standards[(s, f"in_{c}")] = b.var("moved_in", (s, c), integer=True, site=s)
            stock = float(np.nan_to_num(_stock_at(problem, c, s)))
            if stock > 0:
                b.standards[(s, f"out_{c}")] = b.var("moved_out", (s, c), upper=stock, integer=True, site=s)
        b.standards[(s, "equipment_bought")] = b.var("equipment_bought", (s,), site=s)
        b.standards[(s, "equipment_in")] = b.var("equipment_in", (s,), site=s)
        e = float(np.nan_to_num(_stock_at(problem, "equipment_value_yuan", s))) / 1e4
        if e > 0 and "closed" in problem.sites.at[s, "allowed"]:
            b.standards[(s, "equipment_out")] = b.var("equipment_out", (s,), upper=e, site=s)
    return ids


def _v(b: Builder, s: str, name: str):
    return b.standards.get((s, name), 0.0)


def resource_expr(b: Builder, problem: Problem, s: str, k: str):
    """A planned resource at site ``s`` after the plan (teachers, 10k yuan or
    rooms); ``None`` when the input lacks the resource (indicator unknown)."""
    col = {"staff": "teachers", "music_rooms": "music_rooms", "art_rooms": "art_rooms"}.get(k) or RESOURCE[k]
    stock = _stock_at(problem, col, s)
    if np.isnan(stock):
        return None
    if k == "equipment":
        return stock / 1e4 + _v(b, s, "equipment_in") - _v(b, s, "equipment_out") + _v(b, s, "equipment_bought")
    if k in ("multimedia", "music_rooms", "art_rooms"):
        return stock + _v(b, s, f"{'multimedia' if k == 'multimedia' else k}_added")
    hires = {
        "staff": ("hired_qualified", "hired_pe_art"),
        "qualified": ("hired_qualified",),
        "pe_art": ("hired_pe_art",),
        "backbone": ("trained_backbone",),
    }[k]
    return stock + _v(b, s, f"in_{col}") - _v(b, s, f"out_{col}") + pulp.lpSum(_v(b, s, h) for h in hires)


def _short(b: Builder, s: str, k: str) -> pulp.LpVariable | float:
    """The priced shortfall of indicator ``k`` at ``s`` (0 when shortfalls are not allowed)."""
    if not b.allow_shortfalls:
        return 0.0
    key = (s, f"short_{k}")
    if key not in b.standards:
        b.standards[key] = b.var("short", (s, k), site=s)
    return b.standards[key]


def add_area_shortfalls(b: Builder) -> None:
    """``teaching_area[s]`` and ``sports_area[s]`` (the rows of ``add_areas``)
    take the shortfall ``short[s,teaching_area]`` / ``short[s,sports_area]``:
    a budget below the floor-area standards then gives a plan that keeps the
    cheapest gaps and reports them, not no plan. The dormitory row
    (``living_area``) stays hard: a boarder needs a bed."""
    if not b.allow_shortfalls:
        return
    for fam in ("teaching_area", "sports_area"):
        for (s,), c in b.rows_of(fam).items():
            c.expr.addterm(_short(b, s, fam), 1.0)


def add_closure_moves(b: Builder, problem: Problem, ids: list[str]) -> None:
    """``close_out[s,c]``: a closing school moves out all its teachers and
    equipment (equipment moves only then; teachers also rotate between open
    schools); ``staff_link[s,c]``: headcount moves cover every category
    move; ``open_in[s,*]``: nothing arrives at a closed site; ``staff_pool[c]``
    and ``equipment_pool``: what leaves is placed."""
    opens = open_by_site(b)
    for s in ids:
        may_close = "closed" in problem.sites.at[s, "allowed"]
        for c in (*TEACHER_CATEGORIES, "equipment_value_yuan"):
            key = "equipment_out" if c == "equipment_value_yuan" else f"out_{c}"
            if may_close and (s, key) in b.standards:
                out = b.standards[(s, key)]
                stock = float(_stock_at(problem, c, s)) / (1e4 if key == "equipment_out" else 1.0)
                closing = stock - stock * expr(opens[s])
                b.add("close_out", (s, c), out == closing if key == "equipment_out" else out >= closing)
        for c in TEACHER_CATEGORIES[1:]:
            b.add("staff_link_in", (s, c), b.standards[(s, "in_teachers")] >= b.standards[(s, f"in_{c}")])
            if (s, f"out_{c}") in b.standards:
                b.add("staff_link_out", (s, c), _v(b, s, "out_teachers") >= b.standards[(s, f"out_{c}")])
    big_t = float(np.nansum(stock_of(problem, "teachers"))) + 10_000.0
    big_e = float(np.nansum(stock_of(problem, "equipment_value_yuan"))) / 1e4
    for s in ids:
        if "closed" in problem.sites.at[s, "allowed"]:
            arrive = (
                b.standards[(s, "in_teachers")] + b.standards[(s, "hired_qualified")] + b.standards[(s, "hired_pe_art")]
            )
            b.add("open_in", (s, "teachers"), arrive <= big_t * expr(opens[s]))
            b.add("open_in", (s, "equipment"), b.standards[(s, "equipment_in")] <= big_e * expr(opens[s]))
    for c in TEACHER_CATEGORIES:
        b.add(
            "staff_pool",
            (c,),
            pulp.lpSum(_v(b, s, f"in_{c}") for s in ids) == pulp.lpSum(_v(b, s, f"out_{c}") for s in ids),
        )
    b.add(
        "equipment_pool",
        (),
        pulp.lpSum(_v(b, s, "equipment_in") for s in ids) <= pulp.lpSum(_v(b, s, "equipment_out") for s in ids),
    )


def add_indicator_floors(b: Builder, problem: Problem, ids: list[str], floors: dict | None = None) -> None:
    """``standard[s,k]``: resource + shortfall >= standard x pupils by level,
    for the five planned indicators and the staffing norm (1 per 19 / 13.5);
    ``standard_nine[s,k]``: at a nine-year school under the ``pupils`` split,
    the stricter standard for all pupils (big-M on ``open[s,nine_year]``).
    ``floors`` (indicator -> level -> factor >= 1) raises a floor for balance."""
    scen = problem.scenario
    ind = scen.indicators
    std = standards(scen)
    pupils = {lv: level_pupils(b, lv) for lv in LEVELS}
    reach = b.pairs.drop_duplicates(["village_id", "band", "site_id"]).groupby("site_id")["pupils"].sum()
    nine = b.open[b.open["type"] == "nine_year"].set_index("site_id")["var"]
    per = {k: {lv: per_pupil(k, std[k][lv]) * (floors or {}).get(k, {}).get(lv, 1.0) for lv in LEVELS} for k in PLANNED}
    per["staff"] = {lv: 1.0 / ind.pupils_per_teacher[lv] for lv in LEVELS}
    per["equipment"] = {lv: v / 1e4 for lv, v in per["equipment"].items()}
    for s in ids:
        if not any(s in pupils[lv] for lv in LEVELS):
            continue
        for k, rate in per.items():
            have = resource_expr(b, problem, s, k)
            if have is None:
                continue
            need = pulp.lpSum(rate[lv] * pupils[lv][s] for lv in LEVELS if s in pupils[lv])
            b.add("standard", (s, k), have + _short(b, s, k) >= need)
            if ind.nine_year_split == "pupils" and s in nine.index and rate["primary"] != rate["junior"]:
                top = max(rate.values())
                big = abs(rate["junior"] - rate["primary"]) * float(reach.get(s, 0.0))
                both = pulp.lpSum(pupils[lv][s] for lv in LEVELS if s in pupils[lv])
                b.add("standard_nine", (s, k), have + _short(b, s, k) >= top * both - big + big * nine[s])
    _area_nine_rows(b, problem, ids, pupils, reach, nine)
    _area_balance_rows(b, problem, ids, pupils, floors or {})


def _area_balance_rows(b: Builder, problem: Problem, ids: list[str], pupils: dict, floors: dict) -> None:
    """``area_balance[s,kind]``: a floor area raised above its standard for
    balance (``add_areas`` holds the standard itself)."""
    st = problem.scenario.standards
    for kind, rate in (("teaching", st.teaching_area_m2_per_pupil), ("sports", st.sports_area_m2_per_pupil)):
        f = floors.get(f"{kind}_area", {})
        if not f or not b.added:
            continue
        for s in ids:
            if (s, kind) not in b.added or not any(s in pupils[lv] for lv in LEVELS):
                continue
            need = pulp.lpSum(rate[lv] * f.get(lv, 1.0) * pupils[lv][s] for lv in LEVELS if s in pupils[lv])
            have = float(problem.sites.at[s, f"{kind}_area_m2"]) + b.added[(s, kind)]
            b.add("area_balance", (s, kind), have + _short(b, s, f"{kind}_area") >= need)


def _area_nine_rows(
    b: Builder, problem: Problem, ids: list[str], pupils: dict, reach: pd.Series, nine: pd.Series
) -> None:
    """``area_nine[s,kind]``: the stricter area standard for all pupils of a
    nine-year school under the ``pupils`` split (``add_areas`` holds the rest)."""
    st = problem.scenario.standards
    if problem.scenario.indicators.nine_year_split != "pupils" or not b.added:
        return
    for kind, rate in (("teaching", st.teaching_area_m2_per_pupil), ("sports", st.sports_area_m2_per_pupil)):
        for s in ids:
            if s not in nine.index or (s, kind) not in b.added or rate["primary"] == rate["junior"]:
                continue
            top, big = max(rate.values()), abs(rate["junior"] - rate["primary"]) * float(reach.get(s, 0.0))
            both = pulp.lpSum(pupils[lv][s] for lv in LEVELS if s in pupils[lv])
            have = float(problem.sites.at[s, f"{kind}_area_m2"]) + b.added[(s, kind)]
            b.add("area_nine", (s, kind), have + _short(b, s, f"{kind}_area") >= top * both - big + big * nine[s])


def add_rooms(b: Builder, problem: Problem, ids: list[str]) -> None:
    """``music_rooms[s]``, ``art_rooms[s]``: one of each per 12 classes (rooms
    are whole, so this is ceil(classes / 12))."""
    ind = problem.scenario.indicators
    for s in ids:
        cs = [b.classes[(s, lv)] for lv in LEVELS if (s, lv) in b.classes]
        if cs:
            for k in ("music_rooms", "art_rooms"):
                have = resource_expr(b, problem, s, k)
                if have is not None:
                    b.add(k, (s,), have + _short(b, s, k) >= pulp.lpSum(cs) * (1.0 / ind.classes_per_room))


def add_staff_quota(b: Builder, problem: Problem, ids: list[str]) -> None:
    """``max_hires``: hires within the scenario's cap; ``staff_total``: the
    county's teachers after the plan within its quota (编制)."""
    ind = problem.scenario.indicators
    hires = pulp.lpSum(_v(b, s, h) for s in ids for h in ("hired_qualified", "hired_pe_art"))
    if ind.max_hires is not None:
        b.add("max_hires", (), hires <= ind.max_hires)
    if ind.staff_total is not None:
        now = float(np.nansum(stock_of(problem, "teachers")))
        b.add("staff_total", (), hires <= ind.staff_total - now)


def investment_costs(b: Builder, problem: Problem, ids: list[str]) -> dict[str, pulp.LpAffineExpression]:
    """Cost of the investments by category (10k yuan)."""
    ic = problem.scenario.indicators.costs
    return {
        "equipment": pulp.lpSum(_v(b, s, "equipment_bought") for s in ids),
        "multimedia": ic.multimedia_room_10k_yuan * pulp.lpSum(_v(b, s, "multimedia_added") for s in ids),
        "rooms": pulp.lpSum(
            ic.music_room_10k_yuan * _v(b, s, "music_rooms_added") + ic.art_room_10k_yuan * _v(b, s, "art_rooms_added")
            for s in ids
        ),
        "teachers": pulp.lpSum(
            ic.hire_10k_yuan["qualified"] * _v(b, s, "hired_qualified")
            + ic.hire_10k_yuan["pe_art"] * _v(b, s, "hired_pe_art")
            + ic.backbone_training_10k_yuan * _v(b, s, "trained_backbone")
            + ic.transfer_10k_yuan * _v(b, s, "in_teachers")
            for s in ids
        ),
    }


def add_standard_investments(b: Builder, problem: Problem, floors: dict | None = None) -> None:
    """Every family above, in order, and the investment costs into ``b.cost``
    (call after ``cost_expressions`` and before ``add_budget``)."""
    if not (problem.scenario.indicators.enabled and problem.scenario.standards.enabled) or b.open.empty:
        return
    b.allow_shortfalls = problem.scenario.indicators.allow_shortfalls
    ids = add_investment_variables(b, problem)
    add_area_shortfalls(b)
    add_closure_moves(b, problem, ids)
    add_indicator_floors(b, problem, ids, floors)
    add_rooms(b, problem, ids)
    add_staff_quota(b, problem, ids)
    b.cost.update(investment_costs(b, problem, ids))


def add_shortfall_penalty(b: Builder, problem: Problem) -> None:
    """Objective += each shortfall x its unit cost x the penalty weight (call
    after ``set_objective``)."""
    w = problem.scenario.indicators.shortfall_penalty_per_10k_yuan
    unit = unit_cost_10k_yuan(problem.scenario)
    unit["equipment"] = 1.0  # the equipment rows are in 10k yuan
    terms = [(v, w * unit[name[6:]]) for (s, name), v in sorted(b.standards.items()) if name.startswith("short_")]
    if terms:
        b.objective = b.objective + pulp.LpAffineExpression(terms)
