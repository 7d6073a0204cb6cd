"""Reading the scenario's layers: files, CSV points, coordinates, the OD matrix.

Every mistake is recorded in a :class:`~planner.errors.Collector` with its
file, layer, row, column and id; nothing is raised here, so the loader can
report every mistake of every layer in one pass.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from planner.config.scenario import LayerRef, Scenario
from planner.config.sources import locate_key
from planner.data.coords import in_wgs84
from planner.data.text import read_csv_cells
from planner.errors import Collector


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
        errors.add(
            file,
            f"'{text}' is not a coordinate reference system (expected e.g. EPSG:4547)",
            key=f"data.{key}",
            line=line,
        )
        return None
    if key == "metric_crs" and not crs.is_projected:
        file, line = locate_key(s, "data", key)
        errors.add(
            file,
            f"'{text}' is not a projected (metric) CRS; distances need metres (e.g. EPSG:4547)",
            key=f"data.{key}",
            line=line,
        )
        return None
    return crs


def _read_csv_points(path: Path, s: Scenario, errors: Collector, layer: str) -> gpd.GeoDataFrame | None:
    """A CSV with lon/lat (EPSG:4326) or x/y plus the scenario's ``crs``."""
    df = read_csv_cells(path, layer, errors, "the file is empty (expected a header row and one row per point)")
    if df is None:
        return None
    crs: str | pyproj.CRS | None
    if {"lon", "lat"} <= set(df.columns):
        cols, crs = ("lon", "lat"), "EPSG:4326"
    elif {"x", "y"} <= set(df.columns):
        if not s.data.crs:
            file, line = locate_key(s, "data")
            errors.add(
                str(path),
                f"x/y columns need a CRS: add 'crs: EPSG:4547' (or the right code) under 'data:' in "
                f"{Path(file).name}, or give lon/lat columns in EPSG:4326",
                layer=layer,
                column="x",
            )
            return None
        crs = _crs_of(s, "crs", errors)
        if crs is None:
            return None
        cols = ("x", "y")
    else:
        errors.add(
            str(path),
            f"needs coordinate columns lon/lat (EPSG:4326) or x/y with data.crs; the columns are: "
            f"{', '.join(df.columns)}",
            layer=layer,
        )
        return None
    before = len(errors.issues)
    xy = {}
    for c in cols:
        v = pd.to_numeric(df[c].str.strip(), errors="coerce")
        v = v.where(np.isfinite(v.to_numpy(float)))
        for i in np.flatnonzero(v.isna().to_numpy()):
            got = df[c].iloc[i]
            errors.add(
                str(path),
                f"expected a coordinate (a number), got '{got}'" if got.strip() else "coordinate is missing",
                layer=layer,
                row=int(i) + 1,
                column=c,
                id=row_id(df, int(i), layer),
            )
        xy[c] = v
    if len(errors.issues) > before:
        return None
    geom = gpd.points_from_xy(xy[cols[0]], xy[cols[1]])
    return gpd.GeoDataFrame(df.drop(columns=list(cols)), geometry=geom, crs=crs)


ID_COLUMNS = {"villages": "village_id", "schools": "school_id", "candidate_sites": "site_id"}


def row_id(df: pd.DataFrame, i: int, layer: str) -> str | None:
    col = ID_COLUMNS.get(layer)
    if col is None or col not in df.columns:
        return None
    v = df[col].iloc[i]
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "" else str(v).strip()


