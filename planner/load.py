"""Load: read the scenario's files, validate every row, project, build a Problem.

This is the only stage that reads input files. It collects every mistake it
finds (file, layer, row, column, id) and raises them together as one
:class:`~planner.errors.InputError`, so nothing downstream needs to check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from planner import BANDS, TYPES
from planner.errors import Collector
from planner.problem import Problem
from planner.scenario import LayerRef, Scenario, load_scenario


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


def _read_csv_points(path: Path, s: Scenario, errors: Collector, layer: str) -> gpd.GeoDataFrame | None:
    """A CSV with lon/lat (EPSG:4326) or x/y plus the scenario's ``crs``."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        errors.add(str(path), f"cannot read as CSV: {e}", layer=layer)
        return None
    if {"lon", "lat"} <= set(df.columns):
        cols, crs = ("lon", "lat"), "EPSG:4326"
    elif {"x", "y"} <= set(df.columns):
        if not s.data.crs:
            errors.add(str(path), "x/y columns need a 'data.crs' in the scenario (e.g. EPSG:4547)", layer=layer, column="x")
            return None
        cols, crs = ("x", "y"), s.data.crs
    else:
        errors.add(str(path), "needs coordinate columns lon/lat (EPSG:4326) or x/y with data.crs", layer=layer)
        return None
    xy = {}
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        for i in np.flatnonzero(v.isna().to_numpy()):
            errors.add(str(path), f"'{df[c].iloc[i]}' is not a number", layer=layer, row=int(i) + 1, column=c)
        xy[c] = v
    if errors.issues:
        return None
    geom = gpd.points_from_xy(xy[cols[0]], xy[cols[1]])
    return gpd.GeoDataFrame(df.drop(columns=list(cols)), geometry=geom, crs=crs)


def read_layer(s: Scenario, name: str, errors: Collector, *, required: bool = True) -> tuple[gpd.GeoDataFrame | None, Path | None]:
    """Read one layer named by the scenario; ``None`` (with an issue) on failure."""
    ref = _layer_ref(s, name)
    if ref is None:
        if required:
            errors.add(s.source_files[-1] if s.source_files else "scenario", f"no source for layer '{name}'", column=f"data.{name}")
        return None, None
    path = s.resolve(ref.path)
    if not path.exists():
        if required or getattr(s.data, name) is not None:
            errors.add(str(path), "file not found", layer=name)
        return None, None
    if path.suffix.lower() == ".csv":
        return _read_csv_points(path, s, errors, name), path
    layer = ref.layer if ref.layer is not None else (name if path.suffix.lower() == ".gpkg" else None)
    if layer is not None and path.suffix.lower() == ".gpkg":
        names = [n for n, _ in pyogrio.list_layers(path)]
        if layer not in names:
            if required or getattr(s.data, name) is not None:
                errors.add(str(path), f"layer not found (the file has: {', '.join(names)})", layer=layer)
            return None, None
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as e:  # pyogrio raises several driver-specific types
        errors.add(str(path), f"cannot read: {e}", layer=name)
        return None, None
    return gdf, path


def _check_coordinates(gdf: gpd.GeoDataFrame, file: str, layer: str, errors: Collector) -> bool:
    """Catch missing CRS, swapped lon/lat and projected numbers labelled as degrees."""
    if gdf.crs is None:
        errors.add(file, "has no CRS; set one (e.g. EPSG:4547 or EPSG:4326)", layer=layer)
        return False
    if gdf.crs.is_geographic and len(gdf):
        x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
        bad = (np.abs(x) > 180) | (np.abs(y) > 90)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            errors.add(file, f"coordinates ({x[i]:.1f}, {y[i]:.1f}) are not degrees but the CRS is geographic "
                       f"({gdf.crs.to_string()}): projected numbers labelled as degrees?", layer=layer, row=i + 1)
            return False
        if (np.abs(y) > np.abs(x)).mean() > 0.5 and np.nanmedian(np.abs(x)) < 60:
            errors.add(file, "longitude and latitude look swapped (most |lat| > |lon|)", layer=layer)
            return False
    return True


