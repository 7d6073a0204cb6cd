"""Projects outside the sites (``projects:``, planner/model/costs.py
``add_projects``): a fixed one takes its cost from the budget, an optional
one is built when its value outweighs its cost and the budget allows, by
hand-computed objectives on a one-village county; the run folder lists
them and the checker re-derives their costs."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from planner.config.scenario import Scenario
from planner.outputs.folder import write_core, write_run_folder
from planner.outputs.workbook import write_workbook
from planner.pipeline import prepare, solve_problem
from planner.solve.regional import limits
from tests.checker import check_run
from tests.factory import OFF, deep_merge, make_case, school, site, village

NEW_BUILD = 300.0  # the default new primary's lump sum (10k yuan)


def _run(tmp_path, projects: list[dict], budget: float | None = None):
    """V0 (100 pupils) beside candidate site N0, 10 km from today's primary S0:
    building N0 saves 1,000 pupil-km for its 300 (weight 1 a 10k yuan)."""
    scen = deep_merge(
        OFF,
        {
            "objective": {"per_10k_yuan": 1.0},
            "policy": {"moves": {"primary": ["primary", "closed"]}},
            "budget": {"total_10k_yuan": budget},
            "projects": projects,
            "solver": {"threads": 1, "mip_gap": 0.0},
        },
    )
    path = make_case(tmp_path, [village("V0", 0, 0, 100)], [school("S0", 10, 0, "primary")], [site("N0", 0, 0)], scen)
    return solve_problem(prepare(path))


def _built(run) -> dict[str, bool]:
    p = run.plan.projects
    return dict(zip(p["name"], p["built"]))


def _new(run) -> bool:
    s = run.plan.schools.set_index("school_id")
    return "N0" in s.index and s.at["N0", "type_after"] != "closed"


def test_a_fixed_project_takes_its_cost_from_the_budget(tmp_path):
    alone = _run(tmp_path / "a", [], budget=350)
    assert _new(alone) and alone.summary["objective"] == pytest.approx(NEW_BUILD)
    housing = {"name": "教师周转房", "cost_10k_yuan": 100, "category": "living"}
    run = _run(tmp_path / "b", [housing], budget=350)
    assert not _new(run)  # 300 + 100 > 350: the new school no longer fits
    assert run.summary["objective"] == pytest.approx(1000 + 100)
    assert run.summary["cost_10k_yuan"]["living"] == pytest.approx(100)
    assert run.summary["projects"] == {"built": ["教师周转房"], "not_built": [], "cost_10k_yuan": 100.0}


@pytest.mark.parametrize(
    ("value", "budget", "built", "new", "objective"),
    [
        (150, None, True, True, NEW_BUILD + 100 - 150),  # worth more than it costs: built beside the school
        (50, None, False, True, NEW_BUILD),  # worth less: not built
        (900, 350, True, False, 1000 + 100 - 900),  # only one fits: the project gains 800, the school 700
        (750, 350, False, True, NEW_BUILD),  # only one fits: the school gains more
    ],
)
def test_an_optional_project_is_built_when_it_pays(tmp_path, value, budget, built, new, objective):
    centre = {"name": "师资培训中心", "cost_10k_yuan": 100, "category": "teaching", "optional": True, "value": value}
    run = _run(tmp_path, [centre], budget=budget)
    assert _built(run) == {"师资培训中心": built} and _new(run) is new
    assert run.summary["objective"] == pytest.approx(objective)


def test_the_run_folder_lists_the_projects_and_the_checker_rederives_them(tmp_path):
    projects = [
        {"name": "教师周转房", "cost_10k_yuan": 100, "category": "living"},
        {"name": "信息设备更新", "cost_10k_yuan": 40, "category": "equipment", "optional": True, "value": 10},
    ]
    run = _run(tmp_path / "case", projects, budget=500)
    out = write_run_folder(tmp_path / "run", run.problem, run.plan, run.summary, writers=(write_core, write_workbook))
    assert check_run(out) == []
    table = pd.read_excel(out / "plan.xlsx", sheet_name="项目清单")
    assert table["是否建设"].tolist()[:2] == ["建设", "不建"]
    layout = pd.read_excel(out / "plan.xlsx", sheet_name="布局规划表", header=None)
    assert layout.iloc[:, 1].astype(str).str.contains("县级项目").any()
    csv = pd.read_csv(out / "projects.csv")
    csv.loc[csv["name"] == "教师周转房", "built"] = False  # a fixed project dropped after the run
    csv.to_csv(out / "projects.csv", index=False)
    assert any("fixed project 教师周转房 not built" in v for v in check_run(out))


def test_the_regional_limits_leave_the_fixed_projects_their_share(tmp_path):
    scen = Scenario.model_validate(
        {
            "name": "x",
            "data": {"gpkg": "x.gpkg"},
            "budget": {"total_10k_yuan": 1000, "covers": "floor_area", "by_category_10k_yuan": {"living": 300}},
            "projects": [
                {"name": "a", "cost_10k_yuan": 120, "category": "living"},
                {"name": "b", "cost_10k_yuan": 50, "category": "equipment"},
                {"name": "c", "cost_10k_yuan": 70, "category": "living", "optional": True, "value": 1},
            ],
        }
    )
    got = {k: lim for k, (lim, _) in limits(scen).items()}
    assert got == {"total": 1000 - 120, "living": 300 - 120}  # equipment is outside floor_area; c is optional


def test_project_names_differ_and_phased_plans_refuse_them():
    base = {"name": "x", "data": {"gpkg": "x.gpkg"}}
    twice = [{"name": "a", "cost_10k_yuan": 1, "category": "living"}] * 2
    with pytest.raises(ValidationError, match="project names must differ"):
        Scenario.model_validate({**base, "projects": twice})
    phases = [{"name": "p1", "first_year": 2025, "last_year": 2030}]
    with pytest.raises(ValidationError, match="phased plan takes no projects"):
        Scenario.model_validate({**base, "phases": phases, "projects": twice[:1]})
