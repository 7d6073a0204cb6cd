"""A sweep's tables and page: ``sweep.csv``, ``sweep.xlsx`` (one row per run)
and ``sweep.html``, the Pareto front of cost, pupil-km and boarders (the
plans no other plan beats on all three, marked) and each figure against
each swept setting, every point's run linked to its report."""

from __future__ import annotations

import html
import io
import os
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import xlsxwriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from planner.domain import TYPES
from planner.outputs.cartography import SYMBOL
from planner.outputs.labels import TYPE_ZH
from planner.outputs.maps import style
from planner.outputs.report import png_data_uri

TRADE_OFF = ("cost_10k_yuan", "pupil_km", "boarders")
"""The figures the front is drawn over; less is better in each."""
HEADERS_ZH = {
    "name": "方案",
    "exit_code": "退出码",
    "status": "求解状态",
    "mip_gap": "差距",
    "cost_10k_yuan": "总投资（万元）",
    "cost_budgeted_10k_yuan": "计入预算的投资（万元）",
    "budget_10k_yuan": "预算（万元）",
    "pupil_km": "学生·公里",
    "boarders": "寄宿生（人）",
    "schools_teaching_point": "教学点",
    "schools_primary": "完全小学",
    "schools_junior": "初级中学",
    "schools_nine_year": "九年一贯制学校",
    "schools_closed": "撤并学校",
    "pareto": "帕累托最优",
    "message": "说明",
    "seconds": "用时（秒）",
    "set:direction": "方向",
    "set:slack": "允许高出最优方案",
    "over_best": "高于最优方案",
    "sites_changed_best": "与最优方案决策不同的学校（所）",
    "sites_changed_min": "与最相近方案决策不同的学校（所）",
}


def pareto(points: np.ndarray) -> np.ndarray:
    """Which rows of ``points`` no other row dominates (no worse in every column,
    better in one; every column minimised). Equal rows are both kept."""
    n = len(points)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        others = np.delete(points, i, axis=0)
        dominated = (others <= points[i]).all(axis=1) & (others < points[i]).any(axis=1)
        keep[i] = not dominated.any()
    return keep


def table(rows: list[dict]) -> pd.DataFrame:
    """The runs as a table, with the Pareto marking over the runs that wrote a plan."""
    df = pd.DataFrame(rows)
    df["pareto"] = False
    ok = df["exit_code"].eq(0) & df[[*TRADE_OFF]].notna().all(axis=1) if set(TRADE_OFF) <= set(df) else None
    if ok is not None and ok.any():
        df.loc[ok, "pareto"] = pareto(df.loc[ok, list(TRADE_OFF)].to_numpy(float))
    return df


