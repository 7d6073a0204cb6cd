"""One solver call: HiGHS by default, CBC when HiGHS is unavailable or fails.

:func:`solve` takes a form, the call's options and an optional start, and
returns a :class:`~planner.solve.status.Solution`; it never changes the form.
:func:`solve_many` solves several forms at once (HiGHS on a thread each), or
one after another under CBC. A call cancelled by the run's stop (or a
Ctrl-C) returns ``interrupted``, with the best plan it had or none.
"""

from __future__ import annotations

import warnings

import numpy as np

from planner.model.form import Form
from planner.solve import cbc, highs, isolated
from planner.solve.options import SolveOptions
from planner.solve.status import Solution


class HighsFailed(RuntimeError):
    """HiGHS raised while solving (the fallback's cue)."""


def _highs(form: Form, opts: SolveOptions, start: np.ndarray | None) -> Solution:
    try:
        if isolated.wanted(form, opts):
            return isolated.solve_isolated(form, opts, start)
        return highs.solve_highs([(form, start)], opts)[0]
    except (RuntimeError, ValueError) as e:
        raise HighsFailed(str(e)) from e


def use_highs(opts: SolveOptions) -> bool:
    """Whether this call goes to HiGHS (warns when it falls back to CBC)."""
    if opts.solver != "highs":
        return False
    if not highs.available():
        warnings.warn("HiGHS (highspy) is not available; falling back to CBC", RuntimeWarning, stacklevel=3)
        return False
    return True


def solve(form: Form, opts: SolveOptions, start: np.ndarray | None = None) -> Solution:
    """Solve ``form`` (see the module docstring); ``start``: a value per
    column, NaN where the solver is to complete it."""
    res = None
    if opts.watch is not None:
        opts.watch.begin(opts.stage, opts.time_limit_s)
    if use_highs(opts):
        try:
            res = _highs(form, opts, start)
        except HighsFailed as e:
            warnings.warn(f"HiGHS failed ({e}); falling back to CBC", RuntimeWarning, stacklevel=2)
    if res is None:
        res = cbc.solve_cbc(form, opts)
    if opts.watch is not None and res.has_plan:
        opts.watch.improved(res.cost, res.bound)
    return res


def solve_many(jobs: list[tuple[Form, np.ndarray | None]], opts: SolveOptions) -> list[Solution]:
    """Solve every (form, start) within ``opts.time_limit_s``: at once under
    HiGHS (one thread each, as many as ``opts.threads``), in turn under CBC.
    After a Ctrl-C every solution is ``interrupted``, with the plan its solve had."""
    if opts.watch is not None:
        opts.watch.begin(f"{opts.stage} ({len(jobs)} at once)", opts.time_limit_s)
    if use_highs(opts):
        return highs.solve_highs(jobs, opts)
    return [cbc.solve_cbc(f, opts) for f, _ in jobs]


def concurrency(opts: SolveOptions) -> int:
    """How many forms :func:`solve_many` solves at once."""
    return opts.threads if opts.solver == "highs" and highs.available() else 1
