"""Load: read the scenario's files, validate every row, project, build a Problem.

This is the only stage that reads input files. It collects every mistake it
finds (file, layer, row, column, id) and raises them together as one
:class:`~planner.errors.InputError`, so nothing downstream needs to check.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from planner import BANDS, TYPES
from planner.errors import Collector
from planner.problem import Problem
from planner.scenario import LayerRef, Scenario, load_scenario, locate_key


@dataclass(frozen=True)
class Column:
    """Expected column: name, kind ('str', 'int', 'num') and whether required."""

    name: str
    kind: str = "num"
    required: bool = True
    default: object = 0


VILLAGE_SPEC = (
    Column("village_id", "str"), Column("name", "str"), Column("township", "str", False, ""),
    *(Column(f"pupils_{b}", "int") for b in BANDS),
)
SCHOOL_SPEC = (
    Column("school_id", "str"), Column("name", "str"), Column("township", "str", False, ""),
    Column("type", "str"), Column("classes_primary", "int"), Column("classes_junior", "int"),
    *(Column(f"pupils_{b}", "int") for b in BANDS),
    Column("teaching_area_m2"), Column("living_area_m2"), Column("sports_area_m2"),
    Column("site_area_m2"), Column("boarding_beds", "int"), Column("max_classes", "int"),
    *(Column(c, "num", False, np.nan) for c in (
        "teachers", "teachers_qualified", "teachers_backbone", "teachers_pe_art",
        "equipment_value_yuan", "multimedia_rooms", "music_rooms", "art_rooms")),
)
SITE_SPEC = (
    Column("site_id", "str"), Column("name", "str"), Column("township", "str", False, ""),
    Column("allowed_types", "str"), Column("max_classes", "int"), Column("site_area_m2"),
    Column("land_cost_10k_yuan"),
)


def sha256(path: Path) -> str:
    """Hex digest of a file, for the manifest."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _layer_ref(s: Scenario, name: str) -> LayerRef | None:
    ref = getattr(s.data, name)
    if ref is None and s.data.gpkg is not None:
        return LayerRef(path=s.data.gpkg, layer=name)
    return ref


def _crs_of(s: Scenario, key: str, errors: Collector) -> pyproj.CRS | None:
    """``data.crs`` or ``data.metric_crs`` parsed, or ``None`` (with an issue)."""
    text = getattr(s.data, key)
    if not text:
        return None
    try:
        crs = pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        file, line = locate_key(s, "data", key)
        errors.add(file, f"'{text}' is not a coordinate reference system (expected e.g. EPSG:4547)", key=f"data.{key}",
                   line=line)
        return None
    if key == "metric_crs" and not crs.is_projected:
        file, line = locate_key(s, "data", key)
        errors.add(file, f"'{text}' is not a projected (metric) CRS; distances need metres (e.g. EPSG:4547)",
                   key=f"data.{key}", line=line)
        return None
    return crs


