"""Faults: atomic run folders, --force, a run killed while writing, a target
that cannot be written, Ctrl-C and SIGTERM in a solve, time limits, the CBC
fallback, and the same plan from the same inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner.cli
import planner.pipeline
from planner.cli import app
from planner.outputs.folder import atomic_folder, write_core, write_run_folder
from planner.pipeline import prepare, run_scenario
from planner.solve import highs
from planner.solve.status import SolveStatus, no_plan
from tests.factory import make_case, school, site, slow_case, village

CORE = ["assignments.csv", "manifest.json", "schools.csv", "summary.json"]
ROOT = Path(__file__).resolve().parents[1]


def _small(tmp_path: Path) -> Path:
    return make_case(
        tmp_path,
        [village("V1", 0, 0, 30, 30, 30), village("V2", 3, 0, 40, 20, 10)],
        [school("S1", 0, 1, "nine_year"), school("S2", 4, 0, "primary")],
        [site("C1", 2, 2, "primary,junior")],
        scenario={"solver": {"threads": 1}},
    )


@pytest.fixture(autouse=True)
def core_writers_only(monkeypatch):
    """The appendix (maps, workbook, report) is not what these tests are about, and is slow."""
    monkeypatch.setattr(planner.cli, "_writers", lambda: (write_core,))


def _cli(*args):
    return CliRunner().invoke(app, ["run", *map(str, args), "--quiet"])


# ------------------------------------------------------------ atomic writes


def test_a_failing_writer_leaves_nothing(tmp_path):
    run = run_scenario(_small(tmp_path / "in"))

    def broken(problem, plan, summary, folder):
        (folder / "half.csv").write_text("a,b\n1,", encoding="utf-8")
        raise ValueError("a writer's own bug")

    with pytest.raises(ValueError):
        write_run_folder(tmp_path / "out" / "run", run.problem, run.plan, run.summary, writers=(write_core, broken))
    assert list((tmp_path / "out").iterdir()) == []  # neither the run folder nor a temporary one


def test_a_failed_replace_keeps_the_old_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text('{"old": true}', encoding="utf-8")

    def fill(tmp):
        (tmp / "summary.json").write_text("{}", encoding="utf-8")
        raise KeyboardInterrupt  # Ctrl-C while writing

    with pytest.raises(KeyboardInterrupt):
        atomic_folder(out, fill, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert (out / "summary.json").read_text(encoding="utf-8") == '{"old": true}'


def test_existing_out_is_kept_without_force_and_replaced_with_it(tmp_path):
    path = _small(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me", encoding="utf-8")
    res = _cli(path, "--out", out)
    assert res.exit_code == 1 and "exists; use --force" in res.output
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    res = _cli(path, "--out", out, "--force")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == sorted([*CORE, "run.log"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from planner.outputs.folder import atomic_folder

    out, marker = Path(sys.argv[1]), Path(sys.argv[2])

    def fill(tmp):
        (tmp / "summary.json").write_text("{}", encoding="utf-8")
        marker.write_text(str(tmp), encoding="utf-8")  # half written: the test kills us now
        time.sleep(600)

    atomic_folder(out, fill, force=True)
""")


@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_a_run_killed_while_writing_leaves_no_folder_and_the_next_run_clears_it(tmp_path, existing):
    """SIGKILL while the run folder is half written: nothing appears at
    ``--out`` (an existing folder stays as it was); the temporary folder it
    leaves is cleared by the next write to the same place."""
    out, marker = tmp_path / "runs" / "r", tmp_path / "marker"
    if existing:
        out.mkdir(parents=True)
        (out / "summary.json").write_text('{"old": true}', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(out), str(marker)], cwd=ROOT)
    while not marker.exists():
        assert proc.poll() is None, "the writer ended before writing"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = sorted(p.name for p in out.parent.iterdir())
    assert left == sorted([*(["r"] if existing else []), Path(marker.read_text(encoding="utf-8")).name])
    if existing:
        assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {"old": True}
    atomic_folder(out, lambda tmp: (tmp / "summary.json").write_text('{"new": true}', encoding="utf-8"), force=True)
    assert [p.name for p in out.parent.iterdir()] == ["r"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {"new": True}


@pytest.fixture
def small_disk(tmp_path):
    """A 100 kB file system (tmpfs) mounted at a fresh folder; remounted
    read-only on request. Needs root (CI runs as root); skipped otherwise."""
    where = tmp_path / "disk"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root and mount): the full and read-only disk tests skip")

    def read_only() -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)

    yield where, read_only
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_out_ends_in_a_clear_error_before_solving(tmp_path, small_disk, monkeypatch):
    where, read_only = small_disk
    read_only()
    solved = []
    monkeypatch.setattr(planner.cli, "solve_problem", lambda *a, **k: solved.append(1))
    res = _cli(_small(tmp_path / "in"), "--out", where / "run")
    assert res.exit_code == 1 and not solved
    assert f"cannot write the run folder {where / 'run'}" in res.output and "read-only" in res.output
    assert "Traceback" not in res.output and list(where.iterdir()) == []


def test_a_full_disk_ends_in_a_clear_error_with_nothing_half_written(tmp_path, small_disk, monkeypatch):
    """schools.csv and the rest fit; a 1 MB writer's file does not."""
    where, _ = small_disk
    big = lambda problem, plan, summary, folder: (folder / "big.bin").write_bytes(b"\0" * 1_000_000)  # noqa: E731
    monkeypatch.setattr(planner.cli, "_writers", lambda: (write_core, big))
    res = _cli(_small(tmp_path / "in"), "--out", where / "run")
    assert res.exit_code == 1, res.output
    assert f"cannot write the run folder {where / 'run'}" in res.output and "disk is full" in res.output
    assert "Traceback" not in res.output and list(where.iterdir()) == []


