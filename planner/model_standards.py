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
:func:`balance_floors` finds the lowest floor F that, lifting every school
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

from planner import LEVELS
from planner.indicators import (INDICATORS, MOVABLE, PER_100, RESOURCE, level_table, per_pupil, standards,
                                unit_cost_10k_yuan, weighted_cv)
from planner.problem import Problem

TEACHER_CATS = ("teachers", "teachers_qualified", "teachers_backbone", "teachers_pe_art")
PLANNED = ("qualified", "backbone", "pe_art", "equipment", "multimedia")
"""Indicators whose resources the families here plan (areas are planned by ``add_areas``)."""

INVESTMENT_COLUMNS = (
    "hired_qualified", "hired_pe_art", "trained_backbone",
    *(f"moved_{d}_{c}" for c in MOVABLE for d in ("in", "out")),
    "equipment_bought_yuan", "multimedia_rooms_added", "music_rooms_added", "art_rooms_added",
)
"""Columns the decoder adds to the schools table."""

INVESTMENT_CATEGORIES = ("equipment", "multimedia", "rooms", "teachers")
"""Cost categories (10k yuan) added to the plan's cost."""


def _helpers():
    from planner import model as M

    return M._expr, M._open_by_site, M.level_pupils


def _stock(problem: Problem, col: str) -> pd.Series:
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


def _int(m, name: str, ub: float | None = None) -> pulp.LpVariable:
    return m.lp.add_variable(name, 0, ub, cat="Integer")


def _var(m, name: str, ub: float | None = None) -> pulp.LpVariable:
    return m.lp.add_variable(name, 0, ub)


def add_investment_variables(m, problem: Problem) -> list[str]:
    """Create the per-site investment variables in ``m.standards``; return the sites."""
    ids = sorted(m.open["site_id"].unique())
    for s in ids:
        for name in ("hired_qualified", "hired_pe_art", "trained_backbone", "multimedia_added",
                     "music_rooms_added", "art_rooms_added"):
            m.standards[(s, name)] = _int(m, f"{name}[{s}]")
        for c in TEACHER_CATS:
            m.standards[(s, f"in_{c}")] = _int(m, f"moved_in[{s},{c}]")
            stock = float(np.nan_to_num(_stock_at(problem, c, s)))
            if stock > 0:
                m.standards[(s, f"out_{c}")] = _int(m, f"moved_out[{s},{c}]", stock)
        m.standards[(s, "equipment_bought")] = _var(m, f"equipment_bought[{s}]")
        m.standards[(s, "equipment_in")] = _var(m, f"equipment_in[{s}]")
        e = float(np.nan_to_num(_stock_at(problem, "equipment_value_yuan", s))) / 1e4
        if e > 0 and "closed" in problem.sites.at[s, "allowed"]:
            m.standards[(s, "equipment_out")] = _var(m, f"equipment_out[{s}]", e)
    return ids


def _v(m, s: str, name: str):
    return m.standards.get((s, name), 0.0)


def resource_expr(m, problem: Problem, s: str, k: str):
    """A planned resource at site ``s`` after the plan (teachers, 10k yuan or
    rooms); ``None`` when the input lacks the resource (indicator unknown)."""
    col = {"staff": "teachers", "music_rooms": "music_rooms", "art_rooms": "art_rooms"}.get(k, RESOURCE.get(k))
    stock = _stock_at(problem, col, s)
    if np.isnan(stock):
        return None
    if k == "equipment":
        return stock / 1e4 + _v(m, s, "equipment_in") - _v(m, s, "equipment_out") + _v(m, s, "equipment_bought")
    if k in ("multimedia", "music_rooms", "art_rooms"):
        return stock + _v(m, s, f"{'multimedia' if k == 'multimedia' else k}_added")
    hires = {"staff": ("hired_qualified", "hired_pe_art"), "qualified": ("hired_qualified",),
             "pe_art": ("hired_pe_art",), "backbone": ("trained_backbone",)}[k]
    return stock + _v(m, s, f"in_{col}") - _v(m, s, f"out_{col}") + pulp.lpSum(_v(m, s, h) for h in hires)


