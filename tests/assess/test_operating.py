"""Running costs (``operating:``, planner/assess/operating.py and the
objective's ``funds_top_up``): funds, the 100-pupil floor, salaries by the
norm and boarding on a hand-made table; a tiny teaching point closed only
when its floor's cost over the horizon is counted; the run folder's figures
re-derived by the checker."""

from __future__ import annotations

import pandas as pd
import pytest

from planner.assess.operating import running_costs
from planner.config.scenario import Scenario
from planner.outputs.folder import write_core, write_run_folder
from planner.pipeline import prepare, solve_problem
from tests.checker import check_run
from tests.factory import OFF, deep_merge, make_case, school, village

OPERATING = {
    "horizon_years": 10,
    "funds_yuan_per_pupil": {"primary": 1000.0, "junior": 2000.0},
    "min_funded_pupils": 100,
    "salary_10k_yuan_per_teacher": 8.0,
    "boarding_yuan_per_boarder": 500.0,
}


def test_running_costs_by_hand():
    scen = Scenario.model_validate({"name": "x", "data": {"gpkg": "x.gpkg"}, "operating": OPERATING})
    types = pd.Series(["teaching_point", "primary", "junior", "nine_year", "closed"])
    pupils = pd.DataFrame(
        {"pupils_g1_3": [20, 150, 0, 30, 50], "pupils_g4_6": [0, 100, 0, 10, 0], "pupils_g7_9": [0, 0, 27, 30, 0]}
    )
    got = running_costs(scen, types, pupils, pd.Series([0, 10, 27, 0, 5]))
    # funds: the teaching point funded as 100 pupils; the nine-year school is not floored
    assert got["funds"].tolist() == pytest.approx([10.0, 25.0, 5.4, 4.0 + 6.0, 0.0])
    assert got["floor"].tolist() == pytest.approx([8.0, 0.0, 0.0, 0.0, 0.0])
    # whole teachers by the norm (19 primary, 13.5 junior pupils a teacher), 8 a year each
    assert got["salaries"].tolist() == pytest.approx([2 * 8.0, 14 * 8.0, 2 * 8.0, (3 + 3) * 8.0, 0.0])
    assert got["boarding"].tolist() == pytest.approx([0.0, 0.5, 1.35, 0.0, 0.0])
    assert got["total"].tolist() == pytest.approx((got["funds"] + got["salaries"] + got["boarding"]).tolist())


def _case(tmp_path, in_objective: bool):
    """A 20-pupil teaching point 3 km from a primary of 300: its floor costs
    (100 - 20) x 1000 yuan = 8 (10k yuan) a year, 80 over ten years, against
    60 pupil-km to send its pupils to the primary."""
    scen = deep_merge(
        OFF,
        {
            "objective": {"per_10k_yuan": 1.0},
            "policy": {"moves": {"teaching_point": ["teaching_point", "closed"], "primary": ["primary"]}},
            "operating": {**OPERATING, "in_objective": in_objective},
            "solver": {"threads": 1, "mip_gap": 0.0},
        },
    )
    vs = [village("V0", 0, 0, 20), village("V1", 3, 0, 300)]
    ss = [
        school("T0", 0, 0, "teaching_point", classes_primary=1, pupils_g1_3=20),
        school("S1", 3, 0, "primary", classes_primary=8, pupils_g1_3=300),
    ]
    return solve_problem(prepare(make_case(tmp_path, vs, ss, scenario=scen)))


@pytest.mark.parametrize(("in_objective", "kept", "objective"), [(False, True, 0.0), (True, False, 60.0)])
def test_the_small_school_floor_closes_a_teaching_point_only_when_counted(tmp_path, in_objective, kept, objective):
    run = _case(tmp_path, in_objective)
    s = run.plan.schools.set_index("school_id")
    assert (s.at["T0", "type_after"] != "closed") is kept
    assert run.summary["objective"] == pytest.approx(objective)
    op = run.summary["operating"]
    assert op["per_year_10k_yuan"]["floor"] == pytest.approx(8.0 if kept else 0.0)
    assert op["today_per_year_10k_yuan"]["floor"] == pytest.approx(8.0)
    out = write_run_folder(tmp_path / "run", run.problem, run.plan, run.summary, writers=(write_core,))
    assert check_run(out) == []
    csv = pd.read_csv(out / "schools.csv")
    csv["running_10k_yuan_per_year"] += 1.0  # a running cost changed after the run
    csv.to_csv(out / "schools.csv", index=False)
    assert any("a year, recomputed" in v for v in check_run(out))
