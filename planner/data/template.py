"""Writing input workbooks: the empty template a county fills in
(``planner template``), and any scenario's inputs in the same layout
(``planner export-inputs``), which :mod:`planner.data.excel` reads back.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import xlsxwriter

from planner.config.scenario import Scenario
from planner.data.cohorts import births_source, read_table
from planner.data.excel import read_workbook
from planner.data.load import read_layers
from planner.data.sheets import (
    BIRTHS,
    COORD_CHOICES,
    EXAMPLE_PREFIX,
    KIND_ZH,
    NOTES_SHEET,
    SETTING_COORDS,
    SHEETS,
    Field,
    Sheet,
)
from planner.domain import TYPE_NAMES_ZH
from planner.errors import Collector

VALIDATED_ROWS = 5000
"""Rows below the header that get the drop-down lists."""
DEFAULT_COORDS = next(iter(COORD_CHOICES))


def _formats(wb: xlsxwriter.Workbook) -> dict:
    return {
        "head": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}),
        "need": wb.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True, "valign": "top"}),
        "example": wb.add_format({"italic": True, "font_color": "#808080"}),
        "title": wb.add_format({"bold": True, "font_size": 13}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
    }


def _cell(v: object) -> object:
    """A value as written: NaN and None blank, numpy scalars as Python numbers."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _in_chinese(name: str, v: object) -> object:
    if name == "type":
        return TYPE_NAMES_ZH.get(str(v), v)
    if name == "allowed_types":
        return "、".join(TYPE_NAMES_ZH.get(t.strip(), t.strip()) for t in str(v).replace(";", ",").split(","))
    if name == "kind":
        return KIND_ZH.get(str(v), v)
    return v


def _write_sheet(wb: xlsxwriter.Workbook, f: dict, spec: Sheet, table: pd.DataFrame | None, coords: str) -> None:
    ws = wb.add_worksheet(spec.title)
    fields = [fd for fd in spec.fields if table is None or fd.name in table.columns or fd.required]
    if table is not None:  # the coordinates the export writes, and any column the layer has besides
        pair = ("x", "y") if coords.startswith("EPSG") else ("lon", "lat")
        fields = [fd for fd in fields if fd.name not in ({"lon", "lat", "x", "y"} - set(pair))]
        known = {fd.name for fd in spec.fields}
        fields += [Field(str(c), str(c), "", required=False) for c in table.columns if c not in known]
    for c, fd in enumerate(fields):
        ws.write(0, c, fd.header, f["need"] if fd.required else f["head"])
        ws.write_comment(0, c, fd.note + ("（必填）" if fd.required else "（可不填）"))
        ws.set_column(c, c, max(10, min(28, len(fd.header) * 2)))
    ws.freeze_panes(1, 2)
    ws.set_row(0, 32)
    _validations(ws, fields)
    if table is None:
        for c, fd in enumerate(fields):
            v = f"{EXAMPLE_PREFIX}{fd.example}" if c == 0 else fd.example
            if v is not None:
                ws.write(1, c, v, f["example"])
        return
    for r, row in enumerate(table.itertuples(index=False), start=1):
        values = dict(zip(table.columns, row))
        for c, fd in enumerate(fields):
            v = _cell(_in_chinese(fd.name, values.get(fd.name)))
            if v is not None:
                ws.write(r, c, v)


def _validations(ws, fields: list[Field]) -> None:
    lists = {"type": list(TYPE_NAMES_ZH.values()), "kind": list(KIND_ZH.values())}
    for c, fd in enumerate(fields):
        if fd.name in lists:
            ws.data_validation(
                1,
                c,
                VALIDATED_ROWS,
                c,
                {"validate": "list", "source": lists[fd.name], "input_title": fd.header, "input_message": fd.note},
            )


