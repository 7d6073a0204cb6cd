"""Sweeps on a Dask LocalCluster of two worker processes: each run equals
``planner run`` of its scenario file alone, a failed run does not stop the
others, a second sweep resumes, and the Pareto front is marked right."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.sweep.report import pareto
from tests.factory import make_case, school, site, village
from tests.outputs.test_report import _browser

TIMINGS = {"solve_seconds", "build_seconds"}


def _county(tmp_path: Path) -> Path:
    villages = [
        village("V1", 0, 0, 90, 80, 60),
        village("V2", 6, 0, 50, 40, 70),
        village("V3", 3, 5, 30, 20, 10),
        village("V4", 9, 4, 40, 30, 50),
    ]
    schools = [
        school("S1", 0, 0, "primary", classes_primary=4),
        school("S2", 6, 0.2, "nine_year", classes_primary=3, classes_junior=3),
        school("S3", 3, 5, "teaching_point", classes_primary=1),
        school("S4", 9, 4, "junior", classes_junior=2),
    ]
    sites = [site("C1", 4, 2, "primary,junior", land_cost_10k_yuan=30.0)]
    return make_case(tmp_path, villages, schools, sites, {"objective": {"per_10k_yuan": 1}})


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A 2 x 2 grid and a run with no plan, on two Dask workers."""
    tmp = tmp_path_factory.mktemp("sweep")
    base = _county(tmp / "county")
    sweep = tmp / "sweep.yaml"
    doc = {
        "base": str(base),
        "grid": {"objective.per_10k_yuan": [0.2, 5.0], "objective.per_boarder.g7_9": [0.0, 50.0]},
        "runs": [{"name": "no-plan", "set": {"targets": {"junior": {"min": 9}}}}],
        "outputs": ["report"],
    }
    sweep.write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(tmp / "out"), "--workers", "2"])
    return tmp, sweep, res


def test_each_run_equals_the_run_of_its_scenario_alone(swept):
    tmp, _, res = swept
    assert res.exit_code == 1 and "4 done, 0 running, 1 failed" in res.output, res.output  # the failed run is counted
    runs = sorted(p for p in (tmp / "out" / "runs").iterdir() if (p / "summary.json").is_file())
    assert len(runs) == 4
    for run in runs:
        alone = tmp / "alone" / run.name
        scenario = tmp / "out" / "scenarios" / f"{run.name}.yaml"
        r = CliRunner().invoke(app, ["run", str(scenario), "--out", str(alone), "--quiet"])
        assert r.exit_code == 0, r.output
        for name in ("schools.csv", "assignments.csv"):
            assert (run / name).read_bytes() == (alone / name).read_bytes(), (run.name, name)
        a, b = (json.loads((f / "summary.json").read_text(encoding="utf-8")) for f in (run, alone))
        assert {k: v for k, v in a.items() if k not in TIMINGS} == {k: v for k, v in b.items() if k not in TIMINGS}
        assert (run / "report.html").is_file() and not (run / "plan.gpkg").exists()  # only what was asked
    objectives = {json.loads((r / "summary.json").read_text(encoding="utf-8"))["objective"] for r in runs}
    assert len(objectives) == 4  # the grid's settings reached the runs


def test_a_failed_run_is_recorded_and_the_rest_go_on(swept):
    tmp, _, _ = swept
    rows = {r["name"]: r for r in _csv(tmp / "out" / "sweep.csv")}
    assert rows["no-plan"]["exit_code"] == "3" and "junior" in rows["no-plan"]["message"]
    assert sum(r["exit_code"] == "0" for r in rows.values()) == 4
    assert (tmp / "out" / "runs" / "no-plan" / "diagnosis.json").is_file()


def test_a_second_sweep_skips_the_runs_done(swept):
    tmp, sweep, _ = swept
    done = [p for p in (tmp / "out" / "runs").iterdir() if p.name != "no-plan"]
    before = {p.name: (p / "summary.json").stat().st_mtime_ns for p in done}
    res = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(tmp / "out"), "--workers", "1"])
    rows = {r["name"]: r for r in _csv(tmp / "out" / "sweep.csv")}
    assert sum(r["message"] == "resumed" for r in rows.values()) == 4, res.output
    assert {p.name: (p / "summary.json").stat().st_mtime_ns for p in done} == before


def test_the_sweep_page_shows_the_front_in_a_browser(swept):
    tmp, _, _ = swept
    page = tmp / "out" / "sweep.html"
    rows = _csv(tmp / "out" / "sweep.csv")
    driver = _browser(tmp / "chrome")
    try:
        driver.get(page.as_uri())
        img = driver.find_element("css selector", "img")
        assert driver.execute_script("return arguments[0].naturalWidth", img) > 300
        front = driver.find_elements("css selector", "tr.front")
        assert len(front) == sum(r["pareto"] == "True" for r in rows) > 0
        links = [a.get_attribute("href") for a in driver.find_elements("css selector", "td a")]
        assert len(links) == 4 and all(h.endswith("/report.html") for h in links)
    finally:
        driver.quit()


def _csv(path: Path) -> list[dict]:
    import csv

    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_pareto_on_hand_made_points():
    pts = np.array([[1, 5, 5], [2, 2, 2], [3, 3, 3], [1, 5, 5], [5, 1, 9]], dtype=float)
    assert pareto(pts).tolist() == [True, True, False, True, True]


@given(st.lists(st.tuples(*(st.integers(0, 6),) * 3), min_size=1, max_size=25))
def test_the_front_is_exactly_the_non_dominated(points):
    pts = np.array(points, dtype=float)
    marked = pareto(pts)
    for i, p in enumerate(pts):
        beaten = ((pts <= p).all(axis=1) & (pts < p).any(axis=1)).any()
        assert marked[i] == (not beaten)
    assert marked.any()  # a finite set always has a non-dominated point


def test_a_prefecture_sweep_runs_each_county_and_maps_them_all(tmp_path):
    """``counties:``: one run per county file, named by it, and one map of every county's schools."""
    east = _county(tmp_path / "data" / "east")
    west = make_case(
        tmp_path / "data" / "west",
        [village("W1", -30, 0, 40, 30, 20), village("W2", -28, 1, 30, 20, 30)],
        [school("T1", -30, 0, "nine_year", classes_primary=2, classes_junior=2)],
        scenario={"objective": {"per_10k_yuan": 1}},
    )
    counties = tmp_path / "counties"
    counties.mkdir()
    for name, path in (("甲县", east), ("乙县", west)):
        (counties / f"{name}.yaml").write_text(f"extends: {path}\n", encoding="utf-8")
    sweep = tmp_path / "prefecture.yaml"
    sweep.write_text("counties: counties\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "2"])
    assert res.exit_code == 0, res.output
    rows = _csv(tmp_path / "out" / "sweep.csv")
    assert sorted(r["name"] for r in rows) == ["乙县", "甲县"] and all(r["exit_code"] == "0" for r in rows)
    page = (tmp_path / "out" / "sweep.html").read_text(encoding="utf-8")
    assert page.count("<img") == 2 and "各县学校布局" in page
    for name in ("甲县", "乙县"):
        summary = json.loads((tmp_path / "out" / "runs" / name / "summary.json").read_text(encoding="utf-8"))
        assert summary["scenario"] == name
