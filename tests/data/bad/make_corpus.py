"""Build the corpus of bad inputs: one small folder per mistake a planner makes.

Each case is ``tests/data/bad/<case>/scenario.yaml`` plus its data (CSV with
lon/lat, GeoJSON, one shapefile, one GeoPackage); every case is the valid
county of :func:`base` with exactly one mistake, except ``many_mistakes``.
``CASES`` maps each case to the exit code and the pieces of the message it
must produce (file, layer, row, column, what was expected): the table that
tests/test_load.py checks and that a new user can try by hand::

    python tests/data/bad/make_corpus.py            # (re)build the folders
    planner run tests/data/bad/pupils_negative/scenario.yaml --out /tmp/x

The county: four villages and three schools around (108.35 E, 21.77 N), all
within a few km, inside a square boundary ~20 km wide.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import warnings
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
LON0, LAT0 = 108.35, 21.77
KM_LON, KM_LAT = 0.00967, 0.00899  # degrees per km at this latitude

VILLAGES = [
    dict(village_id="V01", name="东村", township="甲镇", x=0.0, y=0.0, pupils_g1_3=30, pupils_g4_6=28, pupils_g7_9=25),
    dict(village_id="V02", name="西村", township="甲镇", x=1.5, y=0.5, pupils_g1_3=22, pupils_g4_6=20, pupils_g7_9=18),
    dict(village_id="V03", name="南村", township="乙镇", x=3.0, y=-1.0, pupils_g1_3=40, pupils_g4_6=35, pupils_g7_9=30),
    dict(village_id="V04", name="北村", township="乙镇", x=4.0, y=1.0, pupils_g1_3=15, pupils_g4_6=14, pupils_g7_9=12),
]
SCHOOL_ZERO = dict(
    classes_primary=6,
    classes_junior=0,
    pupils_g1_3=0,
    pupils_g4_6=0,
    pupils_g7_9=0,
    teaching_area_m2=2000,
    living_area_m2=500,
    sports_area_m2=3000,
    site_area_m2=20000,
    boarding_beds=0,
    max_classes=24,
)
SCHOOLS = [
    dict(school_id="S01", name="甲镇中心小学", township="甲镇", type="primary", x=0.5, y=0.2, **SCHOOL_ZERO),
    dict(
        school_id="S02",
        name="乙镇中学",
        township="乙镇",
        type="junior",
        x=3.2,
        y=0.0,
        **{**SCHOOL_ZERO, "classes_primary": 0, "classes_junior": 6},
    ),
    dict(school_id="S03", name="乙镇小学", township="乙镇", type="primary", x=3.5, y=-0.5, **SCHOOL_ZERO),
]
SITES = [
    dict(
        site_id="C01",
        name="新区学校",
        township="甲镇",
        allowed_types="primary,junior,nine_year",
        x=2.0,
        y=0.0,
        max_classes=36,
        site_area_m2=30000,
        land_cost_10k_yuan=200,
    )
]

BASE_SCENARIO = {
    "name": "bad-corpus-base",
    "data": {
        "villages": {"path": "villages.csv"},
        "schools": {"path": "schools.csv"},
        "candidate_sites": {"path": "candidate_sites.csv"},
        "boundary": {"path": "boundary.geojson"},
    },
    "solver": {"time_limit_s": 20, "threads": 1, "mip_gap": 0.0},
}


def _lonlat(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        r = dict(r)
        x, y = r.pop("x"), r.pop("y")
        out.append({**r, "lon": round(LON0 + x * KM_LON, 6), "lat": round(LAT0 + y * KM_LAT, 6)})
    return out


def write_csv(path: Path, rows: list[dict], columns: list[str] | None = None) -> None:
    columns = columns or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def write_boundary(path: Path, half_km: float = 10.0) -> None:
    x0, x1 = LON0 - half_km * KM_LON, LON0 + half_km * KM_LON
    y0, y1 = LAT0 - half_km * KM_LAT, LAT0 + half_km * KM_LAT
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "县界"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        ],
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def base(folder: Path, *, villages=None, schools=None, sites=None, scenario: dict | None = None) -> Path:
    """Write the valid county into ``folder`` (with optional replacements); return the scenario path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "villages.csv", _lonlat(villages or VILLAGES))
    write_csv(folder / "schools.csv", _lonlat(schools or SCHOOLS))
    write_csv(folder / "candidate_sites.csv", _lonlat(sites or SITES))
    write_boundary(folder / "boundary.geojson")
    doc = _merge(BASE_SCENARIO, scenario or {})
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _edit(rows: list[dict], i: int, **kw) -> list[dict]:
    return [dict(r, **kw) if j == i else dict(r) for j, r in enumerate(rows)]


