"""The phased model: one block of the layout model per phase, linked so that
every decision carries the phase it takes effect in (DESIGN.md §4, Phases).

Each phase's block holds the single-year families for that phase's pupils
(keys end with the phase: ``class_cap[S042,primary,p2]``): types, catchments,
classes, caps, trips and the floor-area standards. The links:

- ``stays_changed[s,t,p]``: a site that took a new type (a new build, an
  upgrade, a downgrade) keeps it; ``stays_closed[s,p]``: a closed school stays
  closed. So a site changes once, and never back.
- Areas are added in a phase (``area_added[s,kind,p]``) and count from then
  on (:func:`~planner.model.families.add_areas` with ``prior``).
- ``budget_phase[p]``: what a phase spends (its area additions, the new
  builds, upgrades and land of the changes it makes) within its budget;
  ``budget_total``: all phases within the scenario's total.
- Targets hold at the end (the last phase) and, where a phase sets them, at
  the end of that phase.
- The resource indicators (teachers, equipment, rooms) are planned in the
  last phase, where the national assessment (优质均衡验收) judges them, with
  every area added by then. Where the scenario prices floor-area gaps
  (``allow_shortfalls``), every phase prices its own.

The objective adds up each phase's pupil-km, boarders and spending, each
times the phase's weight, as PyPSA weights its investment periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pulp

from planner.config.scenario import PhaseConfig
from planner.data.problem import Problem
from planner.model.build import LAYOUT_FAMILIES
from planner.model.core import Builder, CostVector, Model, cost_vector, expr, gc_paused
from planner.model.costs import cost_expressions, set_objective
from planner.model.families import add_areas, add_targets
from planner.model.standards import add_area_shortfalls, add_shortfall_penalty, add_standard_investments
from planner.model.variables import open_table, pair_table

BLOCK_FAMILIES = tuple(f for f in LAYOUT_FAMILIES if f not in (add_areas, add_targets))
"""The single-year families every phase's block holds (areas and targets follow, phase-aware)."""


@dataclass
class _Block:
    """One phase's PuLP tables while the model is built."""

    name: str
    open: dict[tuple[str, str], pulp.LpVariable]
    added: dict[tuple[str, str], pulp.LpVariable]
    cost: dict[str, pulp.LpAffineExpression]


@dataclass(frozen=True, eq=False)
class PhasedModel:
    """The built model (all phases' columns and rows) and, per phase, its cost by category."""

    model: Model
    phases: tuple[str, ...]
    phase_cost: dict[str, dict[str, CostVector]]
    col_phase: np.ndarray = field(repr=False)
    """Per column: the position in ``phases`` of the block it belongs to (-1: county-wide)."""


def phase_targets(scenario, phase: PhaseConfig, last: bool) -> dict:
    """The targets that hold at the end of ``phase``: its own, and in the last
    phase the scenario's too."""
    return {**(scenario.targets if last else {}), **phase.targets}


def _with_targets(problem: Problem, phase: PhaseConfig, last: bool) -> Problem:
    """The phase's problem with the targets that hold at its end."""
    targets = phase_targets(problem.scenario, phase, last)
    return replace(problem, scenario=problem.scenario.model_copy(update={"targets": targets}))


def _open_map(b: Builder) -> dict[tuple[str, str], pulp.LpVariable]:
    return {(s, t): v for s, t, v in b.open[["site_id", "type", "var"]].itertuples(index=False)}


def add_irreversible(b: Builder, problem: Problem, before: _Block, now: dict) -> None:
    """``stays_changed[s,t]``: a new type, once taken, is kept; ``stays_closed[s]``:
    a closed school stays closed (rows of the later phase's block)."""
    type_before = problem.sites["type_before"]
    for (s, t), v in sorted(now.items()):
        if t != type_before[s] and (s, t) in before.open:
            b.add("stays_changed", (s, t), before.open[(s, t)] <= v)
    by_site: dict[str, tuple[list, list]] = {}
    for (s, _), v in now.items():
        by_site.setdefault(s, ([], []))[1].append(v)
    for (s, _), v in before.open.items():
        by_site.setdefault(s, ([], []))[0].append(v)
    for s, (was, is_) in sorted(by_site.items()):
        if problem.sites.at[s, "kind"] == "school":
            b.add("stays_closed", (s,), expr(is_) <= expr(was))


def _shortfalls_priced(problem: Problem) -> bool:
    """Whether a floor-area gap is priced rather than forbidden (as in the single-year model)."""
    scen = problem.scenario
    return scen.indicators.enabled and scen.standards.enabled and scen.indicators.allow_shortfalls


