"""The national standard, assessed: seven indicators per school and level,
the pass rule, the county's balance coefficients, music/art rooms and staffing.

Pure functions over two tables: ``sites`` (the problem's sites, with the
resource columns of the input, NaN where a file lacks them) and ``schools``
(the plan's schools table, or :func:`before_table` for today). Nothing here
reads model variables, so the same code assesses the county before and after.

Resources after the plan (:func:`resources_after`):

    stock + moved in - moved out + bought/hired/trained/built

The plan's schools table records every move. A closed school moves out all
its teachers and equipment: in a planned run they join the county pool and
the model redeploys them (交流轮岗, columns ``moved_in_*``); without planned
investments the rule is that they follow the pupils to the school the closed
one merged into (:func:`planner.assess.investments.investment_table`). Rooms and
floor areas stay where they are. A new school starts from nothing.

A nine-year school is a primary for its primary grades and a junior for its
junior grades; its resources are split between them by
``indicators.nine_year_split``: ``pupils`` (same per-pupil value for both
levels) or ``standard`` (each level gets what its standard asks, pro rata).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.config.scenario import Scenario
from planner.config.standards import (
    INDICATORS,
    MOVABLE,
    PER_100,
    RESOURCE,
    STOCK_COLUMNS,
    WHOLE_UNITS,
    per_pupil,
    standards,
    unit_cost_10k_yuan,
)
from planner.domain import LEVELS

EPS = 1e-6
"""Relative tolerance of "reached" (solver and rounding noise)."""


def before_table(sites: pd.DataFrame) -> pd.DataFrame:
    """Today's schools in the shape of a plan's schools table (no moves)."""
    s = sites[sites["kind"] == "school"]
    return pd.DataFrame(
        {
            "school_id": s.index,
            "type_after": s["type_before"].to_numpy(),
            **{
                c: s[c].to_numpy(float)
                for c in ("pupils_g1_3", "pupils_g4_6", "pupils_g7_9", "classes_primary", "classes_junior")
            },
        }
    )


def _col(schools: pd.DataFrame, name: str) -> np.ndarray:
    return schools[name].fillna(0.0).to_numpy(float) if name in schools.columns else np.zeros(len(schools))


def resources_after(sites: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Per school of ``schools`` (index ``school_id``): each resource after the
    plan's moves and investments. NaN where the input lacks the column.
    Candidate sites start from zero."""
    stock = sites.reindex(schools["school_id"].to_numpy())
    new = (stock["kind"] == "candidate").to_numpy()
    out = pd.DataFrame(index=pd.Index(schools["school_id"].to_numpy(), name="school_id"))
    for c in STOCK_COLUMNS:
        base = stock[c].to_numpy(float) if c in stock.columns else np.full(len(stock), np.nan)
        out[c] = np.where(new, 0.0, base)
    hired_q, hired_pe = _col(schools, "hired_qualified"), _col(schools, "hired_pe_art")
    for c in MOVABLE:
        out[c] += _col(schools, f"moved_in_{c}") - _col(schools, f"moved_out_{c}")
    out["teachers"] += hired_q + hired_pe
    out["teachers_qualified"] += hired_q  # a PE/art hire counts as PE/art only (no subject teacher in disguise)
    out["teachers_pe_art"] += hired_pe
    out["teachers_backbone"] += _col(schools, "trained_backbone")
    out["equipment_value_yuan"] += _col(schools, "equipment_bought_yuan")
    for c in ("multimedia_rooms", "music_rooms", "art_rooms"):
        out[c] += _col(schools, f"{c}_added")
    out["teaching_area_m2"] += _col(schools, "teaching_area_added_m2")
    out["sports_area_m2"] += _col(schools, "sports_area_added_m2")
    return out


def level_pupils(schools: pd.DataFrame) -> pd.DataFrame:
    """Pupils by level per school (index ``school_id``), zero at closed schools."""
    open_ = (schools["type_after"] != "closed").to_numpy()
    p = (_col(schools, "pupils_g1_3") + _col(schools, "pupils_g4_6")) * open_
    j = _col(schools, "pupils_g7_9") * open_
    return pd.DataFrame({"primary": p, "junior": j}, index=pd.Index(schools["school_id"].to_numpy(), name="school_id"))


