"""The stages wired in order, for the CLI, the tests and notebooks.

config -> data (load, travel, checks) -> projection -> model -> solve -> assess. Writing
the run folder is left to the caller (:mod:`planner.outputs.folder`). One
:class:`~planner.solve.clock.Clock` bounds a run: every solve, balance round
and the diagnosis take their seconds from it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from planner.assess.balance import balance_floors
from planner.assess.decode import Plan, decode
from planner.assess.diagnose import diagnose, diagnose_with_plan
from planner.assess.groups import group_candidates, group_summary, group_table
from planner.assess.phases import after_phases, decode_phased, phase_alone
from planner.assess.summary import summarise
from planner.config.scenario import Scenario
from planner.config.sources import load_scenario, locate_key
from planner.data.checks import presolve_checks
from planner.data.load import load_problem
from planner.data.problem import Problem
from planner.data.travel import attach_distances
from planner.errors import InfeasibleError, InputError, Interrupted, Issue, NoPlanInTime, ScenarioConflict
from planner.model.build import build_model
from planner.model.groups import build_group_model
from planner.model.phased import PhasedModel, build_phased_model
from planner.projection.cohort import Projection
from planner.projection.pupils import phase_problems, projection_of, with_projected_pupils
from planner.solve.alternatives import Direction, decisions, solve_alternative
from planner.solve.clock import Clock
from planner.solve.direct import Context
from planner.solve.groups import solve_groups
from planner.solve.phased import Ahead, complete, look_ahead, repaired, solve_phased, with_last_phase
from planner.solve.rounding import guide_of
from planner.solve.status import Solution, SolveStatus
from planner.solve.strategy import solve_model

Progress = Callable[[str], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """A solved scenario: the problem, the plan and its summary."""

    problem: Problem
    plan: Plan
    summary: dict


def with_solver(
    scenario: Scenario, *, time_limit: float | None = None, solver: str | None = None, gap: float | None = None
) -> Scenario:
    """A copy of the scenario with command-line solver overrides applied."""
    upd = {k: v for k, v in (("time_limit_s", time_limit), ("name", solver), ("mip_gap", gap)) if v is not None}
    if not upd:
        return scenario
    return scenario.model_copy(update={"solver": scenario.solver.model_copy(update=upd)})


def run_clock(scenario: Scenario) -> Clock:
    """The clock of a run of ``scenario``: its whole time limit, from now."""
    return Clock(scenario.solver.time_limit_s)


def prepare(
    scenario: Scenario | str | Path, progress: Progress = lambda s: None, *, clock: Clock | None = None
) -> Problem:
    """Load and validate the inputs and attach pruned distances. With a
    ``clock``, a conflict found by the checks carries an elastic diagnosis
    made within it."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    progress("load")
    problem = with_projected_pupils(load_problem(scen))
    progress("travel")
    problem = attach_distances(problem)
    progress("checks")
    try:
        presolve_checks(problem)
    except ScenarioConflict as e:
        if clock is not None:
            progress("diagnose")
            e.diagnosis = diagnose(problem, clock, reasons=e.reasons, stage="checks")
        raise
    return problem


def _no_plan(problem: Problem, sol: Solution, clock: Clock, progress: Progress) -> Exception:
    """The error for a solve that found no plan."""
    name = problem.scenario.name
    if sol.interrupted:
        return Interrupted(f"Interrupted after {sol.seconds:.1f} s, before any plan was found for '{name}'.")
    if sol.status is not SolveStatus.INFEASIBLE:
        return NoPlanInTime(
            f"No plan found for '{name}' within the time limit of "
            f"{problem.scenario.solver.time_limit_s:g} s ({sol.message}); "
            "allow more time with --time-limit or solver.time_limit_s."
        )
    progress("diagnose")
    d, rng = diagnose_with_plan(problem, clock)
    suggested = None if rng is None else (rng.problem, rng.plan, rng.summary)
    return InfeasibleError(f"The solver proved scenario '{name}' infeasible after {sol.seconds:.1f} s.", d, suggested)


def _no_phased_plan(problems: list[Problem], sol: Solution, clock: Clock, progress: Progress) -> Exception:
    """The error for a phased model proved to have no plan: the first phase
    that has none even alone (:func:`phase_alone`), with its diagnosis; else
    the links between phases are what conflicts."""
    if sol.status is not SolveStatus.INFEASIBLE:
        return _no_plan(problems[-1], sol, clock, progress)
    scen = problems[-1].scenario
    for i, (problem, phase) in enumerate(zip(problems, scen.phases)):
        alone = phase_alone(problem, i)
        got = solve_model(build_model(alone), alone, clock.part(f"phase {phase.name} alone", 0.5))
        if got.status is SolveStatus.INFEASIBLE:
            progress("diagnose")
            limit = alone.scenario.budget.total_10k_yuan
            return InfeasibleError(
                f"The solver proved scenario '{scen.name}' has no phased plan: phase {phase.name} "
                f"({phase.first_year}-{phase.last_year}) has none even alone, with the budget of the phases "
                f"up to it ({'none' if limit is None else f'{limit:,.0f} (10k yuan)'}) and any school type.",
                diagnose(alone, clock),
            )
    return InfeasibleError(
        f"The solver proved scenario '{scen.name}' has no phased plan, though every phase alone has one: "
        "the links between phases (a closed school stays closed, a new build stays open, an upgrade or "
        "downgrade happens once, floor area counts from its phase on, each phase's budget) conflict."
    )


