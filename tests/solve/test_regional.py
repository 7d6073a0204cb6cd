"""The regional decomposition (planner/regions.py): the bisection and the
budget shares by hand, a county of two far-apart towns solved region by
region to the direct optimum, and a coupled county (standards, a binding
budget) whose joined plan keeps every row of the county's model."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from planner.config.scenario import Scenario
from planner.config.tuning import RegionsTuning
from planner.data.load import load_problem
from planner.data.travel import attach_distances
from planner.model import build_model
from planner.model.core import Builder
from planner.solve import backend, regional
from planner.solve.clock import Clock
from planner.solve.direct import Context
from planner.solve.options import SolveOptions
from planner.solve.partition import area_keys, band_regions, bisect, region_count, site_regions
from planner.solve.regional import (
    Region,
    cap_budget,
    regional_budget,
    regional_problem,
    repair_shortfalls,
    repeat_repairs,
    second_pass,
    site_spending,
    sums,
)
from planner.solve.repair import hot_sites
from planner.solve.rounding import Guide, guide_of
from planner.solve.staged import join, layout_fixing, solve_staged
from planner.solve.status import Solution, SolveStatus, no_plan
from planner.solve.strategy import solve_model
from tests.factory import OFF, deep_merge, full_site_case, make_case, school, village


def test_bisection_cuts_across_the_wider_extent_at_the_weighted_share():
    """Five points on a line (x wider than y): two parts split where the
    cumulative weight comes closest to half (2 of 8 and 6 of 8 tie: the
    earlier cut), three parts near a third and two thirds; the order of the
    rows does not matter."""
    pts = pd.DataFrame(
        {"x": [0.0, 4.0, 1.0, 3.0, 2.0], "y": [0.0, 0.1, 0.0, 0.1, 0.0], "w": [1.0, 1.0, 1.0, 1.0, 4.0]},
        index=["a", "e", "b", "d", "c"],
    )
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


def _lp_tables(opened: dict[str, bool], pairs: list[tuple[str, str, float, int, float]]):
    """A model after an LP: ``open`` rows (one primary per site, open or not)
    and ``pairs`` (village, site, km, pupils, LP share) of band g1_3; the
    LP's values and the layout (per ``open`` row)."""
    b = Builder("bands")
    b.open = pd.DataFrame(
        [{"site_id": s, "type": "primary", "var": b.var("open", (s, "primary"), upper=1.0, site=s)} for s in opened]
    )
    rows = []
    for v, s, km, n, share in pairs:
        rows.append(
            {
                "village_id": v,
                "band": "g1_3",
                "site_id": s,
                "distance_km": km,
                "pupils": n,
                "whole": True,
                "var": b.var("assign", (v, "g1_3", s), upper=1.0, site=s),
                "share": share,
            }
        )
    b.pairs = pd.DataFrame(rows).drop(columns="share")
    m = b.finish()
    x = np.zeros(m.form.shape[1])
    x[m.pairs["col"].to_numpy()] = [r["share"] for r in rows]
    return m, x, np.array([float(opened[s]) for s in m.open["site_id"]])


def _ctx(serving=("primary",)) -> Context:
    scen = Scenario.model_validate({"name": "x", "data": {"gpkg": "x.gpkg"}, "solver": {"threads": 1}})
    guide = Guide(targets={}, serving={"g1_3": frozenset(serving)}, caps={}, must_open=frozenset(), current={})
    return Context(scen.solver, guide)


def test_village_bands_go_where_the_lp_had_room_for_them():
    """A (region 0) and B (region 1) open; the LP sends V1 (100 pupils) 60 %
    to A and V2 (50) wholly to A, V3 (40) to B: region 0 had 110, region 1
    80. The least overflow (10) has V1 in region 0 and V2 and V3 in region
    1 (brute force: every other split overflows by 20 or more). The old
    rule, each to its largest share, gave 150 against 40. V4 reaches only
    the closed site C: it keeps C's region."""
    m, x, layout = _lp_tables(
        {"A": True, "B": True, "C": False},
        [
            ("V1", "A", 1.0, 100, 0.6),
            ("V1", "B", 2.0, 100, 0.4),
            ("V2", "A", 1.0, 50, 1.0),
            ("V2", "B", 3.0, 50, 0.0),
            ("V3", "B", 1.0, 40, 1.0),
            ("V3", "A", 4.0, 40, 0.0),
            ("V4", "C", 1.0, 10, 1.0),
        ],
    )
    got = band_regions(m, x, layout, pd.Series({"A": 0, "B": 1, "C": 1}), _ctx(), Clock(30))
    assert got.to_dict() == {("V1", "g1_3"): 0, ("V2", "g1_3"): 1, ("V3", "g1_3"): 1, ("V4", "g1_3"): 1}


