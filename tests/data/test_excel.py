"""The input workbook: the template filled in by code gives the GeoPackage's plan,
the demo's inputs survive the export and read-back exactly, and ten mistakes
a county office typically makes each come back with the cell named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from typer.testing import CliRunner

from planner.cli import app
from planner.data.load import load_problem
from planner.errors import InputError
from tests.checker import check_run
from tests.factory import CRS, X0, Y0, make_case, school, site, village

ROOT = Path(__file__).resolve().parents[2]
TYPE_ZH = {"teaching_point": "教学点", "primary": "完全小学", "junior": "初级中学", "nine_year": "九年一贯制学校"}
"""The template's type names, written here as a county clerk would type them."""


def _county():
    villages = [
        village("V1", 0, 0, 120, 100, 0),
        village("V2", 3, 0, 60, 50, 90),
        village("V3", 0, 4, 30, 30, 40),
        village("V4", 6, 3, 20, 25, 60),
    ]
    schools = [
        school("S1", 0.5, 0, "primary", classes_primary=6, pupils_g1_3=150, pupils_g4_6=120),
        school("S2", 3, 0.5, "nine_year", classes_primary=4, classes_junior=3, pupils_g7_9=150),
        school("S3", 0, 4.2, "teaching_point", classes_primary=2, pupils_g1_3=40),
        school("S4", 6, 3.5, "junior", classes_junior=2, pupils_g7_9=40),
    ]
    sites = [site("C1", 2, 2, "primary,nine_year", land_cost_10k_yuan=50.0)]
    scenario = {
        "travel": {"detour_factor": 1.2},
        "policy": {"max_trip_km": {"g1_3": 8, "g4_6": 10, "g7_9": 15}},
        "objective": {"per_10k_yuan": 2.0},
    }
    return villages, schools, sites, scenario


def _lonlat(rows: list[dict]) -> list[tuple[float, float]]:
    g = gpd.GeoSeries([Point(X0 + r["x"] * 1000, Y0 + r["y"] * 1000) for r in rows], crs=CRS).to_crs("EPSG:4326")
    return list(zip(g.x, g.y))


def _fill(ws, rows: list[dict], start: int = 2) -> None:
    """Write rows under the template's headers, the way a clerk fills a sheet
    (Chinese type names, lon/lat in degrees); the example row is overwritten."""
    ws.delete_rows(start)  # the template's example row
    head = {c.value: c.column for c in ws[1] if c.value}
    by_name = {
        "village_id": "村庄代码",
        "school_id": "学校代码",
        "site_id": "用地代码",
        "name": ("村庄名称", "学校名称", "用地名称"),
        "township": "乡镇",
        "type": "学校类型",
        "allowed_types": "可建学校类型",
        "lon": "经度",
        "lat": "纬度",
    }
    for r, (row, (lon, lat)) in enumerate(zip(rows, _lonlat(rows)), start=start):
        values = {**row, "lon": lon, "lat": lat}
        values.pop("x"), values.pop("y")
        if "type" in values:
            values["type"] = TYPE_ZH[values["type"]]
        if "allowed_types" in values:
            values["allowed_types"] = "、".join(TYPE_ZH[t] for t in values["allowed_types"].split(","))
        for key, v in values.items():
            names = by_name.get(key, ())
            names = (names,) if isinstance(names, str) else names
            col = next((head[n] for n in names if n in head), None)
            col = col or next((c for h, c in head.items() if h.startswith(_HEADERS.get(key, "\0"))), None)
            if col is not None:
                ws.cell(r, col, v)


_HEADERS = {
    "classes_primary": "小学班数",
    "classes_junior": "初中班数",
    "pupils_g1_3": "1-3年级",
    "pupils_g4_6": "4-6年级",
    "pupils_g7_9": "7-9年级",
    "teaching_area_m2": "教学及辅助用房",
    "living_area_m2": "生活用房",
    "sports_area_m2": "体育运动场地",
    "site_area_m2": "占地面积",
    "boarding_beds": "寄宿床位",
    "max_classes": "可容纳班数",
    "land_cost_10k_yuan": "征地费用",
    "teachers": "专任教师数",
    "teachers_qualified": "高于规定学历",
    "teachers_backbone": "县级以上骨干",
    "teachers_pe_art": "体育艺术",
    "equipment_value_yuan": "教学仪器设备值",
    "multimedia_rooms": "网络多媒体",
    "music_rooms": "音乐",
    "art_rooms": "美术",
}


