"""``planner compare DIR1 DIR2 ... --out DIR``: scenarios side by side for officials.

Reads run folders back (summary.json, schools.csv, assignments.csv; nothing
from the solver) and writes ``compare.xlsx`` and ``compare.html``:

- the KPIs side by side: school counts, cost by category, pupil-km, mean and
  max trip by band, boarders, schools closed;
- a chart of cost against pupil-km and against boarders (the trade-off);
- the schools whose decision differs: their planned type (closed included) or,
  for a closed school, the school its pupils go to, differs between runs.
  Keep and expand count as the same decision (they differ in money, which the
  KPIs show), and a candidate site not opened in a run reads 未新建.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pandas as pd
import xlsxwriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from planner import __version__
from planner.domain import BANDS, COST_CATEGORIES, TYPES
from planner.errors import Collector
from planner.outputs.folder import check_target
from planner.outputs.labels import BAND_ZH, COST_ZH, STATUS_ZH, action_label, type_label
from planner.outputs.maps import style
from planner.outputs.report import png_data_uri

RUN_FILES = ("summary.json", "schools.csv", "assignments.csv")
KPI_SHEET, DIFF_SHEET, CHART_SHEET = "指标对比", "决策差异", "图表"
BUDGETED = "计入预算的投资"
"""The part of a run's cost its budget limits (``budget.covers``): what the chart sets against the budget."""
NOT_BUILT = "未新建"


@dataclass(frozen=True)
class RunFolder:
    """One run folder read back."""

    name: str
    folder: Path
    summary: dict
    schools: pd.DataFrame
    assignments: pd.DataFrame


def read_runs(folders: list[Path]) -> list[RunFolder]:
    """Read every run folder; report every missing or unreadable file at once (exit 2)."""
    errors = Collector()
    raw = []
    for f in map(Path, folders):
        missing = [n for n in RUN_FILES if not (f / n).is_file()]
        for n in missing:
            errors.add(str(f / n), "missing: not a run folder written by `planner run`")
        if missing:
            continue
        try:
            summary = json.loads((f / "summary.json").read_text(encoding="utf-8"))
            schools = pd.read_csv(
                f / "schools.csv", dtype={"school_id": str, "merged_into": str, "campus_of": str}, keep_default_na=False
            )
            assign = pd.read_csv(f / "assignments.csv", dtype={"village_id": str, "school_id": str})
        except (ValueError, OSError) as e:
            errors.add(str(f), f"unreadable run folder: {e}")
            continue
        raw.append((f, summary, schools, assign))
    if len(folders) < 2:
        errors.add("planner compare", f"needs at least two run folders, got {len(folders)}")
    errors.raise_if_any()
    names = [s.get("scenario") or f.name for f, s, *_ in raw]
    dup = {n for n in names if names.count(n) > 1}
    return [RunFolder(f"{n}（{f.name}）" if n in dup else n, f, s, sc, a) for n, (f, s, sc, a) in zip(names, raw)]


def _campus_of(sc: pd.DataFrame) -> pd.Series:
    """Each school's host as a campus ('' if none; run folders before campuses have no column)."""
    if "campus_of" not in sc.columns:
        return pd.Series("", index=sc.index)
    return sc["campus_of"].fillna("").astype(str)


