"""The model's families for staff, equipment and rooms: structure without
solving, then closures, the county staff quota and the fallback rule, each
checked from the run folder's schools.csv and the input layer."""

from __future__ import annotations

import json

import pandas as pd
import pyogrio
import pytest

from planner.data.load import load_problem
from planner.data.travel import attach_distances
from planner.model import build_model
from tests.factory import make_case, school, village

MOVABLE = ("teachers", "teachers_qualified", "teachers_backbone", "teachers_pe_art", "equipment_value_yuan")


def _two_primaries(tmp_path, extra: dict | None = None):
    """A and B 1 km apart; the target keeps one primary, so one closes."""
    a = school(
        "A",
        0,
        0,
        "primary",
        classes_primary=2,
        teaching_area_m2=300,
        sports_area_m2=500,
        teachers=6,
        teachers_qualified=4,
        teachers_backbone=1,
        teachers_pe_art=1,
        equipment_value_yuan=150000,
        multimedia_rooms=2,
        music_rooms=1,
        art_rooms=1,
    )
    b = school(
        "B",
        1,
        0,
        "primary",
        classes_primary=2,
        teaching_area_m2=900,
        sports_area_m2=1500,
        teachers=5,
        teachers_qualified=3,
        teachers_backbone=0,
        teachers_pe_art=0,
        equipment_value_yuan=80000,
        multimedia_rooms=1,
        music_rooms=1,
        art_rooms=1,
    )
    scen = {
        "targets": {"primary": 1},
        "solver": {"threads": 1},
        "policy": {"moves": {"primary": ["primary", "closed"]}},
        **(extra or {}),
    }
    return make_case(tmp_path, [village("V1", 0, 0, 40, 40), village("V2", 1, 0, 30, 30)], [a, b], scenario=scen)


def _read(folder):
    s = pd.read_csv(folder / "schools.csv", dtype={"school_id": str}).set_index("school_id")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return s, summary


def test_families_are_per_site_only(tmp_path):
    """Rows and columns grow by a fixed number per site, never per pair."""
    path = _two_primaries(tmp_path)
    problem = attach_distances(load_problem(path))
    on = build_model(problem)
    off = build_model(
        attach_distances(load_problem(_two_primaries(tmp_path / "off", {"indicators": {"enabled": False}})))
    )
    sizes = on.family_sizes()
    assert sizes["standard"] == 2 * 6  # two sites x (5 planned indicators + staffing norm)
    assert sizes["staff_pool"] == 4 and sizes["equipment_pool"] == 1
    assert sizes["close_out"] == 5 + 3  # A: 4 teacher categories + equipment; B has no backbone, PE/art
    assert sizes["music_rooms"] == sizes["art_rooms"] == 2
    assert "standard" not in off.family_sizes()
    grown = on.form.shape[1] - off.form.shape[1]
    assert 0 < grown <= 30 * len(problem.sites)


def test_closed_school_staff_and_equipment_are_redeployed(tmp_path, solve_to_folder):
    """The closed school moves out all it has; every teacher moved out is
    placed; equipment placed never exceeds what was released."""
    _, folder = solve_to_folder(_two_primaries(tmp_path))
    s, summary = _read(folder)
    stock = pyogrio.read_dataframe(tmp_path / "case.gpkg", layer="schools").set_index("school_id")
    closed = s.index[s["type_after"] == "closed"]
    assert len(closed) == 1
    for c in MOVABLE:
        assert s.loc[closed[0], f"moved_out_{c}"] == pytest.approx(float(stock.loc[closed[0], c]))
    for c in MOVABLE[:4]:
        assert s[f"moved_in_{c}"].sum() == pytest.approx(s[f"moved_out_{c}"].sum())
    assert s["moved_in_equipment_value_yuan"].sum() <= s["moved_out_equipment_value_yuan"].sum() + 1e-6
    assert summary["indicators"]["all_schools_pass"]


def test_staff_quota_stops_hiring(tmp_path, solve_to_folder):
    """With the quota at today's 11 teachers nobody is hired: the open school
    gets the closed one's staff, and what they cannot cover is reported."""
    _, folder = solve_to_folder(_two_primaries(tmp_path, {"indicators": {"staff_total": 11}}))
    s, summary = _read(folder)
    assert s["hired_qualified"].sum() + s["hired_pe_art"].sum() == 0
    open_ = s[s["type_after"] != "closed"].iloc[0]
    assert open_["teachers_after"] == 11  # every teacher of the county, none hired
    # 140 pupils need ceil(0.9 x 1.4) = 2 PE/art teachers; the county has 1 and may not hire
    items = [(i["school_id"], i["indicator"], i["gap"]) for i in summary["shortfalls"]["items"]]
    assert (open_.name, "pe_art", 1) in items


