"""Alternatives near the best plan (planner/solve/alternatives.py) on tiny
p-median counties whose every layout is costed by brute force: each
alternative is within the slack and as distinct as any layout within it
(the cheapest among the equally distinct), or goes furthest in its
direction; the neighbourhood search keeps every row and the cap."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planner.model.build import build_model
from planner.pipeline import near_run, prepare, solve_problem
from planner.solve.alternatives import Direction, decisions, solve_alternative
from planner.solve.clock import Clock
from planner.solve.direct import Context
from planner.solve.rounding import guide_of
from tests.factory import OFF, deep_merge, make_case, school, site, village


def _case(folder: Path, villages: list[tuple[float, int]], schools: list[float], p: int, new: list[float] = ()):
    """Villages (x km, pupils of g1_3) and primaries (x km) on a line; ``p`` primaries open after the plan;
    ``new``: candidate sites for a primary."""
    vs = [village(f"V{i}", x, 0, g1_3=n) for i, (x, n) in enumerate(villages)]
    ss = [school(f"S{j}", x, 0.0, "primary") for j, x in enumerate(schools)]
    cs = [site(f"N{j}", x, 0.0, "primary") for j, x in enumerate(new)]
    scen = deep_merge(
        OFF,
        {
            "targets": {"primary": p},
            "policy": {"moves": {"primary": ["primary", "closed"]}},
            "solver": {"threads": 1, "mip_gap": 0.0, "time_limit_s": 60},
        },
    )
    return prepare(make_case(folder, vs, ss, cs or None, scen))


def _layouts(villages: list[tuple[float, int]], sites: dict[str, float], p: int) -> dict[frozenset, float]:
    """Every layout of ``p`` open sites and its pupil-km (each village at its nearest open site)."""
    out = {}
    for open_ in itertools.combinations(sorted(sites), p):
        out[frozenset(open_)] = sum(n * min(abs(x - sites[s]) for s in open_) for x, n in villages)
    return out


def _open(run) -> frozenset:
    s = run.plan.schools
    return frozenset(s.loc[s["type_after"] != "closed", "school_id"])


VILLAGES = [(0.0, 100), (2.0, 80), (4.1, 60), (6.0, 90), (8.3, 70), (10.0, 50)]
SCHOOLS = [0.0, 3.1, 5.2, 7.0, 10.0]


def test_each_alternative_is_the_most_distinct_layout_within_the_slack(tmp_path):
    problem = _case(tmp_path, VILLAGES, SCHOOLS, 2)
    cost = _layouts(VILLAGES, {f"S{j}": x for j, x in enumerate(SCHOOLS)}, 2)
    best = solve_problem(problem)
    assert best.summary["objective"] == pytest.approx(min(cost.values()), rel=1e-9)
    slack = 0.25
    near = {k: c for k, c in cost.items() if c <= (1 + slack) * min(cost.values()) + 1e-9}
    assert len(near) >= 3  # the instance has alternatives to find
    earlier = {"best": best.plan.result.values}
    layouts = [_open(best)]
    for k in (1, 2):
        alt = near_run(problem, None, dict(earlier), slack, Direction.DIFFER)
        mine = _open(alt)
        want = min(near, key=lambda o: (sum(len(o & e) for e in layouts), near[o]))
        assert mine == want, (k, sorted(mine), sorted(want))
        assert alt.summary["objective"] == pytest.approx(cost[mine], rel=1e-9)  # the scenario's own objective
        figures = alt.summary["alternative"]
        assert figures["over_best"] == pytest.approx(cost[mine] / min(cost.values()) - 1, rel=1e-9)
        assert figures["sites_changed"]["best"] == len(mine ^ layouts[0])
        earlier[f"differ-{k}"] = alt.plan.result.values
        layouts.append(mine)
    assert len(set(layouts)) == 3


def test_no_alternative_within_a_zero_slack_of_a_unique_best(tmp_path):
    problem = _case(tmp_path, VILLAGES, SCHOOLS, 2)
    cost = _layouts(VILLAGES, {f"S{j}": x for j, x in enumerate(SCHOOLS)}, 2)
    assert sorted(cost.values())[1] > min(cost.values()) * (1 + 1e-6)
    best = solve_problem(problem)
    alt = near_run(problem, None, {"best": best.plan.result.values}, 0.0, Direction.DIFFER)
    assert _open(alt) == _open(best) and alt.summary["alternative"]["sites_changed"]["best"] == 0


def test_fewer_new_builds_the_fewest_the_slack_allows(tmp_path):
    """Two candidate sites well placed: the best builds both; at each slack the
    alternative builds as few as any layout within it."""
    villages = [(0.0, 100), (3.0, 90), (6.0, 80), (9.0, 70)]
    schools, new = [-4.0, 12.0], [0.5, 8.5]
    problem = _case(tmp_path, villages, schools, 2, new)
    sites = {**{f"S{j}": x for j, x in enumerate(schools)}, **{f"N{j}": x for j, x in enumerate(new)}}
    cost = _layouts(villages, sites, 2)
    best = solve_problem(problem)
    z = min(cost.values())
    assert best.summary["objective"] == pytest.approx(z, rel=1e-9)
    seen = []
    for slack in (0.1, 0.6, 1.5):
        alt = near_run(problem, None, {"best": best.plan.result.values}, slack, Direction.FEWER_NEW)
        near = {k: c for k, c in cost.items() if c <= (1 + slack) * z + 1e-9}
        fewest = min(sum(s.startswith("N") for s in o) for o in near)
        mine = _open(alt)
        assert sum(s.startswith("N") for s in mine) == fewest and cost[mine] <= (1 + slack) * z + 1e-9
        seen.append(fewest)
    assert seen == sorted(seen, reverse=True) and seen[0] > seen[-1]  # more slack, fewer builds


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    xs=st.lists(st.floats(0, 20), min_size=5, max_size=5),
    pupils=st.lists(st.integers(5, 100), min_size=6, max_size=6),
    vx=st.lists(st.floats(0, 20), min_size=6, max_size=6),
    slack=st.floats(0.0, 0.5),
)
def test_the_alternative_is_distinct_as_brute_force_says(tmp_path_factory, xs, pupils, vx, slack):
    villages = [(round(x, 2), n) for x, n in zip(vx, pupils)]
    schools = [round(x, 2) for x in xs]
    assume(len(set(schools)) == len(schools))
    cost = _layouts(villages, {f"S{j}": x for j, x in enumerate(schools)}, 2)
    z = min(cost.values())
    assume(z > 1.0)
    near = {k: c for k, c in cost.items() if c <= (1 + slack) * z * (1 - 1e-7)}
    assume(all(abs(c - (1 + slack) * z) > 1e-6 * z for c in cost.values()))  # none at the cap's edge
    problem = _case(tmp_path_factory.mktemp("alt"), villages, schools, 2)
    best = solve_problem(problem)
    first = _open(best)
    keys = {o: (len(o & first), near[o]) for o in near}
    want = min(near, key=lambda o: keys[o])
    assume(sum(1 for o in near if abs(keys[o][1] - keys[want][1]) < 1e-6 * z and keys[o][0] == keys[want][0]) == 1)
    alt = near_run(problem, None, {"best": best.plan.result.values}, slack, Direction.DIFFER)
    assert len(_open(alt) & first) == keys[want][0]
    assert alt.summary["objective"] <= (1 + slack) * best.summary["objective"] * (1 + 1e-9)


def test_the_neighbourhood_search_keeps_the_cap_and_every_row(tmp_path):
    """A county too big to solve whole (``direct_max_pairs`` 0): the search by
    neighbourhoods finds a different layout within the slack, every row held."""
    rng = np.random.default_rng(3)
    villages = [(float(x), int(n)) for x, n in zip(rng.uniform(0, 40, 40), rng.integers(10, 80, 40))]
    schools = sorted(float(x) for x in rng.uniform(0, 40, 12))
    problem = _case(tmp_path, villages, schools, 4)
    best = solve_problem(problem)
    scen = problem.scenario
    tuning = scen.solver.tuning.model_copy(
        update={"alternatives": scen.solver.tuning.alternatives.model_copy(update={"direct_max_pairs": 0})}
    )
    cfg = scen.solver.model_copy(update={"tuning": tuning})
    m = build_model(problem)
    x = best.plan.result.values
    sol = solve_alternative(m, problem, Context(cfg, guide_of(problem)), Clock(60), x, [x], 0.05)
    assert m.form.violations(sol.values, 1e-6) == []
    assert sol.cost <= m.form.objective(x) * 1.05 * (1 + 1e-9)
    cost = _layouts(villages, {f"S{j}": v for j, v in enumerate(schools)}, 4)
    others = [o for o, c in cost.items() if c <= 1.05 * min(cost.values()) and o != _open(best)]
    assert others  # a different layout exists within the slack, and the search finds one
    assert (decisions(m, sol.values) != decisions(m, x)).sum() > 0
