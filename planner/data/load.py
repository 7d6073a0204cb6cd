"""Load: read the scenario's files, validate every row, project, build a Problem.

This is the only stage that reads input files (through :mod:`planner.data.layers`).
It collects every mistake it finds (file, layer, row, column, id) and raises
them together as one :class:`~planner.errors.InputError`, so nothing
downstream needs to check.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.config.scenario import Scenario
from planner.config.sources import load_scenario, locate_key
from planner.data import excel
from planner.data.cohorts import read_cohorts, village_kinds
from planner.data.columns import Column, check_ids, typed_columns
from planner.data.coords import shift_warning
from planner.data.excel import InputWorkbook
from planner.data.layers import (
    add_rows,
    boundary_shape,
    check_coordinates,
    metric_crs,
    outside_boundary,
    points_table,
    read_layer,
    read_od,
    sha256,
)
from planner.data.problem import Problem
from planner.domain import BANDS, TYPES
from planner.errors import Collector

VILLAGE_SPEC = (
    Column("village_id", "str"),
    Column("name", "str"),
    Column("township", "str", False, ""),
    *(Column(f"pupils_{b}", "int") for b in BANDS),
)
SCHOOL_SPEC = (
    Column("school_id", "str"),
    Column("name", "str"),
    Column("township", "str", False, ""),
    Column("type", "str"),
    Column("classes_primary", "int"),
    Column("classes_junior", "int"),
    *(Column(f"pupils_{b}", "int") for b in BANDS),
    Column("teaching_area_m2"),
    Column("living_area_m2"),
    Column("sports_area_m2"),
    Column("site_area_m2"),
    Column("boarding_beds", "int"),
    Column("max_classes", "int"),
    *(
        Column(c, "num", False, np.nan)
        for c in (
            "teachers",
            "teachers_qualified",
            "teachers_backbone",
            "teachers_pe_art",
            "equipment_value_yuan",
            "multimedia_rooms",
            "music_rooms",
            "art_rooms",
        )
    ),
)
SITE_SPEC = (
    Column("site_id", "str"),
    Column("name", "str"),
    Column("township", "str", False, ""),
    Column("allowed_types", "str"),
    Column("max_classes", "int"),
    Column("site_area_m2"),
    Column("land_cost_10k_yuan"),
)


def _allowed_types(sites: pd.DataFrame, s: Scenario) -> list[tuple[str, ...]]:
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
    t = typed_columns(pd.DataFrame(gdf.drop(columns="geometry")), SCHOOL_SPEC, file, "schools", "school_id", errors)
    unknown = ~t["type"].isin(TYPES).to_numpy() & (t["type"] != "").to_numpy()
    for i in np.flatnonzero(unknown):
        got = t["type"].iloc[i]
        near = difflib.get_close_matches(got, TYPES, n=1, cutoff=0.6)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        errors.add(
            file,
            f"unknown school type '{got}'{hint}; expected one of {', '.join(TYPES)}",
            layer="schools",
            row=int(i) + 1,
            column="type",
            id=t["school_id"].iloc[i] or None,
        )
    check_ids(t["school_id"], file, "schools", "school_id", errors)
    xy = points_table(gdf, crs, file, "schools", "school_id", errors)
    outside_boundary(xy, t["school_id"], boundary, file, "schools", errors)
    t = pd.concat([t, xy], axis=1).rename(columns={"school_id": "site_id", "type": "type_before"})
    t["kind"], t["land_cost_10k_yuan"], t["allowed_types_list"] = "school", 0.0, [()] * len(t)
    return t


def _candidates_frame(gdf, crs, file, boundary, errors) -> pd.DataFrame:
    t = typed_columns(pd.DataFrame(gdf.drop(columns="geometry")), SITE_SPEC, file, "candidate_sites", "site_id", errors)
    lists = []
    for i, v in enumerate(t["allowed_types"]):
        types = tuple(x.strip() for x in str(v).replace(";", ",").split(",") if x.strip())
        bad = [x for x in types if x not in TYPES]
        if (bad or not types) and str(v).strip():
            errors.add(
                file,
                f"allowed_types '{v}' must list types from {', '.join(TYPES)} (comma separated)",
                layer="candidate_sites",
                row=i + 1,
                column="allowed_types",
                id=t["site_id"].iloc[i] or None,
            )
        lists.append(tuple(x for x in types if x in TYPES))
    check_ids(t["site_id"], file, "candidate_sites", "site_id", errors)
    xy = points_table(gdf, crs, file, "candidate_sites", "site_id", errors)
    outside_boundary(xy, t["site_id"], boundary, file, "candidate_sites", errors)
    t = pd.concat([t, xy], axis=1)
    t["kind"], t["type_before"], t["allowed_types_list"] = "candidate", "none", lists
    for c in (
        "classes_primary",
        "classes_junior",
        "teaching_area_m2",
        "living_area_m2",
        "sports_area_m2",
        "boarding_beds",
        *(f"pupils_{b}" for b in BANDS),
    ):
        t[c] = 0
    return t.drop(columns="allowed_types")


def _villages_frame(gdf, crs, file, boundary, errors, *, projected: bool = False) -> pd.DataFrame:
    """Villages; a projected scenario takes their pupils from the projection, so
    the band columns (base-year pupils, when no grade columns) may be absent."""
    spec = tuple(replace(c, required=False) if projected and c.name.startswith("pupils_") else c for c in VILLAGE_SPEC)
    t = typed_columns(pd.DataFrame(gdf.drop(columns="geometry")), spec, file, "villages", "village_id", errors)
    check_ids(t["village_id"], file, "villages", "village_id", errors)
    xy = points_table(gdf, crs, file, "villages", "village_id", errors)
    outside_boundary(xy, t["village_id"], boundary, file, "villages", errors)
    return pd.concat([t, xy], axis=1).set_index("village_id")


def _check_references(
    p_sites: pd.DataFrame,
    villages: pd.DataFrame,
    od: pd.DataFrame | None,
    od_path: Path | None,
    s: Scenario,
    errors: Collector,
) -> None:
    """Fixed decisions and OD rows must name known ids."""
    for sid, t in s.fixed.items():
        file, line = locate_key(s, "fixed", sid)
        if sid not in p_sites.index:
            near = difflib.get_close_matches(sid, list(p_sites.index.astype(str)), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            errors.add(
                file, f"fixed decision names unknown school or site '{sid}'{hint}", key=f"fixed.{sid}", line=line
            )
        elif (
            t != "closed"
            and p_sites.loc[sid, "kind"] == "candidate"
            and t not in p_sites.loc[sid, "allowed_types_list"]
        ):
            errors.add(
                file,
                f"site '{sid}' may not be {t}: its allowed_types are "
                f"{', '.join(p_sites.loc[sid, 'allowed_types_list'])}",
                key=f"fixed.{sid}",
                line=line,
            )
    if od is not None and od_path is not None:
        bad_o = np.flatnonzero((~od["origin_id"].isin(villages.index)).to_numpy())
        bad_d = np.flatnonzero((~od["destination_id"].isin(p_sites.index)).to_numpy())
        add_rows(
            errors,
            str(od_path),
            bad_o,
            lambda i: f"unknown village '{od['origin_id'].iloc[i]}' (not in the villages layer)",
            layer="distances",
            column="origin_id",
        )
        add_rows(
            errors,
            str(od_path),
            bad_d,
            lambda i: (
                f"unknown school or site '{od['destination_id'].iloc[i]}' (not in the schools or candidate_sites layer)"
            ),
            layer="distances",
            column="destination_id",
        )


def _check_site_ids(schools: pd.DataFrame | None, sites: pd.DataFrame | None, file: str, errors: Collector) -> None:
    """A candidate site may not reuse an existing school's id."""
    if schools is None or sites is None:
        return
    taken = set(schools["site_id"])
    for i, v in enumerate(sites["site_id"]):
        if v and v in taken:
            errors.add(
                file,
                f"id '{v}' is already a school id (schools layer); ids must be unique across both layers",
                layer="candidate_sites",
                row=i + 1,
                column="site_id",
                id=v,
            )