# ---------------------------------------------------------------- the cases


def _text_edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def case_missing_file(d: Path) -> None:
    base(d)
    (d / "villages.csv").unlink()


def case_missing_layer(d: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    base(d, scenario={"data": {"villages": {"path": "county.gpkg", "layer": "vilages"}}})
    rows = _lonlat(VILLAGES)
    g = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in rows],
        geometry=[Point(r["lon"], r["lat"]) for r in rows],
        crs="EPSG:4326",
    )
    g.to_file(d / "county.gpkg", layer="villages", driver="GPKG")
    (d / "villages.csv").unlink()


def case_missing_column(d: Path) -> None:
    base(d, villages=[{k: v for k, v in r.items() if k != "pupils_g4_6"} for r in VILLAGES])


def case_wrong_type(d: Path) -> None:
    base(d, schools=_edit(SCHOOLS, 1, teaching_area_m2="两千"))


def case_pupils_negative(d: Path) -> None:
    base(d, villages=_edit(VILLAGES, 2, pupils_g1_3=-40))


def case_pupils_fractional(d: Path) -> None:
    base(d, villages=_edit(VILLAGES, 1, pupils_g7_9=17.5))


def case_pupils_missing(d: Path) -> None:
    base(d, villages=_edit(VILLAGES, 3, pupils_g4_6=""))


def case_duplicate_ids(d: Path) -> None:
    base(d, villages=_edit(VILLAGES, 2, village_id="V02"))


def case_unknown_school_type(d: Path) -> None:
    base(d, schools=_edit(SCHOOLS, 2, type="middle_school"))


def _projected(rows: list[dict], x: str, y: str) -> list[dict]:
    """The rows with x/y (km) as projected metres (UTM-like numbers) in columns ``x`` and ``y``."""
    return [
        {**{k: v for k, v in r.items() if k not in ("x", "y")}, x: 500000 + r["x"] * 1000, y: 2408000 + r["y"] * 1000}
        for r in rows
    ]


def case_outside_boundary(d: Path) -> None:
    base(d, villages=_edit(VILLAGES, 3, x=40.0, y=5.0))


def case_xy_without_crs(d: Path) -> None:
    base(d)
    rows = _projected(VILLAGES, "x", "y")
    write_csv(d / "villages.csv", rows)


def case_lonlat_swapped(d: Path) -> None:
    base(d)
    rows = [{**r, "lon": r["lat"], "lat": r["lon"]} for r in _lonlat(VILLAGES)]
    write_csv(d / "villages.csv", rows)


def case_lonlat_out_of_range(d: Path) -> None:
    base(d)
    rows = _lonlat(VILLAGES)
    rows[1]["lat"] = 121.77  # a typo: latitude above 90
    write_csv(d / "villages.csv", rows)


def case_projected_as_degrees(d: Path) -> None:
    base(d)
    rows = _projected(SCHOOLS, "lon", "lat")
    write_csv(d / "schools.csv", rows)