def _typed_columns(df: pd.DataFrame, spec: tuple[Column, ...], file: str, layer: str, id_col: str,
                   errors: Collector) -> pd.DataFrame:
    """Coerce each column to its kind, recording every bad cell."""
    out = pd.DataFrame(index=df.index)
    ids = df[id_col].astype(str).to_numpy() if id_col in df.columns else [None] * len(df)
    for col in spec:
        if col.name not in df.columns:
            if col.required:
                errors.add(file, f"missing column '{col.name}'", layer=layer, column=col.name)
            out[col.name] = col.default
            continue
        raw = df[col.name]
        if col.kind == "str":
            blank = raw.isna() | (raw.astype(str).str.strip() == "")
            if col.required:
                for i in np.flatnonzero(blank.to_numpy()):
                    errors.add(file, "is empty", layer=layer, row=int(i) + 1, column=col.name, id=ids[i])
            out[col.name] = raw.where(~blank, col.default).astype(str).str.strip()
            continue
        num = pd.to_numeric(raw, errors="coerce")
        missing = num.isna().to_numpy()
        blank = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
        for i in np.flatnonzero(missing):
            if blank[i] and not col.required:
                continue
            what = "is missing" if blank[i] else f"'{raw.iloc[i]}' is not a number"
            errors.add(file, what, layer=layer, row=int(i) + 1, column=col.name, id=ids[i])
        for i in np.flatnonzero((num < 0).to_numpy()):
            errors.add(file, f"{num.iloc[i]} is negative", layer=layer, row=int(i) + 1, column=col.name, id=ids[i])
        if col.kind == "int":
            frac = (~missing) & (np.abs(num.to_numpy() - np.round(num.to_numpy())) > 1e-9)
            for i in np.flatnonzero(frac):
                errors.add(file, f"{num.iloc[i]} is not a whole number", layer=layer, row=int(i) + 1, column=col.name, id=ids[i])
        out[col.name] = num.fillna(col.default if not col.required else 0)
    return out


def _check_ids(ids: pd.Series, file: str, layer: str, column: str, errors: Collector) -> None:
    dup = ids.duplicated(keep="first").to_numpy()
    for i in np.flatnonzero(dup):
        errors.add(file, f"duplicate id '{ids.iloc[i]}'", layer=layer, row=int(i) + 1, column=column, id=str(ids.iloc[i]))


def _metric_crs(s: Scenario, gdf: gpd.GeoDataFrame):
    if s.data.metric_crs:
        return s.data.metric_crs
    if gdf.crs.is_projected:
        return gdf.crs
    return gdf.estimate_utm_crs()


def _points_table(gdf: gpd.GeoDataFrame, crs, file: str, layer: str, id_col: str, errors: Collector) -> pd.DataFrame:
    """x/y in the metric CRS and lon/lat in WGS84 for every point."""
    geom_types = set(gdf.geometry.geom_type.dropna())
    if geom_types - {"Point"}:
        errors.add(file, f"geometry must be points, found {sorted(geom_types)}", layer=layer)
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    for i in np.flatnonzero(empty.to_numpy()):
        errors.add(file, "has no geometry", layer=layer, row=int(i) + 1, id=str(gdf[id_col].iloc[i]) if id_col in gdf else None)
    g = gdf.geometry.where(~empty)
    m = gpd.GeoSeries(g, crs=gdf.crs).to_crs(crs)
    ll = gpd.GeoSeries(g, crs=gdf.crs).to_crs("EPSG:4326")
    return pd.DataFrame({"x": m.x.to_numpy(), "y": m.y.to_numpy(), "lon": ll.x.to_numpy(), "lat": ll.y.to_numpy()}, index=gdf.index)


def _outside_boundary(xy: pd.DataFrame, ids: pd.Series, boundary: gpd.GeoDataFrame | None, file: str, layer: str,
                      errors: Collector) -> None:
    if boundary is None or xy.empty:
        return
    shape = boundary.geometry.union_all().buffer(1000.0)
    inside = shapely.contains(shape, gpd.points_from_xy(xy["x"], xy["y"]))
    for i in np.flatnonzero(~inside & xy["x"].notna().to_numpy()):
        errors.add(file, "point lies outside the county boundary (by more than 1 km)", layer=layer, row=int(i) + 1,
                   id=str(ids.iloc[i]))


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
    for i in np.flatnonzero(~t["type"].isin(TYPES).to_numpy()):
        errors.add(file, f"unknown school type '{t['type'].iloc[i]}' (expected one of {', '.join(TYPES)})",
                   layer="schools", row=int(i) + 1, column="type", id=t["school_id"].iloc[i])
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
        if bad or not types:
            errors.add(file, f"allowed_types '{v}' must list types from {', '.join(TYPES)}", layer="candidate_sites",
                       row=i + 1, column="allowed_types", id=t["site_id"].iloc[i])
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


