"""planner compare: run folders read back, KPIs side by side, the schools whose decision differs."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.outputs.compare import CHART_SHEET, DIFF_SHEET, KPI_SHEET, decision_diff, kpi_table, read_runs
from tests.appendix_case import run_folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = str(tmp_path_factory.getbasetemp() / "appendix")
    return run_folder(base, "case"), run_folder(base, "nonew")


@pytest.fixture(scope="module")
def compared(folders, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "cmp"
    res = CliRunner().invoke(app, ["compare", str(folders[0]), str(folders[1]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_kpis_recomputed_from_the_run_folders(folders):
    runs = read_runs(list(folders))
    k = kpi_table(runs)
    assert list(k.columns) == ["case", "nonew"]
    for r in runs:
        a, s = r.assignments, r.schools
        assert k.at[("上学距离", "人·公里合计"), r.name] == pytest.approx(
            (a["pupils"] * a["distance_km"]).sum(), abs=1e-3
        )
        assert k.at[("上学距离", "人·公里合计"), r.name] == pytest.approx(sum(r.summary["pupil_km"].values()), abs=1e-2)
        assert k.at[("寄宿生（人）", "寄宿生合计"), r.name] == pytest.approx(r.summary["boarders"]["total"], abs=1e-3)
        assert k.at[("投资（万元）", "投资合计"), r.name] == pytest.approx(r.summary["cost_10k_yuan"]["total"])
        cost = {c: v for c, v in r.summary["cost_10k_yuan"].items() if c != "total"}
        scope = {"construction": ("teaching", "living", "sports", "new_build", "upgrade", "land")}
        budgeted = sum(v for c, v in cost.items() if c in scope.get(r.summary["budget_covers"], cost))
        assert k.at[("投资（万元）", "计入预算的投资"), r.name] == pytest.approx(budgeted, abs=1e-3)
        assert k.at[("学校数（所）", "撤并、撤销学校"), r.name] == (s["type_after"] == "closed").sum()
        assert k.at[("学校数（所）", "规划初级中学"), r.name] == r.summary["counts_after"]["junior"]
    assert k.at[("学校数（所）", "新建学校"), "case"] == 2 and k.at[("学校数（所）", "新建学校"), "nonew"] == 0


def test_decision_diff_lists_exactly_the_schools_that_differ(folders):
    runs = read_runs(list(folders))
    d = decision_diff(runs).set_index("学校代码")
    a, b = (r.schools.set_index("school_id") for r in runs)
    expect = {
        sid
        for sid in a.index.union(b.index)
        if sid not in a.index
        or sid not in b.index
        or a.at[sid, "type_after"] != b.at[sid, "type_after"]
        or a.at[sid, "merged_into"] != b.at[sid, "merged_into"]
    }
    assert set(d.index) == expect
    assert {"C1", "C2", "T2"} <= expect  # built in one run only; T2 merges into C1 in one, elsewhere in the other
    assert d.at["C1", "nonew"] == "未新建" and d.at["C1", "case"] == "完全小学（新建）"
    assert d.at["T2", "case"] == "撤并→C1新校"
    same = [sid for sid in a.index.intersection(b.index) if sid not in expect]
    assert same and not set(same) & set(d.index)


def test_compare_files(compared):
    wb = openpyxl.load_workbook(compared / "compare.xlsx")
    assert wb.sheetnames == [KPI_SHEET, DIFF_SHEET, CHART_SHEET]
    assert [c.value for c in wb[KPI_SHEET][1]] == ["类别", "指标", "case", "nonew"]
    items = [r[1] for r in wb[KPI_SHEET].iter_rows(min_row=2, values_only=True)]
    for want in ("投资合计", "人·公里合计", "寄宿生合计", "撤并、撤销学校", "规划完全小学", "初中7–9年级最远（公里）"):
        assert want in items
    assert len(wb[CHART_SHEET]._images) == 1
    page = (compared / "compare.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "http" not in page.replace("http-equiv", "")
    assert "决策不同的学校" in page and "C1新校" in page


def test_bad_folder_is_bad_input(folders, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(folders[1], broken)
    (broken / "summary.json").unlink()
    res = CliRunner().invoke(app, ["compare", str(folders[0]), str(broken), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "summary.json" in res.output and not (tmp_path / "o").exists()


def test_duplicate_scenario_names_stay_apart(folders, tmp_path):
    copy = tmp_path / "again"
    shutil.copytree(folders[0], copy)
    runs = read_runs([folders[0], copy])
    assert len({r.name for r in runs}) == 2
    assert decision_diff(runs).empty


def test_existing_output_needs_force(folders, compared):
    res = CliRunner().invoke(app, ["compare", str(folders[0]), str(folders[1]), "--out", str(compared)])
    assert res.exit_code == 1 and "--force" in res.output
    res = CliRunner().invoke(app, ["compare", str(folders[0]), str(folders[1]), "--out", str(compared), "--force"])
    assert res.exit_code == 0, res.output
