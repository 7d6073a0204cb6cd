"""plan.gpkg: the plan as GIS layers (schools, assignments, catchments).

Layers, all in the run's metric CRS (``problem.crs``):

- ``schools``: one point per row of schools.csv, with Chinese labels of type and action;
- ``assignments``: one line per village, band and school, from the village to the school;
- ``catchments``: per band, the area each open school serves: the Voronoi cells
  of the villages it takes, dissolved by school and clipped to the county
  boundary (or, without one, to the villages' and schools' convex hull buffered).

A village whose band is split between schools (continuous assignment) is drawn
in the catchment of the school taking most of its pupils (ties: smallest id).
The catchment geometry is shared with the maps (:mod:`planner.maps`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from planner.assess.decode import Plan
from planner.data.problem import Problem
from planner.domain import BANDS
from planner.outputs.cartography import PALETTE
from planner.outputs.labels import action_label, joined_school, type_label
from planner.outputs.styles import styles_table

GPKG_NAME = "plan.gpkg"
LAYERS = ("schools", "assignments", "catchments")
CATCHMENT_COLUMNS = ("band", "school_id", "name", "type_after", "villages", "pupils", "colour")
GPKG_VERSION = "1.2"
"""The GeoPackage version written: the one GDAL, and so QGIS, has read the longest."""
STYLES_TABLE = "layer_styles"
"""QGIS reads a layer's default style from this table of the GeoPackage."""


def study_area(problem: Problem, plan: Plan | None = None) -> shapely.Geometry:
    """The county boundary, or the buffered convex hull of villages and schools."""
    if problem.boundary is not None and len(problem.boundary):
        return shapely.make_valid(problem.boundary.geometry.union_all())
    xy = [problem.villages[["x", "y"]].to_numpy()]
    if plan is not None and len(plan.schools):
        xy.append(plan.schools[["x", "y"]].to_numpy(dtype=float))
    pts = np.vstack(xy)
    span = float(np.hypot(*(pts.max(axis=0) - pts.min(axis=0)))) if len(pts) > 1 else 0.0
    return shapely.convex_hull(shapely.multipoints(pts)).buffer(max(1000.0, 0.05 * span))


def main_school(assign: pd.DataFrame) -> pd.DataFrame:
    """Per village and band, the school taking most of its pupils (ties: smallest id)."""
    a = assign[assign["pupils"] > 1e-9].sort_values(
        ["village_id", "band", "pupils", "school_id"], ascending=[True, True, False, True], kind="stable"
    )
    return a.drop_duplicates(["village_id", "band"])[["village_id", "band", "school_id", "pupils"]]


def _cells(xy: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    """Voronoi cells of distinct points ``xy`` (in order), clipped to ``area``."""
    if len(xy) == 1:
        return np.array([area], dtype=object)
    env = shapely.envelope(shapely.union_all([area, shapely.multipoints(xy)])).buffer(1000.0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=env, ordered=True))
    if len(cells) != len(xy):  # ordered=True gives one cell per distinct point
        raise ValueError(f"Voronoi gave {len(cells)} cells for {len(xy)} points")
    return shapely.intersection(cells, area)


