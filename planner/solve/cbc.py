"""CBC, the fallback: a form solved through PuLP's CBC interface.

The form becomes a PuLP problem (one variable per column, one row per row,
named as in the model) and goes to a CBC on the PATH, else the one bundled
with PuLP. CBC takes no start here and reports no bound short of optimality.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pulp

from planner.model.form import Form
from planner.solve.options import SolveOptions
from planner.solve.status import Solution, SolveStatus


def to_pulp(form: Form, name: str = "planner") -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The form as a PuLP problem (also a way to write it as an LP file)."""
    lp = pulp.LpProblem(name, pulp.LpMinimize)
    xs = [
        lp.add_variable(
            f"x{j}",
            None if np.isinf(lo) else lo,
            None if np.isinf(up) else up,
            pulp.LpInteger if integer else pulp.LpContinuous,
        )
        for j, (lo, up, integer) in enumerate(zip(form.lower, form.upper, form.integer))
    ]
    lp.setObjective(pulp.LpAffineExpression([(xs[j], c) for j, c in enumerate(form.cost) if c], constant=form.offset))
    a = form.matrix.tocsr()
    for i in range(a.shape[0]):
        lo_i, hi_i = a.indptr[i], a.indptr[i + 1]
        e = pulp.LpAffineExpression([(xs[j], v) for j, v in zip(a.indices[lo_i:hi_i], a.data[lo_i:hi_i])])
        lo, up = form.row_lower[i], form.row_upper[i]
        if lo == up:
            lp += pulp.LpConstraint(e, pulp.LpConstraintEQ, f"r{i}", lo)
            continue
        if np.isfinite(lo):
            lp += pulp.LpConstraint(e, pulp.LpConstraintGE, f"r{i}_lo", lo)
        if np.isfinite(up):
            lp += pulp.LpConstraint(e, pulp.LpConstraintLE, f"r{i}_up", up)
    return lp, xs


def solve_cbc(form: Form, opts: SolveOptions) -> Solution:
    """One solve by CBC within ``opts.time_limit_s``."""
    cbc = dict(
        msg=opts.msg,
        gapRel=opts.mip_gap,
        timeLimit=max(opts.time_limit_s, 1.0),
        threads=opts.threads,
        options=[f"randomCbcSeed {opts.seed + 1}"],
    )
    solver = pulp.COIN_CMD(**cbc)
    if not solver.available():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3.x deprecates the bundled CBC
            solver = pulp.PULP_CBC_CMD(**cbc)
    lp, xs = to_pulp(form)
    t0 = time.perf_counter()
    code = lp.solve(solver)
    secs = time.perf_counter() - t0
    sol = lp.sol_status
    if code == pulp.LpStatusInfeasible:
        status = SolveStatus.INFEASIBLE
    elif sol == pulp.LpSolutionOptimal:
        status = SolveStatus.OPTIMAL
    elif sol == pulp.LpSolutionIntegerFeasible:  # CBC stops short of its proof only at a limit
        status = SolveStatus.TIME_LIMIT
    else:
        status = SolveStatus.NO_SOLUTION
    x = np.array([v.varValue or 0.0 for v in xs]) if status.has_plan else None
    obj = form.objective(x) if x is not None else None
    bound = obj if status is SolveStatus.OPTIMAL else None
    return Solution(status, x, obj, bound, "cbc", secs, pulp.LpStatus[code])
