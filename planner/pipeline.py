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
from planner.errors import InfeasibleError
from planner.load import load_problem
from planner.model import build_model
from planner.problem import Problem
from planner.scenario import Scenario, load_scenario
from planner.solve import solve
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


def prepare(scenario: Scenario | str | Path, progress: Progress = lambda s: None) -> Problem:
    """Load and validate the inputs and attach pruned distances."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    progress("load")
    problem = load_problem(scen)
    progress("travel")
    problem = attach_distances(problem)
    progress("checks")
    presolve_checks(problem)
    return problem


def solve_problem(problem: Problem, progress: Progress = lambda s: None) -> Run:
    """Build, solve, decode and summarise; raise if no plan was found."""
    progress("model")
    t0 = time.perf_counter()
    model = build_model(problem)
    build_s = time.perf_counter() - t0
    progress("solve")
    result = solve(model, problem.scenario.solver)
    if not result.has_plan:
        what = "proved infeasible" if result.status == "infeasible" else f"found no plan ({result.message})"
        raise InfeasibleError(f"The solver {what} for scenario '{problem.scenario.name}' "
                              f"after {result.seconds:.1f} s.")
    progress("decode")
    plan = decode(model, problem, result, build_seconds=build_s)
    return Run(problem, plan, summarise(problem, plan))


def run_scenario(scenario: Scenario | str | Path, progress: Progress = lambda s: None, **overrides) -> Run:
    """Everything but writing: the one-call entry point for code and notebooks."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    scen = with_solver(scen, **overrides)
    return solve_problem(prepare(scen, progress), progress)
