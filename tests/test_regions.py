"""The regional decomposition (planner/regions.py): the bisection and the
budget shares by hand, a county of two far-apart towns solved region by
region to the direct optimum, and a coupled county (standards, a binding
budget) whose joined plan keeps every row of the county's model."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pandas as pd
import pulp
import pytest

from planner.load import load_problem
from planner.model import build_model
from planner import regions
from planner.regions import (FIRST_PASS_GAP, SECOND_PASS_MIN_S, area_keys, band_regions, bisect, cap_budget,
                             regional_budget, regional_problem, region_count, repair_shortfalls, repeat_repairs,
                             second_pass, site_regions, solve_county, violations)
from planner.repair import short_sites
from planner.scenario import Scenario, SolverConfig
from planner.solve import SolveResult, solve
from planner.staged import guides, investments, layout_fixing, solve_fixed, solve_staged
from planner.travel import attach_distances
from tests.factory import OFF, deep_merge, full_site_case, make_case, school, village


def test_bisection_cuts_across_the_wider_extent_at_the_weighted_share():
    """Five points on a line (x wider than y): two parts split where the
    cumulative weight comes closest to half (2 of 8 and 6 of 8 tie: the
    earlier cut), three parts near a third and two thirds; the order of the
    rows does not matter."""
    pts = pd.DataFrame({"x": [0.0, 4.0, 1.0, 3.0, 2.0], "y": [0.0, 0.1, 0.0, 0.1, 0.0],
                        "w": [1.0, 1.0, 1.0, 1.0, 4.0]}, index=["a", "e", "b", "d", "c"])
    two = bisect(pts, 2)
    assert two.to_dict() == {"a": 0, "b": 0, "c": 1, "d": 1, "e": 1}  
    three = bisect(pts, 3)
    assert sorted(three.unique()) == [0, 1, 2]
    assert three["a"] == three["b"] == 0 and three["e"] == 2
    tall = pts.assign(x=pts["y"], y=pts["x"])  # the same points turned: the cut follows y
    assert bisect(tall, 2).to_dict() == two.to_dict()


def test_a_township_heavier_than_half_a_region_is_cut_by_its_sites():
    """Town 甲 holds 60 of 90 pairs: with two regions (45 each) it is cut
    into its sites; 乙 (20, under half a region) stays one area, and a site
    without a township is its own."""
    sites = pd.DataFrame({"township": ["甲", "甲", "甲", "乙", "乙", ""]}, index=["a1", "a2", "a3", "b1", "b2", "c"])
    weight = pd.Series([20, 20, 20, 10, 10, 10], index=sites.index)
    assert area_keys(sites, weight, 2).tolist() == ["site:a1", "site:a2", "site:a3", "乙", "乙", "site:c"]
    light = weight.where(weight != 20, 5)  # 甲 15 of 45: under half of one region, it stays whole
    assert area_keys(sites, light, 1).tolist() == ["甲", "甲", "甲", "乙", "乙", "site:c"]


ONE_THREAD = SolverConfig(threads=1)
"""One thread, as every scenario of these tests has."""


def _lp_tables(opened: dict[str, bool], pairs: list[tuple[str, str, float, int, float]]) -> SimpleNamespace:
    """A model stand-in: ``open`` rows (one primary per site, open or not)
    and ``pairs`` (village, site, km, pupils, LP share) of band g1_3."""
    lp = pulp.LpProblem("bands")
    op = pd.DataFrame([{"site_id": s, "type": "primary", "var": lp.add_variable(f"o_{s}", 0, 1)} for s in opened])
    rows = []
    for i, (v, s, km, n, x) in enumerate(pairs):
        var = lp.add_variable(f"x{i}", 0, 1)
        var.varValue = x
        rows.append({"village_id": v, "band": "g1_3", "site_id": s, "distance_km": km, "pupils": n, "var": var})
    return SimpleNamespace(open=op, pairs=pd.DataFrame(rows)), {v: float(opened[s]) for s, v in zip(op["site_id"], op["var"])}


def test_village_bands_go_where_the_lp_had_room_for_them():
    """A (region 0) and B (region 1) open; the LP sends V1 (100 pupils) 60 %
    to A and V2 (50) wholly to A, V3 (40) to B: region 0 had 110, region 1
    80. The least overflow (10) has V1 in region 0 and V2 and V3 in region
    1 (brute force: every other split overflows by 20 or more). The old
    rule, each to its largest share, gave 150 against 40. V4 reaches only
    the closed site C: it keeps C's region."""
    m, layout = _lp_tables({"A": True, "B": True, "C": False},
                           [("V1", "A", 1.0, 100, 0.6), ("V1", "B", 2.0, 100, 0.4),
                            ("V2", "A", 1.0, 50, 1.0), ("V2", "B", 3.0, 50, 0.0),
                            ("V3", "B", 1.0, 40, 1.0), ("V3", "A", 4.0, 40, 0.0),
                            ("V4", "C", 1.0, 10, 1.0)])
    region = pd.Series({"A": 0, "B": 1, "C": 1})
    got = band_regions(m, layout, {"g1_3": {"primary"}}, region, ONE_THREAD)
    assert got.to_dict() == {("V1", "g1_3"): 0, ("V2", "g1_3"): 1, ("V3", "g1_3"): 1, ("V4", "g1_3"): 1}


