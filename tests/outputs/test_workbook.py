"""plan.xlsx: the layout table (布局规划表) and the summary (汇总), read back with openpyxl."""

from __future__ import annotations

from typing import get_args

import openpyxl
import pandas as pd
import pytest

from planner.config.scenario import BudgetConfig
from planner.outputs.labels import COST_ZH
from planner.outputs.workbook import HEADERS, LAYOUT_SHEET, SUMMARY_SHEET
from tests.appendix_case import run_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return run_folder(str(tmp_path_factory.getbasetemp() / "appendix"))


@pytest.fixture(scope="module")
def book(folder):
    return openpyxl.load_workbook(folder / "plan.xlsx", data_only=True)


def _rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=3, values_only=True) if r[1] is not None]


def test_sheets_and_headers(book):
    assert book.sheetnames[:2] == [LAYOUT_SHEET, SUMMARY_SHEET]
    ws = book[LAYOUT_SHEET]
    heads = [c.value for c in ws[2]]
    assert heads == list(HEADERS)
    for h in (
        "学校名称",
        "现状类型",
        "规划类型",
        "调整方式",
        "并入学校",
        "班级数",
        "在校生",
        "寄宿生",
        "新增教学用房面积(m²)",
        "新增生活用房面积(m²)",
        "新增体育场地面积(m²)",
        "投资(万元)",
    ):
        assert h in heads
    assert ws.freeze_panes == "C3"
    assert ws.column_dimensions["B"].width >= 20


def test_one_row_per_school_with_chinese_labels(book, folder):
    s = pd.read_csv(folder / "schools.csv", dtype=str, keep_default_na=False)
    rows = [r for r in _rows(book[LAYOUT_SHEET]) if r[2]]  # school rows carry a code, totals do not
    assert sorted(r[2] for r in rows) == sorted(s["school_id"])
    by_id = {r[2]: dict(zip(HEADERS, r)) for r in rows}
    assert by_id["T2"]["规划类型"] == "撤销" and by_id["T2"]["调整方式"] == "撤并"
    merged = s.set_index("school_id").at["T2", "merged_into"]
    assert by_id["T2"]["并入学校"] == s.set_index("school_id").at[merged, "name"]
    assert (
        by_id["C1"]["调整方式"] == "新建" and by_id["C1"]["现状类型"] == "—" and by_id["C1"]["规划类型"] == "完全小学"
    )
    assert by_id["P1"]["现状类型"] == "完全小学" and by_id["P1"]["规划类型"] == "九年一贯制学校"
    assert by_id["T1"]["现状类型"] == "教学点"


def test_rows_grouped_by_township_with_subtotals_and_county_total(book, folder):
    s = pd.read_csv(folder / "schools.csv", keep_default_na=False)
    rows = _rows(book[LAYOUT_SHEET])
    col = {h: i for i, h in enumerate(HEADERS)}
    # township blocks are contiguous, each closed by its subtotal
    seen, current = [], None
    for r in rows:
        if r[col["学校代码"]]:
            if r[0] != current:
                assert r[0] not in seen, f"township {r[0]} split in two blocks"
                seen.append(r[0])
                current = r[0]
        elif str(r[1]).startswith(f"{current}小计"):
            g = s[s["township"] == current]
            assert r[col["投资(万元)"]] == pytest.approx(g["cost_10k_yuan"].sum(), abs=1e-3)
            assert r[col["在校生"]] == pytest.approx(
                g[["pupils_g1_3", "pupils_g4_6", "pupils_g7_9"]].sum().sum(), abs=1e-3
            )
            assert r[col["新增教学用房面积(m²)"]] == pytest.approx(g["teaching_area_added_m2"].sum(), abs=1e-2)
    total = rows[-1]
    assert str(total[1]).startswith("全县合计")
    assert total[col["投资(万元)"]] == pytest.approx(s["cost_10k_yuan"].sum(), abs=1e-3)
    assert total[col["寄宿生"]] == pytest.approx(s["boarders"].sum(), abs=1e-3)
    assert total[col["班级数"]] == s["classes_primary"].sum() + s["classes_junior"].sum()
    assert sorted(seen) == sorted(set(s["township"]))


def test_totals_are_live_formulas_and_numbers_are_formatted(folder):
    ws = openpyxl.load_workbook(folder / "plan.xlsx")[LAYOUT_SHEET]
    formulas = [
        c.value
        for row in ws.iter_rows(min_row=3)
        for c in row
        if isinstance(c.value, str) and c.value.startswith("=SUM(")
    ]
    assert len(formulas) >= 3 * 12  # two subtotals and the total, twelve numeric columns each
    fmt = {c.number_format for c in ws["S"][2:6]}
    assert fmt == {"#,##0.0"}


def test_summary_sheet_against_targets_and_budget(book, folder):
    import json

    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    ws = book[SUMMARY_SHEET]
    assert [c.value for c in ws[2]] == ["类别", "指标", "规划值", "目标/上限/预算", "是否达到"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=3, values_only=True) if r[1]}
    assert rows["投资合计"][2] == pytest.approx(summary["cost_10k_yuan"]["total"], abs=1e-3)
    junior = next(r for k, r in rows.items() if k.startswith("初级中学"))
    assert junior[2] == summary["counts_after"]["junior"] and junior[3] == "1–2" and junior[4] == "达到"
    assert rows["寄宿生合计"][2] == pytest.approx(summary["boarders"]["total"])
    assert rows["初中7–9年级最远"][3] == 40.0 and rows["初中7–9年级最远"][4] == "达到"


def test_every_cost_category_has_a_chinese_label():
    """汇总 and compare label each cost category a budget may limit in Chinese, never by its key."""
    key_type, _ = get_args(BudgetConfig.model_fields["by_category_10k_yuan"].annotation)
    categories = set(get_args(key_type))
    assert len(categories) == 10 and categories <= set(COST_ZH)
    assert not any(COST_ZH[k].isascii() for k in categories)  # Chinese, not the key
