"""The checker's vocabulary and readers: the run folder and the input layers, read with pandas and pyogrio."""

from __future__ import annotations

import io
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from tests.checker.workbook import read_points

BANDS = ("g1_3", "g4_6", "g7_9")
LEVEL = {"g1_3": "primary", "g4_6": "primary", "g7_9": "junior"}
LEVELS = ("primary", "junior")
TEACHES = {
    "teaching_point": {"g1_3"},
    "primary": {"g1_3", "g4_6"},
    "junior": {"g7_9"},
    "nine_year": {"g1_3", "g4_6", "g7_9"},
}
TOL = 1e-4
DIST_TOL_KM = 1e-3

TEACHERS = ("teachers", "teachers_qualified", "teachers_backbone", "teachers_pe_art")
MOVABLE = (*TEACHERS, "equipment_value_yuan")
STOCK = (*MOVABLE, "multimedia_rooms", "music_rooms", "art_rooms", "teaching_area_m2", "sports_area_m2")
INDICATORS = ("qualified", "backbone", "pe_art", "teaching_area", "sports_area", "equipment", "multimedia")
RESOURCE = {
    "qualified": "teachers_qualified",
    "backbone": "teachers_backbone",
    "pe_art": "teachers_pe_art",
    "teaching_area": "teaching_area_m2",
    "sports_area": "sports_area_m2",
    "equipment": "equipment_value_yuan",
    "multimedia": "multimedia_rooms",
    "staff": "teachers",
    "music_rooms": "music_rooms",
    "art_rooms": "art_rooms",
}
PER_100 = {"qualified", "backbone", "pe_art", "multimedia"}
WHOLE = {"qualified", "backbone", "pe_art", "multimedia", "staff", "music_rooms", "art_rooms"}
PLANNED = ("qualified", "backbone", "pe_art", "equipment", "multimedia")
GAP_TOL = {"teaching_area": 0.05, "sports_area": 0.05, "equipment": 1.0}
"""A gap below this (m², yuan) is rounding; whole teachers and rooms have none."""
COST_TOL = 1e-3
TEXT_COLUMNS = (
    "school_id",
    "name",
    "township",
    "type_before",
    "type_after",
    "action",
    "merged_into",
    "campus_of",
    "standard_status",
)


# --- reading ---------------------------------------------------------------------------------------------------------


def _ids(s: pd.Series) -> pd.Series:
    """Ids as text (integral numbers lose their '.0', as the loader reads them)."""

    def one(v):
        if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    return s.map(one)


def _base(manifest: dict) -> Path:
    return Path(manifest["scenario_files"][-1]).parent


def _read_gdf(manifest: dict, name: str) -> gpd.GeoDataFrame | None:
    """An input layer as the planner finds it (``data.NAME`` or the GeoPackage's
    layer NAME), in the run's metric CRS; ``None`` when absent."""
    scen = manifest["scenario"]
    ref = scen["data"].get(name)
    if ref is None and scen["data"].get("xlsx") and name in ("villages", "schools", "candidate_sites"):
        gdf = read_points(_base(manifest) / scen["data"]["xlsx"], name, _unshift)
        if gdf is not None:
            return gdf.to_crs(manifest["crs"])
    if ref is None and scen["data"].get("gpkg"):
        ref = {"path": scen["data"]["gpkg"], "layer": name}
    if ref is None:
        return None
    path = _base(manifest) / ref["path"]
    if not path.is_file():
        return None
    if path.suffix.lower() == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        for c in df.columns:  # numbers as numbers; ids and names stay text
            if not c.endswith("_id") and c not in (
                "name",
                "township",
                "type",
                "kind",
                "allowed_types",
                "lon",
                "lat",
                "x",
                "y",
            ):
                num = pd.to_numeric(df[c].str.strip(), errors="coerce")
                if num.notna().all():
                    df[c] = num
        df.columns = [str(c).strip() for c in df.columns]
        cols, crs = (("lon", "lat"), "EPSG:4326") if {"lon", "lat"} <= set(df.columns) else (("x", "y"), None)
        crs = crs or scen["data"].get("crs")
        xy = [pd.to_numeric(df[c].str.strip()) for c in cols]
        gdf = gpd.GeoDataFrame(df.drop(columns=list(cols)), geometry=gpd.points_from_xy(*xy), crs=crs)
    else:
        layer = ref.get("layer") or (name if path.suffix.lower() == ".gpkg" else None)
        if (
            layer is not None
            and path.suffix.lower() == ".gpkg"
            and layer not in [n for n, _ in pyogrio.list_layers(path)]
        ):
            return None
        gdf = pyogrio.read_dataframe(path, layer=layer)
    if gdf.crs is None:
        return None if name == "roads" else gdf  # the planner ignores roads without a CRS
    if scen["data"].get("coords", "wgs84") in ("gcj02", "bd09"):
        gdf = gdf.set_geometry(
            shapely.transform(gdf.geometry.to_numpy(), lambda xy: _unshift(xy, scen["data"]["coords"]))
        )
        gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    return gdf.to_crs(manifest["crs"])


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """GCJ-02 minus WGS84 (degrees) at WGS84 points: the published formula, written out again."""
    x, y, pi = lon - 105.0, lat - 35.0, math.pi
    waves = (20 * np.sin(6 * x * pi) + 20 * np.sin(2 * x * pi)) * 2 / 3
    t_lat = -100 + 2 * x + 3 * y + 0.2 * y**2 + 0.1 * x * y + 0.2 * np.sqrt(abs(x)) + waves
    t_lat += (20 * np.sin(y * pi) + 40 * np.sin(y / 3 * pi)) * 2 / 3 + (
        160 * np.sin(y / 12 * pi) + 320 * np.sin(y * pi / 30)
    ) * 2 / 3
    t_lon = 300 + x + 2 * y + 0.1 * x**2 + 0.1 * x * y + 0.1 * np.sqrt(abs(x)) + waves
    t_lon += (20 * np.sin(x * pi) + 40 * np.sin(x / 3 * pi)) * 2 / 3 + (
        150 * np.sin(x / 12 * pi) + 300 * np.sin(x / 30 * pi)
    ) * 2 / 3
    a, ee, rad = 6378245.0, 0.00669342162296594323, np.radians(lat)
    m = 1 - ee * np.sin(rad) ** 2
    d_lat = t_lat * 180 / ((a * (1 - ee)) / (m * np.sqrt(m)) * pi)
    d_lon = t_lon * 180 / (a / np.sqrt(m) * np.cos(rad) * pi)
    inside = (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)
    return np.column_stack([np.where(inside, d_lon, 0), np.where(inside, d_lat, 0)])


