"""Reading the input workbook (``data.xlsx``): the sheets of :mod:`planner.data.sheets`
as the layers the loader knows.

A county's school list comes as an Excel workbook, typed by hand or exported
from the annual statistics: headers may be Chinese (with or without units) or
English, types Chinese, coordinates lon/lat or x/y. What cannot be read is
reported with the cell as Excel shows it (``学校!F12``) and its header; the
loader's own row-and-column issues are rewritten to cells the same way
(:meth:`InputWorkbook.relocate`), and only the first issue of a cell is kept.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from planner.data.coords import to_wgs84
from planner.data.sheets import (
    AMBIGUOUS_TYPES,
    COORDINATES,
    EXAMPLE_PREFIX,
    NOTES_SHEET,
    SETTING_COORDS,
    SHEETS,
    TYPE_NOTE,
    TYPE_OF_NAME,
    Sheet,
    coord_system,
    header_names,
    normal,
)
from planner.errors import Collector, Issue

COORDINATE_HEADERS = {f.header for f in COORDINATES}
HEADER_SCAN_ROWS = 10
"""Rows searched for the header row (title rows may sit above it)."""
EXCEL_ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!")
THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
DMS = re.compile(
    r"^(\d{1,3})\s*[°度]\s*(\d{1,2})\s*['′分]\s*(\d{1,2}(?:\.\d+)?)?\s*(?:[\"″秒]|'')?\s*([NSEW东西南北]?)$"
)


@dataclass(frozen=True)
class CellMap:
    """Where a layer's rows and columns sit on their sheet."""

    sheet: str
    header_row: int
    rows: tuple[int, ...]
    """The Excel row of each data row, in order."""
    columns: dict[str, tuple[str, str]]
    """Layer column -> (column letter, header as written)."""
    headers: dict[str, str]
    """Layer column -> the template's header (for a column the sheet lacks)."""

    def cell(self, row: int | None, column: str | None) -> tuple[str, str | None]:
        """``学校!F12`` (or ``学校!12:12`` for a row, ``学校!F1`` for a column) and the header."""
        letter, header = self.columns.get(column or "", (None, None))
        excel_row = self.rows[row - 1] if row is not None and 0 < row <= len(self.rows) else self.header_row
        if letter is None:
            return f"{self.sheet}!{excel_row}:{excel_row}", self.headers.get(column or "", column)
        return f"{self.sheet}!{letter}{excel_row}", header

    def words(self, message: str, column: str | None) -> str:
        """A loader's message in the workbook's terms: headers, not layer columns; cells, not rows."""
        if message.startswith("missing column") and column in self.headers:
            return f"missing column '{self.headers[column]}' (a header in row {self.header_row})"
        return re.sub(
            r"\(first at row (\d+)\)", lambda m: f"(first at {self.cell(int(m.group(1)), column)[0]})", message
        )


@dataclass(frozen=True)
class InputWorkbook:
    """The tables read from one input workbook, and where each cell came from."""

    path: Path
    tables: dict[str, pd.DataFrame]
    maps: dict[str, CellMap]
    coords: tuple[str, str | None] | None
    """The notes sheet's coordinate system (see :func:`~planner.data.sheets.coord_system`)."""
    warnings: tuple[str, ...]

    def relocate(self, issues: list[Issue]) -> list[Issue]:
        """This workbook's row issues as cells; the first issue of each cell only,
        and no "no geometry" for a row whose coordinate cell was named already."""
        out: list[Issue] = []
        for i in issues:
            cmap = self.maps.get(i.layer or "") if i.file == str(self.path) else None
            if cmap is not None:
                cell, header = cmap.cell(i.row, i.column)
                message = cmap.words(i.message, i.column)
                i = replace(i, message=message, layer=None, row=None, column=header, cell=cell)
            out.append(i)
        seen: set[str] = set()
        kept = []
        for i in out:
            row = re.sub(r"^(.*!)[A-Z]+(\d+)$", r"\1\2:\2", i.cell or "")
            key = f"{i.cell} {i.column}" if i.cell and i.column else None
            if key in seen or (i.cell and i.cell == row and f"coords {row}" in seen):
                continue
            seen.add(key or "")
            if i.column in COORDINATE_HEADERS:
                seen.add(f"coords {row}")
            kept.append(i)
        return kept


def _header_row(ws: Worksheet, spec: Sheet) -> int | None:
    """The first row (of the first few) naming the most of the sheet's columns, at least two."""
    known = set().union(*(header_names(f) for f in spec.fields))
    best, best_n = None, 1
    for r, row in enumerate(ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True), start=1):
        n = sum(1 for v in row if v is not None and normal(v) in known)
        if n > best_n:
            best, best_n = r, n
    return best


