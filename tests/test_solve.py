"""The solve wrapper (planner/solve.py): values on the variables always
match the objective it reports, even where HiGHS gets that wrong."""

from __future__ import annotations

import pulp
import pytest

import planner.solve as solve_mod
from planner.load import load_problem
from planner.model import build_model
from planner.solve import solve
from planner.solve import fixed_at
from planner.staged import layout_fixing
from planner.travel import attach_distances
from planner.warmstart import HEURISTICS_OFF
from tests.factory import OFF, deep_merge, full_site_case, make_case, school, village


def test_a_warm_start_improved_in_presolve_comes_back_with_the_improved_values(tmp_path):
    """The start sends V2 to the full site A (a priced shortfall). HiGHS
    1.16 improves it in presolve's reduced space, reports the optimum and
    returns the start's values; the wrapper must hand back the optimum's."""
    problem = full_site_case(tmp_path)
    cfg = problem.scenario.solver
    direct = solve(build_model(problem), cfg)
    m = build_model(problem)
    solve(m, cfg)
    layout = layout_fixing(m)
    with fixed_at({**layout, **{v: float(s == "A") for v, vid, s in
                                 zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"]) if vid == "V2"}}):
        bad = solve(m, cfg)
    start = {v: v.varValue for v in m.lp.variables()}
    with fixed_at(layout):
        res = solve(m, cfg, warm_start=start)
    assert bad.objective > direct.objective + 1.0
    assert res.objective == pytest.approx(direct.objective, rel=1e-9)
    assert pulp.value(m.lp.objective) == pytest.approx(res.objective, rel=1e-9)


def test_heuristics_go_off_only_for_the_interchange_start(tmp_path, monkeypatch):
    """HiGHS's primal heuristics are switched off for a p-median's complete
    interchange start (they rarely beat it) and for a proof, and stay on for
    a plan a caller hands in to improve, as the stages of the staged solve do."""
    seen = []
    real = solve_mod.InterruptibleHiGHS

    def capture(**kw):
        seen.append({k: kw[k] for k in HEURISTICS_OFF if k in kw})
        return real(**kw)

    monkeypatch.setattr(solve_mod, "InterruptibleHiGHS", capture)
    problem = full_site_case(tmp_path / "full")
    cfg = problem.scenario.solver
    pmedian = build_model(_pmedian(tmp_path / "pmed"))
    solve(pmedian, cfg)
    m = build_model(problem)
    solve(m, cfg)
    solve(m, cfg, warm_start={v: v.varValue for v in m.lp.variables()})
    solve(pmedian, cfg, warm_start={v: v.varValue for v in pmedian.lp.variables()})
    solve(m, cfg, warm_start={v: v.varValue for v in m.lp.variables()}, proof=True)  # a polish that is mostly a proof
    assert seen == [HEURISTICS_OFF, {}, {}, {}, HEURISTICS_OFF]


def _pmedian(folder):
    vs = [village(f"V{i}", i, (i * 7) % 5, g1_3=5 + i) for i in range(8)]
    ss = [school(f"S{j}", 2 * j, 1) for j in range(4)]
    scen = deep_merge(OFF, {"targets": {"primary": 2}, "solver": {"threads": 1},
                            "policy": {"moves": {"primary": ["primary", "closed"]}}})
    return attach_distances(load_problem(make_case(folder, vs, ss, scenario=scen)))
