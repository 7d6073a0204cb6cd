"""plan.xlsx: the layout table of the plan appendix (布局规划表) and the summary (汇总).

Sheet ``布局规划表``: one row per existing school and new build, grouped by
township (in the order townships first appear in the plan), a subtotal row per
township and a county total; Chinese headers and labels, frozen header, widths
and number formats. Totals are SUM formulas carrying their computed values, so
the sheet stays live when an official edits it and reads right in any viewer.

Sheet ``汇总``: the summary figures against the targets, limits and budget.
Its rows are :mod:`planner.outputs.figures`'s, which the HTML report shows too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from planner.assess.decode import Plan
from planner.assess.indicators import level_table
from planner.config.scenario import Scenario
from planner.config.standards import INDICATORS
from planner.data.problem import Problem
from planner.domain import BANDS
from planner.outputs.figures import summary_rows
from planner.outputs.groupsheet import write_group_sheet
from planner.outputs.labels import (
    BUILT_ZH,
    COST_ZH,
    INDICATOR_ZH,
    LEVEL_ZH,
    OPTIONAL_ZH,
    STANDARD_STATUS_ZH,
    action_label,
    joined_school,
    type_label,
)
from planner.outputs.phasesheet import write_phase_sheet

LAYOUT_SHEET = "布局规划表"
SUMMARY_SHEET = "汇总"
PROJECTS_SHEET = "项目清单"
WORKBOOK_NAME = "plan.xlsx"

LAYOUT_COLUMNS: tuple[tuple[str, str, str, float], ...] = (
    # (header, source column, kind: text / int / num1 / num0, width)
    ("乡镇", "township", "text", 12),
    ("学校名称", "name", "text", 26),
    ("学校代码", "school_id", "text", 10),
    ("现状类型", "type_before_zh", "text", 14),
    ("规划类型", "type_after_zh", "text", 14),
    ("调整方式", "action_zh", "text", 14),
    ("并入学校", "merged_into_name", "text", 24),
    ("班级数", "classes", "int", 8),
    ("其中小学班级", "classes_primary", "int", 8),
    ("其中初中班级", "classes_junior", "int", 8),
    ("在校生", "pupils", "int", 9),
    ("1–3年级", "pupils_g1_3", "int", 8),
    ("4–6年级", "pupils_g4_6", "int", 8),
    ("7–9年级", "pupils_g7_9", "int", 8),
    ("寄宿生", "boarders", "int", 8),
    ("新增教学用房面积(m²)", "teaching_area_added_m2", "num0", 13),
    ("新增生活用房面积(m²)", "living_area_added_m2", "num0", 13),
    ("新增体育场地面积(m²)", "sports_area_added_m2", "num0", 13),
    ("投资(万元)", "cost_10k_yuan", "num1", 11),
)
"""Columns of the layout table; numeric columns are summed in the subtotal rows."""

HEADERS = tuple(h for h, *_ in LAYOUT_COLUMNS)

PHASE_COLUMN = ("实施阶段", "phase_zh", "text", 18)
"""A phased plan's column: the phase each change takes effect in, and its first year."""


def layout_columns(plan: Plan) -> tuple[tuple[str, str, str, float], ...]:
    """The layout table's columns; a phased plan's add 实施阶段 after 调整方式."""
    if plan.phases is None:
        return LAYOUT_COLUMNS
    at = [src for _, src, _, _ in LAYOUT_COLUMNS].index("action_zh") + 1
    return (*LAYOUT_COLUMNS[:at], PHASE_COLUMN, *LAYOUT_COLUMNS[at:])