def _read_csv_points(path: Path, s: Scenario, errors: Collector, layer: str) -> gpd.GeoDataFrame | None:
    """A CSV with lon/lat (EPSG:4326) or x/y plus the scenario's ``crs``."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        errors.add(str(path), f"is not UTF-8 text (byte {e.start}); export the table as CSV UTF-8", layer=layer)
        return None
    except pd.errors.EmptyDataError:
        errors.add(str(path), "the file is empty (expected a header row and one row per point)", layer=layer)
        return None
    except (ValueError, OSError, csv.Error) as e:  # pandas' ParserError is a ValueError
        errors.add(str(path), f"cannot read as CSV: {' '.join(str(e).split())}", layer=layer)
        return None
    df.columns = [str(c).strip() for c in df.columns]
    if {"lon", "lat"} <= set(df.columns):
        cols, crs = ("lon", "lat"), "EPSG:4326"
    elif {"x", "y"} <= set(df.columns):
        if not s.data.crs:
            file, line = locate_key(s, "data")
            errors.add(str(path), f"x/y columns need a CRS: add 'crs: EPSG:4547' (or the right code) under 'data:' in "
                       f"{Path(file).name}, or give lon/lat columns in EPSG:4326", layer=layer, column="x")
            return None
        crs = _crs_of(s, "crs", errors)
        if crs is None:
            return None
        cols = ("x", "y")
    else:
        errors.add(str(path), f"needs coordinate columns lon/lat (EPSG:4326) or x/y with data.crs; the columns are: "
                   f"{', '.join(df.columns)}", layer=layer)
        return None
    before = len(errors.issues)
    xy = {}
    for c in cols:
        v = pd.to_numeric(df[c].str.strip(), errors="coerce")
        v = v.where(np.isfinite(v.to_numpy(float)))
        for i in np.flatnonzero(v.isna().to_numpy()):
            got = df[c].iloc[i]
            errors.add(str(path), f"expected a coordinate (a number), got '{got}'" if got.strip() else
                       "coordinate is missing", layer=layer, row=int(i) + 1, column=c, id=_row_id(df, i, layer))
        xy[c] = v
    if len(errors.issues) > before:
        return None
    geom = gpd.points_from_xy(xy[cols[0]], xy[cols[1]])
    return gpd.GeoDataFrame(df.drop(columns=list(cols)), geometry=geom, crs=crs)


ID_COLUMNS = {"villages": "village_id", "schools": "school_id", "candidate_sites": "site_id"}


def _row_id(df: pd.DataFrame, i: int, layer: str) -> str | None:
    col = ID_COLUMNS.get(layer)
    if col is None or col not in df.columns:
        return None
    v = df[col].iloc[i]
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "" else str(v).strip()


def read_layer(s: Scenario, name: str, errors: Collector, *, required: bool = True) -> tuple[gpd.GeoDataFrame | None, Path | None]:
    """Read one layer named by the scenario; ``None`` (with an issue) on failure."""
    ref = _layer_ref(s, name)
    named = getattr(s.data, name) is not None
    if ref is None:
        if required:
            file, line = locate_key(s, "data")
            errors.add(file, f"no source for layer '{name}': set data.gpkg or data.{name}.path", key=f"data.{name}",
                       line=line)
        return None, None
    path = s.resolve(ref.path)
    if not path.is_file():
        if required or named:
            what = "is a folder, not a file" if path.is_dir() else "file not found"
            errors.add(str(path), what, layer=name)
        return None, None
    if path.suffix.lower() == ".csv":
        return _read_csv_points(path, s, errors, name), path
    layer = ref.layer if ref.layer is not None else (name if path.suffix.lower() == ".gpkg" else None)
    if layer is not None and path.suffix.lower() == ".gpkg":
        try:
            names = [n for n, _ in pyogrio.list_layers(path)]
        except Exception as e:  # noqa: BLE001 - GDAL raises several types for a corrupt file
            errors.add(str(path), f"cannot open as a GeoPackage: {' '.join(str(e).split())}", layer=name)
            return None, None
        if layer not in names:
            if required or named:
                errors.add(str(path), f"layer not found (the file has: {', '.join(names) or 'no layers'})", layer=layer)
            return None, None
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as e:  # noqa: BLE001 - pyogrio raises several driver-specific types
        errors.add(str(path), f"cannot read: {' '.join(str(e).split())}", layer=name)
        return None, None
    gdf.columns = [str(c).strip() if c != gdf.geometry.name else c for c in gdf.columns]
    return gdf, path


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    text = ", ".join(str(i + 1) for i in idx[:limit])
    return text + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def _check_coordinates(gdf: gpd.GeoDataFrame, file: str, layer: str, errors: Collector) -> bool:
    """Points only; a CRS; degrees in range and not swapped; no degrees in a projected CRS."""
    geom_types = set(gdf.geometry.dropna().geom_type)
    if geom_types - {"Point"}:
        errors.add(file, f"geometry must be points, found {', '.join(sorted(geom_types))}", layer=layer)
        return False
    if gdf.crs is None:
        errors.add(file, "has no CRS; set one (e.g. EPSG:4547 or EPSG:4326)", layer=layer)
        return False
    ok = ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    if not ok.any():
        return True
    x, y = np.full(len(gdf), np.nan), np.full(len(gdf), np.nan)
    x[ok], y[ok] = gdf.geometry[ok].x.to_numpy(), gdf.geometry[ok].y.to_numpy()
    crs = gdf.crs.to_string()
    if gdf.crs.is_geographic:
        bad = ok & ((np.abs(x) > 180) | (np.abs(y) > 90))
        swapped = bad & (np.abs(x) <= 90) & (np.abs(y) <= 180)
        if swapped.any() and swapped.sum() * 2 >= bad.sum():
            i = int(np.flatnonzero(swapped)[0])
            errors.add(file, f"longitude and latitude look swapped: latitude beyond ±90° in row(s) {_rows(swapped)} "
                       f"(first: lon {x[i]:g}, lat {y[i]:g}); put longitude (east) first",
                       layer=layer, row=i + 1, id=_row_id(gdf, i, layer))
            return False
        if bad.any() and bad.sum() * 2 >= ok.sum():
            i = int(np.flatnonzero(bad)[0])
            errors.add(file, f"coordinates ({x[i]:.1f}, {y[i]:.1f}) are not degrees but the CRS is geographic ({crs}): "
                       f"projected numbers labelled as degrees? Rows {_rows(bad)}; give the layer its projected CRS "
                       "(e.g. x/y with data.crs: EPSG:4547)", layer=layer, row=i + 1, id=_row_id(gdf, i, layer))
            return False
        for i in np.flatnonzero(bad):
            what = f"latitude {y[i]:g} is out of range (-90 to 90)" if abs(y[i]) > 90 else \
                f"longitude {x[i]:g} is out of range (-180 to 180)"
            errors.add(file, what, layer=layer, row=int(i) + 1, id=_row_id(gdf, int(i), layer),
                       column=("lat" if abs(y[i]) > 90 else "lon") if file.lower().endswith(".csv") else None)
        if bad.any():
            return False
        if (ok & (np.abs(y) > 70) & (np.abs(x) <= 70)).sum() == ok.sum():
            errors.add(file, f"every point lies beyond latitude ±70° (first: lon {x[ok][0]:g}, lat {y[ok][0]:g}): "
                       "longitude and latitude look swapped", layer=layer)
            return False
    elif gdf.crs.is_projected and ok.sum() >= 1:
        if ((np.abs(x[ok]) <= 180) & (np.abs(y[ok]) <= 90)).all() and np.ptp(x[ok]) < 5 and np.ptp(y[ok]) < 5:
            errors.add(file, f"coordinates look like degrees (first: {x[ok][0]:g}, {y[ok][0]:g}) but the CRS {crs} "
                       "is projected (metres): label them EPSG:4326 (lon/lat) instead", layer=layer)
            return False
    return True


def _typed_columns(df: pd.DataFrame, spec: tuple[Column, ...], file: str, layer: str, id_col: str,
                   errors: Collector) -> pd.DataFrame:
    """Coerce each column to its kind, recording every bad cell with what was expected."""
    out = pd.DataFrame(index=df.index)
    ids = [_row_id(df, i, layer) for i in range(len(df))]
    for col in spec:
        if col.name not in df.columns:
            if col.required:
                near = difflib.get_close_matches(col.name, [str(c) for c in df.columns], n=1, cutoff=0.7)
                hint = f" (found '{near[0]}': rename it?)" if near else ""
                errors.add(file, f"missing column '{col.name}'{hint}", layer=layer, column=col.name)
            out[col.name] = "" if col.kind == "str" and not isinstance(col.default, str) else col.default
            continue
        raw = df[col.name]
        blank = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
        if col.kind == "str":
            if col.required:
                for i in np.flatnonzero(blank):
                    errors.add(file, "is empty (expected a text value)", layer=layer, row=int(i) + 1, column=col.name, id=ids[i])
            fill = col.default if isinstance(col.default, str) else ""
            out[col.name] = [fill if b else _text(v) for v, b in zip(raw, blank)]
            continue
        num = pd.to_numeric(raw.astype(str).str.strip().where(~blank), errors="coerce") if raw.dtype == object \
            else pd.to_numeric(raw, errors="coerce")
        num = num.astype(float)
        missing = num.isna().to_numpy() | ~np.isfinite(num.to_numpy())
        want = "a whole number >= 0" if col.kind == "int" else "a number >= 0"
        for i in np.flatnonzero(missing):
            if blank[i] and not col.required:
                continue
            what = f"is missing (expected {want})" if blank[i] else f"expected {want}, got '{raw.iloc[i]}'"
            errors.add(file, what, layer=layer, row=int(i) + 1, column=col.name, id=ids[i])
        vals = num.to_numpy()
        for i in np.flatnonzero(~missing & (vals < 0)):
            errors.add(file, f"expected {want}, got {vals[i]:g} (negative)", layer=layer, row=int(i) + 1, column=col.name, id=ids[i])
        if col.kind == "int":
            whole = np.where(missing, 0.0, vals)  # inf and NaN are reported above, not rounded
            frac = ~missing & (vals >= 0) & (np.abs(whole - np.round(whole)) > 1e-9)
            for i in np.flatnonzero(frac):
                errors.add(file, f"expected {want}, got {vals[i]:g} (fractional)", layer=layer, row=int(i) + 1,
                           column=col.name, id=ids[i])
        out[col.name] = np.where(missing, col.default if not col.required else 0, vals)
    return out


def _text(v: object) -> str:
    """A cell as text: integral floats (ids read as numbers) lose their '.0'."""
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _check_ids(ids: pd.Series, file: str, layer: str, column: str, errors: Collector) -> None:
    first: dict[str, int] = {}
    for i, v in enumerate(ids.astype(str)):
        if v == "":
            continue
        if v in first:
            errors.add(file, f"duplicate id '{v}' (first at row {first[v] + 1}); ids must be unique", layer=layer,
                       row=i + 1, column=column, id=v)
        else:
            first[v] = i


def _metric_crs(s: Scenario, gdf: gpd.GeoDataFrame, errors: Collector):
    crs = _crs_of(s, "metric_crs", errors)
    if crs is not None:
        return crs
    if gdf.crs.is_projected:
        return gdf.crs
    return gdf.estimate_utm_crs()


def _points_table(gdf: gpd.GeoDataFrame, crs, file: str, layer: str, id_col: str, errors: Collector) -> pd.DataFrame:
    """x/y in the metric CRS and lon/lat in WGS84 for every point."""
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    for i in np.flatnonzero(empty.to_numpy()):
        errors.add(file, "has no geometry (expected a point)", layer=layer, row=int(i) + 1, id=_row_id(gdf, int(i), layer))
    g = gdf.geometry.where(~empty)
    m = gpd.GeoSeries(g, crs=gdf.crs).to_crs(crs)
    ll = gpd.GeoSeries(g, crs=gdf.crs).to_crs("EPSG:4326")
    return pd.DataFrame({"x": m.x.to_numpy(), "y": m.y.to_numpy(), "lon": ll.x.to_numpy(), "lat": ll.y.to_numpy()}, index=gdf.index)


def _boundary_shape(boundary: gpd.GeoDataFrame | None, crs, file: str | None, errors: Collector):
    """The county boundary in the metric CRS (made valid), or ``None``."""
    if boundary is None or not len(boundary):
        return None
    if boundary.crs is None:
        errors.add(str(file), "has no CRS; set one (e.g. EPSG:4547 or EPSG:4326)", layer="boundary")
        return None
    b = boundary.to_crs(crs)
    polys = b.geometry[b.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        errors.add(str(file), "geometry must be polygons (the county boundary)", layer="boundary")
        return None
    return shapely.make_valid(polys.union_all())


def _outside_boundary(xy: pd.DataFrame, ids: pd.Series, shape, file: str, layer: str, errors: Collector) -> None:
    if shape is None or xy.empty:
        return
    inside = shapely.contains(shape.buffer(1000.0), gpd.points_from_xy(xy["x"], xy["y"]))
    for i in np.flatnonzero(~inside & xy["x"].notna().to_numpy()):
        km = shapely.distance(shape, shapely.Point(xy["x"].iloc[i], xy["y"].iloc[i])) / 1000.0
        errors.add(file, f"point ({xy['lon'].iloc[i]:.5f}, {xy['lat'].iloc[i]:.5f}) lies {km:.1f} km outside the county "
                   "boundary (more than 1 km is treated as a mistake)", layer=layer, row=int(i) + 1, id=str(ids.iloc[i]))


def _allowed_types(sites: pd.DataFrame, s: Scenario, file_sites: str, errors: Collector) -> list[tuple[str, ...]]:
    """Apply the policy's moves, keep rules, new-build switch and fixed decisions."""
    pol, out = s.policy, []
    for sid, r in sites.iterrows():
        if r["kind"] == "school":
            allowed = list(pol.moves.get(r["type_before"], [r["type_before"], "closed"]))
            if pol.keep_schools_with_pupils_at_least is not None and r["type_before"] in ("teaching_point", "primary"):
                now = r["pupils_g1_3"] + r["pupils_g4_6"] + r["pupils_g7_9"]
                if now >= pol.keep_schools_with_pupils_at_least:
                    allowed = [t for t in allowed if t not in ("closed", "teaching_point")] or [r["type_before"]]
        else:
            allowed = [*r["allowed_types_list"], "closed"] if pol.allow_new_builds else ["closed"]
        if sid in s.fixed:
            allowed = [s.fixed[sid]]
        order = {t: i for i, t in enumerate((*TYPES, "closed"))}
        out.append(tuple(sorted(set(allowed), key=order.__getitem__)))
    return out


