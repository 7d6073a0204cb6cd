"""The p-median warm start, the relaxed whole catchments and their rounding,
checked against brute force and recomputed by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.config.tuning import WarmStartTuning
from planner.data.load import load_problem
from planner.data.travel import attach_distances
from planner.model import build_model
from planner.solve.direct import whole_catchments, working_form
from planner.solve.warmstart import Core, core_of, greedy, initial_solution, interchange, is_complete, total_cost
from tests.factory import OFF, deep_merge, make_case, school, village

SWAPS = WarmStartTuning().max_swaps

PMEDIAN = deep_merge(OFF, {"policy": {"moves": {"primary": ["primary", "closed"]}}})


def _core(cost: np.ndarray, p: int, forced=None, fixed=None) -> Core:
    n = cost.shape[1]
    return Core(
        cost,
        np.zeros(n) if fixed is None else np.asarray(fixed, float),
        np.zeros(n, bool) if forced is None else np.asarray(forced, bool),
        p,
        np.arange(n),
        np.zeros(0, int),
        np.zeros(0, int),
        np.zeros(0, int),
        np.zeros(0, int),
    )


def _brute(core: Core) -> float:
    best = np.inf
    for s in itertools.combinations(range(core.cost.shape[1]), core.p):
        if core.forced[[j for j in range(len(core.forced)) if j not in s]].any():
            continue
        best = min(best, total_cost(core, np.array(s)))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_interchange_is_a_local_optimum_no_worse_than_greedy(seed):
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 50, size=(14, 7)).astype(float) * rng.integers(1, 4, size=(14, 1))
    cost[rng.random(cost.shape) < 0.15] = np.inf
    core = _core(cost, p=3)
    g = greedy(core)
    best = interchange(core, g, max_swaps=SWAPS)
    assert len(set(best)) == 3
    assert total_cost(core, best) <= total_cost(core, g) + 1e-9
    here = total_cost(core, best)
    for r, j in itertools.product(best, range(7)):  # no single swap improves
        if j in best:
            continue
        other = np.array(sorted([*(x for x in best if x != r), j]))
        assert total_cost(core, other) >= here - 1e-9
    assert here >= _brute(core) - 1e-9


def test_forced_sites_stay_open_and_fixed_costs_count():
    cost = np.array([[0.0, 5.0, 9.0], [5.0, 0.0, 9.0], [9.0, 9.0, 0.0]])
    core = _core(cost, p=2, forced=[False, False, True])
    assert 2 in interchange(core, greedy(core), max_swaps=SWAPS)
    # A large fixed cost on site 0 moves the second site to 1.
    core = _core(cost, p=2, fixed=[100.0, 0.0, 0.0])
    assert list(interchange(core, greedy(core), max_swaps=SWAPS)) == [1, 2]


def _tie_case(tmp_path, scenario):
    # V2 sits halfway between S1 and S2; p = 2 opens both: a tie for V2.
    villages = [village("V1", 0, 0, g1_3=5), village("V2", 2, 0, g1_3=7), village("V3", 4, 0, g1_3=5)]
    schools = [school("S1", 0, 0), school("S2", 4, 0), school("S3", 2, 6)]
    path = make_case(tmp_path, villages, schools, scenario=deep_merge(PMEDIAN, {"targets": {"primary": 2}, **scenario}))
    return attach_distances(load_problem(path))


def test_pmedian_core_relaxes_assignments_and_starts_complete(tmp_path):
    m = build_model(_tie_case(tmp_path, {}))
    pairs, opens = m.pairs["col"].to_numpy(), m.open["col"].to_numpy()
    assert m.form.integer[pairs].all() and m.relaxable[pairs].all() and not m.relaxable[opens].any()
    form = working_form(m)
    assert not form.integer[pairs].any() and form.integer[opens].all()
    start = initial_solution(m, WarmStartTuning())
    assert is_complete(form, start) and not np.isnan(start).any()
    assert set(m.open.loc[start[opens] == 1.0, "site_id"]) == {"S1", "S2"}
    assert m.form.violations(start, 1e-9) == []  # the start keeps every row
    assert m.form.objective(start) == pytest.approx(7 * 2.0)


def test_capacity_keeps_binary_assignments_and_partial_start(tmp_path):
    caps = {"caps": {"school_pupils": {"primary": 12}}}
    m = build_model(_tie_case(tmp_path, caps))
    assert not m.relaxable.any() and working_form(m).integer[m.pairs["col"].to_numpy()].all()
    start = initial_solution(m, WarmStartTuning())
    assert set(np.flatnonzero(~np.isnan(start))) == set(m.open["col"])


def test_whole_catchments_rounds_a_tie_split_to_the_cheapest_share(tmp_path):
    m = build_model(_tie_case(tmp_path, {}))
    form = working_form(m)
    share = {("V1", "S1"): 1.0, ("V3", "S2"): 1.0, ("V2", "S1"): 0.4, ("V2", "S2"): 0.6}
    x = np.zeros(form.shape[1])
    for v, s, c in m.pairs[["village_id", "site_id", "col"]].itertuples(index=False):
        x[c] = share.get((v, s), 0.0)
    whole = whole_catchments(m, form, x)
    got = {(v, s): whole[c] for v, s, c in m.pairs[["village_id", "site_id", "col"]].itertuples(index=False)}
    assert got[("V2", "S1")] + got[("V2", "S2")] == 1.0  # one whole catchment, either tied site
    assert got[("V2", "S3")] == 0.0 and got[("V1", "S1")] == 1.0 and got[("V3", "S2")] == 1.0
    # With unequal costs the cheaper positive share wins, whatever the larger share.
    for v, s, c in m.pairs[["village_id", "site_id", "col"]].itertuples(index=False):
        x[c] = {("V1", "S1"): 0.3, ("V1", "S3"): 0.7}.get((v, s), 1.0 if (v, s) in share else 0.0)
    whole = whole_catchments(m, form, x)
    got = {(v, s): whole[c] for v, s, c in m.pairs[["village_id", "site_id", "col"]].itertuples(index=False)}
    assert got[("V1", "S1")] == 1.0 and got[("V1", "S3")] == 0.0


def test_solved_tie_case_has_whole_catchments(tmp_path, solve_to_folder):
    problem = _tie_case(tmp_path, {})
    from planner.pipeline import solve_problem

    run = solve_problem(problem)
    a = run.plan.assignments
    assert a.groupby(["village_id", "band"]).size().max() == 1
    assert a["pupils"].tolist() == [5.0, 7.0, 5.0]
    assert run.plan.result.objective == pytest.approx(14.0)


def test_no_core_without_a_single_type_target(tmp_path):
    scen = deep_merge(OFF, {"targets": {"primary": 1, "teaching_point": 1}})
    path = make_case(tmp_path, [village("V1", 0, 0, g1_3=5)], [school("S1", 0, 0), school("S2", 1, 0)], scenario=scen)
    m = build_model(attach_distances(load_problem(path)))
    assert core_of(m) is None and initial_solution(m, WarmStartTuning()) is None
