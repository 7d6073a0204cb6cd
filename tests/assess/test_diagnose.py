"""Infeasible scenarios explain themselves: the relaxations the elastic model
reports are checked by applying them and solving again."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from planner.assess.diagnose import diagnose, diagnose_with_plan, format_diagnosis
from planner.cli import app
from planner.errors import InfeasibleError
from planner.pipeline import prepare, run_scenario, solve_problem
from planner.solve.clock import Clock
from tests.checker import check_run
from tests.factory import OFF, deep_merge, make_case, school, village

# Two villages 7 km apart, each next to its own primary; g1_3 may not travel over 3 km.
VILLAGES = [village("V1", 0, 0, 40, township="甲镇"), village("V2", 7, 0, 30, township="乙镇")]
SCHOOLS = [school("S1", 0, 0.5, "primary"), school("S2", 7, 0.5, "primary")]
LIMITS = {"policy": {"max_trip_km": {"g1_3": 3.0}, "moves": {"primary": ["primary", "closed"]}}}


def _case(tmp_path, scenario, name="case"):
    return make_case(tmp_path, VILLAGES, SCHOOLS, scenario=deep_merge(deep_merge(OFF, LIMITS), scenario), name=name)


def test_a_target_that_strands_a_village_is_named(tmp_path):
    problem = prepare(_case(tmp_path, {"targets": {"primary": 1}}))  # the checks pass: 2 sites may be primary
    with pytest.raises(InfeasibleError) as e:
        solve_problem(problem)
    d = e.value.diagnosis
    (rel,) = d["alone"]["targets"]["relaxations"]
    assert (rel["type"], rel["target"], rel["feasible_count"]) == ("primary", "= 1", 2)
    dist = d["alone"]["distance"]["relaxations"]
    assert len(dist) == 1 and dist[0]["band"] == "g1_3" and dist[0]["limit_km"] == 3.0
    assert dist[0]["max_trip_km"] == pytest.approx(7.018, abs=0.01)  # the stranded village goes to the other school
    assert dist[0]["township"] in ("甲镇", "乙镇") and dist[0]["villages"] in (["V1"], ["V2"])
    assert sorted(d["enough_alone"]) == ["distance", "targets"]
    # the reported relaxations work: target 2, or a 8 km limit, each gives a plan
    assert run_scenario(_case(tmp_path / "t", {"targets": {"primary": 2}})).plan.result.has_plan
    longer = {"targets": {"primary": 1}, "policy": {"max_trip_km": {"g1_3": 8.0}}}
    assert run_scenario(_case(tmp_path / "d", longer)).plan.result.has_plan
    text = format_diagnosis(d)
    assert "Relaxing targets alone is enough: target primary = 1: a plan exists with 2 (1 more)" in text
    assert "Relaxing caps alone is not enough" in text


def test_the_budget_needed_is_the_smallest_that_works(tmp_path):
    scen = {
        "standards": {"enabled": True},
        "indicators": {"enabled": False},
        "targets": {"primary": 2},
        "budget": {"total_10k_yuan": 10.0},
    }
    problem = prepare(_case(tmp_path, scen))
    d = diagnose(problem, Clock(30))
    (rel,) = d["alone"]["budget"]["relaxations"]
    need = rel["needed_10k_yuan"]
    # teaching area 4.5 m2 x 70 pupils and sports 7.5 m2 x 70 at 3001 and 491 yuan per m2
    assert need == pytest.approx((4.5 * 3001 + 7.5 * 491) * 70 / 1e4, abs=0.2)
    floor = d["budget_floor"]  # areas are linear in pupils, so the LP's floor is the need itself
    assert floor["enough"] is False and floor["needed_at_least_10k_yuan"] == pytest.approx(need, abs=0.2)
    assert f"Proved: budget 10 (10k yuan) is at least {need - 10:,.0f} short" in format_diagnosis(d)
    ok = run_scenario(_case(tmp_path / "ok", {**scen, "budget": {"total_10k_yuan": need + 0.2}}))
    assert ok.summary["cost_10k_yuan"]["total"] <= need + 0.2
    with pytest.raises(InfeasibleError):
        run_scenario(_case(tmp_path / "short", {**scen, "budget": {"total_10k_yuan": need - 0.5}}))


def test_the_budget_range_and_its_suggested_plan(tmp_path):
    """Areas are linear in pupils: the LP floor and the cheapest plan are the same budget, so the range is
    one figure (to the 0.1 above). ``planner run`` writes the plan at its high end as ``suggested/``, a run
    folder with that budget, which the checker passes; its cost fits the budget it names."""
    scen = {
        "standards": {"enabled": True},
        "indicators": {"enabled": False},
        "targets": {"primary": 2},
        "budget": {"total_10k_yuan": 10.0},
    }
    need = (4.5 * 3001 + 7.5 * 491) * 70 / 1e4
    d, rng = diagnose_with_plan(prepare(_case(tmp_path, scen)), Clock(30))
    r = d["budget_range"]
    assert r["low_10k_yuan"] == pytest.approx(need, abs=0.1) and r["high_10k_yuan"] == pytest.approx(need, abs=0.11)
    assert r["high_10k_yuan"] >= r["low_10k_yuan"] and d["alone"]["budget"]["range"] == r
    assert rng is not None and rng.summary["cost_budgeted_10k_yuan"] <= r["high_10k_yuan"] + 1e-6
    assert f"Budget: a plan needs between {r['low_10k_yuan']:,.1f} and {r['high_10k_yuan']:,.1f}" in format_diagnosis(d)
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(_case(tmp_path / "cli", scen)), "--out", str(out), "--quiet"])
    assert res.exit_code == 3, res.output
    assert sorted(p.name for p in out.iterdir()) == ["diagnosis.json", "suggested"]
    s = json.loads((out / "suggested" / "summary.json").read_text(encoding="utf-8"))
    assert s["budget_10k_yuan"] == pytest.approx(r["high_10k_yuan"]) and (out / "suggested" / "plan.xlsx").exists()
    assert check_run(out / "suggested") == []


def test_the_budget_floor_proves_when_no_budget_is_enough(tmp_path):
    scen = {
        "standards": {"enabled": True},
        "indicators": {"enabled": False},
        "targets": {"primary": 1},
        "budget": {"total_10k_yuan": 1000.0},
    }  # the target strands a village; money is plenty
    d = diagnose(prepare(_case(tmp_path, scen)), Clock(30))
    # even as an LP, each village needs its only school within 3 km fully open: two schools, not one
    assert d["budget_floor"]["enough"] is False and "needed_at_least_10k_yuan" not in d["budget_floor"]
    assert "Proved: no budget is enough" in format_diagnosis(d)
    assert "budget" not in d["enough_alone"] and "targets" in d["enough_alone"]


def test_caps_relaxation_names_the_school_and_the_excess(tmp_path):
    scen = {
        "targets": {"primary": 1},
        "caps": {"school_pupils": {"primary": 50}},
        "policy": {"max_trip_km": {"g1_3": 20.0}},
    }
    d = diagnose(prepare(_case(tmp_path, scen)), Clock(30))
    (rel,) = d["alone"]["caps"]["relaxations"]
    assert rel["kind"] == "school_cap" and rel["cap"] == 50 and rel["over_pupils"] == pytest.approx(20.0)
    assert rel["school"] in ("S1", "S2")


def test_the_cli_prints_the_diagnosis_and_writes_only_diagnosis_json(tmp_path):
    path = _case(tmp_path, {"targets": {"primary": 1}})
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 3, res.output
    assert "proved scenario 'case' infeasible" in res.output
    assert "target primary = 1: a plan exists with 2" in res.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["diagnosis.json"]
    d = json.loads((tmp_path / "out" / "diagnosis.json").read_text(encoding="utf-8"))
    assert d["stage"] == "solve" and d["combined"]["feasible"]
