"""The checker must catch a broken plan: tamper with a valid run folder, one rule at a time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString

from tests.checker import check_run
from tests.factory import CRS, OFF, X0, Y0, deep_merge, make_case, school, site, village


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


# --- helpers for the cases below -------------------------------------------------------------------------------------


def _solve(path, out):
    from planner.outputs.folder import write_run_folder
    from planner.pipeline import run_scenario

    run = run_scenario(path)
    return write_run_folder(out, run.problem, run.plan, run.summary)


def _edit_schools(fn):
    """Edit schools.csv with numbers as numbers (blank cells are NaN)."""

    def edit(folder):
        df = pd.read_csv(folder / "schools.csv", dtype={"school_id": str, "merged_into": str})
        fn(df.set_index("school_id")).reset_index().to_csv(folder / "schools.csv", index=False)

    return edit


def _edit_json(name, fn):
    def edit(folder):
        doc = json.loads((folder / name).read_text(encoding="utf-8"))
        fn(doc)
        (folder / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    return edit


def _scenario(edit_fn):
    """Edit the resolved scenario in manifest.json."""
    return _edit_json("manifest.json", lambda m: edit_fn(m["scenario"]))


def _add(df, sid, col, delta):
    df.loc[sid, col] += delta
    return df


def _both(*edits):
    def edit(folder):
        for e in edits:
            e(folder)

    return edit


def _caught(found, expected):
    return any(expected in v for v in found)


# --- distances: roads and an OD matrix -------------------------------------------------------------------------------


def _km(x, y):
    return (X0 + x * 1000.0, Y0 + y * 1000.0)


ROADS = gpd.GeoDataFrame(
    {"name": ["main", "spur", "loop"], "length_m": [8000.0, float("nan"), float("nan")]},
    geometry=[
        LineString([_km(0, 0), _km(2, 0), _km(4, 0)]),  # 4 km long, but length_m says 8 km
        LineString([_km(2, 1), _km(2, 0)]),  # joins the main road at its middle vertex
        LineString([_km(0, 0), _km(0, 3), _km(4, 3), _km(4, 0)]),  # a 10 km detour
    ],
    crs=CRS,
)


@pytest.fixture(scope="module")
def road_run(tmp_path_factory):
    """Two primaries 4 km apart on a road whose ``length_m`` doubles it; V2
    sits on a 1 km spur from the road's middle: 1 + 8 / 2 = 5 km to either."""
    d = tmp_path_factory.mktemp("road")
    vs = [
        village("V1", 0.1, 0.05, g1_3=30, g4_6=20),  # a straight hop to the vertex at S1
        village("V2", 2, 1, g1_3=25, g4_6=20),
        village("V3", 4.2, 0, g1_3=20, g4_6=20),
    ]
    ss = [school("S1", 0, 0, "primary"), school("S2", 4, 0, "primary")]
    path = make_case(d, vs, ss, scenario=deep_merge(OFF, {"policy": {"moves": {"primary": ["primary"]}}}))
    pyogrio.write_dataframe(ROADS, d / "case.gpkg", layer="roads")
    return d, _solve(path, d / "run")


def test_road_run_passes(road_run):
    _, folder = road_run
    a = pd.read_csv(folder / "assignments.csv").set_index(["village_id", "band"])
    assert a.loc[("V2", "g1_3"), "distance_km"] == pytest.approx(5.0)  # the road's length_m, not its geometry
    assert a.loc[("V1", "g1_3"), "distance_km"] == pytest.approx((0.1**2 + 0.05**2) ** 0.5, abs=1e-4)  # the hop
    assert check_run(folder) == []


@pytest.mark.parametrize(
    "edit,expected",
    [
        (
            _edit_csv("assignments.csv", lambda a: a.assign(distance_km=a["distance_km"] + (a.index == 0))),
            "distance: V1->S1",
        ),
        (_scenario(lambda s: s["travel"].update(use_roads=False)), "distance"),  # the straight line would differ
        (_scenario(lambda s: s["policy"]["max_trip_minutes"].update(g4_6=6.0)), "minutes limit: V2 g4_6"),
    ],
    ids=["km+1", "straight-line", "minutes"],
)
def test_road_run_tampered(road_run, tmp_path, edit, expected):
    found = _tampered(road_run[1], tmp_path, edit)
    assert _caught(found, expected), found


