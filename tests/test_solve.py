"""The solve wrapper (planner/solve.py): values on the variables always
match the objective it reports, even where HiGHS gets that wrong."""

from __future__ import annotations

import pulp
import pytest

from planner.model import build_model
from planner.solve import solve
from planner.staged import _fixed_at, layout_fixing
from tests.factory import full_site_case


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
    with _fixed_at({**layout, **{v: float(s == "A") for v, vid, s in
                                 zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"]) if vid == "V2"}}):
        bad = solve(m, cfg)
    start = {v: v.varValue for v in m.lp.variables()}
    with _fixed_at(layout):
        res = solve(m, cfg, warm_start=start)
    assert bad.objective > direct.objective + 1.0
    assert res.objective == pytest.approx(direct.objective, rel=1e-9)
    assert pulp.value(m.lp.objective) == pytest.approx(res.objective, rel=1e-9)