def test_the_split_packs_whole_village_bands_where_largest_first_overflowed():
    """Region 0 (A) had 111 pupils of the LP, region 1 (B) 49. Largest
    first, each to its largest share with room, put V1 (60) and then V2 (50,
    tied, A nearer) in region 0 and left V3 (50, reaching only A) 49 over.
    Brute force over the four splits of V1 and V2: V2 in region 1 overflows
    by 1 pupil, every other by 11 or more."""
    m, x, layout = _lp_tables(
        {"A": True, "B": True},
        [
            ("V1", "A", 1.0, 60, 0.6),
            ("V1", "B", 2.0, 60, 0.4),
            ("V2", "A", 1.0, 50, 0.5),
            ("V2", "B", 2.0, 50, 0.5),
            ("V3", "A", 1.0, 50, 1.0),
        ],
    )
    got = band_regions(m, x, layout, pd.Series({"A": 0, "B": 1}), _ctx(), Clock(30))
    assert got.to_dict() == {("V1", "g1_3"): 0, ("V2", "g1_3"): 1, ("V3", "g1_3"): 0}


def test_region_count_follows_the_pairs_per_region():
    t = RegionsTuning(decompose_above_pairs=40_000, region_pairs=10_000)
    assert region_count(40_000, t) == 1
    assert region_count(40_001, t) == 5 and region_count(202_114, t) == 21
    assert region_count(10**6, t.model_copy(update={"decompose_above_pairs": None})) == 1
    assert region_count(15, t.model_copy(update={"decompose_above_pairs": 10, "region_pairs": 100})) == 2


def test_a_region_gets_the_budget_left_after_earlier_spending_and_later_reserves():
    scen = Scenario.model_validate(
        {
            "name": "x",
            "data": {"gpkg": "x.gpkg"},
            "budget": {"total_10k_yuan": 100.0, "covers": "construction", "by_category_10k_yuan": {"sports": 30.0}},
        }
    )
    b = regional_budget(scen, spent={"total": 40.0, "sports": 10.0}, reserve={"total": 25.0, "sports": 5.0})
    assert b.total_10k_yuan == pytest.approx(35.0) and b.by_category_10k_yuan == {"sports": pytest.approx(15.0)}
    assert b.covers == "construction"
    assert regional_budget(scen, {"total": 90.0}, {"total": 25.0}).total_10k_yuan == 0.0  # never below zero


CAPPED_REGIONS = deep_merge(
    OFF,
    {
        "targets": {"primary": 2},
        "caps": {"school_pupils": {"primary": 80}},
        "policy": {"moves": {"primary": ["primary", "closed"]}},
        "solver": {
            "threads": 1,
            "mip_gap": 0.0,
            "tuning": {"regions": {"decompose_above_pairs": 10, "region_pairs": 10}},
        },
    },
)
"""Capped schools (whole catchments, so the staged path), two primaries to
keep, and regions of 10 pairs: the two-towns cases below are cut in two."""


def _two_towns(tmp_path, scenario: dict):
    """Two towns 60 km apart, three villages and three schools each; in each
    town the middle school is the 1-median."""
    vs, ss = [], []
    for town, x0 in (("甲镇", 0.0), ("乙镇", 60.0)):
        tag = "A" if x0 == 0 else "B"
        vs += [
            village(f"{tag}{i}", x0 + dx, dy, g1_3=n, township=town)
            for i, (dx, dy, n) in enumerate([(0, 0, 30), (2, 1, 20), (4, 0, 25)])
        ]
        ss += [school(f"S{tag}{j}", x0 + dx, 0.5, "primary", township=town) for j, dx in enumerate([0.5, 2.0, 3.5])]
    path = make_case(tmp_path, vs, ss, scenario=scenario)
    return attach_distances(load_problem(path))


