"""The stages wired in order, for the CLI, the tests and notebooks.

scenario -> load -> travel -> checks -> model -> solve -> decode -> assess.
Writing the run folder is left to the caller (:mod:`planner.write`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from planner.assess import summarise
from planner.checks import presolve_checks
from planner.decode import Plan, decode
from planner.diagnose import diagnose
from planner.errors import InfeasibleError, Interrupted, NoPlanInTime, ScenarioConflict
from planner.load import load_problem
from planner.model import build_model
from planner.model_standards import balance_floors
from planner.problem import Problem
from planner.regions import solve_county
from planner.scenario import Scenario, load_scenario
from planner.travel import attach_distances

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Run:
    """A solved scenario: the problem, the plan and its summary."""

    problem: Problem
    plan: Plan
    summary: dict


def with_solver(scenario: Scenario, *, time_limit: float | None = None, solver: str | None = None,
                gap: float | None = None) -> Scenario:
    """A copy of the scenario with command-line solver overrides applied."""
    upd = {k: v for k, v in (("time_limit_s", time_limit), ("name", solver), ("mip_gap", gap)) if v is not None}
    if not upd:
        return scenario
    return scenario.model_copy(update={"solver": scenario.solver.model_copy(update=upd)})


def prepare(scenario: Scenario | str | Path, progress: Progress = lambda s: None, *, explain: bool = False) -> Problem:
    """Load and validate the inputs and attach pruned distances. With
    ``explain``, a conflict found by the checks carries an elastic diagnosis."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    progress("load")
    problem = load_problem(scen)
    progress("travel")
    problem = attach_distances(problem)
    progress("checks")
    try:
        presolve_checks(problem)
    except ScenarioConflict as e:
        if explain:
            progress("diagnose")
            e.diagnosis = diagnose(problem, reasons=e.reasons, stage="checks")
        raise
    return problem


def solve_problem(problem: Problem, progress: Progress = lambda s: None, *, floors: dict | None = None,
                  round_: int = 1) -> Run:
    """Build, solve, decode and summarise; raise if no plan was found. While
    an indicator's assessed CV exceeds its limit, re-solve with its floor
    raised (``floors``; at most ``indicators.balance_rounds`` solves)."""
    progress("model")
    t0 = time.perf_counter()
    model = build_model(problem, floors)
    build_s = time.perf_counter() - t0
    progress("solve")
    result = solve_county(model, problem, floors)
    if not result.has_plan:
        name = problem.scenario.name
        if "nterrupt" in result.message:
            raise Interrupted(f"Interrupted after {result.seconds:.1f} s, before any plan was found for '{name}'.")
        if result.status != "infeasible":
            raise NoPlanInTime(f"No plan found for '{name}' within the time limit of "
                               f"{problem.scenario.solver.time_limit_s:g} s ({result.message}); "
                               "allow more time with --time-limit or solver.time_limit_s.")
        progress("diagnose")
        raise InfeasibleError(f"The solver proved scenario '{name}' infeasible after {result.seconds:.1f} s.",
                              diagnose(problem))
    progress("decode")
    plan = decode(model, problem, result, build_seconds=build_s)
    run = Run(problem, plan, summarise(problem, plan))
    raised = balance_floors(problem.sites, plan.schools, problem.scenario)  # issue 6: balance rounds
    if raised and problem.scenario.indicators.enabled and round_ < problem.scenario.indicators.balance_rounds:
        merged = {k: {lv: max(f, (floors or {}).get(k, {}).get(lv, 1.0)) for lv, f in v.items()} for k, v in raised.items()}
        return solve_problem(problem, progress, floors={**(floors or {}), **merged}, round_=round_ + 1)
    run.summary["indicators"].update(solves=round_, balance_floors=floors or {})
    return run


def run_scenario(scenario: Scenario | str | Path, progress: Progress = lambda s: None, **overrides) -> Run:
    """Everything but writing: the one-call entry point for code and notebooks."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    scen = with_solver(scen, **overrides)
    return solve_problem(prepare(scen, progress), progress)
