"""The staged solve (planner/staged.py) against a direct solve of the same
model: same optimum on small cases, and whole teachers and rooms although the
first stages treat them as continuous."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pulp
import pytest

from planner.load import load_problem
from planner.model import build_model
from planner.solve import SolveResult, solve
from planner.staged import fits, guides, investments, round_layout, solve_staged
from planner.travel import attach_distances
from tests.factory import OFF, make_case, school, village

STOCK = dict(teachers=4, teachers_qualified=2, teachers_backbone=0, teachers_pe_art=0, equipment_value_yuan=20000,
             multimedia_rooms=0, music_rooms=0, art_rooms=0, teaching_area_m2=200, sports_area_m2=300)


def _county(tmp_path, seed: int):
    """Three primaries on a line, villages between them, one to close; every
    school short of teachers, rooms and equipment, so investments are needed."""
    vs = [village(f"V{i}", 1.5 * i, (i * seed) % 3 * 0.4, 20 + 7 * ((i + seed) % 4), 15 + 5 * (i % 3)) for i in range(6)]
    ss = [school(f"S{j}", 3.5 * j, 0.2, "primary", classes_primary=2, **STOCK) for j in range(3)]
    scen = {"targets": {"primary": 2}, "solver": {"threads": 1, "mip_gap": 0.0}, "caps": OFF["caps"],
            "policy": {**OFF["policy"], "moves": {"primary": ["primary", "closed"]}}, "budget": {"total_10k_yuan": 400.0}}
    return attach_distances(load_problem(make_case(tmp_path, vs, ss, scenario=scen)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_staged_reaches_the_direct_optimum_with_whole_investments(tmp_path, seed):
    problem = _county(tmp_path, seed)
    cfg = problem.scenario.solver.model_copy(update={"time_limit_s": 60})
    direct = solve(build_model(problem), cfg)
    m = build_model(problem)
    staged = solve_staged(m, cfg)
    assert direct.status == "optimal" and staged.has_plan
    assert staged.objective == pytest.approx(direct.objective, rel=1e-6)
    invest = investments(m)
    assert invest and all(v.cat == pulp.LpInteger for v in invest)  # integrality restored after the stages
    assert all(abs(v.varValue - round(v.varValue)) < 1e-6 for v in invest)
    assert sum(v.varValue for v in invest) > 0  # the case does need teachers or rooms


def test_a_ctrl_c_in_the_warm_start_stops_the_run(tmp_path, monkeypatch):
    """The warm start's LP reports ``interrupted`` (a Ctrl-C): the staged
    solve must stop, not carry on to stage 1 as if nothing happened."""
    import planner.staged as staged

    real = staged.solve
    calls = []

    def interrupted_first(m, cfg, **kw):
        r = real(m, cfg, **kw)
        calls.append(r.status)
        return replace(r, status="interrupted") if len(calls) == 1 else r

    monkeypatch.setattr(staged, "solve", interrupted_first)
    problem = _county(tmp_path, 0)
    with pytest.raises(KeyboardInterrupt):
        solve_staged(build_model(problem), problem.scenario.solver.model_copy(update={"time_limit_s": 60}))
    assert len(calls) == 1


def test_an_lp_out_of_time_leaves_the_current_layout_to_round(tmp_path, monkeypatch):
    """Stage 1's LP not solved in its time: the warm start rounds the current
    layout instead (every school kept, the lightest by its nearest villages'
    pupils closed to meet the count), where it used to give no start at all.
    Without a start HiGHS found no plan for the demo's strict budget-cut
    diagnosis in 40 s."""
    import planner.staged as staged

    real, calls = staged.solve, []

    def lp_out_of_time(m, cfg, **kw):
        calls.append(kw)
        if len(calls) == 1:
            return SolveResult("no_solution", None, None, None, "highs", cfg.time_limit_s, "Time limit reached")
        return real(m, cfg, **kw)

    monkeypatch.setattr(staged, "solve", lp_out_of_time)
    problem = _county(tmp_path, 0)
    m, g = build_model(problem), guides(problem)
    assert g["current"] == {"S0": "primary", "S1": "primary", "S2": "primary"}
    start = staged.layout_start(m, problem.scenario.solver.model_copy(update={"time_limit_s": 30}),
                                g["targets"], g["serving"], g["current"])
    assert start is not None and len(calls) == 2  # the LP, then the rounded layout's solve
    kept = {s for s, v in zip(m.open["site_id"], m.open["var"]) if start[v] > 0.5}
    nearest = m.pairs.sort_values("distance_km", kind="stable").drop_duplicates(["village_id", "band"])
    load = nearest.groupby("site_id")["pupils"].sum().reindex(["S0", "S1", "S2"], fill_value=0)
    assert kept == set(load.index) - {load.idxmin()}


def test_a_ctrl_c_in_stage_2_still_keeps_whole_investments(tmp_path, monkeypatch):
    """Stage 2 runs with teachers and rooms continuous; when a Ctrl-C ends
    it, the plan kept must still have them whole, and say ``interrupted``."""
    import planner.staged as staged

    real = staged._fixed
    monkeypatch.setattr(staged, "_fixed", lambda *a: (lambda r: r and replace(r, status="interrupted"))(real(*a)))
    problem = _county(tmp_path, 1)
    m = build_model(problem)
    res = solve_staged(m, problem.scenario.solver.model_copy(update={"time_limit_s": 60}))
    assert res.status == "interrupted"
    invest = investments(m)
    assert all(abs(v.varValue - round(v.varValue)) < 1e-6 for v in invest)
    assert sum(v.varValue for v in invest) > 0


def test_a_ctrl_c_in_the_polish_is_reported_even_when_stage_2_keeps_its_plan(tmp_path, monkeypatch):
    """The polish (stage 3) is stopped by a Ctrl-C with nothing better than
    stage 2's plan: that plan is kept, and the result says ``interrupted``."""
    import planner.staged as staged

    real, polished = staged.solve, []

    def stopped_polish(m, cfg, warm_start=None, **kw):
        r = real(m, cfg, warm_start=warm_start, **kw)
        if "proof" not in kw:
            return r
        polished.append(r.objective)
        return replace(r, status="interrupted", objective=r.objective + 1e6)  # nothing better found before the stop

    monkeypatch.setattr(staged, "solve", stopped_polish)
    monkeypatch.setattr(staged, "MIN_POLISH_S", 0.0)
    problem = _county(tmp_path, 2)
    cfg = problem.scenario.solver.model_copy(update={"time_limit_s": 60, "mip_gap": -1.0})  # never close enough to skip it
    res = solve_staged(build_model(problem), cfg)
    assert polished and res.status == "interrupted" and res.objective < polished[0] + 1e6