def _regions(problem) -> int:
    return region_count(len(problem.pairs), problem.scenario.solver.tuning.regions)


def _opened(m, x) -> list[str]:
    return sorted(m.open.loc[x[m.open["col"].to_numpy()] > 0.5, "site_id"])


def _staged_best(problem) -> Solution:
    return solve_staged(build_model(problem), Context(problem.scenario.solver, guide_of(problem)), Clock(60))


def test_two_far_towns_solved_region_by_region_reach_the_direct_optimum(tmp_path):
    """Capped schools (whole catchments, so the staged path) and a target of
    two primaries: the towns never share pupils, so two regions lose
    nothing and the joined plan is the direct optimum, proved by the
    county's bound."""
    problem = _two_towns(tmp_path, CAPPED_REGIONS)
    assert _regions(problem) >= 2
    assert site_regions(problem, 2).groupby(problem.sites["township"]).nunique().eq(1).all()  # a town stays whole
    best = _staged_best(problem)
    m = build_model(problem)
    r = solve_model(m, problem, Clock(60))
    assert "regions" in r.message
    assert r.objective == pytest.approx(best.objective, rel=1e-9)
    assert r.bound == pytest.approx(best.objective, rel=1e-6) and r.gap == pytest.approx(0.0, abs=1e-6)
    assert _opened(m, r.x) == ["SA1", "SB1"]
    assert m.form.violations(r.x, 1e-6) == []


def test_a_region_s_first_solve_stops_at_the_first_pass_gap_and_the_second_pass_goes_on(tmp_path, monkeypatch):
    """A target gap of 0: each region's first solve is told to stop within
    ``first_pass_gap`` of its own bound (its time passes on), while the
    county's result is still held to the target gap by the second pass."""
    problem = _two_towns(tmp_path, CAPPED_REGIONS)
    gaps: list[float] = []
    real = regional.solve_staged
    monkeypatch.setattr(
        regional, "solve_staged", lambda m, ctx, clock: (gaps.append(ctx.cfg.mip_gap), real(m, ctx, clock))[1]
    )
    r = solve_model(build_model(problem), problem, Clock(60))
    first_pass_gap = problem.scenario.solver.tuning.regions.first_pass_gap
    assert len(gaps) == _regions(problem) >= 2
    assert gaps == [first_pass_gap] * len(gaps) and first_pass_gap > problem.scenario.solver.mip_gap
    assert r.gap == pytest.approx(0.0, abs=1e-6)


def _second_pass_stubs(monkeypatch, seen: list) -> None:
    monkeypatch.setattr(regional, "cap_budget", lambda sm, x, scen, used: sm)
    monkeypatch.setattr(regional, "site_spending", lambda sm, x: None)
    monkeypatch.setattr(regional, "sums", lambda spend, scen: {})
    monkeypatch.setattr(
        regional, "repeat_repairs", lambda m, ctx, clock, best: (seen.append((m, clock.seconds)), best)[1]
    )
    monkeypatch.setattr(regional, "polish", lambda m, ctx, clock, best: best)


def _region(name: str, objective: float, bound: float) -> Region:
    return Region(name, Solution(SolveStatus.TIME_LIMIT, np.zeros(1), objective, bound, "highs", 1.0), {})


SECOND_PASS_MIN_S = RegionsTuning().second_pass_min_s


@pytest.mark.parametrize("left_s, calls", [(SECOND_PASS_MIN_S - 1.0, 0), (SECOND_PASS_MIN_S + 1.0, 1)])
def test_the_second_pass_skips_a_region_with_less_than_its_minimum_time(monkeypatch, left_s, calls):
    """A region above the target gap gets the second pass only with at
    least ``second_pass_min_s`` for it (less ran seconds past the run's limit)."""
    seen: list = []
    _second_pass_stubs(monkeypatch, seen)
    ctx = _ctx()
    second_pass([_region("A", 101.0, 100.0)], Scenario.model_validate({"name": "x", "data": {}}), ctx, Clock(left_s))
    assert len(seen) == calls and all(s == pytest.approx(left_s, abs=0.1) for _, s in seen)


