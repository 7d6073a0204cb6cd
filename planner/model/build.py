"""Build the whole model: every family in order, so it reads like its specification."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from planner.data.problem import Problem
from planner.model.campuses import add_campuses
from planner.model.core import Builder, Model, gc_paused
from planner.model.costs import add_budget, add_operating, add_projects, cost_expressions, set_objective
from planner.model.families import (
    add_areas,
    add_assign_all,
    add_assign_open,
    add_classes,
    add_enrolment,
    add_one_type,
    add_school_cap,
    add_targets,
)
from planner.model.standards import add_shortfall_penalty, add_standard_investments
from planner.model.variables import open_table, pair_table
from planner.model.zones import add_nearest_zone

LAYOUT_FAMILIES = (
    add_one_type,
    add_assign_all,
    add_assign_open,
    add_enrolment,
    add_classes,
    add_school_cap,
    add_areas,
    add_campuses,
    add_targets,
    add_nearest_zone,
)
"""The layout's families, in the order :func:`build_model` adds them (the
standards' investments and the budget follow)."""

UNCOUPLED_FAMILIES = frozenset(
    {
        "one_type",
        "assign_all",
        "assign_open",
        "target_count",
        "target_min",
        "target_max",
        "budget_total",
        "budget_category",
        "enrolment",
        "boarding",
    }
)
"""Families that leave each village-band free to take its cheapest open site
(``enrolment`` and ``boarding`` only define totals; they bind nothing unless
a family outside this set uses those totals)."""


def build_model(problem: Problem, floors: dict | None = None) -> Model:
    """The whole MILP for a problem with pairs attached (``floors``: indicator
    floors raised for balance, see :func:`planner.assess.balance.balance_floors`)."""
    with gc_paused():
        b = Builder(problem.scenario.name.replace(" ", "_"))
        b.open = open_table(b, problem)
        b.pairs = pair_table(b, problem)
        for add in LAYOUT_FAMILIES:
            add(b, problem)
        b.cost = cost_expressions(b, problem)
        add_standard_investments(b, problem, floors)
        add_projects(b, problem)
        add_budget(b, problem)
        set_objective(b, problem)
        add_shortfall_penalty(b, problem)
        add_operating(b, problem)
        m = b.finish()
    return replace(m, relaxable=relaxable_assignments(m))


def relaxable_assignments(m: Model) -> np.ndarray:
    """The whole-catchment columns that may be solved as continuous: when
    only :data:`UNCOUPLED_FAMILIES` hold rows and one type is opened (the
    p-median core), the assignment LP is integral for any open sites, so the
    optimum is unchanged and the solver branches on the ``open`` binaries
    instead of every pair (a tie split is rounded back to one whole
    catchment). With several types, free choices such as an upgrade that the
    objective does not price would fall to the LP's vertex, so none."""
    whole = m.whole
    core = set(m.family_sizes()) <= UNCOUPLED_FAMILIES and m.open["type"].nunique() == 1
    return whole if core and whole.any() else np.zeros_like(whole)
