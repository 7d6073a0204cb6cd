"""Decode: actions, mergers and costs read off a solved plan."""

from __future__ import annotations

import pytest

from planner.pipeline import run_scenario
from tests.factory import make_case, school, site, village


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    d = tmp_path_factory.mktemp("decode")
    vs = [
        village("V1", 0, 0, g1_3=40, g4_6=40, g7_9=50),
        village("V2", 1, 0, g1_3=10, g4_6=10),
        village("V3", 4, 0, g1_3=5),
        village("V4", 30, 0, g7_9=80),
    ]
    ss = [
        school(
            "P1",
            0,
            0,
            "primary",
            pupils_g1_3=40,
            pupils_g4_6=40,
            classes_primary=2,
            teaching_area_m2=1e4,
            sports_area_m2=1e4,
        ),
        school("P2", 1, 0, "primary", pupils_g1_3=10, pupils_g4_6=10, classes_primary=1),
        school("P3", 4, 0, "primary", pupils_g1_3=5, classes_primary=1, teaching_area_m2=100, sports_area_m2=100),
        school("P4", 50, 50, "primary"),
        school("J1", 0, 1, "junior", pupils_g7_9=130, classes_junior=3, teaching_area_m2=1e4, sports_area_m2=1e4),
    ]
    cs = [site("C1", 30, 1, "junior", land_cost_10k_yuan=120.0), site("C2", 60, 60, "primary")]
    scen = {
        "fixed": {
            "P3": "teaching_point",
            "P4": "closed",
            "P2": "closed",
            "P1": "nine_year",
            "C1": "junior",
            "C2": "closed",
        },
        "policy": {
            "moves": {"primary": ["primary", "teaching_point", "nine_year", "closed"]},
            "max_trip_km": {"g7_9": 60.0},
        },
        "travel": {"detour_factor": 1.0},
        "costs": {"new_build_10k_yuan": {"junior": 500.0}, "upgrade_10k_yuan": 100.0},
        "targets": {"primary": 0},
    }
    return run_scenario(make_case(d, vs, ss, cs, scen))


def test_actions(plan):
    s = plan.plan.schools.set_index("school_id")
    assert s.at["P3", "action"] == "downgrade" and s.at["P3", "type_after"] == "teaching_point"
    assert s.at["P1", "action"] == "upgrade" and s.at["P1", "type_after"] == "nine_year"
    assert s.at["P2", "action"] == "merge" and s.at["P2", "merged_into"] == "P1"
    assert s.at["P4", "action"] == "close" and s.at["P4", "merged_into"] == ""
    assert s.at["C1", "action"] == "new"
    assert "C2" not in s.index, "an unopened candidate site is not a school"


def test_costs_by_category(plan):
    c = plan.plan.cost_10k_yuan
    assert c["new_build"] == pytest.approx(500.0)
    assert c["land"] == pytest.approx(120.0)
    assert c["upgrade"] == pytest.approx(100.0)
    s = plan.plan.schools
    assert c["teaching"] == pytest.approx((s["teaching_area_added_m2"] * 3001 / 1e4).sum(), abs=1e-3)
    assert c["total"] == pytest.approx(sum(v for k, v in c.items() if k != "total"))
    assert s["cost_10k_yuan"].sum() == pytest.approx(c["total"], abs=1e-2)


def test_summary_counts_and_trips(plan):
    sm = plan.summary
    assert sm["counts_before"] == {"teaching_point": 0, "primary": 4, "junior": 1, "nine_year": 0}
    assert sm["counts_after"] == {"teaching_point": 1, "primary": 0, "junior": 2, "nine_year": 1}
    a = plan.plan.assignments
    j = a[a["band"] == "g7_9"]
    assert sm["pupil_km"]["g7_9"] == pytest.approx((j["pupils"] * j["distance_km"]).sum(), abs=1e-3)
    assert sm["max_trip_km"]["g1_3"] == pytest.approx(a[a["band"] == "g1_3"]["distance_km"].max())