def _chart(df: pd.DataFrame) -> bytes:
    ok = df[df["exit_code"].eq(0)] if "cost_10k_yuan" in df else df.iloc[0:0]
    swept = [c for c in df.columns if c.startswith("set:") and pd.api.types.is_numeric_dtype(df[c])]
    with matplotlib.rc_context(style()):
        fig = Figure(figsize=(11, 4.2 + 3.2 * len(swept)))
        FigureCanvasAgg(fig)
        axes = fig.subplots(1 + len(swept), 2, squeeze=False)
        for ax, y, label in ((axes[0][0], "pupil_km", "学生·公里"), (axes[0][1], "boarders", "寄宿生（人）")):
            front = ok[ok["pareto"]]
            ax.scatter(ok["cost_10k_yuan"], ok[y], s=28, color="#9bb7d4", label="方案")
            ax.scatter(front["cost_10k_yuan"], front[y], s=46, color="#d62728", label="帕累托最优")
            for _, r in ok.iterrows():
                ax.annotate(str(r["name"]), (r["cost_10k_yuan"], r[y]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")  # fmt: skip
            ax.set_xlabel("总投资（万元）")
            ax.set_ylabel(label)
            ax.legend(loc="best", fontsize=8)
        for k, key in enumerate(swept, start=1):
            by = ok.sort_values(key)
            for ax, y, label in (
                (axes[k][0], "cost_10k_yuan", "总投资（万元）"),
                (axes[k][1], "pupil_km", "学生·公里"),
            ):
                ax.plot(by[key], by[y], marker="o", color="#1f66b3")
                ax.set_xlabel(HEADERS_ZH.get(key, key.removeprefix("set:")))
                ax.set_ylabel(label)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


def county_map(df: pd.DataFrame, out: Path) -> bytes | None:
    """For a sweep of counties (no swept settings): every county's schools after
    its plan on one map, each county named at its centre; ``None`` otherwise."""
    if any(c.startswith("set:") for c in df.columns):
        return None
    plans = {}
    for name in df.loc[df["exit_code"].eq(0), "name"].astype(str):
        path = out / "runs" / name / "schools.csv"
        if path.is_file():
            plans[name] = pd.read_csv(path, usecols=["lon", "lat", "type_after"])
    if not plans:
        return None
    with matplotlib.rc_context(style()):
        fig = Figure(figsize=(9, 8))
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        for t in TYPES:
            marker, colour, size = SYMBOL[t]
            pts = pd.concat([p[p["type_after"] == t] for p in plans.values()])
            ax.scatter(pts["lon"], pts["lat"], marker=marker, color=colour, s=size * 0.6, label=TYPE_ZH[t])
        for name, p in plans.items():
            ax.annotate(name, (p["lon"].mean(), p["lat"].mean()), fontsize=10, ha="center", weight="bold")
        ax.set_title(f"各县规划后学校布局（{len(plans)}个县）")
        ax.set_xlabel("经度")
        ax.set_ylabel("纬度")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="best", fontsize=8)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else ""
    if isinstance(v, (float, np.floating)):
        return f"{v:,.4f}" if abs(float(v)) < 1 else f"{v:,.1f}"
    return html.escape(str(v))


def render_html(df: pd.DataFrame, png: bytes, out: Path, counties: bytes | None = None) -> str:
    county_img = (
        "" if counties is None else f"<img alt='各县学校布局' src='{png_data_uri(counties)}' style='max-width:100%'>"
    )
    cols = [c for c in df.columns if c != "message"] + ["message"]
    head = "".join(f"<th>{html.escape(HEADERS_ZH.get(c, c.removeprefix('set:')))}</th>" for c in cols)
    body = []
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            text = _cell(r[c])
            if c == "name" and (out / "runs" / str(r["name"]) / "report.html").is_file():
                text = f"<a href='runs/{html.escape(str(r['name']))}/report.html'>{text}</a>"
            cells.append(f"<td>{text}</td>")
        body.append(f"<tr class='{'front' if r['pareto'] else ''}'>{''.join(cells)}</tr>")
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>方案比选</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #bbb;padding:3px 6px}tr.front{background:#fde0dd}</style></head><body>"
        f"<h1>方案比选（{len(df)}个方案）</h1><p>红色为帕累托最优方案：没有其他方案在总投资、学生·公里和寄宿生三项上都不差且至少一项更好。</p>"
        f"<img alt='帕累托前沿' src='{png_data_uri(png)}' style='max-width:100%'>{county_img}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>"
    )


def _xlsx(df: pd.DataFrame, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": "方案比选", "created": pd.Timestamp("2030-01-01").to_pydatetime()})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    ws = wb.add_worksheet("方案比选")
    for c, col in enumerate(df.columns):
        ws.write_string(0, c, HEADERS_ZH.get(col, col.removeprefix("set:")), head)
        for r, v in enumerate(df[col], start=1):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            ws.write(r, c, v.item() if isinstance(v, np.generic) else v)
    ws.freeze_panes(1, 1)
    wb.close()


def write_sweep(rows: list[dict], out: Path, stem: str = "sweep") -> pd.DataFrame:
    """STEM.csv, STEM.xlsx and STEM.html into ``out`` (each replaced whole)."""
    df = table(rows)
    png, counties = _chart(df), county_map(df, out)
    for name, write in (
        (f"{stem}.csv", lambda p: df.to_csv(p, index=False, encoding="utf-8")),
        (f"{stem}.xlsx", lambda p: _xlsx(df, p)),
        (f"{stem}.html", lambda p: p.write_text(render_html(df, png, out, counties), encoding="utf-8")),
    ):
        tmp = out / f".{name}.tmp"
        write(tmp)
        os.replace(tmp, out / name)
    return df
