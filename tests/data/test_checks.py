"""Checks before solving: each conflict is found with both numbers; a
feasible scenario passes (so the checks never block a solvable plan)."""

from __future__ import annotations

import pytest

from planner.data.checks import conflicts, fixed_costs, presolve_checks, site_capacity
from planner.data.load import load_problem
from planner.data.travel import attach_distances
from planner.errors import ScenarioConflict
from tests.factory import OFF, deep_merge, make_case, school, site, village

VILLAGES = [village("V1", 0, 0, 100, 100, 100, township="甲镇"), village("V2", 4, 0, 60, 60, 60, township="乙镇")]
SCHOOLS = [school("S1", 0, 1, "nine_year"), school("S2", 4, 1, "primary", max_classes=30)]
SITES = [site("C1", 2, 0, "junior", land_cost_10k_yuan=150)]


def _problem(tmp_path, scenario=None, villages=VILLAGES, schools=SCHOOLS, sites=SITES):
    return attach_distances(load_problem(make_case(tmp_path, villages, schools, sites, scenario)))


def test_a_feasible_scenario_passes(tmp_path):
    """The checks find nothing in a scenario that has a plan (the solve proves it)."""
    from planner.pipeline import solve_problem

    p = _problem(tmp_path, {"targets": {"nine_year": 1}, "budget": {"total_10k_yuan": 10000}})
    assert conflicts(p) == []
    presolve_checks(p)
    assert solve_problem(p).plan.result.has_plan


def test_target_above_sites_that_may_take_the_type(tmp_path):
    (r,) = conflicts(_problem(tmp_path, {"targets": {"junior": 3}}))
    assert r.startswith("target junior = 3, but only 2 sites may be junior")  # S1 (nine_year -> junior) and C1


def test_target_max_below_sites_forced_to_the_type(tmp_path):
    (r,) = conflicts(_problem(tmp_path, {"targets": {"primary": {"max": 0}}, "fixed": {"S2": "primary"}}))
    assert r == "target primary is at most 0, but 1 sites must be primary (fixed or no other move): S2"


def test_village_out_of_reach_names_it_and_its_township(tmp_path):
    scen = {"policy": {"walk_limit_km": {"g1_3": 0.5}}}
    (r,) = conflicts(_problem(tmp_path, scen, villages=[*VILLAGES, village("V3", 2, 3, 7, 0, 0, township="丙镇")]))
    assert r == (
        "3 village(s) with 167 g1_3 pupils have no school type that may teach g1_3 within the 0.5 km limit: "
        "V1, V2, V3 (townships: 丙镇, 乙镇, 甲镇)"
    )


def test_reachable_capacity_below_a_bands_pupils(tmp_path):
    caps = {
        "caps": {
            "school_pupils": {"primary": 2000, "junior": 2000, "nine_year": 2000},
            "class_size": {"junior": 1},
            "use_site_max_classes": True,
        }
    }
    sites = [site("C1", 2, 0, "junior", max_classes=50)]
    p = _problem(tmp_path, caps, sites=sites)
    cap = site_capacity(p, "g7_9")  # junior classes x 1 pupil; S2 may become nine_year (default moves)
    assert cap.to_dict() == {"S1": 60.0, "S2": 30.0, "C1": 50.0}
    (r,) = conflicts(p)
    assert r.startswith("band g7_9: 160 pupils, but the sites within reach that may teach it hold at most 140")


def test_one_villages_pupils_above_the_capacity_in_its_reach(tmp_path):
    scen = {
        "caps": {"school_pupils": {"primary": 150, "nine_year": 150, "junior": 150, "teaching_point": 150}},
        "policy": {"max_trip_km": {"g7_9": 1.5}},
    }
    rs = conflicts(_problem(tmp_path, scen, villages=[village("V1", 0, 0, 0, 0, 200), village("V2", 4, 0, 0, 0, 10)]))
    assert rs == ["village V1 (甲镇): 200 g7_9 pupils, but the sites within 1.5 km hold at most 150"]


def test_all_bands_together_above_the_sites_caps(tmp_path):
    scen = {"caps": {"school_pupils": {"primary": 150, "nine_year": 150, "junior": 150, "teaching_point": 150}}}
    (r,) = conflicts(_problem(tmp_path, scen))  # 480 pupils, 3 sites x 150
    assert (
        r == "all bands: 480 pupils, but the sites within reach hold at most 450 together "
        "(each at its largest school cap)"
    )


def test_budget_below_the_fixed_decisions(tmp_path):
    scen = {
        "fixed": {"C1": "junior", "S2": "nine_year"},
        "budget": {"total_10k_yuan": 700, "by_category_10k_yuan": {"land": 100}},
    }
    p = _problem(tmp_path, scen)
    assert fixed_costs(p) == {"new_build": 500.0, "land": 150.0, "upgrade": 100.0}
    with pytest.raises(ScenarioConflict) as e:
        presolve_checks(p)
    assert e.value.reasons == [
        "budget 700 (10k yuan) is below the 750 that the fixed decisions (C1, S2) cost before any other work",
        "budget for land 100 (10k yuan) is below the 150 that the fixed decisions (C1, S2) cost",
    ]


def test_caps_switched_off_never_conflict(tmp_path):
    """With every cap off, even one primary for all pupils passes the checks
    (and has a plan), while the same target with a 150-pupil cap does not."""
    from planner.pipeline import solve_problem

    p = _problem(tmp_path, deep_merge(OFF, {"targets": {"primary": 1}}))
    assert conflicts(p) == [] and solve_problem(p).plan.result.has_plan
    capped = deep_merge(
        OFF,
        {
            "targets": {"primary": 1},
            "caps": {"school_pupils": {"primary": 150, "nine_year": 150, "junior": 150, "teaching_point": 150}},
        },
    )
    assert conflicts(_problem(tmp_path / "capped", capped)) != []
