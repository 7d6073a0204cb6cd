"""Where the solve strategy is decided (planner/solve/strategy.py): a model
with whole catchments is one direct solve up to ``direct_max_columns``
columns and staged above it, and both reach the brute-forced optimum of a
capacitated county."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.config.tuning import SolveTuning
from planner.data.load import load_problem
from planner.data.travel import attach_distances
from planner.model import build_model
from planner.solve.clock import Clock
from planner.solve.strategy import solve_model, strategy_of
from tests.factory import OFF, deep_merge, make_case, school, village

CAP = 70
CAPPED = deep_merge(
    OFF,
    {
        "targets": {"primary": 2},
        "caps": {"school_pupils": {"primary": CAP}},
        "policy": {"moves": {"primary": ["primary", "closed"]}},
        "solver": {"threads": 1, "mip_gap": 0.0},
    },
)
"""Two of four primaries kept, each for at most 70 pupils: whole catchments bound by a cap."""


def _county(tmp_path, direct_max_columns: int | None = None):
    where = [(0, 0, 30), (2, 1, 20), (4, 0, 25), (6, 2, 35), (9, 1, 15), (1, 3, 10)]
    vs = [village(f"V{i}", x, y, g1_3=n) for i, (x, y, n) in enumerate(where)]
    ss = [school(f"S{j}", x, y, "primary") for j, (x, y) in enumerate([(0.5, 0.5), (3, 0), (6, 1), (8, 2)])]
    tuning = {} if direct_max_columns is None else {"staged": {"direct_max_columns": direct_max_columns}}
    scenario = deep_merge(CAPPED, {"solver": {"tuning": tuning}})
    return attach_distances(load_problem(make_case(tmp_path, vs, ss, scenario=scenario)))


def _with_direct_max(tuning: SolveTuning, columns: int) -> SolveTuning:
    return tuning.model_copy(update={"staged": tuning.staged.model_copy(update={"direct_max_columns": columns})})


def _brute_force(p) -> float:
    """The least pupil-km over every two sites kept and every whole assignment within the cap (``p``: the pairs)."""
    villages = sorted(p["village_id"].unique())
    pupils = p.groupby("village_id")["pupils"].first()
    km = {(v, s): d for v, s, d in zip(p["village_id"], p["site_id"], p["distance_km"])}
    best = np.inf
    for kept in itertools.combinations(sorted(p["site_id"].unique()), 2):
        for choice in itertools.product(kept, repeat=len(villages)):
            load = {s: sum(pupils[v] for v, c in zip(villages, choice) if c == s) for s in kept}
            if max(load.values()) <= CAP and all((v, c) in km for v, c in zip(villages, choice)):
                best = min(best, sum(pupils[v] * km[(v, c)] for v, c in zip(villages, choice)))
    return best


def test_a_model_with_whole_catchments_is_direct_up_to_its_columns_and_staged_above(tmp_path):
    problem = _county(tmp_path)
    m = build_model(problem)
    n = len(m.form.cost)
    assert (m.whole & ~m.relaxable).any()  # whole catchments bound by a cap
    tuning = problem.scenario.solver.tuning
    assert strategy_of(m, _with_direct_max(tuning, n)) == "direct"
    assert strategy_of(m, _with_direct_max(tuning, n - 1)) == "staged"


@pytest.mark.parametrize("columns", [0, 10**6], ids=["staged", "direct"])
def test_both_strategies_reach_the_brute_forced_optimum(tmp_path, columns):
    problem = _county(tmp_path, columns)
    m = build_model(problem)
    r = solve_model(m, problem, Clock(60))
    assert r.message.startswith("direct") == bool(columns)
    assert r.objective == pytest.approx(_brute_force(m.pairs), rel=1e-9)
    assert m.form.violations(r.x, 1e-6) == []
