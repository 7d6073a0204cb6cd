"""Command line: ``planner run``, ``validate``, ``project``, ``compare``, ``template``, ``export-inputs``,
``sweep`` and ``alternatives``.

The CLI only wires the stages of :mod:`planner.pipeline` together, shows
progress, and maps outcomes to exit codes: 0 a plan was written, 2 bad input
(nothing written), 3 infeasible (diagnosis printed), 4 no plan found within the
time limit (not proved infeasible; nothing written), 1 anything else.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from planner.assess.diagnose import format_diagnosis
from planner.config.sources import load_scenario
from planner.data.problem import Problem
from planner.display import RunDisplay, SweepDisplay, final_lines
from planner.errors import InfeasibleError, PlannerError, ScenarioConflict
from planner.outputs.folder import (
    FolderExists,
    NotWritable,
    atomic_folder,
    check_target,
    write_diagnosis,
    write_run_folder,
)
from planner.pipeline import prepare, project_scenario, run_clock, solve_phases, solve_problem, with_solver
from planner.solve.clock import Clock

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="School layout and capacity planning optimiser (学校布局与学位规划).",
)
err = Console(stderr=True)
out = Console()


def _fail(e: BaseException) -> None:
    err.print(f"error: {e}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(getattr(e, "exit_code", 1))


def _sigterm(signum, frame) -> None:  # pragma: no cover - exercised by a subprocess test
    """SIGTERM while writing stops a run like Ctrl-C: nothing half-written."""
    raise KeyboardInterrupt


@contextmanager
def _stop_on_signal(clock: Clock, show: RunDisplay) -> Iterator[None]:
    """While solving, the first Ctrl-C or SIGTERM stops the run's clock: the
    solve winds down and keeps its best plan (written as ``interrupted``, the
    signal said in ``run.log``); a second one aborts (nothing written)."""

    def stop(signum, frame) -> None:  # pragma: no cover - exercised by a subprocess test
        if clock.stopped:
            raise KeyboardInterrupt
        clock.request_stop()
        name = signal.Signals(signum).name
        show.log(f"stopping: {name} received by process {os.getpid()}; keeping the best plan so far (again to abort)")

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _explain(e: PlannerError, out_dir: Path, force: bool) -> None:
    """Print an infeasible scenario's diagnosis and write it as ``OUT/diagnosis.json``
    (a folder holding only that file, written atomically)."""
    d = getattr(e, "diagnosis", None)
    if d is None:
        _fail(e)
        return
    err.print(f"error: {e}", highlight=False, markup=False, soft_wrap=True)
    err.print(format_diagnosis(d, reasons=False), highlight=False, markup=False, soft_wrap=True)
    try:
        suggested = getattr(e, "suggested", None)
        path = write_diagnosis(out_dir, d, force=force, suggested=suggested, writers=_writers())
        err.print(f"diagnosis written to {path}", highlight=False, soft_wrap=True)
        if suggested is not None:
            err.print(
                f"suggested plan (the budget at {suggested[2]['budget_10k_yuan']:,.1f}) in {out_dir / 'suggested'}",
                highlight=False,
                soft_wrap=True,
            )
    except (OSError, FolderExists, NotWritable) as w:
        err.print(f"diagnosis not written: {w}", highlight=False, soft_wrap=True)
    raise typer.Exit(e.exit_code)


def _writers() -> tuple:
    """The core writers plus every appendix writer that is installed."""
    from planner.outputs.appendix import APPENDIX_WRITERS
    from planner.outputs.folder import write_core

    return (write_core, *APPENDIX_WRITERS)


@contextmanager
def _stage_log(on: bool) -> Iterator[None]:
    """While solving, the planner's INFO log (the plan of time, each stage's
    seconds and objective) goes to stderr when ``on`` (``--verbose``)."""
    if not on:
        yield
        return
    logger = logging.getLogger("planner")
    level = logger.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="scenario YAML"),
    out_dir: Path = typer.Option(..., "--out", help="run folder to write"),
    time_limit: Optional[float] = typer.Option(
        None, "--time-limit", help="seconds for the whole run: every stage, balance round and the diagnosis"
    ),
    solver: Optional[str] = typer.Option(None, "--solver", help="highs or cbc"),
    gap: Optional[float] = typer.Option(None, "--gap", help="relative MIP gap, e.g. 0.005"),
    force: bool = typer.Option(False, "--force", help="replace an existing run folder"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress display"),
    verbose: bool = typer.Option(
        False, "--verbose", help="log the plan of time and each solve stage's seconds and objective"
    ),
) -> None:
    """Solve a scenario and write its run folder."""
    if solver not in (None, "highs", "cbc"):
        _fail(PlannerError(f"--solver must be highs or cbc, not {solver}"))
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        check_target(out_dir, force=force)
        scen = with_solver(load_scenario(scenario), time_limit=time_limit, solver=solver, gap=gap)
        clock = run_clock(scen)
        show = RunDisplay(err, quiet)
        clock.watch = show.watch
        with show.showing(), _stage_log(verbose), _stop_on_signal(clock, show):
            problem = prepare(scen, show.stage, clock=clock)
            for w in problem.warnings:
                show.warn(w)
            run_ = (solve_phases if scen.phases else solve_problem)(problem, show.stage, clock)
        show.stage("write")
        writers = (*_writers(), show.log_writer(out_dir))
        folder = write_run_folder(out_dir, run_.problem, run_.plan, run_.summary, force=force, writers=writers)
    except FolderExists as e:
        err.print(f"error: {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except (InfeasibleError, ScenarioConflict) as e:
        _explain(e, out_dir, force)
    except PlannerError as e:
        _fail(e)
    except KeyboardInterrupt:
        err.print(
            f"interrupted: nothing written ({out_dir} {'left as it was' if out_dir.exists() else 'not created'})",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    _report(run_.summary, folder)


def _report(s: dict, folder: Path) -> None:
    """The run's headline on stdout (and a time limit or interrupt said on stderr)."""
    if s["status"] in ("interrupted", "time_limit"):
        why = "interrupted" if s["status"] == "interrupted" else "time limit reached"
        err.print(
            f"[yellow]{why}[/]: the run folder holds the best plan found so far (status {s['status']})",
            highlight=False,
            soft_wrap=True,
        )
    for line in final_lines(s, folder):
        out.print(line, soft_wrap=True, highlight=False)