def _short(m, s: str, k: str) -> pulp.LpVariable | float:
    """The priced shortfall of indicator ``k`` at ``s`` (0 when shortfalls are not allowed)."""
    if not m.allow_shortfalls:
        return 0.0
    key = (s, f"short_{k}")
    if key not in m.standards:
        m.standards[key] = _var(m, f"short[{s},{k}]")
    return m.standards[key]


def add_area_shortfalls(m) -> None:
    """``teaching_area[s]`` and ``sports_area[s]`` (the rows of ``add_areas``)
    take the shortfall ``short[s,teaching_area]`` / ``short[s,sports_area]``:
    a budget below the floor-area standards then gives a plan that keeps the
    cheapest gaps and reports them, not no plan. The dormitory row
    (``living_area``) stays hard: a boarder needs a bed."""
    if not m.allow_shortfalls:
        return
    for name, c in m.rows.items():
        fam, _, rest = name.partition("[")
        if fam in ("teaching_area", "sports_area"):
            c.expr.addterm(_short(m, rest[:-1], fam), 1.0)


def add_closure_moves(m, problem: Problem, ids: list[str]) -> None:
    """``close_out[s,c]``: a closing school moves out all its teachers and
    equipment (equipment moves only then; teachers also rotate between open
    schools); ``staff_link[s,c]``: headcount moves cover every category
    move; ``open_in[s,*]``: nothing arrives at a closed site; ``staff_pool[c]``
    and ``equipment_pool``: what leaves is placed."""
    _expr, _open_by_site, _ = _helpers()
    opens = _open_by_site(m)
    for s in ids:
        may_close = "closed" in problem.sites.at[s, "allowed"]
        for c in (*TEACHER_CATS, "equipment_value_yuan"):
            key = "equipment_out" if c == "equipment_value_yuan" else f"out_{c}"
            if may_close and (s, key) in m.standards:
                out = m.standards[(s, key)]
                stock = float(_stock_at(problem, c, s)) / (1e4 if key == "equipment_out" else 1.0)
                closing = stock - stock * _expr(opens[s])
                m.add("close_out", (s, c), out == closing if key == "equipment_out" else out >= closing)
        for c in TEACHER_CATS[1:]:
            m.add("staff_link_in", (s, c), m.standards[(s, "in_teachers")] >= m.standards[(s, f"in_{c}")])
            if (s, f"out_{c}") in m.standards:
                m.add("staff_link_out", (s, c), _v(m, s, "out_teachers") >= m.standards[(s, f"out_{c}")])
    big_t = float(np.nansum(_stock(problem, "teachers"))) + 10_000.0
    big_e = float(np.nansum(_stock(problem, "equipment_value_yuan"))) / 1e4
    for s in ids:
        if "closed" in problem.sites.at[s, "allowed"]:
            arrive = m.standards[(s, "in_teachers")] + m.standards[(s, "hired_qualified")] + m.standards[(s, "hired_pe_art")]
            m.add("open_in", (s, "teachers"), arrive <= big_t * _expr(opens[s]))
            m.add("open_in", (s, "equipment"), m.standards[(s, "equipment_in")] <= big_e * _expr(opens[s]))
    for c in TEACHER_CATS:
        m.add("staff_pool", (c,), pulp.lpSum(_v(m, s, f"in_{c}") for s in ids)
              == pulp.lpSum(_v(m, s, f"out_{c}") for s in ids))
    m.add("equipment_pool", (), pulp.lpSum(_v(m, s, "equipment_in") for s in ids)
          <= pulp.lpSum(_v(m, s, "equipment_out") for s in ids))


