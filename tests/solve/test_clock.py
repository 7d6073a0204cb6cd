"""The run's one clock, on a time source the test moves by hand: a part is a
share of what is left, never past its parent's deadline; a grace part is
the one exception, and says so."""

from __future__ import annotations

import pytest

from planner.config.tuning import SolveTuning
from planner.solve.clock import Clock
from planner.solve.strategy import time_plan


class Time:
    """A time source that moves only when told."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_part_is_a_share_of_what_is_left_and_ends_with_its_parent():
    now = Time()
    run = Clock(300, now=now)
    now.t += 100  # 200 s left
    stage = run.part("stage 1", 0.5)
    assert stage.seconds == pytest.approx(100.0) and stage.left() == pytest.approx(100.0)
    inner = stage.part("solve", at_least=500.0)  # raised only as far as its parent allows
    assert inner.seconds == pytest.approx(100.0)
    now.t += 150
    assert stage.left() == 0.0 and inner.done() and run.left() == pytest.approx(50.0)
    capped = run.part("polish", at_most=20.0)
    assert capped.seconds == pytest.approx(20.0)
    kept = run.part("stage 2", 1.0, leave=10.0)
    assert kept.seconds == pytest.approx(40.0)
    assert [name for name, _ in run.ledger.parts] == [
        "run / stage 1",
        "run / stage 1 / solve",
        "run / polish",
        "run / stage 2",
    ]


def test_a_grace_part_is_the_only_one_past_the_deadline():
    now = Time()
    run = Clock(10, now=now)
    now.t += 12
    assert run.part("late", at_least=5.0).seconds == 0.0  # a part never passes the deadline
    grace = run.grace("whole investments", 5.0)
    assert grace.seconds == pytest.approx(5.0) and grace.left() == pytest.approx(5.0)
    assert run.ledger.parts[-1] == ("run / whole investments", pytest.approx(5.0))


def test_a_direct_solve_gets_all_of_it():
    assert time_plan("direct", SolveTuning(), 300.0) == ["time plan: 300 s, direct solve", "  one solve: all of it"]


@pytest.mark.parametrize("how", ["staged", "regional"])
def test_the_time_plan_is_read_from_the_tuning(how):
    """The plan of time names each stage with the seconds its share gives;
    halving stage 1's share halves its seconds."""
    tuning = SolveTuning()
    half = tuning.model_copy(update={"staged": tuning.staged.model_copy(update={"relax_share": 0.25})})
    lines, halved = time_plan(how, tuning, 300.0), time_plan(how, half, 300.0)
    assert lines[0] == f"time plan: 300 s, {how} solve"
    stage1 = [ln.strip() for ln in lines if ln.strip().startswith("stage 1")]
    stage1_half = [ln.strip() for ln in halved if ln.strip().startswith("stage 1")]
    if how == "staged":
        assert stage1 == ["stage 1 (split catchments, the bound): 150 s"]
        assert stage1_half == ["stage 1 (split catchments, the bound): 75 s"]
    else:
        assert "  county LP: up to 150 s" in lines
        assert stage1 and stage1 != stage1_half
