"""The map of school groups and campuses (``maps/groups``): each group's core
and members in one colour joined by lines, members no core can take marked,
each campus joined to its host by a dashed line (一校两区)."""

from __future__ import annotations

import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from planner.assess.decode import Plan
from planner.data.problem import Problem
from planner.outputs.cartography import base_map, edge_label, finish, map_figure, source_line, title, town

GROUP_MAP = "groups"
GROUP_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4")
ALONE_COLOUR = "#b2182b"


def has_group_map(plan: Plan) -> bool:
    """Whether the plan has groups or campuses to draw."""
    return plan.groups is not None or bool((plan.schools["campus_of"] != "").any())


def group_map(problem: Problem, plan: Plan, summary: dict, area: shapely.Geometry) -> Figure:
    """The map of the module docstring."""
    fig, ax = map_figure(area)
    base_map(ax, problem, area)
    s = plan.schools.astype({"x": float, "y": float}).set_index("school_id")
    on = s[s["type_after"] != "closed"]
    ax.scatter(on["x"], on["y"], marker="o", s=8, c="#b0b0b0", edgecolors="white", linewidths=0.3, zorder=6)
    handles: list = [Line2D([], [], marker="o", ls="", color="#b0b0b0", markersize=4, label=f"规划学校（{len(on)}所）")]
    if plan.groups is not None:
        handles += _groups(ax, s, plan.groups)
    handles += _campuses(ax, s)
    town(ax, problem, handles)
    handles.append(Line2D([], [], color="#333333", lw=1.2, label=edge_label(problem)))
    finish(fig, ax, title(problem, "集团化办学与一校两区"), handles, source_line(problem, summary))
    return fig


def _groups(ax, s: pd.DataFrame, g: pd.DataFrame) -> list:
    """Each group in its colour, lines from its core to its members; the members alone; their legend entries."""
    placed = g[g["group"] != ""]
    for i, (_, rows) in enumerate(placed.groupby("group", sort=True)):
        colour = GROUP_COLOURS[i % len(GROUP_COLOURS)]
        core, members = s.loc[rows["core_id"].iloc[0]], s.loc[rows["member_id"]]
        for x, y in zip(members["x"], members["y"]):
            ax.plot([core["x"], x], [core["y"], y], color=colour, lw=0.8, alpha=0.8, zorder=7)
        ax.scatter(members["x"], members["y"], s=22, c=colour, edgecolors="black", linewidths=0.3, zorder=9)
        ax.scatter([core["x"]], [core["y"]], marker="*", s=150, c=colour, edgecolors="black", linewidths=0.5, zorder=10)
    out: list = []
    if len(placed):
        out.append(
            Line2D(
                [],
                [],
                marker="*",
                ls="",
                color="#555555",
                markersize=10,
                label=f"核心校（{placed['group'].nunique()}个集团）",
            )
        )
        out.append(
            Line2D(
                [0, 1],
                [0, 0],
                color="#555555",
                lw=0.8,
                marker="o",
                markevery=[1],
                markersize=4,
                label=f"成员校（{len(placed)}所）",
            )
        )
    return out + _alone(ax, s.loc[g.loc[g["group"] == "", "member_id"]])


def _alone(ax, alone: pd.DataFrame) -> list:
    """The members no core can take, as hollow squares; their legend entry."""
    if alone.empty:
        return []
    ax.scatter(
        alone["x"], alone["y"], marker="s", s=22, facecolors="none", edgecolors=ALONE_COLOUR, linewidths=1.0, zorder=9
    )
    label = f"无可带核心校（{len(alone)}所）"
    return [
        Line2D(
            [], [], marker="s", ls="", markerfacecolor="none", markeredgecolor=ALONE_COLOUR, markersize=5, label=label
        )
    ]


def _campuses(ax, s: pd.DataFrame) -> list:
    """Each campus, a dashed line to its host; its legend entry."""
    campus = s[s["campus_of"] != ""]
    if campus.empty:
        return []
    for x, y, host in zip(campus["x"], campus["y"], campus["campus_of"]):
        ax.plot([x, s.at[host, "x"]], [y, s.at[host, "y"]], color="#333333", lw=1.0, ls=(0, (3, 2)), zorder=8)
    ax.scatter(campus["x"], campus["y"], marker="D", s=20, c="white", edgecolors="#333333", linewidths=0.8, zorder=11)
    label = f"一校两区（校区{len(campus)}个，虚线连所属学校）"
    return [
        Line2D(
            [0, 1],
            [0, 0],
            color="#333333",
            lw=1.0,
            ls=(0, (3, 2)),
            marker="D",
            markevery=[0],
            markerfacecolor="white",
            markersize=4,
            label=label,
        )
    ]
