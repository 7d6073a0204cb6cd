"""The pupils a plan is made for: the projection of a scenario's cohorts, and
a problem whose villages carry the projected pupils of one year."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

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


def span_bands(projection: Projection, first: int, last: int) -> pd.DataFrame:
    """Each village's pupils by band, rounded once per year, at their most over
    the years ``first`` .. ``last`` (one year when they are equal)."""
    years = [np.rint(projection.bands(y).astype(float)) for y in range(first, last + 1)]
    out = years[0]
    for b in years[1:]:
        out = np.maximum(out, b)
    return out


def for_years(problem: Problem, projection: Projection, first: int, last: int | None = None) -> Problem:
    """The problem with every village's pupils those projected for ``first``
    (or their most by band over ``first`` .. ``last``), rounded once per village,
    band and year."""
    bands = span_bands(projection, first, first if last is None else last).reindex(problem.villages.index)
    villages = problem.villages.copy()
    for b in BANDS:
        villages[f"pupils_{b}"] = bands[b].to_numpy(dtype=float)
    return replace(problem, villages=villages, warnings=problem.warnings + projection.warnings)


def with_projected_pupils(problem: Problem) -> Problem:
    """The problem for its target year: projected when the scenario says so,
    unchanged otherwise."""
    projection = projection_of(problem)
    if projection is None:
        return problem
    return for_years(problem, projection, problem.scenario.target_year)


def phase_spans(problem: Problem, projection: Projection | None) -> list[tuple[int, int] | None]:
    """The years each phase is planned for, as (first, last): its ``plan_year``,
    else its year with the most pupils (``phase_pupils: peak``), its last year
    (``last``) or all its projected years (``envelope``: each village's most by
    band); ``None`` for every phase when the pupils are not projected."""
    s = problem.scenario
    if projection is None:
        return [None] * len(s.phases)
    totals = projection.totals()["total"]
    spans: list[tuple[int, int] | None] = []
    for p in s.phases:
        first = max(p.first_year, projection.years[0])
        if p.plan_year is not None:
            spans.append((p.plan_year, p.plan_year))
        elif s.phase_pupils == "last":
            spans.append((p.last_year, p.last_year))
        elif s.phase_pupils == "envelope":
            spans.append((first, p.last_year))
        else:
            year = int(totals.loc[first : p.last_year].idxmax())
            spans.append((year, year))
    return spans


def phase_years(problem: Problem, projection: Projection | None) -> list[int | None]:
    """The one year each phase is planned for; ``None`` where it is planned for
    several (``envelope``) or the pupils are not projected."""
    return [None if sp is None or sp[0] != sp[1] else sp[0] for sp in phase_spans(problem, projection)]


def phase_problems(problem: Problem) -> tuple[list[Problem], list[tuple[int, int] | None]]:
    """One problem per phase, each with its planning years' pupils (without
    distances: the travel stage attaches them), and those years."""
    projection = projection_of(problem)
    spans = phase_spans(problem, projection)
    if projection is None:
        return [problem] * len(spans), spans
    return [for_years(problem, projection, *sp) for sp in spans if sp is not None], spans
