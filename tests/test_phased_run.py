"""A phased run end to end on a tiny projected county: the run folder's
phase files, workbook sheet and report section, each phase re-derived by
the checker, and the checker catching a phased plan that breaks a rule."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

from planner.cli import app
from planner.config.sources import load_scenario
from planner.errors import InputError
from planner.outputs.compare import decision_diff, kpi_table, read_runs
from tests.checker import check_run
from tests.outputs.test_projection import RATES, _county
from tests.test_checker import _tampered

PHASES = [
    {"name": "一期", "first_year": 2021, "last_year": 2022, "budget_10k_yuan": 500},
    {"name": "二期", "first_year": 2023, "last_year": 2024, "budget_10k_yuan": 800},
]


def _phased(tmp_path, phases=PHASES):
    path = _county(tmp_path, RATES)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["phases"] = phases
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("phased")
    res = CliRunner().invoke(app, ["run", str(_phased(tmp)), "--out", str(tmp / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    return tmp / "run"


def test_the_phased_run_passes_the_checker_phase_by_phase(folder):
    assert check_run(folder) == []
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in summary["phases"]] == ["一期", "二期"]
    assert [p["plan_year"] for p in summary["phases"]] == [2021, 2023]  # each phase's year with the most pupils
    steps = summary["phase_by_phase"]  # each step starts from the one before and never makes it worse
    assert steps["bound"] <= summary["objective"] + 1e-6
    assert summary["objective"] <= steps["repaired"] + 1e-6 and steps["repaired"] <= steps["objective"] + 1e-6
    for p, spec in zip(summary["phases"], PHASES):
        assert p["cost_budgeted_10k_yuan"] <= spec["budget_10k_yuan"] + 1e-6
    building = ("teaching", "living", "sports", "new_build", "upgrade", "land")
    by_phases = sum(p["cost_10k_yuan"][k] for p in summary["phases"] for k in building)
    assert by_phases == pytest.approx(sum(summary["cost_10k_yuan"][k] for k in building), abs=0.05)
    phases = pd.read_csv(folder / "phases.csv")
    assert set(phases["phase"]) == {"一期", "二期"}
    assert "phase" in pd.read_csv(folder / "schools.csv").columns


def test_the_workbook_and_report_show_the_phases(folder):
    wb = load_workbook(folder / "plan.xlsx", read_only=True)
    assert "分期实施" in wb.sheetnames
    rows = list(wb["分期实施"].iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows] == ["一期", "二期", "合计"]
    heads = next(wb["布局规划表"].iter_rows(min_row=2, max_row=2, values_only=True))
    assert "实施阶段" in heads
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "分期实施" in html and "在校生预测与分期" in html


def test_the_checker_catches_a_school_that_reopens(folder, tmp_path):
    def edit(d):
        t = pd.read_csv(d / "phases.csv", dtype={"school_id": str})
        t.loc[t["phase"] == "一期", "type"] = "closed"
        t.to_csv(d / "phases.csv", index=False)

    assert any("changes again" in p or "closed school" in p for p in _tampered(folder, tmp_path, edit))


def test_the_checker_catches_a_phase_over_its_budget(folder, tmp_path):
    def edit(d):
        t = pd.read_csv(d / "phases.csv", dtype={"school_id": str})
        t.loc[t["phase"] == "一期", "sports_area_added_m2"] += 20_000.0
        t.to_csv(d / "phases.csv", index=False)

    found = _tampered(folder, tmp_path, edit)
    assert any("over its budget" in p or "> its budget" in p for p in found), found


def test_the_checker_catches_a_phase_planned_for_other_pupils(folder, tmp_path):
    def edit(d):
        s = json.loads((d / "summary.json").read_text(encoding="utf-8"))
        s["phases"][0].update(plan_year=2022, plan_years=[2022, 2022])
        (d / "summary.json").write_text(json.dumps(s, ensure_ascii=False), encoding="utf-8")

    assert any(p.startswith("phase 一期: pupils") for p in _tampered(folder, tmp_path, edit))


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        ([{**PHASES[0], "last_year": 2021}, PHASES[1]], "must start in 2022"),
        ([PHASES[0], {**PHASES[1], "last_year": 2023}], "must end in target_year 2024"),
        ([PHASES[0], {**PHASES[1], "name": "一期"}], "phase names must differ"),
        ([{**PHASES[0], "first_year": 2019}, PHASES[1]], "before projection.base_year 2021"),
    ],
)
def test_phases_out_of_order_are_bad_input(tmp_path, phases, message):
    with pytest.raises(InputError, match=message):
        load_scenario(_phased(tmp_path, phases))


def test_compare_shows_each_phase_and_a_change_moved_to_another_phase(folder, tmp_path):
    copies = []
    for name in ("一期", "二期"):  # the same school changed in each phase
        copy = tmp_path / name
        shutil.copytree(folder, copy)
        t = pd.read_csv(copy / "schools.csv", dtype={"school_id": str, "merged_into": str}, keep_default_na=False)
        t.loc[0, "phase"] = name
        t.to_csv(copy / "schools.csv", index=False)
        copies.append(copy)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    runs = read_runs([folder, *copies])
    kpis = kpi_table(runs)
    for p in summary["phases"]:
        for run in (r.name for r in runs):
            assert kpis.loc[(f"分期：{p['name']}", "投资（万元）"), run] == p["cost_10k_yuan"]["total"]
            assert kpis.loc[(f"分期：{p['name']}", "寄宿生（人）"), run] == p["boarders"]
    diff = decision_diff(runs)
    assert diff["学校代码"].tolist() == [t.at[0, "school_id"]]
    labels = diff.iloc[0, 4:].tolist()
    assert "［" not in labels[0] and labels[1].endswith("［一期］") and labels[2].endswith("［二期］")


def test_the_phase_map_marks_each_phase(folder):
    from PIL import Image

    from planner.outputs.maps import PHASE_COLOURS

    png = folder / "maps" / "phases.png"
    assert (folder / "maps" / "phases.pdf").read_bytes().startswith(b"%PDF")
    with Image.open(png) as im:
        px = np.asarray(im.convert("RGB")).astype(int)
    for colour in PHASE_COLOURS[: len(PHASES)]:  # each phase's colour is drawn (legend, and its schools)
        c = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(px - c).max(axis=2) <= 12).sum() > 50, colour
    assert "图7 分期实施" in (folder / "report.html").read_text(encoding="utf-8")


def test_an_envelope_phase_plans_every_villages_most_and_passes_the_checker(tmp_path):
    path = _phased(tmp_path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["phase_pupils"] = "envelope"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert [p["plan_years"] for p in summary["phases"]] == [[2021, 2022], [2023, 2024]]
    assert all(p["plan_year"] is None for p in summary["phases"])
    yearly = pd.read_csv(tmp_path / "run" / "projection" / "pupils_by_village.csv")
    for p in summary["phases"]:  # the county's pupils planned: each village's most by band, summed
        span = yearly[yearly["year"].between(*p["plan_years"])]
        bands = [f"pupils_{b}" for b in ("g1_3", "g4_6", "g7_9")]
        most = span.groupby("village_id")[bands].max().round().to_numpy().sum()
        assert p["pupils"]["total"] == pytest.approx(most, abs=0.5)
        assert most >= span.groupby("year")[bands].sum().sum(axis=1).max() - 0.5 * 3 * 4  # at least any one year
    assert check_run(tmp_path / "run") == []
    wb = load_workbook(tmp_path / "run" / "plan.xlsx", read_only=True)
    assert [r[2] for r in wb["分期实施"].iter_rows(min_row=3, max_row=4, values_only=True)] == [
        "2021–2022逐年最大",
        "2023–2024逐年最大",
    ]


def test_a_phase_without_a_plan_is_named_with_its_diagnosis(tmp_path):
    path = _phased(tmp_path, [{**PHASES[0], "budget_10k_yuan": 0.0}, PHASES[1]])
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["indicators"] = {"allow_shortfalls": False}  # the first phase's floor-area gaps must be closed, with no money
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == 3, res.output
    assert "phase 一期 (2021-2022) has none even alone" in res.output
    d = json.loads((tmp_path / "run" / "diagnosis.json").read_text(encoding="utf-8"))
    assert d["budget_floor"]["limit_10k_yuan"] == 0.0 and d["budget_floor"]["needed_at_least_10k_yuan"] > 0
