"""The phased model on counties small enough to answer by hand: a closure
waits for the build that replaces it, a school needed for the peak closes
after it, a new build once opened stays open, and areas added early count
later."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from planner.config.scenario import PhaseConfig
from planner.data.load import load_problem
from planner.data.problem import Problem
from planner.data.travel import attach_distances
from planner.model.phased import build_phased_model
from planner.solve.backend import solve
from planner.solve.options import SolveOptions
from tests.factory import make_case, school, site, village

SCENARIO = {
    "caps": {"class_size": {"primary": 45, "junior": 50}, "use_site_max_classes": True},
    "standards": {"enabled": False},
    "indicators": {"enabled": False},
    "objective": {"pupil_km": 1.0, "per_10k_yuan": 0.1, "per_boarder": {"g1_3": 0, "g4_6": 0, "g7_9": 0}},
    "policy": {
        "assignment": {"g1_3": "split", "g4_6": "split", "g7_9": "split"},
        "max_trip_km": {"g1_3": None, "g4_6": None, "g7_9": None},
        "boarding_allowed": {"g1_3": True, "g4_6": True, "g7_9": True},
        "moves": {"primary": ["primary", "closed"]},
    },
    "travel": {"detour_factor": 1.0},
    "costs": {"new_build_10k_yuan": {"primary": 300}},
}


def _problems(tmp_path: Path, pupils: list[int], schools, cands, scen: dict | None = None) -> list[Problem]:
    """One problem per phase: village V1 at the origin with ``pupils[i]`` g1_3 pupils."""
    doc = {**SCENARIO, **(scen or {})}
    path = make_case(tmp_path, [village("V1", 0, 0, g1_3=pupils[0])], schools, cands, doc)
    base = load_problem(path)
    out = []
    for n in pupils:
        v = base.villages.copy()
        v["pupils_g1_3"] = float(n)
        out.append(attach_distances(replace(base, villages=v)))
    return out


def _phases(*budgets: float | None, targets: list[dict] | None = None) -> list[PhaseConfig]:
    targets = targets or [{}] * len(budgets)
    return [
        PhaseConfig(name=f"p{i + 1}", first_year=2021 + 3 * i, last_year=2023 + 3 * i, budget_10k_yuan=b, targets=t)
        for i, (b, t) in enumerate(zip(budgets, targets))
    ]


def _solve(problems, phases):
    pm = build_phased_model(problems, phases)
    sol = solve(pm.model.form, SolveOptions.of(problems[-1].scenario.solver, 60))
    x = sol.values
    o = pm.model.open
    is_open = {(s, ph): "closed" for s in problems[0].sites.index for ph in pm.phases}
    for s, t, ph, c in o[["site_id", "type", "phase", "col"]].itertuples(index=False):
        if x[c] > 0.5:
            is_open[(s, ph)] = t
    return pm, sol, is_open


def test_a_closure_waits_for_the_build_that_replaces_it(tmp_path):
    schools, cands = [school("S1", 5, 0, max_classes=12)], [site("C1", 0, 0.5)]
    problems = _problems(tmp_path, [100, 100], schools, cands, {"targets": {"primary": 1}})
    _, _, types = _solve(problems, _phases(0, 1000))
    assert [types[("S1", p)] for p in ("p1", "p2")] == ["primary", "closed"]
    assert [types[("C1", p)] for p in ("p1", "p2")] == ["closed", "primary"]
    _, sol, types = _solve(problems, _phases(1000, 1000))  # money from the start: built at once
    assert [types[("C1", p)] for p in ("p1", "p2")] == ["primary", "primary"]
    assert types[("S1", "p2")] == "closed"
    assert sol.objective == pytest.approx(2 * 100 * 0.5 + 0.1 * 300)


def test_a_school_needed_for_the_peak_closes_after_it(tmp_path):
    """900 pupils need two schools of 12 classes (540 each); 450 need one."""
    schools = [school("S1", 0, 0, max_classes=12), school("S2", 1, 0, max_classes=12)]
    problems = _problems(tmp_path, [900, 450], schools, [], {"targets": {"primary": 1}})
    _, sol, types = _solve(problems, _phases(None, None))
    assert [types[("S2", p)] for p in ("p1", "p2")] == ["primary", "closed"]
    assert [types[("S1", p)] for p in ("p1", "p2")] == ["primary", "primary"]
    assert sol.objective == pytest.approx(360 * 1.0)  # the peak's overflow travels 1 km; nothing is built


def test_a_new_build_stays_open_so_the_old_school_closes(tmp_path):
    """The peak needs the new school at 2 km; a phase-2 target of one primary
    then closes the old school at the village, not the new one."""
    schools, cands = [school("S1", 0, 0, max_classes=12)], [site("C1", 2, 0, max_classes=12)]
    problems = _problems(tmp_path, [900, 450], schools, cands)
    _, sol, types = _solve(problems, _phases(None, None, targets=[{}, {"primary": 1}]))
    assert [types[("C1", p)] for p in ("p1", "p2")] == ["primary", "primary"]
    assert [types[("S1", p)] for p in ("p1", "p2")] == ["primary", "closed"]
    assert sol.objective == pytest.approx(360 * 2 + 450 * 2 + 0.1 * 300)


def test_areas_added_early_count_later_within_each_phase_budget(tmp_path):
    """Phase 2's 200 pupils need 900 m² of teaching area, the school has 450:
    the 450 m² (135.0 in 10k yuan) come in whichever phase can pay."""
    scen = {
        "standards": {
            "enabled": True,
            "teaching_area_m2_per_pupil": {"primary": 4.5, "junior": 5.8},
            "sports_area_m2_per_pupil": {"primary": 0.0, "junior": 0.0},
        }
    }
    schools = [school("S1", 0, 0, teaching_area_m2=450.0, max_classes=12)]
    problems = _problems(tmp_path, [100, 200], schools, [], scen)
    cost = 450 * 3001 / 1e4
    for budgets, when in (((0, 1000), "p2"), ((1000, 100), "p1")):
        pm, sol, _ = _solve(problems, _phases(*budgets))
        added = {ph: sol.values[pm.model.added[("S1", "teaching", ph)]] for ph in pm.phases}
        assert added[when] == pytest.approx(450.0, abs=1e-6)
        assert sum(added.values()) == pytest.approx(450.0, abs=1e-6)
        spent = {ph: pm.phase_cost[ph]["teaching"].value(sol.values) for ph in pm.phases}
        assert spent[when] == pytest.approx(cost, abs=1e-6)
    pm, sol, _ = _solve(problems, _phases(100, 100))  # neither phase alone can pay: both do a part
    spent = [pm.phase_cost[ph]["teaching"].value(sol.values) for ph in pm.phases]
    assert max(spent) <= 100 + 1e-6 and sum(spent) == pytest.approx(cost, abs=1e-6)
    pm = build_phased_model(problems, _phases(20, 100))  # 20 + 100 < 135.0: no plan
    assert solve(pm.model.form, SolveOptions.of(problems[-1].scenario.solver, 60)).x is None
