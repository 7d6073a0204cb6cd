"""Balance rounds: raised indicator floors for a plan whose CV exceeds its limit.

The CV is not linear, but it falls when low values are lifted: if every
school's value x_i lies in [L, U] with mean m, the pupil-weighted variance is
at most (m - L)(U - m) (Bhatia-Davis), so raising L towards m shrinks the
bound to 0. When an indicator's assessed CV exceeds its limit d,
:func:`balance_floors` finds the lowest floor F that, lifting every school
below F with the plan's pupils, brings the CV to d x (1 - margin), and the
pipeline re-solves with ``resource >= F x pupils``. Pupils may move in the
re-solve, so the assessment of the final round says whether the CV holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.assess.indicators import level_table, weighted_cv
from planner.config.scenario import Scenario
from planner.config.standards import PLANNED, standards
from planner.domain import LEVELS

HALVINGS = 60
"""Bisection steps for a floor: past double precision, so the floor found is the exact one."""


def _cv_with_floor(x: np.ndarray, n: np.ndarray, floor: float) -> float:
    return weighted_cv(np.maximum(x, floor), n)[1]


def balance_floors(sites: pd.DataFrame, schools: pd.DataFrame, scen: Scenario) -> dict[str, dict[str, float]]:
    """Raised floors (indicator -> level -> factor over the standard) for every
    indicator whose assessed CV exceeds its limit d: the lowest floor F such
    that lifting every school below F to F, with today's pupils, brings the CV
    to d x (1 - margin) (``solver.tuning.balance.margin``; bisection: the CV
    falls as F rises to the largest value, where it is 0)."""
    margin = scen.solver.tuning.balance.margin
    lt = level_table(sites, schools, scen)
    std = standards(scen)
    out: dict[str, dict[str, float]] = {}
    for lv in LEVELS:
        target = scen.indicators.cv_limit[lv] * (1 - margin)
        t = lt[lt["level"] == lv]
        for k in (*PLANNED, "teaching_area", "sports_area"):
            x, n = t[k].to_numpy(float), t["pupils"].to_numpy(float)
            ok = ~np.isnan(x)
            x, n = x[ok], n[ok]
            if not len(x) or not weighted_cv(x, n)[1] > scen.indicators.cv_limit[lv]:
                continue
            lo, hi = float(x.min()), float(x.max())
            for _ in range(HALVINGS):
                mid = (lo + hi) / 2
                lo, hi = (lo, mid) if _cv_with_floor(x, n, mid) <= target else (mid, hi)
            out.setdefault(k, {})[lv] = max(1.0, hi / std[k][lv])
    return out
