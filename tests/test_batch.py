"""Several fixings of one model solved at once (planner/batch.py): each
job's answer is the one it gets alone, its held variables and narrowed
rows bind it, and the model's own values are left alone."""

from __future__ import annotations

import pytest

from planner.batch import Job, solve_batch
from planner.model import build_model
from planner.scenario import SolverConfig
from planner.solve import snapshot, solve
from planner.staged import layout_fixing, solve_fixed
from tests.factory import full_site_case, two_sites_model


def test_jobs_solved_together_match_each_solved_alone(tmp_path):
    problem = full_site_case(tmp_path)
    cfg = problem.scenario.solver.model_copy(update={"threads": 2})
    m = build_model(problem)
    assert solve(m, cfg).status == "optimal"
    layout = layout_fixing(m)
    to = lambda s: {v: float(site == s) for v, vid, site in zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"])
                    if vid == "V2"}  # noqa: E731
    before = snapshot(m)
    outs = solve_batch(m, cfg, [Job({**layout, **to("A")}), Job({**layout, **to("B")})])
    assert snapshot(m) == before  # values come back as arrays, not on the variables
    alone = [solve_fixed(m, cfg, {**layout, **to(s)}).objective for s in ("A", "B")]
    assert [o.status for o in outs] == ["optimal", "optimal"]
    assert [o.objective for o in outs] == pytest.approx(alone, rel=1e-9)
    assert alone[0] > alone[1] + 1.0  # V2 at A costs the full site a priced shortfall


def test_held_variables_and_narrowed_rows_bind_each_job():
    """x + y <= 10 with x = 2, y = 3: a job holding y takes x to 7 (all the
    slack); with the row narrowed to half its slack, to 4.5."""
    m, x, y = two_sites_model()
    row = m.rows["shared[]"]
    cfg = SolverConfig(threads=2, time_limit_s=10)
    wide = solve_batch(m, cfg, [Job({y: 3.0}), Job({x: 2.0})])
    assert [o.objective for o in wide] == pytest.approx([-10.0, -10.0])  # each alone takes all the slack
    assert wide[0].values[y.index] == 3.0 and wide[1].values[x.index] == 2.0
    half = {row: (-float("inf"), 2.0 + 3.0 + 2.5)}  # half of the slack of 5
    narrow = solve_batch(m, cfg, [Job({y: 3.0}, half), Job({x: 2.0}, half)])
    assert narrow[0].values[x.index] == pytest.approx(4.5)  # y held at 3: x may take 2 + 2.5
    assert narrow[1].values[y.index] == pytest.approx(5.5)
