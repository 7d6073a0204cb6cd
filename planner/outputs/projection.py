"""The projection's files: pupils by village, band and year, county totals by
year, and the enrolment trajectory chart (PNG and PDF, Chinese labels)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from planner.assess.decode import Plan
from planner.data.problem import Problem
from planner.domain import BANDS, GRADES, LEVEL_OF_BAND, LEVELS
from planner.outputs.cartography import DPI, style
from planner.projection.cohort import Projection
from planner.projection.pupils import phase_spans, projection_of, span_bands

FOLDER = "projection"

LINES = (
    ("primary", "小学（1-6年级）", "#1f77b4", "solid"),
    ("junior", "初中（7-9年级）", "#d62728", "solid"),
    ("g1_3", "1-3年级", "#6baed6", "dashed"),
    ("g4_6", "4-6年级", "#08519c", "dotted"),
)
"""Series of the chart: total, label, colour and line style."""


def village_table(problem: Problem, projection: Projection) -> pd.DataFrame:
    """One row per village and year: pupils by band (2 decimals; a plan rounds
    them once per village and band)."""
    rows = []
    v = problem.villages
    for year in projection.years:
        bands = projection.bands(year)
        frame = pd.DataFrame(
            {
                "village_id": bands.index,
                "name": v["name"].reindex(bands.index).to_numpy(),
                "township": v["township"].reindex(bands.index).to_numpy(),
                "year": year,
                **{f"pupils_{b}": bands[b].round(2).to_numpy() for b in BANDS},
            }
        )
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def totals_table(projection: Projection) -> pd.DataFrame:
    """County pupils by year: every grade, band and level (1 decimal)."""
    t = projection.totals().round(1).reset_index()
    return t[["year", *GRADES, *BANDS, "primary", "junior", "total"]]


def enrolment_chart(projection: Projection, marks: list[tuple[int, str]], title: str) -> Figure:
    """The county's pupils by year and level, with the years in ``marks`` drawn
    as labelled vertical lines (base year, planning year, phase boundaries)."""
    totals = projection.totals()
    fig = Figure(figsize=(9, 5.2), dpi=DPI)
    ax = fig.add_subplot()
    for col, label, colour, style_ in LINES:
        ax.plot(totals.index, totals[col], color=colour, linestyle=style_, linewidth=2.0, marker="o", ms=3, label=label)
    top = float(totals[["primary", "junior"]].to_numpy().max()) * 1.12
    for year, label in marks:
        ax.axvline(year, color="#777777", linestyle=(0, (4, 3)), linewidth=1.0)
        ax.annotate(
            label,
            xy=(year, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color="#444444",
        )
    ax.set_ylim(0, top)
    ax.set_xlim(totals.index[0] - 0.5, totals.index[-1] + 0.5)
    ax.set_xticks(list(totals.index))
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.set_xlabel("年份")
    ax.set_ylabel("在校生（人）")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.legend(loc="lower left", fontsize=9, frameon=False)
    ax.set_title(title, fontsize=13, fontweight="bold", pad=18)
    fig.text(
        0.01,
        0.01,
        "队列要素法预测：出生人口 × 入学率，逐年升级 × 巩固率，含净迁移与进城就读。",
        fontsize=7,
        color="#444444",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def marks_of(problem: Problem, projection: Projection) -> list[tuple[int, str]]:
    """The base year, each phase's first year and the planning year, for the chart."""
    base, target = projection.years[0], problem.scenario.target_year
    labels: dict[int, list[str]] = {base: [f"基年 {base}"]}
    for p in problem.scenario.phases:
        labels.setdefault(p.first_year, []).append(f"{p.name}起")
    labels.setdefault(target, []).append(f"规划年 {target}")
    return [(y, " · ".join(v)) for y, v in sorted(labels.items())]


def phase_table(problem: Problem, projection: Projection) -> pd.DataFrame:
    """Per phase: its years, the years it is planned for (one, or a span whose
    every village's most by band is planned: envelope) and the county's pupils
    planned, and the years each level peaks within it (empty without phases)."""
    totals = projection.totals()
    rows = []
    for phase, span in zip(problem.scenario.phases, phase_spans(problem, projection)):
        if span is None:
            continue
        first, last = span
        bands = span_bands(projection, first, last).sum()
        planned = {level: sum(float(bands[b]) for b in BANDS if LEVEL_OF_BAND[b] == level) for level in LEVELS}
        years = totals.loc[max(phase.first_year, projection.years[0]) : phase.last_year]
        rows.append(
            {
                "phase": phase.name,
                "first_year": phase.first_year,
                "last_year": phase.last_year,
                "plan_year": first if first == last else None,
                "plan_first_year": first,
                "plan_last_year": last,
                **{f"{k}_planned": round(v, 1) for k, v in planned.items()},
                "total_planned": round(sum(planned.values()), 1),
                "primary_peak_year": int(years["primary"].idxmax()),
                "junior_peak_year": int(years["junior"].idxmax()),
            }
        )
    return pd.DataFrame(rows)


def write_projection(problem: Problem, projection: Projection, out: Path) -> None:
    """Write the CSVs (``pupils_by_phase.csv`` for a phased scenario) and the chart into the folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    village_table(problem, projection).to_csv(out / "pupils_by_village.csv", index=False, encoding="utf-8")
    totals_table(projection).to_csv(out / "county_totals.csv", index=False, encoding="utf-8")
    if problem.scenario.phases:
        phase_table(problem, projection).to_csv(out / "pupils_by_phase.csv", index=False, encoding="utf-8")
    name = problem.scenario.title or problem.scenario.name
    with matplotlib.rc_context(style()):
        fig = enrolment_chart(projection, marks_of(problem, projection), f"{name}\n义务教育在校生预测")
        fig.savefig(out / "enrolment.png", metadata={"Software": None})
        fig.savefig(out / "enrolment.pdf", metadata={"CreationDate": None, "Creator": None, "Producer": None})


def write_projected(problem: Problem, plan: Plan, summary: dict, folder: Path) -> None:
    """The run folder's ``projection/``, when the run's pupils were projected."""
    projection = projection_of(problem)
    if projection is not None:
        write_projection(problem, projection, Path(folder) / FOLDER)