def _mixed_lp(values: dict[tuple[str, str], float], loads: dict[str, float],
              also: dict[str, list[str]] | None = None) -> SimpleNamespace:
    """A model stand-in after an LP: ``open`` rows at ``values``, one village
    ``V<site>`` per site sending it ``loads`` pupils (and reaching the sites
    in ``also[site]`` too, at share 0), and each site's ``school_cap`` row
    (primary 2000, teaching point 200)."""
    lp = pulp.LpProblem("mixed")
    cap = {"primary": 2000.0, "teaching_point": 200.0}
    op = pd.DataFrame([{"site_id": s, "type": t, "var": lp.add_variable(f"o_{s}_{t}", 0, 1)} for s, t in values])
    for v, key in zip(op["var"], values):
        v.varValue = values[key]
    pairs, rows = [], {}
    for s, n in loads.items():
        for other in [s, *(also or {}).get(s, [])]:
            x = lp.add_variable(f"x_{s}_{other}", 0, 1)
            x.varValue = float(other == s)
            pairs.append({"village_id": f"V{s}", "band": "g1_3", "site_id": other, "pupils": n, "var": x})
            if other == s:
                mine = op[op["site_id"] == s]
                rows[f"school_cap[{s}]"] = n * x - pulp.lpSum(cap[t] * v for t, v in zip(mine["type"], mine["var"])) <= 0
    return SimpleNamespace(open=op, pairs=pd.DataFrame(pairs), rows=rows)


def _opened(m: SimpleNamespace, layout: dict) -> set[tuple[str, str]]:
    return {(s, t) for s, t, v in m.open[["site_id", "type", "var"]].itertuples(index=False) if layout[v] > 0.5}