# ---------------------------------------------------------- interrupts


def _sigint_default() -> None:
    """In the child, before exec: SIGINT back to its default. A test suite
    started as a background job (``make test &``) inherits SIGINT ignored,
    and Python keeps an inherited SIG_IGN, so the child would never see the
    Ctrl-C this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


POLISH_FIRST = {
    "solver": {
        "time_limit_s": 120,
        "tuning": {"staged": {"relax_share": 0.1, "fix_share": 0.1, "repair_share": 0.05, "first_fix_gap": 0.5}},
    }
}
"""Short first stages, so the polish (stage 3) starts from a whole plan with
most of the run's time left, and cannot prove the hard case in it."""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_polish_writes_the_plan_so_far(tmp_path, sig):
    """The signal is sent when the log says the polish has started (a whole
    plan in hand, the polish far from a proof): the run writes that plan
    whole, marked ``interrupted``, and no temporary folder is left."""
    path = slow_case(tmp_path / "in", scenario=POLISH_FIRST)
    out = tmp_path / "runs" / "slow"
    out.parent.mkdir()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("planner")), "run", str(path), "--out", str(out), "--verbose"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=_sigint_default,
    )
    for line in proc.stderr:
        if "stage 3 (polish) gets" in line:
            break
    else:
        pytest.fail("the polish never started")
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert [p.name for p in out.parent.iterdir()] == ["slow"]  # no temporary folder left
    assert set(CORE) <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "interrupted" and summary["mip_gap"] > 0
    status = next(ln for ln in stdout.splitlines() if ln.startswith("状态 status:"))
    assert "interrupted" in stderr and "interrupted" in status, stdout
    log = (out / "run.log").read_text(encoding="utf-8")
    assert "interrupted" in log and f"stopping: {sig.name} received" in log  # the run's log says how it ended, and why


def test_a_signal_before_any_plan_writes_nothing(tmp_path, monkeypatch):
    """Ctrl-C before any plan exists: exit 1, nothing at ``--out``."""

    def stopped(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(planner.pipeline, "solve_model", stopped)
    res = _cli(_small(tmp_path / "in"), "--out", tmp_path / "out")
    assert res.exit_code == 1 and "interrupted: nothing written" in res.output
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------- time limits


def test_a_time_limit_with_a_plan_writes_it_with_its_gap(tmp_path):
    """The slow case (caps 3 % above the mean load on 80 sites) is far from
    proved in 15 s, and its staged solve has a whole plan from stage 2 on."""
    res = _cli(slow_case(tmp_path / "in"), "--out", tmp_path / "out", "--time-limit", "15")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "time_limit" and summary["mip_gap"] > 0
    assert f"gap {100 * summary['mip_gap']:.2f} %" in res.output and "time limit reached" in res.output


def test_a_time_limit_without_a_plan_says_so(tmp_path, monkeypatch):
    """The solver's report of no plan at the time limit (forced here: every
    test case finds a plan at once)."""
    monkeypatch.setattr(
        planner.pipeline,
        "solve_model",
        lambda *a, **k: no_plan(SolveStatus.NO_SOLUTION, "highs", 3.0, "Time limit reached"),
    )
    res = _cli(_small(tmp_path / "in"), "--out", tmp_path / "out", "--time-limit", "3")
    assert res.exit_code == 4, res.output  # not 3: nothing proved the scenario infeasible
    assert "No plan found for 'case' within the time limit of 3 s" in res.output and "--time-limit" in res.output
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------- solver fallback


def test_cbc_takes_over_when_highs_is_unavailable_or_fails(tmp_path, monkeypatch):
    problem = prepare(_small(tmp_path))
    ref = run_scenario(problem.scenario)
    monkeypatch.setattr(highs, "available", lambda: False)
    with pytest.warns(RuntimeWarning, match="not available; falling back to CBC"):
        cbc = run_scenario(problem.scenario)
    assert cbc.summary["solver"] == "cbc"
    assert cbc.summary["objective"] == pytest.approx(ref.summary["objective"], rel=1e-6)
    monkeypatch.setattr(highs, "available", lambda: True)

    def boom(*a, **k):
        raise RuntimeError("HiGHS crashed")

    monkeypatch.setattr(highs, "solve_highs", boom)
    with pytest.warns(RuntimeWarning, match=r"HiGHS failed \(HiGHS crashed\); falling back to CBC"):
        again = run_scenario(problem.scenario)
    assert again.summary["solver"] == "cbc"
    assert again.summary["objective"] == pytest.approx(ref.summary["objective"], rel=1e-6)


# ---------------------------------------------------------- determinism

TIMING = ("solve_seconds", "build_seconds", "seconds")


def test_same_inputs_same_plan(tmp_path):
    path = _small(tmp_path / "in")
    for name in ("a", "b"):
        assert _cli(path, "--out", tmp_path / name).exit_code == 0
    for f in ("schools.csv", "assignments.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    a, b = (json.loads((tmp_path / n / "summary.json").read_text(encoding="utf-8")) for n in ("a", "b"))
    assert {k: v for k, v in a.items() if k not in TIMING} == {k: v for k, v in b.items() if k not in TIMING}