LAYERS = (
    ("villages", True),
    ("schools", True),
    ("candidate_sites", False),
    ("boundary", False),
    ("townships", False),
    ("roads", False),
)
"""Every layer a scenario may name, and whether it is required."""


def _book_crs(book: InputWorkbook, s: Scenario, errors: Collector) -> tuple[str, str | None]:
    """The workbook's lon/lat system and x/y CRS: its 说明 sheet's, else the scenario's."""
    if book.coords is None:
        return s.data.coords, s.data.crs
    system, epsg = book.coords
    if system == "projected":
        return s.data.coords, epsg
    if "coords" in s.data.model_fields_set and s.data.coords != system:
        file, line = locate_key(s, "data", "coords")
        errors.add(
            file,
            f"data.coords is {s.data.coords} but the workbook {book.path.name} says {system} (说明 sheet, 坐标系): "
            "keep one",
            key="data.coords",
            line=line,
        )
    return system, s.data.crs


def _from_book(book: InputWorkbook, s: Scenario, name: str, errors: Collector) -> gpd.GeoDataFrame | None:
    """A layer from the input workbook (``None`` with an issue if its points cannot be read)."""
    system, crs = _book_crs(book, s, errors)
    return excel.points(book.tables[name], name, system, crs, str(book.path), errors)


