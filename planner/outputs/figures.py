"""The plan's figures against its targets, limits and budget: the rows of
plan.xlsx's 汇总 sheet and of the report's table (group, item, plan value,
target or limit, met): the solve, school counts and actions, costs and
added areas, running costs, nearest-zone shares, campuses and school groups,
pupils and trips."""

from __future__ import annotations

from planner.data.problem import Problem
from planner.domain import AREA_KINDS, BANDS, TYPES
from planner.outputs.labels import (
    AREA_ZH,
    BAND_ZH,
    BUDGET_SCOPE_ZH,
    COST_ZH,
    LEVEL_ZH,
    STATUS_ZH,
    action_label,
    type_label,
)


def _bounds_text(lo, hi) -> str:
    if lo is not None and lo == hi:
        return f"{lo}"
    if lo is None and hi is None:
        return ""
    return f"{'' if lo is None else lo}–{'' if hi is None else hi}"


Row = tuple[str, str, object, object, str]
"""(group, item, plan value, target or limit, met) of the 汇总 sheet and the report."""

MET = {True: "达到", False: "未达到"}


def _within(value: float, limit: float | None) -> tuple[object, str]:
    """The limit and whether ``value`` keeps it ('' for no limit)."""
    return ("", "") if limit is None else (float(limit), MET[value <= limit + 1e-6])


def _solve_and_count_rows(summary: dict) -> list[Row]:
    status, gap = str(summary.get("status")), summary.get("mip_gap")
    rows: list[Row] = [
        ("求解", "求解状态", STATUS_ZH.get(status, status), "", ""),
        ("求解", "相对最优间隙", "" if gap is None else float(gap), "", ""),
    ]
    targets = summary.get("targets", {})
    before, after = summary.get("counts_before", {}), summary.get("counts_after", {})
    for t in TYPES:
        tgt = targets.get(t)
        bounds, met = (_bounds_text(tgt["min"], tgt["max"]), MET[tgt["met"]]) if tgt else ("", "")
        rows.append(("学校数（所）", f"{type_label(t)}：现状 {before.get(t, 0)}，规划", after.get(t, 0), bounds, met))
    rows += [("调整方式（所）", action_label(a), n, "", "") for a, n in summary.get("actions", {}).items()]
    return rows


def _cost_rows(summary: dict, problem: Problem | None) -> list[Row]:
    cost, budget = summary.get("cost_10k_yuan", {}), summary.get("budget_10k_yuan")
    by_cat = problem.scenario.budget.by_category_10k_yuan if problem is not None else {}
    rows: list[Row] = [
        ("投资（万元）", COST_ZH.get(k, k), float(v), *_within(float(v), by_cat.get(k)))
        for k, v in cost.items()
        if k != "total"
    ]
    tot = float(cost.get("total", 0.0))
    used = float(summary.get("cost_budgeted_10k_yuan", tot))
    label = "投资合计"
    part = BUDGET_SCOPE_ZH.get(summary.get("budget_covers", "all"))
    if part:  # the budget limits a part: show the whole, then the part
        rows.append(("投资（万元）", label, tot, "", ""))
        label = f"其中{part}"
    rows.append(("投资（万元）", label, used, *_within(used, budget)))
    rows += [
        ("新增面积（m²）", AREA_ZH[k], float(summary.get("added_area_m2", {}).get(k, 0.0)), "", "") for k in AREA_KINDS
    ]
    return rows


def _pupil_and_trip_rows(summary: dict, problem: Problem | None) -> list[Row]:
    pupils, boarders = summary.get("pupils", {}), summary.get("boarders", {})
    limits = problem.scenario.policy.max_trip_km if problem is not None else {}
    rows: list[Row] = []
    for b in BANDS:
        rows.append(("学生（人）", f"{BAND_ZH[b]}在校生", float(pupils.get(b, 0.0)), "", ""))
        rows.append(("学生（人）", f"{BAND_ZH[b]}寄宿生", float(boarders.get(b, 0.0)), "", ""))
    rows.append(("学生（人）", "寄宿生合计", float(boarders.get("total", 0.0)), "", ""))
    for b in BANDS:
        far = float(summary.get("max_trip_km", {}).get(b, 0.0))
        rows.append(
            ("上学距离（公里）", f"{BAND_ZH[b]}平均", float(summary.get("mean_trip_km", {}).get(b, 0.0)), "", "")
        )
        rows.append(("上学距离（公里）", f"{BAND_ZH[b]}最远", far, *_within(far, limits.get(b))))
        rows.append(
            ("上学距离（公里）", f"{BAND_ZH[b]}人·公里", float(summary.get("pupil_km", {}).get(b, 0.0)), "", "")
        )
    return rows