def catchments(problem: Problem, plan: Plan, area: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """Catchment polygons per band and school (columns :data:`CATCHMENT_COLUMNS`)."""
    area = study_area(problem, plan) if area is None else area
    main = main_school(plan.assignments)
    tot = plan.assignments.groupby(["band", "school_id"])["pupils"].sum()
    info = plan.schools.set_index("school_id")
    rows, geoms = [], []
    for band in BANDS:
        m = main[main["band"] == band]
        if m.empty:
            continue
        v = problem.villages.loc[m["village_id"], ["x", "y"]].to_numpy(dtype=float)
        # villages at one spot share a cell: the first (by village id) names its school
        key = pd.DataFrame(
            {"x": np.round(v[:, 0], 2), "y": np.round(v[:, 1], 2), "school_id": m["school_id"].to_numpy()}
        )
        uniq = key.drop_duplicates(["x", "y"])
        cells = _cells(uniq[["x", "y"]].to_numpy(), area)
        by_school: dict[str, list] = {}
        for sid, cell in zip(uniq["school_id"], cells):
            by_school.setdefault(sid, []).append(cell)
        nvil = m.groupby("school_id").size()
        for sid in sorted(by_school):
            geom = shapely.make_valid(shapely.union_all(by_school[sid]))
            if geom.is_empty:
                continue
            rows.append(
                {
                    "band": band,
                    "school_id": sid,
                    "name": info.at[sid, "name"] if sid in info.index else sid,
                    "type_after": info.at[sid, "type_after"] if sid in info.index else "",
                    "villages": int(nvil.get(sid, 0)),
                    "pupils": round(float(tot.get((band, sid), 0.0)), 3),
                }
            )
            geoms.append(_polygonal(geom))
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(CATCHMENT_COLUMNS)), geometry=geoms, crs=problem.crs)
    out["colour"] = ""
    for band in BANDS:
        rows_of = np.flatnonzero((out["band"] == band).to_numpy())
        out.loc[out.index[rows_of], "colour"] = touching_colours(list(out.geometry.iloc[rows_of]))
    return out


def touching_colours(geoms: list) -> list[str]:
    """Greedy colouring so that touching catchments differ."""
    if not geoms:
        return []
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    nb: dict[int, set[int]] = {}
    for i, j in zip(a, b):
        if i != j:
            nb.setdefault(int(i), set()).add(int(j))
    out: list[int] = []
    for i in range(len(geoms)):
        used = {out[j] for j in nb.get(i, ()) if j < i}
        out.append(next(c for c in range(len(PALETTE) + len(geoms)) if c not in used))
    return [PALETTE[c % len(PALETTE)] for c in out]


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """Only the polygon parts of a geometry, as one MultiPolygon (a stable layer type)."""
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polys)


def schools_layer(problem: Problem, plan: Plan) -> gpd.GeoDataFrame:
    """schools.csv as points, with Chinese labels for type and action."""
    s = plan.schools.copy()
    s["type_before_zh"] = s["type_before"].map(type_label)
    s["type_after_zh"] = s["type_after"].map(type_label)
    s["action_zh"] = [action_label(a, t) for a, t in zip(s["action"], s["type_after"])]
    names = s.set_index("school_id")["name"]
    s["merged_into_name"] = joined_school(s).map(lambda i: names.get(i, "") if i else "")
    geom = shapely.points(s[["x", "y"]].to_numpy(dtype=float))
    return gpd.GeoDataFrame(s, geometry=geom, crs=problem.crs)


def assignments_layer(problem: Problem, plan: Plan) -> gpd.GeoDataFrame:
    """One line per assignment row, village to school."""
    a = plan.assignments.copy()
    v = problem.villages.loc[a["village_id"]]
    sites = problem.sites.loc[a["school_id"]]
    a.insert(1, "village_name", v["name"].to_numpy())
    a.insert(4, "school_name", sites["name"].to_numpy())
    coords = np.stack([v[["x", "y"]].to_numpy(dtype=float), sites[["x", "y"]].to_numpy(dtype=float)], axis=1)
    geom = shapely.linestrings(coords) if len(a) else []
    return gpd.GeoDataFrame(a, geometry=geom, crs=problem.crs)


def write_gpkg(problem: Problem, plan: Plan, summary: dict, folder: Path) -> None:
    """Write plan.gpkg (layers :data:`LAYERS`) into the run folder."""
    path = Path(folder) / GPKG_NAME
    path.unlink(missing_ok=True)
    layers = {
        "schools": schools_layer(problem, plan),
        "assignments": assignments_layer(problem, plan),
        "catchments": catchments(problem, plan),
    }
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2030-01-01T00:00:00.000Z"})  # same plan, same file
    try:
        for name in LAYERS:
            gdf = layers[name]
            kind = {"schools": "Point", "assignments": "LineString", "catchments": "MultiPolygon"}[name]
            pyogrio.write_dataframe(
                gdf, path, layer=name, driver="GPKG", geometry_type=kind, dataset_options={"VERSION": GPKG_VERSION}
            )
        pyogrio.write_dataframe(styles_table("geom"), path, layer=STYLES_TABLE, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