def test_a_second_pass_share_below_the_minimum_is_raised_to_it(monkeypatch):
    """Regions 12 and 8 above their bounds share 20 s: the first's 12 s
    share is raised to ``second_pass_min_s``, and the 5 s then left is too
    little for the second (the smaller would otherwise have had all 20 s)."""
    seen: list = []
    _second_pass_stubs(monkeypatch, seen)

    class Time:
        t = 0.0

        def __call__(self):
            return self.t

    now = Time()

    def spend_it(m, ctx, clock, best):  # each repair uses its whole part
        seen.append((m, clock.seconds))
        now.t += clock.seconds
        return best

    monkeypatch.setattr(regional, "repeat_repairs", spend_it)
    regions = [_region("B", 1008.0, 1000.0), _region("A", 1012.0, 1000.0)]
    second_pass(regions, Scenario.model_validate({"name": "x", "data": {}}), _ctx(), Clock(20.0, now=now))
    assert seen == [("A", pytest.approx(SECOND_PASS_MIN_S))]


@pytest.mark.parametrize("minimum_s, calls", [(0.0, 1), (1e9, 0)])
def test_the_county_level_repair_runs_only_with_its_minimum_time_left(tmp_path, monkeypatch, minimum_s, calls):
    """The county-level repair (the county's whole model passed to HiGHS)
    is skipped when less than ``county_min_s`` is left, so a run ends within
    its limit."""
    scen = deep_merge(CAPPED_REGIONS, {"solver": {"tuning": {"regions": {"county_min_s": minimum_s}}}})
    problem = _two_towns(tmp_path, scen)
    seen: list = []
    real = regional.repeat_repairs
    monkeypatch.setattr(
        regional, "repeat_repairs", lambda m, ctx, clock, best: (seen.append(1), real(m, ctx, clock, best))[1]
    )
    r = solve_model(build_model(problem), problem, Clock(60))
    assert len(seen) == calls and r.gap == pytest.approx(0.0, abs=1e-6)  # regions at gap 0 need no second pass


def test_each_stage_of_the_decomposition_is_logged_with_its_objective(tmp_path, caplog):
    """At INFO (``planner run --verbose``) the county LP's bound, each
    region's first pass and the joined plan are logged, with the figures
    the result reports."""
    problem = _two_towns(tmp_path, CAPPED_REGIONS)
    n = _regions(problem)
    with caplog.at_level("INFO", logger="planner.solve.regional"):
        r = solve_model(build_model(problem), problem, Clock(60))
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "planner.solve.regional"]
    assert lines[0].startswith(f"county LP: optimal, bound {r.bound:.1f}")
    assert [ln.split(",")[0] for ln in lines[1 : 1 + n]] == [f"region {i} of {n}" for i in range(1, n + 1)]
    assert f"joined plan: {r.objective:.1f}" in "\n".join(lines)


def test_without_the_county_lp_the_regions_start_from_the_current_layout(tmp_path, monkeypatch):
    """The county's LP not solved in its time: the regions are guided by the
    current layout instead, the plan keeps every row, and it says it has no
    bound (the county's polish, which could prove one, is held off). Here
    each town keeps its heaviest school in the rounding and its region then
    finds its 1-median: the direct optimum."""
    scen = deep_merge(CAPPED_REGIONS, {"solver": {"tuning": {"regions": {"county_min_s": 1e9}}}})
    problem = _two_towns(tmp_path, scen)
    best = _staged_best(problem)
    real = regional.solve_direct

    def lp_out_of_time(m, ctx, clock, **kw):
        if kw.get("lp_method"):
            return no_plan(SolveStatus.NO_SOLUTION, "highs", 5.0, "Time limit reached")
        return real(m, ctx, clock, **kw)

    monkeypatch.setattr(regional, "solve_direct", lp_out_of_time)
    m = build_model(problem)
    r = solve_model(m, problem, Clock(60))
    assert r.has_plan and m.form.violations(r.x, 1e-6) == []
    assert r.bound is None and r.gap is None and "current layout" in r.message
    assert r.objective == pytest.approx(best.objective, rel=1e-9)