def _unshift(xy: np.ndarray, system: str) -> np.ndarray:
    """WGS84 lon/lat of GCJ-02 or BD-09 points: undo BD-09 exactly (Newton-free
    fixed point), then the GCJ-02 offset by fixed point."""
    if system == "bd09":
        k = math.pi * 3000 / 180

        def bd(p):
            z = np.hypot(p[:, 0], p[:, 1]) + 2e-5 * np.sin(p[:, 1] * k)
            t = np.arctan2(p[:, 1], p[:, 0]) + 3e-6 * np.cos(p[:, 0] * k)
            return np.column_stack([z * np.cos(t) + 0.0065, z * np.sin(t) + 0.006])

        g = xy - [0.0065, 0.006]
        for _ in range(40):
            g = g + (xy - bd(g))
        xy = g
    w = xy.copy()
    for _ in range(40):
        w = xy - _gcj_offset(w[:, 0], w[:, 1])
    return w


def _layer(manifest: dict, name: str) -> pd.DataFrame | None:
    """Read an input point layer (attributes and x/y in the run's metric CRS)."""
    gdf = _read_gdf(manifest, name)
    if gdf is None:
        return None
    df = pd.DataFrame(gdf.drop(columns="geometry"))
    df["x"], df["y"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    return df


def _sites(manifest: dict) -> pd.DataFrame:
    schools = _layer(manifest, "schools")
    schools = schools.rename(columns={"school_id": "id", "type": "type_before"}).assign(
        kind="school", land_cost_10k_yuan=0.0
    )
    schools["allowed"] = [()] * len(schools)
    cands = _layer(manifest, "candidate_sites")
    if cands is not None and not cands.empty:
        cands = cands.rename(columns={"site_id": "id"}).assign(kind="candidate", type_before="none")
        cands["allowed"] = [
            tuple(t.strip() for t in str(a).replace(";", ",").split(",")) for a in cands["allowed_types"]
        ]
        for c in ("teaching_area_m2", "living_area_m2", "sports_area_m2", *(f"pupils_{b}" for b in BANDS)):
            cands[c] = 0.0
        schools = pd.concat([schools, cands], ignore_index=True)
    schools["id"] = _ids(schools["id"])
    for c in STOCK:  # optional indicator columns: NaN (unknown) where the layer lacks them
        schools[c] = pd.to_numeric(schools[c], errors="coerce") if c in schools.columns else np.nan
    return schools


def _read_schools_csv(folder: Path) -> pd.DataFrame:
    s = pd.read_csv(folder / "schools.csv", dtype=dict.fromkeys(TEXT_COLUMNS, str), keep_default_na=False)
    for c in s.columns:
        if c not in TEXT_COLUMNS and not pd.api.types.is_numeric_dtype(s[c]):
            s[c] = pd.to_numeric(s[c], errors="coerce")
    return s


def _col(schools: pd.DataFrame, name: str) -> np.ndarray:
    return schools[name].fillna(0.0).to_numpy(float) if name in schools.columns else np.zeros(len(schools))


def _planned(scen: dict) -> bool:
    """Whether the model plans investments (teachers, equipment, rooms, moves)."""
    return bool(scen.get("indicators", {}).get("enabled", True) and scen["standards"].get("enabled", True))


# --- placement and distances -----------------------------------------------------------------------------------------


def _limit(scen: dict, band: str) -> float:
    pol = scen["policy"]
    lim = pol["max_trip_km"].get(band)
    lim = math.inf if lim is None else float(lim)
    if not pol["boarding_allowed"].get(band, True):
        lim = min(lim, float(pol["walk_limit_km"][band]))
    return lim


def _enrolment(assign: pd.DataFrame) -> pd.DataFrame:
    e = assign.pivot_table(index="school_id", columns="band", values="pupils", aggfunc="sum").reindex(
        columns=list(BANDS)
    )
    return e.fillna(0.0)