@app.command()
def validate(scenario: Path = typer.Argument(..., help="scenario YAML")) -> None:
    """Check a scenario and its input files without solving."""
    try:
        problem = prepare(scenario)
    except PlannerError as e:
        _fail(e)
    for w in problem.warnings:
        err.print(f"warning: {w}", highlight=False)
    out.print(
        f"{scenario}: OK — {len(problem.villages)} villages, {len(problem.schools)} schools, "
        f"{len(problem.candidates)} candidate sites, {len(problem.pairs)} pairs within limits",
        soft_wrap=True,
    )
    _print_phases(problem)


def _print_phases(problem: Problem) -> None:
    """A phased scenario's phases: years, the year each is planned for, its budget."""
    from planner.projection.pupils import phase_spans, projection_of

    phases = problem.scenario.phases
    for p, span in zip(phases, phase_spans(problem, projection_of(problem))):
        budget = "no budget" if p.budget_10k_yuan is None else f"budget {p.budget_10k_yuan:,.0f} (10k yuan)"
        out.print(f"phase {p.name} ({p.first_year}-{p.last_year}): {_planned_for(span)}, {budget}", highlight=False)


def _planned_for(span: tuple[int, int] | None) -> str:
    if span is None:
        return "planned for the scenario's pupils"
    first, last = span
    return f"planned for {first}" if first == last else f"planned for each village's most in {first}-{last}"


