"""What a person sees while ``planner run`` works: the watch's record, the log
lines when not on a terminal, ``run.log`` and the last lines in words."""

from __future__ import annotations

import json
import threading

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.solve.watch import Event, Watch
from tests.factory import make_case, school, site, village


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=30))
def test_the_watch_keeps_the_best_plan_and_tells_each_better_one(objectives):
    heard = []
    watch = Watch(lambda e, s: heard.append((e, s.best)))
    watch.begin("run / solve", 60.0)
    for v in objectives:
        watch.improved(v)
    better = [v for i, v in enumerate(objectives) if all(v < u for u in objectives[:i])]
    assert heard[0] == (Event.STAGE, None)
    assert [b for e, b in heard[1:]] == better and all(e is Event.IMPROVED for e, _ in heard[1:])
    assert watch.snapshot().best == min(objectives)


def test_the_snapshot_counts_the_seconds_and_the_gap():
    now = FakeTime()
    watch = Watch(now=now)
    watch.begin("run / solve / start", 30.0)
    now.t += 12.0
    watch.improved(110.0, 99.0)
    watch.bound(100.0)
    s = watch.snapshot()
    assert (s.stage, s.elapsed_s, s.left_s, s.best, s.bound) == ("run / solve / start", 12.0, 18.0, 110.0, 100.0)
    assert abs(s.gap - 10.0 / 110.0) < 1e-12
    watch.bound(float("inf"))  # an unbounded bound (no LP yet) is not recorded
    assert watch.snapshot().bound == 100.0
    now.t += 40.0
    assert watch.snapshot().left_s == 0.0


def test_solver_threads_report_at_once_without_losing_the_best():
    watch = Watch()
    watch.begin("run / solve", 10.0)
    values = [[float(1000 - k * 7 - j) for k in range(200)] for j in range(4)]
    threads = [threading.Thread(target=lambda vs=vs: [watch.improved(v) for v in vs]) for vs in values]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert watch.snapshot().best == min(min(vs) for vs in values)


def test_the_live_line_fits_a_terminal():
    from planner.display import solve_line
    from planner.solve.watch import Snapshot

    stage = "run / solve / stage 1 (split catchments) / warm start / LP relaxation"
    line = solve_line(Snapshot(stage, 12.4, 287.6, 17_358_108.5, 16_999_999.9))
    assert len(line) <= 79 and line.startswith("LP relaxation · 12 s (288 s left)") and "gap 2.06 %" in line


def _case(tmp_path):
    villages = [village("V1", 0, 0, 90, 80, 60), village("V2", 4, 0, 50, 40, 70), village("V3", 2, 3, 30, 20, 10)]
    schools = [
        school("S1", 0, 0, "primary", classes_primary=4),
        school("S2", 4, 0.2, "nine_year", classes_primary=3, classes_junior=3),
        school("S3", 2, 3, "teaching_point", classes_primary=1),
    ]
    return make_case(
        tmp_path, villages, schools, [site("C1", 2, 1, "primary,junior")], {"objective": {"per_10k_yuan": 1}}
    )


def test_a_run_off_a_terminal_logs_its_stages_and_plans_and_ends_in_words(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(_case(tmp_path)), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert any(ln.startswith("· solve ") for ln in lines), res.output  # a line per solver call
    assert any(ln.startswith("· better plan ") for ln in lines), res.output  # and per better plan
    assert "{" not in res.output and "'" not in res.output  # words, not Python reprs
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    counts = summary["counts_after"]
    schools = next(ln for ln in lines if ln.startswith("规划后学校 schools after:"))
    for zh, en, t in (("教学点", "teaching points", "teaching_point"), ("完全小学", "primary", "primary")):
        assert f"{zh} {en} {counts.get(t, 0)}" in schools
    assert f"run folder: {out.resolve()}" in res.output and "report.html" in lines[-1]
    log = (out / "run.log").read_text(encoding="utf-8")
    assert "Reading and validating inputs" in log and "better plan" in log and schools in log
    assert str(out.resolve()) in log and ".tmp" not in log  # the folder's final name, not its temporary one


def test_quiet_prints_no_progress_but_keeps_the_log(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(_case(tmp_path)), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert not any(ln.startswith("·") for ln in res.output.splitlines()), res.output
    assert "better plan" in (out / "run.log").read_text(encoding="utf-8")