def _kpis(r: RunFolder) -> list[tuple[str, str, object]]:
    s, sc, a = r.summary, r.schools, r.assignments
    out: list[tuple[str, str, object]] = [
        ("求解", "求解状态", STATUS_ZH.get(str(s.get("status")), s.get("status"))),
        ("求解", "相对最优间隙（%）", None if s.get("mip_gap") is None else round(100 * s["mip_gap"], 3)),
    ]
    campus = _campus_of(sc) != ""  # a campus counts in its host (一校两区)
    for t in TYPES:
        out.append(("学校数（所）", f"规划{type_label(t)}", int(((sc["type_after"] == t) & ~campus).sum())))
    out.append(("学校数（所）", "规划学校合计", int(((sc["type_after"] != "closed") & ~campus).sum())))
    out.append(("学校数（所）", "一校两区校区（计入所属学校）", int(campus.sum())))
    out.append(("学校数（所）", "撤并、撤销学校", int((sc["type_after"] == "closed").sum())))
    out.append(("学校数（所）", "新建学校", int((sc["action"] == "new").sum())))
    cost = s.get("cost_10k_yuan", {})
    for k in (*COST_CATEGORIES, "total"):
        out.append(("投资（万元）", "投资合计" if k == "total" else COST_ZH.get(k, k), float(cost.get(k, 0.0))))
    out.append(("投资（万元）", BUDGETED, float(s.get("cost_budgeted_10k_yuan", cost.get("total", 0.0)))))
    out.append(("投资（万元）", "预算", s.get("budget_10k_yuan")))
    pkm = (a["pupils"] * a["distance_km"]).groupby(a["band"]).sum()
    out.append(("上学距离", "人·公里合计", round(float(pkm.sum()), 3)))
    for b in BANDS:
        out.append(("上学距离", f"{BAND_ZH[b]}人·公里", round(float(pkm.get(b, 0.0)), 3)))
    for b in BANDS:
        out.append(("上学距离", f"{BAND_ZH[b]}平均（公里）", float(s.get("mean_trip_km", {}).get(b, 0.0))))
        out.append(("上学距离", f"{BAND_ZH[b]}最远（公里）", float(s.get("max_trip_km", {}).get(b, 0.0))))
    board = a[a["boards"].astype(bool)].groupby("band")["pupils"].sum()
    out.append(("寄宿生（人）", "寄宿生合计", round(float(board.sum()), 3)))
    for b in BANDS:
        out.append(("寄宿生（人）", f"{BAND_ZH[b]}寄宿生", round(float(board.get(b, 0.0)), 3)))
    return out + _phase_kpis(s)


def _phase_kpis(s: dict) -> list[tuple[str, str, object]]:
    """A phased run's figures by phase (分期), keyed by the phase's name."""
    out: list[tuple[str, str, object]] = []
    for p in s.get("phases", []):
        group, cost = f"分期：{p['name']}", p["cost_10k_yuan"]
        out.append((group, "起止年份", f"{p['first_year']}-{p['last_year']}"))
        out.append((group, "规划年份", p.get("plan_year")))
        out.append((group, "投资（万元）", float(cost.get("total", 0.0))))
        out.append((group, "预算内投资（万元）", float(p.get("cost_budgeted_10k_yuan", 0.0))))
        out.append((group, "阶段预算（万元）", p.get("budget_10k_yuan")))
        out.append((group, "在校生（人）", float(p["pupils"]["total"])))
        out.append((group, "寄宿生（人）", float(p["boarders"])))
        out.append((group, "规划学校合计（所）", sum(v for t, v in p["counts"].items() if t != "closed")))
    return out


def kpi_table(runs: list[RunFolder]) -> pd.DataFrame:
    """KPIs (rows, indexed by (类别, 指标)) by run (columns). Pupil-km and boarders
    are recomputed from assignments.csv, counts from schools.csv; a phased
    run adds its phases' rows (blank for the runs without that phase)."""
    kpis = [_kpis(r) for r in runs]
    order = list(dict.fromkeys((g, i) for k in kpis for g, i, _ in k))
    index = pd.MultiIndex.from_tuples(order, names=["类别", "指标"])
    cols = {r.name: pd.Series({(g, i): v for g, i, v in k}, dtype=object).reindex(index) for r, k in zip(runs, kpis)}
    return pd.DataFrame(cols, index=index)


def _decision(row: pd.Series | None, names: dict[str, str]) -> tuple[str, str]:
    """(comparison key, label shown) of one school in one run."""
    if row is None:
        return NOT_BUILT, NOT_BUILT
    t, act, into = row["type_after"], row["action"], str(row["merged_into"] or "")
    host = str(row.get("campus_of", "") or "")
    label = f"{type_label(t)}（{action_label(act, t)}）" if t != "closed" else action_label(act, t)
    if into or host:
        label += f"→{names.get(into or host, into or host)}"
    if host:
        t = f"{t}|campus:{host}"  # a campus of another host, or none, is another decision
    when = str(row.get("phase", "") or "")  # a phased run: the same change in another phase is another decision
    if when:
        label += f"［{when}］"
    return (f"{t}|{into}" if t == "closed" else t) + f"|{when}", label


