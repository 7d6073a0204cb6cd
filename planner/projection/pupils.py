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


def phase_years(problem: Problem, projection: Projection | None) -> list[int | None]:
    """The year each phase is planned for: its ``plan_year``, else its year with
    the most pupils (or its last year, ``phase_pupils: last``); ``None`` for
    every phase when the pupils are not projected (all plan the same pupils)."""
    s = problem.scenario
    if projection is None:
        return [None] * len(s.phases)
    totals = projection.totals()["total"]
    years: list[int | None] = []
    for p in s.phases:
        if p.plan_year is not None:
            years.append(p.plan_year)
        elif s.phase_pupils == "last":
            years.append(p.last_year)
        else:
            span = totals.loc[max(p.first_year, projection.years[0]) : p.last_year]
            years.append(int(span.idxmax()))
    return years


def phase_problems(problem: Problem) -> tuple[list[Problem], list[int | None]]:
    """One problem per phase, each with its planning year's pupils (without
    distances: the travel stage attaches them), and those years."""
    projection = projection_of(problem)
    years = phase_years(problem, projection)
    if projection is None:
        return [problem] * len(years), years
    return [for_year(problem, projection, y) for y in years if y is not None], years
