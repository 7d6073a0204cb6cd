"""Cohorts: the inputs of the enrolment projection, read and validated.

A projected scenario needs, per village, its pupils by grade in the base year
(``pupils_g1`` .. ``pupils_g9``; or the band columns, split into grades by the
schools' base-year enrolment by grade ``enrol_g1`` .. ``enrol_g9`` where the
schools layer has it, else evenly), its kind of place (``kind``: town, seat or
village, for migration rates) and its births by year (layer ``births``:
``village_id``, ``year``, ``births``) from the cohort entering grade 1 the
year after the base year on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from planner.config.scenario import LayerRef, Scenario
from planner.config.sources import locate_key
from planner.data.columns import Column, typed_columns
from planner.data.layers import add_rows
from planner.data.text import read_csv_cells
from planner.domain import BAND_OF_GRADE, BANDS, GRADES, VILLAGE_KINDS
from planner.errors import Collector

GRADE_COLUMNS = tuple(f"pupils_{g}" for g in GRADES)
"""Base-year pupils by grade in the villages layer."""

ENROL_COLUMNS = tuple(f"enrol_{g}" for g in GRADES)
"""Base-year enrolment by grade in the schools layer (optional)."""

KIND_NAMES = {"城区": "town", "县城": "town", "集镇": "seat", "镇区": "seat", "农村": "village", "村": "village"}
"""Chinese names accepted in the ``kind`` column."""

BIRTHS_SPEC = (Column("village_id", "str"), Column("year", "int"), Column("births"))


@dataclass(frozen=True)
class Cohorts:
    """What the projection starts from, indexed like the villages."""

    base_year: int
    grades: pd.DataFrame
    """Base-year pupils, one column per grade (``g1`` .. ``g9``)."""
    births: pd.DataFrame
    """Births, one column per year (ints, ascending), from the first year needed."""
    kind: pd.Series
    """``town``, ``seat`` or ``village`` per village."""
    grade_source: str
    """Where the base-year grades came from: ``villages``, ``schools`` or ``even``."""
    births_file: str


def village_kinds(raw: pd.DataFrame, file: str, s: Scenario, errors: Collector) -> pd.Series:
    """The ``kind`` column in English (Chinese names accepted); all ``village`` if absent
    (an issue when the projection's rates, the nearest zone or the groups need it)."""
    ids = raw["village_id"].astype(str).str.strip().to_numpy()
    if "kind" not in raw.columns:
        if s.policy.nearest_zone is not None:
            f, line = locate_key(s, "policy", "nearest_zone")
            errors.add(
                f, f"policy.nearest_zone needs a 'kind' column ({', '.join(VILLAGE_KINDS)}) in {file}", line=line
            )
        g = s.groups
        if g is not None and (g.core_kinds or g.members == "rural"):
            f, line = locate_key(s, "groups")
            errors.add(
                f, f"groups by kind of place need a 'kind' column ({', '.join(VILLAGE_KINDS)}) in {file}", line=line
            )
        p = s.projection
        by_kind = p is not None and (any(k != "village" for k in p.migration_per_year) or p.urbanisation_per_year > 0)
        if by_kind:
            f, line = locate_key(s, "projection")
            errors.add(
                f, f"rates by kind of place need a 'kind' column ({', '.join(VILLAGE_KINDS)}) in {file}", line=line
            )
        return pd.Series("village", index=ids)
    kinds = [KIND_NAMES.get(str(v).strip(), str(v).strip()) for v in raw["kind"]]
    bad = np.flatnonzero([k not in VILLAGE_KINDS for k in kinds])
    add_rows(
        errors,
        file,
        bad,
        lambda i: f"unknown kind '{raw['kind'].iloc[i]}'; expected one of {', '.join(VILLAGE_KINDS)} (城区/集镇/农村)",
        layer="villages",
        column="kind",
    )
    return pd.Series(kinds, index=ids)


def _band_split(schools: pd.DataFrame | None) -> tuple[dict[str, float], str]:
    """Each grade's share of its band: the schools' base-year enrolment, else even."""
    if schools is not None and all(c in schools.columns for c in ENROL_COLUMNS):
        enrol = {g: pd.to_numeric(schools[f"enrol_{g}"], errors="coerce").fillna(0).clip(lower=0).sum() for g in GRADES}
        band = {b: sum(v for g, v in enrol.items() if BAND_OF_GRADE[g] == b) for b in BANDS}
        if all(band[b] > 0 for b in BANDS):
            return {g: enrol[g] / band[BAND_OF_GRADE[g]] for g in GRADES}, "schools"
    return dict.fromkeys(GRADES, 1 / 3), "even"


def _grades(
    raw: pd.DataFrame, villages: pd.DataFrame, file: str, schools: pd.DataFrame | None, errors: Collector
) -> tuple[pd.DataFrame, str]:
    """Base-year pupils by grade: the villages' grade columns, else their bands split."""
    present = [c for c in GRADE_COLUMNS if c in raw.columns]
    if present:
        for c in sorted(set(GRADE_COLUMNS) - set(present), key=GRADE_COLUMNS.index):
            errors.add(file, f"missing column '{c}' (pupils by grade need all of g1..g9)", layer="villages", column=c)
        spec = tuple(Column(c, "int") for c in present)
        typed = typed_columns(pd.DataFrame(raw.drop(columns="geometry")), spec, file, "villages", "village_id", errors)
        grades = typed.reindex(columns=list(GRADE_COLUMNS), fill_value=0.0).astype(float)
        grades.columns = list(GRADES)
        return grades.set_axis(villages.index), "villages"
    share, source = _band_split(schools)
    grades = pd.DataFrame(
        {g: villages[f"pupils_{BAND_OF_GRADE[g]}"].astype(float) * share[g] for g in GRADES}, index=villages.index
    )
    return grades, source


def read_table(path: Path, layer: str | None, name: str, errors: Collector) -> pd.DataFrame | None:
    """A table without geometry: a CSV (UTF-8 or GB18030) or a GeoPackage layer."""
    if not path.is_file():
        errors.add(str(path), "file not found", layer=name)
        return None
    if path.suffix.lower() == ".csv":
        return read_csv_cells(path, name, errors, "the file is empty")
    try:
        names = [n for n, _ in pyogrio.list_layers(path)]
        if (layer or name) not in names:
            errors.add(str(path), f"layer not found (the file has: {', '.join(names)})", layer=layer or name)
            return None
        df = pd.DataFrame(pyogrio.read_dataframe(path, layer=layer or name, read_geometry=False))
    except (ValueError, OSError, pyogrio.errors.DataSourceError) as e:
        errors.add(str(path), f"cannot read: {' '.join(str(e).split())}", layer=name)
        return None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def births_source(s: Scenario) -> tuple[Path, str | None] | None:
    ref = s.data.births or (LayerRef(path=s.data.gpkg, layer="births") if s.data.gpkg else None)
    return (s.resolve(ref.path), ref.layer) if ref is not None else None


def _births(
    s: Scenario, villages: pd.Index, errors: Collector, given: tuple[pd.DataFrame, str] | None = None
) -> pd.DataFrame | None:
    """Births by village (rows) and year (columns), every year from the first needed on
    (``given``: a table already read, and its file)."""
    p, src = s.projection, births_source(s)
    assert p is not None
    if given is not None:
        df, file = given
    elif src is None:
        f, line = locate_key(s, "projection")
        errors.add(f, "a projection needs births: set data.births (village_id, year, births)", line=line)
        return None
    else:
        path, layer = src
        df, file = read_table(path, layer, "births", errors), str(path)
    if df is None:
        return None
    t = typed_columns(df, BIRTHS_SPEC, file, "births", "village_id", errors)
    unknown = np.flatnonzero(~t["village_id"].isin(villages).to_numpy() & (t["village_id"] != "").to_numpy())
    add_rows(
        errors,
        file,
        unknown,
        lambda i: f"unknown village '{t['village_id'].iloc[i]}' (not in the villages layer)",
        layer="births",
        column="village_id",
    )
    twice = np.flatnonzero(t.duplicated(["village_id", "year"]).to_numpy())
    add_rows(
        errors,
        file,
        twice,
        lambda i: f"a second row for {t['village_id'].iloc[i]} in {int(t['year'].iloc[i])}",
        layer="births",
        column="year",
    )
    first = p.base_year + 1 - p.entry_age
    t = t[t["village_id"].isin(villages) & ~t.duplicated(["village_id", "year"])]
    last = int(t["year"].max()) if len(t) else first - 1
    if last < first:
        errors.add(file, f"no births for {first} or later (grade 1 of {p.base_year + 1} was born in {first})")
        return None
    table = t[t["year"] >= first].pivot(index="village_id", columns="year", values="births")
    table = table.reindex(index=villages, columns=range(first, last + 1))
    gaps = table.isna()
    for v in list(gaps.index[gaps.any(axis=1)])[:5]:
        years = [int(y) for y in gaps.columns[gaps.loc[v]]]
        errors.add(
            file,
            f"village {v} has no births row for {_years(years)} (every village needs {first}-{last}; write 0 for none)",
            layer="births",
            id=v,
        )
    if gaps.any(axis=1).sum() > 5:
        errors.add(file, f"... and {int(gaps.any(axis=1).sum()) - 5} more villages with years missing", layer="births")
    return table.fillna(0.0).astype(float)


def _years(years: list[int]) -> str:
    return f"{years[0]}-{years[-1]}" if len(years) > 2 and years[-1] - years[0] == len(years) - 1 else str(years)[1:-1]


def read_cohorts(
    s: Scenario,
    raw: dict[str, gpd.GeoDataFrame],
    files: dict[str, str],
    villages: pd.DataFrame,
    errors: Collector,
    births_table: tuple[pd.DataFrame, str] | None = None,
) -> Cohorts | None:
    """The projection's inputs, or ``None`` when the scenario projects nothing
    (or a mistake was recorded); ``births_table``: births read already (an input
    workbook's sheet) and their file."""
    if s.projection is None:
        return None
    rv = raw["villages"]
    kind = village_kinds(rv, files["villages"], s, errors).set_axis(villages.index)
    grades, source = _grades(rv, villages, files["villages"], raw.get("schools"), errors)
    births = _births(s, villages.index, errors, births_table)
    src = (births_table[1], None) if births_table is not None else births_source(s)
    if births is None or src is None:
        return None
    return Cohorts(
        base_year=s.projection.base_year,
        grades=grades,
        births=births,
        kind=kind,
        grade_source=source,
        births_file=str(src[0]),
    )