def _columns(ws: Worksheet, spec: Sheet, header: int, file: str, errors: Collector) -> dict[str, tuple[int, str]]:
    """Layer column -> (1-based column index, header); unknown headers pass through as written."""
    names = {n: f.name for f in spec.fields for n in header_names(f)}
    out: dict[str, tuple[int, str]] = {}
    for c, v in enumerate(next(ws.iter_rows(min_row=header, max_row=header, values_only=True)), start=1):
        if v is None or str(v).strip() == "":
            continue
        name = names.get(normal(v), str(v).strip())
        if name in out:
            first = get_column_letter(out[name][0])
            errors.add(
                file,
                f"a second column '{v}' (the first is {spec.title}!{first}{header}); keep one",
                cell=f"{spec.title}!{get_column_letter(c)}{header}",
            )
            continue
        out[name] = (c, str(v).strip())
    return out


def _merged(ws: Worksheet, spec: Sheet, header: int, file: str, errors: Collector) -> None:
    for rng in ws.merged_cells.ranges:
        if rng.max_row < header:
            continue  # a title above the table
        where = f"{spec.title}!{rng.coord}"
        if rng.min_row <= header:
            errors.add(file, "merged header cells: unmerge them and give each column its own header", cell=where)
        else:
            errors.add(
                file, "merged cells: unmerge them and fill every row (the first cell alone holds a value)", cell=where
            )


TYPE_OF_NORMAL = {normal(k): t for k, t in TYPE_OF_NAME.items()}


def _type_value(v: object, where: str, header: str, file: str, errors: Collector) -> object:
    """A school type in English; a mistake reported (and the value left for no second report)."""
    t = str(v).strip()
    if t in AMBIGUOUS_TYPES:
        errors.add(file, f"'{t}' could mean {AMBIGUOUS_TYPES[t]}: write one of {TYPE_NOTE}", cell=where, column=header)
        return "primary"
    if normal(t) in TYPE_OF_NORMAL:
        return TYPE_OF_NORMAL[normal(t)]
    errors.add(file, f"unknown school type '{t}'; expected one of {TYPE_NOTE}", cell=where, column=header)
    return "primary"


def _types_value(v: object, where: str, header: str, file: str, errors: Collector) -> object:
    parts = [p for p in re.split(r"[、，,;；/]", str(v)) if p.strip()]
    return ",".join(str(_type_value(p, where, header, file, errors)) for p in parts)


def _dms(text: str) -> float | None:
    m = DMS.match(text.strip())
    if not m:
        return None
    deg = int(m.group(1)) + int(m.group(2)) / 60 + float(m.group(3) or 0) / 3600
    return -deg if m.group(4) in ("S", "W", "南", "西") else deg


def _cell_value(v: object, name: str, where: str, header: str, file: str, errors: Collector) -> object:
    """A cell as the layer holds it, with what cannot be read reported at its cell."""
    if v is None or (isinstance(v, str) and v.strip() == ""):
        return None
    if isinstance(v, str) and v.strip() in EXCEL_ERRORS:
        errors.add(
            file,
            f"the formula gives an error ({v.strip()}): fix the formula or type the value",
            cell=where,
            column=header,
        )
        return None
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        errors.add(file, f"is a date ({v}), expected a number: format the cell as a number", cell=where, column=header)
        return None
    if name == "type":
        return _type_value(v, where, header, file, errors)
    if name == "allowed_types":
        return _types_value(v, where, header, file, errors)
    if isinstance(v, str) and THOUSANDS.match(v.strip()):
        plain = v.strip().replace(",", "")
        errors.add(
            file,
            f"'{v.strip()}' is text with thousands separators: type {plain} (a number, no commas)",
            cell=where,
            column=header,
        )
        return None
    if name in ("lon", "lat") and isinstance(v, str) and (deg := _dms(v)) is not None:
        errors.add(
            file,
            f"'{v.strip()}' is degrees-minutes-seconds text: type decimal degrees ({deg:.6f})",
            cell=where,
            column=header,
        )
        return None
    return v


def _sheet_table(ws: Worksheet, spec: Sheet, file: str, errors: Collector, warnings: list[str]):
    header = _header_row(ws, spec)
    if header is None:
        expected = "、".join(f.header for f in spec.fields[:4])
        errors.add(
            file,
            f"no header row in the first {HEADER_SCAN_ROWS} rows (expected {expected} ...)",
            cell=f"{spec.title}!1:{HEADER_SCAN_ROWS}",
        )
        return None
    _merged(ws, spec, header, file, errors)
    cols = _columns(ws, spec, header, file, errors)
    id_col = cols.get(spec.id_field.name)
    records, rows, blank = [], [], []
    for r, row in enumerate(ws.iter_rows(min_row=header + 1, values_only=True), start=header + 1):
        if all(v is None or str(v).strip() == "" for v in row):
            blank.append(r)
            continue
        if id_col is not None and str(row[id_col[0] - 1] or "").strip().startswith(EXAMPLE_PREFIX):
            continue
        if blank:
            warnings.append(f"{Path(file).name}: {spec.title} rows {_span(blank)} are blank and were skipped")
            blank = []
        rec = {}
        for name, (c, head) in cols.items():
            where = f"{spec.title}!{get_column_letter(c)}{r}"
            rec[name] = _cell_value(row[c - 1] if c <= len(row) else None, name, where, head, file, errors)
        records.append(rec)
        rows.append(r)
    table = pd.DataFrame(records, columns=list(cols), dtype=object)
    letters = {name: (get_column_letter(c), head) for name, (c, head) in cols.items()}
    return table, CellMap(spec.title, header, tuple(rows), letters, {f.name: f.header for f in spec.fields})