def test_road_length_m_is_honoured(road_run, tmp_path):
    """The same run against a roads layer without ``length_m``: V2 is 3 km away, not the 5 km reported."""
    case, folder = road_run
    shutil.copytree(case, tmp_path / "case", ignore=shutil.ignore_patterns("run"))
    pyogrio.write_dataframe(ROADS.drop(columns="length_m"), tmp_path / "case" / "case.gpkg", layer="roads")
    edit = _edit_json("manifest.json", lambda m: m.update(scenario_files=[str(tmp_path / "case" / "case.yaml")]))
    found = _tampered(folder, tmp_path, edit)
    assert _caught(found, "distance: V2->S2 reported 5.0 km, recomputed 3.0000 km"), found


@pytest.fixture(scope="module")
def od_run(tmp_path_factory):
    """Distances from an OD matrix: 1.5 x the straight line + 0.25 km."""
    d = tmp_path_factory.mktemp("od")
    vs = [village("V1", 0, 0, g1_3=30), village("V2", 2, 0, g1_3=25), village("V3", 4, 0, g1_3=20)]
    ss = [school("S1", 0, 0, "primary"), school("S2", 4, 0, "primary")]
    scen = deep_merge(OFF, {"policy": {"moves": {"primary": ["primary"]}}, "data": {"distances": "od.csv"}})
    path = make_case(d, vs, ss, scenario=scen)
    od = [(v["village_id"], s["school_id"], abs(v["x"] - s["x"]) * 1.5 + 0.25) for v in vs for s in ss]
    pd.DataFrame(od, columns=["origin_id", "destination_id", "distance_km"]).to_csv(d / "od.csv", index=False)
    return _solve(path, d / "run")


def test_od_run_passes(od_run):
    assert check_run(od_run) == []


@pytest.mark.parametrize(
    "edit,expected",
    [
        (
            _edit_csv("assignments.csv", lambda a: a.assign(distance_km=a["distance_km"] + (a.index == 1))),
            "distance: V2->S2",
        ),
        (_scenario(lambda s: s["data"].update(distances=None)), "distance: V1->S1"),  # not the straight line
    ],
    ids=["km+1", "straight-line"],
)
def test_od_run_tampered(od_run, tmp_path, edit, expected):
    found = _tampered(od_run, tmp_path, edit)
    assert _caught(found, expected), found


# --- indicators, pools, the staff quota ------------------------------------------------------------------------------

STAFFED_A = dict(
    teachers=6,
    teachers_qualified=4,
    teachers_backbone=1,
    teachers_pe_art=1,
    equipment_value_yuan=150000,
    multimedia_rooms=2,
    music_rooms=1,
    art_rooms=1,
)


def _two_primaries(d, extra=None):
    """A and B 1 km apart, one primary kept: A closes into B, whose plan
    takes A's teachers and equipment, hires a PE/art teacher and trains a backbone one."""
    a = school("A", 0, 0, "primary", classes_primary=2, teaching_area_m2=300, sports_area_m2=500, **STAFFED_A)
    b = school(
        "B",
        1,
        0,
        "primary",
        classes_primary=2,
        pupils_g1_3=30,
        pupils_g4_6=30,
        teaching_area_m2=900,
        sports_area_m2=1500,
        teachers=5,
        teachers_qualified=3,
        equipment_value_yuan=80000,
        multimedia_rooms=1,
        music_rooms=1,
        art_rooms=1,
    )
    scen = {
        "targets": {"primary": 1},
        "solver": {"threads": 1},
        "policy": {"moves": {"primary": ["primary", "closed"]}},
    }
    vs = [village("V1", 0, 0, 40, 40), village("V2", 1, 0, 30, 30)]
    return _solve(make_case(d, vs, [a, b], scenario=deep_merge(scen, extra or {})), d / "run")


@pytest.fixture(scope="module")
def invest_run(tmp_path_factory):
    folder = _two_primaries(tmp_path_factory.mktemp("invest"))
    s = pd.read_csv(folder / "schools.csv").set_index("school_id")
    assert s.loc["A", "type_after"] == "closed" and s.loc["B", "hired_pe_art"] + s.loc["B", "hired_qualified"] >= 1
    return folder


def test_investment_run_passes(invest_run):
    assert check_run(invest_run) == []


def _county(lv, k, factor):
    def fn(summary):
        summary["indicators"][lv][k]["county_value"] *= factor

    return _edit_json("summary.json", fn)


