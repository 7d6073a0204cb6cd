"""Travel: the pruned (village, band, site) pairs a child may travel, with km.

Three sources, in order of preference: an OD matrix from any routing engine,
shortest paths on the roads layer, or the straight line times
``detour_factor``. Only pairs within each band's limit are kept (and, if the
scenario says so, only the k nearest sites per village and band): this
pruning is what lets the model scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from planner import BANDS
from planner.problem import Problem

SERVES: dict[str, tuple[str, ...]] = {
    "g1_3": ("teaching_point", "primary", "nine_year"),
    "g4_6": ("primary", "nine_year"),
    "g7_9": ("junior", "nine_year"),
}
"""Types that may teach each band (teaching points take g4_6 only by policy)."""


def serving_types(problem: Problem, band: str) -> tuple[str, ...]:
    """The school types that may teach ``band`` under the scenario's policy."""
    if band == "g4_6" and problem.scenario.policy.teaching_point_takes_g4_6:
        return ("teaching_point", *SERVES[band])
    return SERVES[band]


def band_limit_km(problem: Problem, band: str) -> float:
    """Largest trip allowed for ``band``: the trip limit, or the walking limit
    when the band may not board (then the trip must be within it)."""
    pol = problem.scenario.policy
    lim = pol.max_trip_km.get(band)
    lim = np.inf if lim is None else float(lim)
    if not pol.boarding_allowed.get(band, True):
        lim = min(lim, pol.walk_limit_km.get(band, np.inf))
    return lim


def _band_minutes_limit(problem: Problem, band: str) -> float:
    lim = problem.scenario.policy.max_trip_minutes.get(band)
    return np.inf if lim is None else float(lim)


def _candidate_sites(problem: Problem, band: str) -> pd.DataFrame:
    types = set(serving_types(problem, band))
    mask = problem.sites["allowed"].map(lambda a: bool(types.intersection(a)))
    return problem.sites[mask]