def _schools_frame(gdf, crs, file, boundary, errors) -> pd.DataFrame:
    t = _typed_columns(pd.DataFrame(gdf.drop(columns="geometry")), SCHOOL_SPEC, file, "schools", "school_id", errors)
    unknown = ~t["type"].isin(TYPES).to_numpy() & (t["type"] != "").to_numpy()
    for i in np.flatnonzero(unknown):
        got = t["type"].iloc[i]
        near = difflib.get_close_matches(got, TYPES, n=1, cutoff=0.6)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        errors.add(file, f"unknown school type '{got}'{hint}; expected one of {', '.join(TYPES)}",
                   layer="schools", row=int(i) + 1, column="type", id=t["school_id"].iloc[i] or None)
    _check_ids(t["school_id"], file, "schools", "school_id", errors)
    xy = _points_table(gdf, crs, file, "schools", "school_id", errors)
    _outside_boundary(xy, t["school_id"], boundary, file, "schools", errors)
    t = pd.concat([t, xy], axis=1).rename(columns={"school_id": "site_id", "type": "type_before"})
    t["kind"], t["land_cost_10k_yuan"], t["allowed_types_list"] = "school", 0.0, [()] * len(t)
    return t


def _candidates_frame(gdf, crs, file, boundary, errors) -> pd.DataFrame:
    t = _typed_columns(pd.DataFrame(gdf.drop(columns="geometry")), SITE_SPEC, file, "candidate_sites", "site_id", errors)
    lists = []
    for i, v in enumerate(t["allowed_types"]):
        types = tuple(x.strip() for x in str(v).replace(";", ",").split(",") if x.strip())
        bad = [x for x in types if x not in TYPES]
        if (bad or not types) and str(v).strip():
            errors.add(file, f"allowed_types '{v}' must list types from {', '.join(TYPES)} (comma separated)",
                       layer="candidate_sites", row=i + 1, column="allowed_types", id=t["site_id"].iloc[i] or None)
        lists.append(tuple(x for x in types if x in TYPES))
    _check_ids(t["site_id"], file, "candidate_sites", "site_id", errors)
    xy = _points_table(gdf, crs, file, "candidate_sites", "site_id", errors)
    _outside_boundary(xy, t["site_id"], boundary, file, "candidate_sites", errors)
    t = pd.concat([t, xy], axis=1)
    t["kind"], t["type_before"], t["allowed_types_list"] = "candidate", "none", lists
    for c in ("classes_primary", "classes_junior", "teaching_area_m2", "living_area_m2", "sports_area_m2",
              "boarding_beds", *(f"pupils_{b}" for b in BANDS)):
        t[c] = 0
    return t.drop(columns="allowed_types")


