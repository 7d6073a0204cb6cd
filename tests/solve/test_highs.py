"""The model's arrays and the one door to HiGHS and CBC: the form holds every
coefficient, HiGHS and CBC find PuLP's own optimum on it, a start reaches
HiGHS in column order, several forms solved at once each get their own
answer, and a stale answer from a start comes back with the right values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pulp
import pytest

from planner.config.scenario import SolverConfig
from planner.model import build_model
from planner.model.core import Builder
from planner.solve import backend, highs
from planner.solve.clock import Clock
from planner.solve.direct import Context, solve_direct
from planner.solve.options import SolveOptions
from planner.solve.rounding import guide_of
from planner.solve.staged import join, layout_fixing
from planner.solve.status import SolveStatus
from tests.factory import full_site_case, two_sites_model

ROOT = Path(__file__).resolve().parents[2]


def _knapsack(b):
    """The same small MIP in PuLP's algebra, on a :class:`Builder` or a PuLP problem."""
    if isinstance(b, Builder):
        x = {i: b.var("x", (i,), upper=3.0, integer=True) for i in range(4)}
        y, z = b.var("y", (), lower=-2.0), b.var("z", (), lower=None, upper=5.0)
        add = lambda name, c: b.add(name, (), c)  # noqa: E731
    else:
        x = {i: b.add_variable(f"x_{i}_", 0, 3, cat="Integer") for i in range(4)}
        y, z = b.add_variable("y__", -2), b.add_variable("z__", None, 5)
        add = lambda name, c: b.addConstraint(c, name)  # noqa: E731
    obj = 3 * x[0] + 2 * x[1] + 4 * x[2] + x[3] + 0.5 * y - 0.25 * z + 7
    add("cover", x[0] + x[1] + x[2] + x[3] >= 4)
    add("mix", 2 * x[0] - x[3] + y <= 3)
    add("eq", x[1] + z == 4)
    add("yz", y - z >= -6)
    return obj, {**{f"x_{i}_": v for i, v in x.items()}, "y__": y, "z__": z}


def _form():
    b = Builder("t")
    b.objective, _ = _knapsack(b)
    return b.finish()


def _opts(seconds: float = 10.0, threads: int = 1) -> SolveOptions:
    return SolveOptions.of(SolverConfig(threads=threads), seconds)


def test_the_form_holds_every_coefficient_and_bound():
    m = _form()
    f = m.form
    col = {n: i for i, n in enumerate(f.names)}
    a = f.matrix.toarray()
    mix, eq = m.row("mix"), m.row("eq")
    assert a[mix, col["x_0_"]] == 2 and a[mix, col["x_3_"]] == -1 and a[mix, col["y__"]] == 1
    assert (f.row_lower[mix], f.row_upper[mix]) == (-np.inf, 3)
    assert (f.row_lower[eq], f.row_upper[eq]) == (4, 4)
    assert f.cost[col["z__"]] == -0.25 and f.offset == 7
    assert f.lower[col["y__"]] == -2 and f.upper[col["z__"]] == 5 and f.lower[col["z__"]] == -np.inf
    assert f.integer.tolist() == [n.startswith("x") for n in f.names]
    assert f.row_names[mix] == "mix[]"


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_highs_and_cbc_find_pulps_own_optimum(solver):
    ref = pulp.LpProblem("ref", pulp.LpMinimize)
    obj, rv = _knapsack(ref)
    ref.setObjective(obj)
    ref.solve(pulp.HiGHS(msg=False))
    m = _form()
    res = backend.solve(m.form, _opts().but(solver=solver))
    assert res.status is SolveStatus.OPTIMAL
    assert res.objective == pytest.approx(pulp.value(ref.objective))
    assert res.bound == pytest.approx(res.objective)
    assert {n: res.x[i] for i, n in enumerate(m.form.names)} == pytest.approx({n: v.varValue for n, v in rv.items()})


def test_a_start_reaches_highs_in_column_order():
    m = _form()
    start = np.full(m.form.shape[1], np.nan)
    col = {n: i for i, n in enumerate(m.form.names)}
    for n, v in {"x_3_": 1.0, "x_1_": 3.0, "x_0_": 0.0, "x_2_": 2.0}.items():
        start[col[n]] = v
    h = highs.make_highs(m.form, start, _opts())
    sol = h.getSolution()
    assert sol.value_valid
    assert {n: sol.col_value[col[n]] for n in ("x_0_", "x_1_", "x_2_", "x_3_")} == {
        "x_0_": 0,
        "x_1_": 3,
        "x_2_": 2,
        "x_3_": 1,
    }


