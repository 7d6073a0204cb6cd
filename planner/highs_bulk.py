"""Load a PuLP model into HiGHS in one call, with an optional warm start.

PuLP's own HiGHS interface adds every column and every row through a
separate ``addCol``/``addRow`` call; on a model of a few hundred thousand
pairs that costs more than many solves. :class:`BulkHiGHS` walks the PuLP
problem once into compressed-column arrays and hands them to
``Highs.passModel``; the rest (options, status, reading values back) is
PuLP's. A warm start, if given, is passed with ``Highs.setSolution`` as a
partial assignment (HiGHS completes the missing values itself).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Mapping

import numpy as np
import pulp
from scipy.sparse import csr_matrix


def model_arrays(lp: pulp.LpProblem) -> dict:
    """The problem as arrays: costs, bounds, integrality and a CSC matrix.

    Sets ``var.index`` and ``constraint.index`` as PuLP's reader expects."""
    variables = lp.variables()
    for i, v in enumerate(variables):
        v.index = i
    n = len(variables)
    cost = np.zeros(n)
    for v, c in lp.objective.items():
        cost[v.index] = c
    inf = np.inf
    lower = np.array([-inf if v.lowBound is None else v.lowBound for v in variables], dtype=float)
    upper = np.array([inf if v.upBound is None else v.upBound for v in variables], dtype=float)
    integer = np.array([v.cat == pulp.LpInteger for v in variables], dtype=bool)
    cons = list(lp._constraints.values())
    lens = np.zeros(len(cons), dtype=np.int64)
    idx: list[int] = []
    val: list[float] = []
    row_lo = np.empty(len(cons))
    row_up = np.empty(len(cons))
    for i, c in enumerate(cons):
        c.index = i
        items = c.items()
        lens[i] = len(items)
        idx.extend(v.index for v in c.keys())
        val.extend(c.values())
        lb, ub = c.getLb(), c.getUb()
        row_lo[i] = -inf if lb is None else lb
        row_up[i] = inf if ub is None else ub
    indptr = np.concatenate([[0], np.cumsum(lens)])
    a = csr_matrix((np.asarray(val, float), np.asarray(idx, np.int64), indptr), shape=(len(cons), n)).tocsc()
    a.eliminate_zeros()
    a.sort_indices()
    return {"cost": cost, "lower": lower, "upper": upper, "integer": integer, "row_lower": row_lo,
            "row_upper": row_up, "matrix": a, "offset": float(lp.objective.constant or 0.0),
            "maximize": lp.sense == pulp.LpMaximize}


def pass_model(h, arrays: dict, *, mip: bool = True) -> None:
    """Hand the arrays to a ``highspy.Highs`` instance in one call."""
    import highspy

    a = arrays["matrix"]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = arrays["cost"]
    lp.col_lower_ = np.where(np.isinf(arrays["lower"]), -highspy.kHighsInf, arrays["lower"])
    lp.col_upper_ = np.where(np.isinf(arrays["upper"]), highspy.kHighsInf, arrays["upper"])
    lp.row_lower_ = np.where(np.isinf(arrays["row_lower"]), -highspy.kHighsInf, arrays["row_lower"])
    lp.row_upper_ = np.where(np.isinf(arrays["row_upper"]), highspy.kHighsInf, arrays["row_upper"])
    lp.offset_ = arrays["offset"]
    if arrays["maximize"]:
        lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if mip and arrays["integer"].any():
        kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
        lp.integrality_ = [kinds[int(b)] for b in arrays["integer"]]
    h.passModel(lp)


@functools.cache
def silence_banner() -> None:
    """Make this process's first ``highspy.Highs`` with stdout (file
    descriptor 1) pointed at /dev/null: HiGHS's C++ side prints its banner
    there on the first construction, whatever the options, and
    ``planner run``'s stdout should hold only the planner's lines."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_scheduler: list[int] = []
"""Threads of this process's HiGHS scheduler, once a solve has started it."""


def use_threads(threads: int | None) -> None:
    """Size HiGHS's thread scheduler for a solve of ``threads`` threads.
    HiGHS keeps one scheduler per process, sized by the first solve; a
    later solve asking for another count fails before it starts, and
    through PuLP that failure reads as "infeasible" (seen in a test run
    where a two-thread solve came before one-thread ones). A changed count
    resets the scheduler first."""
    import highspy

    if threads is None:
        return
    if _scheduler and _scheduler[0] != threads:
        highspy.Highs.resetThreadScheduler(True)  # blocking: the old workers stop first
        _scheduler.clear()
    if not _scheduler:
        _scheduler.append(threads)


class BulkHiGHS(pulp.HiGHS):
    """PuLP's HiGHS solver, loading the model in bulk and taking a warm start
    (a mapping of PuLP variables to values; variables left out are free)."""

    def __init__(self, *args, warm_start: Mapping[pulp.LpVariable, float] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.warm_start = dict(warm_start or {})
        if not self.msg:
            silence_banner()

    def buildSolverModel(self, lp):
        use_threads(self.threads)
        arrays = model_arrays(lp)
        pass_model(lp.solverModel, arrays, mip=self.mip)
        if self.warm_start:
            cols = [v.index for v in self.warm_start if getattr(v, "index", None) is not None]
            vals = [float(x) for v, x in self.warm_start.items() if getattr(v, "index", None) is not None]
            order = np.argsort(cols)
            lp.solverModel.setSolution(len(cols), np.asarray(cols, np.int32)[order], np.asarray(vals, float)[order])