def test_the_split_packs_whole_village_bands_where_largest_first_overflowed():
    """Region 0 (A) had 111 pupils of the LP, region 1 (B) 49. Largest
    first, each to its largest share with room, put V1 (60) and then V2 (50,
    tied, A nearer) in region 0 and left V3 (50, reaching only A) 49 over.
    Brute force over the four splits of V1 and V2: V2 in region 1 overflows
    by 1 pupil, every other by 11 or more."""
    m, layout = _lp_tables({"A": True, "B": True},
                           [("V1", "A", 1.0, 60, 0.6), ("V1", "B", 2.0, 60, 0.4),
                            ("V2", "A", 1.0, 50, 0.5), ("V2", "B", 2.0, 50, 0.5),
                            ("V3", "A", 1.0, 50, 1.0)])
    got = band_regions(m, layout, {"g1_3": {"primary"}}, pd.Series({"A": 0, "B": 1}), ONE_THREAD)
    assert got.to_dict() == {("V1", "g1_3"): 0, ("V2", "g1_3"): 1, ("V3", "g1_3"): 0}


def test_region_count_follows_the_pairs_per_region():
    cfg = Scenario.model_validate({"name": "x", "data": {"gpkg": "x.gpkg"}}).solver
    assert region_count(40_000, cfg) == 1  # the demo (20,149 pairs) stays one model
    assert region_count(40_001, cfg) == 5 and region_count(202_114, cfg) == 21
    assert region_count(10**6, cfg.model_copy(update={"decompose_above_pairs": None})) == 1
    assert region_count(15, cfg.model_copy(update={"decompose_above_pairs": 10, "region_pairs": 100})) == 2


def test_a_region_gets_the_budget_left_after_earlier_spending_and_later_reserves():
    scen = Scenario.model_validate({"name": "x", "data": {"gpkg": "x.gpkg"},
                                    "budget": {"total_10k_yuan": 100.0, "covers": "construction",
                                               "by_category_10k_yuan": {"sports": 30.0}}})
    b = regional_budget(scen, spent={"total": 40.0, "sports": 10.0}, reserve={"total": 25.0, "sports": 5.0})
    assert b.total_10k_yuan == pytest.approx(35.0) and b.by_category_10k_yuan == {"sports": pytest.approx(15.0)}
    assert b.covers == "construction"
    assert regional_budget(scen, {"total": 90.0}, {"total": 25.0}).total_10k_yuan == 0.0  # never below zero


CAPPED_REGIONS = deep_merge(OFF, {"targets": {"primary": 2}, "caps": {"school_pupils": {"primary": 80}},
                                  "policy": {"moves": {"primary": ["primary", "closed"]}},
                                  "solver": {"threads": 1, "mip_gap": 0.0, "decompose_above_pairs": 10,
                                             "region_pairs": 10}})
"""Capped schools (whole catchments, so the staged path), two primaries to
keep, and regions of 10 pairs: the two-towns cases below are cut in two."""


