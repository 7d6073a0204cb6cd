"""Alternatives near the best plan, as Dask tasks (``planner alternatives``).

The best plan is one task; each alternative another, given the plans it
must differ from as the results of their tasks, so Dask runs them in order
where they depend on each other and at once where they do not. ``differ``
is one chain (each alternative differs from the best and from every one
before it, within the whole slack); a named direction (keep schools, fewer
new, fewer boarders) makes ``count`` independent alternatives at 1/count,
2/count ... of the slack, the cost of going further that way. Every run is
a run folder under ``OUT/runs/`` (``best``, ``differ-1`` ...), and the lot
is compared in ``OUT/alternatives.html`` (the sweep's page) and
``OUT/compare/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.config.scenario import Scenario
from planner.config.sources import load_scenario, locate_key
from planner.display import RunDisplay
from planner.errors import InputError, Issue
from planner.outputs.labels import DIRECTION_ZH
from planner.pipeline import Run, near_run, solve_problem, with_solver
from planner.solve.alternatives import Direction
from planner.sweep.execute import Job, guarded, prepared
from planner.sweep.run import Cluster, connect


@dataclass(frozen=True)
class NearSpec:
    """What to look for: ``count`` alternatives per direction within ``slack``
    (a share of the best plan's objective), each run's outputs and solver."""

    slack: float
    count: int
    directions: tuple[Direction, ...] = (Direction.DIFFER,)
    outputs: tuple[str, ...] = ("report",)
    time_limit_s: float | None = None
    threads: int = 1


@dataclass(frozen=True)
class Values:
    """What a later task needs of a finished one: its name, values and the balance floors of its model."""

    name: str
    x: np.ndarray
    floors: dict | None


def _scenario(job: Job, spec: NearSpec) -> Scenario:
    """The job's scenario with the spec's time limit and solver threads."""
    scen = with_solver(load_scenario(job.scenario), time_limit=spec.time_limit_s)
    return scen.model_copy(update={"solver": scen.solver.model_copy(update={"threads": spec.threads})})


def best_task(job: Job, spec: NearSpec) -> tuple[dict, Values | None]:
    """The best plan's run: its row and, with a plan, what the alternatives need."""

    def solve(show: RunDisplay) -> Run:
        problem, clock = prepared(_scenario(job, spec), show)
        return solve_problem(problem, show.stage, clock)

    row, run = guarded(job, solve)
    row.update({"set:direction": "最优方案", "set:slack": 0.0})
    if run is None:
        return row, None
    floors = run.summary["indicators"].get("balance_floors") or None
    return row, Values(job.name, run.plan.result.values, floors)


def near_task(
    job: Job, spec: NearSpec, direction: Direction, slack: float, earlier: list[tuple[dict, Values | None]]
) -> tuple[dict, Values | None]:
    """One alternative's run, after the runs it must differ from (the best first)."""
    plans = [p for _, p in earlier]
    if any(p is None for p in plans):
        failed = next(r["name"] for r, p in earlier if p is None)
        row = {"name": job.name, "exit_code": 1, "status": "failed", "message": f"{failed} has no plan", "seconds": 0}
        return row, None
    known = [p for p in plans if p is not None]

    def solve(show: RunDisplay) -> Run:
        problem, clock = prepared(_scenario(job, spec), show)
        mine = {p.name: p.x for p in known}
        return near_run(problem, known[0].floors, mine, slack, direction, show.stage, clock)

    row, run = guarded(job, solve)
    row.update({"set:direction": DIRECTION_ZH[direction.value], "set:slack": slack})
    if run is None:
        return row, None
    alt = run.summary["alternative"]
    row.update(
        over_best=alt["over_best"],
        sites_changed_best=alt["sites_changed"][known[0].name],
        sites_changed_min=min(alt["sites_changed"].values()),
    )
    return row, Values(job.name, run.plan.result.values, known[0].floors)


def at_once(directions: tuple[Direction, ...], count: int) -> int:
    """How many runs can go at once after the best: one of the ``differ`` chain, every one of another direction."""
    return sum(1 if d is Direction.DIFFER else count for d in directions)


def check_scenario(path: Path) -> None:
    """Alternatives are of one target year's plan: a phased scenario is refused, naming its ``phases`` key."""
    scen = load_scenario(path)
    if scen.phases:
        file, line = locate_key(scen, "phases")
        why = "alternatives are found for one target year's plan; this scenario is phased (run it without 'phases:')"
        raise InputError([Issue(file, why, line=line, column="phases")])


def run_alternatives(
    scenario: Path, out: Path, spec: NearSpec, cluster: Cluster, tell: Callable[[str, dict | None], None]
) -> list[dict]:
    """The best plan and its alternatives on the cluster (see the module docstring); their rows, best first.

    ``tell`` hears what a sweep's listener hears (``start``, ``dashboard``, ``done``)."""
    from dask.distributed import as_completed

    check_scenario(scenario)
    out.mkdir(parents=True, exist_ok=True)
    path = str(scenario.resolve())

    def job(name: str) -> Job:
        return Job(name, path, str(out / "runs" / name), spec.outputs)

    tell("start", {"total": 1 + spec.count * len(spec.directions)})
    with connect(cluster) as client:
        tell("dashboard", {"link": client.dashboard_link, "workers": len(client.scheduler_info()["workers"])})
        best = client.submit(best_task, job("best"), spec, key="near-best", pure=False)
        futures = [best]
        for d in spec.directions:
            chain = [best]
            for k in range(1, spec.count + 1):
                slack = spec.slack if d is Direction.DIFFER else spec.slack * k / spec.count
                name = f"{d.value}-{k}"
                before = chain if d is Direction.DIFFER else [best]
                fut = client.submit(near_task, job(name), spec, d, slack, before, key=f"near-{name}", pure=False)
                chain.append(fut)
                futures.append(fut)
        rows: dict[str, dict] = {}
        try:
            for fut in as_completed(futures):
                row = fut.result()[0]
                rows[row["name"]] = row
                tell("done", row)
        except KeyboardInterrupt:
            client.cancel(futures)
            raise
    order = ["best"] + [f"{d.value}-{k}" for d in spec.directions for k in range(1, spec.count + 1)]
    return [rows[n] for n in order if n in rows]
