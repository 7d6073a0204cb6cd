"""The pupils a plan is made for: the projection of a scenario's cohorts, and
a problem whose villages carry the projected pupils of one year."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from planner.data.problem import Problem
from planner.domain import BANDS
from planner.projection.cohort import Projection, project


def projection_of(problem: Problem, last_year: int | None = None) -> Projection | None:
    """The scenario's projection to ``last_year`` (its target year by default),
    or ``None`` when it projects nothing."""
    s = problem.scenario
    if problem.cohorts is None or s.projection is None:
        return None
    return project(problem.cohorts, problem.villages["township"], s.projection, last_year or s.target_year)


def for_year(problem: Problem, projection: Projection, year: int) -> Problem:
    """The problem with every village's pupils those projected for ``year``,
    rounded once per village and band."""
    bands = projection.bands(year).reindex(problem.villages.index)
    villages = problem.villages.copy()
    for b in BANDS:
        villages[f"pupils_{b}"] = np.rint(bands[b].to_numpy(dtype=float))
    return replace(problem, villages=villages, warnings=problem.warnings + projection.warnings)


def with_projected_pupils(problem: Problem) -> Problem:
    """The problem for its target year: projected when the scenario says so,
    unchanged otherwise."""
    projection = projection_of(problem)
    if projection is None:
        return problem
    return for_year(problem, projection, problem.scenario.target_year)