@app.command()
def project(
    scenario: Path = typer.Argument(..., help="scenario YAML with a 'projection:' key"),
    out_dir: Path = typer.Option(..., "--out", help="folder to write"),
    to_year: Optional[int] = typer.Option(None, "--to-year", help="last year projected (default: the target year)"),
    force: bool = typer.Option(False, "--force", help="replace an existing folder"),
) -> None:
    """Project pupils by village, band and year from a base year's grades and
    births; write the tables and the enrolment chart."""
    from planner.outputs.projection import phase_table, write_projection

    try:
        problem, projection = project_scenario(scenario, to_year)
        for w in projection.warnings:
            err.print(f"[yellow]warning[/]: {w}", highlight=False)
        folder = atomic_folder(out_dir, lambda tmp: write_projection(problem, projection, tmp), force=force)
    except FolderExists as e:
        err.print(f"error: {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except PlannerError as e:
        _fail(e)
    totals = projection.totals()
    for year in projection.years:
        t = totals.loc[year]
        out.print(f"{year}: primary {t['primary']:,.0f}, junior {t['junior']:,.0f}", highlight=False)
    for _, r in phase_table(problem, projection).iterrows():
        span = (int(r["plan_first_year"]), int(r["plan_last_year"]))
        out.print(
            f"phase {r['phase']} ({r['first_year']}-{r['last_year']}): {_planned_for(span)}, "
            f"primary {r['primary_planned']:,.0f}, junior {r['junior_planned']:,.0f}",
            highlight=False,
        )
    out.print(f"projection folder: {folder.resolve()}", soft_wrap=True, highlight=False)


@app.command()
def compare(
    folders: list[Path] = typer.Argument(..., help="two or more run folders written by `planner run`"),
    out_dir: Path = typer.Option(..., "--out", help="folder for compare.xlsx and compare.html"),
    force: bool = typer.Option(False, "--force", help="replace an existing output folder"),
) -> None:
    """Compare run folders side by side (情景比较): compare.xlsx and compare.html."""
    from planner.outputs.compare import write_compare

    try:
        folder = write_compare(folders, out_dir, force=force)
    except FolderExists as e:
        err.print(f"error: {e}", highlight=False)
        raise typer.Exit(1) from None
    except PlannerError as e:
        _fail(e)
    out.print(f"compared {len(folders)} runs: {(folder / 'compare.html').resolve()}")


def _new_file(path: Path, force: bool) -> None:
    if path.suffix.lower() != ".xlsx":
        err.print(f"error: {path} must end in .xlsx", highlight=False)
        raise typer.Exit(2)
    if path.exists() and not force:
        err.print(f"error: {path} exists (use --force to replace it)", highlight=False)
        raise typer.Exit(1)


@app.command()
def template(
    out_file: Path = typer.Option(..., "--out", help="input workbook to write (.xlsx)"),
    force: bool = typer.Option(False, "--force", help="replace an existing file"),
) -> None:
    """Write an empty input workbook (学校, 村庄, 候选用地, 出生人口, 说明) to fill in."""
    from planner.data.template import write_workbook

    _new_file(out_file, force)
    write_workbook(out_file)
    out.print(
        f"input workbook: {out_file.resolve()}\n"
        f"fill it in, then name it in a scenario: data: {{xlsx: {out_file.name}}}",
        soft_wrap=True,
        highlight=False,
    )


@app.command("export-inputs")
def export_inputs(
    scenario: Path = typer.Argument(..., help="scenario YAML"),
    out_file: Path = typer.Option(..., "--out", help="input workbook to write (.xlsx)"),
    force: bool = typer.Option(False, "--force", help="replace an existing file"),
) -> None:
    """Write a scenario's villages, schools, candidate sites and births to an input workbook."""
    from planner.data.template import export_inputs as export

    _new_file(out_file, force)
    try:
        export(load_scenario(scenario), out_file)
    except PlannerError as e:
        _fail(e)
    out.print(f"input workbook: {out_file.resolve()}", soft_wrap=True, highlight=False)


@app.command()
def sweep(
    sweep_file: Path = typer.Argument(..., help="sweep YAML: a base scenario and a grid or runs, or counties"),
    out_dir: Path = typer.Option(..., "--out", help="folder for the runs, sweep.csv, sweep.xlsx and sweep.html"),
    workers: int = typer.Option(2, "--workers", min=1, help="local Dask worker processes"),
    threads: int = typer.Option(1, "--threads-per-worker", min=1, help="solver threads of each run"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="an existing Dask scheduler, tcp://HOST:8786"),
) -> None:
    """Run every variant of a sweep on Dask distributed; runs already done with the same inputs are kept."""
    from planner.sweep.report import write_sweep
    from planner.sweep.run import Cluster, run_sweep

    show = SweepDisplay(err)
    try:
        try:
            rows = run_sweep(sweep_file, out_dir, Cluster(workers, threads, scheduler), show.tell)
        finally:
            show.close()
        df = write_sweep(rows, out_dir)
    except PlannerError as e:
        _fail(e)
    except KeyboardInterrupt:
        err.print(f"interrupted: the finished runs are kept in {out_dir / 'runs'}", highlight=False)
        raise typer.Exit(1) from None
    front = ", ".join(df.loc[df["pareto"], "name"].astype(str))
    out.print(f"{len(df)} runs, {show.failed} failed; Pareto front: {front or 'none'}", highlight=False)
    out.print(f"sweep: {(out_dir / 'sweep.html').resolve()}", soft_wrap=True, highlight=False)
    if show.failed:
        raise typer.Exit(1)


@app.command()
def alternatives(
    scenario: Path = typer.Argument(..., help="scenario YAML (one target year)"),
    out_dir: Path = typer.Option(..., "--out", help="folder for the runs, alternatives.* and compare/"),
    slack: float = typer.Option(0.02, "--slack", min=0.0, help="how far above the best plan's objective, as a share"),
    count: int = typer.Option(3, "--count", min=1, help="alternatives per direction"),
    direction: list[str] = typer.Option(
        ["differ"], "--direction", help="differ, keep-schools, fewer-new or fewer-boarders (repeatable)"
    ),
    outputs: str = typer.Option("report", "--outputs", help="each run's outputs: summary,tables,xlsx,gpkg,maps,report"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="seconds for each run"),
    workers: Optional[int] = typer.Option(
        None, "--workers", min=1, help="local Dask worker processes (default: as many runs as can go at once)"
    ),
    threads: Optional[int] = typer.Option(
        None, "--threads-per-worker", min=1, help="solver threads of each run (default: the cores shared out)"
    ),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="an existing Dask scheduler, tcp://HOST:8786"),
) -> None:
    """The best plan and plans almost as good that differ from it (方案比选: modelling to generate alternatives)."""
    from planner.outputs.compare import write_compare
    from planner.solve.alternatives import Direction
    from planner.sweep.alternatives import NearSpec, at_once, run_alternatives
    from planner.sweep.report import write_sweep
    from planner.sweep.run import Cluster

    known = [d.value for d in Direction]
    if bad := [d for d in direction if d not in known]:
        err.print(f"error: --direction {bad[0]!r}: choose from {', '.join(known)}", highlight=False)
        raise typer.Exit(2)
    ways = tuple(dict.fromkeys(Direction(d) for d in direction))
    cores = os.cpu_count() or 1
    workers = workers or max(1, min(cores, at_once(ways, count)))
    threads = threads or max(1, cores // workers)
    kept = tuple(o for o in outputs.split(",") if o.strip() not in ("", "summary", "tables"))
    spec = NearSpec(slack, count, ways, kept, time_limit, threads)
    show = SweepDisplay(err)
    try:
        try:
            rows = run_alternatives(scenario, out_dir, spec, Cluster(workers, threads, scheduler), show.tell)
        finally:
            show.close()
        write_sweep(rows, out_dir, stem="alternatives")
        done = [out_dir / "runs" / r["name"] for r in rows if r["exit_code"] == 0]
        if len(done) > 1:
            write_compare(done, out_dir / "compare", force=True)
    except PlannerError as e:
        _fail(e)
    except KeyboardInterrupt:
        err.print(f"interrupted: the finished runs are kept in {out_dir / 'runs'}", highlight=False)
        raise typer.Exit(1) from None
    _said_alternatives(rows, out_dir, show.failed)


def _said_alternatives(rows: list[dict], out_dir: Path, failed: int) -> None:
    """A line per alternative found, the page, and the exit code (the best's if it failed)."""
    for r in rows[1:]:
        if r["exit_code"] == 0:
            out.print(
                f"{r['name']}: {100 * r['over_best']:+.2f} % against the best, "
                f"{r['sites_changed_best']} sites decided otherwise (at least {r['sites_changed_min']} from any other)",
                highlight=False,
            )
    out.print(f"alternatives: {(out_dir / 'alternatives.html').resolve()}", soft_wrap=True, highlight=False)
    if rows and rows[0]["exit_code"] != 0:
        raise typer.Exit(rows[0]["exit_code"])
    if failed:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
