"""What ``planner run`` shows a person while it works, and ``run.log``.

On a terminal, one live line (rich) redrawn every :data:`REFRESH_S` seconds:
the stage, its elapsed and remaining seconds, the best plan's objective, the
bound and the gap. Elsewhere (a pipe, a CI log) one line per stage and per
better plan. Every line also goes to the run's log, which the run folder
keeps as ``run.log``. The last lines say the plan in words.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.status import Status

from planner.domain import TYPES
from planner.outputs.labels import BUDGET_SCOPE_ZH, STATUS_ZH, TYPE_ZH
from planner.solve.watch import Event, Snapshot, Watch

REFRESH_S = 2.0
"""How often the live line is redrawn (s)."""
LOG_NAME = "run.log"
TYPE_EN = {"teaching_point": "teaching points", "primary": "primary", "junior": "junior", "nine_year": "nine-year"}

STAGES = {
    "load": "Reading and validating inputs",
    "travel": "Computing travel distances",
    "checks": "Checking the scenario",
    "model": "Building the model",
    "solve": "Solving (HiGHS/CBC)",
    "decode": "Decoding the plan",
    "write": "Writing the run folder",
    "diagnose": "No plan: diagnosing (elastic model)",
}


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}"


def solve_line(s: Snapshot) -> str:
    """The live line: stage, seconds, best plan, bound, gap."""
    gap = "-" if s.gap is None else f"{100 * s.gap:.2f} %"
    step = s.stage.split(" / ")[-1] or "solve"  # the innermost step: the line fits a terminal
    best = "no plan yet" if s.best is None else _short(s.best)
    bound = "" if s.bound is None else f" (bound {_short(s.bound)}, gap {gap})"
    return f"{step} · {s.elapsed_s:.0f} s ({s.left_s:.0f} s left) · {best}{bound}"


def _short(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1e5 else f"{v:,.1f}"


class RunDisplay:
    """The run's progress for a person (see the module docstring)."""

    def __init__(self, console: Console, quiet: bool, now=time.monotonic) -> None:
        self.console, self.quiet, self.now = console, quiet, now
        self.start = now()
        self.lines: list[str] = []
        self.live = console.is_terminal and not quiet
        self._status: Status | None = None
        self.watch = Watch(self.hear)

    def log(self, text: str, *, show: bool = True) -> None:
        """A line of the run's log, printed too unless quiet (or drawn by the live line)."""
        self.lines.append(f"[{self.now() - self.start:7.1f} s] {text}")
        if show and not self.quiet:
            self.console.print(f"[dim]·[/] {text}", highlight=False, soft_wrap=True)

    def stage(self, stage: str) -> None:
        """The pipeline's progress callback."""
        words = STAGES.get(stage, stage)
        if self._status is not None:
            self._status.update(words + " ...")
        self.log(words)

    def hear(self, event: Event, snap: Snapshot) -> None:
        """The watch's listener: a solver call began, or found a better plan."""
        if event is Event.STAGE:
            text = f"solve {snap.stage.removeprefix('run / ')} (up to {snap.left_s:.0f} s)"
        else:
            gap = "" if snap.gap is None else f", gap {100 * snap.gap:.2f} %"
            text = f"better plan {_num(snap.best)}" + (
                "" if snap.bound is None else f" (bound {_num(snap.bound)}{gap})"
            )
        self.log(text, show=not self.live)

    def warn(self, text: str) -> None:
        """A warning: in the log, and printed even when quiet."""
        self.log(f"warning: {text}", show=False)
        self.console.print(f"[yellow]warning[/]: {text}", highlight=False, soft_wrap=True)

    @contextmanager
    def showing(self) -> Iterator[None]:
        """The live line while the run works (on a terminal, unless quiet)."""
        if not self.live:
            yield
            return
        done = threading.Event()
        with self.console.status("starting", spinner="dots") as status:
            self._status = status

            def redraw() -> None:
                while not done.wait(REFRESH_S):
                    snap = self.watch.snapshot()
                    if snap.stage:
                        status.update(solve_line(snap))

            t = threading.Thread(target=redraw, daemon=True)
            t.start()
            try:
                yield
            finally:
                done.set()
                t.join()
                self._status = None

    def log_writer(self, target: Path) -> Callable[..., None]:
        """A run-folder writer of ``run.log`` (``target``: where the folder will be)."""

        def write(problem, plan, summary: dict, folder: Path) -> None:
            text = "\n".join([*self.lines, *(f"          {ln}" for ln in final_lines(summary, target))])
            (Path(folder) / LOG_NAME).write_text(text + "\n", encoding="utf-8")

        return write


