"""A big MIP solved in a child process: the same optimum as in a thread, the
run's stop relayed to the child, and a child that goes silent or will not
stop ended, with the best plan it sent kept when that plan holds every row."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from planner.solve import backend, isolated
from planner.solve.status import SolveStatus
from tests.solve.isolated_stand_ins import good_plan
from tests.solve.test_highs import _form, _opts

STAND_IN = ("tests.solve.isolated_stand_ins",)


def _isolating(seconds: float = 10.0):
    opts = _opts(seconds)
    return opts.but(backend=opts.backend.model_copy(update={"isolate_min_columns": 0}))


def _brute_force(form) -> float:
    """The knapsack's optimum by enumeration: each integer column 0..3, the
    continuous ones (y, z) then set by hand at their best."""
    best = np.inf
    col = {n: i for i, n in enumerate(form.names)}
    for xs in np.ndindex(4, 4, 4, 4):
        x = np.zeros(form.shape[1])
        for i, v in enumerate(xs):
            x[col[f"x_{i}_"]] = v
        z = 4 - xs[1]  # eq: x1 + z == 4
        if z > 5:
            continue
        x[col["z__"]] = z
        # y: costs 0.5 each, at least -2 and z - 6, at most 3 - 2 x0 + x3
        y = max(-2.0, z - 6.0)
        if y > 3 - 2 * xs[0] + xs[3]:
            continue
        x[col["y__"]] = y
        if not form.violations(x, 1e-9):
            best = min(best, form.objective(x))
    return best


def test_an_isolated_solve_finds_the_optimum_a_thread_finds():
    form = _form().form
    assert isolated.wanted(form, _isolating())
    alone = backend.solve(form, _isolating())
    threaded = backend.solve(form, _opts())
    assert alone.status is SolveStatus.OPTIMAL and threaded.status is SolveStatus.OPTIMAL
    assert alone.objective == pytest.approx(threaded.objective) == pytest.approx(_brute_force(form))
    assert not form.violations(alone.x, 1e-6)


def test_a_small_or_continuous_form_stays_in_this_process():
    form = _form().form
    assert not isolated.wanted(form, _opts())  # below the default's columns
    assert not isolated.wanted(form.relaxed(), _isolating())  # an LP stops at its limit


def test_a_child_gone_silent_is_ended_and_its_best_plan_kept():
    form = _form().form
    sol = isolated.solve_isolated(form, _isolating(3600.0), child=STAND_IN + ("silent",))
    assert sol.status is SolveStatus.TIME_LIMIT and "ended" in sol.message
    assert not form.violations(good_plan(form), 1e-9)
    assert sol.x.tolist() == good_plan(form).tolist()
    assert sol.objective == pytest.approx(form.objective(sol.x)) and sol.bound == -1e9


def test_a_plan_that_breaks_a_row_is_not_kept():
    sol = isolated.solve_isolated(_form().form, _isolating(3600.0), child=STAND_IN + ("broken",))
    assert sol.status is SolveStatus.NO_SOLUTION and sol.x is None


def test_a_child_that_will_not_stop_is_ended_past_the_deadline():
    opts = _isolating(0.0)
    opts = opts.but(backend=opts.backend.model_copy(update={"watchdog_extra_s": 0.0, "kill_after_s": 0.05}))
    sol = isolated.solve_isolated(_form().form, opts, child=STAND_IN + ("deaf",))
    assert sol.status is SolveStatus.NO_SOLUTION and "ended past its time limit" in sol.message


def test_the_runs_stop_reaches_the_child():
    stop = threading.Event()
    stop.set()
    sol = isolated.solve_isolated(_form().form, _isolating(3600.0).but(stop=stop), child=STAND_IN + ("obliging",))
    assert sol.status is SolveStatus.INTERRUPTED and sol.message == "stopped"


def test_the_watchdogs_cancel_is_not_the_runs_stop():
    """A child that overran its time and answers the watchdog's cancel has
    not been interrupted by the user: its answer is not ``interrupted``."""
    sol = isolated.solve_isolated(_form().form, _isolating(0.1), child=STAND_IN + ("obliging",))
    assert sol.status is SolveStatus.NO_SOLUTION and sol.message == "stopped"


def test_highs_raising_in_the_child_is_raised_here():
    with pytest.raises(RuntimeError, match="HiGHS raised"):
        isolated.solve_isolated(_form().form, _isolating(), child=STAND_IN + ("failing",))


def test_the_child_imports_the_solver_not_the_builder():
    """The child starts for every big MIP: it imports what solves a form, not
    the model's builder and the data stack behind it (geopandas, networkx)."""
    heavy = "{'geopandas', 'networkx', 'planner.model.build'}"
    code = f"import sys, planner.solve.isolated; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
