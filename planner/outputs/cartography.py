"""Cartography shared by every map: the CJK font, symbols and colours, scale
bar, north arrow, source line, polygons and lines drawn from shapely
geometry, the base map (county, townships, roads) and the figure's frame.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas,
never pyplot, so no display or global state is involved. Chinese text needs a
CJK font (Debian: ``fonts-noto-cjk``); without one :func:`cjk_font` fails
loudly rather than drawing empty boxes.
"""

from __future__ import annotations

import math
import textwrap
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import font_manager
from matplotlib import patheffects as pe
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.path import Path as MplPath
from scipy.spatial import cKDTree

from planner import __version__
from planner.data.problem import Problem
from planner.domain import BANDS, TYPES
from planner.outputs.labels import STATUS_ZH, TYPE_ZH

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
)
"""CJK fonts in order of preference (Debian fonts-noto-cjk gives the first)."""

DPI = 300

SYMBOL = {  # type -> (marker, colour, size in pt²)
    "teaching_point": ("^", "#2e8b57", 22),
    "primary": ("o", "#1f66b3", 26),
    "junior": ("s", "#7b3fa0", 34),
    "nine_year": ("D", "#e07b00", 32),
}
CLOSED_COLOUR = "#8c8c8c"
NEW_COLOUR = "#d62728"
KIND_COLOUR = {"teaching": "#3b75af", "living": "#e1812c", "sports": "#3a923a"}
PALETTE = ("#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffcc", "#e5d8bd", "#fddaec", "#d9d9d9")
TITLE_CHARS = 26
"""Characters of a map title's line (14 pt CJK over the map's width)."""
HALO = [pe.withStroke(linewidth=2.2, foreground="white")]


class MissingFontError(RuntimeError):
    """No CJK font is installed, so Chinese labels would render as boxes."""


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The family name of an installed CJK font; fonts installed after matplotlib
    built its cache are found by scanning the system font folders."""

    def known() -> set[str]:
        return {f.name for f in font_manager.fontManager.ttflist}

    names = known()
    if not any(n in names for n in CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if any(k in Path(path).name for k in ("CJK", "wqy", "SourceHan", "uming")):
                font_manager.fontManager.addfont(path)
        names = known()
    for n in CJK_FONTS:
        if n in names:
            return n
    raise MissingFontError(
        "no CJK font found for Chinese map labels: install the Debian package fonts-noto-cjk "
        "(sh scripts/system-deps.sh, or apt-get install fonts-noto-cjk)"
    )


def style() -> dict:
    """rcParams for every map: the CJK font only (a missing glyph warns), vector text in PDF."""
    return {
        "font.family": [cjk_font()],
        "axes.unicode_minus": False,
        "pdf.fonttype": 3,
        "savefig.dpi": DPI,
        "path.simplify": True,
    }


# --------------------------------------------------------------------------- the frame


def county_town(problem: Problem) -> tuple[float, float, str] | None:
    """The county town: the densest spot (pupils within 2 km) of the township
    named 城关/城区/县城 if there is one, else of the whole county."""
    v = problem.villages
    if v.empty:
        return None
    pupils = v[[f"pupils_{b}" for b in BANDS]].sum(axis=1).to_numpy()
    town = [t for t in dict.fromkeys(v["township"]) if any(k in str(t) for k in ("城关", "城区", "县城"))]
    mask = (v["township"] == town[0]).to_numpy() if town else np.ones(len(v), bool)
    xy = v[["x", "y"]].to_numpy(dtype=float)
    near = cKDTree(xy).query_ball_point(xy[mask], r=2000.0)
    dens = np.array([pupils[i].sum() for i in near])
    x, y = xy[mask][int(np.argmax(dens))]
    return float(x), float(y), "县城"


def _extent(area: shapely.Geometry) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = area.bounds
    pad = 0.04 * max(x1 - x0, y1 - y0)
    return x0 - pad, y0 - 2.2 * pad, x1 + pad, y1 + pad


def nice(x: float) -> float:
    e = 10 ** math.floor(math.log10(x))
    return max(m * e for m in (1, 2, 5, 10) if m * e <= x)


def scale_bar(ax, extent: tuple[float, float, float, float]) -> float:
    """Two-tone scale bar in km at the lower left; returns its length in metres."""
    x0, y0, x1, y1 = extent
    length = nice(0.22 * (x1 - x0))
    bx, by, h = x0 + 0.04 * (x1 - x0), y0 + 0.035 * (y1 - y0), 0.008 * (y1 - y0)
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * length / 4, by),
                length / 4,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=20,
            )
        )
    km = length / 1000.0
    for i, f in enumerate((0, 0.5, 1.0)):
        txt = f"{f * km:g}" + (" 公里" if i == 2 else "")
        ax.text(
            bx + f * length, by + 1.8 * h, txt, ha="center", va="bottom", fontsize=6.5, zorder=20, path_effects=HALO
        )
    return length


def north_arrow(ax) -> None:
    """A north arrow at the upper right (the map grid is projected, north is up)."""
    ax.annotate(
        "",
        xy=(0.955, 0.975),
        xytext=(0.955, 0.895),
        xycoords="axes fraction",
        arrowprops=dict(arrowstyle="-|>,head_length=0.8,head_width=0.45", color="black", lw=1.4),
        zorder=20,
    )
    ax.text(0.955, 0.88, "北", transform=ax.transAxes, ha="center", va="top", fontsize=9, fontweight="bold", zorder=20)


def source_line(problem: Problem, summary: dict) -> str:
    """Where the map's data come from, the scenario, the solver and the CRS."""
    files = sorted({Path(p).name for p, _ in problem.inputs}) or ["情景输入数据"]
    status = STATUS_ZH.get(summary.get("status", ""), summary.get("status", ""))
    return (
        f"资料来源：{'、'.join(files)}；情景 {summary.get('scenario', problem.scenario.name)}，"
        f"planner {__version__} 优化求解（{status}）。坐标系 {problem.crs}。"
    )


def figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _ring_path(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes = np.full(len(coords), MplPath.LINETO, dtype=np.uint8)
    codes[0], codes[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
    return coords, codes


def polygon_path(geom: shapely.Geometry) -> MplPath:
    """A (multi)polygon as one matplotlib path, holes included."""
    verts, codes = [], []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in (poly.exterior, *poly.interiors):
            v, c = _ring_path(np.asarray(ring.coords)[:, :2])
            verts.append(v)
            codes.append(c)
    if not verts:
        return MplPath(np.zeros((0, 2)))
    return MplPath(np.vstack(verts), np.concatenate(codes))


def draw_polygons(ax, geoms, *, facecolor, edgecolor="none", linewidth=0.0, zorder=1, **kw) -> None:
    """Fill polygons in one collection (geopandas' plot redraws the canvas per call: too slow at 300 dpi)."""
    paths = [polygon_path(g) for g in geoms]
    ax.add_collection(
        PathCollection(paths, facecolors=facecolor, edgecolors=edgecolor, linewidths=linewidth, zorder=zorder, **kw),
        autolim=False,
    )


def draw_lines(ax, geoms, *, color, linewidth, zorder, linestyle="solid") -> None:
    """Draw the boundaries of polygons or lines in one collection."""
    segs = []
    for g in geoms:
        b = g.boundary if g.geom_type in ("Polygon", "MultiPolygon") else g
        segs += [np.asarray(p.coords)[:, :2] for p in shapely.get_parts(b) if not p.is_empty]
    ax.add_collection(
        LineCollection(segs, colors=color, linewidths=linewidth, linestyles=linestyle, zorder=zorder), autolim=False
    )


def label_points(polygons, avoid: np.ndarray, *, n: int = 14) -> list[tuple[float, float]]:
    """A spot inside each polygon for its name, away from the points to ``avoid``
    (schools) and not far from the middle: the best of an n x n grid."""
    tree = cKDTree(avoid) if len(avoid) else None
    out = []
    for g in polygons:
        x0, y0, x1, y1 = g.bounds
        gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        inner = g.buffer(-0.06 * min(x1 - x0, y1 - y0))
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        pts = pts[shapely.contains_xy(inner, pts[:, 0], pts[:, 1])] if not inner.is_empty else pts[:0]
        rp = g.representative_point()
        if not len(pts) or tree is None:
            out.append((rp.x, rp.y))
            continue
        clear = np.minimum(tree.query(pts)[0], 0.04 * max(x1 - x0, y1 - y0) + 800.0)
        c = g.centroid
        score = clear - 0.15 * np.hypot(pts[:, 0] - c.x, pts[:, 1] - c.y)
        out.append(tuple(pts[int(np.argmax(score))]))
    return out


def township_names(ax, tw: gpd.GeoDataFrame, avoid: np.ndarray, *, size: float = 8.0) -> None:
    """Write each township's name inside it, clear of the schools."""
    col = "township" if "township" in tw.columns else ("name" if "name" in tw.columns else None)
    if col is None:
        return
    for name, (x, y) in zip(tw[col], label_points(tw.geometry, avoid)):
        ax.text(
            x,
            y,
            str(name),
            ha="center",
            va="center",
            fontsize=size,
            color="#5a4a3a",
            zorder=12,
            path_effects=HALO,
            alpha=0.9,
        )


def base_map(
    ax,
    problem: Problem,
    area: shapely.Geometry,
    *,
    names: bool = True,
    fill: str = "#f6f3ec",
    avoid: np.ndarray | None = None,
) -> tuple:
    """Townships (filled, dashed boundaries, names), the county boundary, the frame; returns the extent."""
    avoid = problem.sites[["x", "y"]].to_numpy(dtype=float) if avoid is None else avoid
    ext = _extent(area)
    draw_polygons(ax, [area], facecolor=fill, zorder=0)
    tw = problem.townships
    if tw is not None and len(tw):
        inner = shapely.difference(shapely.union_all([g.boundary for g in tw.geometry]), area.boundary.buffer(1.0))
        draw_lines(ax, [shapely.line_merge(inner)], color="#8a8a8a", linewidth=0.6, linestyle=(0, (4, 2)), zorder=3)
        if names:
            township_names(ax, tw, avoid)
    draw_lines(ax, [area], color="#333333", linewidth=1.2, zorder=4)
    ax.set_xlim(ext[0], ext[2])
    ax.set_ylim(ext[1], ext[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_linewidth(0.8)
    scale_bar(ax, ext)
    north_arrow(ax)
    return ext


def town(ax, problem: Problem, handles: list) -> None:
    t = county_town(problem)
    if t is None:
        return
    x, y, label = t
    ax.scatter([x], [y], marker="*", s=160, c="#c00000", edgecolors="white", linewidths=0.6, zorder=15)
    ax.annotate(
        label,
        (x, y),
        xytext=(7, -7),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=9,
        fontweight="bold",
        color="#c00000",
        zorder=15,
        path_effects=HALO,
    )
    handles.append(Line2D([], [], marker="*", ls="", color="#c00000", markersize=11, label="县城"))


def edge_label(problem: Problem) -> str:
    """The outline is the county boundary, or without one the villages' and schools' buffered hull."""
    return "县界" if problem.boundary is not None and len(problem.boundary) else "规划范围（村庄、学校外包线）"


def type_handles(types) -> list:
    return [
        Line2D(
            [],
            [],
            marker=SYMBOL[t][0],
            ls="",
            markerfacecolor=SYMBOL[t][1],
            markeredgecolor="white",
            markersize=7,
            label=TYPE_ZH[t],
        )
        for t in TYPES
        if t in set(types)
    ]


def points_by_type(ax, df: pd.DataFrame, col: str, *, scale: float = 1.0, z: int = 10) -> None:
    for t in TYPES:
        d = df[df[col] == t]
        if len(d):
            m, c, s = SYMBOL[t]
            ax.scatter(d["x"], d["y"], marker=m, s=s * scale, c=c, edgecolors="white", linewidths=0.4, zorder=z)


def finish(fig: Figure, ax, title: str, handles: list, source: str, legend_title: str = "图例") -> None:
    ax.set_title(title, fontsize=14, fontweight="bold", pad=10)
    x = ax.get_position().x1 + 0.25 / fig.get_figwidth()
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(x, ax.get_position().y1),
        frameon=True,
        fontsize=8.5,
        title=legend_title,
        title_fontsize=9.5,
        borderpad=0.8,
        labelspacing=0.9,
        alignment="left",
    )
    fig.text(
        0.2 / fig.get_figwidth(),
        0.12 / fig.get_figheight(),
        source,
        fontsize=6.5,
        color="#444444",
        ha="left",
        va="bottom",
        wrap=True,
    )


def map_figure(area: shapely.Geometry, *, legend_in: float = 3.3, height_in: float = 8.5):
    """A figure sized to the county's shape: the map on the left, the legend beside it."""
    x0, y0, x1, y1 = _extent(area)
    aspect = (x1 - x0) / (y1 - y0)
    map_h = height_in - 1.45
    map_w = map_h * aspect
    if map_w > 11.0:
        map_w, map_h = 11.0, 11.0 / aspect
    width = max(map_w + legend_in + 0.45, 8.0)
    fig = figure((width, height_in))
    ax = fig.add_axes((0.2 / width, 0.55 / height_in, map_w / width, map_h / height_in))
    return fig, ax


def title(problem: Problem, what: str, width: int = TITLE_CHARS) -> str:
    """The scenario's title over ``what``; a long title breaks before its last
    bracket (or at ``width`` characters) so it stays over the map."""
    head = problem.scenario.title or problem.scenario.name
    if len(head) > width:
        cut = head.rfind("（")
        head = f"{head[:cut]}\n{head[cut:]}" if 0 < cut <= width else "\n".join(textwrap.wrap(head, width))
    return f"{head}\n{what}"


# --------------------------------------------------------------------------- the maps
