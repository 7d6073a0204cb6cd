"""report.html: one self-contained page for officials.

The headline figures against targets and budget, the maps, the layout table and
the warnings, in one HTML file that needs nothing else: the maps are embedded
as base64 PNG (downscaled from the 300 dpi files), the styles are inline, there
is no script and no link to the network, so the page opens offline, can be
mailed as one file and prints as the plan appendix.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import matplotlib
import pandas as pd
from PIL import Image

from planner import __version__
from planner.assess.decode import Plan
from planner.data.problem import Problem
from planner.domain import TYPES
from planner.outputs.figures import summary_rows
from planner.outputs.groupsheet import GROUP_HEADERS, group_rows
from planner.outputs.labels import (
    BAND_ZH,
    BUDGET_SCOPE_ZH,
    BUILT_ZH,
    COST_ZH,
    DIRECTION_ZH,
    OPTIONAL_ZH,
    STATUS_ZH,
    type_label,
)
from planner.outputs.maps import figures, map_names, source_line, style
from planner.outputs.phasesheet import digits, phase_table
from planner.outputs.workbook import layout_columns, layout_table

REPORT_NAME = "report.html"
IMAGE_WIDTH_PX = 1800

MAP_CAPTIONS = {
    "layout_before": "图1 现状学校布局",
    "layout_after": "图2 规划学校布局（撤并去向、新建学校）",
    "catchments_g1_3": f"图3 {BAND_ZH['g1_3']}学校服务范围",
    "catchments_g4_6": f"图4 {BAND_ZH['g4_6']}学校服务范围",
    "catchments_g7_9": f"图5 {BAND_ZH['g7_9']}学校服务范围",
    "investments": "图6 新增建设规模",
    "phases": "图7 分期实施（各阶段的新建、撤并和升降格）",
    "groups": "图8 集团化办学与一校两区",
}

CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
 margin:0;background:#f4f4f2;color:#222;line-height:1.5}
main{max-width:1200px;margin:0 auto;padding:24px 32px;background:#fff}
h1{font-size:26px;margin:8px 0 4px}
h2{font-size:20px;border-bottom:2px solid #1f66b3;padding-bottom:4px;margin-top:36px}
.sub{color:#555;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;background:#fafafa}
.card .k{font-size:13px;color:#555}.card .v{font-size:24px;font-weight:bold}.card .t{font-size:12px;color:#666}
.ok{color:#1a7f37}.bad{color:#c00000}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border:1px solid #ccc;padding:3px 6px} .layout td{white-space:nowrap} .kv{width:auto}
th{background:#ddebf7;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.sub td{background:#f2f2f2;font-weight:bold} tr.tot td{background:#fce4d6;font-weight:bold}
figure{margin:18px 0;text-align:center} figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:14px;color:#333;margin-top:4px}
.wrap{max-height:640px;overflow:auto;border:1px solid #ddd}
.warn li{color:#8a5a00} footer{font-size:12px;color:#666;margin-top:32px;border-top:1px solid #ddd;padding-top:8px}
@media print{.wrap{max-height:none;overflow:visible} main{padding:0}}
"""


def _esc(x: object) -> str:
    return html.escape(str(x))


def png_data_uri(png: bytes, width_px: int = IMAGE_WIDTH_PX) -> str:
    """A PNG reduced to at most ``width_px`` wide, as a data: URI."""
    im: Image.Image = Image.open(io.BytesIO(png))
    if im.width > width_px:  # box-filter reduction by a whole factor: fast and sharp enough on screen
        im = im.reduce(math.ceil(im.width / width_px))
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def map_images(problem: Problem, plan: Plan, summary: dict, folder: Path) -> dict[str, str]:
    """The maps as data URIs: read from ``maps/`` when the maps writer ran first,
    otherwise drawn here (at 150 dpi)."""
    d = Path(folder) / "maps"
    names = map_names(plan)
    if all((d / f"{n}.png").exists() for n in names):
        return {n: png_data_uri((d / f"{n}.png").read_bytes()) for n in names}
    out = {}
    with matplotlib.rc_context(style()):
        for name, fig in figures(problem, plan, summary):
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=150)
            out[name] = png_data_uri(buf.getvalue())
    return out


