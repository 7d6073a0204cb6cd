"""Maps for the plan appendix: ``maps/`` in the run folder, PNG (300 dpi) and vector PDF.

- ``layout_before`` / ``layout_after``: schools by type (distinct symbols), closed
  and merged schools with an arrow to the school their pupils go to, new builds
  ringed, township boundaries and names, the county town;
- ``catchments_g1_3`` / ``_g4_6`` / ``_g7_9``: the area each open school serves;
- ``investments``: added teaching, living and sports area per school as
  proportional circles;
- ``phases`` (a phased plan) and ``groups`` (school groups, campuses:
  :mod:`planner.outputs.groupmap`).

Every map carries a Chinese title, legend, scale bar, north arrow and source
line, drawn from the run's own data only (no basemap, no network). Figures are
built on :class:`matplotlib.figure.Figure` with the Agg canvas, never pyplot,
so no display or global state is involved. Chinese text needs a CJK font
(Debian: ``fonts-noto-cjk``); without one :func:`cjk_font` fails loudly rather
than drawing empty boxes.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from planner.assess.decode import Plan
from planner.data.problem import Problem
from planner.domain import AREA_KINDS, BANDS
from planner.outputs.cartography import (
    CLOSED_COLOUR,
    DPI,
    KIND_COLOUR,
    NEW_COLOUR,
    PALETTE,
    base_map,
    draw_polygons,
    edge_label,
    figure,
    finish,
    map_figure,
    nice,
    points_by_type,
    source_line,
    style,
    title,
    town,
    township_names,
    type_handles,
)
from planner.outputs.gpkg import catchments, study_area
from planner.outputs.groupmap import GROUP_MAP, group_map, has_group_map
from planner.outputs.labels import AREA_ZH, BAND_ZH

ZONE_COLOUR = "#b2182b"
"""The nearest zones' outlines and their villages' rings on the catchment maps."""
MAP_NAMES = ("layout_before", "layout_after", *(f"catchments_{b}" for b in BANDS), "investments")
PHASE_MAP = "phases"
"""A phased plan's extra map: the phase each change takes effect in."""
PHASE_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
CHANGE_MARKERS = (("new", "o", "新建"), ("closed", "X", "撤并、撤销"), ("changed", "D", "升格、降格"))
"""How a school changes (marker, label) on the phase map."""


def map_names(plan: Plan) -> tuple[str, ...]:
    """The maps a plan gets: every plan :data:`MAP_NAMES`, a phased one also :data:`PHASE_MAP`,
    one with groups or campuses also :data:`GROUP_MAP`."""
    phased = (PHASE_MAP,) if plan.phases is not None else ()
    return (*MAP_NAMES, *phased, *((GROUP_MAP,) if has_group_map(plan) else ()))