def case_no_crs(d: Path) -> None:
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import Point

    base(d, scenario={"data": {"schools": {"path": "schools.fgb"}}})
    rows = _lonlat(SCHOOLS)
    g = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in rows],
        geometry=[Point(r["lon"], r["lat"]) for r in rows],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "'crs' was not provided": the point of the case
        pyogrio.write_dataframe(g, d / "schools.fgb", driver="FlatGeobuf")
    (d / "schools.csv").unlink()


def case_empty_layer(d: Path) -> None:
    base(d)
    write_csv(d / "schools.csv", [], columns=list(_lonlat(SCHOOLS)[0]))


def case_yaml_syntax(d: Path) -> None:
    base(d)
    _text_edit(d / "scenario.yaml", "solver:\n", "targets: {primary: 2\nsolver:\n")


def case_yaml_duplicate_key(d: Path) -> None:
    base(d)
    _text_edit(d / "scenario.yaml", "solver:\n", "solver:\n  threads: 1\nsolver:\n")


def case_unknown_key(d: Path) -> None:
    base(d, scenario={"caps": {"class_sise": {"primary": 40}}})


def case_wrong_value_type(d: Path) -> None:
    base(d, scenario={"solver": {"time_limit_s": "ten minutes"}, "targets": {"primary": "two"}})


def case_extends_cycle(d: Path) -> None:
    base(d, scenario={"extends": "parent.yaml"})
    (d / "parent.yaml").write_text("extends: scenario.yaml\nname: parent\n", encoding="utf-8")


def case_extends_missing(d: Path) -> None:
    base(d, scenario={"extends": "../base/scenario.yml"})


def case_fixed_unknown(d: Path) -> None:
    base(d, scenario={"fixed": {"S09": "closed", "S01": "primary"}})


def case_od_unknown_ids(d: Path) -> None:
    base(d, scenario={"data": {"distances": "od.csv"}})
    rows = [
        dict(origin_id=v["village_id"], destination_id=s["school_id"], distance_km=2.5)
        for v in VILLAGES
        for s in SCHOOLS
    ]
    rows.insert(1, dict(origin_id="V99", destination_id="S01", distance_km=1.0))
    rows.append(dict(origin_id="V01", destination_id="S7", distance_km=1.0))
    write_csv(d / "od.csv", rows)


def case_many_mistakes(d: Path) -> None:
    vs = _edit(_edit(VILLAGES, 0, pupils_g1_3=-1), 3, village_id="V01")
    base(d, villages=vs, schools=_edit(SCHOOLS, 1, type="高中", max_classes="多"), scenario={"fixed": {"S9": "closed"}})


# conflicts found before solving (exit 3, with a diagnosis)


def case_target_above_sites(d: Path) -> None:
    base(d, scenario={"targets": {"junior": 4}})


def case_capacity_below_pupils(d: Path) -> None:
    base(d, scenario={"caps": {"school_pupils": {"teaching_point": 20, "primary": 60, "junior": 60, "nine_year": 60}}})


def case_village_out_of_reach(d: Path) -> None:
    base(d, scenario={"policy": {"walk_limit_km": {"g1_3": 0.5}}})


def case_budget_below_fixed(d: Path) -> None:
    base(d, scenario={"fixed": {"C01": "nine_year"}, "budget": {"total_10k_yuan": 500}})


