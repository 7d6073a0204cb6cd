"""`planner project` and a projected run: the tables, the chart, the pupils
planned, each re-derived by the independent checker."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from planner.cli import app
from planner.pipeline import project_scenario
from tests.checker import check_run
from tests.factory import make_case, school, village

ROOT = Path(__file__).resolve().parents[2]
GRADES = [f"g{i}" for i in range(1, 10)]


def _county(tmp_path: Path, projection: dict, target_year: int = 2024) -> Path:
    """Town T1, seat S and two villages of one township; births 2016-2019."""
    rows = [("T1", "town", 0, 0), ("S", "seat", 3, 0), ("R1", "village", 1.5, 1), ("R2", "village", 2, -1)]
    villages = []
    for i, (vid, kind, x, y) in enumerate(rows):
        v = village(vid, x, y)
        v.update(kind=kind, **{f"pupils_{g}": 10 * (i + 1) + j for j, g in enumerate(GRADES)})
        villages.append(v)
    births = [(vid, y, 12.0 + 3 * i + (y - 2016)) for i, (vid, *_) in enumerate(rows) for y in range(2016, 2020)]
    pd.DataFrame(births, columns=["village_id", "year", "births"]).to_csv(tmp_path / "births.csv", index=False)
    scen = {
        "target_year": target_year,
        "data": {"births": {"path": "births.csv"}},
        "projection": {"base_year": 2021, **projection},
        "policy": {"max_trip_km": {"g1_3": 10, "g4_6": 10, "g7_9": 10}},
    }
    return make_case(tmp_path, villages, [school("N1", 1, 0, "nine_year", max_classes=80)], scenario=scen)


RATES = {
    "progression": {"g7": 0.9},
    "migration_per_year": {"town": 0.05, "village": -0.03},
    "urbanisation_per_year": 0.1,
    "urbanisation_to_town": 0.7,
}


def test_project_writes_tables_and_chart(tmp_path):
    path = _county(tmp_path, RATES)
    res = CliRunner().invoke(app, ["project", str(path), "--out", str(tmp_path / "p"), "--to-year", "2026"])
    assert res.exit_code == 0, res.output
    folder = tmp_path / "p"
    villages = pd.read_csv(folder / "pupils_by_village.csv")
    totals = pd.read_csv(folder / "county_totals.csv").set_index("year")
    assert sorted(villages["year"].unique()) == list(range(2021, 2027))
    assert len(villages) == 4 * 6
    per_year = villages.groupby("year")[["pupils_g1_3", "pupils_g4_6", "pupils_g7_9"]].sum()
    assert per_year.sum(axis=1).to_numpy() == pytest.approx(totals["total"].to_numpy(), abs=0.2)
    assert totals.loc[2021, "g1"] == 10 + 20 + 30 + 40  # the base year as given
    assert totals.loc[2021, "total"] == sum(10 * (i + 1) * 9 + 36 for i in range(4))
    assert "2026: primary" in res.output
    with Image.open(folder / "enrolment.png") as im:
        assert im.width > 1000 and im.height > 600
    assert (folder / "enrolment.pdf").read_bytes()[:4] == b"%PDF"


def test_project_without_a_projection_key_is_bad_input(tmp_path):
    path = make_case(tmp_path, [village("V1", 0, 0, 10)], [school("S1", 0, 0)])
    res = CliRunner().invoke(app, ["project", str(path), "--out", str(tmp_path / "p")])
    assert res.exit_code == 2
    assert "no 'projection:' key" in res.output
    assert not (tmp_path / "p").exists()


def test_a_projected_run_plans_the_projected_pupils(tmp_path):
    path = _county(tmp_path, RATES)
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    folder = tmp_path / "run"
    assert check_run(folder) == []
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["pupils_projected"] == {"base_year": 2021, "year": 2024, "grades_from": "villages"}
    planned = pd.read_csv(folder / "projection" / "pupils_by_village.csv").query("year == 2024")
    assert summary["pupils"]["total"] == pytest.approx(
        planned[["pupils_g1_3", "pupils_g4_6", "pupils_g7_9"]].to_numpy().sum(), abs=2
    )


def test_the_checker_catches_a_run_that_planned_other_pupils(tmp_path):
    """Births changed after the run: the checker's own projection no longer
    matches the pupils placed."""
    path = _county(tmp_path, RATES)
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    births = pd.read_csv(tmp_path / "births.csv")
    births.loc[births["year"] == 2018, "births"] += 40
    births.to_csv(tmp_path / "births.csv", index=False)
    problems = check_run(tmp_path / "run")
    assert any("placed" in p for p in problems), problems


def test_the_demo_projection_gives_the_plans_2030_pupils():
    """The Fangcheng plan's 2030 figures (STANDARDS.md): 57,465 primary and
    27,900 junior pupils, within 1 %."""
    _, projection = project_scenario(ROOT / "scenarios" / "fangcheng-2030-projected.yaml")
    t = projection.totals().loc[2030]
    assert t["primary"] == pytest.approx(57_465, rel=0.01)
    assert t["junior"] == pytest.approx(27_900, rel=0.01)
    totals = projection.totals()
    assert totals["primary"].idxmax() < 2026 < totals["junior"].idxmax()  # primary falls first, junior peaks later


def test_project_says_each_phases_year_and_peaks(tmp_path):
    path = _county(tmp_path, RATES, target_year=2026)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["phases"] = [
        {"name": "一期", "first_year": 2021, "last_year": 2023},
        {"name": "二期", "first_year": 2024, "last_year": 2026},
    ]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(app, ["project", str(path), "--out", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    totals = pd.read_csv(tmp_path / "p" / "county_totals.csv").set_index("year")
    phases = pd.read_csv(tmp_path / "p" / "pupils_by_phase.csv").set_index("phase")
    for name, (a, b) in {"一期": (2021, 2023), "二期": (2024, 2026)}.items():
        span = totals.loc[a:b]
        assert phases.at[name, "plan_year"] == span["total"].idxmax()
        assert phases.at[name, "primary_peak_year"] == span["primary"].idxmax()
        assert phases.at[name, "junior_peak_year"] == span["junior"].idxmax()
        assert f"phase {name} ({a}-{b}): planned for {phases.at[name, 'plan_year']}" in res.output
