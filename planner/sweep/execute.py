"""One run of a sweep, as a Dask task: ``planner run`` of its scenario file
into its run folder, returning the row of ``sweep.csv`` (never raising, so a
failed run is recorded and the others go on)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from planner.config.scenario import Scenario
from planner.config.sources import load_scenario
from planner.data.problem import Problem
from planner.display import RunDisplay
from planner.domain import TYPES
from planner.errors import InfeasibleError, PlannerError, ScenarioConflict
from planner.outputs.appendix import APPENDIX_WRITERS
from planner.outputs.folder import write_core, write_diagnosis, write_run_folder
from planner.outputs.gpkg import write_gpkg
from planner.outputs.maps import write_maps
from planner.outputs.projection import write_projected
from planner.outputs.report import write_report
from planner.outputs.workbook import write_workbook
from planner.pipeline import Run, prepare, run_clock, solve_phases, solve_problem
from planner.solve.clock import Clock

WRITERS = {
    "xlsx": (write_workbook,),
    "gpkg": (write_gpkg,),
    "maps": (write_maps,),
    "report": (write_maps, write_report),
}
"""What each optional output writes (the report embeds the maps)."""


@dataclass(frozen=True)
class Job:
    """A run to make: its name, scenario file, run folder and outputs."""

    name: str
    scenario: str
    out: str
    outputs: tuple[str, ...]


def writers(outputs: tuple[str, ...]) -> tuple:
    """The core writer, then the appendix writers ``planner run`` uses that the outputs ask for
    (the projection's always), in their order."""
    chosen = {write_projected, *(w for o in outputs for w in WRITERS.get(o, ()))}
    return (write_core, *(w for w in APPENDIX_WRITERS if w in chosen))


def kpis(summary: dict) -> dict:
    """A run's figures for ``sweep.csv``."""
    actions = summary.get("actions", {})
    row = {
        "status": summary["status"],
        "mip_gap": summary["mip_gap"],
        "objective": summary["objective"],
        **{f"schools_{t}": summary["counts_after"].get(t, 0) for t in TYPES},
        "schools_closed": actions.get("merge", 0) + actions.get("close", 0),
        "cost_10k_yuan": summary["cost_10k_yuan"]["total"],
        "cost_budgeted_10k_yuan": summary["cost_budgeted_10k_yuan"],
        "budget_10k_yuan": summary["budget_10k_yuan"],
        "pupil_km": round(sum(summary["pupil_km"].values()), 3),
        "boarders": summary["boarders"]["total"],
        **{f"mean_trip_km_{b}": v for b, v in summary["mean_trip_km"].items()},
        **{f"max_trip_km_{b}": v for b, v in summary["max_trip_km"].items()},
    }
    ind = summary.get("indicators") or {}
    if "all_schools_pass" in ind:
        row["all_schools_pass"] = ind["all_schools_pass"]
    return row


def run_job(job: Job) -> dict:
    """Solve one scenario file and write its run folder; the row of the result
    (``exit_code`` 0 written, 2 bad input, 3 no plan, 4 none in time, 1 other)."""

    def solve(show: RunDisplay) -> Run:
        scen = load_scenario(job.scenario)
        problem, clock = prepared(scen, show)
        return (solve_phases if scen.phases else solve_problem)(problem, show.stage, clock)

    return guarded(job, solve)[0]


def prepared(scen: Scenario, show: RunDisplay) -> tuple[Problem, Clock]:
    """The run's clock (watched by ``show``) and its problem, prepared within it."""
    clock = run_clock(scen)
    clock.watch = show.watch
    return prepare(scen, show.stage, clock=clock), clock


def guarded(job: Job, solve: Callable[[RunDisplay], Run]) -> tuple[dict, Run | None]:
    """``solve`` (given a quiet display) and the run folder written, never raising:
    the row of the result (see :func:`run_job`) and the run, if any."""
    start = time.monotonic()
    out = Path(job.out)
    row: dict = {"name": job.name, "exit_code": 0, "message": ""}
    run = None
    try:
        show = RunDisplay(Console(file=io.StringIO()), quiet=True)
        run = solve(show)
        show.stage("write")
        all_writers = (*writers(job.outputs), show.log_writer(out))
        write_run_folder(out, run.problem, run.plan, run.summary, force=True, writers=all_writers)
        row.update(kpis(run.summary))
    except (InfeasibleError, ScenarioConflict) as e:
        row.update(exit_code=e.exit_code, status="infeasible", message=" ".join(str(e).split())[:500])
        if e.diagnosis is not None:
            write_diagnosis(out, e.diagnosis, force=True)
    except PlannerError as e:
        row.update(exit_code=e.exit_code, status="failed", message=" ".join(str(e).split())[:500])
    except Exception as e:  # noqa: BLE001 - a run's own bug is recorded; the sweep goes on
        row.update(exit_code=1, status="failed", message=f"{type(e).__name__}: {' '.join(str(e).split())[:500]}")
    row["seconds"] = round(time.monotonic() - start, 1)
    return row, (run if row["exit_code"] == 0 else None)
