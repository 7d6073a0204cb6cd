"""End to end: every scenario in scenarios/ through the CLI, then the checker.

This is the path a planner takes (``planner run SCENARIO --out DIR``); a short
time limit is fine, since any plan the CLI writes must hold every hard rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from tests.checker import check_run

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
PROVED_INFEASIBLE = {"fangcheng-2030-budget-cut-strict"}
"""Variants whose answer is "no plan": the run must prove it and explain why
(exit 3), with the least budget any plan needs (an LP's proof)."""
SHORT_OF_STANDARD = {"fangcheng-2030-budget-cut"}
"""Variants whose budget cannot close every gap: the plan reports them."""
TIME_LIMIT_S = {
    "fangcheng-2030": 150,
    "fangcheng-2030-budget-cut": 120,
    "fangcheng-2030-budget-cut-strict": 150,
    "fangcheng-2030-by-region": 120,
}
"""Seconds for the whole run (every stage, balance round and the diagnosis):
the cut budget (whose LP takes the longest) 120 s, the strict cut 150 s (the
solve proves it has no plan; the diagnosis takes the rest: the budget's floor,
the gaps by school; the budget's range settles in the scenario's own 300 s,
tests/assess/test_diagnose.py proves it on a small county), the demo 150 s,
the five regions 120 s, the other variants 60 s."""


VALIDATED_ONLY = {"fangcheng-2030-phased": 3, "fangcheng-2030-xlsx": 0}
"""Scenarios checked here by ``planner validate`` (and the phases it lists): the
phased demo is too long for the suite (three phases: about ten minutes;
``benchmarks/demo.py --phased`` runs it in full and runs the checker on the
plan); the demo read from its workbook is the demo's own problem
(tests/data/test_excel.py), solved above."""


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_runs_and_passes_the_checker(tmp_path, scenario):
    out = tmp_path / scenario.stem
    if scenario.stem in VALIDATED_ONLY:
        res = CliRunner().invoke(app, ["validate", str(scenario)])
        assert res.exit_code == 0, res.output
        assert res.output.count("phase ") == VALIDATED_ONLY[scenario.stem] and not out.exists()
        return
    res = CliRunner().invoke(
        app,
        ["run", str(scenario), "--out", str(out), "--time-limit", str(TIME_LIMIT_S.get(scenario.stem, 60)), "--quiet"],
    )
    if scenario.stem in PROVED_INFEASIBLE:
        assert res.exit_code == 3, res.output
        assert "infeasible" in res.output and "relax" in res.output.lower()
        names = sorted(p.name for p in out.iterdir())
        d = json.loads((out / "diagnosis.json").read_text(encoding="utf-8"))
        floor = d["budget_floor"]
        assert floor["short_at_least_10k_yuan"] > 0 and floor["needed_at_least_10k_yuan"] > floor["limit_10k_yuan"]
        assert f"Proved: budget {floor['limit_10k_yuan']:,.0f} (10k yuan) is at least" in res.output
        rng = d["budget_range"]  # the floor always; the high end and suggested/ when its solve settles in time
        assert rng["low_10k_yuan"] == floor["needed_at_least_10k_yuan"]
        if rng["high_10k_yuan"] is None:
            assert names == ["diagnosis.json"] and "Relaxing budget alone: not settled" in res.output
        else:
            assert names == ["diagnosis.json", "suggested"] and rng["low_10k_yuan"] <= rng["high_10k_yuan"]
            assert (
                f"Budget: a plan needs between {rng['low_10k_yuan']:,.1f} and {rng['high_10k_yuan']:,.1f}" in res.output
            )
            assert check_run(out / "suggested") == []
            s = json.loads((out / "suggested" / "summary.json").read_text(encoding="utf-8"))
            assert s["budget_10k_yuan"] == rng["high_10k_yuan"] and s["cost_budgeted_10k_yuan"] <= s["budget_10k_yuan"]
        soft = d["alone"]["standards"]  # which standards at which schools would give a plan within the budget
        assert soft["feasible"] and soft["gaps"] == len(soft["relaxations"]) > 0
        assert soft["cost_budgeted_10k_yuan"] <= floor["limit_10k_yuan"] * (1 + 1e-6) + 0.1
        assert soft["cost_to_close_10k_yuan"] >= floor["short_at_least_10k_yuan"]  # no plan can leave less
        assert all(r["school"].startswith(("S", "C")) and r["short"] > 0 for r in soft["relaxations"])
        assert "Relaxing standards alone is enough" in res.output
        return
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    log = (out / "run.log").read_text(encoding="utf-8")  # with the output, says what stopped a run
    assert summary["status"] in ("optimal", "feasible", "time_limit"), res.output[-2000:] + log[-2000:]
    assert all(t["met"] for t in summary["targets"].values())
    budget = summary["budget_10k_yuan"]
    assert budget is None or summary["cost_budgeted_10k_yuan"] <= budget * (1 + 1e-6) + 0.01  # the checker's tolerance
    assert check_run(out) == []
    short = summary["shortfalls"]
    if scenario.stem in SHORT_OF_STANDARD:
        assert short["count"] > 0 and short["cost_to_close_10k_yuan"] > 0
        assert {"teaching_area", "sports_area"} & set(short["cost_to_close_by_indicator_10k_yuan"])
    elif short["count"] == 0:
        assert summary["indicators"]["all_schools_pass"], "every gap closed, yet a school fails"


def test_validate_reports_the_demo(tmp_path):
    """The counts ``planner validate`` prints are the demo's own, read here from its GeoPackage."""
    import pyogrio

    gpkg = ROOT / "gis" / "demo_county.gpkg"
    n = {
        layer: len(pyogrio.read_dataframe(gpkg, layer=layer, read_geometry=False))
        for layer in ("villages", "schools", "candidate_sites")
    }
    res = CliRunner().invoke(app, ["validate", str(ROOT / "scenarios" / "fangcheng-2030.yaml")])
    assert res.exit_code == 0, res.output
    assert f"{n['villages']} villages, {n['schools']} schools, {n['candidate_sites']} candidate sites" in res.output, (
        res.output
    )