def _two_towns(tmp_path, scenario: dict):
    """Two towns 60 km apart, three villages and three schools each; in each
    town the middle school is the 1-median."""
    vs, ss = [], []
    for town, x0 in (("甲镇", 0.0), ("乙镇", 60.0)):
        tag = "A" if x0 == 0 else "B"
        vs += [village(f"{tag}{i}", x0 + dx, dy, g1_3=n, township=town)
               for i, (dx, dy, n) in enumerate([(0, 0, 30), (2, 1, 20), (4, 0, 25)])]
        ss += [school(f"S{tag}{j}", x0 + dx, 0.5, "primary", township=town) for j, dx in enumerate([0.5, 2.0, 3.5])]
    path = make_case(tmp_path, vs, ss, scenario=scenario)
    return attach_distances(load_problem(path))


def test_two_far_towns_solved_region_by_region_reach_the_direct_optimum(tmp_path):
    """Capped schools (whole catchments, so the staged path) and a target of
    two primaries: the towns never share pupils, so two regions lose
    nothing and the joined plan is the direct optimum, proved by the
    county's bound."""
    scen = CAPPED_REGIONS
    problem = _two_towns(tmp_path, scen)
    assert region_count(len(problem.pairs), problem.scenario.solver) >= 2
    assert site_regions(problem, 2).groupby(problem.sites["township"]).nunique().eq(1).all()  # a town stays whole
    direct = build_model(problem)
    best = solve_staged(direct, problem.scenario.solver, **guides(problem))
    m = build_model(problem)
    r = solve_county(m, problem)
    assert "regions" in r.message
    assert r.objective == pytest.approx(best.objective, rel=1e-9)
    assert r.best_bound == pytest.approx(best.objective, rel=1e-6) and r.mip_gap == pytest.approx(0.0, abs=1e-6)
    opened = sorted(s for s, t, v in m.open[["site_id", "type", "var"]].itertuples(index=False) if v.varValue > 0.5)
    assert opened == ["SA1", "SB1"]
    assert violations(m) == []


def test_a_region_s_first_solve_stops_at_the_first_pass_gap_and_the_second_pass_goes_on(tmp_path, monkeypatch):
    """A target gap of 0: each region's first solve is told to stop within
    FIRST_PASS_GAP of its own bound (its time passes on), while the county's
    result is still held to the target gap by the second pass."""
    scen = CAPPED_REGIONS
    problem = _two_towns(tmp_path, scen)
    gaps: list[float] = []
    real = regions.solve_staged
    monkeypatch.setattr(regions, "solve_staged", lambda m, cfg, **kw: (gaps.append(cfg.mip_gap), real(m, cfg, **kw))[1])
    r = solve_county(build_model(problem), problem)
    assert len(gaps) == region_count(len(problem.pairs), problem.scenario.solver) >= 2
    assert gaps == [FIRST_PASS_GAP] * len(gaps) and FIRST_PASS_GAP > problem.scenario.solver.mip_gap
    assert r.mip_gap == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("left_s, calls", [(SECOND_PASS_MIN_S - 1.0, 0), (SECOND_PASS_MIN_S + 1.0, 1)])
def test_the_second_pass_skips_a_region_with_less_than_its_minimum_time(monkeypatch, left_s, calls):
    """A region above the target gap gets the second pass only with at
    least SECOND_PASS_MIN_S for it (less ran seconds past the run's limit)."""
    seen: list[float] = []
    monkeypatch.setattr(regions, "cap_budget", lambda sm, scen, used: None)
    monkeypatch.setattr(regions, "site_spending", lambda sm: None)
    monkeypatch.setattr(regions, "_sums", lambda spend, scen: {})
    monkeypatch.setattr(regions, "repeat_repairs", lambda m, cfg, s, best: (seen.append(s), best)[1])
    monkeypatch.setattr(regions, "polish", lambda m, cfg, s, best: best)
    scen = Scenario.model_validate({"name": "x", "data": {"gpkg": "x.gpkg"}, "solver": {"mip_gap": 0.005}})
    solved = [(None, SolveResult("time_limit", 101.0, 100.0, 0.0099, "highs", 1.0))]
    second_pass(solved, [{}], scen, lambda: left_s)
    assert seen == [left_s] * calls