@pytest.mark.parametrize(
    "edit,expected",
    [
        (_edit_schools(lambda s: _add(s, "B", "qualified_value", 1.0)), "indicator: B qualified_value"),
        (_edit_schools(lambda s: _add(s, "B", "teachers_after", -1)), "indicator: B teachers_after"),
        (_county("primary", "equipment", 1.1), "indicators: primary equipment county value"),
        (
            _edit_json("summary.json", lambda m: m["indicators"]["primary"]["qualified"].update(cv=0.3)),
            "indicators: primary qualified CV",
        ),
        (
            _edit_json("summary.json", lambda m: m["indicators"]["primary"]["backbone"]["before"].update(cv=0.9)),
            "indicators before: primary backbone CV",
        ),
        (_edit_schools(lambda s: _add(s, "B", "moved_in_teachers", 1)), "pool teachers:"),
        (_edit_schools(lambda s: _add(s, "B", "moved_in_teachers_backbone", 1)), "pool teachers_backbone:"),
        (_edit_schools(lambda s: _add(s, "B", "moved_in_equipment_value_yuan", 10000)), "pool equipment:"),
        (
            _edit_schools(
                lambda s: _add(
                    _add(s, "A", "moved_out_equipment_value_yuan", -150000),
                    "B",
                    "moved_in_equipment_value_yuan",
                    -150000,
                )
            ),
            "closure: closed school A keeps equipment_value_yuan",
        ),
        (
            _edit_schools(lambda s: _add(_add(s, "A", "moved_in_teachers", 1), "B", "moved_in_teachers", -1)),
            "closure: 1 teachers moved into closed school A",
        ),
        (_scenario(lambda s: s["indicators"].update(max_hires=0)), "max_hires"),
        (  # a cap the plan's single hire meets, then three hires more
            _both(
                _scenario(lambda s: s["indicators"].update(max_hires=1)),
                _edit_schools(lambda s: _add(s, "B", "hired_qualified", 3)),
            ),
            "max_hires: 4 teachers hired > 1",
        ),
        (_scenario(lambda s: s["indicators"].update(staff_total=11)), "staff_total"),
    ],
    ids=[
        "value",
        "teachers_after",
        "county",
        "cv",
        "cv-before",
        "pool",
        "pool-category",
        "pool-equipment",
        "closed-keeps",
        "closed-receives",
        "max_hires",
        "hires",
        "staff_total",
    ],
)
def test_investment_run_tampered(invest_run, tmp_path, edit, expected):
    found = _tampered(invest_run, tmp_path, edit)
    assert _caught(found, expected), found


@pytest.fixture(scope="module")
def unplanned_run(tmp_path_factory):
    """indicators.enabled false: A's teachers and equipment follow its pupils to B."""
    return _two_primaries(tmp_path_factory.mktemp("unplanned"), {"indicators": {"enabled": False}})


def test_unplanned_run_passes(unplanned_run):
    s = pd.read_csv(unplanned_run / "schools.csv").set_index("school_id")
    assert s.loc["A", "merged_into"] == "B" and s.loc["B", "moved_in_teachers"] == 6
    assert check_run(unplanned_run) == []


@pytest.mark.parametrize(
    "edit,expected",
    [
        (_edit_schools(lambda s: _add(s, "B", "moved_in_teachers", -1)), "pool: B moves in 5.0 teachers"),
        (_edit_schools(lambda s: _add(s, "A", "moved_out_teachers_pe_art", -1)), "closure: A moves out 0.0"),
        (_edit_schools(lambda s: _add(s, "B", "hired_qualified", 1)), "investments: B has hired_qualified"),
    ],
    ids=["pool", "closure", "hire"],
)
def test_unplanned_run_tampered(unplanned_run, tmp_path, edit, expected):
    found = _tampered(unplanned_run, tmp_path, edit)
    assert _caught(found, expected), found


@pytest.fixture(scope="module", params=["pupils", "standard"])
def nine_year_run(request, tmp_path_factory):
    """A nine-year school beside a primary and a junior, under each
    ``nine_year_split``: the level values of N differ between the splits."""
    d = tmp_path_factory.mktemp(f"nine_{request.param}")
    stock = dict(STAFFED_A, teachers=30, teachers_qualified=20, teachers_backbone=3, teachers_pe_art=3)
    ss = [
        school(
            "N",
            0,
            0,
            "nine_year",
            classes_primary=4,
            classes_junior=3,
            pupils_g1_3=50,
            pupils_g4_6=50,
            pupils_g7_9=70,
            teaching_area_m2=1500,
            sports_area_m2=2500,
            **stock,
        ),
        school(
            "P",
            5,
            0,
            "primary",
            classes_primary=2,
            pupils_g1_3=25,
            pupils_g4_6=25,
            teaching_area_m2=200,
            sports_area_m2=300,
            teachers=4,
            teachers_qualified=2,
        ),
        school(
            "J", 0, 6, "junior", classes_junior=2, pupils_g7_9=50, teaching_area_m2=500, sports_area_m2=900, **stock
        ),
    ]
    vs = [village("V1", 0, 0, 60, 60, 80), village("V2", 5, 0, 30, 30, 0), village("V3", 0, 6, 0, 0, 60)]
    moves = {"primary": ["primary"], "junior": ["junior"], "nine_year": ["nine_year"]}
    scen = {"solver": {"threads": 1}, "policy": {"moves": moves}, "indicators": {"nine_year_split": request.param}}
    return request.param, _solve(make_case(d, vs, ss, scenario=scen), d / "run")