def _num(v: object, digits: int = 0) -> str:
    if isinstance(v, str) or v is None:
        return _esc(v or "")
    return f"{v:,.{digits}f}"


def _cards(summary: dict) -> str:
    cost, budget = summary["cost_10k_yuan"]["total"], summary.get("budget_10k_yuan")
    used = summary.get("cost_budgeted_10k_yuan", cost)
    part = BUDGET_SCOPE_ZH.get(summary.get("budget_covers", "all"))
    scope = f"（{part}部分）" if part else ""
    cards = []
    share = f"预算{scope} {budget:,.0f} 万元，占 {100 * used / budget:.1f}%" if budget else "未设预算"
    cls = "ok" if budget is None or used <= budget + 1e-6 else "bad"
    cards.append(("投资合计（万元）", f"<span class='{cls}'>{cost:,.0f}</span>", share))
    after, targets = summary.get("counts_after", {}), summary.get("targets", {})
    for t in TYPES:
        tgt = targets.get(t)
        if not after.get(t) and not tgt:
            continue
        note = f"现状 {summary.get('counts_before', {}).get(t, 0)} 所"
        if tgt:
            want = tgt["min"] if tgt["min"] == tgt["max"] else f"{tgt['min'] or ''}–{tgt['max'] or ''}"
            note += f"；目标 {want}" + ("（达到）" if tgt["met"] else "（未达到）")
        cls = "" if not tgt else ("ok" if tgt["met"] else "bad")
        cards.append((f"规划{type_label(t)}（所）", f"<span class='{cls}'>{after.get(t, 0)}</span>", note))
    acts = summary.get("actions", {})
    cards.append(
        (
            "撤并 / 新建（所）",
            f"{acts.get('merge', 0) + acts.get('close', 0)} / {acts.get('new', 0)}",
            f"扩建 {acts.get('expand', 0)}，升级 {acts.get('upgrade', 0)}，降级 {acts.get('downgrade', 0)}",
        )
    )
    b = summary.get("boarders", {})
    cards.append(
        (
            "寄宿生（人）",
            f"{b.get('total', 0):,.0f}",
            "，".join(f"{zh} {b.get(k, 0):,.0f}" for k, zh in BAND_ZH.items()),
        )
    )
    for band, zh in BAND_ZH.items():
        cards.append(
            (
                f"{zh}上学距离",
                f"{summary.get('mean_trip_km', {}).get(band, 0):.1f} 公里",
                f"平均；最远 {summary.get('max_trip_km', {}).get(band, 0):.1f} 公里",
            )
        )
    return (
        "<div class='cards'>"
        + "".join(
            f"<div class='card'><div class='k'>{_esc(k)}</div><div class='v'>{v}</div>"
            f"<div class='t'>{_esc(t)}</div></div>"
            for k, v, t in cards
        )
        + "</div>"
    )


