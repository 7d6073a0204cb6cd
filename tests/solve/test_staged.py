"""The staged solve (planner/staged.py) against a direct solve of the same
model: same optimum on small cases, and whole teachers and rooms although the
first stages treat them as continuous."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.config.tuning import RoundingTuning
from planner.data.load import load_problem
from planner.data.travel import attach_distances
from planner.model import build_model
from planner.model.core import Builder
from planner.solve import staged
from planner.solve.clock import Clock
from planner.solve.direct import Context, solve_direct
from planner.solve.rounding import Guide, fits, guide_of, round_layout, site_load
from planner.solve.staged import solve_staged
from planner.solve.status import SolveStatus, no_plan
from tests.factory import OFF, make_case, school, village

STOCK = dict(
    teachers=4,
    teachers_qualified=2,
    teachers_backbone=0,
    teachers_pe_art=0,
    equipment_value_yuan=20000,
    multimedia_rooms=0,
    music_rooms=0,
    art_rooms=0,
    teaching_area_m2=200,
    sports_area_m2=300,
)


def _county(tmp_path, seed: int):
    """Three primaries on a line, villages between them, one to close; every
    school short of teachers, rooms and equipment, so investments are needed."""
    vs = [
        village(f"V{i}", 1.5 * i, (i * seed) % 3 * 0.4, 20 + 7 * ((i + seed) % 4), 15 + 5 * (i % 3)) for i in range(6)
    ]
    ss = [school(f"S{j}", 3.5 * j, 0.2, "primary", classes_primary=2, **STOCK) for j in range(3)]
    scen = {
        "targets": {"primary": 2},
        "solver": {"threads": 1, "mip_gap": 0.0},
        "caps": OFF["caps"],
        "policy": {**OFF["policy"], "moves": {"primary": ["primary", "closed"]}},
        "budget": {"total_10k_yuan": 400.0},
    }
    return attach_distances(load_problem(make_case(tmp_path, vs, ss, scenario=scen)))


def _ctx(problem) -> Context:
    return Context(problem.scenario.solver, guide_of(problem))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_staged_reaches_the_direct_optimum_with_whole_investments(tmp_path, seed):
    problem = _county(tmp_path, seed)
    m = build_model(problem)
    direct = solve_direct(m, _ctx(problem), Clock(60))
    res = solve_staged(m, _ctx(problem), Clock(60))
    assert direct.status is SolveStatus.OPTIMAL and res.has_plan
    assert res.objective == pytest.approx(direct.objective, rel=1e-6)
    invest = m.investments
    assert invest.any() and m.form.integer[invest].all()
    assert np.abs(res.x[invest] - np.round(res.x[invest])).max() < 1e-6  # whole, although the stages relax them
    assert res.x[invest].sum() > 0  # the case does need teachers or rooms
    assert m.form.violations(res.x, 1e-6) == []


def test_a_ctrl_c_in_the_warm_start_stops_the_run(tmp_path, monkeypatch):
    """The warm start's LP reports ``interrupted`` (a Ctrl-C): the staged
    solve must stop, not carry on to stage 1 as if nothing happened."""
    real, calls = staged.solve_direct, []

    def interrupted_first(m, ctx, clock, **kw):
        r = real(m, ctx, clock, **kw)
        calls.append(r.status)
        return r.but(status=SolveStatus.INTERRUPTED) if len(calls) == 1 else r

    monkeypatch.setattr(staged, "solve_direct", interrupted_first)
    problem = _county(tmp_path, 0)
    with pytest.raises(KeyboardInterrupt):
        solve_staged(build_model(problem), _ctx(problem), Clock(60))
    assert len(calls) == 1


def test_an_lp_out_of_time_leaves_the_current_layout_to_round(tmp_path, monkeypatch):
    """Stage 1's LP not solved in its time: the warm start rounds the current
    layout instead (every school kept, the lightest by its nearest villages'
    pupils closed to meet the count), where it would otherwise give no start."""
    real, calls = staged.solve_direct, []

    def lp_out_of_time(m, ctx, clock, **kw):
        calls.append(kw)
        if len(calls) == 1:
            return no_plan(SolveStatus.NO_SOLUTION, "highs", clock.seconds, "Time limit reached")
        return real(m, ctx, clock, **kw)

    monkeypatch.setattr(staged, "solve_direct", lp_out_of_time)
    problem = _county(tmp_path, 0)
    m, ctx = build_model(problem), _ctx(problem)
    assert ctx.guide.current == {"S0": "primary", "S1": "primary", "S2": "primary"}
    start = staged.layout_start(m, ctx, Clock(30), m.whole | m.investments, 0.0)
    assert start is not None and len(calls) == 2  # the LP, then the rounded layout's solve
    kept = set(m.open.loc[start[m.open["col"].to_numpy()] > 0.5, "site_id"])
    nearest = m.pairs.sort_values("distance_km", kind="stable").drop_duplicates(["village_id", "band"])
    load = nearest.groupby("site_id")["pupils"].sum().reindex(["S0", "S1", "S2"], fill_value=0)
    assert kept == set(load.index) - {load.idxmin()}


def test_a_ctrl_c_in_stage_2_still_keeps_whole_investments(tmp_path, monkeypatch):
    """Stage 2 runs with teachers and rooms continuous; when a Ctrl-C ends
    it, the plan kept must still have them whole, and say ``interrupted``."""
    real = staged.fixed_stage
    monkeypatch.setattr(
        staged, "fixed_stage", lambda *a: (lambda r: r and r.but(status=SolveStatus.INTERRUPTED))(real(*a))
    )
    problem = _county(tmp_path, 1)
    m = build_model(problem)
    res = solve_staged(m, _ctx(problem), Clock(60))
    assert res.status is SolveStatus.INTERRUPTED
    invest = m.investments
    assert np.abs(res.x[invest] - np.round(res.x[invest])).max() < 1e-6 and res.x[invest].sum() > 0


def test_a_ctrl_c_in_the_polish_is_reported_even_when_stage_2_keeps_its_plan(tmp_path, monkeypatch):
    """The polish (stage 3) is stopped by a Ctrl-C with nothing better than
    stage 2's plan: that plan is kept, and the result says ``interrupted``."""
    real, polished = staged.solve_direct, []

    def stopped_polish(m, ctx, clock, **kw):
        r = real(m, ctx, clock, **kw)
        if "proof" not in kw:
            return r
        polished.append(r.objective)
        return r.but(status=SolveStatus.INTERRUPTED, objective=r.objective + 1e6)  # nothing better before the stop

    monkeypatch.setattr(staged, "solve_direct", stopped_polish)
    problem = _county(tmp_path, 2)
    cfg = problem.scenario.solver.model_copy(update={"mip_gap": -1.0})  # never close enough to skip the polish
    res = solve_staged(build_model(problem), Context(cfg, guide_of(problem)), Clock(60))
    assert polished and res.status is SolveStatus.INTERRUPTED and res.objective < polished[0] + 1e6


