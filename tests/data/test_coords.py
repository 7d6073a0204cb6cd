"""Coordinates of Chinese map services (GCJ-02, BD-09) and CSV encodings:
the published vectors, the inverse to well under a metre, layers converted on
load, the warning for points shifted off the roads, GB18030 text."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from planner.data.coords import bd09_to_gcj02, bd09_to_gcj02_published, gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_gcj02
from planner.data.load import load_problem
from planner.errors import InputError
from tests.factory import SCHOOL_DEFAULTS

# The published reference vectors of wandergis/coordtransform (README), at 116.404, 39.915.
WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
BD_TO_GCJ_PUBLISHED = (116.39762729119315, 39.90865673957631)
WGS_TO_BD = (116.41662724378733, 39.922699552216216)


def _metres(lon1, lat1, lon2, lat2) -> float:
    """Great-circle distance (m) on a 6,371 km sphere: plenty for sub-metre checks."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def test_the_published_vectors() -> None:
    assert tuple(map(float, wgs84_to_gcj02(116.404, 39.915))) == pytest.approx(WGS_TO_GCJ, abs=1e-12)
    assert tuple(map(float, gcj02_to_bd09(116.404, 39.915))) == pytest.approx(GCJ_TO_BD, abs=1e-12)
    assert tuple(map(float, bd09_to_gcj02_published(116.404, 39.915))) == pytest.approx(BD_TO_GCJ_PUBLISHED, abs=1e-12)
    assert tuple(map(float, gcj02_to_bd09(*wgs84_to_gcj02(116.404, 39.915)))) == pytest.approx(WGS_TO_BD, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.floats(74.0, 134.0), st.floats(18.0, 53.0))
def test_the_inverses_are_within_a_millimetre(lon, lat) -> None:
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert _metres(lon, lat, glon, glat) > 1.0  # the offset is real inside China
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert _metres(lon, lat, float(wlon), float(wlat)) < 1e-3
    blon, blat = gcj02_to_bd09(glon, glat)
    back = bd09_to_gcj02(blon, blat)
    assert _metres(float(glon), float(glat), float(back[0]), float(back[1])) < 1e-3


def test_outside_china_nothing_moves() -> None:
    assert tuple(map(float, wgs84_to_gcj02(2.35, 48.85))) == (2.35, 48.85)
    assert tuple(map(float, gcj02_to_wgs84(139.7, 35.7))) == (139.7, 35.7)


WGS = [(108.30 + 0.01 * i, 21.70 + 0.007 * (i % 4)) for i in range(10)]
"""Ten points near the demo's county town, WGS84."""


def _write(folder: Path, coords: str, shift: str | None, *, encoding: str = "utf-8") -> Path:
    """Villages and schools as lon/lat CSVs, shifted into ``shift`` (gcj02, bd09) or not."""
    lon, lat = np.array([p[0] for p in WGS]), np.array([p[1] for p in WGS])
    if shift in ("gcj02", "bd09"):
        lon, lat = wgs84_to_gcj02(lon, lat)
    if shift == "bd09":
        lon, lat = gcj02_to_bd09(lon, lat)
    v = pd.DataFrame(
        {"village_id": [f"V{i}" for i in range(10)], "name": [f"第{i}村" for i in range(10)], "lon": lon, "lat": lat}
    )
    v["pupils_g1_3"], v["pupils_g4_6"], v["pupils_g7_9"] = 10, 10, 10
    rows = [{**SCHOOL_DEFAULTS, "school_id": f"S{i}", "name": f"第{i}学校", "type": "nine_year"} for i in range(10)]
    s = pd.DataFrame(rows)
    s["lon"], s["lat"] = lon, lat
    folder.mkdir(parents=True, exist_ok=True)
    v.to_csv(folder / "villages.csv", index=False, encoding=encoding)
    s.to_csv(folder / "schools.csv", index=False, encoding=encoding)
    doc = {
        "name": "coords",
        "data": {"villages": {"path": "villages.csv"}, "schools": {"path": "schools.csv"}, "coords": coords},
    }
    path = folder / "case.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_a_map_services_points_are_read_in_wgs84(tmp_path, system) -> None:
    p = load_problem(_write(tmp_path, system, system))
    for (lon, lat), (got_lon, got_lat) in zip(WGS, p.villages[["lon", "lat"]].to_numpy()):
        assert _metres(lon, lat, got_lon, got_lat) < 1.0
    plain = load_problem(_write(tmp_path / "plain", "wgs84", system))
    lon, lat = plain.villages[["lon", "lat"]].to_numpy()[0]
    assert _metres(*WGS[0], lon, lat) > 300  # read as WGS84, the same file is hundreds of metres off