def add_indicator_floors(m, problem: Problem, ids: list[str], floors: dict | None = None) -> None:
    """``standard[s,k]``: resource + shortfall >= standard x pupils by level,
    for the five planned indicators and the staffing norm (1 per 19 / 13.5);
    ``standard_nine[s,k]``: at a nine-year school under the ``pupils`` split,
    the stricter standard for all pupils (big-M on ``open[s,nine_year]``).
    ``floors`` (indicator -> level -> factor >= 1) raises a floor for balance."""
    _expr, _, level_pupils = _helpers()
    scen = problem.scenario
    ind = scen.indicators
    std = standards(scen)
    pupils = {lv: level_pupils(m, lv) for lv in LEVELS}
    reach = m.pairs.drop_duplicates(["village_id", "band", "site_id"]).groupby("site_id")["pupils"].sum()
    nine = m.open[m.open["type"] == "nine_year"].set_index("site_id")["var"]
    per = {k: {lv: per_pupil(k, std[k][lv]) * (floors or {}).get(k, {}).get(lv, 1.0) for lv in LEVELS} for k in PLANNED}
    per["staff"] = {lv: 1.0 / ind.pupils_per_teacher[lv] for lv in LEVELS}
    per["equipment"] = {lv: v / 1e4 for lv, v in per["equipment"].items()}
    for s in ids:
        if not any(s in pupils[lv] for lv in LEVELS):
            continue
        for k, rate in per.items():
            have = resource_expr(m, problem, s, k)
            if have is None:
                continue
            need = pulp.lpSum(rate[lv] * pupils[lv][s] for lv in LEVELS if s in pupils[lv])
            m.add("standard", (s, k), have + _short(m, s, k) >= need)
            if ind.nine_year_split == "pupils" and s in nine.index and rate["primary"] != rate["junior"]:
                top = max(rate.values())
                big = abs(rate["junior"] - rate["primary"]) * float(reach.get(s, 0.0))
                both = pulp.lpSum(pupils[lv][s] for lv in LEVELS if s in pupils[lv])
                m.add("standard_nine", (s, k), have + _short(m, s, k) >= top * both - big + big * nine[s])
    _area_nine_rows(m, problem, ids, pupils, reach, nine)
    _area_balance_rows(m, problem, ids, pupils, floors or {})


def _area_balance_rows(m, problem: Problem, ids: list[str], pupils: dict, floors: dict) -> None:
    """``area_balance[s,kind]``: a floor area raised above its standard for
    balance (``add_areas`` holds the standard itself)."""
    st = problem.scenario.standards
    for kind, rate in (("teaching", st.teaching_area_m2_per_pupil), ("sports", st.sports_area_m2_per_pupil)):
        f = floors.get(f"{kind}_area", {})
        if not f or not m.added:
            continue
        for s in ids:
            if (s, kind) not in m.added or not any(s in pupils[lv] for lv in LEVELS):
                continue
            need = pulp.lpSum(rate[lv] * f.get(lv, 1.0) * pupils[lv][s] for lv in LEVELS if s in pupils[lv])
            have = float(problem.sites.at[s, f"{kind}_area_m2"]) + m.added[(s, kind)]
            m.add("area_balance", (s, kind), have + _short(m, s, f"{kind}_area") >= need)


def _area_nine_rows(m, problem: Problem, ids: list[str], pupils: dict, reach: pd.Series, nine: pd.Series) -> None:
    """``area_nine[s,kind]``: the stricter area standard for all pupils of a
    nine-year school under the ``pupils`` split (``add_areas`` holds the rest)."""
    st = problem.scenario.standards
    if problem.scenario.indicators.nine_year_split != "pupils" or not m.added:
        return
    for kind, rate in (("teaching", st.teaching_area_m2_per_pupil), ("sports", st.sports_area_m2_per_pupil)):
        for s in ids:
            if s not in nine.index or (s, kind) not in m.added or rate["primary"] == rate["junior"]:
                continue
            top, big = max(rate.values()), abs(rate["junior"] - rate["primary"]) * float(reach.get(s, 0.0))
            both = pulp.lpSum(pupils[lv][s] for lv in LEVELS if s in pupils[lv])
            have = float(problem.sites.at[s, f"{kind}_area_m2"]) + m.added[(s, kind)]
            m.add("area_nine", (s, kind), have + _short(m, s, f"{kind}_area") >= top * both - big + big * nine[s])