def read_layers(
    s: Scenario, book: InputWorkbook | None, errors: Collector
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Path]]:
    """The layers that could be read (points checked), and their files."""
    raw: dict[str, gpd.GeoDataFrame] = {}
    paths: dict[str, Path] = {}
    for name, required in LAYERS:
        path: Path | None
        if book is not None and name in book.tables and getattr(s.data, name) is None:
            g, path = _from_book(book, s, name, errors), book.path
        else:
            g, path = read_layer(s, name, errors, required=required)
        if path is not None:
            paths[name] = path
        if g is None:
            continue
        if name in ("villages", "schools", "candidate_sites") and len(g):
            if not check_coordinates(g, str(path), name, errors):
                continue
        elif name in ("villages", "schools"):
            errors.add(str(path), f"layer is empty (expected one row per {name[:-1]})", layer=name)
            continue
        raw[name] = g
    return raw, paths


def _in_crs(g: gpd.GeoDataFrame | None, crs) -> gpd.GeoDataFrame | None:
    """A layer in the metric CRS (None when missing or without a CRS of its own)."""
    return g.to_crs(crs) if g is not None and g.crs else None


def load_problem(scenario: Scenario | str | Path) -> Problem:
    """Read every layer of a scenario into a validated :class:`Problem`.

    Every mistake found is collected; one :class:`~planner.errors.InputError`
    lists them all (a layer that cannot be read at all hides only its own
    row-level mistakes)."""
    s = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    errors = Collector()
    book = excel.read_workbook(s.resolve(s.data.xlsx), errors) if s.data.xlsx else None
    raw, paths = read_layers(s, book, errors)
    points = [raw[n] for n in ("villages", "schools", "candidate_sites") if n in raw and len(raw[n])]
    if not points:  # the villages layer is required: its absence is an issue already recorded
        errors.raise_if_any()
    crs = metric_crs(s, points[0], errors)
    file = {name: str(p) for name, p in paths.items()}
    boundary = boundary_shape(raw.get("boundary"), crs, file.get("boundary"), errors)
    projected = s.projection is not None
    villages = None
    if "villages" in raw:
        villages = _villages_frame(raw["villages"], crs, file["villages"], boundary, errors, projected=projected)
        if s.policy.nearest_zone is not None or _groups_need_kinds(s):
            villages = villages.assign(kind=village_kinds(raw["villages"], file["villages"], s, errors).to_numpy())
    schools = _schools_frame(raw["schools"], crs, file["schools"], boundary, errors) if "schools" in raw else None
    cands = None
    if "candidate_sites" in raw and len(raw["candidate_sites"]):
        cands = _candidates_frame(raw["candidate_sites"], crs, file["candidate_sites"], boundary, errors)
        _check_site_ids(schools, cands, file["candidate_sites"], errors)
    od, od_path = read_od(s, errors)
    frames = [f for f in (schools, cands) if f is not None]
    if frames and villages is not None:  # references are checked even when rows have mistakes
        known = pd.concat(frames, ignore_index=True).drop_duplicates("site_id").set_index("site_id")
        _check_references(known, villages.loc[~villages.index.duplicated()], od, od_path, s, errors)
    births = None
    if book is not None and s.data.births is None and len(book.tables.get("births", ())):
        births = (book.tables["births"], str(book.path))
    cohorts = read_cohorts(s, raw, file, villages, errors, births) if villages is not None else None
    errors.raise_if_any()
    if villages is None:  # unreachable: a required layer not read is an issue already raised
        raise AssertionError("villages missing without an issue")
    sites = pd.concat(frames, ignore_index=True).set_index("site_id")
    sites["allowed"] = _allowed_types(sites, s)
    sites = sites.drop(columns="allowed_types_list")
    roads = _in_crs(raw.get("roads"), crs)
    shifted = [
        shift_warning(name, f[["x", "y"]].to_numpy(float), f[["lon", "lat"]].to_numpy(float), roads)
        for name, f in (("schools", schools), ("villages", villages))
        if f is not None
    ]
    births_file = [cohorts.births_file] if cohorts is not None else []
    files = sorted({*file.values(), *s.source_files, *([str(od_path)] if od_path else []), *births_file})
    return Problem(
        scenario=s,
        villages=villages,
        sites=sites,
        crs=crs.to_string() if hasattr(crs, "to_string") else str(crs),
        roads=roads,
        od=od,
        boundary=_in_crs(raw.get("boundary"), crs) if boundary is not None else None,
        townships=_in_crs(raw.get("townships"), crs),
        inputs=tuple((f, sha256(Path(f))) for f in files),
        cohorts=cohorts,
        warnings=(*(book.warnings if book is not None else ()), *(w for w in shifted if w)),
    )


def _groups_need_kinds(s: Scenario) -> bool:
    """Whether the school groups look at where schools stand (town, seat, village)."""
    g = s.groups
    return g is not None and (bool(g.core_kinds) or g.members == "rural")
