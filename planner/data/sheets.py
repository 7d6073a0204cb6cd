"""The input workbook's layout: its sheets, their columns with Chinese headers
and units, the Chinese type names and the coordinate systems.

One definition serves the template (:mod:`planner.data.template`), the reader
(:mod:`planner.data.excel`) and the export of a scenario's inputs, so a column
added here appears in all three.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from planner.domain import TYPE_NAMES_ZH


@dataclass(frozen=True)
class Field:
    """One column: its name in the layers, its Chinese header, what it means, an example."""

    name: str
    header: str
    note: str
    example: object = None
    required: bool = True


@dataclass(frozen=True)
class Sheet:
    """One sheet of the input workbook and the layer it stands for."""

    layer: str
    title: str
    what: str
    fields: tuple[Field, ...]
    points: bool = True

    @property
    def id_field(self) -> Field:
        return self.fields[0]


_BANDS_ZH = {"g1_3": "1-3年级", "g4_6": "4-6年级", "g7_9": "7-9年级"}
_PUPILS = tuple(
    Field(f"pupils_{b}", f"{zh}学生数(人)", f"{zh}在读学生（按户籍村庄计）", ex)
    for (b, zh), ex in zip(_BANDS_ZH.items(), (180, 170, 150))
)
COORDINATES = (
    Field("lon", "经度", "经度（十进制度，如 108.35412；坐标系见“说明”表）", 108.35412, False),
    Field("lat", "纬度", "纬度（十进制度，如 21.76895）", 21.76895, False),
    Field("x", "X坐标(m)", "投影坐标 X（米；不填经纬度时填写，坐标系填 EPSG 代码）", None, False),
    Field("y", "Y坐标(m)", "投影坐标 Y（米）", None, False),
)
"""Either lon/lat or x/y on each sheet of points."""

TYPE_NOTE = "教学点 / 完全小学 / 初级中学 / 九年一贯制学校"

SCHOOLS = Sheet(
    "schools",
    "学校",
    "现有学校（每校一行，来自教育事业统计）",
    (
        Field("school_id", "学校代码", "学校唯一代码（如学校标识码）", "S001"),
        Field("name", "学校名称", "学校全称", "示例镇中心小学"),
        Field("township", "乡镇", "所在乡镇（街道）", "示例镇", False),
        Field("type", "学校类型", TYPE_NOTE, "完全小学"),
        Field("classes_primary", "小学班数(个)", "小学教学班数", 12),
        Field("classes_junior", "初中班数(个)", "初中教学班数", 0),
        *_PUPILS,
        Field("teaching_area_m2", "教学及辅助用房面积(m²)", "教学及辅助用房建筑面积", 2600),
        Field("living_area_m2", "生活用房面积(m²)", "生活用房（含学生宿舍、食堂）建筑面积", 900),
        Field("sports_area_m2", "体育运动场地面积(m²)", "体育运动场地面积", 4200),
        Field("site_area_m2", "占地面积(m²)", "学校占地面积", 16000),
        Field("boarding_beds", "寄宿床位数(个)", "学生宿舍床位数", 120),
        Field("max_classes", "可容纳班数(个)", "校园最多可容纳的教学班数（规划办学规模）", 18),
        Field("teachers", "专任教师数(人)", "专任教师数", 30, False),
        Field("teachers_qualified", "高于规定学历教师数(人)", "高于规定学历的专任教师数", 26, False),
        Field("teachers_backbone", "县级以上骨干教师数(人)", "县级及以上骨干教师数", 3, False),
        Field("teachers_pe_art", "体育艺术专任教师数(人)", "体育、艺术（美术、音乐）专任教师数", 3, False),
        Field("equipment_value_yuan", "教学仪器设备值(元)", "教学仪器设备资产值", 650000, False),
        Field("multimedia_rooms", "网络多媒体教室数(间)", "网络多媒体教室数", 12, False),
        Field("music_rooms", "音乐专用教室数(间)", "音乐专用教室数", 1, False),
        Field("art_rooms", "美术专用教室数(间)", "美术专用教室数", 1, False),
        *COORDINATES,
    ),
)
VILLAGES = Sheet(
    "villages",
    "村庄",
    "村庄和城镇社区（每个村或社区一行，学生数来自户籍）",
    (
        Field("village_id", "村庄代码", "村（社区）唯一代码（如统计用区划代码）", "V0001"),
        Field("name", "村庄名称", "村（社区）名称", "示例村"),
        Field("township", "乡镇", "所属乡镇（街道）", "示例镇", False),
        Field("kind", "类别", "城区 / 集镇 / 农村（用于人口预测的迁移率）", "农村", False),
        *_PUPILS,
        *(
            Field(f"pupils_g{g}", f"{g}年级学生数(人)", f"{g}年级在读学生（人口预测用，可不填）", None, False)
            for g in range(1, 10)
        ),
        *COORDINATES,
    ),
)
CANDIDATES = Sheet(
    "candidate_sites",
    "候选用地",
    "可新建学校的候选用地（每处一行）",
    (
        Field("site_id", "用地代码", "候选用地唯一代码（不得与学校代码重复）", "C01"),
        Field("name", "用地名称", "用地名称或拟建学校名称", "示例新区学校用地"),
        Field("township", "乡镇", "所在乡镇（街道）", "示例镇", False),
        Field(
            "allowed_types", "可建学校类型", f"可建类型，多个用顿号或逗号分隔：{TYPE_NOTE}", "完全小学、九年一贯制学校"
        ),
        Field("max_classes", "可容纳班数(个)", "用地最多可容纳的教学班数", 36),
        Field("site_area_m2", "占地面积(m²)", "用地面积", 40000),
        Field("land_cost_10k_yuan", "征地费用(万元)", "征地及前期费用", 800),
        *COORDINATES,
    ),
)
BIRTHS = Sheet(
    "births",
    "出生人口",
    "各村逐年出生人口（人口预测用，可不填）",
    (
        Field("village_id", "村庄代码", "与“村庄”表的村庄代码一致", "V0001"),
        Field("year", "年份", "出生年份", 2020),
        Field("births", "出生人数(人)", "当年出生人数", 35),
    ),
    points=False,
)
SHEETS = (SCHOOLS, VILLAGES, CANDIDATES, BIRTHS)
SHEET_OF_LAYER = {s.layer: s for s in SHEETS}
NOTES_SHEET = "说明"
SETTING_COORDS = "坐标系"
"""The label, in the notes sheet's first column, of the cell naming the coordinate system."""
EXAMPLE_PREFIX = "示例"
"""Rows whose id starts with this are examples, not read."""