@pytest.mark.parametrize("msg, banner", [(False, False), (True, True)])
def test_a_quiet_solve_keeps_the_highs_banner_off_stdout(msg, banner):
    """HiGHS prints its banner on fd 1 when a process makes its first
    ``Highs``; a quiet solve keeps it off, a loud one keeps it. A fresh
    process, since this one has made its first ``Highs``."""
    code = (
        "from planner.solve import backend; from tests.solve.test_highs import _form, _opts\n"
        f"r = backend.solve(_form().form, _opts().but(msg={msg})); print('objective =', round(r.objective, 3))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "objective =" in out
    assert ("Running HiGHS" in out) is banner


def test_a_solve_with_another_thread_count_than_the_first_still_solves():
    """HiGHS sizes one thread scheduler per process by its first solve; a
    later one-thread solve after a two-thread one failed and read as
    infeasible. A fresh process, as the scheduler is per process."""
    code = (
        "from planner.solve import backend; from tests.solve.test_highs import _form, _opts\n"
        "for n in (2, 1, 2):\n"
        "    r = backend.solve(_form().form, _opts(threads=n)); print(r.status.value, round(r.objective, 3))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    lines = out.split("\n")[:3]
    assert len(set(lines)) == 1 and lines[0].startswith("optimal ")


def _v2_at(m, x, site: str):
    """The fixing that holds the full-site case's layout at ``x`` and sends V2 to ``site``."""
    v2 = m.pairs[m.pairs["village_id"] == "V2"]
    return join(layout_fixing(m, x), (v2["col"].to_numpy(), (v2["site_id"] == site).to_numpy(float)))


def test_forms_solved_together_match_each_solved_alone(tmp_path):
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    opts = SolveOptions.of(problem.scenario.solver, 60).but(threads=2)
    best = backend.solve(m.form, opts)
    assert best.status is SolveStatus.OPTIMAL
    forms = [m.form.fixed(*_v2_at(m, best.x, s)) for s in ("A", "B")]
    before = m.form.lower.copy(), m.form.upper.copy()
    together = backend.solve_many([(f, None) for f in forms], opts)
    alone = [backend.solve(f, opts) for f in forms]
    assert [r.status for r in together] == [SolveStatus.OPTIMAL] * 2
    assert [r.objective for r in together] == pytest.approx([r.objective for r in alone], rel=1e-9)
    assert alone[0].objective > alone[1].objective + 1.0  # V2 at A costs the full site a priced shortfall
    assert (m.form.lower == before[0]).all() and (m.form.upper == before[1]).all()  # a solve changes no form


def test_held_columns_and_narrowed_rows_bind_each_form():
    """x + y <= 10 with x = 2, y = 3: holding y, x goes to 7 (all the slack);
    with the row narrowed to half its slack, to 4.5."""
    m, x0 = two_sites_model()
    opts = _opts(threads=2)
    hold = lambda j: m.form.fixed(np.array([j]), x0[[j]])  # noqa: E731
    wide = backend.solve_many([(hold(1), x0), (hold(0), x0)], opts)
    assert [r.objective for r in wide] == pytest.approx([-10.0, -10.0])
    row = m.row("shared")
    half = {row: (-np.inf, 2.0 + 3.0 + 2.5)}
    narrow = backend.solve_many([(hold(1).with_rows(half), x0), (hold(0).with_rows(half), x0)], opts)
    assert narrow[0].x == pytest.approx([4.5, 3.0]) and narrow[1].x == pytest.approx([2.0, 5.5])


def test_a_start_improved_in_presolve_comes_back_with_the_improved_values(tmp_path):
    """The start sends V2 to the full site A (a priced shortfall). HiGHS
    1.16 improves it in presolve's reduced space, reports the optimum and
    returns the start's values; the solve must hand back the optimum's."""
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    opts = SolveOptions.of(problem.scenario.solver, 60)
    direct = backend.solve(m.form, opts)
    layout = layout_fixing(m, direct.x)
    bad = backend.solve(m.form.fixed(*_v2_at(m, direct.x, "A")), opts)
    res = backend.solve(m.form.fixed(*layout), opts, start=bad.x)
    assert bad.objective > direct.objective + 1.0
    assert res.objective == pytest.approx(direct.objective, rel=1e-9)
    assert m.form.objective(res.x) == pytest.approx(res.objective, rel=1e-9)


def test_heuristics_go_off_only_for_the_interchange_start_or_a_proof(tmp_path, monkeypatch):
    """HiGHS's primal heuristics are switched off for a p-median's complete
    interchange start (they rarely beat it) and for a proof, and stay on for
    a plan a caller hands in to improve."""
    from tests.solve.test_warmstart import _tie_case

    seen = []
    real = highs.make_highs
    monkeypatch.setattr(
        highs, "make_highs", lambda form, start, opts: (seen.append(opts.heuristics), real(form, start, opts))[1]
    )
    problem = full_site_case(tmp_path / "full")
    pmed_problem = _tie_case(tmp_path / "pmed", {})
    m, pmed = build_model(problem), build_model(pmed_problem)
    ctx, pctx = (
        Context(problem.scenario.solver, guide_of(problem)),
        Context(pmed_problem.scenario.solver, guide_of(pmed_problem)),
    )
    first = solve_direct(pmed, pctx, Clock(30))
    plan = solve_direct(m, ctx, Clock(30))
    solve_direct(m, ctx, Clock(30), start=plan.x)
    solve_direct(pmed, pctx, Clock(30), start=first.x)
    solve_direct(m, ctx, Clock(30), start=plan.x, proof=True)
    assert seen == [False, True, True, True, False]