def _workbook(tmp_path: Path) -> tuple[Path, Path]:
    """The county as a filled template (and the scenario reading it), and as a GeoPackage."""
    villages, schools, sites, scenario = _county()
    gpkg_yaml = make_case(tmp_path / "gpkg", villages, schools, sites, scenario)
    book = tmp_path / "xlsx" / "county.xlsx"
    book.parent.mkdir()
    res = CliRunner().invoke(app, ["template", "--out", str(book)])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(book)
    for title, rows in (("村庄", villages), ("学校", schools), ("候选用地", sites)):
        _fill(wb[title], rows)
    wb.save(book)
    doc = yaml.safe_load(gpkg_yaml.read_text(encoding="utf-8"))
    doc["data"] = {"xlsx": book.name, "metric_crs": CRS}  # distances in the GeoPackage's CRS
    xlsx_yaml = book.with_name("county.yaml")
    xlsx_yaml.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return xlsx_yaml, gpkg_yaml


def _plan(folder: Path) -> list[tuple]:
    schools = pd.read_csv(folder / "schools.csv", dtype={"school_id": str})
    return sorted(schools[["school_id", "type_after", "classes_primary", "classes_junior"]].itertuples(index=False))


def test_the_filled_template_gives_the_geopackage_plan(tmp_path):
    xlsx_yaml, gpkg_yaml = _workbook(tmp_path)
    plans = []
    for scenario, out in ((xlsx_yaml, tmp_path / "run_xlsx"), (gpkg_yaml, tmp_path / "run_gpkg")):
        res = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "--quiet"])
        assert res.exit_code == 0, res.output
        plans.append((_plan(out), json.loads((out / "summary.json").read_text(encoding="utf-8"))))
    (plan_x, sum_x), (plan_g, sum_g) = plans
    assert plan_x == plan_g
    assert sum_x["objective"] == pytest.approx(sum_g["objective"], rel=1e-9)
    assert check_run(tmp_path / "run_xlsx") == []  # the checker reads the workbook on its own
    book = xlsx_yaml.with_name("county.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb["村庄"]
    col = next(c.column for c in ws[1] if c.value == "1-3年级学生数(人)")
    ws.cell(2, col, ws.cell(2, col).value + 40)  # the plan no longer seats every pupil of V1
    wb.save(book)
    assert any("V1" in p for p in check_run(tmp_path / "run_xlsx"))


def test_the_demo_survives_export_and_read_back(tmp_path):
    book = tmp_path / "demo.xlsx"
    res = CliRunner().invoke(
        app, ["export-inputs", str(ROOT / "scenarios" / "fangcheng-2030.yaml"), "--out", str(book)]
    )
    assert res.exit_code == 0, res.output
    scenario = tmp_path / "demo.yaml"
    base = ROOT / "scenarios" / "fangcheng-2030.yaml"
    scenario.write_text(f"extends: {base}\ndata:\n  xlsx: demo.xlsx\n", encoding="utf-8")
    a, b = load_problem(base), load_problem(scenario)
    pd.testing.assert_frame_equal(a.villages, b.villages)
    pd.testing.assert_frame_equal(a.sites, b.sites)
    assert str(book) in {f for f, _ in b.inputs}
    wb = openpyxl.load_workbook(book, read_only=True)
    assert {"学校", "村庄", "候选用地", "说明"} <= set(wb.sheetnames)
    types = {r[3] for r in wb["学校"].iter_rows(min_row=2, values_only=True)}
    assert types <= set(TYPE_ZH.values()) and len(types) > 1
    shipped = load_problem(ROOT / "scenarios" / "fangcheng-2030-xlsx.yaml")  # gis/demo_county.xlsx is up to date
    pd.testing.assert_frame_equal(a.sites, shipped.sites)
    pd.testing.assert_frame_equal(a.villages, shipped.villages)


def _mistakes(wb: openpyxl.Workbook) -> dict[str, str]:
    """Ten typical mistakes, each made in its own cell; the cell each must be named by."""
    s, v = wb["学校"], wb["村庄"]
    head = {c.value: c.column_letter for c in s[1] if c.value}
    vhead = {c.value: c.column_letter for c in v[1] if c.value}
    s.merge_cells(f"{head['1-3年级学生数(人)']}1:{head['4-6年级学生数(人)']}1")  # 1 merged header cells
    s[f"{head['学校类型']}3"] = "小学"  # 2 a type written 小学
    s[f"{head['教学及辅助用房面积(m²)']}4"] = "1,234"  # 3 a number as text with a thousands separator
    v.insert_rows(4)  # 4 a blank row in the middle: the rows below keep their Excel numbers
    v[f"{vhead['经度']}5"] = "108°21'30\""  # 5 coordinates in degrees-minutes-seconds text
    s[f"{head['学校名称']}5"] = None  # 6 a required name left empty
    s[f"{head['小学班数(个)']}2"] = 6.5  # 7 a fractional count
    s[f"{head['学校代码']}5"] = "S1"  # 8 an id used twice
    s[f"{head['生活用房面积(m²)']}2"] = "#DIV/0!"  # 9 a formula's error
    s[f"{head['占地面积(m²)']}3"] = dt.datetime(2021, 9, 1)  # 10 a number formatted as a date
    return {
        f"学校!{head['1-3年级学生数(人)']}1:{head['4-6年级学生数(人)']}1": "merged header cells",
        f"学校!{head['学校类型']}3 (学校类型)": "could mean 完全小学 or 教学点",
        f"学校!{head['教学及辅助用房面积(m²)']}4 (教学及辅助用房面积(m²))": "type 1234",
        f"村庄!{vhead['经度']}5 (经度)": "degrees-minutes-seconds",
        f"学校!{head['学校名称']}5 (学校名称)": "is empty",
        f"学校!{head['小学班数(个)']}2 (小学班数(个))": "fractional",
        f"学校!{head['学校代码']}5 (学校代码), id S1": f"duplicate id 'S1' (first at 学校!{head['学校代码']}2)",
        f"学校!{head['生活用房面积(m²)']}2 (生活用房面积(m²))": "#DIV/0!",
        f"学校!{head['占地面积(m²)']}3 (占地面积(m²))": "is a date",
    }


def test_ten_mistakes_each_name_their_cell(tmp_path):
    xlsx_yaml, _ = _workbook(tmp_path)
    book = xlsx_yaml.with_name("county.xlsx")
    wb = openpyxl.load_workbook(book)
    expected = _mistakes(wb)
    wb.save(book)
    with pytest.raises(InputError) as e:
        load_problem(xlsx_yaml)
    text = str(e.value)
    for cell, what in expected.items():
        line = next((ln for ln in text.splitlines() if f"{cell}" in ln), None)
        assert line is not None and what in line, f"{cell}: {what!r} not in\n{text}"
    assert "学校!2:2" not in text  # a cell's mistake is named by its cell, not its row
    assert len([ln for ln in text.splitlines() if "(学校名称)" in ln]) == 1  # one issue per cell
    assert len([ln for ln in text.splitlines() if "村庄!" in ln]) == 1  # not "missing", not "no geometry" too
    assert "missing column '4-6年级学生数(人)'" in text  # the merged header hid it: named as the template does


def test_a_blank_row_is_skipped_with_a_warning(tmp_path):
    xlsx_yaml, _ = _workbook(tmp_path)
    book = xlsx_yaml.with_name("county.xlsx")
    wb = openpyxl.load_workbook(book)
    wb["村庄"].insert_rows(3, amount=2)
    wb.save(book)
    problem = load_problem(xlsx_yaml)
    assert len(problem.villages) == 4
    assert any("村庄 rows 3-4 are blank" in w for w in problem.warnings), problem.warnings


def test_the_coordinate_system_cell_converts_map_service_picks(tmp_path):
    """Points picked on Amap (GCJ-02) are converted back: the problem is the WGS84 one within a metre."""
    from planner.data.coords import wgs84_to_gcj02

    xlsx_yaml, _ = _workbook(tmp_path)
    book = xlsx_yaml.with_name("county.xlsx")
    before = load_problem(xlsx_yaml)
    wb = openpyxl.load_workbook(book)
    for title in ("村庄", "学校", "候选用地"):
        ws = wb[title]
        head = {c.value: c.column for c in ws[1] if c.value}
        for r in range(2, ws.max_row + 1):
            lon, lat = ws.cell(r, head["经度"]).value, ws.cell(r, head["纬度"]).value
            glon, glat = wgs84_to_gcj02(lon, lat)
            ws.cell(r, head["经度"], float(glon)), ws.cell(r, head["纬度"], float(glat))
    wb["说明"]["B2"] = "GCJ-02 经纬度（高德、腾讯地图）"
    wb.save(book)
    after = load_problem(xlsx_yaml)
    moved = ((before.sites[["x", "y"]] - after.sites[["x", "y"]]) ** 2).sum(axis=1) ** 0.5
    assert moved.max() < 1.0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 99_999_999), as_text=st.booleans())
