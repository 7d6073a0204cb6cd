"""The neighbourhood repair of the staged solve (planner/repair.py): the
rings it frees, by hand, and a plan with a priced shortfall at a full site
repaired to the direct optimum."""

from __future__ import annotations

import pandas as pd
import pulp
import pytest

from planner.model import build_model
from planner.repair import neighbourhood, repair, short_sites
from planner.solve import solve
from planner.staged import solve_fixed, layout_fixing
from tests.factory import full_site_case


def _pairs(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    """A pairs table (village, band, site, current value) with real PuLP variables."""
    lp, out = pulp.LpProblem("rings"), []
    for i, (v, b, s, x) in enumerate(rows):
        var = lp.add_variable(f"x{i}", 0, 1, cat=pulp.LpInteger)
        var.varValue = x
        out.append({"village_id": v, "band": b, "site_id": s, "var": var})
    return pd.DataFrame(out)


def test_the_rings_free_the_hot_sites_catchments_and_their_neighbours():
    """H is hot. V1 sits at H (ring 1) and can also reach N; V2 sits at N
    (ring 2) and is freed with all its pairs; V3 can reach H but sits at F,
    and F is not in ring 1's reach, so it stays fixed, as does V4."""
    p = _pairs([("V1", "g1_3", "H", 1.0), ("V1", "g1_3", "N", 0.0),
                ("V2", "g1_3", "N", 1.0), ("V2", "g1_3", "F", 0.0),
                ("V3", "g1_3", "H", 0.0), ("V3", "g1_3", "F", 1.0),
                ("V4", "g1_3", "F", 1.0),
                ("V1", "g4_6", "F", 1.0)])  # the same village, another band: at F
    assert neighbourhood(p, {"H"}).tolist() == [True, True, True, True, False, False, False, False]
    # N hot: V2 leaves N and may go to F, so everything at F (V3, V4, V1's g4_6) is freed too; V1's g1_3 stays
    assert neighbourhood(p, {"N"}).tolist() == [False, False, True, True, True, True, True, True]
    assert not neighbourhood(p, set()).any()


def test_repair_moves_a_village_off_a_full_site_to_the_direct_optimum(tmp_path):
    problem = full_site_case(tmp_path)
    cfg = problem.scenario.solver
    direct = solve(build_model(problem), cfg)
    m = build_model(problem)
    assert solve(m, cfg).status == "optimal"
    layout = layout_fixing(m)
    wrong = {v: float(s == "A") for v, vid, s in zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"]) if vid == "V2"}
    bad = solve_fixed(m, cfg, {**layout, **wrong})
    assert bad.objective > direct.objective + 1.0 and short_sites(m) == {"A"}  # the plan the repair starts from

    res, rounds = repair(m, cfg, solve_fixed, layout, bad, 30.0)
    assert rounds >= 1 and res.objective == pytest.approx(direct.objective, rel=1e-9)
    assert pulp.value(m.lp.objective) == pytest.approx(direct.objective, rel=1e-9)  # the model holds the repaired plan
    assert short_sites(m) == set()
    at = {(v, s) for v, s, var in zip(m.pairs["village_id"], m.pairs["site_id"], m.pairs["var"]) if var.varValue > 0.5}
    assert ("V2", "B") in at


def test_repair_without_a_hot_site_changes_nothing(tmp_path):
    problem = full_site_case(tmp_path)
    cfg = problem.scenario.solver
    m = build_model(problem)
    best = solve(m, cfg)
    before = {v: v.varValue for v in m.lp.variables()}
    res, rounds = repair(m, cfg, solve_fixed, layout_fixing(m), best, 30.0)
    assert rounds == 0 and res is best
    assert {v: v.varValue for v in m.lp.variables()} == before