def layout_map(problem: Problem, plan: Plan, summary: dict, area: shapely.Geometry, *, after: bool) -> Figure:
    """Schools by type before or after the plan; after: closures, arrows of mergers, new builds."""
    fig, ax = map_figure(area)
    base_map(ax, problem, area)
    s = plan.schools.astype({"x": float, "y": float})
    handles: list = []
    if not after:
        old = s[s["type_before"] != "none"]
        points_by_type(ax, old, "type_before")
        handles += type_handles(old["type_before"])
        what = f"现状学校布局（{len(old)}所）"
    else:
        open_ = s[s["type_after"] != "closed"]
        shut = s[s["type_after"] == "closed"]
        _arrows(ax, s)
        ax.scatter(shut["x"], shut["y"], marker="x", s=14, c=CLOSED_COLOUR, linewidths=0.8, zorder=8)
        points_by_type(ax, open_, "type_after")
        new = s[s["action"] == "new"]
        ax.scatter(
            new["x"], new["y"], marker="o", s=120, facecolors="none", edgecolors=NEW_COLOUR, linewidths=1.3, zorder=11
        )
        handles += type_handles(open_["type_after"])
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                markerfacecolor="none",
                markeredgecolor=NEW_COLOUR,
                markeredgewidth=1.3,
                markersize=10,
                label=f"新建学校（{len(new)}所）",
            )
        )
        n_merge = int((shut["merged_into"].astype(str) != "").sum())
        handles.append(
            Line2D(
                [], [], marker="x", ls="", color=CLOSED_COLOUR, markersize=6, label=f"撤并、撤销学校（{len(shut)}所）"
            )
        )
        if n_merge:
            handles.append(
                Line2D(
                    [0, 1],
                    [0, 0],
                    color="#555555",
                    lw=0.9,
                    marker=">",
                    markevery=[1],
                    markersize=4,
                    label="撤并去向（箭头指向并入学校）",
                )
            )
        what = f"规划学校布局（{problem.scenario.target_year}年，{len(open_)}所）"
    town(ax, problem, handles)
    if problem.townships is not None and len(problem.townships):
        handles.append(Line2D([], [], color="#9a9a9a", lw=0.8, ls=(0, (4, 2)), label="乡镇界"))
    handles.append(Line2D([], [], color="#333333", lw=1.2, label=edge_label(problem)))
    finish(fig, ax, title(problem, what), handles, source_line(problem, summary))
    return fig


def phase_map(problem: Problem, plan: Plan, summary: dict, area: shapely.Geometry) -> Figure:
    """The end layout in grey, each school that changes type coloured by the
    phase it changes in (schools.csv ``phase``) and marked by how it changes."""
    fig, ax = map_figure(area)
    base_map(ax, problem, area)
    s = plan.schools.astype({"x": float, "y": float})
    kept = s[(s["type_after"] != "closed") & (s["phase"] == "")]
    ax.scatter(kept["x"], kept["y"], marker="o", s=10, c="#b0b0b0", edgecolors="white", linewidths=0.3, zorder=8)
    how = pd.Series("changed", index=s.index).mask(s["action"] == "new", "new")
    how = how.mask(s["type_after"] == "closed", "closed")
    handles: list = [
        Line2D([], [], marker="o", ls="", color="#b0b0b0", markersize=4, label=f"类型不变学校（{len(kept)}所）")
    ]
    phases = summary.get("phases", [])
    for i, p in enumerate(phases):
        colour = PHASE_COLOURS[i % len(PHASE_COLOURS)]
        mine = s[s["phase"] == p["name"]]
        for kind, marker, _ in CHANGE_MARKERS:
            d = mine[how[mine.index] == kind]
            ax.scatter(d["x"], d["y"], marker=marker, s=46, c=colour, edgecolors="black", linewidths=0.4, zorder=11)
        label = f"{p['name']}（{p['first_year']}—{p['last_year']}年，{len(mine)}所）"
        handles.append(Patch(facecolor=colour, edgecolor="black", linewidth=0.4, label=label))
    for _, marker, label in CHANGE_MARKERS:
        handles.append(Line2D([], [], marker=marker, ls="", color="#555555", markersize=6, label=label))
    town(ax, problem, handles)
    handles.append(Line2D([], [], color="#333333", lw=1.2, label=edge_label(problem)))
    years = f"{phases[0]['first_year']}—{phases[-1]['last_year']}年" if phases else ""
    finish(fig, ax, title(problem, f"分期实施（{years}）"), handles, source_line(problem, summary))
    return fig


def _arrows(ax, s: pd.DataFrame) -> None:
    """An arrow from each merged school to the school its pupils go to."""
    pos = s.set_index("school_id")[["x", "y"]]
    m = s[(s["type_after"] == "closed") & (s["merged_into"].astype(str) != "")]
    for x, y, to in zip(m["x"], m["y"], m["merged_into"]):
        if to not in pos.index:
            continue
        tx, ty = pos.loc[to]
        ax.annotate(
            "",
            xy=(tx, ty),
            xytext=(x, y),
            zorder=7,
            arrowprops=dict(
                arrowstyle="-|>,head_length=0.35,head_width=0.18",
                color="#555555",
                lw=0.6,
                shrinkA=2,
                shrinkB=4,
                alpha=0.85,
            ),
        )