def layout_table(plan: Plan) -> pd.DataFrame:
    """The schools table with Chinese labels and the layout table's columns
    (source names of :data:`LAYOUT_COLUMNS`), grouped by township, in plan order."""
    s = plan.schools.copy()
    names = s.set_index("school_id")["name"]
    s["township"] = s["township"].fillna("").replace("", "（未注明）")
    s["type_before_zh"] = [("—" if t == "none" else type_label(t)) for t in s["type_before"]]
    s["type_after_zh"] = s["type_after"].map(type_label)
    s["action_zh"] = [action_label(a, t) for a, t in zip(s["action"], s["type_after"])]
    s["merged_into_name"] = joined_school(s).map(lambda i: names.get(i, i) if i else "")
    s["classes"] = s["classes_primary"] + s["classes_junior"]
    s["pupils"] = s[[f"pupils_{b}" for b in BANDS]].sum(axis=1)
    if "phase" in s.columns:
        s["phase_zh"] = [f"{p}（{int(y)}年起）" if p else "" for p, y in zip(s["phase"], s["phase_year"].fillna(0))]
    order = {t: i for i, t in enumerate(dict.fromkeys(s["township"]))}
    s["_twp"] = s["township"].map(order)
    s = s.sort_values(["_twp"], kind="stable")
    return s[[c for _, c, _, _ in layout_columns(plan)]].reset_index(drop=True)


def _count_text(rows: pd.DataFrame) -> str:
    """'规划后17所，撤并4所' for a group of layout rows."""
    shut = int((rows["type_after_zh"] == type_label("closed")).sum())
    return f"规划后{len(rows) - shut}所" + (f"，撤并撤销{shut}所" if shut else "")


def _formats(wb: xlsxwriter.Workbook) -> dict:
    base = {"font_name": "等线", "font_size": 10, "border": 1, "valign": "vcenter"}
    f = {
        "title": wb.add_format(
            {"font_name": "等线", "bold": True, "font_size": 14, "align": "center", "valign": "vcenter"}
        ),
        "head": wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "align": "center", "text_wrap": True}),
        "text": wb.add_format(base),
        "int": wb.add_format({**base, "num_format": "#,##0"}),
        "num0": wb.add_format({**base, "num_format": "#,##0"}),
        "num1": wb.add_format({**base, "num_format": "#,##0.0"}),
        "num2": wb.add_format({**base, "num_format": "#,##0.00"}),
        "pct": wb.add_format({**base, "num_format": "0.00%"}),
        "note": wb.add_format({"font_name": "等线", "font_size": 9, "italic": True, "font_color": "#555555"}),
    }
    for level, colour in (("sub", "#F2F2F2"), ("tot", "#FCE4D6")):
        for k in ("text", "int", "num0", "num1"):
            f[f"{level}_{k}"] = wb.add_format(
                {**base, "bold": True, "bg_color": colour, **({} if k == "text" else {"num_format": f[k].num_format})}
            )
    return f


def _write_layout(
    wb: xlsxwriter.Workbook,
    f: dict,
    table: pd.DataFrame,
    title: str,
    columns=LAYOUT_COLUMNS,
    projects: pd.DataFrame | None = None,
) -> None:
    ws = wb.add_worksheet(LAYOUT_SHEET)
    ncol = len(columns)
    ws.merge_range(0, 0, 0, ncol - 1, title, f["title"])
    ws.set_row(0, 26)
    ws.set_row(1, 42)
    for c, (head, _, _, width) in enumerate(columns):
        ws.write_string(1, c, head, f["head"])
        ws.set_column(c, c, width)
    ws.freeze_panes(2, 2)
    numeric = [c for c, (_, _, kind, _) in enumerate(columns) if kind != "text"]
    row, sub_rows = 2, []
    for twp, grp in table.groupby("township", sort=False):
        first = row
        for rec in grp.itertuples(index=False):
            for c, (_, src, kind, _) in enumerate(columns):
                v = getattr(rec, src)
                if kind == "text":
                    ws.write_string(row, c, "" if pd.isna(v) else str(v), f["text"])
                else:
                    ws.write_number(row, c, round(float(v), 4), f[kind])
            row += 1
        ws.write_string(row, 0, twp, f["sub_text"])
        ws.write_string(row, 1, f"{twp}小计（{_count_text(grp)}）", f["sub_text"])
        for c in range(2, ncol):
            if c in numeric:
                src, kind = columns[c][1], columns[c][2]
                rng = f"{xl_rowcol_to_cell(first, c)}:{xl_rowcol_to_cell(row - 1, c)}"
                ws.write_formula(row, c, f"=SUM({rng})", f[f"sub_{kind}"], round(float(grp[src].sum()), 4))
            else:
                ws.write_blank(row, c, None, f["sub_text"])
        sub_rows.append(row)
        row += 1
    ws.write_string(row, 0, "全县", f["tot_text"])
    ws.write_string(row, 1, f"全县合计（{_count_text(table)}）", f["tot_text"])
    for c in range(2, ncol):
        if c in numeric:
            src, kind = columns[c][1], columns[c][2]
            cells = ",".join(xl_rowcol_to_cell(r, c) for r in sub_rows) or "0"
            ws.write_formula(row, c, f"=SUM({cells})", f[f"tot_{kind}"], round(float(table[src].sum()), 4))
        else:
            ws.write_blank(row, c, None, f["tot_text"])
    total_row = row
    if projects is not None:
        row = _project_rows(ws, f, table, projects, columns, row)
    ws.write_string(
        row + 2,
        0,
        "注：在校生、寄宿生为规划目标年学生数；投资含新增用房、体育场地、新建学校、升级改造和征地费用。",
        f["note"],
    )
    ws.autofilter(1, 0, total_row - 1, ncol - 1)