def required_resource(k: str, pupils: pd.DataFrame, scen: Scenario) -> pd.Series:
    """What the standard of indicator ``k`` requires of each school as a whole,
    under the scenario's nine-year split: ``standard``: sum over levels of
    standard x pupils; ``pupils``: the strictest standard of the levels taught
    x all pupils (so each level's per-pupil value reaches its own standard)."""
    std = standards(scen)[k]
    need = sum(per_pupil(k, std[lv]) * pupils[lv] for lv in LEVELS)
    if scen.indicators.nine_year_split == "pupils":
        strict = pd.concat([pupils[lv].gt(0) * per_pupil(k, std[lv]) for lv in LEVELS], axis=1).max(axis=1)
        need = strict * pupils.sum(axis=1)
    return need


def level_table(sites: pd.DataFrame, schools: pd.DataFrame, scen: Scenario) -> pd.DataFrame:
    """One row per (open school, level taught): pupils, the seven values
    (per 100 pupils or per pupil), each value over its standard, the number
    reached and the pass status (``pass``, ``fail``, ``unknown``)."""
    res = resources_after(sites, schools)
    pupils = level_pupils(schools)
    std = standards(scen)
    total = pupils.sum(axis=1)
    rows = []
    for lv in LEVELS:
        n = pupils[lv]
        on = n > 0
        if not on.any():
            continue
        t = pd.DataFrame({"school_id": n.index[on], "level": lv, "pupils": n[on].to_numpy()})
        for k in INDICATORS:
            r = res.loc[on, RESOURCE[k]].to_numpy(float)
            if scen.indicators.nine_year_split == "pupils":
                share = n[on].to_numpy() / total[on].to_numpy()
            else:
                need = {x: per_pupil(k, std[k][x]) * pupils.loc[on, x].to_numpy() for x in LEVELS}
                share = need[lv] / (need["primary"] + need["junior"])
            value = r * share / n[on].to_numpy() * (100.0 if k in PER_100 else 1.0)
            t[k] = value
            t[f"{k}_ratio"] = value / std[k][lv]
        rows.append(t)
    if not rows:
        cols = ["school_id", "level", "pupils", *INDICATORS, *(f"{k}_ratio" for k in INDICATORS), "reached", "status"]
        return pd.DataFrame(columns=cols)
    out = pd.concat(rows, ignore_index=True)
    return out.assign(**_pass_rule(out, scen)).sort_values(["level", "school_id"], ignore_index=True)


def _pass_rule(t: pd.DataFrame, scen: Scenario) -> dict[str, pd.Series]:
    """At least ``pass_min_reached`` of 7 reached and none below
    ``pass_floor_share`` of its standard; ``unknown`` when a missing value could
    decide it."""
    ind = scen.indicators
    ratios = t[[f"{k}_ratio" for k in INDICATORS]]
    eps = EPS
    reached = (ratios >= 1 - eps).sum(axis=1)
    known = ratios.notna().sum(axis=1)
    below = ((ratios < 1 - eps) & ratios.notna()).sum(axis=1)
    too_low = (ratios < ind.pass_floor_share - eps).any(axis=1)
    allowed_below = len(INDICATORS) - ind.pass_min_reached
    fail = too_low | (below > allowed_below)
    status = np.where(fail, "fail", np.where(known < len(INDICATORS), "unknown", "pass"))
    return {"reached": reached, "status": pd.Series(status, index=t.index)}