def solve_once(problem: Problem, clock: Clock, floors: dict | None, progress: Progress) -> tuple[Run | None, Solution]:
    """Build, solve, decode and summarise one round (``floors``: raised
    indicator floors for balance); no run without a plan."""
    progress("model")
    t0 = time.perf_counter()
    model = build_model(problem, floors)
    build_s = time.perf_counter() - t0
    progress("solve")
    sol = solve_model(model, problem, clock, floors)
    if not sol.has_plan:
        return None, sol
    progress("decode")
    plan = decode(model, problem, sol, build_seconds=build_s)
    return Run(problem, plan, summarise(problem, plan)), sol


def solve_problem(problem: Problem, progress: Progress = lambda s: None, clock: Clock | None = None) -> Run:
    """Solve within ``clock`` (default: the scenario's time limit from now);
    raise if no plan was found. While an indicator's assessed CV exceeds its
    limit, solve again with its floor raised (at most
    ``indicators.balance_rounds`` solves, while the clock has
    ``solver.tuning.balance.min_round_s`` left); a round without a plan
    leaves the last round's plan."""
    clock = clock or run_clock(problem.scenario)
    ind, tuning = problem.scenario.indicators, problem.scenario.solver.tuning.balance
    floors: dict | None = None
    run, sol = solve_once(problem, clock, floors, progress)
    if run is None:
        raise _no_plan(problem, sol, clock, progress)
    rounds, note = 1, None
    while ind.enabled and rounds < ind.balance_rounds and not sol.interrupted:
        raised = balance_floors(problem.sites, run.plan.schools, problem.scenario)
        if not raised:
            break
        if clock.done(tuning.min_round_s):
            note = (
                f"balance: a CV is above its limit after {rounds} solve(s), and {clock.left():.0f} s is too little "
                "for another round; allow more time with --time-limit"
            )
            break
        merged = {
            k: {lv: max(f, (floors or {}).get(k, {}).get(lv, 1.0)) for lv, f in v.items()} for k, v in raised.items()
        }
        trial = {**(floors or {}), **merged}
        nxt, sol = solve_once(problem, clock, trial, progress)
        if nxt is None:
            note = f"balance: round {rounds + 1} found no plan in the time left; the plan is round {rounds}'s"
            if sol.interrupted:
                run.summary["status"] = SolveStatus.INTERRUPTED.value
            break
        floors, run, rounds = trial, nxt, rounds + 1
    run.summary["indicators"].update(solves=rounds, balance_floors=floors or {})
    if note:
        run.summary["warnings"].append(note)
    return with_groups(run, clock, progress)


def with_groups(run: Run, clock: Clock, progress: Progress = lambda s: None) -> Run:
    """The plan's school groups and rotation (``groups:``; the run unchanged without)."""
    scen = run.problem.scenario
    if scen.groups is None:
        return run
    progress("groups")
    cand = group_candidates(run.problem, run.plan.schools)
    model = build_group_model(cand, scen.groups)
    sol = solve_groups(model, scen.solver, clock)
    table = group_table(model, sol.values, cand, run.plan.schools)
    figures = group_summary(table, cand)
    summary = {**run.summary, "groups": {**figures, "status": sol.status.value, "mip_gap": sol.gap}}
    return Run(run.problem, replace(run.plan, groups=table), summary)


def near_run(
    problem: Problem,
    floors: dict | None,
    earlier: dict[str, np.ndarray],
    slack: float,
    direction: Direction,
    progress: Progress = lambda s: None,
    clock: Clock | None = None,
) -> Run:
    """An alternative within ``slack`` of the first of the ``earlier`` plans
    (the best; name -> values of the model built with ``floors``, the best's
    balance floors) going in ``direction`` (:mod:`planner.solve.alternatives`).
    Its summary's objective is the scenario's own; ``alternative`` says how
    far it is from the best and how many sites' decisions differ from each
    earlier plan's."""
    clock = clock or run_clock(problem.scenario)
    progress("model")
    t0 = time.perf_counter()
    model = build_model(problem, floors)
    build_s = time.perf_counter() - t0
    progress("solve")
    ctx = Context(problem.scenario.solver, guide_of(problem))
    plans = list(earlier.values())
    sol = solve_alternative(model, problem, ctx, clock, plans[0], plans, slack, direction)
    progress("decode")
    plan = decode(model, problem, sol, build_seconds=build_s)
    summary = summarise(problem, plan)
    best = model.form.objective(plans[0])
    mine = decisions(model, sol.values)
    summary["alternative"] = {
        "direction": direction.value,
        "slack": slack,
        "best_objective": best,
        "over_best": sol.cost / best - 1.0 if best else None,
        "sites_changed": {name: int((decisions(model, x) != mine).sum()) for name, x in earlier.items()},
    }
    summary["indicators"].update(solves=1, balance_floors=floors or {})
    return Run(problem, plan, summary)


