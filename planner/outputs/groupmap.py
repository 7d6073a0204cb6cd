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
    g = plan.groups if plan.groups is not None else pd.DataFrame(columns=["group", "core_id", "member_id"])
    placed = g[g["group"] != ""]
    for i, (_, rows) in enumerate(placed.groupby("group", sort=True)):
        colour = GROUP_COLOURS[i % len(GROUP_COLOURS)]
        core = s.loc[rows["core_id"].iloc[0]]
        for m in rows["member_id"]:
            ax.plot([core["x"], s.at[m, "x"]], [core["y"], s.at[m, "y"]], color=colour, lw=0.8, alpha=0.8, zorder=7)
        ax.scatter(
            s.loc[rows["member_id"], "x"],
            s.loc[rows["member_id"], "y"],
            s=22,
            c=colour,
            edgecolors="black",
            linewidths=0.3,
            zorder=9,
        )
        ax.scatter([core["x"]], [core["y"]], marker="*", s=150, c=colour, edgecolors="black", linewidths=0.5, zorder=10)
    if len(placed):
        handles += [
            Line2D(
                [],
                [],
                marker="*",
                ls="",
                color="#555555",
                markersize=10,
                label=f"核心校（{placed['group'].nunique()}个集团）",
            ),
            Line2D(
                [0, 1],
                [0, 0],
                color="#555555",
                lw=0.8,
                marker="o",
                markevery=[1],
                markersize=4,
                label=f"成员校（{len(placed)}所）",
            ),
        ]
    alone = g[g["group"] == ""]
    if len(alone):
        a = s.loc[alone["member_id"]]
        ax.scatter(
            a["x"], a["y"], marker="s", s=22, facecolors="none", edgecolors=ALONE_COLOUR, linewidths=1.0, zorder=9
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="s",
                ls="",
                markerfacecolor="none",
                markeredgecolor=ALONE_COLOUR,
                markersize=5,
                label=f"无可带核心校（{len(alone)}所）",
            )
        )
    campus = s[s["campus_of"] != ""]
    for _, r in campus.iterrows():
        host = s.loc[r["campus_of"]]
        ax.plot([r["x"], host["x"]], [r["y"], host["y"]], color="#333333", lw=1.0, ls=(0, (3, 2)), zorder=8)
    if len(campus):
        ax.scatter(
            campus["x"], campus["y"], marker="D", s=20, c="white", edgecolors="#333333", linewidths=0.8, zorder=11
        )
        handles.append(
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
                label=f"一校两区（校区{len(campus)}个，虚线连所属学校）",
            )
        )
    town(ax, problem, handles)
    handles.append(Line2D([], [], color="#333333", lw=1.2, label=edge_label(problem)))
    finish(fig, ax, title(problem, "集团化办学与一校两区"), handles, source_line(problem, summary))
    return fig