def weighted_cv(x: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Pupil-weighted mean and coefficient of variation (national method):
    mean = sum(x n)/N, CV = sqrt(sum n (x - mean)^2 / N) / mean."""
    ok = ~np.isnan(x) & (n > 0)
    x, n = x[ok], n[ok]
    if n.sum() <= 0:
        return math.nan, math.nan
    mean = float((x * n).sum() / n.sum())
    sd = float(math.sqrt((n * (x - mean) ** 2).sum() / n.sum()))
    return mean, (sd / mean if mean > 0 else math.nan)


def _r(x: float, nd: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), nd)


def county_balance(levels: pd.DataFrame, scen: Scenario) -> dict:
    """Per level and indicator: standard, county value (pupil-weighted mean),
    CV, its limit, whether it holds, and schools reaching the standard."""
    std, lim = standards(scen), scen.indicators.cv_limit
    out: dict = {}
    for lv in LEVELS:
        t = levels[levels["level"] == lv]
        block = {}
        for k in INDICATORS:
            mean, cv = weighted_cv(t[k].to_numpy(float), t["pupils"].to_numpy(float))
            block[k] = {
                "standard": std[k][lv],
                "county_value": _r(mean),
                "cv": _r(cv),
                "cv_limit": lim[lv],
                "cv_ok": None if math.isnan(cv) else bool(cv <= lim[lv] + 1e-9),
                "schools_reaching": int((t[f"{k}_ratio"] >= 1 - EPS).sum()),
                "schools_unknown": int(t[k].isna().sum()),
                "schools": int(len(t)),
            }
        st = t["status"].value_counts()
        block["schools_passing"] = {
            "pass": int(st.get("pass", 0)),
            "fail": int(st.get("fail", 0)),
            "unknown": int(st.get("unknown", 0)),
            "of": int(len(t)),
        }
        out[lv] = block
    return out


def rooms_and_staff(sites: pd.DataFrame, schools: pd.DataFrame, scen: Scenario) -> pd.DataFrame:
    """Per open school: music/art rooms needed (one each per 12 classes,
    rounded up) and present; teachers required by the staffing norms
    (1 per 19 primary, 1 per 13.5 junior pupils) and present."""
    ind = scen.indicators
    res = resources_after(sites, schools)
    pupils = level_pupils(schools)
    classes = pd.Series(_col(schools, "classes_primary") + _col(schools, "classes_junior"), index=res.index)
    open_ = pd.Series((schools["type_after"] != "closed").to_numpy(), index=res.index)
    out = pd.DataFrame(
        {
            "rooms_needed": np.ceil(classes / ind.classes_per_room - 1e-9),
            "music_rooms": res["music_rooms"],
            "art_rooms": res["art_rooms"],
            "teachers_required": pupils["primary"] / ind.pupils_per_teacher["primary"]
            + pupils["junior"] / ind.pupils_per_teacher["junior"],
            "teachers": res["teachers"],
        }
    )
    out["rooms_ok"] = (out["music_rooms"] >= out["rooms_needed"]) & (out["art_rooms"] >= out["rooms_needed"])
    out["staff_ok"] = out["teachers"] >= out["teachers_required"] - 1e-6
    return out[open_.to_numpy()]


def shortfalls(sites: pd.DataFrame, schools: pd.DataFrame, scen: Scenario, *, tol: float = 1e-6) -> pd.DataFrame:
    """Every (open school, indicator) below its standard after the plan: the
    resource present and required, the gap (whole teachers and rooms rounded
    up) and the cost to close it at the unit cost. Also the staffing norm and
    the music/art rooms. Unknown resources are not shortfalls."""
    res = resources_after(sites, schools)
    pupils = level_pupils(schools)
    open_ = (schools["type_after"] != "closed").to_numpy() & (pupils.sum(axis=1) > 0).to_numpy()
    rs = rooms_and_staff(sites, schools, scen)
    have: dict[str, pd.Series] = {k: res[RESOURCE[k]] for k in INDICATORS}
    need: dict[str, pd.Series] = {k: required_resource(k, pupils, scen) for k in INDICATORS}
    have.update(staff=res["teachers"], music_rooms=res["music_rooms"], art_rooms=res["art_rooms"])
    need.update(
        staff=rs["teachers_required"].reindex(res.index),
        music_rooms=rs["rooms_needed"].reindex(res.index),
        art_rooms=rs["rooms_needed"].reindex(res.index),
    )
    unit = unit_cost_10k_yuan(scen)
    rows = []
    for k in (*INDICATORS, "staff", "music_rooms", "art_rooms"):
        gap = (need[k] - have[k]).to_numpy(float)
        hit = open_ & (gap > tol) & ~np.isnan(gap)
        for sid, g, h, r in zip(res.index[hit], gap[hit], have[k].to_numpy(float)[hit], need[k].to_numpy(float)[hit]):
            units = math.ceil(g - 1e-6) if k in WHOLE_UNITS else g
            rows.append(
                {
                    "school_id": sid,
                    "indicator": k,
                    "present": round(h, 3),
                    "required": round(r, 3),
                    "gap": round(units, 3),
                    "cost_to_close_10k_yuan": round(units * unit[k], 4),
                }
            )
    cols = ["school_id", "indicator", "present", "required", "gap", "cost_to_close_10k_yuan"]
    return pd.DataFrame(rows, columns=cols).sort_values(["school_id", "indicator"], ignore_index=True)


SCHOOL_INDICATOR_COLUMNS = (
    "teachers_after",
    "teachers_required",
    "music_rooms_after",
    "art_rooms_after",
    "rooms_needed",
    *(f"{k}_value" for k in INDICATORS),
    "indicators_reached",
    "standard_status",
)
"""Columns :func:`school_columns` adds to schools.csv."""


def school_columns(sites: pd.DataFrame, schools: pd.DataFrame, scen: Scenario) -> pd.DataFrame:
    """Per row of ``schools`` (same order): teachers and rooms after the plan
    against the norms, each indicator's value after the plan (the school's
    per-pupil or per-100 value, which under the ``pupils`` split is also each
    level's), the fewest indicators reached over its levels, and ``pass``,
    ``fail``, ``unknown`` or ``closed``."""
    lv = level_table(sites, schools, scen)
    res = resources_after(sites, schools)
    rs = rooms_and_staff(sites, schools, scen).reindex(res.index)
    total = level_pupils(schools).sum(axis=1)
    out = pd.DataFrame(index=res.index)
    out["teachers_after"] = res["teachers"]
    out["teachers_required"] = rs["teachers_required"].round(3)
    out["music_rooms_after"], out["art_rooms_after"] = res["music_rooms"], res["art_rooms"]
    out["rooms_needed"] = rs["rooms_needed"]
    for k in INDICATORS:
        v = res[RESOURCE[k]] / total.where(total > 0) * (100.0 if k in PER_100 else 1.0)
        out[f"{k}_value"] = v.round(4)
    g = lv.groupby("school_id")
    out["indicators_reached"] = g["reached"].min().reindex(res.index)
    order = {"fail": 0, "unknown": 1, "pass": 2}
    worst = g["status"].agg(lambda s: min(s, key=order.__getitem__)) if len(lv) else pd.Series(dtype=object)
    closed = (schools["type_after"] == "closed").to_numpy()
    out["standard_status"] = np.where(closed, "closed", worst.reindex(res.index).fillna("no_pupils").to_numpy())
    return out[list(SCHOOL_INDICATOR_COLUMNS)].reset_index(drop=True)


def assessment(sites: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame, scen: Scenario) -> dict:
    """summary.json's ``indicators`` block: per level and indicator the county
    value, CV, limit and schools reaching it, after and before the plan; the
    schools passing; rooms and staffing; whether everything holds."""
    lv_after, lv_before = level_table(sites, after, scen), level_table(sites, before, scen)
    bal_after, bal_before = county_balance(lv_after, scen), county_balance(lv_before, scen)
    for lv in LEVELS:
        for k in (*INDICATORS, "schools_passing"):
            b = bal_before[lv][k]
            bal_after[lv][k]["before"] = (
                {x: b[x] for x in ("county_value", "cv", "cv_ok", "schools_reaching", "schools")}
                if k != "schools_passing"
                else b
            )
    rs = rooms_and_staff(sites, after, scen)
    cv_ok = all(bal_after[lv][k]["cv_ok"] is not False for lv in LEVELS for k in INDICATORS)
    all_pass = bool((lv_after["status"] == "pass").all())
    return {
        "split": scen.indicators.nine_year_split,
        **bal_after,
        "rooms": {"schools_short": int((~rs["rooms_ok"]).sum()), "of": int(len(rs))},
        "staffing": {
            "teachers": _r(rs["teachers"].sum(), 2),
            "required": _r(rs["teachers_required"].sum(), 2),
            "schools_short": int((~rs["staff_ok"]).sum()),
            "of": int(len(rs)),
        },
        "all_schools_pass": all_pass,
        "all_cv_within_limit": bool(cv_ok),
    }


def shortfall_summary(short: pd.DataFrame) -> dict:
    """summary.json's ``shortfalls`` block: every gap and the cost to close them."""
    by_ind = short.groupby("indicator")["cost_to_close_10k_yuan"].sum()
    return {
        "count": int(len(short)),
        "schools": int(short["school_id"].nunique()),
        "cost_to_close_10k_yuan": round(float(short["cost_to_close_10k_yuan"].sum()), 4),
        "cost_to_close_by_indicator_10k_yuan": {k: round(float(v), 4) for k, v in by_ind.items()},
        "items": short.to_dict(orient="records"),
    }
