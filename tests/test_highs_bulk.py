"""The bulk HiGHS loader builds the same model PuLP's own interface builds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pulp
import pytest

from planner.highs_bulk import BulkHiGHS, model_arrays


def _knapsack(sense=pulp.LpMinimize) -> tuple[pulp.LpProblem, dict]:
    lp = pulp.LpProblem("t", sense)
    x = {i: lp.add_variable(f"x{i}", 0, 3, cat="Integer") for i in range(4)}
    y = lp.add_variable("y", -2)
    z = lp.add_variable("z", None, 5)
    sign = 1 if sense == pulp.LpMinimize else -1
    lp += sign * (3 * x[0] + 2 * x[1] + 4 * x[2] + x[3] + 0.5 * y - 0.25 * z) + 7
    lp += x[0] + x[1] + x[2] + x[3] >= 4, "cover"
    lp += 2 * x[0] - x[3] + y <= 3, "mix"
    lp += x[1] + z == 4, "eq"
    lp += y - z >= -6, "yz"
    return lp, {**{f"x{i}": v for i, v in x.items()}, "y": y, "z": z}


def test_arrays_hold_every_coefficient_and_bound():
    lp, v = _knapsack()
    a = model_arrays(lp)
    names = [x.name for x in lp.variables()]
    m = a["matrix"].toarray()
    row = {n: lp.get_constraint_by_name(n).index for n in ("mix", "eq")}
    assert m[row["mix"], names.index("x0")] == 2 and m[row["mix"], names.index("x3")] == -1
    assert (a["row_lower"][row["mix"]], a["row_upper"][row["mix"]]) == (-np.inf, 3)
    assert (a["row_lower"][row["eq"]], a["row_upper"][row["eq"]]) == (4, 4)
    assert a["cost"][names.index("z")] == -0.25 and a["offset"] == 7
    assert a["lower"][names.index("y")] == -2 and a["upper"][names.index("z")] == 5
    assert a["integer"].tolist() == [n.startswith("x") for n in names]


@pytest.mark.parametrize("sense", [pulp.LpMinimize, pulp.LpMaximize])
def test_same_optimum_as_pulps_own_highs(sense):
    ref, rv = _knapsack(sense)
    ref.solve(pulp.HiGHS(msg=False))
    lp, v = _knapsack(sense)
    lp.solve(BulkHiGHS(msg=False))
    assert pulp.LpStatus[lp.status] == "Optimal"
    assert pulp.value(lp.objective) == pytest.approx(pulp.value(ref.objective))
    # HiGHS's own objective (what planner.solve reports) includes the constant.
    assert lp.solverModel.getInfo().objective_function_value == pytest.approx(pulp.value(lp.objective))
    for name in v:
        assert v[name].varValue == pytest.approx(rv[name].varValue)
    assert lp.get_constraint_by_name("cover").slack == pytest.approx(ref.get_constraint_by_name("cover").slack)


def test_a_warm_start_reaches_highs_in_column_order():
    lp, v = _knapsack()
    start = {v["x3"]: 1.0, v["x1"]: 3.0, v["x0"]: 0.0, v["x2"]: 2.0}
    solver = BulkHiGHS(msg=False, warm_start=start)
    solver.createAndConfigureSolver(lp)
    solver.buildSolverModel(lp)
    sol = lp.solverModel.getSolution()
    names = [x.name for x in lp.variables()]
    assert sol.value_valid
    assert {n: sol.col_value[i] for i, n in enumerate(names) if n.startswith("x")} == {"x0": 0, "x1": 3, "x2": 2, "x3": 1}


@pytest.mark.parametrize("msg, banner", [(False, False), (True, True)])
def test_a_quiet_solve_keeps_the_highs_banner_off_stdout(msg, banner):
    """HiGHS prints its banner on fd 1 when a process makes its first
    ``Highs``; a quiet solve (``msg=False``) keeps it off, a loud one keeps
    it. A fresh process, since this one has made its first ``Highs``."""
    code = ("import pulp; from planner.highs_bulk import BulkHiGHS\n"
            "p = pulp.LpProblem('t'); x = pulp.LpVariable('x', 0, 3, cat='Integer'); p += -x\n"
            f"p.solve(BulkHiGHS(msg={msg})); print('x =', x.varValue)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert "x = 3.0" in out
    assert ("Running HiGHS" in out) is banner


def test_a_solve_with_another_thread_count_than_the_first_still_solves():
    """HiGHS sizes one thread scheduler per process by its first solve; a
    later one-thread solve after a two-thread one failed and read as
    infeasible. A fresh process, as the scheduler is per process."""
    code = ("import pulp; from planner.highs_bulk import BulkHiGHS\n"
            "for n in (2, 1, 2):\n"
            "    p = pulp.LpProblem('t'); x = p.add_variable('x', 0, 3, cat='Integer'); p += -x\n"
            "    print(pulp.LpStatus[p.solve(BulkHiGHS(msg=False, threads=n))], x.varValue)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.split("\n")[:3] == ["Optimal 3.0"] * 3