def _project_rows(ws, f: dict, table: pd.DataFrame, projects: pd.DataFrame, columns, total_row: int) -> int:
    """Below the county's total: the projects outside the sites, then the total with them; the last row."""
    built = projects[projects["built"]]
    col = next(c for c, (_, src, _, _) in enumerate(columns) if src == "cost_10k_yuan")
    own = float(built["cost_10k_yuan"].sum())
    ws.write_string(total_row + 1, 1, f"县级项目（不在校址，{len(built)}项，见{PROJECTS_SHEET}）", f["tot_text"])
    ws.write_number(total_row + 1, col, own, f["tot_num1"])
    ws.write_string(total_row + 2, 1, "全县投资总计（含县级项目）", f["tot_text"])
    both = f"={xl_rowcol_to_cell(total_row, col)}+{xl_rowcol_to_cell(total_row + 1, col)}"
    ws.write_formula(total_row + 2, col, both, f["tot_num1"], float(table["cost_10k_yuan"].sum()) + own)
    return total_row + 2


def _write_projects(wb: xlsxwriter.Workbook, f: dict, projects: pd.DataFrame) -> None:
    """Sheet 项目清单: each project outside the sites, its category and cost, and whether the plan builds it."""
    ws = wb.add_worksheet(PROJECTS_SHEET)
    heads = ("项目名称", "投资类别", "投资(万元)", "必建或可选", "价值(学生·公里当量)", "是否建设")
    for c, (h, w) in enumerate(zip(heads, (30, 16, 12, 12, 18, 10))):
        ws.write_string(0, c, h, f["head"])
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 1)
    for r, p in enumerate(projects.itertuples(index=False), start=1):
        ws.write_string(r, 0, p.name, f["text"])
        ws.write_string(r, 1, COST_ZH.get(p.category, p.category), f["text"])
        ws.write_number(r, 2, float(p.cost_10k_yuan), f["num1"])
        ws.write_string(r, 3, OPTIONAL_ZH[bool(p.optional)], f["text"])
        ws.write_number(r, 4, float(p.value), f["num1"])
        ws.write_string(r, 5, BUILT_ZH[bool(p.built)], f["text"])
    n = len(projects)
    ws.write_string(n + 1, 0, "建设项目合计", f["tot_text"])
    costs, built = (f"{xl_rowcol_to_cell(1, c)}:{xl_rowcol_to_cell(n, c)}" for c in (2, 5))
    total = float(projects.loc[projects["built"], "cost_10k_yuan"].sum())
    ws.write_formula(n + 1, 2, f'=SUMIF({built},"{BUILT_ZH[True]}",{costs})', f["tot_num1"], total)