def test_a_second_pass_share_below_the_minimum_is_raised_to_it(monkeypatch):
    """Regions 12 and 8 above their bounds share 20 s: the first's 12 s
    share is raised to SECOND_PASS_MIN_S, and the 5 s then left is too
    little for the second (before, the first was skipped and the second,
    the smaller, got all 20 s)."""
    seen: list[tuple[str, float]] = []
    monkeypatch.setattr(regions, "cap_budget", lambda sm, scen, used: None)
    monkeypatch.setattr(regions, "site_spending", lambda sm: None)
    monkeypatch.setattr(regions, "_sums", lambda spend, scen: {})
    monkeypatch.setattr(regions, "repeat_repairs", lambda m, cfg, s, best: (seen.append((m, s)), best)[1])
    monkeypatch.setattr(regions, "polish", lambda m, cfg, s, best: best)
    scen = Scenario.model_validate({"name": "x", "data": {"gpkg": "x.gpkg"}, "solver": {"mip_gap": 0.005}})
    solved = [(name, SolveResult("time_limit", 1000.0 + excess, 1000.0, 0.01, "highs", 1.0))
              for name, excess in (("B", 8.0), ("A", 12.0))]
    second_pass(solved, [{}, {}], scen, lambda: 20.0 - sum(s for _, s in seen))
    assert seen == [("A", SECOND_PASS_MIN_S)]


@pytest.mark.parametrize("minimum_s, calls", [(0.0, 1), (1e9, 0)])
def test_the_county_level_repair_runs_only_with_its_minimum_time_left(tmp_path, monkeypatch, minimum_s, calls):
    """The county-level repair (the county's whole model passed to HiGHS)
    is skipped when less than COUNTY_MIN_S is left, so a run ends within
    its limit."""
    scen = CAPPED_REGIONS
    problem = _two_towns(tmp_path, scen)
    seen: list[float] = []
    real = regions.repeat_repairs
    monkeypatch.setattr(regions, "COUNTY_MIN_S", minimum_s)
    monkeypatch.setattr(regions, "repeat_repairs", lambda m, cfg, s, best: (seen.append(s), real(m, cfg, s, best))[1])
    r = solve_county(build_model(problem), problem)
    assert len(seen) == calls and r.mip_gap == pytest.approx(0.0, abs=1e-6)  # regions at gap 0 need no second pass


def test_each_stage_of_the_decomposition_is_logged_with_its_objective(tmp_path, caplog):
    """At INFO (``planner run --verbose``) the county LP's bound, each
    region's first pass and the joined plan are logged, with the figures
    the result reports."""
    scen = CAPPED_REGIONS
    problem = _two_towns(tmp_path, scen)
    n = region_count(len(problem.pairs), problem.scenario.solver)
    with caplog.at_level("INFO", logger="planner.regions"):
        r = solve_county(build_model(problem), problem)
    lines = [rec.getMessage() for rec in caplog.records]
    assert lines[0].startswith(f"county LP: optimal, bound {r.best_bound:.1f}")
    assert [ln.split(",")[0] for ln in lines[1:1 + n]] == [f"region {i} of {n}" for i in range(1, n + 1)]
    assert f"joined plan: {r.objective:.1f}" in "\n".join(lines)


def test_without_the_county_lp_the_regions_start_from_the_current_layout(tmp_path, monkeypatch):
    """The county's LP not solved in its time (10x the demo needs 155 s): the
    regions are guided by the current layout instead, the plan keeps every
    row, and it says it has no bound (the county's polish, which could prove
    one, is held off). Here each town keeps its heaviest school in the
    rounding and its region then finds its 1-median: the direct optimum."""
    problem = _two_towns(tmp_path, CAPPED_REGIONS)
    best = solve_staged(build_model(problem), problem.scenario.solver, **guides(problem))
    monkeypatch.setattr(regions, "county_lp", lambda m, cfg: SolveResult("no_solution", None, None, None, "highs", 5.0))
    monkeypatch.setattr(regions, "COUNTY_MIN_S", 1e9)
    m = build_model(problem)
    r = solve_county(m, problem)
    assert r.has_plan and violations(m) == []
    assert r.best_bound is None and r.mip_gap is None and "current layout" in r.message
    assert r.objective == pytest.approx(best.objective, rel=1e-9)


