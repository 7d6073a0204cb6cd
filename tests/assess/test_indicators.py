"""The national standard, assessed: known answers and an independent recomputation.

:func:`recompute` re-derives every indicator, pass status, CV and shortfall
from the run folder's schools.csv and summary.json and the input GeoPackage,
with pandas and pyogrio only: it imports nothing from ``planner``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from tests.factory import make_case, school, village

STD = {  # STANDARDS.md: indicator -> (column, primary, junior, per 100 pupils?)
    "qualified": ("teachers_qualified", 4.2, 5.3, True),
    "backbone": ("teachers_backbone", 1.0, 1.0, True),
    "pe_art": ("teachers_pe_art", 0.9, 0.9, True),
    "teaching_area": ("teaching_area_m2", 4.5, 5.8, False),
    "sports_area": ("sports_area_m2", 7.5, 10.2, False),
    "equipment": ("equipment_value_yuan", 2000, 2500, False),
    "multimedia": ("multimedia_rooms", 2.3, 2.4, True),
}
CV_LIMIT = {"primary": 0.50, "junior": 0.45}


def _after(folder: Path) -> pd.DataFrame:
    """Each school's resources after the plan: stock + moves + investments."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    gpkg = Path(manifest["scenario_files"][-1]).parent / manifest["scenario"]["data"]["gpkg"]
    stock = pd.DataFrame(pyogrio.read_dataframe(gpkg, layer="schools").drop(columns="geometry")).set_index("school_id")
    s = pd.read_csv(folder / "schools.csv", dtype={"school_id": str}).set_index("school_id")
    r = pd.DataFrame(index=s.index)
    for c in (
        "teachers",
        "teachers_qualified",
        "teachers_backbone",
        "teachers_pe_art",
        "equipment_value_yuan",
        "multimedia_rooms",
        "music_rooms",
        "art_rooms",
        "teaching_area_m2",
        "sports_area_m2",
    ):
        r[c] = stock[c].reindex(s.index).fillna(0.0).astype(float)  # a new site starts from nothing
    for c in ("teachers", "teachers_qualified", "teachers_backbone", "teachers_pe_art", "equipment_value_yuan"):
        r[c] += s[f"moved_in_{c}"] - s[f"moved_out_{c}"]
    hires = s["hired_qualified"] + s["hired_pe_art"]
    r["teachers"] += hires
    r["teachers_qualified"] += s["hired_qualified"]
    r["teachers_pe_art"] += s["hired_pe_art"]
    r["teachers_backbone"] += s["trained_backbone"]
    r["equipment_value_yuan"] += s["equipment_bought_yuan"]
    for c in ("multimedia_rooms", "music_rooms", "art_rooms"):
        r[c] += s[f"{c}_added"]
    r["teaching_area_m2"] += s["teaching_area_added_m2"]
    r["sports_area_m2"] += s["sports_area_added_m2"]
    r["primary"] = np.where(s["type_after"] != "closed", s["pupils_g1_3"] + s["pupils_g4_6"], 0.0)
    r["junior"] = np.where(s["type_after"] != "closed", s["pupils_g7_9"], 0.0)
    r["classes"] = s["classes_primary"] + s["classes_junior"]
    return r


def recompute(folder: Path) -> dict:
    """Per school: values (pupils split), pass status; per level: CV; shortfalls."""
    r = _after(folder)
    n = r["primary"] + r["junior"]
    rows = []
    for sid, x in r[n > 0].iterrows():
        ratios = {}
        for k, (col, sp, sj, per100) in STD.items():
            value = x[col] / (x["primary"] + x["junior"]) * (100 if per100 else 1)
            ratios[k] = {lv: value / (sp if lv == "primary" else sj) for lv in ("primary", "junior") if x[lv] > 0}
            rows += [(sid, lv, k, value, x[lv]) for lv in ratios[k]]
        status = []
        for lv in ("primary", "junior"):
            if x[lv] > 0:
                rs = [ratios[k][lv] for k in STD]
                below = sum(q < 1 - 1e-6 for q in rs)
                status.append("pass" if below <= 1 and min(rs) >= 0.85 - 1e-6 else "fail")
        r.loc[sid, "status"] = "fail" if "fail" in status else "pass"
    t = pd.DataFrame(rows, columns=["school_id", "level", "k", "value", "pupils"])
    cv = {}
    for (lv, k), g in t.groupby(["level", "k"]):
        mean = (g["value"] * g["pupils"]).sum() / g["pupils"].sum()
        sd = math.sqrt((g["pupils"] * (g["value"] - mean) ** 2).sum() / g["pupils"].sum())
        cv[(lv, k)] = (mean, sd / mean)
    return {"after": r, "values": t, "cv": cv}