def test_numbers_as_text_are_read_or_named_never_misread(tmp_path_factory, n, as_text):
    """A count typed as text is read as its number; with thousands separators
    it is refused at its cell with the plain number to type, never read as another number."""
    from planner.data.excel import read_workbook
    from planner.errors import Collector

    text = f"{n:,}" if as_text else str(n)
    book = tmp_path_factory.mktemp("n") / "n.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "村庄"
    ws.append(["村庄代码", "村庄名称", "1-3年级学生数(人)"])
    ws.append(["V1", "甲村", text])
    wb.create_sheet("学校").append(["学校代码", "学校名称"])
    wb.save(book)
    errors = Collector()
    got = read_workbook(book, errors)
    assert got is not None
    if "," in text:
        assert [i.cell for i in errors.issues] == ["村庄!C2"] and f"type {n}" in errors.issues[0].message
    else:
        assert errors.issues == [] and int(got.tables["villages"]["pupils_g1_3"].iloc[0]) == n


def test_the_template_is_ready_to_fill(tmp_path):
    """Chinese headers with units, drop-downs for the type and the coordinate
    system, frozen headers, one example row a sheet, which is never read."""
    book = tmp_path / "t.xlsx"
    assert CliRunner().invoke(app, ["template", "--out", str(book)]).exit_code == 0
    again = CliRunner().invoke(app, ["template", "--out", str(book)])
    assert again.exit_code == 1 and "--force" in again.output
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames[:3] == ["学校", "村庄", "候选用地"] and "说明" in wb.sheetnames
    schools = wb["学校"]
    heads = [c.value for c in schools[1]]
    assert "教学及辅助用房面积(m²)" in heads and "学校类型" in heads
    lists = {str(v.formula1) for v in schools.data_validations.dataValidation}
    assert any(all(t in f for t in TYPE_ZH.values()) for f in lists), lists
    coords = {str(v.formula1) for v in wb["说明"].data_validations.dataValidation}
    assert any("GCJ-02" in f and "BD-09" in f for f in coords), coords
    for title in ("学校", "村庄", "候选用地"):
        ws = wb[title]
        assert ws.freeze_panes == "C2" and str(ws["A2"].value).startswith("示例") and ws.max_row == 2
    scenario = tmp_path / "t.yaml"
    scenario.write_text("name: t\ndata: {xlsx: t.xlsx}\n", encoding="utf-8")
    with pytest.raises(InputError) as e:  # only examples: nothing to plan, said at the header rows
        load_problem(scenario)
    said = str(e.value).splitlines()
    assert any("村庄!1:1" in ln and "empty" in ln for ln in said) and any("学校!1:1" in ln for ln in said), said