def _operating_rows(summary: dict) -> list[Row]:
    """Running costs a year, today's and the plan's, and over the horizon (``operating:``)."""
    op = summary.get("operating")
    if not op:
        return []
    after, now, group = op["per_year_10k_yuan"], op["today_per_year_10k_yuan"], "运行成本（万元/年）"
    rows: list[Row] = [
        (group, f"{label}：现状 {now[k]:,.1f}，规划", after[k], "", "")
        for k, label in (("funds", "公用经费"), ("floor", "其中小规模学校按最低人数核定"), ("salaries", "教师工资"))
    ]
    rows.append((group, "寄宿生活费用（规划）", after["boarding"], "", ""))
    years, was = op["horizon_years"], op["today_funds_and_salaries_over_horizon_10k_yuan"]
    label = f"{years}年公用经费和教师工资：现状 {was:,.1f}，规划"
    rows.append(("运行成本（万元）", label, op["funds_and_salaries_over_horizon_10k_yuan"], "", ""))
    return rows


def _zone_rows(summary: dict) -> list[Row]:
    """Nearest-zone enrolment: the share of the zone's pupils at their nearest school, against the share required."""
    rows: list[Row] = []
    for lv, z in (summary.get("nearest_zone") or {}).items():
        share = "" if z["share"] is None else round(100 * z["share"], 2)
        label = f"{LEVEL_ZH[lv]}在最近学校就读（%，{z['at_nearest']:,.0f}/{z['pupils']:,.0f}人）"
        met = MET[z["share"] is None or z["share"] >= z["required"] - 1e-9]
        rows.append(("就近划片入学", label, share, f">= {100 * z['required']:g}", met))
    return rows


def _group_rows(summary: dict, problem: Problem | None) -> list[Row]:
    """Campuses kept (一校两区) and the school groups with their teacher rotation (集团化办学, 交流轮岗)."""
    rows: list[Row] = []
    c = summary.get("campuses")
    if c:
        rows.append(("一校两区", "保留为校区（所，计入所属学校）", c["count"], "", ""))
    g = summary.get("groups")
    if not g:
        return rows
    cfg = problem.scenario.groups if problem is not None else None
    group = "集团化办学"
    rows += [
        (group, "教育集团（个）", g["groups"], "", ""),
        (group, "成员校（所）", g["members"], "", ""),
        (group, "无核心校可带的学校（所）", len(g["alone"]), 0, MET[not g["alone"]]),
        (group, "每年交流轮岗教师（人，核心校与成员校各派）", g["teachers_exchanged_per_year"], "", ""),
        (group, "其中核心校派出骨干教师（人）", g["backbone_sent_per_year"], "", ""),
    ]
    bb = g.get("backbone_share")
    if bb is not None:
        need_bb = None if cfg is None else 100 * cfg.backbone_share
        met_bb = "" if need_bb is None else MET[100 * bb >= need_bb - 1e-9]
        rows.append(
            (
                group,
                "骨干教师占交流轮岗教师（%）",
                round(100 * bb, 2),
                "" if need_bb is None else f">= {need_bb:g}",
                met_bb,
            )
        )
    share = g.get("rotating_share")
    if share is not None:
        need = None if cfg is None else 100 * cfg.rotation_share
        label = f"交流轮岗教师占符合条件教师（%，{g['eligible_teachers']:,.0f}人）"
        rows.append(
            (
                group,
                label,
                round(100 * share, 2),
                "" if need is None else f">= {need:g}",
                "" if need is None else MET[100 * share >= need - 1e-9],
            )
        )
    return rows


def summary_rows(summary: dict, problem: Problem | None = None) -> list[Row]:
    """The rows of the 汇总 sheet and the report: solve, school counts and
    actions, costs against the budget, added areas, running costs, pupils, trips."""
    return [
        *_solve_and_count_rows(summary),
        *_cost_rows(summary, problem),
        *_operating_rows(summary),
        *_zone_rows(summary),
        *_group_rows(summary, problem),
        *_pupil_and_trip_rows(summary, problem),
    ]