def read_layer(
    s: Scenario, name: str, errors: Collector, *, required: bool = True
) -> tuple[gpd.GeoDataFrame | None, Path | None]:
    """Read one layer named by the scenario; ``None`` (with an issue) on failure."""
    ref = _layer_ref(s, name)
    named = getattr(s.data, name) is not None
    if ref is None:
        if required:
            file, line = locate_key(s, "data")
            errors.add(
                file, f"no source for layer '{name}': set data.gpkg or data.{name}.path", key=f"data.{name}", line=line
            )
        return None, None
    path = s.resolve(ref.path)
    if not path.is_file():
        if required or named:
            what = "is a folder, not a file" if path.is_dir() else "file not found"
            errors.add(str(path), what, layer=name)
        return None, None
    if path.suffix.lower() == ".csv":
        return in_wgs84(_read_csv_points(path, s, errors, name), s, path, name, errors), path
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
    return in_wgs84(gdf, s, path, name, errors), path


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    text = ", ".join(str(i + 1) for i in idx[:limit])
    return text + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def check_coordinates(gdf: gpd.GeoDataFrame, file: str, layer: str, errors: Collector) -> bool:
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
    if gdf.crs.is_geographic:
        return _degrees_ok(gdf, x, y, ok, file, layer, errors)
    if (
        gdf.crs.is_projected
        and ((np.abs(x[ok]) <= 180) & (np.abs(y[ok]) <= 90)).all()
        and np.ptp(x[ok]) < 5
        and np.ptp(y[ok]) < 5
    ):
        errors.add(
            file,
            f"coordinates look like degrees (first: {x[ok][0]:g}, {y[ok][0]:g}) but the CRS "
            f"{gdf.crs.to_string()} is projected (metres): label them EPSG:4326 (lon/lat) instead",
            layer=layer,
        )
        return False
    return True


def _degrees_ok(
    gdf: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, ok: np.ndarray, file: str, layer: str, errors: Collector
) -> bool:
    """Geographic coordinates: in range, not swapped, not projected numbers labelled as degrees."""
    bad = ok & ((np.abs(x) > 180) | (np.abs(y) > 90))
    swapped = bad & (np.abs(x) <= 90) & (np.abs(y) <= 180)
    first = lambda mask: int(np.flatnonzero(mask)[0])  # noqa: E731
    if swapped.any() and swapped.sum() * 2 >= bad.sum():
        i = first(swapped)
        errors.add(
            file,
            f"longitude and latitude look swapped: latitude beyond ±90° in row(s) {_rows(swapped)} "
            f"(first: lon {x[i]:g}, lat {y[i]:g}); put longitude (east) first",
            layer=layer,
            row=i + 1,
            id=row_id(gdf, i, layer),
        )
        return False
    if bad.any() and bad.sum() * 2 >= ok.sum():
        i = first(bad)
        errors.add(
            file,
            f"coordinates ({x[i]:.1f}, {y[i]:.1f}) are not degrees but the CRS is geographic "
            f"({gdf.crs.to_string()}): projected numbers labelled as degrees? Rows {_rows(bad)}; give the "
            "layer its projected CRS (e.g. x/y with data.crs: EPSG:4547)",
            layer=layer,
            row=i + 1,
            id=row_id(gdf, i, layer),
        )
        return False
    csv = file.lower().endswith((".csv", ".xlsx"))
    for i in map(int, np.flatnonzero(bad)):
        lat = abs(y[i]) > 90
        what = (
            f"latitude {y[i]:g} is out of range (-90 to 90)"
            if lat
            else f"longitude {x[i]:g} is out of range (-180 to 180)"
        )
        errors.add(
            file,
            what,
            layer=layer,
            row=i + 1,
            id=row_id(gdf, i, layer),
            column=("lat" if lat else "lon") if csv else None,
        )
    if bad.any():
        return False
    if (ok & (np.abs(y) > 70) & (np.abs(x) <= 70)).sum() == ok.sum():
        errors.add(
            file,
            f"every point lies beyond latitude ±70° (first: lon {x[ok][0]:g}, lat {y[ok][0]:g}): "
            "longitude and latitude look swapped",
            layer=layer,
        )
        return False
    return True


def metric_crs(s: Scenario, gdf: gpd.GeoDataFrame, errors: Collector):
    crs = _crs_of(s, "metric_crs", errors)
    if crs is not None:
        return crs
    if gdf.crs.is_projected:
        return gdf.crs
    return gdf.estimate_utm_crs()


