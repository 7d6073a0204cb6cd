"""The checker must catch a broken plan: tamper with a valid run folder, one rule at a time."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tests.checker import check_run
from tests.factory import make_case, school, site, village


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory):
    from planner.outputs.folder import write_run_folder
    from planner.pipeline import run_scenario

    d = tmp_path_factory.mktemp("good")
    vs = [
        village("V1", 0, 0, g1_3=50, g4_6=40, g7_9=60),
        village("V2", 2, 0, g1_3=30, g4_6=30, g7_9=40),
        village("V3", 12, 0, g7_9=45),
    ]
    ss = [
        school("S1", 0, 0, "primary", teaching_area_m2=300, sports_area_m2=400),
        school("S2", 2, 0, "primary"),
        school("J1", 1, 1, "junior", living_area_m2=50),
    ]
    cs = [site("C1", 11, 0, "junior", land_cost_10k_yuan=50)]
    path = make_case(
        d,
        vs,
        ss,
        cs,
        {
            "targets": {"primary": 1, "junior": 1},
            "budget": {"total_10k_yuan": 5000},
            "policy": {"moves": {"primary": ["primary", "closed"]}},
        },
    )
    run = run_scenario(path)
    return write_run_folder(d / "run", run.problem, run.plan, run.summary)


def _tampered(good, tmp_path, edit):
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    edit(bad)
    return check_run(bad)


def _edit_csv(name, fn):
    def edit(folder):
        df = pd.read_csv(folder / name, keep_default_na=False, dtype={"merged_into": str})
        fn(df).to_csv(folder / name, index=False)

    return edit


def test_good_plan_passes(good_folder):
    assert check_run(good_folder) == []


@pytest.mark.parametrize(
    "edit,expected",
    [
        (_edit_csv("assignments.csv", lambda a: a.drop(index=0)), "pupils:"),
        (_edit_csv("schools.csv", lambda s: s.assign(classes_primary=0)), "class_cap"),
        (_edit_csv("schools.csv", lambda s: s.assign(teaching_area_added_m2=0.0)), "teaching_area"),
        (
            _edit_csv(
                "schools.csv",
                lambda s: s.assign(type_after=s["type_before"].where(s["type_before"] != "none", "junior")),
            ),
            "target",
        ),
        (_edit_csv("assignments.csv", lambda a: a.assign(distance_km=a["distance_km"] + 100)), "distance"),
        (_edit_csv("schools.csv", lambda s: s.assign(living_area_added_m2=0.0)), "living_area"),
        (_edit_csv("assignments.csv", lambda a: a.assign(school_id="S2")), "compatibility"),
    ],
)
def test_checker_catches(good_folder, tmp_path, edit, expected):
    found = _tampered(good_folder, tmp_path, edit)
    assert any(expected in v for v in found), found


def test_checker_catches_budget(good_folder, tmp_path):
    def edit(folder):
        m = json.loads((folder / "manifest.json").read_text())
        m["scenario"]["budget"]["total_10k_yuan"] = 1.0
        (folder / "manifest.json").write_text(json.dumps(m))

    assert any(v.startswith("budget") for v in _tampered(good_folder, tmp_path, edit))


def test_checker_catches_school_cap(good_folder, tmp_path):
    def edit(folder):
        m = json.loads((folder / "manifest.json").read_text())
        m["scenario"]["caps"]["school_pupils"]["primary"] = 10
        (folder / "manifest.json").write_text(json.dumps(m))

    assert any(v.startswith("school_cap") for v in _tampered(good_folder, tmp_path, edit))