ROUND = RoundingTuning()


def _mixed_lp(values: dict[tuple[str, str], float], loads: dict[str, float], also: dict[str, list[str]] | None = None):
    """A model after an LP: ``open`` rows at ``values``, one village ``V<site>``
    per site sending it ``loads`` pupils (and reaching the sites in
    ``also[site]`` too, at share 0); primary cap 2000, teaching point 200."""
    b = Builder("mixed")
    b.open = pd.DataFrame(
        [{"site_id": s, "type": t, "var": b.var("open", (s, t), upper=1.0, integer=True, site=s)} for s, t in values]
    )
    pairs, share = [], {}
    for s, n in loads.items():
        for other in [s, *(also or {}).get(s, [])]:
            v = b.var("assign", (f"V{s}", "g1_3", other), upper=1.0, site=other)
            pairs.append(
                {
                    "village_id": f"V{s}",
                    "band": "g1_3",
                    "site_id": other,
                    "pupils": n,
                    "var": v,
                    "whole": True,
                    "distance_km": 1.0,
                }
            )
            share[v.name] = float(other == s)
    b.pairs = pd.DataFrame(pairs)
    m = b.finish()
    x = np.zeros(m.form.shape[1])
    for (s, t), val in values.items():
        x[m.open.loc[(m.open["site_id"] == s) & (m.open["type"] == t), "col"].iloc[0]] = val
    for name, val in share.items():
        x[m.form.names.get_loc(name)] = val
    return m, x


def _guide(targets: dict, sites) -> Guide:
    return Guide(
        targets={t: (n, n) for t, n in targets.items()},
        serving={"g1_3": frozenset({"primary", "teaching_point"})},
        caps={"primary": 2000.0, "teaching_point": 200.0},
        must_open=frozenset(),
        current={},
    )