def test_a_p_median_core_above_the_threshold_is_still_one_direct_solve(tmp_path):
    """No caps, no standards: the p-median core, whose one solve from the
    interchange start reaches OR-Library's optima, is never cut into regions."""
    scen = deep_merge(OFF, {"targets": {"primary": 2}, "policy": {"moves": {"primary": ["primary", "closed"]}},
                            "solver": {"threads": 1, "mip_gap": 0.0, "decompose_above_pairs": 10, "region_pairs": 10}})
    problem = _two_towns(tmp_path, scen)
    m = build_model(problem)
    assert region_count(len(m.pairs), problem.scenario.solver) >= 2 and m.pairs["relaxed"].any()
    r = solve_county(m, problem)
    assert "regions" not in r.message and r.status == "optimal"
    opened = sorted(s for s, v in zip(m.open["site_id"], m.open["var"]) if v.varValue > 0.5)
    assert opened == ["SA1", "SB1"]


def test_a_coupled_county_joined_from_regions_keeps_every_row(tmp_path):
    """Standards on and a budget that binds (shortfalls priced): the regions
    share it out, and the joined plan breaks no row of the county's model,
    spends the whole budget and equals the direct optimum."""
    scen = {"targets": {"primary": 2}, "policy": {"moves": {"primary": ["primary", "closed"]}},
            "budget": {"total_10k_yuan": 150.0}, "indicators": {"allow_shortfalls": True},
            "solver": {"threads": 1, "mip_gap": 0.0, "decompose_above_pairs": 10, "region_pairs": 10}}
    problem = _two_towns(tmp_path, scen)
    direct = build_model(problem)
    best = solve_staged(direct, problem.scenario.solver, **guides(problem))
    m = build_model(problem)
    r = solve_county(m, problem)
    assert r.has_plan and "regions" in r.message
    assert violations(m) == []
    assert r.best_bound <= best.objective + 1e-6 * abs(best.objective)
    budgeted = sum(e.value() or 0.0 for k, e in m.cost.items() if problem.scenario.budget.covered(k))
    assert budgeted == pytest.approx(150.0)  # binding: the unbudgeted optimum spends 367.8
    # the towns share nothing but the budget, and the LP's shares of it are the optimum's: no loss
    assert r.objective == pytest.approx(best.objective, rel=1e-9)