def _straight_pairs(problem: Problem, band: str, villages: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Euclidean distance x detour factor, within the limit (KD-tree)."""
    detour = problem.scenario.travel.detour_factor
    lim = band_limit_km(problem, band)
    minutes_lim = _band_minutes_limit(problem, band)
    speed = problem.scenario.travel.default_speed_kmh
    lim = min(lim, minutes_lim / 60.0 * speed)
    vxy, sxy = villages[["x", "y"]].to_numpy(), sites[["x", "y"]].to_numpy()
    if not len(vxy) or not len(sxy):
        return pd.DataFrame(columns=["vi", "si", "distance_km"])
    if np.isinf(lim):
        vi, si = np.meshgrid(np.arange(len(vxy)), np.arange(len(sxy)), indexing="ij")
        vi, si = vi.ravel(), si.ravel()
    else:
        tree = cKDTree(sxy)
        hits = tree.query_ball_point(vxy, r=lim * 1000.0 / detour + 1e-6)
        vi = np.repeat(np.arange(len(vxy)), [len(h) for h in hits])
        si = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=len(vi))
    d = np.hypot(*(vxy[vi] - sxy[si]).T) / 1000.0 * detour
    return pd.DataFrame({"vi": vi, "si": si, "distance_km": d})


def road_graph(roads) -> nx.Graph:
    """An undirected graph of every road vertex; edge ``length_km`` and
    ``minutes``. ``length_m`` (if present) overrides the geometry length and
    is spread over a line's segments in proportion to their lengths."""
    g = nx.Graph()
    speeds = roads["speed_kmh"].to_numpy(float) if "speed_kmh" in roads else np.full(len(roads), 30.0)
    lengths = roads["length_m"].to_numpy(float) if "length_m" in roads else np.full(len(roads), np.nan)
    for geom, speed, length_m in zip(roads.geometry.to_numpy(), speeds, lengths):
        parts = shapely.get_parts(geom) if geom is not None else []
        for part in parts:
            xy = np.round(shapely.get_coordinates(part), 3)
            seg = np.hypot(*np.diff(xy, axis=0).T)
            if not len(seg):
                continue
            scale = (length_m / seg.sum()) if np.isfinite(length_m) and seg.sum() > 0 else 1.0
            sp = speed if np.isfinite(speed) and speed > 0 else 30.0
            for (a, b), s in zip(zip(map(tuple, xy[:-1]), map(tuple, xy[1:])), seg * scale):
                km = s / 1000.0
                if not g.has_edge(a, b) or g[a][b]["length_km"] > km:
                    g.add_edge(a, b, length_km=km, minutes=km / sp * 60.0)
    return g


@dataclass(frozen=True)
class RoadNet:
    """A road graph with its node coordinates, a KD-tree over them for
    snapping, and each node's row."""

    graph: nx.Graph
    nodes: np.ndarray
    tree: cKDTree
    row: dict

    @classmethod
    def from_roads(cls, roads) -> "RoadNet":
        graph = road_graph(roads)
        nodes = np.array(list(graph.nodes), dtype=float)
        return cls(graph, nodes, cKDTree(nodes), {n: i for i, n in enumerate(graph.nodes)})


def _road_pairs(problem: Problem, band: str, villages: pd.DataFrame, sites: pd.DataFrame, net: RoadNet) -> pd.DataFrame:
    """Shortest road paths from every site, cut off at the band's limit; the
    straight hop from a point to its snapped node is added at both ends."""
    lim = band_limit_km(problem, band)
    minutes_lim = _band_minutes_limit(problem, band)
    v_hop, v_node = net.tree.query(villages[["x", "y"]].to_numpy())
    s_hop, s_node = net.tree.query(sites[["x", "y"]].to_numpy())
    by_node: dict[int, list[int]] = {}
    for i, n in enumerate(v_node):
        by_node.setdefault(int(n), []).append(i)
    rows_v, rows_s, rows_d = [], [], []
    for si, (n, hop) in enumerate(zip(s_node, s_hop)):
        cut = lim - hop / 1000.0 if np.isfinite(lim) else None
        if cut is not None and cut < 0:
            continue
        src = tuple(net.nodes[n])
        km = nx.single_source_dijkstra_path_length(net.graph, src, cutoff=cut, weight="length_km")
        if np.isfinite(minutes_lim):
            mins = nx.single_source_dijkstra_path_length(net.graph, src, cutoff=minutes_lim, weight="minutes")
            km = {k: v for k, v in km.items() if k in mins}
        for node, d in km.items():
            for vi in by_node.get(net.row[node], ()):
                rows_v.append(vi)
                rows_s.append(si)
                rows_d.append(d + (hop + v_hop[vi]) / 1000.0)
    out = pd.DataFrame({"vi": np.asarray(rows_v, int), "si": np.asarray(rows_s, int), "distance_km": np.asarray(rows_d, float)})
    return out[out["distance_km"] <= lim + 1e-9]


def _od_pairs(problem: Problem, band: str, villages: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Distances read from the scenario's OD matrix (missing pairs are unreachable)."""
    od = problem.od
    vpos = pd.Series(np.arange(len(villages)), index=villages.index)
    spos = pd.Series(np.arange(len(sites)), index=sites.index)
    od = od[od["origin_id"].isin(vpos.index) & od["destination_id"].isin(spos.index)]
    od = od[od["distance_km"] <= band_limit_km(problem, band)]
    return pd.DataFrame({"vi": vpos[od["origin_id"]].to_numpy(), "si": spos[od["destination_id"]].to_numpy(),
                         "distance_km": od["distance_km"].to_numpy(float)})


def _k_nearest(df: pd.DataFrame, k: int | None) -> pd.DataFrame:
    if k is None or df.empty:
        return df
    df = df.sort_values(["vi", "distance_km", "si"], kind="stable")
    return df[df.groupby("vi").cumcount() < k]


def attach_distances(problem: Problem) -> Problem:
    """Compute the pruned pairs table and warn about unreachable villages."""
    scen = problem.scenario
    use_od = problem.od is not None
    use_roads = not use_od and problem.roads is not None and scen.travel.use_roads and len(problem.roads) > 0
    net = RoadNet.from_roads(problem.roads) if use_roads else None
    frames, warnings = [], []
    for band in BANDS:
        villages = problem.villages[problem.villages[f"pupils_{band}"] > 0]
        sites = _candidate_sites(problem, band)
        if use_od:
            raw = _od_pairs(problem, band, villages, sites)
        elif use_roads:
            raw = _road_pairs(problem, band, villages, sites, net)
        else:
            raw = _straight_pairs(problem, band, villages, sites)
        raw = _k_nearest(raw, scen.policy.k_nearest)
        frames.append(pd.DataFrame({
            "village_id": villages.index.to_numpy()[raw["vi"].to_numpy(int)],
            "band": band,
            "site_id": sites.index.to_numpy()[raw["si"].to_numpy(int)],
            "distance_km": raw["distance_km"].to_numpy(float),
        }))
        lost = sorted(set(villages.index) - set(frames[-1]["village_id"]))
        if lost:
            lim = band_limit_km(problem, band)
            names = ", ".join(lost[:10]) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
            warnings.append(f"{len(lost)} village(s) have no school that may teach {band} within {lim:g} km: {names}")
    pairs = pd.concat(frames, ignore_index=True).sort_values(["band", "village_id", "distance_km", "site_id"], kind="stable")
    return problem.with_pairs(pairs.reset_index(drop=True), tuple(warnings))