def _opened(m, layout: np.ndarray) -> set[tuple[str, str]]:
    return set(zip(m.open["site_id"][layout > 0.5], m.open["type"][layout > 0.5]))


def test_rounding_never_makes_a_school_the_lp_filled_a_teaching_point():
    """The LP leans town school T (900 pupils) 0.6 towards a teaching point
    and rural R (50 pupils) 0.55: by value alone T became the teaching point
    and 700 of its pupils lost their school (as 21 county-town schools did at
    10x the demo). A teaching point (cap 200) does not fit T, so R takes it
    and T stays a primary."""
    m, x = _mixed_lp(
        {("T", "teaching_point"): 0.6, ("T", "primary"): 0.4, ("R", "teaching_point"): 0.55, ("R", "primary"): 0.45},
        {"T": 900.0, "R": 50.0},
    )
    guide = _guide({"primary": 1, "teaching_point": 1}, "TR")
    assert fits(m, guide, site_load(m, x), ROUND).tolist() == [False, True, True, True]
    assert _opened(m, round_layout(m, x, guide, ROUND)) == {("T", "primary"), ("R", "teaching_point")}


def test_rounding_keeps_a_type_mixed_school_open_as_the_type_that_holds_its_pupils():
    """The LP opens town school T wholly, as 0.7 teaching point and 0.3
    primary, with 700 pupils; rural R is a primary with 100. With one of
    each to place, by value T would be the teaching point (0.7 + R's 1.0);
    the teaching point's cap of 200 does not hold T's pupils, so T is the
    primary and R, whose 100 pupils fit, the teaching point. A type that
    does not fit is still taken when the counts leave no other way."""
    m, x = _mixed_lp(
        {("T", "teaching_point"): 0.7, ("T", "primary"): 0.3, ("R", "teaching_point"): 0.0, ("R", "primary"): 1.0},
        {"T": 700.0, "R": 100.0},
    )
    layout = round_layout(m, x, _guide({"primary": 1, "teaching_point": 1}, "TR"), ROUND)
    assert _opened(m, layout) == {("T", "primary"), ("R", "teaching_point")}
    forced = round_layout(m, x, _guide({"primary": 0, "teaching_point": 2}, "TR"), ROUND)
    assert _opened(m, forced) == {("T", "teaching_point"), ("R", "teaching_point")}  # the only layout the counts allow


def test_rounding_closes_the_site_the_lp_sent_fewest_pupils():
    """Town school T is wholly open in the LP (0.8 teaching point, 0.2
    primary) with 400 pupils; rural R is a primary with 100, rural Q a
    teaching point with 30. One primary and one teaching point: by values
    alone T closed (R primary, Q teaching point: 4.0 against 2.2), as three
    county-town schools did at 10x the demo. Counting the LP's pupils, T is
    the primary, R (100 pupils fit a teaching point) the teaching point, and
    Q, with fewest pupils and a village R can take, closes."""
    m, x = _mixed_lp(
        {
            ("T", "teaching_point"): 0.8,
            ("T", "primary"): 0.2,
            ("R", "teaching_point"): 0.0,
            ("R", "primary"): 1.0,
            ("Q", "teaching_point"): 1.0,
            ("Q", "primary"): 0.0,
        },
        {"T": 400.0, "R": 100.0, "Q": 30.0},
        also={"Q": ["R"]},
    )
    layout = round_layout(m, x, _guide({"primary": 1, "teaching_point": 1}, "TRQ"), ROUND)
    assert _opened(m, layout) == {("T", "primary"), ("R", "teaching_point")}


def test_coverage_repair_closes_the_lightest_site_not_the_lowest_valued():
    """Three primaries to place: T (0.45 open, 900 pupils), R (50) and Q (40)
    are chosen; U (10 pupils, value 0) is not, and its village reaches no
    other site, so the coverage repair opens it and must close one. T's and
    Q's villages could move to R; by value T (0.45) closed with its 900
    pupils, by weight Q (40 pupils) does."""
    m, x = _mixed_lp(
        {("T", "primary"): 0.45, ("R", "primary"): 1.0, ("Q", "primary"): 1.0, ("U", "primary"): 0.0},
        {"T": 900.0, "R": 50.0, "Q": 40.0, "U": 10.0},
        also={"T": ["R"], "Q": ["R"]},
    )
    layout = round_layout(m, x, _guide({"primary": 3}, "TRQU"), ROUND)
    assert _opened(m, layout) == {("T", "primary"), ("R", "primary"), ("U", "primary")}