def add_rooms(m, problem: Problem, ids: list[str]) -> None:
    """``music_rooms[s]``, ``art_rooms[s]``: one of each per 12 classes (rooms
    are whole, so this is ceil(classes / 12))."""
    ind = problem.scenario.indicators
    for s in ids:
        cs = [m.classes[(s, lv)] for lv in LEVELS if (s, lv) in m.classes]
        if cs:
            for k in ("music_rooms", "art_rooms"):
                have = resource_expr(m, problem, s, k)
                if have is not None:
                    m.add(k, (s,), have + _short(m, s, k) >= pulp.lpSum(cs) * (1.0 / ind.classes_per_room))


def add_staff_quota(m, problem: Problem, ids: list[str]) -> None:
    """``max_hires``: hires within the scenario's cap; ``staff_total``: the
    county's teachers after the plan within its quota (编制)."""
    ind = problem.scenario.indicators
    hires = pulp.lpSum(_v(m, s, h) for s in ids for h in ("hired_qualified", "hired_pe_art"))
    if ind.max_hires is not None:
        m.add("max_hires", (), hires <= ind.max_hires)
    if ind.staff_total is not None:
        now = float(np.nansum(_stock(problem, "teachers")))
        m.add("staff_total", (), hires <= ind.staff_total - now)


def investment_costs(m, problem: Problem, ids: list[str]) -> dict[str, pulp.LpAffineExpression]:
    """Cost of the investments by category (10k yuan)."""
    ic = problem.scenario.indicators.costs
    return {
        "equipment": pulp.lpSum(_v(m, s, "equipment_bought") for s in ids),
        "multimedia": ic.multimedia_room_10k_yuan * pulp.lpSum(_v(m, s, "multimedia_added") for s in ids),
        "rooms": pulp.lpSum(ic.music_room_10k_yuan * _v(m, s, "music_rooms_added")
                            + ic.art_room_10k_yuan * _v(m, s, "art_rooms_added") for s in ids),
        "teachers": pulp.lpSum(ic.hire_10k_yuan["qualified"] * _v(m, s, "hired_qualified")
                               + ic.hire_10k_yuan["pe_art"] * _v(m, s, "hired_pe_art")
                               + ic.backbone_training_10k_yuan * _v(m, s, "trained_backbone")
                               + ic.transfer_10k_yuan * _v(m, s, "in_teachers") for s in ids),
    }


def add_standard_investments(m, problem: Problem, floors: dict | None = None) -> None:
    """Every family above, in order, and the investment costs into ``m.cost``
    (call after ``cost_expressions`` and before ``add_budget``)."""
    if not (problem.scenario.indicators.enabled and problem.scenario.standards.enabled) or m.open.empty:
        return
    m.allow_shortfalls = problem.scenario.indicators.allow_shortfalls
    ids = add_investment_variables(m, problem)
    add_area_shortfalls(m)
    add_closure_moves(m, problem, ids)
    add_indicator_floors(m, problem, ids, floors)
    add_rooms(m, problem, ids)
    add_staff_quota(m, problem, ids)
    m.cost.update(investment_costs(m, problem, ids))


def add_shortfall_penalty(m, problem: Problem) -> None:
    """Objective += each shortfall x its unit cost x the penalty weight (call
    after ``set_objective``)."""
    w = problem.scenario.indicators.shortfall_penalty_per_10k_yuan
    unit = unit_cost_10k_yuan(problem.scenario)
    unit["equipment"] = 1.0  # the equipment rows are in 10k yuan
    terms = [(v, w * unit[name[6:]]) for (s, name), v in sorted(m.standards.items()) if name.startswith("short_")]
    if terms:
        m.lp.setObjective(m.lp.objective + pulp.LpAffineExpression(terms))


def _cv_with_floor(x: np.ndarray, n: np.ndarray, floor: float) -> float:
    return weighted_cv(np.maximum(x, floor), n)[1]