def _read_od(s: Scenario, errors: Collector) -> tuple[pd.DataFrame | None, Path | None]:
    if not s.data.distances:
        return None, None
    path = s.resolve(s.data.distances)
    if not path.exists():
        errors.add(str(path), "file not found", layer="distances")
        return None, None
    df = pd.read_csv(path, dtype={"origin_id": str, "destination_id": str})
    for c in ("origin_id", "destination_id", "distance_km"):
        if c not in df.columns:
            errors.add(str(path), f"missing column '{c}'", layer="distances", column=c)
    if errors.issues:
        return None, path
    d = pd.to_numeric(df["distance_km"], errors="coerce")
    for i in np.flatnonzero((d.isna() | (d < 0)).to_numpy()):
        errors.add(str(path), f"'{df['distance_km'].iloc[i]}' is not a distance >= 0", layer="distances", row=int(i) + 1,
                   column="distance_km")
    return df.assign(distance_km=d), path


def _check_references(p_sites: pd.DataFrame, villages: pd.DataFrame, od: pd.DataFrame | None, od_path: Path | None,
                      s: Scenario, errors: Collector) -> None:
    """Fixed decisions and OD rows must name known ids."""
    for sid, t in s.fixed.items():
        if sid not in p_sites.index:
            errors.add(s.source_files[-1], f"fixed decision names unknown school or site '{sid}'", column=f"fixed.{sid}")
        elif t != "closed" and t not in p_sites.loc[sid, "allowed_types_list"] and p_sites.loc[sid, "kind"] == "candidate":
            errors.add(s.source_files[-1], f"site '{sid}' may not be {t} (allowed_types of the site)", column=f"fixed.{sid}")
    if od is not None and od_path is not None:
        bad_o = ~od["origin_id"].isin(villages.index)
        bad_d = ~od["destination_id"].isin(p_sites.index)
        for i in np.flatnonzero(bad_o.to_numpy())[:20]:
            errors.add(str(od_path), f"unknown village '{od['origin_id'].iloc[i]}'", layer="distances", row=int(i) + 1, column="origin_id")
        for i in np.flatnonzero(bad_d.to_numpy())[:20]:
            errors.add(str(od_path), f"unknown school or site '{od['destination_id'].iloc[i]}'", layer="distances", row=int(i) + 1,
                       column="destination_id")


def load_problem(scenario: Scenario | str | Path) -> Problem:
    """Read every layer of a scenario into a validated :class:`Problem`."""
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
            errors.add(str(paths[name]), "layer is empty", layer=name)
            raw[name] = None
        elif g is not None and not _check_coordinates(g, str(paths[name]), name, errors):
            raw[name] = None
    if raw["villages"] is None:
        errors.raise_if_any()
    crs = _metric_crs(s, raw["villages"])
    boundary = raw["boundary"].to_crs(crs) if raw["boundary"] is not None and raw["boundary"].crs else None
    villages = _villages_frame(raw["villages"], crs, str(paths["villages"]), boundary, errors)
    frames = []
    if raw["schools"] is not None:
        frames.append(_schools_frame(raw["schools"], crs, str(paths["schools"]), boundary, errors))
    if raw["candidate_sites"] is not None and len(raw["candidate_sites"]):
        if _check_coordinates(raw["candidate_sites"], str(paths["candidate_sites"]), "candidate_sites", errors):
            frames.append(_candidates_frame(raw["candidate_sites"], crs, str(paths["candidate_sites"]), boundary, errors))
    errors.raise_if_any()
    sites = pd.concat(frames, ignore_index=True)
    _check_ids(sites["site_id"], "schools + candidate_sites", "both", "site_id", errors)
    sites = sites.set_index("site_id")
    od, od_path = _read_od(s, errors)
    _check_references(sites, villages, od, od_path, s, errors)
    errors.raise_if_any()
    sites["allowed"] = _allowed_types(sites, s, str(paths["schools"]), errors)
    sites = sites.drop(columns="allowed_types_list")
    townships = raw["townships"].to_crs(crs) if raw["townships"] is not None and raw["townships"].crs else None
    roads = raw["roads"].to_crs(crs) if raw["roads"] is not None and raw["roads"].crs else None
    files = sorted({*(str(p) for p in paths.values() if p), *s.source_files, *([str(od_path)] if od_path else [])})
    return Problem(
        scenario=s, villages=villages, sites=sites, crs=crs.to_string() if hasattr(crs, "to_string") else str(crs),
        roads=roads, od=od, boundary=boundary, townships=townships,
        inputs=tuple((f, sha256(Path(f))) for f in files),
    )