def points_table(gdf: gpd.GeoDataFrame, crs, file: str, layer: str, id_col: str, errors: Collector) -> pd.DataFrame:
    """x/y in the metric CRS and lon/lat in WGS84 for every point."""
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    for i in np.flatnonzero(empty.to_numpy()):
        errors.add(
            file, "has no geometry (expected a point)", layer=layer, row=int(i) + 1, id=row_id(gdf, int(i), layer)
        )
    g = gdf.geometry.where(~empty)
    m = gpd.GeoSeries(g, crs=gdf.crs).to_crs(crs)
    ll = gpd.GeoSeries(g, crs=gdf.crs).to_crs("EPSG:4326")
    return pd.DataFrame(
        {"x": m.x.to_numpy(), "y": m.y.to_numpy(), "lon": ll.x.to_numpy(), "lat": ll.y.to_numpy()}, index=gdf.index
    )


def boundary_shape(boundary: gpd.GeoDataFrame | None, crs, file: str | None, errors: Collector):
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


def outside_boundary(xy: pd.DataFrame, ids: pd.Series, shape, file: str, layer: str, errors: Collector) -> None:
    if shape is None or xy.empty:
        return
    inside = shapely.contains(shape.buffer(1000.0), gpd.points_from_xy(xy["x"], xy["y"]))
    for i in np.flatnonzero(~inside & xy["x"].notna().to_numpy()):
        km = shapely.distance(shape, shapely.Point(xy["x"].iloc[i], xy["y"].iloc[i])) / 1000.0
        errors.add(
            file,
            f"point ({xy['lon'].iloc[i]:.5f}, {xy['lat'].iloc[i]:.5f}) lies {km:.1f} km outside the county "
            "boundary (more than 1 km is treated as a mistake)",
            layer=layer,
            row=int(i) + 1,
            id=str(ids.iloc[i]),
        )


MAX_ROW_ISSUES = 20
"""Rows reported per (column, mistake) in an OD matrix, which may have millions."""


def add_rows(errors: Collector, file: str, rows: np.ndarray, message, **where) -> None:
    """One issue per row (up to :data:`MAX_ROW_ISSUES`), then one summing up the rest."""
    for i in rows[:MAX_ROW_ISSUES]:
        errors.add(file, message(int(i)), row=int(i) + 1, **where)
    if len(rows) > MAX_ROW_ISSUES:
        errors.add(file, f"... and {len(rows) - MAX_ROW_ISSUES} more rows with the same mistake", **where)


def read_od(s: Scenario, errors: Collector) -> tuple[pd.DataFrame | None, Path | None]:
    """The OD matrix (``origin_id``, ``destination_id``, ``distance_km``), if named."""
    if not s.data.distances:
        return None, None
    path = s.resolve(s.data.distances)
    if not path.is_file():
        errors.add(str(path), "file not found", layer="distances")
        return None, None
    df = read_csv_cells(
        path, "distances", errors, "the file is empty (expected origin_id, destination_id, distance_km)"
    )
    if df is None:
        return None, path
    missing = [c for c in ("origin_id", "destination_id", "distance_km") if c not in df.columns]
    for c in missing:
        errors.add(
            str(path), f"missing column '{c}' (the columns are: {', '.join(df.columns)})", layer="distances", column=c
        )
    if missing:
        return None, path
    if df.empty:
        errors.add(str(path), "layer is empty (no origin-destination rows)", layer="distances")
        return None, path
    df = df.assign(origin_id=df["origin_id"].str.strip(), destination_id=df["destination_id"].str.strip())
    d = pd.to_numeric(df["distance_km"].str.strip(), errors="coerce").astype(float)
    bad = np.flatnonzero((d.isna() | (d < 0) | ~np.isfinite(d)).to_numpy())
    add_rows(
        errors,
        str(path),
        bad,
        lambda i: f"expected a distance in km >= 0, got '{df['distance_km'].iloc[i]}'",
        layer="distances",
        column="distance_km",
    )
    return df.assign(distance_km=d), path