def _case(tmp_path: Path, budget: float | None = None) -> Path:
    """Two villages, a primary A and a nine-year B, both below several standards."""
    a = school(
        "A",
        0,
        0,
        "primary",
        classes_primary=2,
        teaching_area_m2=400,
        sports_area_m2=600,
        teachers=4,
        teachers_qualified=3,
        teachers_backbone=0,
        teachers_pe_art=0,
        equipment_value_yuan=100000,
        multimedia_rooms=1,
    )
    b = school(
        "B",
        2,
        0,
        "nine_year",
        classes_primary=2,
        classes_junior=2,
        teaching_area_m2=900,
        sports_area_m2=1500,
        teachers=12,
        teachers_qualified=10,
        teachers_backbone=2,
        teachers_pe_art=1,
        equipment_value_yuan=280000,
        multimedia_rooms=3,
        music_rooms=1,
        art_rooms=1,
    )
    scen = {"solver": {"threads": 1}, "policy": {"moves": {"primary": ["primary"], "nine_year": ["nine_year"]}}}
    if budget is not None:
        scen["budget"] = {"total_10k_yuan": budget}
    return make_case(tmp_path, [village("V1", 0, 0, 40, 40, 0), village("V2", 2, 0, 30, 30, 60)], [a, b], scenario=scen)


def test_known_answers_of_the_pass_rule():
    """6 of 7 reached and the 7th at >= 85 % passes; at 80 %, or two short, fails."""
    from planner.assess.indicators import INDICATORS, _pass_rule
    from planner.config.scenario import Scenario

    scen = Scenario(name="t", data={"gpkg": "x.gpkg"})
    base = {f"{k}_ratio": 1.0 for k in INDICATORS}
    t = pd.DataFrame(
        [
            base,
            {**base, "equipment_ratio": 0.90},
            {**base, "equipment_ratio": 0.80},
            {**base, "equipment_ratio": 0.95, "multimedia_ratio": 0.95},
            {**base, "backbone_ratio": np.nan},
        ]
    )
    got = _pass_rule(t, scen)
    assert list(got["status"]) == ["pass", "pass", "fail", "fail", "unknown"]
    assert list(got["reached"]) == [7, 6, 6, 5, 6]


def test_weighted_cv_known_answer():
    """Values 1 and 3 with 3 and 1 pupils: mean 1.5, sd sqrt(0.75), CV 0.57735."""
    from planner.assess.indicators import weighted_cv

    mean, cv = weighted_cv(np.array([1.0, 3.0]), np.array([3.0, 1.0]))
    assert mean == pytest.approx(1.5)
    assert cv == pytest.approx(math.sqrt(0.75) / 1.5)


def test_plan_passes_and_assessment_recomputes(tmp_path, solve_to_folder):
    """With money enough, every open school passes and the CVs hold; every
    figure of schools.csv and summary.json matches the recomputation."""
    _, folder = solve_to_folder(_case(tmp_path))
    rec = recompute(folder)
    s = pd.read_csv(folder / "schools.csv", dtype={"school_id": str}).set_index("school_id")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert (rec["after"]["status"] == "pass").all()
    assert list(s["standard_status"]) == ["pass", "pass"]
    for k in STD:
        v = rec["values"]
        got = v[v["k"] == k].drop_duplicates("school_id").set_index("school_id")["value"]
        assert s[f"{k}_value"].to_numpy() == pytest.approx(got.reindex(s.index).to_numpy(), abs=1e-3)
    for (lv, k), (mean, cv) in rec["cv"].items():
        block = summary["indicators"][lv][k]
        assert block["county_value"] == pytest.approx(mean, abs=1e-3)
        assert block["cv"] == pytest.approx(cv, abs=1e-3)
        assert block["cv_ok"] == (cv <= CV_LIMIT[lv])
    assert summary["indicators"]["all_schools_pass"] and summary["indicators"]["all_cv_within_limit"]
    assert summary["shortfalls"]["count"] == 0
    # B has 4 classes and 1 music room: A needs its first of each (ceil(2/12) = 1)
    assert (rec["after"]["music_rooms"] >= np.ceil(rec["after"]["classes"] / 12)).all()
    # the staffing norm: 1 teacher per 19 primary, 1 per 13.5 junior pupils
    after = rec["after"]
    assert (after["teachers"] >= after["primary"] / 19 + after["junior"] / 13.5 - 1e-6).all()
    # the plan's cost is what it bought, at the scenario's unit costs
    bought = (s["equipment_bought_yuan"].sum() / 1e4, 5.0 * s["multimedia_rooms_added"].sum())
    assert summary["cost_10k_yuan"]["equipment"] == pytest.approx(bought[0], abs=1e-3)
    assert summary["cost_10k_yuan"]["multimedia"] == pytest.approx(bought[1], abs=1e-3)