def test_coords_on_a_projected_layer_is_named(tmp_path) -> None:
    path = _write(tmp_path, "gcj02", None)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name in ("villages", "schools"):
        df = pd.read_csv(tmp_path / f"{name}.csv")
        g = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)
        pyogrio.write_dataframe(g.to_crs("EPSG:4545"), tmp_path / "case.gpkg", layer=name)
    doc["data"] = {"gpkg": "case.gpkg", "coords": "gcj02"}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="data.coords gcj02 is for lon/lat, but this layer is in EPSG:4545"):
        load_problem(path)


def _roads(folder: Path, system: str = "wgs84") -> None:
    """A short road through every true point, written as lon/lat of ``system``."""
    lines = []
    for lon, lat in WGS:
        ends = np.array([lon - 0.001, lon + 0.001]), np.array([lat, lat])
        xs, ys = wgs84_to_gcj02(*ends) if system == "gcj02" else ends
        lines.append(LineString(zip(xs, ys)))
    gpd.GeoDataFrame({"road_id": range(10)}, geometry=lines, crs=4326).to_file(folder / "roads.geojson")
    path = folder / "case.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["data"]["roads"] = {"path": "roads.geojson"}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_points_shifted_off_the_roads_are_warned_about(tmp_path) -> None:
    shifted = _write(tmp_path / "shifted", "wgs84", "gcj02")
    _roads(tmp_path / "shifted")
    warnings = load_problem(shifted).warnings
    assert any(w.startswith("schools: the points sit a median") and "data.coords" in w for w in warnings), warnings
    fixed = _write(tmp_path / "fixed", "gcj02", "gcj02")  # every layer from the same service, converted
    _roads(tmp_path / "fixed", "gcj02")
    assert not any("data.coords" in w for w in load_problem(fixed).warnings)


def test_gb18030_csv_is_read(tmp_path) -> None:
    p = load_problem(_write(tmp_path, "wgs84", None, encoding="gb18030"))
    assert p.villages["name"].tolist()[:2] == ["第0村", "第1村"]


def test_other_encodings_are_named(tmp_path) -> None:
    path = _write(tmp_path, "wgs84", None, encoding="utf-16")
    with pytest.raises(InputError, match="villages.csv.*neither UTF-8 nor GB18030"):
        load_problem(path)


def test_a_gcj02_run_passes_the_checker_which_converts_on_its_own(tmp_path, solve_to_folder) -> None:
    import json

    from tests.checker import check_run
    from tests.checker.common import _read_gdf

    path = _write(tmp_path / "case", "gcj02", "gcj02")
    _, folder = solve_to_folder(path)
    assert check_run(folder) == []
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    seen = _read_gdf(manifest, "villages").to_crs(4326)
    assert max(_metres(*w, g.x, g.y) for w, g in zip(WGS, seen.geometry)) < 1.0
    manifest["scenario"]["data"]["coords"] = "wgs84"
    seen = _read_gdf(manifest, "villages").to_crs(4326)
    assert min(_metres(*w, g.x, g.y) for w, g in zip(WGS, seen.geometry)) > 300