def decision_diff(runs: list[RunFolder]) -> pd.DataFrame:
    """Schools whose planned type (or merge target) differs between runs: columns
    学校代码, 学校名称, 乡镇, 现状类型, then one column per run."""
    info = pd.concat([r.schools[["school_id", "name", "township", "type_before"]] for r in runs]).drop_duplicates(
        "school_id"
    )
    names = dict(zip(info["school_id"], info["name"]))
    by_run = [r.schools.set_index("school_id") for r in runs]
    rows = []
    for sid, name, twp, before in info.itertuples(index=False):
        dec = [_decision(s.loc[sid] if sid in s.index else None, names) for s in by_run]
        if before != "none":  # an existing school missing from a run: that run is of another county
            dec = [("absent", "（无此校）") if k == NOT_BUILT else (k, lab) for k, lab in dec]
        if len({k for k, _ in dec}) > 1:
            rows.append(
                {
                    "学校代码": sid,
                    "学校名称": name,
                    "乡镇": twp,
                    "现状类型": "—" if before == "none" else type_label(before),
                    **{r.name: lab for r, (_, lab) in zip(runs, dec)},
                }
            )
    return pd.DataFrame(rows, columns=["学校代码", "学校名称", "乡镇", "现状类型", *(r.name for r in runs)])


def chart(runs: list[RunFolder], kpis: pd.DataFrame) -> Figure:
    """The cost each budget limits against pupil-km and against boarders, one
    labelled point per run, and each budget as a line."""
    fig = Figure(figsize=(11.0, 4.6), dpi=150)
    FigureCanvasAgg(fig)
    cost = kpis.loc[("投资（万元）", BUDGETED)].astype(float)
    budgets = {b for b in kpis.loc[("投资（万元）", "预算")] if b is not None and not pd.isna(b)}
    for i, (key, ylab) in enumerate(
        ((("上学距离", "人·公里合计"), "学生上学人·公里"), (("寄宿生（人）", "寄宿生合计"), "寄宿生（人）"))
    ):
        ax = fig.add_subplot(1, 2, i + 1)
        y = kpis.loc[key].astype(float)
        ax.scatter(cost, y, s=60, c=[f"C{j}" for j in range(len(runs))], zorder=3, edgecolors="black", linewidths=0.5)
        middle = (min(cost.min(), *budgets) + max(cost.max(), *budgets)) / 2 if budgets else cost.mean()
        for r in runs:  # labels point inwards, so they stay inside the frame
            right = cost[r.name] > middle
            ax.annotate(
                r.name,
                (cost[r.name], y[r.name]),
                xytext=(-6 if right else 6, 6),
                textcoords="offset points",
                ha="right" if right else "left",
                fontsize=8.5,
            )
        for b in sorted(budgets):
            ax.axvline(b, color="#c00000", ls="--", lw=0.9)
            ax.annotate(
                f"预算 {b:,.0f}",
                (b, 1),
                xycoords=("data", "axes fraction"),
                xytext=(-4, -4),
                textcoords="offset points",
                ha="right",
                va="top",
                fontsize=8,
                color="#c00000",
            )
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_xlabel(f"{BUDGETED}（万元）")
        ax.set_ylabel(ylab)
        ax.grid(alpha=0.3)
        ax.margins(0.18)
        ax.set_title(f"投资与{ylab.split('（')[0]}", fontsize=12)
    fig.suptitle("情景比较：投资与上学距离、寄宿的权衡", fontsize=13, fontweight="bold")
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.14, top=0.82, wspace=0.28)
    return fig


def _chart_png(runs: list[RunFolder], kpis: pd.DataFrame) -> bytes:
    with matplotlib.rc_context(style()):
        buf = io.BytesIO()
        chart(runs, kpis).savefig(buf, format="png", dpi=150, metadata={"Software": None})
    return buf.getvalue()