def test_a_p_median_core_above_the_threshold_is_still_one_direct_solve(tmp_path):
    """No caps, no standards: the p-median core, whose one solve from the
    interchange start reaches OR-Library's optima, is never cut into regions."""
    scen = deep_merge(
        OFF,
        {
            "targets": {"primary": 2},
            "policy": {"moves": {"primary": ["primary", "closed"]}},
            "solver": {
                "threads": 1,
                "mip_gap": 0.0,
                "tuning": {"regions": {"decompose_above_pairs": 10, "region_pairs": 10}},
            },
        },
    )
    problem = _two_towns(tmp_path, scen)
    m = build_model(problem)
    assert _regions(problem) >= 2 and m.relaxable.any()
    r = solve_model(m, problem, Clock(60))
    assert "regions" not in r.message and r.status is SolveStatus.OPTIMAL
    assert _opened(m, r.x) == ["SA1", "SB1"]


def test_a_coupled_county_joined_from_regions_keeps_every_row(tmp_path):
    """Standards on and a budget that binds (shortfalls priced): the regions
    share it out, and the joined plan breaks no row of the county's model,
    spends the whole budget and equals the direct optimum."""
    scen = {
        "targets": {"primary": 2},
        "policy": {"moves": {"primary": ["primary", "closed"]}},
        "budget": {"total_10k_yuan": 150.0},
        "indicators": {"allow_shortfalls": True},
        "solver": {
            "threads": 1,
            "mip_gap": 0.0,
            "tuning": {"regions": {"decompose_above_pairs": 10, "region_pairs": 10}},
        },
    }
    problem = _two_towns(tmp_path, scen)
    best = _staged_best(problem)
    m = build_model(problem)
    r = solve_model(m, problem, Clock(60))
    assert r.has_plan and "regions" in r.message
    assert m.form.violations(r.x, 1e-6) == []
    assert r.bound <= best.objective + 1e-6 * abs(best.objective)
    assert m.budgeted(r.x, problem.scenario.budget.covered) == pytest.approx(150.0)  # binding: unbudgeted, 367.8
    # the towns share nothing but the budget, and the LP's shares of it are the optimum's: no loss
    assert r.objective == pytest.approx(best.objective, rel=1e-9)


def _joined_on_full_site(tmp_path):
    """The full-site case's direct optimum, and a joined plan that sends V2
    to the full site A (as a region cut from B would)."""
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    ctx = Context(problem.scenario.solver, guide_of(problem))
    opts = SolveOptions.of(problem.scenario.solver, 60)
    direct = backend.solve(m.form, opts)
    v2 = m.pairs[m.pairs["village_id"] == "V2"]
    wrong = join(layout_fixing(m, direct.x), (v2["col"].to_numpy(), (v2["site_id"] == "A").to_numpy(float)))
    return m, ctx, direct, backend.solve(m.form.fixed(*wrong), opts)


def test_the_shortfall_repair_moves_a_village_off_a_full_site_and_keeps_investments_whole(tmp_path):
    """A joined plan that sends V2 to the full site A (a priced shortfall):
    the county repair moves it to B, reaches the direct optimum and leaves
    every investment whole."""
    m, ctx, direct, joined = _joined_on_full_site(tmp_path)
    assert hot_sites(m, joined.x, 1e-6) == ["A"] and joined.objective > direct.objective + 1.0
    r = repair_shortfalls(m, ctx, Clock(30), joined)
    assert r.objective == pytest.approx(direct.objective, rel=1e-9) and hot_sites(m, r.x, 1e-6) == []
    invest = m.investments
    assert np.abs(r.x[invest] - np.round(r.x[invest])).max() < 1e-6
    assert m.form.violations(r.x, 1e-6) == []


def test_repeated_repairs_stop_once_a_repair_brings_nothing(tmp_path):
    """From the same joined plan, repairs repeated until one brings nothing
    end at the direct optimum, well within their time, with no shortfall left."""
    m, ctx, direct, joined = _joined_on_full_site(tmp_path)
    clock = Clock(300)
    r = repeat_repairs(m, ctx, clock, joined)
    assert r.objective == pytest.approx(direct.objective, rel=1e-9) and hot_sites(m, r.x, 1e-6) == []
    assert m.form.violations(r.x, 1e-6) == [] and not clock.done()


