"""An input workbook (``data.xlsx``) read again for the checker with openpyxl:
its own table of the template's headers and type names, not the planner's."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd

SHEETS = {"schools": "学校", "villages": "村庄", "candidate_sites": "候选用地", "births": "出生人口"}
HEADERS = {
    "学校代码": "school_id",
    "学校名称": "name",
    "村庄代码": "village_id",
    "村庄名称": "name",
    "用地代码": "site_id",
    "用地名称": "name",
    "乡镇": "township",
    "类别": "kind",
    "学校类型": "type",
    "可建学校类型": "allowed_types",
    "小学班数": "classes_primary",
    "初中班数": "classes_junior",
    "1-3年级学生数": "pupils_g1_3",
    "4-6年级学生数": "pupils_g4_6",
    "7-9年级学生数": "pupils_g7_9",
    **{f"{g}年级学生数": f"pupils_g{g}" for g in range(1, 10)},
    "教学及辅助用房面积": "teaching_area_m2",
    "生活用房面积": "living_area_m2",
    "体育运动场地面积": "sports_area_m2",
    "占地面积": "site_area_m2",
    "寄宿床位数": "boarding_beds",
    "可容纳班数": "max_classes",
    "专任教师数": "teachers",
    "高于规定学历教师数": "teachers_qualified",
    "县级以上骨干教师数": "teachers_backbone",
    "体育艺术专任教师数": "teachers_pe_art",
    "教学仪器设备值": "equipment_value_yuan",
    "网络多媒体教室数": "multimedia_rooms",
    "音乐专用教室数": "music_rooms",
    "美术专用教室数": "art_rooms",
    "征地费用": "land_cost_10k_yuan",
    "经度": "lon",
    "纬度": "lat",
    "X坐标": "x",
    "Y坐标": "y",
    "年份": "year",
    "出生人数": "births",
}
TYPES = {
    "教学点": "teaching_point",
    "完全小学": "primary",
    "完小": "primary",
    "初级中学": "junior",
    "初中": "junior",
    "九年一贯制学校": "nine_year",
    "九年一贯制": "nine_year",
}
SYSTEMS = (("GCJ", "gcj02"), ("BD", "bd09"), ("CGCS", "cgcs2000"), ("WGS", "wgs84"))


def _key(v: object) -> str:
    t = unicodedata.normalize("NFKC", str(v)).strip()
    return re.sub(r"\s*\(.*\)\s*$", "", t)


def _english(name: str, v: object) -> object:
    if name == "type" and v is not None:
        return TYPES.get(str(v).strip(), str(v).strip())
    if name == "allowed_types" and v is not None:
        return ",".join(TYPES.get(p.strip(), p.strip()) for p in re.split(r"[、，,;；/]", str(v)) if p.strip())
    return v


def read_sheet(path: Path, layer: str) -> pd.DataFrame | None:
    """A sheet as the layer's columns; blank rows and example rows (示例...) left out."""
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    title = SHEETS[layer]
    if title not in wb.sheetnames:
        return None
    rows = list(wb[title].iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows[:10]) if sum(_key(v) in HEADERS for v in r if v is not None) >= 2)
    names = [HEADERS.get(_key(v), str(v).strip()) if v is not None else None for v in rows[header]]
    records = []
    for r in rows[header + 1 :]:
        if all(v is None or str(v).strip() == "" for v in r) or str(r[0] or "").startswith("示例"):
            continue
        records.append({n: _english(n, v) for n, v in zip(names, r) if n is not None})
    return pd.DataFrame(records, columns=[n for n in names if n is not None])


def coordinate_system(path: Path) -> tuple[str, str | None]:
    """(lon/lat system, EPSG code of x/y) as the 说明 sheet's 坐标系 cell says; WGS84 when unsaid."""
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    if "说明" in wb.sheetnames:
        for r in wb["说明"].iter_rows(max_col=2, values_only=True):
            if r[0] == "坐标系" and r[1]:
                text = str(r[1]).upper()
                epsg = re.search(r"EPSG:?(\d+)", text)
                if epsg:
                    return "wgs84", f"EPSG:{epsg.group(1)}"
                return next((s for k, s in SYSTEMS if k in text), "wgs84"), None
    return "wgs84", None


def read_points(path: Path, layer: str, unshift) -> gpd.GeoDataFrame | None:
    """A sheet of points: lon/lat (GCJ-02 and BD-09 taken back by ``unshift(xy, system)``) or x/y."""
    df = read_sheet(path, layer)
    if df is None:
        return None
    system, epsg = coordinate_system(path)
    if "lon" in df.columns and df["lon"].notna().any():
        xy = df[["lon", "lat"]].astype(float).to_numpy()
        if system in ("gcj02", "bd09"):
            xy = unshift(xy, system)
        crs = "EPSG:4326"
    else:
        xy, crs = df[["x", "y"]].astype(float).to_numpy(), epsg
    rest = df.drop(columns=[c for c in ("lon", "lat", "x", "y") if c in df.columns])
    return gpd.GeoDataFrame(rest, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)