def _block(
    b: Builder, problem: Problem, phase: PhaseConfig, before: _Block | None, prior: dict, last: bool, floors
) -> _Block:
    """Add one phase's block; ``prior``: the areas added in earlier phases (updated)."""
    b.suffix = (phase.name,)
    b.open, b.pairs = open_table(b, problem), pair_table(b, problem)
    b.classes, b.added, b.enrol, b.boarders, b.standards, b.moved = {}, {}, {}, {}, {}, {}
    p = _with_targets(problem, phase, last)
    for add in BLOCK_FAMILIES:
        add(b, p)
    add_areas(b, p, prior)
    add_targets(b, p)
    now = _open_map(b)
    if before is not None:
        add_irreversible(b, p, before, now)
    added = dict(b.added)
    b.cost = cost_expressions(b, p, before.open if before is not None else None)
    for key, v in added.items():
        prior[key] = prior.get(key, 0.0) + v
    if last:  # the indicators see every area added by the end
        b.added = {key: prior[key] for key in added}
        add_standard_investments(b, p, floors)
        b.added = added
    elif _shortfalls_priced(p):
        b.allow_shortfalls = True
        add_area_shortfalls(b)
    return _Block(phase.name, now, added, dict(b.cost))


def build_phased_model(
    problems: Sequence[Problem], phases: Sequence[PhaseConfig], floors: dict | None = None
) -> PhasedModel:
    """The phased MILP: ``problems[i]`` carries phase ``i``'s pupils (same sites and pairs' distances)."""
    if len(problems) != len(phases) or not phases:
        raise ValueError("one problem per phase, at least one phase")
    with gc_paused():
        return _build(problems, phases, floors)


def _build(problems: Sequence[Problem], phases: Sequence[PhaseConfig], floors: dict | None) -> PhasedModel:
    scen = problems[-1].scenario
    b = Builder(scen.name.replace(" ", "_") + "_phased")
    blocks: list[_Block] = []
    objective, opens, pairs, keyed = pulp.LpAffineExpression(), [], [], _Keyed()
    terms: list[tuple[np.ndarray, np.ndarray]] = []
    prior: dict[tuple[str, str], pulp.LpAffineExpression] = {}
    for i, (problem, phase) in enumerate(zip(problems, phases)):
        last = i == len(phases) - 1
        block = _block(b, problem, phase, blocks[-1] if blocks else None, prior, last, floors)
        set_objective(b, problem)
        add_shortfall_penalty(b, problem)
        objective += phase.weight * b.objective
        terms += [(pos, phase.weight * coef) for pos, coef in b.objective_terms]
        if phase.budget_10k_yuan is not None:
            spent = pulp.lpSum(e for k, e in block.cost.items() if scen.budget.covered(k))
            b.add("budget_phase", (), spent <= phase.budget_10k_yuan)
        blocks.append(block)
        opens.append(b.open.assign(phase=phase.name))
        pairs.append(b.pairs.assign(phase=phase.name))
        keyed.take(b, phase.name)
    b.suffix = ()
    _budget_rows(b, scen, blocks)
    b.objective, b.objective_terms = objective, terms
    keyed.give(b, opens, pairs)
    m = b.finish()
    costs = {blk.name: {k: cost_vector(e, m.form.shape[1]) for k, e in blk.cost.items()} for blk in blocks}
    position = {p.name: i for i, p in enumerate(phases)}
    col_phase = np.full(m.form.shape[1], -1)
    for (_, key), col in m.columns.items():  # a block's keys end with its phase
        col_phase[col] = position.get(key[-1], -1) if key else -1
    return PhasedModel(m, tuple(p.name for p in phases), costs, col_phase)


def _budget_rows(b: Builder, scen, blocks: list[_Block]) -> None:
    """``budget_total`` and ``budget_category[k]`` over all phases."""
    total: dict[str, pulp.LpAffineExpression] = {}
    for blk in blocks:
        for k, e in blk.cost.items():
            total[k] = total.get(k, pulp.LpAffineExpression()) + e
    budget = scen.budget
    if budget.total_10k_yuan is not None:
        b.add("budget_total", (), pulp.lpSum(e for k, e in total.items() if budget.covered(k)) <= budget.total_10k_yuan)
    for k, limit in sorted(budget.by_category_10k_yuan.items()):
        b.add("budget_category", (k,), total.get(k, 0) <= limit)
    b.cost = total


class _Keyed:
    """Every phase's keyed variables, their keys ending with the phase."""

    def __init__(self) -> None:
        self.maps: dict[str, dict] = {k: {} for k in ("classes", "added", "enrol", "boarders", "standards", "moved")}

    def take(self, b: Builder, phase: str) -> None:
        for name, out in self.maps.items():
            for key, v in getattr(b, name).items():
                out[(*key, phase) if isinstance(key, tuple) else (key, phase)] = v

    def give(self, b: Builder, opens: list, pairs: list) -> None:
        for name, keyed in self.maps.items():
            setattr(b, name, keyed)
        b.open = pd.concat(opens, ignore_index=True)
        b.pairs = pd.concat(pairs, ignore_index=True)