def test_without_planned_investments_staff_follow_the_pupils(tmp_path, solve_to_folder):
    """indicators.enabled false: no investment, and a closed school's teachers
    and equipment go to the school it merged into."""
    _, folder = solve_to_folder(_two_primaries(tmp_path, {"indicators": {"enabled": False}}))
    s, summary = _read(folder)
    assert "equipment" not in summary["cost_10k_yuan"]
    closed = s[s["type_after"] == "closed"].iloc[0]
    dest = closed["merged_into"]
    for c in MOVABLE:
        assert s.loc[dest, f"moved_in_{c}"] == pytest.approx(closed[f"moved_out_{c}"])
        assert closed[f"moved_out_{c}"] > 0
    assert s["hired_qualified"].sum() == 0 and s["equipment_bought_yuan"].sum() == 0
    assert s.loc[dest, "teachers_after"] == 11


def test_balance_rounds_bring_the_cv_within_its_limit(tmp_path, solve_to_folder):
    """A is equipped at 20x the standard, B at the standard: floors alone leave
    the equipment CV at 0.90 > 0.50; the re-solve lifts B until it holds.
    The CV is recomputed here from schools.csv and the input layer."""
    a = school(
        "A",
        0,
        0,
        "primary",
        classes_primary=2,
        teaching_area_m2=500,
        sports_area_m2=800,
        teachers=6,
        teachers_qualified=5,
        teachers_backbone=1,
        teachers_pe_art=1,
        equipment_value_yuan=2_000_000,
        multimedia_rooms=3,
        music_rooms=1,
        art_rooms=1,
    )
    b = {**a, "school_id": "B", "name": "B学校", "x": 30, "equipment_value_yuan": 100_000}
    scen = {"solver": {"threads": 1}, "policy": {"moves": {"primary": ["primary"]}}}
    path = make_case(tmp_path, [village("V1", 0, 0, 25, 25), village("V2", 30, 0, 25, 25)], [a, b], scenario=scen)
    _, folder = solve_to_folder(path)
    s, summary = _read(folder)
    stock = pyogrio.read_dataframe(tmp_path / "case.gpkg", layer="schools").set_index("school_id")
    value = (
        stock["equipment_value_yuan"]
        + s["equipment_bought_yuan"]
        + s["moved_in_equipment_value_yuan"]
        - s["moved_out_equipment_value_yuan"]
    ) / 50.0
    mean = value.mean()  # equal pupils: the pupil-weighted mean is the plain mean
    cv = float(((value - mean) ** 2).mean() ** 0.5 / mean)
    assert cv <= 0.50
    assert summary["indicators"]["primary"]["equipment"]["cv"] == pytest.approx(cv, abs=1e-3)
    assert summary["indicators"]["primary"]["equipment"]["before"]["cv"] is None  # no pupils enrolled today
    assert s.loc["B", "equipment_bought_yuan"] > 2000 * 50  # lifted beyond the standard, for balance


def _short_of_area(tmp_path, budget: float, extra: dict | None = None, equipment_yuan: float = 500000):
    """One primary of 100 pupils with no floor area at all; only the teaching
    and sports areas cost money (every other resource is already there)."""
    a = school(
        "A",
        0,
        0,
        "primary",
        classes_primary=3,
        teaching_area_m2=0,
        sports_area_m2=0,
        teachers=20,
        teachers_qualified=10,
        teachers_backbone=3,
        teachers_pe_art=3,
        equipment_value_yuan=equipment_yuan,
        multimedia_rooms=5,
        music_rooms=1,
        art_rooms=1,
    )
    scen = {
        "solver": {"threads": 1},
        "budget": {"total_10k_yuan": budget},
        "objective": {"per_10k_yuan": 0.0},
        **(extra or {}),
    }
    return make_case(tmp_path, [village("V1", 0, 0, 50, 50)], [a], scenario=scen)