def _villages_frame(gdf, crs, file, boundary, errors) -> pd.DataFrame:
    t = _typed_columns(pd.DataFrame(gdf.drop(columns="geometry")), VILLAGE_SPEC, file, "villages", "village_id", errors)
    _check_ids(t["village_id"], file, "villages", "village_id", errors)
    xy = _points_table(gdf, crs, file, "villages", "village_id", errors)
    _outside_boundary(xy, t["village_id"], boundary, file, "villages", errors)
    return pd.concat([t, xy], axis=1).set_index("village_id")


MAX_ROW_ISSUES = 20
"""Rows reported per (column, mistake) in an OD matrix, which may have millions."""


def _add_rows(errors: Collector, file: str, rows: np.ndarray, message, **where) -> None:
    """One issue per row (up to :data:`MAX_ROW_ISSUES`), then one summing up the rest."""
    for i in rows[:MAX_ROW_ISSUES]:
        errors.add(file, message(int(i)), row=int(i) + 1, **where)
    if len(rows) > MAX_ROW_ISSUES:
        errors.add(file, f"... and {len(rows) - MAX_ROW_ISSUES} more rows with the same mistake", **where)


def _read_od(s: Scenario, errors: Collector) -> tuple[pd.DataFrame | None, Path | None]:
    """The OD matrix (``origin_id``, ``destination_id``, ``distance_km``), if named."""
    if not s.data.distances:
        return None, None
    path = s.resolve(s.data.distances)
    if not path.is_file():
        errors.add(str(path), "file not found", layer="distances")
        return None, None
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        errors.add(str(path), f"is not UTF-8 text (byte {e.start})", layer="distances")
        return None, path
    except pd.errors.EmptyDataError:
        errors.add(str(path), "the file is empty (expected origin_id, destination_id, distance_km)", layer="distances")
        return None, path
    except (ValueError, OSError, csv.Error) as e:
        errors.add(str(path), f"cannot read as CSV: {' '.join(str(e).split())}", layer="distances")
        return None, path
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("origin_id", "destination_id", "distance_km") if c not in df.columns]
    for c in missing:
        errors.add(str(path), f"missing column '{c}' (the columns are: {', '.join(df.columns)})", layer="distances", column=c)
    if missing:
        return None, path
    if df.empty:
        errors.add(str(path), "layer is empty (no origin-destination rows)", layer="distances")
        return None, path
    df = df.assign(origin_id=df["origin_id"].str.strip(), destination_id=df["destination_id"].str.strip())
    d = pd.to_numeric(df["distance_km"].str.strip(), errors="coerce").astype(float)
    bad = np.flatnonzero((d.isna() | (d < 0) | ~np.isfinite(d)).to_numpy())
    _add_rows(errors, str(path), bad, lambda i: f"expected a distance in km >= 0, got '{df['distance_km'].iloc[i]}'",
              layer="distances", column="distance_km")
    return df.assign(distance_km=d), path


