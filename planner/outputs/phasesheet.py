"""The 分期实施 table of a phased plan: per phase, its years, pupils,
spending by category against its budget, and the schools it opens and
closes (the workbook's sheet and the report's section)."""

from __future__ import annotations

import pandas as pd

from planner.assess.decode import Plan
from planner.domain import CONSTRUCTION_COSTS

PHASE_SHEET = "分期实施"

COST_LABELS = {
    "teaching": "教学及辅助用房",
    "living": "生活用房",
    "sports": "体育运动场地",
    "new_build": "新建学校",
    "upgrade": "升级改造",
    "land": "征地",
}
"""Construction categories; the others (equipment, rooms, staff) are summed as 装备及师资."""


def planned_for(phase: dict) -> str:
    """The years a phase is planned for, in words: one year, or every year of a span (envelope)."""
    if phase.get("plan_year") is not None:
        return str(phase["plan_year"])
    years = phase.get("plan_years")
    return f"{years[0]}–{years[1]}逐年最大" if years else ""


def phase_table(summary: dict, plan: Plan) -> pd.DataFrame:
    """One row per phase (Chinese headers), then the whole plan's total."""
    s = plan.schools
    rows = []
    for p in summary["phases"]:
        cost = p["cost_10k_yuan"]
        in_phase = s[s["phase"] == p["name"]]
        row = {
            "阶段": p["name"],
            "起止年份": f"{p['first_year']}–{p['last_year']}",
            "按学生数年份": planned_for(p),
            "在校生": p["pupils"]["total"],
            "寄宿生": p["boarders"],
            **{f"{label}(万元)": cost.get(k, 0.0) for k, label in COST_LABELS.items()},
            "装备及师资(万元)": sum(v for k, v in cost.items() if k not in (*CONSTRUCTION_COSTS, "total")),
            "投资合计(万元)": cost["total"],
            "计入预算(万元)": p["cost_budgeted_10k_yuan"],
            "阶段预算(万元)": p["budget_10k_yuan"] if p["budget_10k_yuan"] is not None else "",
            "新建学校(所)": int((in_phase["action"] == "new").sum()),
            "撤并撤销(所)": int(in_phase["type_after"].eq("closed").sum()),
            "类型调整(所)": int(in_phase["action"].isin(["upgrade", "downgrade"]).sum()),
        }
        rows.append(row)
    t = pd.DataFrame(rows)
    total = {c: (t[c].sum() if c.endswith("(万元)") or c.endswith("(所)") else "") for c in t.columns}
    total.update({"阶段": "合计", "阶段预算(万元)": summary.get("budget_10k_yuan") or ""})
    return pd.concat([t, pd.DataFrame([total])], ignore_index=True)


def digits(column: str) -> int:
    """Decimals shown: one for money (万元), none for pupils and schools."""
    return 1 if column.endswith("(万元)") else 0


def write_phase_sheet(wb, f: dict, summary: dict, plan: Plan, title: str) -> None:
    """The 分期实施 sheet of plan.xlsx."""
    t = phase_table(summary, plan)
    ws = wb.add_worksheet(PHASE_SHEET)
    ws.merge_range(0, 0, 0, len(t.columns) - 1, title, f["title"])
    ws.set_row(1, 42)
    for c, head in enumerate(t.columns):
        ws.write_string(1, c, head, f["head"])
        ws.set_column(c, c, 14 if c else 12)
    for r, rec in enumerate(t.itertuples(index=False), start=2):
        last = r == len(t) + 1
        for c, v in enumerate(rec):
            if isinstance(v, str):
                ws.write_string(r, c, v, f["tot_text" if last else "text"])
            else:
                kind = "num1" if digits(t.columns[c]) else "num0"
                ws.write_number(r, c, round(float(v), 1), f[f"tot_{kind}" if last else kind])
    ws.freeze_panes(2, 1)
