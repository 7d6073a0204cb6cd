"""Chinese labels for everything an official reads: maps, workbook, report, comparison.

One place for the vocabulary of the plan appendix, so the layout table, the
maps' legends and the report use the same words (教学点, 完全小学, 撤并 ...).
Identifiers stay English; only what is shown to readers is translated.
"""

from __future__ import annotations

import pandas as pd

from planner.domain import TYPE_NAMES_ZH

TYPE_ZH: dict[str, str] = {**TYPE_NAMES_ZH, "closed": "撤销", "none": "（新址）"}
"""School types (``type_before`` / ``type_after``) as the plans name them."""

ACTION_ZH: dict[str, str] = {
    "keep": "保留",
    "expand": "扩建",
    "upgrade": "升级",
    "downgrade": "降级",
    "merge": "撤并",
    "close": "撤销",
    "new": "新建",
    "campus": "并为校区",
}
"""Actions (``action`` column of schools.csv)."""

BAND_ZH: dict[str, str] = {"g1_3": "小学1–3年级", "g4_6": "小学4–6年级", "g7_9": "初中7–9年级"}
"""Grade bands."""

COST_ZH: dict[str, str] = {
    "teaching": "教学用房",
    "living": "生活用房",
    "sports": "体育场地",
    "new_build": "新建学校",
    "upgrade": "升级改造",
    "land": "征地",
    "equipment": "教学仪器设备",
    "multimedia": "多媒体教室",
    "rooms": "音乐美术专用教室",
    "teachers": "教师配备",
    "total": "合计",
}
"""Cost categories (``cost_10k_yuan`` keys of summary.json)."""

AREA_ZH: dict[str, str] = {k: COST_ZH[k] for k in ("teaching", "living", "sports")}
"""Kinds of added area."""

BUDGET_SCOPE_ZH: dict[str, str] = {"construction": "工程建设", "floor_area": "校舍及运动场建设"}
"""The part of the cost a budget limits (``budget.covers``), where not all of it."""

STATUS_ZH: dict[str, str] = {
    "optimal": "最优解",
    "feasible": "可行解（未证明最优）",
    "time_limit": "达到时间上限，取最好可行解",
    "interrupted": "求解被中断，取最好可行解",
    "infeasible": "无可行解",
}
"""Solver status of a run."""


def joined_school(schools: pd.DataFrame) -> pd.Series:
    """Per row of a plan's schools: the school it joins, merged into it or kept as its campus ('' if none)."""
    merged = schools["merged_into"].fillna("")
    return merged.where(schools["campus_of"].fillna("") == "", schools["campus_of"])


def type_label(t: str) -> str:
    """The Chinese name of a school type, the code itself if unknown."""
    return TYPE_ZH.get(t, t)


def action_label(action: str, type_after: str = "") -> str:
    """The Chinese name of an action; a downgrade names what the school becomes
    (降为教学点, 降为初级中学), an upgrade too when it is not obvious."""
    if action == "downgrade":
        return f"降为{TYPE_ZH.get(type_after, type_after)}" if type_after else ACTION_ZH["downgrade"]
    if action == "upgrade" and type_after == "nine_year":
        return "升级为九年一贯制"
    if action == "upgrade" and type_after:
        return f"升级为{TYPE_ZH.get(type_after, type_after)}"
    return ACTION_ZH.get(action, action)


INDICATOR_ZH: dict[str, str] = {
    "qualified": "高于规定学历教师数(人/百生)",
    "backbone": "县级以上骨干教师数(人/百生)",
    "pe_art": "体育艺术专任教师数(人/百生)",
    "teaching_area": "生均教学及辅助用房面积(m²)",
    "sports_area": "生均体育运动场馆面积(m²)",
    "equipment": "生均教学仪器设备值(元)",
    "multimedia": "网络多媒体教室数(间/百生)",
}
"""The seven indicators of STANDARDS.md, as the standard names them."""

LEVEL_ZH: dict[str, str] = {"primary": "小学", "junior": "初中"}
"""School levels (学段)."""

STANDARD_STATUS_ZH: dict[str, str] = {"pass": "达标", "fail": "未达标", "unknown": "数据不全"}
"""Whether a school and level meets the standard."""

DIRECTION_ZH = {
    "differ": "与其他方案最不同",
    "keep-schools": "多保留现有学校",
    "fewer-new": "少新建学校",
    "fewer-boarders": "少寄宿生",
}
"""Where an alternative near the best plan goes (``planner alternatives --direction``)."""

BUILT_ZH = {True: "建设", False: "不建"}
"""Whether the plan builds a project (``projects.csv``'s ``built``)."""
OPTIONAL_ZH = {True: "可选", False: "必建"}
"""A project the plan may leave out, or one it must build."""