def _joined_on_full_site(tmp_path):
    """The full-site case's direct optimum, and a model holding a joined plan
    that sends V2 to the full site A (as a region cut from B would)."""
    problem = full_site_case(tmp_path)
    cfg = problem.scenario.solver
    direct = solve(build_model(problem), cfg)
    m = build_model(problem)
    solve(m, cfg)
    wrong = {v: float(s == "A") for v, vid, s in zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"]) if vid == "V2"}
    return m, cfg, direct, solve_fixed(m, cfg, {**layout_fixing(m), **wrong})


def test_the_shortfall_repair_moves_a_village_off_a_full_site_and_keeps_investments_whole(tmp_path):
    """A joined plan that sends V2 to the full site A (a priced shortfall,
    as a region cut from B would): the county repair moves it to B, reaches
    the direct optimum and leaves every investment whole."""
    m, cfg, direct, joined = _joined_on_full_site(tmp_path)
    assert short_sites(m) == {"A"} and joined.objective > direct.objective + 1.0

    r = repair_shortfalls(m, cfg, 30.0, joined)
    assert r.objective == pytest.approx(direct.objective, rel=1e-9) and short_sites(m) == set()
    assert all(abs(v.varValue - round(v.varValue)) < 1e-6 for v in investments(m))
    assert violations(m) == []


def test_repeated_repairs_stop_once_a_repair_brings_nothing(tmp_path):
    """From the same joined plan (V2 on the full site A), repairs repeated
    until one brings nothing end at the direct optimum, well within their
    time, with no shortfall left."""
    m, cfg, direct, joined = _joined_on_full_site(tmp_path)
    r = repeat_repairs(m, cfg, 300.0, joined)
    assert r.objective == pytest.approx(direct.objective, rel=1e-9) and short_sites(m) == set()
    assert violations(m) == []


def test_the_shortfall_repair_keeps_the_joined_plan_when_nothing_is_short(tmp_path):
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    best = solve(m, problem.scenario.solver)
    before = {v.name: v.varValue for v in m.lp.variables()}
    assert repair_shortfalls(m, problem.scenario.solver, 30.0, best) is best
    assert {v.name: v.varValue for v in m.lp.variables()} == before


def test_a_region_solved_again_may_spend_only_what_the_county_has_free(tmp_path):
    """Two towns solved as regions with a budget of 150: capping town A's
    budget row leaves it its own spending plus the 150 the two towns do not
    yet use, never the whole county's budget again (which let a second
    pass overspend the county's budget on the demo)."""
    scen = {"targets": {"primary": 2}, "policy": {"moves": {"primary": ["primary", "closed"]}},
            "budget": {"total_10k_yuan": 150.0}, "indicators": {"allow_shortfalls": True},
            "solver": {"threads": 1, "mip_gap": 0.0}}
    problem = _two_towns(tmp_path, scen)
    towns = problem.sites["township"]
    bands = pd.MultiIndex.from_frame(problem.pairs[["village_id", "band"]].drop_duplicates())
    models = []
    for town in ("甲镇", "乙镇"):
        sites = towns.index[towns.to_numpy() == town]
        mine = bands[[v.startswith("A" if town == "甲镇" else "B") for v, _ in bands]]
        budget = problem.scenario.budget.model_copy(update={"total_10k_yuan": 60.0})
        sub = regional_problem(problem, sites, mine, {"primary": 1}, budget, problem.scenario.solver)
        sm = build_model(sub)
        solve(sm, sub.scenario.solver)
        models.append(sm)
    spend = [sum(e.value() or 0.0 for k, e in sm.cost.items() if problem.scenario.budget.covered(k)) for sm in models]
    assert spend[0] == pytest.approx(60.0) and spend[1] == pytest.approx(60.0)  # each used its 60
    cap_budget(models[0], problem.scenario, used={"total": sum(spend)})
    assert models[0].rows["budget_total[]"].getUb() == pytest.approx(spend[0] + 150.0 - sum(spend))


def test_planner_run_verbose_prints_the_stage_log_and_quiet_runs_do_not(tmp_path, monkeypatch):
    """``planner run --verbose`` shows the decomposition's stages on stderr;
    without it they stay silent (the handler is gone after the run)."""
    import planner.cli
    from typer.testing import CliRunner

    from planner.write import write_core

    monkeypatch.setattr(planner.cli, "_writers", lambda: (write_core,))
    scen = CAPPED_REGIONS
    vs = [village(f"A{i}", dx, 0, g1_3=30, township="甲镇") for i, dx in enumerate([0, 2])]
    vs += [village(f"B{i}", 60 + dx, 0, g1_3=30, township="乙镇") for i, dx in enumerate([0, 2])]
    ss = [school(f"S{t}{j}", x0 + dx, 0.5, "primary", township=town)
          for t, x0, town in (("A", 0, "甲镇"), ("B", 60, "乙镇")) for j, dx in enumerate([0.5, 2.0])]
    path = make_case(tmp_path / "in", vs, ss, scenario=scen)
    run = lambda *flags: CliRunner().invoke(planner.cli.app, ["run", str(path), "--out", str(tmp_path / "out"),  # noqa: E731
                                                              "--force", "--quiet", *flags])
    loud, quiet = run("--verbose"), run()
    assert loud.exit_code == 0 and quiet.exit_code == 0, loud.output + quiet.output
    assert "planner.regions: county LP: optimal" in loud.output and "region 2 of 2, first pass" in loud.output
    assert "planner.regions" not in quiet.output
    assert logging.getLogger("planner").handlers == [] and logging.getLogger("planner").level == logging.NOTSET
