"""The budget a plan needs, as a proved range: the diagnosis's answer to a
budget too small.

Low end: the LP floor (:func:`planner.assess.diagnose.budget_floor`), proved.
High end: the cheapest plan found with only the budget relaxed. First the
scenario's plan with no budget limit and cost weighted heavily
(``range_cost_weight``: the main staged solve, trips and boarders a
tie-break), then, from it, the budget alone relaxed (every other rule held,
the overrun the only cost: the elastic model of :mod:`planner.assess.elastic`)
for the time left. The plan at the high end, with the budget set to it, is
the suggested plan (decoded with the scenario's own objective weights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from planner.assess.decode import Plan, decode
from planner.assess.elastic import elastic_model, row_relaxations
from planner.assess.summary import summarise
from planner.data.problem import Problem
from planner.model.build import build_model
from planner.model.core import Model
from planner.solve.clock import Clock
from planner.solve.direct import Context, solve_direct
from planner.solve.rounding import guide_of
from planner.solve.staged import solve_staged
from planner.solve.status import Solution, SolveStatus


@dataclass(frozen=True)
class BudgetRange:
    """The range's figures (diagnosis.json's ``budget_range``) and the suggested plan, if one was found."""

    figures: dict
    alone: dict
    """The budget relaxed alone, as :func:`planner.assess.diagnose.elastic_solve` reports a group (with the range)."""
    problem: Problem | None = None
    """The scenario with its budget at the high end."""
    plan: Plan | None = None
    summary: dict | None = None


def with_budget(problem: Problem, total: float | None, per_10k_yuan: float | None = None) -> Problem:
    """The problem with its total budget replaced (category limits kept), and its objective's weight of cost."""
    scen = problem.scenario
    update: dict = {"budget": scen.budget.model_copy(update={"total_10k_yuan": total})}
    if per_10k_yuan is not None:
        update["objective"] = scen.objective.model_copy(update={"per_10k_yuan": per_10k_yuan})
    return replace(problem, scenario=scen.model_copy(update=update))


def _start(elastic: Model, slacks: dict, m: Model, x: np.ndarray, problem: Problem) -> np.ndarray:
    """The plan ``x`` of the model without a budget as a start of the elastic
    model: its columns, then each budget row's overrun."""
    n = m.form.shape[1]
    start = np.zeros(elastic.form.shape[1])
    start[:n] = x
    budget = problem.scenario.budget
    for s in slacks.values():
        if s.family == "budget_total":
            spent, limit = m.budgeted(x, budget.covered), budget.total_10k_yuan or 0.0
        else:
            spent, limit = (
                m.cost[str(s.key[0])].value(x) if str(s.key[0]) in m.cost else 0.0,
                budget.by_category_10k_yuan[str(s.key[0])],
            )
        for c, sign in zip(s.cols, s.signs):
            start[c] = max(0.0, spent - limit) if sign < 0 else 0.0
    return start


def budget_range(problem: Problem, low: float | None, clock: Clock) -> BudgetRange:
    """The range of the module docstring within ``clock`` (``low``: the LP floor's budget, if proved)."""
    scen = problem.scenario
    tuning = scen.solver.tuning.diagnosis
    free = with_budget(problem, None, max(scen.objective.per_10k_yuan, tuning.range_cost_weight))
    m = build_model(free)
    ctx = Context(scen.solver, guide_of(problem))
    first = solve_staged(m, ctx, clock.part("no budget limit", tuning.range_first_share))
    if first.interrupted and not first.has_plan:
        raise KeyboardInterrupt
    figures: dict = {"low_10k_yuan": low, "high_10k_yuan": None, "limit_10k_yuan": scen.budget.total_10k_yuan}
    if not first.has_plan:
        figures.update(status=first.status.value, message="no plan found with the budget relaxed")
        return BudgetRange(figures, {"relaxed": ["budget"], "feasible": False, "status": first.status.value})
    elastic, slacks = elastic_model(problem, frozenset(["budget"]), tuning)
    start = _start(elastic, slacks, m, first.values, problem)
    res = solve_direct(elastic, ctx, clock, start=start)
    if res.interrupted and not res.has_plan:
        raise KeyboardInterrupt
    n = m.form.shape[1]
    best = res.values if res.has_plan and res.cost <= elastic.form.objective(start) + 1e-9 else start
    x = best[:n]
    high = math.ceil(m.budgeted(x, scen.budget.covered) * 10.0 - 1e-6) / 10.0
    at = with_budget(problem, high)
    seconds = first.seconds + res.seconds
    heavier = free.scenario.objective.per_10k_yuan - scen.objective.per_10k_yuan
    own = m.form.objective(x) - heavier * sum(c.value(x) for c in m.cost.values())  # the scenario's own weights
    sol = Solution(SolveStatus.FEASIBLE, x, own, None, first.solver, seconds, "the budget range's high end")
    plan = decode(m, at, sol)
    first_cost = round(m.budgeted(first.values, scen.budget.covered), 1)
    msg = f"a plan needs {'' if low is None else f'between {low:,.1f} and '}{high:,.1f} (10k yuan)"
    proved = "proved optimal" if res.status is SolveStatus.OPTIMAL else "the cheapest found"
    figures.update(
        high_10k_yuan=high, first_plan_10k_yuan=first_cost, status=res.status.value, high_is=proved, message=msg
    )
    alone = {
        "relaxed": ["budget"],
        "feasible": True,
        "status": res.status.value,
        "penalty": round(float(elastic.form.objective(best)), 4),
        "relaxations": row_relaxations(problem, elastic, slacks, best),
        "message": msg,
        "range": figures,
    }
    return BudgetRange(figures, alone, at, plan, summarise(at, plan))