def balance_floors(sites: pd.DataFrame, schools: pd.DataFrame, scen, *, margin: float = 0.02) -> dict[str, dict[str, float]]:
    """Raised floors (indicator -> level -> factor over the standard) for every
    indicator whose assessed CV exceeds its limit d: the lowest floor F such
    that lifting every school below F to F, with today's pupils, brings the CV
    to d x (1 - margin) (bisection; the CV falls as F rises to the largest
    value, where it is 0). Pupils move when the model is re-solved, so the
    next round's assessment decides."""
    lt = level_table(sites, schools, scen)
    std = standards(scen)
    out: dict[str, dict[str, float]] = {}
    for lv in LEVELS:
        target = scen.indicators.cv_limit[lv] * (1 - margin)
        t = lt[lt["level"] == lv]
        for k in (*PLANNED, "teaching_area", "sports_area"):
            x, n = t[k].to_numpy(float), t["pupils"].to_numpy(float)
            ok = ~np.isnan(x)
            x, n = x[ok], n[ok]
            if not len(x) or not weighted_cv(x, n)[1] > scen.indicators.cv_limit[lv]:
                continue
            lo, hi = float(x.min()), float(x.max())
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (lo, mid) if _cv_with_floor(x, n, mid) <= target else (mid, hi)
            out.setdefault(k, {})[lv] = max(1.0, hi / std[k][lv])
    return out


def _num(m, s: str, name: str) -> float:
    v = m.standards.get((s, name))
    x = None if v is None else v.value()
    return 0.0 if x is None else float(x)


def investment_table(m, problem: Problem, after: pd.Series, merged: pd.Series) -> pd.DataFrame:
    """Per site (index ``site_id``): the investments and moves of the plan
    (whole teachers and rooms, equipment in yuan). Without planned
    investments the rule for closures applies: a closed school's teachers and
    equipment follow its pupils to the school it merged into."""
    sites = problem.sites
    out = pd.DataFrame(0.0, index=sites.index, columns=list(INVESTMENT_COLUMNS))
    if m.standards:
        for s in sites.index:
            for name in ("hired_qualified", "hired_pe_art", "trained_backbone", "music_rooms_added", "art_rooms_added"):
                out.at[s, name] = round(_num(m, s, name))
            out.at[s, "multimedia_rooms_added"] = round(_num(m, s, "multimedia_added"))
            for c in TEACHER_CATS:
                out.at[s, f"moved_in_{c}"] = round(_num(m, s, f"in_{c}"))
                out.at[s, f"moved_out_{c}"] = round(_num(m, s, f"out_{c}"))
            out.at[s, "equipment_bought_yuan"] = round(_num(m, s, "equipment_bought") * 1e4, 2)
            out.at[s, "moved_in_equipment_value_yuan"] = round(_num(m, s, "equipment_in") * 1e4, 2)
            out.at[s, "moved_out_equipment_value_yuan"] = round(_num(m, s, "equipment_out") * 1e4, 2)
        return out
    closed = (after == "closed") & (sites["kind"] == "school")
    for c in MOVABLE:
        stock = _stock(problem, c).where(closed, 0.0).fillna(0.0)
        out[f"moved_out_{c}"] = stock
        dest = merged.reindex(sites.index)
        moved = stock[dest.notna() & (dest != "")].groupby(dest).sum()
        out[f"moved_in_{c}"] = moved.reindex(sites.index).fillna(0.0)
    return out


def investment_site_costs(inv: pd.DataFrame, problem: Problem) -> pd.DataFrame:
    """Per site: cost of its investments by category (10k yuan), from the decoded table."""
    ic = problem.scenario.indicators.costs
    return pd.DataFrame({
        "equipment": inv["equipment_bought_yuan"] / 1e4,
        "multimedia": ic.multimedia_room_10k_yuan * inv["multimedia_rooms_added"],
        "rooms": ic.music_room_10k_yuan * inv["music_rooms_added"] + ic.art_room_10k_yuan * inv["art_rooms_added"],
        "teachers": ic.hire_10k_yuan["qualified"] * inv["hired_qualified"] + ic.hire_10k_yuan["pe_art"] * inv["hired_pe_art"]
        + ic.backbone_training_10k_yuan * inv["trained_backbone"] + ic.transfer_10k_yuan * inv["moved_in_teachers"],
    }, index=inv.index)


__all__ = ["INVESTMENT_COLUMNS", "INVESTMENT_CATEGORIES", "add_standard_investments", "add_shortfall_penalty",
           "balance_floors", "PER_100", "INDICATORS"]