NEED_10K_YUAN = (4.5 * 3001 + 7.5 * 491) * 100 / 1e4
"""What the standards of 100 primary pupils cost from nothing (teaching and sports ground)."""


def test_a_budget_below_the_standard_leaves_gaps_that_cost_the_difference(tmp_path, solve_to_folder):
    """Budget 60 of the 171.9 the areas need: the plan spends the 60 and
    reports gaps whose cost to close is exactly the rest; the checker accepts
    the areas below standard because they are reported."""
    from tests.checker import check_run

    run, folder = solve_to_folder(_short_of_area(tmp_path, 60.0))
    s, summary = _read(folder)
    assert summary["cost_budgeted_10k_yuan"] == pytest.approx(60.0, abs=1e-3)
    short = summary["shortfalls"]
    assert set(short["cost_to_close_by_indicator_10k_yuan"]) <= {"teaching_area", "sports_area"}
    assert short["cost_to_close_10k_yuan"] == pytest.approx(NEED_10K_YUAN - 60.0, abs=0.01)
    for item in short["items"]:
        kind = item["indicator"].removesuffix("_area")
        assert item["present"] == pytest.approx(s.at["A", f"{kind}_area_added_m2"], abs=1e-3)
        assert item["gap"] == pytest.approx(item["required"] - item["present"], abs=1e-3)
    assert check_run(folder) == []
    tampered = summary | {"shortfalls": {**short, "items": []}}
    (folder / "summary.json").write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    assert any(v.endswith("m²") and "_area" in v for v in check_run(folder))


def test_without_shortfalls_the_same_budget_has_no_plan(tmp_path):
    from planner.assess.diagnose import format_diagnosis
    from planner.errors import InfeasibleError
    from planner.pipeline import run_scenario

    with pytest.raises(InfeasibleError) as e:
        run_scenario(_short_of_area(tmp_path, 60.0, {"indicators": {"allow_shortfalls": False}}))
    d = e.value.diagnosis
    (need,) = d["combined"]["relaxations"]  # the budget, not the standards: they cost ten times more to break
    assert need["group"] == "budget" and need["needed_10k_yuan"] == pytest.approx(NEED_10K_YUAN, abs=0.1)
    assert d["alone"]["budget"]["relaxations"] == [need] and "budget" in d["enough_alone"]
    assert "standards" in d["alone"] and d["summary"] == [need["message"]]
    soft = d["alone"]["standards"]  # standards relaxed as the plan would: the gaps the budget leaves, by school
    assert soft["how"] == "shortfalls" and soft["feasible"] and "standards" in d["enough_alone"]
    assert soft["cost_to_close_10k_yuan"] == pytest.approx(NEED_10K_YUAN - 60.0, abs=0.1)
    assert {(r["school"], r["standard"]) for r in soft["relaxations"]} <= {("A", "teaching_area"), ("A", "sports_area")}
    assert sum(r["cost_to_close_10k_yuan"] for r in soft["relaxations"]) == pytest.approx(NEED_10K_YUAN - 60.0, abs=0.2)
    assert f"Relaxing standards alone is enough: {soft['gaps']} gap(s) at 1 school(s)" in format_diagnosis(d)


def test_a_construction_budget_leaves_equipment_and_staff_outside(tmp_path, solve_to_folder):
    """``covers: construction``: the budget holds the areas; the equipment a
    school lacks is still bought, outside it, and counted in the total. Cost
    weighs in the objective here: at weight 0 a hire outside the budget,
    which no standard needs, would cost the plan nothing."""
    budget = {
        "budget": {"total_10k_yuan": NEED_10K_YUAN + 0.01, "covers": "construction"},
        "objective": {"per_10k_yuan": 0.01},
    }
    _, folder = solve_to_folder(_short_of_area(tmp_path, 0.0, budget, equipment_yuan=100000))  # 100,000 yuan short
    s, summary = _read(folder)
    assert summary["shortfalls"]["count"] == 0 and summary["indicators"]["all_schools_pass"]
    assert summary["cost_10k_yuan"]["equipment"] == pytest.approx(10.0, abs=1e-3)
    assert summary["cost_budgeted_10k_yuan"] == pytest.approx(NEED_10K_YUAN, abs=1e-3)
    assert summary["cost_10k_yuan"]["total"] == pytest.approx(NEED_10K_YUAN + 10.0, abs=1e-3)