COORD_CHOICES = {
    "WGS84 经纬度": "wgs84",
    "CGCS2000 经纬度": "cgcs2000",
    "GCJ-02 经纬度（高德、腾讯地图）": "gcj02",
    "BD-09 经纬度（百度地图）": "bd09",
}
"""The drop-down of the coordinate system; an EPSG code (e.g. EPSG:4545) names x/y columns' system."""

TYPE_OF_NAME = {
    **{zh: t for t, zh in TYPE_NAMES_ZH.items()},
    **{t: t for t in TYPE_NAMES_ZH},
    "九年一贯制": "nine_year",
    "初中": "junior",
    "完小": "primary",
}
"""School type names a workbook may use (Chinese or English)."""

KIND_ZH = {"town": "城区", "seat": "集镇", "village": "农村"}
"""Kinds of place (``villages.kind``) as the workbook writes them."""

AMBIGUOUS_TYPES = {"小学": "完全小学 or 教学点", "中学": "初级中学 or 九年一贯制学校"}
"""Names that could mean two types: the reader asks which."""


def normal(text: object) -> str:
    """A header or value as compared: full-width folded (NFKC), spaces gone,
    m²/㎡ written m2, brackets round, lower case."""
    t = unicodedata.normalize("NFKC", str(text)).replace("²", "2").replace("㎡", "m2")
    return re.sub(r"\s+", "", t).replace("[", "(").replace("]", ")").lower()


def header_names(field: Field) -> set[str]:
    """The headers that name ``field``: its Chinese header (with or without the unit) and its English name."""
    bare = re.sub(r"\(.*\)$", "", normal(field.header))
    return {normal(field.header), bare, normal(field.name)}


def coord_system(value: object) -> tuple[str, str | None] | None:
    """``(system, epsg)`` of the notes sheet's coordinate-system cell, ``None`` if unreadable.

    ``system`` is one of wgs84, cgcs2000, gcj02, bd09 (lon/lat) or ``projected``
    (x/y, with ``epsg`` the code)."""
    t = normal(value)
    epsg = re.search(r"epsg:?(\d{4,6})", t)
    if epsg:
        return "projected", f"EPSG:{epsg.group(1)}"
    for key, system in (("gcj", "gcj02"), ("bd-09", "bd09"), ("bd09", "bd09"), ("cgcs", "cgcs2000"), ("wgs", "wgs84")):
        if key in t:
            return system, None
    return None