class SweepDisplay:
    """A sweep's progress: on a terminal a bar over the runs (done, running,
    failed, time left); elsewhere a line per finished run."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.done = self.failed = self.total = self.workers = 0
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def tell(self, what: str, info: dict | None) -> None:
        """The sweep's listener: ``start`` (total), ``dashboard`` (link, workers), ``done`` (a run's row)."""
        assert info is not None
        if what == "start":
            self.total = info["total"]
            if self.console.is_terminal:
                self.bar = Progress(
                    TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=self.console, transient=False,
                )  # fmt: skip
                self.task = self.bar.add_task("runs", total=self.total)
                self.bar.start()
        elif what == "dashboard":
            self.workers = info["workers"]
            self.console.print(f"Dask: {info['workers']} workers, dashboard {info['link']}", highlight=False)
        else:
            row = info
            if row["exit_code"] == 0:
                self.done += 1
            else:
                self.failed += 1
            finished = self.done + self.failed
            running = min(self.workers, self.total - finished)
            said = row.get("status", "") if row["exit_code"] == 0 else f"exit {row['exit_code']}: {row['message']}"
            if self.bar is not None and self.task is not None:
                self.bar.update(
                    self.task,
                    completed=finished,
                    description=f"{self.done} done, {running} running, {self.failed} failed",
                )
                if row["exit_code"] != 0:
                    self.bar.console.print(f"· {row['name']}: {said}", highlight=False)
            else:
                self.console.print(
                    f"· {row['name']}: {said} ({self.done} done, {running} running, {self.failed} failed)",
                    highlight=False,
                )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def final_lines(s: dict, folder: Path) -> list[str]:
    """The run's last lines in words: status and gap, the schools after by type,
    the cost against the budget, the folder and what to open first."""
    gap = "n/a" if s["mip_gap"] is None else f"{100 * s['mip_gap']:.2f} %"
    status = f"{STATUS_ZH.get(s['status'], s['status'])} {s['status']}"
    counts = s["counts_after"]
    types = " · ".join(f"{TYPE_ZH[t]} {TYPE_EN[t]} {counts.get(t, 0)}" for t in TYPES)
    cost = s["cost_10k_yuan"]["total"]
    budget = s["budget_10k_yuan"]
    if budget is None:
        spend = f"投资 cost {cost:,.1f} 万元 (10k yuan), no budget set"
    else:
        scope = BUDGET_SCOPE_ZH.get(s["budget_covers"], "全部")
        spend = (
            f"投资 cost {cost:,.1f} 万元 (10k yuan); {scope} {s['budget_covers']}: {s['cost_budgeted_10k_yuan']:,.1f} "
            f"of the budget {budget:,.1f}"
        )
    if p := s.get("projects"):
        spend += f"; 县级项目 projects: {len(p['built'])} built ({p['cost_10k_yuan']:,.1f}), {len(p['not_built'])} not"
    return [
        f"状态 status: {status} · gap {gap} · objective {s['objective']:,.1f}",
        f"规划后学校 schools after: {types}",
        spend,
        f"run folder: {Path(folder).resolve()}",
        "open report.html first (the plan, its maps and tables); the layout table 布局规划表 is in plan.xlsx",
    ]
