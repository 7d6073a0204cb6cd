"""The 集团化办学 sheet of plan.xlsx: each group, its core school and members,
how far each member is from its core and the teachers they exchange a year
(交流轮岗), then the totals against the county's eligible teachers."""

from __future__ import annotations

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from planner.outputs.labels import type_label

GROUP_SHEET = "集团化办学"

GROUP_HEADERS = (
    ("教育集团", "group", 10),
    ("核心校", "core_name", 26),
    ("成员校", "member_name", 26),
    ("成员校类型", "member_type", 14),
    ("距核心校(公里)", "distance_km", 14),
    ("成员校在校生", "member_pupils", 12),
    ("每年交流教师(人)", "teachers_exchanged", 15),
    ("其中核心校派出骨干教师(人)", "backbone_sent", 22),
)
"""(header, groups.csv column, width)."""


def group_rows(groups: pd.DataFrame) -> pd.DataFrame:
    """groups.csv with Chinese labels: a member no core can take reads 无可带核心校."""
    t = groups.copy()
    t["member_type"] = t["member_type"].map(type_label)
    t["core_name"] = t["core_name"].where(t["core_id"] != "", "（无可带核心校）")
    return t


def write_group_sheet(wb: xlsxwriter.Workbook, f: dict, groups: pd.DataFrame, summary: dict) -> None:
    """Sheet 集团化办学 (see the module docstring); the totals are live sums."""
    ws = wb.add_worksheet(GROUP_SHEET)
    for c, (h, _, w) in enumerate(GROUP_HEADERS):
        ws.write_string(0, c, h, f["head"])
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 2)
    t = group_rows(groups)
    for r, row in enumerate(t.itertuples(index=False), start=1):
        for c, (_, col, _) in enumerate(GROUP_HEADERS):
            v = getattr(row, col)
            if col in ("distance_km", "member_pupils"):
                if pd.notna(v):
                    ws.write_number(r, c, float(v), f["num1"])
                else:
                    ws.write_string(r, c, "", f["text"])
            elif col in ("teachers_exchanged", "backbone_sent"):
                ws.write_number(r, c, int(v), f["int"])
            else:
                ws.write_string(r, c, str(v), f["text"])
    n = len(t)
    ws.write_string(n + 1, 0, "合计", f["tot_text"])
    ws.write_string(n + 1, 1, f"{summary.get('groups', 0)}个集团", f["tot_text"])
    ws.write_string(n + 1, 2, f"{summary.get('members', 0)}所成员校", f["tot_text"])
    for c in (6, 7):
        cells = f"{xl_rowcol_to_cell(1, c)}:{xl_rowcol_to_cell(max(n, 1), c)}"
        ws.write_formula(n + 1, c, f"=SUM({cells})", f["tot_int"], int(t[GROUP_HEADERS[c][1]].sum()))
    share = summary.get("rotating_share")
    if share is not None:
        note = (
            f"核心校与成员校一对一交流，每年共{2 * summary['teachers_exchanged_per_year']}人，"
            f"占全县符合交流条件教师{summary['eligible_teachers']:,.0f}人的{100 * share:.1f}%。"
        )
        ws.write_string(n + 3, 0, note, f["note"])
