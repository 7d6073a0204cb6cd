"""Known answers on tiny instances, brute-forced, and structural checks of the model.

Each instance is small enough to enumerate every plan; the MILP must find the
same optimum. The run folder of each is also passed through the independent
checker.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from planner.data.load import load_problem
from planner.data.travel import attach_distances
from planner.model import build_model
from tests.checker import check_run
from tests.factory import OFF, deep_merge, make_case, school, site, village

ONLY_PRIMARY = {"policy": {"moves": {"primary": ["primary", "closed"]}}}


def _dist(a, b):
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _random_points(rng, n):
    return [(float(x), float(y)) for x, y in np.round(rng.uniform(0, 20, size=(n, 2)), 2)]


def brute_pmedian(vpts, w, spts, p):
    """min over every p-subset of sites of sum_v w_v * distance to nearest open site."""
    best = math.inf
    for subset in itertools.combinations(range(len(spts)), p):
        cost = sum(wv * min(_dist(v, spts[s]) for s in subset) for v, wv in zip(vpts, w))
        best = min(best, cost)
    return best


def brute_cpmp(vpts, w, spts, p, cap):
    """Single-source capacitated p-median by enumerating open sets and assignments."""
    best = math.inf
    for subset in itertools.combinations(range(len(spts)), p):
        for assign in itertools.product(subset, repeat=len(vpts)):
            load = dict.fromkeys(subset, 0)
            for v, s in enumerate(assign):
                load[s] += w[v]
            if max(load.values()) > cap:
                continue
            best = min(best, sum(w[v] * _dist(vpts[v], spts[s]) for v, s in enumerate(assign)))
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pmedian_matches_brute_force(tmp_path, solve_to_folder, seed):
    rng = np.random.default_rng(seed)
    vpts, spts = _random_points(rng, 8), _random_points(rng, 5)
    w = rng.integers(1, 30, size=8).tolist()
    vs = [village(f"V{i}", *pt, g1_3=int(wi)) for i, (pt, wi) in enumerate(zip(vpts, w))]
    ss = [school(f"S{j}", *pt) for j, pt in enumerate(spts)]
    path = make_case(tmp_path, vs, ss, scenario=deep_merge(deep_merge(OFF, ONLY_PRIMARY), {"targets": {"primary": 2}}))
    run, folder = solve_to_folder(path)
    assert run.summary["status"] == "optimal"
    assert run.summary["objective"] == pytest.approx(brute_pmedian(vpts, w, spts, 2), rel=1e-6)
    assert run.summary["pupil_km"]["g1_3"] == pytest.approx(brute_pmedian(vpts, w, spts, 2), rel=1e-4)
    assert check_run(folder) == []


@pytest.mark.parametrize("seed", [4, 5])
def test_capacitated_pmedian_matches_brute_force(tmp_path, solve_to_folder, seed):
    rng = np.random.default_rng(seed)
    vpts, spts = _random_points(rng, 6), _random_points(rng, 4)
    w = rng.integers(5, 20, size=6).tolist()
    cap = int(math.ceil(sum(w) / 2 * 1.15))
    vs = [village(f"V{i}", *pt, g1_3=int(wi)) for i, (pt, wi) in enumerate(zip(vpts, w))]
    ss = [school(f"S{j}", *pt) for j, pt in enumerate(spts)]
    scen = deep_merge(
        deep_merge(OFF, ONLY_PRIMARY), {"targets": {"primary": 2}, "caps": {"school_pupils": {"primary": cap}}}
    )
    run, folder = solve_to_folder(make_case(tmp_path, vs, ss, scenario=scen))
    expected = brute_cpmp(vpts, w, spts, 2, cap)
    assert run.summary["objective"] == pytest.approx(expected, rel=1e-6)
    loads = run.plan.schools.set_index("school_id")["pupils_g1_3"]
    assert loads.max() <= cap
    assert check_run(folder) == []


def test_merge_of_two_village_schools(tmp_path, solve_to_folder):
    """Two tiny village schools 1 km apart, room for one: the smaller catchment merges into the other."""
    vs = [village("V1", 0, 0, g1_3=20, g4_6=20), village("V2", 1, 0, g1_3=8, g4_6=7)]
    ss = [
        school("S1", 0, 0, pupils_g1_3=20, pupils_g4_6=20, classes_primary=2),
        school("S2", 1, 0, pupils_g1_3=8, pupils_g4_6=7, classes_primary=1),
    ]
    scen = deep_merge(
        ONLY_PRIMARY, {"targets": {"primary": 1}, "standards": {"enabled": False}, "travel": {"detour_factor": 1.0}}
    )
    run, folder = solve_to_folder(make_case(tmp_path, vs, ss, scenario=scen))
    s = run.plan.schools.set_index("school_id")
    assert s.at["S2", "action"] == "merge" and s.at["S2", "merged_into"] == "S1"
    assert s.at["S1", "type_after"] == "primary" and s.at["S1", "pupils_g1_3"] == 28
    assert s.at["S1", "classes_primary"] == math.ceil(55 / 45)
    assert check_run(folder) == []


def _two_plans(tmp_path, budget):
    """A new junior school is needed; the near site costs 900, the far one 300 (10k yuan)."""
    vs = [village("V1", 0, 0, g7_9=400)]
    cs = [
        site("C_near", 1, 0, "junior", land_cost_10k_yuan=400.0),
        site("C_far", 6, 0, "junior", land_cost_10k_yuan=0.0),
    ]
    ss = [school("S0", 30, 30, "primary")]
    scen = deep_merge(
        OFF,
        {
            "targets": {"junior": 1},
            "budget": {"total_10k_yuan": budget},
            "costs": {"new_build_10k_yuan": {"junior": 300.0}},
            "objective": {"per_10k_yuan": 0.0},
        },
    )
    return make_case(tmp_path, vs, ss, cs, scen)


@pytest.mark.parametrize("budget,chosen", [(1000.0, "C_near"), (500.0, "C_far")])
def test_budget_forces_the_cheaper_plan(tmp_path, solve_to_folder, budget, chosen):
    run, folder = solve_to_folder(_two_plans(tmp_path, budget))
    opened = run.plan.schools.query("type_after == 'junior'")["school_id"].tolist()
    assert opened == [chosen]
    assert run.summary["cost_10k_yuan"]["total"] == pytest.approx(700.0 if chosen == "C_near" else 300.0)
    assert check_run(folder) == []


def test_band_that_must_board(tmp_path, solve_to_folder):
    """Juniors 20 km from the only junior school board, and their dormitory area is built."""
    vs = [village("V1", 0, 0, g7_9=120), village("V2", 20, 0, g7_9=30)]
    ss = [
        school(
            "J1",
            20,
            0,
            "junior",
            pupils_g7_9=150,
            classes_junior=3,
            teaching_area_m2=5000,
            sports_area_m2=5000,
            living_area_m2=100.0,
        )
    ]
    scen = {
        "travel": {"detour_factor": 1.0},
        "policy": {"walk_limit_km": {"g7_9": 8.0}},
        "standards": {"living_area_m2_per_boarder": 6.0},
    }
    run, folder = solve_to_folder(make_case(tmp_path, vs, ss, scenario=scen))
    a = run.plan.assignments.set_index("village_id")
    assert bool(a.at["V1", "boards"]) and not bool(a.at["V2", "boards"])
    j = run.plan.schools.set_index("school_id").loc["J1"]
    assert j["boarders"] == 120
    assert j["living_area_added_m2"] == pytest.approx(120 * 6.0 - 100.0, abs=0.01)
    assert run.summary["cost_10k_yuan"]["living"] == pytest.approx((720 - 100) * 3385 / 1e4, rel=1e-6)
    assert check_run(folder) == []


def test_young_pupils_may_not_board(tmp_path):
    """g1_3 may not board: a village beyond the walking limit of every school has no pair."""
    vs = [village("V1", 0, 0, g1_3=10), village("V2", 9, 0, g1_3=10)]
    ss = [school("S1", 0, 0)]
    scen = {"policy": {"walk_limit_km": {"g1_3": 5.0}}, "travel": {"detour_factor": 1.0}}
    problem = attach_distances(load_problem(make_case(tmp_path, vs, ss, scenario=scen)))
    assert set(problem.pairs.query("band == 'g1_3'")["village_id"]) == {"V1"}
    assert any("V2" in w for w in problem.warnings)


def test_model_structure_names_rows_by_data(tmp_path):
    """Rows are named family[keys]; p-median mode has only the p-median families."""
    vs = [village("V1", 0, 0, g1_3=10), village("V2", 3, 0, g1_3=5)]
    ss = [school("S1", 0, 0), school("S2", 3, 0)]
    path = make_case(tmp_path, vs, ss, scenario=deep_merge(deep_merge(OFF, ONLY_PRIMARY), {"targets": {"primary": 1}}))
    m = build_model(attach_distances(load_problem(path)))
    assert set(m.family_sizes()) == {"one_type", "assign_all", "assign_open", "target_count"}
    assert m.family_sizes()["assign_open"] == 4
    assert m.row("assign_all", "V1", "g1_3") is not None and m.row("target_count", "primary") is not None
    assert m.form.row_names[m.row("assign_all", "V1", "g1_3")] == "assign_all[V1,g1_3]"
    full = build_model(
        attach_distances(load_problem(make_case(tmp_path / "full", vs, ss, scenario={"targets": {"primary": 1}})))
    )
    assert {"class_cap", "school_cap", "teaching_area", "sports_area", "site_room", "site_classes"} <= set(
        full.family_sizes()
    )
    assert full.row("class_cap", "S1", "primary") is not None