def _write_summary(wb: xlsxwriter.Workbook, f: dict, summary: dict, problem: Problem, title: str) -> None:
    ws = wb.add_worksheet(SUMMARY_SHEET)
    ws.merge_range(0, 0, 0, 4, title, f["title"])
    for c, (h, w) in enumerate((("类别", 16), ("指标", 34), ("规划值", 16), ("目标/上限/预算", 16), ("是否达到", 10))):
        ws.write_string(1, c, h, f["head"])
        ws.set_column(c, c, w)
    ws.freeze_panes(2, 0)
    for r, (group, item, val, tgt, met) in enumerate(summary_rows(summary, problem), start=2):
        ws.write_string(r, 0, group, f["text"])
        ws.write_string(r, 1, item, f["text"])
        for c, v in ((2, val), (3, tgt)):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                kind = (
                    "pct"
                    if item == "相对最优间隙"
                    else ("int" if isinstance(v, int) or group.startswith("学生") else "num1")
                )
                ws.write_number(r, c, v, f[kind])
            else:
                ws.write_string(r, c, str(v), f["text"])
        ws.write_string(r, 4, met, f["text"])
    r = len(summary_rows(summary, problem)) + 3
    for w in summary.get("warnings", []):
        ws.write_string(r, 0, f"提示：{w}", f["note"])
        r += 1


STANDARD_SHEET = "达标情况"

STANDARD_HEADERS_ZH = {
    "school_id": "学校代码",
    "name": "学校名称",
    "type_after": "规划后类型",
    "level": "学段",
    "pupils": "学生数",
    **{k: INDICATOR_ZH[k] for k in INDICATORS},
    "reached": "达标项数",
    "status": "是否达标",
}


def standard_sheet(sites: pd.DataFrame, schools: pd.DataFrame, scen: Scenario) -> pd.DataFrame:
    """The 达标情况 sheet: one row per open school and level, the seven
    indicators after the plan, indicators reached and pass or fail, with
    Chinese headers and labels."""
    t = level_table(sites, schools, scen)
    info = schools.set_index("school_id")
    t.insert(1, "name", t["school_id"].map(info["name"]) if "name" in info else "")
    t.insert(2, "type_after", t["school_id"].map(info["type_after"]).map(type_label))
    t["level"] = t["level"].map(LEVEL_ZH)
    t["status"] = t["status"].map(STANDARD_STATUS_ZH)
    t = t[list(STANDARD_HEADERS_ZH)].round(dict.fromkeys(INDICATORS, 3) | {"pupils": 1})
    return t.rename(columns=STANDARD_HEADERS_ZH)


def _write_standard(wb: xlsxwriter.Workbook, f: dict, problem: Problem, plan: Plan) -> None:
    """Sheet 达标情况: the seven indicators per open school and level after
    the plan, indicators reached and pass or fail."""
    t = standard_sheet(problem.sites, plan.schools, problem.scenario)
    ws = wb.add_worksheet(STANDARD_SHEET)
    for c, h in enumerate(t.columns):
        ws.write_string(0, c, str(h), f["head"])
        ws.set_column(c, c, 14)
    ws.freeze_panes(1, 2)
    for r, row in enumerate(t.itertuples(index=False), start=1):
        for c, v in enumerate(row):
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
                ws.write_number(r, c, float(v), f["num2"])
            else:
                ws.write_string(r, c, "" if v is None or v != v else str(v), f["text"])


def write_workbook(problem: Problem, plan: Plan, summary: dict, folder: Path) -> None:
    """Write plan.xlsx (sheets 布局规划表 and 汇总) into the run folder."""
    head = problem.scenario.title or problem.scenario.name
    wb = xlsxwriter.Workbook(str(Path(folder) / WORKBOOK_NAME))
    wb.set_properties(
        {"title": head, "subject": "学校布局规划表", "created": pd.Timestamp("2030-01-01").to_pydatetime()}
    )
    f = _formats(wb)
    _write_layout(wb, f, layout_table(plan), f"{head}——学校布局规划表", layout_columns(plan), plan.projects)
    if plan.phases is not None:
        write_phase_sheet(wb, f, summary, plan, f"{head}——分期实施")
    _write_summary(wb, f, summary, problem, f"{head}——规划汇总")
    _write_standard(wb, f, problem, plan)
    if plan.projects is not None:
        _write_projects(wb, f, plan.projects)
    if plan.groups is not None:
        write_group_sheet(wb, f, plan.groups, summary.get("groups", {}))
    wb.close()