def test_nine_year_split_is_honoured(nine_year_run, tmp_path):
    split, folder = nine_year_run
    assert check_run(folder) == []
    other = {"pupils": "standard", "standard": "pupils"}[split]
    found = _tampered(folder, tmp_path, _scenario(lambda s: s["indicators"].update(nine_year_split=other)))
    assert _caught(found, "indicators: junior qualified county value"), found


# --- standards and shortfalls ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quota_run(tmp_path_factory):
    """The staff quota at today's 11 teachers: no hire, so B keeps a gap of
    one PE/art teacher (140 pupils need 1.26), priced at one PE/art hire."""
    folder = _two_primaries(tmp_path_factory.mktemp("quota"), {"indicators": {"staff_total": 11}})
    items = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["shortfalls"]["items"]
    assert [(i["school_id"], i["indicator"], i["gap"], i["cost_to_close_10k_yuan"]) for i in items] == [
        ("B", "pe_art", 1, 1.0)
    ]
    return folder


def _items(fn):
    def edit(summary):
        summary["shortfalls"]["items"] = fn(summary["shortfalls"]["items"])

    return _edit_json("summary.json", edit)


def _cost(item, delta):
    return {**item, "cost_to_close_10k_yuan": item["cost_to_close_10k_yuan"] + delta}


def test_shortfall_run_passes(quota_run):
    assert check_run(quota_run) == []


@pytest.mark.parametrize(
    "edit,expected",
    [
        (_items(lambda items: [_cost(i, 1.0) for i in items]), "shortfall cost: B pe_art"),
        (_items(lambda items: []), "shortfall not reported: B pe_art"),
        (_scenario(lambda s: s["indicators"].update(allow_shortfalls=False)), "pe_art: B has 1.0 < standard 1.3"),
        (_edit_schools(lambda s: _add(s, "B", "multimedia_rooms_added", -1)), "shortfall not reported: B multimedia"),
    ],
    ids=["cost", "unreported", "hard", "room-removed"],
)
def test_shortfall_run_tampered(quota_run, tmp_path, edit, expected):
    found = _tampered(quota_run, tmp_path, edit)
    assert _caught(found, expected), found


@pytest.fixture(scope="module")
def area_short_run(tmp_path_factory):
    """One primary of 100 pupils with no floor area, a budget of 60 of the
    172 (10k yuan) its areas need: the plan keeps priced area gaps."""
    d = tmp_path_factory.mktemp("area")
    a = school(
        "A",
        0,
        0,
        "primary",
        classes_primary=3,
        **dict(
            STAFFED_A,
            teachers=20,
            teachers_qualified=10,
            teachers_backbone=3,
            teachers_pe_art=3,
            equipment_value_yuan=500000,
            multimedia_rooms=5,
        ),
    )
    scen = {"solver": {"threads": 1}, "budget": {"total_10k_yuan": 60.0}, "objective": {"per_10k_yuan": 0.0}}
    return _solve(make_case(d, [village("V1", 0, 0, 50, 50)], [a], scenario=scen), d / "run")


def test_area_shortfall_run_passes(area_short_run):
    items = json.loads((area_short_run / "summary.json").read_text(encoding="utf-8"))["shortfalls"]["items"]
    assert {i["indicator"] for i in items} <= {"teaching_area", "sports_area"} and items
    assert check_run(area_short_run) == []


@pytest.mark.parametrize(
    "edit,expected",
    [
        (_items(lambda items: [_cost(i, 0.5) for i in items]), "shortfall cost: A"),
        (_items(lambda items: []), "shortfall not reported: A"),
        (_scenario(lambda s: s["indicators"].update(allow_shortfalls=False)), "_area: A has"),
    ],
    ids=["cost", "unreported", "hard"],
)
def test_area_shortfall_run_tampered(area_short_run, tmp_path, edit, expected):
    found = _tampered(area_short_run, tmp_path, edit)
    assert _caught(found, expected), found
    if expected.startswith("shortfall not"):
        assert any(v.endswith("m²") and "_area" in v for v in found)


def test_the_checker_imports_nothing_of_the_planner():
    """Independent by construction: no module of tests/checker imports ``planner``."""
    import ast

    found = []
    for path in sorted((Path(__file__).parent / "checker").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "planner"]
    assert found == []