def _span(rows: list[int]) -> str:
    return str(rows[0]) if len(rows) == 1 else f"{rows[0]}-{rows[-1]}"


def _notes_coords(wb: openpyxl.Workbook, file: str, errors: Collector) -> tuple[str, str | None] | None:
    if NOTES_SHEET not in wb.sheetnames:
        return None
    ws = wb[NOTES_SHEET]
    for r, row in enumerate(ws.iter_rows(max_col=2, values_only=True), start=1):
        if row and row[0] is not None and normal(row[0]) == normal(SETTING_COORDS):
            value = row[1] if len(row) > 1 else None
            if value is None or str(value).strip() == "":
                return None
            system = coord_system(value)
            if system is None:
                errors.add(
                    file,
                    f"unknown coordinate system '{value}': choose WGS84, CGCS2000, GCJ-02 or BD-09 (lon/lat), or type "
                    "the EPSG code of x/y (e.g. EPSG:4545)",
                    cell=f"{NOTES_SHEET}!B{r}",
                    column=SETTING_COORDS,
                )
            return system
    return None


def _find_sheet(wb: openpyxl.Workbook, spec: Sheet) -> Worksheet | None:
    for name in wb.sheetnames:
        if normal(name) in (normal(spec.title), normal(spec.layer)):
            return wb[name]
    return None


def read_workbook(
    path: Path, errors: Collector, required: tuple[str, ...] = ("villages", "schools")
) -> InputWorkbook | None:
    """Every sheet of an input workbook as a table, or ``None`` (with an issue) if it cannot be opened."""
    file = str(path)
    if not path.is_file():
        errors.add(file, "file not found", key="data.xlsx")
        return None
    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        errors.add(file, f"cannot open as an Excel workbook (.xlsx): {' '.join(str(e).split())}")
        return None
    tables: dict[str, pd.DataFrame] = {}
    maps: dict[str, CellMap] = {}
    warnings: list[str] = []
    for spec in SHEETS:
        ws = _find_sheet(wb, spec)
        if ws is None:
            if spec.layer in required:
                errors.add(file, f"sheet '{spec.title}' not found (the workbook has: {', '.join(wb.sheetnames)})")
            continue
        got = _sheet_table(ws, spec, file, errors, warnings)
        if got is not None:
            tables[spec.layer], maps[spec.layer] = got
    book = InputWorkbook(path, tables, maps, _notes_coords(wb, file, errors), tuple(warnings))
    errors.relocate(book.relocate)
    return book


def points(
    table: pd.DataFrame, layer: str, system: str, crs: str | None, file: str, errors: Collector
) -> gpd.GeoDataFrame | None:
    """A sheet's rows as points: lon/lat (converted to WGS84 from ``system``) or x/y in ``crs``."""
    if table.empty:
        return gpd.GeoDataFrame(table, geometry=[], crs="EPSG:4326")
    lonlat = {"lon", "lat"} <= set(table.columns) and table[["lon", "lat"]].notna().any().any()
    cols = ("lon", "lat") if lonlat else ("x", "y")
    if not lonlat and (not {"x", "y"} <= set(table.columns) or crs is None):
        what = "x/y columns with the EPSG code of their system as the 坐标系 of the 说明 sheet"
        errors.add(file, f"needs 经度/纬度 (lon/lat) columns or {what}", layer=layer)
        return None
    xy = np.full((len(table), 2), np.nan)
    for k, c in enumerate(cols):
        values = pd.to_numeric(table[c].astype(object).where(table[c].notna(), None), errors="coerce")
        for i in np.flatnonzero(values.isna().to_numpy()):
            got = table[c].iloc[i]
            said = "coordinate is missing" if got is None else f"expected a coordinate (a number), got '{got}'"
            errors.add(file, said, layer=layer, row=int(i) + 1, column=c)
        xy[:, k] = values.to_numpy(float)
    ok = np.isfinite(xy).all(axis=1)
    if lonlat:
        xy[ok] = to_wgs84(xy[ok], system)
    geom = [gpd.points_from_xy([x], [y])[0] if good else None for (x, y), good in zip(xy, ok)]
    rest = table.drop(columns=[c for c in ("lon", "lat", "x", "y") if c in table.columns])
    return gpd.GeoDataFrame(rest, geometry=geom, crs="EPSG:4326" if lonlat else crs)