def test_nine_year_school_meets_the_junior_standard_for_all_pupils(tmp_path, solve_to_folder):
    """Under the pupils split B (60 primary, 60 junior pupils) needs 5.3 per
    100 qualified teachers for all 120 pupils: ceil(6.36) = 7; it has 10, so
    it needs no hire; and 2500 yuan of equipment for each of the 120 pupils
    (300,000, where the standard split would ask 270,000 and it has 280,000)."""
    _, folder = solve_to_folder(_case(tmp_path))
    after = recompute(folder)["after"]
    assert after.loc["B", "equipment_value_yuan"] >= 2500 * 120 - 1e-3
    assert after.loc["B", "multimedia_rooms"] >= math.ceil(2.4 * 120 / 100)


def test_budget_cut_reports_exactly_what_falls_short(tmp_path, solve_to_folder):
    """With 10 (10k yuan) the plan cannot close every gap: summary.json lists
    each gap and its cost to close, recomputed from the run folder."""
    _, folder = solve_to_folder(_case(tmp_path, budget=10.0))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    rec = recompute(folder)
    after = rec["after"]
    unit = {
        "qualified": 1.0,
        "backbone": 2.0,
        "pe_art": 1.0,
        "multimedia": 5.0,
        "equipment": 1e-4,
        "teaching_area": 3001 / 1e4,
        "sports_area": 491 / 1e4,
    }
    expect = []
    for sid, x in after[after["primary"] + after["junior"] > 0].iterrows():
        n = x["primary"] + x["junior"]
        for k, (col, sp, sj, per100) in STD.items():
            std = max(sp if x["primary"] > 0 else 0, sj if x["junior"] > 0 else 0) / (100 if per100 else 1)
            gap = std * n - x[col]
            if gap > 1e-6:
                units = math.ceil(gap - 1e-6) if per100 else gap
                expect.append((sid, k, round(units * unit[k], 3)))
        staff_gap = x["primary"] / 19 + x["junior"] / 13.5 - x["teachers"]
        if staff_gap > 1e-6:
            expect.append((sid, "staff", math.ceil(staff_gap - 1e-6) * 1.0))
        for k, cost in (("music_rooms", 15.0), ("art_rooms", 8.0)):
            gap = math.ceil(x["classes"] / 12 - 1e-9) - x[k]
            if gap > 0:
                expect.append((sid, k, gap * cost))
    got = [
        (i["school_id"], i["indicator"], round(i["cost_to_close_10k_yuan"], 3)) for i in summary["shortfalls"]["items"]
    ]
    assert summary["cost_10k_yuan"]["total"] <= 10.0 + 1e-6
    assert expect, "the cut budget should leave a gap"
    assert [g[:2] for g in sorted(got)] == [e[:2] for e in sorted(expect)]
    assert [g[2] for g in sorted(got)] == pytest.approx([e[2] for e in sorted(expect)], abs=1e-3)
    assert summary["shortfalls"]["cost_to_close_10k_yuan"] == pytest.approx(sum(e[2] for e in expect), abs=1e-3)
    s = pd.read_csv(folder / "schools.csv", dtype={"school_id": str}).set_index("school_id")
    for sid in s.index:
        assert s.loc[sid, "standard_status"] == rec["after"].loc[sid, "status"]
    assert summary["indicators"]["all_schools_pass"] == (rec["after"]["status"] == "pass").all()


def test_standard_sheet_in_the_workbook(tmp_path, solve_to_folder):
    """plan.xlsx carries the 达标情况 sheet: one row per open school and level,
    the seven values as recomputed, and 达标 for a passing school."""
    from planner.outputs.workbook import write_workbook

    run, folder = solve_to_folder(_case(tmp_path))
    write_workbook(run.problem, run.plan, run.summary, folder)
    sheet = pd.read_excel(folder / "plan.xlsx", sheet_name="达标情况", dtype={"学校代码": str})
    v = recompute(folder)["values"]
    assert len(sheet) == len(v.drop_duplicates(["school_id", "level"]))  # A primary; B primary and junior
    assert set(sheet["是否达标"]) == {"达标"}
    eq = v[v["k"] == "equipment"].set_index(["school_id", "level"])["value"]
    lv = {"小学": "primary", "初中": "junior"}
    for r in sheet.itertuples(index=False):
        assert r[sheet.columns.get_loc("生均教学仪器设备值(元)")] == pytest.approx(eq[(r[0], lv[r[3]])], abs=1e-2)
    schools = pd.read_csv(folder / "schools.csv", dtype={"school_id": str}).set_index("school_id")
    zh = {"teaching_point": "教学点", "primary": "完全小学", "junior": "初级中学", "nine_year": "九年一贯制学校"}
    assert sheet["规划后类型"].tolist() == [zh[schools.at[s, "type_after"]] for s in sheet["学校代码"]]