def _summary_table(summary: dict, problem: Problem) -> str:
    rows = []
    for group, item, val, tgt, met in summary_rows(summary, problem):
        digits = 0 if group.startswith(("学校数", "调整方式", "学生")) else (4 if item == "相对最优间隙" else 1)
        cls = "ok" if met == "达到" else ("bad" if met == "未达到" else "")
        rows.append(
            f"<tr><td>{_esc(group)}</td><td>{_esc(item)}</td><td class='n'>{_num(val, digits)}</td>"
            f"<td class='n'>{_num(tgt, digits)}</td><td class='{cls}'>{_esc(met)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>类别</th><th>指标</th><th>规划值</th><th>目标/上限/预算</th><th>是否达到</th></tr>"
        "</thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _layout_html(plan: Plan) -> str:
    t = layout_table(plan)
    kinds = [(src, kind) for _, src, kind, _ in layout_columns(plan)]

    def row(values: pd.Series, cls: str = "", label: str | None = None) -> str:
        cells = []
        for i, (src, kind) in enumerate(kinds):
            v = values.get(src, "")
            if label is not None and i == 1:
                cells.append(f"<td>{_esc(label)}</td>")
            elif kind == "text":
                cells.append(f"<td>{_esc('' if pd.isna(v) else v)}</td>")
            else:
                cells.append(f"<td class='n'>{_num(float(v), 1 if kind == 'num1' else 0)}</td>")
        return f"<tr class='{cls}'>" + "".join(cells) + "</tr>"

    numeric = [src for src, kind in kinds if kind != "text"]
    body = []
    for twp, grp in t.groupby("township", sort=False):
        body += [row(r) for _, r in grp.iterrows()]
        body.append(row(pd.Series({"township": twp, **grp[numeric].sum()}), "sub", f"{twp}小计"))
    body.append(row(pd.Series({"township": "全县", **t[numeric].sum()}), "tot", "全县合计"))
    head = "".join(f"<th>{_esc(h)}</th>" for h, *_ in layout_columns(plan))
    table = f"<table class='layout'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f"<div class='wrap'>{table}</div>"


def _phases_html(summary: dict, plan: Plan, images: dict[str, str]) -> str:
    """A phased plan's 分期实施 table and enrolment chart (nothing for one year)."""
    if plan.phases is None or not summary.get("phases"):
        return ""
    t = phase_table(summary, plan)
    head = "".join(f"<th>{_esc(c)}</th>" for c in t.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{_esc(v)}</td>" if isinstance(v, str) else f"<td class='n'>{_num(float(v), digits(c))}</td>"
            for c, v in zip(t.columns, rec)
        )
        + "</tr>"
        for rec in t.itertuples(index=False)
    )
    chart = images.get("enrolment")
    fig = (
        f"<figure><img src='{chart}' alt='在校生预测'><figcaption>在校生预测与分期</figcaption></figure>"
        if chart
        else ""
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<h3>分期实施</h3><div class='wrap'>{table}</div>{fig}"


def _projects_html(plan: Plan) -> str:
    """The projects outside the sites: each one's category, cost and whether the plan builds it."""
    p = plan.projects
    if p is None:
        return ""
    rows = "".join(
        f"<tr><td>{_esc(r.name)}</td><td>{_esc(COST_ZH.get(r.category, r.category))}</td>"
        f"<td>{_num(r.cost_10k_yuan, 1)}</td><td>{OPTIONAL_ZH[bool(r.optional)]}</td>"
        f"<td>{BUILT_ZH[bool(r.built)]}</td></tr>"
        for r in p.itertuples(index=False)
    )
    built = float(p.loc[p["built"], "cost_10k_yuan"].sum())
    return (
        "<h3>县级项目（不在校址）</h3><table><thead><tr><th>项目</th><th>投资类别</th><th>投资（万元）</th>"
        f"<th>必建或可选</th><th>是否建设</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<p>建设项目合计 {_num(built, 1)} 万元，已计入各投资类别和预算。</p>"
    )


def _blank(v: object) -> object:
    """A missing number as an empty cell."""
    return None if isinstance(v, float) and math.isnan(v) else v


def _groups_html(plan: Plan, summary: dict) -> str:
    """The school groups: each member, its core, the km between and the teachers they exchange a year."""
    if plan.groups is None:
        return ""
    t = group_rows(plan.groups)
    head = "".join(f"<th>{_esc(h)}</th>" for h, _, _ in GROUP_HEADERS)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='n'>{_num(_blank(getattr(r, c)), 1 if c == 'distance_km' else 0)}</td>"
            if c in ("distance_km", "member_pupils", "teachers_exchanged", "backbone_sent")
            else f"<td>{_esc(getattr(r, c))}</td>"
            for _, c, _ in GROUP_HEADERS
        )
        + "</tr>"
        for r in t.itertuples(index=False)
    )
    g = summary.get("groups", {})
    share = g.get("rotating_share")
    note = (
        f"<p>{g.get('groups', 0)}个教育集团、{g.get('members', 0)}所成员校；核心校与成员校一对一交流，"
        f"每年共{2 * g.get('teachers_exchanged_per_year', 0)}人"
        + ("" if share is None else f"，占全县符合交流条件教师的{100 * share:.1f}%")
        + f"；核心校每年派出骨干教师{g.get('backbone_sent_per_year', 0)}人。</p>"
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<h3>集团化办学与交流轮岗</h3>{note}<div class='wrap'>{table}</div>"


def render_report(problem: Problem, plan: Plan, summary: dict, images: dict[str, str]) -> str:
    """The whole page as a string."""
    head = problem.scenario.title or problem.scenario.name
    gap = summary.get("mip_gap")
    status = STATUS_ZH.get(summary["status"], summary["status"])
    solve = (
        f"求解状态：{status}；相对间隙 {'—' if gap is None else f'{100 * gap:.2f}%'}；"
        f"求解器 {summary.get('solver', '')}，用时 {summary.get('solve_seconds', 0):.0f} 秒"
    )
    figs = "".join(
        f"<figure><img src='{images[n]}' alt='{_esc(MAP_CAPTIONS[n])}'>"
        f"<figcaption>{_esc(MAP_CAPTIONS[n])}</figcaption></figure>"
        for n in MAP_CAPTIONS
        if n in images
    )
    warns = summary.get("warnings", [])
    warn_html = (
        ("<ul class='warn'>" + "".join(f"<li>{_esc(w)}</li>" for w in warns) + "</ul>") if warns else "<p>无。</p>"
    )
    limit_note = ""
    if alt := summary.get("alternative"):
        changed = alt["sites_changed"]
        limit_note = (
            f"<p class='bad'>本方案为备选方案（{_esc(DIRECTION_ZH.get(alt['direction'], alt['direction']))}）："
            f"目标值比最优方案高 {100 * (alt['over_best'] or 0):.2f}%（允许 {100 * alt['slack']:.2f}%），"
            f"与最优方案有 {changed[next(iter(changed))]} 所学校的决策不同。</p>"
        )
    elif summary["status"] in ("time_limit", "feasible"):
        limit_note = (
            f"<p class='bad'>求解未证明最优：本方案为找到的最好可行解，目标值与最优解的相对间隙不超过 "
            f"{_esc(f'{100 * (gap or 0):.2f}%')}。</p>"
        )
    desc = f"<p>{_esc(problem.scenario.description)}</p>" if problem.scenario.description else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{_esc(head)}</title><style>{CSS}</style></head>
<body><main>
<h1>{_esc(head)}</h1>
<p class="sub">情景 {_esc(summary.get("scenario", ""))}，规划目标年 {_esc(summary.get("target_year", ""))}年。
{_esc(solve)}</p>
{desc}
<h2>一、主要指标</h2>
{_cards(summary)}
{limit_note}
<h2>二、规划图</h2>
{figs}
<h2>三、指标与目标、预算对照</h2>
{_summary_table(summary, problem)}
<h2>四、学校布局规划表</h2>
{_layout_html(plan)}
{_projects_html(plan)}
{_groups_html(plan, summary)}
{_phases_html(summary, plan, images)}
<h2>五、提示与警告</h2>
{warn_html}
<footer>{_esc(source_line(problem, summary))}
本页由 planner {_esc(__version__)} 生成，离线可读，不引用任何外部资源。</footer>
</main></body></html>
"""


def write_report(problem: Problem, plan: Plan, summary: dict, folder: Path) -> None:
    """Write report.html into the run folder (after the maps, whose PNGs it embeds)."""
    images = map_images(problem, plan, summary, folder)
    chart = Path(folder) / "projection" / "enrolment.png"
    if chart.exists():
        images["enrolment"] = png_data_uri(chart.read_bytes())
    (Path(folder) / REPORT_NAME).write_text(render_report(problem, plan, summary, images), encoding="utf-8")
