"""Property tests on small random counties: any plan the planner writes passes
the independent checker, and the same inputs give the same plan."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planner.errors import InfeasibleError, NoPlanInTime, ScenarioConflict
from planner.outputs.folder import write_run_folder
from planner.pipeline import run_scenario
from tests.checker import check_run
from tests.factory import make_case, school, site, village

TYPES = ("teaching_point", "primary", "junior", "nine_year")


@st.composite
def counties(draw):
    """A random county: villages with pupils, schools of random types, a candidate site,
    and a scenario with caps, standards, a budget and split or whole catchments."""
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    n_v, n_s = draw(st.integers(2, 7)), draw(st.integers(2, 5))
    vs = [
        village(
            f"V{i}",
            *np.round(rng.uniform(0, 12, 2), 2),
            g1_3=int(rng.integers(0, 60)),
            g4_6=int(rng.integers(0, 60)),
            g7_9=int(rng.integers(0, 80)),
        )
        for i in range(n_v)
    ]
    ss = []
    for j in range(n_s):
        t = TYPES[int(rng.integers(0, 4))] if j > 0 else "nine_year"
        ss.append(
            school(
                f"S{j}",
                *np.round(rng.uniform(0, 12, 2), 2),
                t,
                teaching_area_m2=float(rng.integers(0, 3000)),
                sports_area_m2=float(rng.integers(0, 5000)),
                living_area_m2=float(rng.integers(0, 500)),
                site_area_m2=float(rng.integers(2000, 40000)),
                max_classes=int(rng.integers(6, 40)),
            )
        )
    cs = [
        site(
            "C0",
            *np.round(rng.uniform(0, 12, 2), 2),
            "junior,nine_year",
            land_cost_10k_yuan=float(rng.integers(0, 300)),
        )
    ]
    scen = {
        "policy": {
            "assignment": {b: draw(st.sampled_from(["whole", "split"])) for b in ("g1_3", "g4_6", "g7_9")},
            "walk_limit_km": {"g1_3": 20.0, "g4_6": 3.0, "g7_9": 4.0},
        },
        "caps": {"school_pupils": {"teaching_point": 100}},
        "budget": {"total_10k_yuan": float(draw(st.integers(500, 20_000)))},
        "targets": {"nine_year": {"min": 1}},
        "solver": {"time_limit_s": 30, "mip_gap": 0.0, "threads": 1},
        "travel": {"detour_factor": float(draw(st.sampled_from([1.0, 1.3])))},
    }
    return vs, ss, cs, scen


def _solve(path):
    """The run, or ``None`` when the random county has no plan (a clear error, not a crash)."""
    try:
        return run_scenario(path)
    except (InfeasibleError, NoPlanInTime, ScenarioConflict):
        return None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counties())
def test_any_written_plan_passes_the_checker(county):
    vs, ss, cs, scen = county
    with tempfile.TemporaryDirectory() as d:
        run = _solve(make_case(Path(d), vs, ss, cs, scen))
        assume(run is not None)  # a county with no plan says so (tested elsewhere); here, plans are checked
        folder = write_run_folder(Path(d) / "run", run.problem, run.plan, run.summary)
        assert check_run(folder) == []


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counties())
def test_same_inputs_same_plan(county):
    vs, ss, cs, scen = county
    with tempfile.TemporaryDirectory() as d:
        path = make_case(Path(d), vs, ss, cs, scen)
        a, b = _solve(path), _solve(path)
        assert (a is None) == (b is None)
        assume(a is not None)
        assert a.plan.schools.equals(b.plan.schools)
        assert a.plan.assignments.equals(b.plan.assignments)
        assert a.plan.cost_10k_yuan == b.plan.cost_10k_yuan