def test_rounding_never_makes_a_school_the_lp_filled_a_teaching_point():
    """The LP leans town school T (900 pupils) 0.6 towards a teaching point
    and rural R (50 pupils) 0.55: by value alone T became the teaching point
    and 700 of its pupils lost their school (as 21 county-town schools did at
    10x the demo). A teaching point (cap 200) does not fit T, so R takes it
    and T stays a primary."""
    m = _mixed_lp({("T", "teaching_point"): 0.6, ("T", "primary"): 0.4,
                   ("R", "teaching_point"): 0.55, ("R", "primary"): 0.45}, {"T": 900.0, "R": 50.0})
    assert fits(m).tolist() == [False, True, True, True]
    layout = round_layout(m, {"primary": (1, 1), "teaching_point": (1, 1)},
                          {"g1_3": {"primary", "teaching_point"}})
    assert _opened(m, layout) == {("T", "primary"), ("R", "teaching_point")}


def test_rounding_keeps_a_type_mixed_school_open_as_the_type_that_holds_its_pupils():
    """The LP opens town school T wholly, as 0.7 teaching point and 0.3
    primary, with 700 pupils; rural R is a primary with 100. With one of
    each to place, by value T would be the teaching point (0.7 + R's 1.0);
    the teaching point's cap of 200 does not hold T's pupils, so T is the
    primary and R, whose 100 pupils fit, the teaching point. A type that
    does not fit is still taken when the counts leave no other way."""
    m = _mixed_lp({("T", "teaching_point"): 0.7, ("T", "primary"): 0.3,
                   ("R", "teaching_point"): 0.0, ("R", "primary"): 1.0}, {"T": 700.0, "R": 100.0})
    serving = {"g1_3": {"primary", "teaching_point"}}
    layout = round_layout(m, {"primary": (1, 1), "teaching_point": (1, 1)}, serving)
    assert _opened(m, layout) == {("T", "primary"), ("R", "teaching_point")}
    forced = round_layout(m, {"primary": (0, 0), "teaching_point": (2, 2)}, serving)
    assert sum(forced.values()) == 2.0  # both teaching points: the only layout the counts allow


def test_rounding_closes_the_site_the_lp_sent_fewest_pupils():
    """Town school T is wholly open in the LP (0.8 teaching point, 0.2
    primary) with 400 pupils; rural R is a primary with 100, rural Q a
    teaching point with 30. One primary and one teaching point: by values
    alone T closed (R primary, Q teaching point: 4.0 against 2.2), as three
    county-town schools did at 10x the demo. Counting the LP's pupils, T is
    the primary, R (100 pupils fit a teaching point) the teaching point, and
    Q, with fewest pupils and a village R can take, closes."""
    m = _mixed_lp({("T", "teaching_point"): 0.8, ("T", "primary"): 0.2, ("R", "teaching_point"): 0.0,
                   ("R", "primary"): 1.0, ("Q", "teaching_point"): 1.0, ("Q", "primary"): 0.0},
                  {"T": 400.0, "R": 100.0, "Q": 30.0}, also={"Q": ["R"]})
    layout = round_layout(m, {"primary": (1, 1), "teaching_point": (1, 1)}, {"g1_3": {"primary", "teaching_point"}})
    assert _opened(m, layout) == {("T", "primary"), ("R", "teaching_point")}


def test_coverage_repair_closes_the_lightest_site_not_the_lowest_valued():
    """Three primaries to place: T (0.45 open, 900 pupils), R (50) and Q (40)
    are chosen; U (10 pupils, value 0) is not, and its village reaches no
    other site, so the coverage repair opens it and must close one. T's and
    Q's villages could move to R; by value T (0.45) closed with its 900
    pupils, by weight Q (40 pupils) does."""
    m = _mixed_lp({("T", "primary"): 0.45, ("R", "primary"): 1.0, ("Q", "primary"): 1.0, ("U", "primary"): 0.0},
                  {"T": 900.0, "R": 50.0, "Q": 40.0, "U": 10.0}, also={"T": ["R"], "Q": ["R"]})
    layout = round_layout(m, {"primary": (3, 3)}, {"g1_3": {"primary"}})
    assert _opened(m, layout) == {("T", "primary"), ("R", "primary"), ("U", "primary")}