def _check_references(p_sites: pd.DataFrame, villages: pd.DataFrame, od: pd.DataFrame | None, od_path: Path | None,
                      s: Scenario, errors: Collector) -> None:
    """Fixed decisions and OD rows must name known ids."""
    for sid, t in s.fixed.items():
        file, line = locate_key(s, "fixed", sid)
        if sid not in p_sites.index:
            near = difflib.get_close_matches(sid, list(p_sites.index.astype(str)), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            errors.add(file, f"fixed decision names unknown school or site '{sid}'{hint}", key=f"fixed.{sid}", line=line)
        elif t != "closed" and p_sites.loc[sid, "kind"] == "candidate" and t not in p_sites.loc[sid, "allowed_types_list"]:
            errors.add(file, f"site '{sid}' may not be {t}: its allowed_types are "
                       f"{', '.join(p_sites.loc[sid, 'allowed_types_list'])}", key=f"fixed.{sid}", line=line)
    if od is not None and od_path is not None:
        bad_o = np.flatnonzero((~od["origin_id"].isin(villages.index)).to_numpy())
        bad_d = np.flatnonzero((~od["destination_id"].isin(p_sites.index)).to_numpy())
        _add_rows(errors, str(od_path), bad_o, lambda i: f"unknown village '{od['origin_id'].iloc[i]}' (not in the villages layer)",
                  layer="distances", column="origin_id")
        _add_rows(errors, str(od_path), bad_d, lambda i: f"unknown school or site '{od['destination_id'].iloc[i]}' "
                  "(not in the schools or candidate_sites layer)", layer="distances", column="destination_id")


def _check_site_ids(schools: pd.DataFrame | None, sites: pd.DataFrame | None, file: str, errors: Collector) -> None:
    """A candidate site may not reuse an existing school's id."""
    if schools is None or sites is None:
        return
    taken = set(schools["site_id"])
    for i, v in enumerate(sites["site_id"]):
        if v and v in taken:
            errors.add(file, f"id '{v}' is already a school id (schools layer); ids must be unique across both layers",
                       layer="candidate_sites", row=i + 1, column="site_id", id=v)


def load_problem(scenario: Scenario | str | Path) -> Problem:
    """Read every layer of a scenario into a validated :class:`Problem`.

    Every mistake found is collected; one :class:`~planner.errors.InputError`
    lists them all (a layer that cannot be read at all hides only its own
    row-level mistakes)."""
    s = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    errors = Collector()
    raw: dict[str, gpd.GeoDataFrame | None] = {}
    paths: dict[str, Path | None] = {}
    for name, req in (("villages", True), ("schools", True), ("candidate_sites", False), ("boundary", False),
                      ("townships", False), ("roads", False)):
        raw[name], paths[name] = read_layer(s, name, errors, required=req)
    for name in ("villages", "schools", "candidate_sites"):
        g = raw[name]
        if g is not None and len(g) == 0 and name != "candidate_sites":
            errors.add(str(paths[name]), "layer is empty (expected one row per " + name[:-1] + ")", layer=name)
            raw[name] = None
        elif g is not None and len(g) and not _check_coordinates(g, str(paths[name]), name, errors):
            raw[name] = None
    first = next((raw[n] for n in ("villages", "schools", "candidate_sites") if raw[n] is not None and len(raw[n])), None)
    if first is None:
        errors.raise_if_any()
    crs = _metric_crs(s, first, errors)
    boundary = _boundary_shape(raw["boundary"], crs, paths["boundary"], errors)
    villages = schools = cands = None
    if raw["villages"] is not None:
        villages = _villages_frame(raw["villages"], crs, str(paths["villages"]), boundary, errors)
    if raw["schools"] is not None:
        schools = _schools_frame(raw["schools"], crs, str(paths["schools"]), boundary, errors)
    if raw["candidate_sites"] is not None and len(raw["candidate_sites"]):
        cands = _candidates_frame(raw["candidate_sites"], crs, str(paths["candidate_sites"]), boundary, errors)
        _check_site_ids(schools, cands, str(paths["candidate_sites"]), errors)
    od, od_path = _read_od(s, errors)
    frames = [f for f in (schools, cands) if f is not None]
    if frames and villages is not None:  # references are checked even when rows have mistakes
        known = pd.concat(frames, ignore_index=True).drop_duplicates("site_id").set_index("site_id")
        _check_references(known, villages.loc[~villages.index.duplicated()], od, od_path, s, errors)
    errors.raise_if_any()
    sites = pd.concat(frames, ignore_index=True).set_index("site_id")
    sites["allowed"] = _allowed_types(sites, s, str(paths["schools"]), errors)
    sites = sites.drop(columns="allowed_types_list")
    boundary_gdf = raw["boundary"].to_crs(crs) if boundary is not None else None
    townships = raw["townships"].to_crs(crs) if raw["townships"] is not None and raw["townships"].crs else None
    roads = raw["roads"].to_crs(crs) if raw["roads"] is not None and raw["roads"].crs else None
    files = sorted({*(str(p) for p in paths.values() if p), *s.source_files, *([str(od_path)] if od_path else [])})
    return Problem(
        scenario=s, villages=villages, sites=sites, crs=crs.to_string() if hasattr(crs, "to_string") else str(crs),
        roads=roads, od=od, boundary=boundary_gdf, townships=townships,
        inputs=tuple((f, sha256(Path(f))) for f in files),
    )