CASES: dict[str, tuple[int, list[str]]] = {
    # case: (exit code, substrings the message must contain)
    "missing_file": (2, ["villages.csv", "layer villages", "file not found"]),
    "missing_layer": (2, ["county.gpkg", "layer vilages", "layer not found", "the file has: villages"]),
    "missing_column": (2, ["villages.csv", "layer villages", "column pupils_g4_6", "missing column 'pupils_g4_6'"]),
    "wrong_type": (
        2,
        [
            "schools.csv",
            "layer schools",
            "row 2 (id S02)",
            "column teaching_area_m2",
            "expected a number >= 0, got '两千'",
        ],
    ),
    "pupils_negative": (2, ["villages.csv", "row 3 (id V03)", "column pupils_g1_3", "got -40 (negative)"]),
    "pupils_fractional": (2, ["villages.csv", "row 2 (id V02)", "column pupils_g7_9", "got 17.5 (fractional)"]),
    "pupils_missing": (
        2,
        ["villages.csv", "row 4 (id V04)", "column pupils_g4_6", "is missing (expected a whole number"],
    ),
    "duplicate_ids": (
        2,
        ["villages.csv", "row 3 (id V02)", "column village_id", "duplicate id 'V02' (first at row 2)"],
    ),
    "unknown_school_type": (2, ["schools.csv", "row 3 (id S03)", "column type", "unknown school type 'middle_school'"]),
    "outside_boundary": (2, ["villages.csv", "layer villages", "row 4 (id V04)", "outside the county boundary"]),
    "xy_without_crs": (2, ["villages.csv", "column x", "x/y columns need a CRS", "crs: EPSG:4547"]),
    "lonlat_swapped": (2, ["villages.csv", "layer villages", "row 1 (id V01)", "look swapped"]),
    "lonlat_out_of_range": (2, ["villages.csv", "row 2 (id V02)", "column lat", "latitude 121.77 is out of range"]),
    "projected_as_degrees": (
        2,
        ["schools.csv", "layer schools", "row 1 (id S01)", "projected numbers labelled as degrees"],
    ),
    "no_crs": (2, ["schools.fgb", "layer schools", "has no CRS"]),
    "empty_layer": (2, ["schools.csv", "layer schools", "layer is empty"]),
    "yaml_syntax": (2, ["scenario.yaml", "line ", "YAML syntax error"]),
    "yaml_duplicate_key": (2, ["scenario.yaml", "line ", "key 'solver' is given twice"]),
    "unknown_key": (2, ["scenario.yaml", "line ", "key caps.class_sise", "did you mean 'class_size'?"]),
    "wrong_value_type": (
        2,
        ["scenario.yaml", "key solver.time_limit_s", "got 'ten minutes'", "key targets.primary", "expected a count"],
    ),
    "extends_cycle": (2, ["'extends' cycle", "scenario.yaml -> parent.yaml -> scenario.yaml"]),
    "extends_missing": (2, ["scenario.yaml", "line 1", "key extends", "which does not exist"]),
    "fixed_unknown": (2, ["scenario.yaml", "key fixed.S09", "unknown school or site 'S09'"]),
    "od_unknown_ids": (
        2,
        [
            "od.csv",
            "layer distances",
            "row 2",
            "column origin_id",
            "unknown village 'V99'",
            "column destination_id",
            "unknown school or site 'S7'",
        ],
    ),
    "many_mistakes": (
        2,
        [
            "5 problem(s)",
            "row 1 (id V01), column pupils_g1_3",
            "row 4 (id V01), column village_id",
            "unknown school type '高中'",
            "row 2 (id S02), column max_classes",
            "unknown school or site 'S9'",
        ],
    ),
    "target_above_sites": (3, ["target junior = 4, but only 2 sites may be junior", "target junior"]),
    "capacity_below_pupils": (3, ["all bands: 289 pupils, but the sites within reach hold at most 240"]),
    "village_out_of_reach": (3, ["have no school type that may teach g1_3 within the 0.5 km limit"]),
    "budget_below_fixed": (3, ["budget 500 (10k yuan) is below the 800 that the fixed decisions (C01) cost"]),
}


def build(root: Path = HERE) -> dict[str, Path]:
    """Build every case under ``root``; return case -> scenario path."""
    out = {}
    for name in CASES:
        d = root / name
        if d.exists():
            shutil.rmtree(d)
        globals()[f"case_{name}"](d)
        out[name] = d / "scenario.yaml"
    base(root / "base")
    out["base"] = root / "base" / "scenario.yaml"
    return out


if __name__ == "__main__":
    for path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE).values():
        print(path)