def _write_notes(wb: xlsxwriter.Workbook, f: dict, coords: str) -> None:
    ws = wb.add_worksheet(NOTES_SHEET)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 34)
    ws.set_column(2, 2, 60)
    ws.write(0, 0, "设置", f["title"])
    ws.write(1, 0, SETTING_COORDS, f["head"])
    ws.write(1, 1, coords)
    ws.data_validation(
        1,
        1,
        1,
        1,
        {
            "validate": "list",
            "source": list(COORD_CHOICES),
            "error_type": "information",  # an EPSG code (x/y columns) is allowed too
            "input_title": SETTING_COORDS,
            "input_message": "经纬度的坐标系；填 X/Y 坐标时写其 EPSG 代码，如 EPSG:4545",
        },
    )
    ws.write(2, 2, "高德、腾讯地图拾取的坐标选 GCJ-02，百度地图选 BD-09：规划前换算为 WGS84。", f["wrap"])
    ws.write(3, 2, f"以“{EXAMPLE_PREFIX}”开头的代码所在行为示例，不读入；空行跳过。", f["wrap"])
    r = 5
    for spec in SHEETS:
        ws.write(r, 0, f"{spec.title}表", f["title"])
        ws.write(r, 1, spec.what)
        r += 1
        for head, col in (("列名", 0), ("必填", 1), ("含义", 2)):
            ws.write(r, col, head, f["head"])
        r += 1
        for fd in spec.fields:
            ws.write(r, 0, fd.header)
            ws.write(r, 1, "必填" if fd.required else "可不填")
            ws.write(r, 2, fd.note, f["wrap"])
            r += 1
        r += 1


def write_workbook(path: Path, tables: dict[str, pd.DataFrame] | None = None, coords: str = DEFAULT_COORDS) -> None:
    """An input workbook at ``path`` (atomically): the template (``tables`` None,
    one example row per sheet) or the given tables, whose coordinates are in
    ``coords`` (a :data:`COORD_CHOICES` label, or an EPSG code for x/y)."""
    path = Path(path)
    tmp = str(path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx"))
    try:
        wb = xlsxwriter.Workbook(tmp)
        f = _formats(wb)
        for spec in SHEETS:
            if tables is None or spec.layer in tables:
                _write_sheet(wb, f, spec, None if tables is None else tables[spec.layer], coords)
        _write_notes(wb, f, coords)
        wb.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _points_table(g: gpd.GeoDataFrame, crs) -> pd.DataFrame:
    """A layer's attributes and its coordinates: x/y in a projected ``crs``, else lon/lat in WGS84."""
    g = g.to_crs(crs)
    xy = ("x", "y") if g.crs.is_projected else ("lon", "lat")
    t = pd.DataFrame(g.drop(columns=g.geometry.name))
    t[xy[0]], t[xy[1]] = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
    return t


def _births(s: Scenario, errors: Collector) -> pd.DataFrame | None:
    """The births table the projection would read, if any (a GeoPackage without one has none)."""
    src = births_source(s)
    if src is None or (s.data.births is None and "births" not in [n for n, _ in pyogrio.list_layers(src[0])]):
        return None
    return read_table(src[0], src[1], "births", errors)


def export_inputs(scenario: Scenario, path: Path) -> None:
    """Write a scenario's villages, schools, candidate sites and births to an
    input workbook at ``path``; raises :class:`~planner.errors.InputError` if
    they cannot be read."""
    errors = Collector()
    book = read_workbook(scenario.resolve(scenario.data.xlsx), errors) if scenario.data.xlsx else None
    layers, _ = read_layers(scenario, book, errors)
    if "villages" not in layers:
        errors.raise_if_any()
    tables, coords = export_tables(scenario, layers, errors)
    errors.raise_if_any()
    write_workbook(path, tables, coords)


def export_tables(s: Scenario, layers: dict[str, gpd.GeoDataFrame], errors: Collector) -> tuple[dict, str]:
    """A scenario's villages, schools, candidate sites and births as workbook
    tables, and the coordinate system to name: the villages' own if projected
    (x/y, exact), else WGS84 lon/lat."""
    crs = layers["villages"].crs
    coords = crs.to_string() if crs.is_projected and crs.to_epsg() else DEFAULT_COORDS
    crs = crs if crs.is_projected and crs.to_epsg() else "EPSG:4326"
    tables = {n: _points_table(g, crs) for n, g in layers.items() if n in ("villages", "schools", "candidate_sites")}
    births = _births(s, errors)
    if births is not None:
        tables[BIRTHS.layer] = births
    return tables, coords
