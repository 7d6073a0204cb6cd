"""Shared pytest set-up: the Agg backend, quiet solvers, run-folder helpers."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from planner.outputs.folder import write_run_folder  # noqa: E402
from planner.pipeline import run_scenario  # noqa: E402


@pytest.fixture
def solve_to_folder(tmp_path):
    """Solve a scenario file and write its run folder; return (run, folder)."""

    def _solve(scenario_path, name="run", **overrides):
        run = run_scenario(scenario_path, **overrides)
        folder = write_run_folder(tmp_path / name, run.problem, run.plan, run.summary)
        return run, folder

    return _solve