def _phase_by_phase(pm: PhasedModel, problems: list[Problem], clock: Clock) -> tuple[np.ndarray | None, Ahead]:
    """A phased plan to start from: every phase but the last decided looking
    ahead, then the last with the single-year strategy after them
    (:mod:`planner.solve.phased`); ``None`` if a step finds no plan."""
    cfg = problems[-1].scenario.solver
    ahead = look_ahead(pm, cfg, clock.part("looking ahead", cfg.tuning.phased.look_ahead_share))
    if ahead.values is None:
        return None, ahead
    last = after_phases(pm, problems, ahead.values, problems[-1].scenario.phases[-1])  # the same pairs
    model = build_model(last)
    sol = solve_model(model, last, clock.part(f"phase {pm.phases[-1]} after the others"))
    if not sol.has_plan:
        log.info("phase by phase: no plan for phase %s after the others (%s)", pm.phases[-1], sol.message)
        return None, ahead
    return with_last_phase(pm, ahead.values, model, sol.values), ahead


def _cost(pm: PhasedModel, x: np.ndarray | None) -> float | None:
    """The phased objective at ``x``; ``None`` for no plan or an incomplete one."""
    return pm.model.form.objective(x) if complete(x) else None


def solve_phases(problem: Problem, progress: Progress = lambda s: None, clock: Clock | None = None) -> Run:
    """A phased scenario: the phases decided in turn, then the whole phased
    model from that plan (:mod:`planner.solve.phased`)."""
    clock = clock or run_clock(problem.scenario)
    scen = problem.scenario
    progress("travel")
    problems, spans = phase_problems(problem)
    problems = [attach_distances(p) for p in problems]
    progress("model")
    t0 = time.perf_counter()
    pm = build_phased_model(problems, scen.phases)
    build_s = time.perf_counter() - t0
    progress("solve")
    solving = clock.elapsed()
    start, ahead = _phase_by_phase(pm, problems, clock.part("phase by phase", scen.solver.tuning.phased.start_share))
    if ahead.proof is not None:
        raise _no_phased_plan(problems, ahead.proof, clock, progress)
    phase_by_phase = start
    if complete(start):
        ctx = Context(scen.solver, guide_of(problems[-1]))
        start = repaired(pm, ctx, clock.part("repair", scen.solver.tuning.phased.repair_share), start)
    sol = solve_phased(pm, scen.solver, clock, start, ahead.bound)
    sol = sol.but(seconds=clock.elapsed() - solving)  # every step's, the phases in turn and the whole model
    if not sol.has_plan:
        raise _no_phased_plan(problems, sol, clock, progress)
    progress("decode")
    phased = decode_phased(pm, problems, sol, spans, build_s)
    summary = summarise(problems[-1], phased.plan)
    summary["phases"] = phased.figures
    if summary["pupils_projected"] is not None and spans[-1] is not None:
        first, last = spans[-1]
        summary["pupils_projected"].update(year=last if first == last else None, years=[first, last])
    summary["phase_by_phase"] = {
        "objective": _cost(pm, phase_by_phase),
        "repaired": _cost(pm, start),
        "bound": ahead.bound,
    }
    return Run(problems[-1], phased.plan, summary)


def run_scenario(scenario: Scenario | str | Path, progress: Progress = lambda s: None, **overrides) -> Run:
    """Everything but writing: the one-call entry point for code and notebooks."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    scen = with_solver(scen, **overrides)
    clock = run_clock(scen)
    solver = solve_phases if scen.phases else solve_problem
    return solver(prepare(scen, progress), progress, clock)


def project_scenario(scenario: Scenario | str | Path, to_year: int | None = None) -> tuple[Problem, Projection]:
    """The scenario's inputs and their projection to ``to_year`` (its target year by default)."""
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if scen.projection is None:
        file, line = locate_key(scen, "name")
        raise InputError([Issue(file, "the scenario has no 'projection:' key (base_year and rates)", line=line)])
    problem = load_problem(scen)
    projection = projection_of(problem, to_year)
    assert projection is not None  # the loader gives cohorts to every projected scenario
    return problem, projection
