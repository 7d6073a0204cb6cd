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


def pytest_collection_modifyitems(config, items):
    """The whole-scenario runs first, so that with ``-n 2 --maxschedchunk 1``
    (``make test``) each worker takes the next test as it frees up: the long
    runs spread over both workers and the short tests fill in behind them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