def test_the_shortfall_repair_keeps_the_joined_plan_when_nothing_is_short(tmp_path):
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    ctx = Context(problem.scenario.solver, guide_of(problem))
    best = backend.solve(m.form, SolveOptions.of(problem.scenario.solver, 60))
    assert repair_shortfalls(m, ctx, Clock(30), best) is best


def test_a_region_solved_again_may_spend_only_what_the_county_has_free(tmp_path):
    """Two towns solved as regions with a budget of 150: capping town A's
    budget row leaves it its own spending plus the 150 the two towns do not
    yet use, never the whole county's budget again."""
    scen = {
        "targets": {"primary": 2},
        "policy": {"moves": {"primary": ["primary", "closed"]}},
        "budget": {"total_10k_yuan": 150.0},
        "indicators": {"allow_shortfalls": True},
        "solver": {"threads": 1, "mip_gap": 0.0},
    }
    problem = _two_towns(tmp_path, scen)
    towns = problem.sites["township"]
    bands = pd.MultiIndex.from_frame(problem.pairs[["village_id", "band"]].drop_duplicates())
    plans = []
    for town in ("甲镇", "乙镇"):
        sites = towns.index[towns.to_numpy() == town]
        mine = bands[[v.startswith("A" if town == "甲镇" else "B") for v, _ in bands]]
        budget = problem.scenario.budget.model_copy(update={"total_10k_yuan": 60.0})
        sub = regional_problem(problem, sites, mine, {"primary": 1}, budget, problem.scenario.solver)
        sm = build_model(sub)
        plans.append((sm, backend.solve(sm.form, SolveOptions.of(sub.scenario.solver, 60)).x))
    spend = [sm.budgeted(x, problem.scenario.budget.covered) for sm, x in plans]
    assert spend[0] == pytest.approx(60.0) and spend[1] == pytest.approx(60.0)  # each used its 60
    capped = cap_budget(plans[0][0], plans[0][1], problem.scenario, used={"total": sum(spend)})
    row = capped.row("budget_total")
    assert capped.form.row_upper[row] == pytest.approx(spend[0] + 150.0 - sum(spend))
    assert plans[0][0].form.row_upper[row] == pytest.approx(60.0)  # the region's own model is unchanged
    assert sums(site_spending(*plans[0]), problem.scenario)["total"] == pytest.approx(spend[0])


def test_planner_run_verbose_prints_the_stage_log_and_quiet_runs_do_not(tmp_path, monkeypatch):
    """``planner run --verbose`` shows the decomposition's stages on stderr;
    without it they stay silent (the handler is gone after the run)."""
    from typer.testing import CliRunner

    import planner.cli
    from planner.outputs.folder import write_core

    monkeypatch.setattr(planner.cli, "_writers", lambda: (write_core,))
    scen = CAPPED_REGIONS
    vs = [village(f"A{i}", dx, 0, g1_3=30, township="甲镇") for i, dx in enumerate([0, 2])]
    vs += [village(f"B{i}", 60 + dx, 0, g1_3=30, township="乙镇") for i, dx in enumerate([0, 2])]
    ss = [
        school(f"S{t}{j}", x0 + dx, 0.5, "primary", township=town)
        for t, x0, town in (("A", 0, "甲镇"), ("B", 60, "乙镇"))
        for j, dx in enumerate([0.5, 2.0])
    ]
    path = make_case(tmp_path / "in", vs, ss, scenario=scen)

    def run(*flags):
        return CliRunner().invoke(
            planner.cli.app, ["run", str(path), "--out", str(tmp_path / "out"), "--force", "--quiet", *flags]
        )

    loud, quiet = run("--verbose"), run()
    assert loud.exit_code == 0 and quiet.exit_code == 0, loud.output + quiet.output
    assert "planner.solve.regional: county LP: optimal" in loud.output and "region 2 of 2, first pass" in loud.output
    assert "time plan:" in loud.output and "gets" in loud.output  # the plan of time and each stage's seconds
    assert "planner.solve" not in quiet.output and "time plan" not in quiet.output
    assert logging.getLogger("planner").handlers == [] and logging.getLogger("planner").level == logging.NOTSET