def catchment_map(
    problem: Problem, plan: Plan, summary: dict, area: shapely.Geometry, band: str, catch: gpd.GeoDataFrame
) -> Figure:
    """The area each open school serves for one band, schools and villages on top."""
    fig, ax = map_figure(area)
    base_map(ax, problem, area, names=False)
    c = catch[catch["band"] == band].reset_index(drop=True)
    if len(c):
        draw_polygons(ax, c.geometry, facecolor=list(c["colour"]), edgecolor="#6f6f6f", linewidth=0.35, zorder=1)
    v = problem.villages[problem.villages[f"pupils_{band}"] > 0]
    ax.scatter(v["x"], v["y"], s=1.2, c="#4d4d4d", linewidths=0, zorder=6)
    serving = plan.schools[plan.schools["school_id"].isin(c["school_id"])].astype({"x": float, "y": float})
    points_by_type(ax, serving, "type_after", scale=0.8)
    if problem.townships is not None and len(problem.townships):
        township_names(ax, problem.townships, serving[["x", "y"]].to_numpy(), size=7.5)
    handles = [
        Patch(facecolor=PALETTE[0], edgecolor="#6f6f6f", lw=0.4, label=f"学校服务范围（{len(c)}个）"),
        *type_handles(serving["type_after"]),
        Line2D([], [], marker="o", ls="", color="#4d4d4d", markersize=2, label=f"有该学段学生的村（居）（{len(v)}个）"),
    ]
    _zones(ax, problem, plan, c, band, handles)
    town(ax, problem, handles)
    handles.append(Line2D([], [], color="#333333", lw=1.2, label=edge_label(problem)))
    trips = summary.get("mean_trip_km", {}).get(band)
    mx = summary.get("max_trip_km", {}).get(band)
    sub = f"（平均上学距离 {trips:.1f} 公里，最远 {mx:.1f} 公里）" if trips is not None and mx is not None else ""
    finish(
        fig,
        ax,
        title(problem, f"{BAND_ZH[band]}学校服务范围{sub}"),
        handles,
        source_line(problem, summary) + " 服务范围为村庄泰森多边形按就读学校合并。",
    )
    return fig


def _zones(ax, problem: Problem, plan: Plan, c: gpd.GeoDataFrame, band: str, handles: list) -> None:
    """With nearest-zone enrolment: the zone's villages ringed, and the catchments of the schools they
    attend outlined (the zones, 划片)."""
    nz = problem.scenario.policy.nearest_zone
    if nz is None or "kind" not in problem.villages:
        return
    v = problem.villages
    zone = v[v["kind"].isin(nz.kinds) & (v[f"pupils_{band}"] > 0)]
    a = plan.assignments
    schools = set(a.loc[(a["band"] == band) & a["village_id"].isin(zone.index), "school_id"])
    zoned = c[c["school_id"].isin(schools)]
    if len(zoned):
        draw_polygons(ax, zoned.geometry, facecolor="none", edgecolor=ZONE_COLOUR, linewidth=1.1, zorder=5)
    ax.scatter(zone["x"], zone["y"], s=9, facecolors="none", edgecolors=ZONE_COLOUR, linewidths=0.6, zorder=7)
    handles += [
        Patch(facecolor="none", edgecolor=ZONE_COLOUR, lw=1.1, label=f"就近划片范围（{len(zoned)}所学校）"),
        Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor=ZONE_COLOUR, markersize=4,
               label=f"就近入学的村（居）（{len(zone)}个）"),
    ]  # fmt: skip