def _write_xlsx(path: Path, runs: list[RunFolder], kpis: pd.DataFrame, diff: pd.DataFrame, png: bytes) -> None:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": "情景比较", "created": pd.Timestamp("2030-01-01").to_pydatetime()})
    base = {"font_name": "等线", "font_size": 10, "border": 1}
    head = wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "align": "center", "text_wrap": True})
    text, num = wb.add_format(base), wb.add_format({**base, "num_format": "#,##0.0"})
    ws = wb.add_worksheet(KPI_SHEET)
    for c, (h, w) in enumerate((("类别", 14), ("指标", 26), *((r.name, 22) for r in runs))):
        ws.write_string(0, c, h, head)
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 2)
    for i, ((group, item), vals) in enumerate(kpis.iterrows(), start=1):
        ws.write_string(i, 0, group, text)
        ws.write_string(i, 1, item, text)
        for c, v in enumerate(vals, start=2):
            if v is None or (isinstance(v, float) and pd.isna(v)):
                ws.write_blank(i, c, None, text)
            elif isinstance(v, str):
                ws.write_string(i, c, v, text)
            else:
                ws.write_number(i, c, float(v), num)
    ws = wb.add_worksheet(DIFF_SHEET)
    for c, h in enumerate(diff.columns):
        ws.write_string(0, c, h, head)
        ws.set_column(c, c, 12 if c in (0, 2, 3) else 30)
    ws.freeze_panes(1, 2)
    for i, row in enumerate(diff.itertuples(index=False), start=1):
        for c, v in enumerate(row):
            ws.write_string(i, c, str(v), text)
    ws = wb.add_worksheet(CHART_SHEET)
    ws.insert_image(0, 0, "chart.png", {"image_data": io.BytesIO(png), "x_scale": 0.8, "y_scale": 0.8})
    wb.close()


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, str):
        return html.escape(v)
    return f"{v:,.1f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:,.0f}"


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(runs: list[RunFolder], kpis: pd.DataFrame, diff: pd.DataFrame, png: bytes) -> str:
    """compare.html: one self-contained page (no script, no network)."""
    heads = "".join(f"<th>{html.escape(r.name)}</th>" for r in runs)
    body = "".join(
        f"<tr><td>{html.escape(g)}</td><td>{html.escape(i)}</td>"
        + "".join(f"<td class='n'>{_cell(v)}</td>" for v in vals)
        + "</tr>"
        for (g, i), vals in kpis.iterrows()
    )
    dhead = "".join(f"<th>{html.escape(c)}</th>" for c in diff.columns)
    dbody = (
        "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in diff.itertuples(index=False)
        )
        or f"<tr><td colspan='{len(diff.columns)}'>各情景的学校决策相同。</td></tr>"
    )
    maps = ""
    for r in runs:
        p = r.folder / "maps" / "layout_after.png"
        if p.is_file():
            maps += (
                f"<figure><img src='{png_data_uri(p.read_bytes(), 1100)}' alt='{html.escape(r.name)}'>"
                f"<figcaption>{html.escape(r.name)}：规划学校布局</figcaption></figure>"
            )
    titles = "<br>".join(
        f"{html.escape(r.name)}：{html.escape(str(r.summary.get('title') or ''))}"
        f"（运行目录 {html.escape(str(r.folder))}）"
        for r in runs
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>情景比较</title>
<style>
body{{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:0;background:#f4f4f2;color:#222}}
main{{max-width:1200px;margin:0 auto;padding:24px 32px;background:#fff}}
h2{{border-bottom:2px solid #1f66b3;padding-bottom:4px;margin-top:32px}}
table{{border-collapse:collapse;font-size:13px}} th,td{{border:1px solid #ccc;padding:3px 8px}}
th{{background:#ddebf7}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}} img{{max-width:100%;height:auto;border:1px solid #ddd}}
.maps{{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:12px}}
figure{{margin:0;text-align:center}}
footer{{font-size:12px;color:#666;margin-top:32px;border-top:1px solid #ddd;padding-top:8px}}
</style></head><body><main>
<h1>学校布局规划情景比较</h1>
<p>{titles}</p>
<h2>一、主要指标对比</h2>
<table><thead><tr><th>类别</th><th>指标</th>{heads}</tr></thead><tbody>{body}</tbody></table>
<h2>二、投资与上学距离、寄宿</h2>
<figure><img src='{_uri(png)}' alt='投资与人·公里、寄宿生'></figure>
<h2>三、决策不同的学校（{len(diff)}所）</h2>
<table><thead><tr>{dhead}</tr></thead><tbody>{dbody}</tbody></table>
{'<h2>四、规划布局图</h2><div class="maps">' + maps + "</div>" if maps else ""}
<footer>由 planner {__version__} 读取各情景运行目录（summary.json、schools.csv、assignments.csv）生成；
离线可读。</footer>
</main></body></html>
"""


def write_compare(folders: list[Path], out: Path, *, force: bool = False) -> Path:
    """Compare run folders and write compare.xlsx and compare.html into ``out`` (atomically)."""
    out = Path(out)
    check_target(out, force=force)
    runs = read_runs(list(folders))
    kpis, diff = kpi_table(runs), decision_diff(runs)
    png = _chart_png(runs, kpis)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        _write_xlsx(tmp / "compare.xlsx", runs, kpis, diff, png)
        (tmp / "compare.html").write_text(render_html(runs, kpis, diff, png), encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