def _size_legend(ax, vmax: float, smax: float, colour: str, unit: str) -> None:
    vals = [v for v in (nice(vmax), nice(vmax / 4), nice(vmax / 16)) if v > 0]
    hs = [
        ax.scatter(
            [],
            [],
            s=smax * v / vmax,
            c=colour,
            alpha=0.55,
            edgecolors="#333333",
            linewidths=0.5,
            label=f"{v:,.0f} {unit}",
        )
        for v in dict.fromkeys(vals)
    ]
    ax.legend(
        handles=hs,
        loc="lower right",
        fontsize=7,
        title="面积",
        title_fontsize=7.5,
        labelspacing=1.3,
        borderpad=0.9,
        frameon=True,
        framealpha=0.9,
    )


def investment_map(problem: Problem, plan: Plan, summary: dict, area: shapely.Geometry) -> Figure:
    """Added teaching, living and sports area per school: three panels of proportional circles."""
    fig = figure((16.5, 7.0))
    s = plan.schools.astype({"x": float, "y": float})
    open_ = s[s["type_after"] != "closed"]
    smax = 420.0
    for i, kind in enumerate(AREA_KINDS):
        ax = fig.add_axes((0.01 + i * 0.33, 0.08, 0.31, 0.78))
        base_map(ax, problem, area, names=False)
        ax.scatter(open_["x"], open_["y"], s=3, c="#7f7f7f", linewidths=0, zorder=6)
        col = f"{kind}_area_added_m2"
        d = s[s[col] > 0.5].sort_values(col, ascending=False)
        vmax = float(d[col].max()) if len(d) else 0.0
        if len(d):
            ax.scatter(
                d["x"],
                d["y"],
                s=smax * d[col] / vmax,
                c=KIND_COLOUR[kind],
                alpha=0.55,
                edgecolors="#333333",
                linewidths=0.5,
                zorder=10,
            )
            _size_legend(ax, vmax, smax, KIND_COLOUR[kind], "m²")
        total = float(s[col].sum())
        ax.set_title(f"新增{AREA_ZH[kind]}面积\n{len(d)}所学校，合计 {total:,.0f} m²", fontsize=11)
    head = problem.scenario.title or problem.scenario.name
    cost = summary.get("cost_10k_yuan", {}).get("total")
    extra = f"，投资合计 {cost:,.0f} 万元" if cost is not None else ""
    fig.suptitle(f"{head}\n新增建设规模（圆面积与新增面积成正比{extra}）", fontsize=14, fontweight="bold", y=0.995)
    fig.text(0.01, 0.015, source_line(problem, summary) + " 灰点：规划保留和新建学校。", fontsize=7, color="#444444")
    return fig


def figures(problem: Problem, plan: Plan, summary: dict):
    """Yield (name, figure) for every map in :func:`map_names`, in order."""
    area = study_area(problem, plan)
    yield "layout_before", layout_map(problem, plan, summary, area, after=False)
    yield "layout_after", layout_map(problem, plan, summary, area, after=True)
    catch = catchments(problem, plan, area)
    for band in BANDS:
        yield f"catchments_{band}", catchment_map(problem, plan, summary, area, band, catch)
    yield "investments", investment_map(problem, plan, summary, area)
    if plan.phases is not None:
        yield PHASE_MAP, phase_map(problem, plan, summary, area)
    if has_group_map(plan):
        yield GROUP_MAP, group_map(problem, plan, summary, area)


def write_maps(problem: Problem, plan: Plan, summary: dict, folder: Path) -> None:
    """Write ``maps/NAME.png`` (300 dpi) and ``maps/NAME.pdf`` (vector) for every map."""
    out = Path(folder) / "maps"
    out.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(style()):
        for name, fig in figures(problem, plan, summary):
            fig.savefig(out / f"{name}.png", dpi=DPI, metadata={"Software": None})
            fig.savefig(out / f"{name}.pdf", metadata={"CreationDate": None, "Creator": None, "Producer": None})
