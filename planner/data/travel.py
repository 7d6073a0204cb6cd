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
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from planner import domain
from planner.data.problem import Problem
from planner.domain import BANDS


def serving_types(problem: Problem, band: str) -> tuple[str, ...]:
    """The school types that may teach ``band`` under the scenario's policy."""
    return domain.serving_types(band, problem.scenario.policy.teaching_point_takes_g4_6)


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
    vi: np.ndarray
    si: np.ndarray
    if np.isinf(lim):
        grid = np.meshgrid(np.arange(len(vxy)), np.arange(len(sxy)), indexing="ij")
        vi, si = grid[0].ravel(), grid[1].ravel()
    else:
        tree = cKDTree(sxy)
        hits = tree.query_ball_point(vxy, r=lim * 1000.0 / detour + 1e-6)
        vi = np.repeat(np.arange(len(vxy)), [len(h) for h in hits])
        si = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=len(vi))
    d = np.hypot(*(vxy[vi] - sxy[si]).T) / 1000.0 * detour
    return pd.DataFrame({"vi": vi, "si": si, "distance_km": d})


def road_edges(roads, *, default_speed_kmh: float = 30.0) -> tuple[np.ndarray, pd.DataFrame]:
    """Every road vertex (rounded to the millimetre, so lines meeting at a
    vertex join) and every segment between consecutive vertices, vectorised.

    Returns the node coordinates (N x 2, metres) and a frame of edges ``u``,
    ``v`` (node rows, ``u < v``), ``length_km`` and ``minutes``. A road's
    ``length_m``, when given, overrides its geometry length and is spread over
    its segments in proportion to their lengths; ``speed_kmh`` (else the
    scenario's default speed) gives the minutes. Parallel segments keep the
    shortest length and, separately, the fewest minutes."""
    geoms = np.asarray(roads.geometry.to_numpy(), dtype=object)
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    parts, part_road = shapely.get_parts(geoms[ok], return_index=True)
    part_road = np.flatnonzero(ok)[part_road]
    xy, part_of = shapely.get_coordinates(parts, return_index=True)
    xy = np.round(xy, 3)
    seg = np.flatnonzero(part_of[1:] == part_of[:-1])
    a, b = xy[seg], xy[seg + 1]
    road = part_road[part_of[seg]]
    seg_m = np.hypot(*(b - a).T)
    road_m = np.bincount(road, seg_m, minlength=len(roads))
    length_m = roads["length_m"].to_numpy(float) if "length_m" in roads else np.full(len(roads), np.nan)
    speed = roads["speed_kmh"].to_numpy(float) if "speed_kmh" in roads else np.full(len(roads), np.nan)
    speed = np.where(np.isfinite(speed) & (speed > 0), speed, default_speed_kmh)
    scale = np.where(np.isfinite(length_m) & (road_m > 0), length_m / np.where(road_m > 0, road_m, 1.0), 1.0)
    km = seg_m * scale[road] / 1000.0
    nodes, inv = np.unique(np.vstack([a, b]), axis=0, return_inverse=True)
    inv = inv.ravel()
    u, v = inv[: len(seg)], inv[len(seg) :]
    e = pd.DataFrame(
        {"u": np.minimum(u, v), "v": np.maximum(u, v), "length_km": km, "minutes": km / speed[road] * 60.0}
    )
    e = e[e["u"] != e["v"]]
    e = e.groupby(["u", "v"], sort=True, as_index=False).agg(length_km=("length_km", "min"), minutes=("minutes", "min"))
    return nodes, e


def road_graph(roads, *, default_speed_kmh: float = 30.0) -> nx.Graph:
    """The road network as a networkx graph on coordinate-tuple nodes, edge
    attributes ``length_km`` and ``minutes`` (for inspection and plotting;
    the distances themselves use :class:`RoadNet`)."""
    nodes, e = road_edges(roads, default_speed_kmh=default_speed_kmh)
    g = nx.Graph()
    g.add_nodes_from(map(tuple, nodes))
    keys = [tuple(n) for n in nodes]
    g.add_edges_from(
        (keys[u], keys[v], {"length_km": k, "minutes": m})
        for u, v, k, m in e[["u", "v", "length_km", "minutes"]].itertuples(index=False)
    )
    return g


@dataclass(frozen=True)
class RoadNet:
    """A road network ready for many-source shortest paths: node coordinates,
    a KD-tree over them for snapping, and sparse (CSR, upper-triangular,
    undirected) matrices of edge km and edge minutes."""

    nodes: np.ndarray
    tree: cKDTree
    km: csr_matrix
    minutes: csr_matrix
    default_speed_kmh: float = 30.0

    @classmethod
    def from_roads(cls, roads, *, default_speed_kmh: float = 30.0) -> RoadNet:
        nodes, e = road_edges(roads, default_speed_kmh=default_speed_kmh)
        shape = (len(nodes), len(nodes))
        uv = (e["u"].to_numpy(), e["v"].to_numpy())
        km = csr_matrix((e["length_km"].to_numpy(float), uv), shape=shape)
        minutes = csr_matrix((e["minutes"].to_numpy(float), uv), shape=shape)
        return cls(nodes, cKDTree(nodes), km, minutes, default_speed_kmh)

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node row and the straight hop to it (km) for each point."""
        hop_m, node = self.tree.query(np.asarray(xy, float).reshape(-1, 2))
        return np.asarray(node, int), np.asarray(hop_m, float) / 1000.0

    def paths_from(
        self, sources: np.ndarray, *, limit_km: float, limit_minutes: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Shortest km (and minutes) from each source node to every node,
        ``inf`` beyond the limits (multi-source Dijkstra, scipy)."""
        km = dijkstra(self.km, directed=False, indices=sources, limit=limit_km)
        if np.isfinite(limit_minutes):
            mins = dijkstra(self.minutes, directed=False, indices=sources, limit=limit_minutes)
        else:
            mins = np.zeros_like(km)
        return km, mins


def _road_pairs(problem: Problem, band: str, villages: pd.DataFrame, sites: pd.DataFrame, net: RoadNet) -> pd.DataFrame:
    """Shortest road paths from every site to every village, within the
    band's km and minutes limits. A point joins the network at its nearest
    node by a straight hop, counted at both ends (minutes at the default speed)."""
    lim = band_limit_km(problem, band)
    minutes_lim = _band_minutes_limit(problem, band)
    v_node, v_hop = net.snap(villages[["x", "y"]].to_numpy())
    s_node, s_hop = net.snap(sites[["x", "y"]].to_numpy())
    hop_min = 60.0 / net.default_speed_kmh
    sources = np.unique(s_node)
    chunk = max(1, problem.scenario.solver.tuning.travel.chunk_cells // max(1, len(net.nodes)))
    out = []
    for k in range(0, len(sources), chunk):
        src = sources[k : k + chunk]
        km, mins = net.paths_from(src, limit_km=lim, limit_minutes=minutes_lim)
        row = np.searchsorted(src, s_node)
        si = np.flatnonzero(np.isin(s_node, src))
        d = km[row[si]][:, v_node] + s_hop[si, None] + v_hop[None, :]
        ok = d <= lim + 1e-9
        if np.isfinite(minutes_lim):
            t = mins[row[si]][:, v_node] + (s_hop[si, None] + v_hop[None, :]) * hop_min
            ok &= t <= minutes_lim + 1e-9
        a, b = np.nonzero(ok)
        out.append(pd.DataFrame({"vi": b, "si": si[a], "distance_km": d[a, b]}))
    if not out:
        return pd.DataFrame({"vi": np.zeros(0, int), "si": np.zeros(0, int), "distance_km": np.zeros(0)})
    return pd.concat(out, ignore_index=True)


def _od_pairs(problem: Problem, band: str, villages: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Distances read from the scenario's OD matrix (missing pairs are unreachable)."""
    od = problem.od
    if od is None:
        raise ValueError("the problem has no OD matrix")
    vpos = pd.Series(np.arange(len(villages)), index=villages.index)
    spos = pd.Series(np.arange(len(sites)), index=sites.index)
    od = od[od["origin_id"].isin(vpos.index) & od["destination_id"].isin(spos.index)]
    od = od[od["distance_km"] <= band_limit_km(problem, band)]
    return pd.DataFrame(
        {
            "vi": vpos[od["origin_id"]].to_numpy(),
            "si": spos[od["destination_id"]].to_numpy(),
            "distance_km": od["distance_km"].to_numpy(float),
        }
    )


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
    net = RoadNet.from_roads(problem.roads, default_speed_kmh=scen.travel.default_speed_kmh) if use_roads else None
    frames, warnings = [], []
    minutes = {b: v for b, v in scen.policy.max_trip_minutes.items() if v is not None}
    if use_od and minutes:
        warnings.append(f"the OD matrix gives km only: policy.max_trip_minutes ({minutes}) is not applied")
    for band in BANDS:
        villages = problem.villages[problem.villages[f"pupils_{band}"] > 0]
        sites = _candidate_sites(problem, band)
        if use_od:
            raw = _od_pairs(problem, band, villages, sites)
        elif net is not None:
            raw = _road_pairs(problem, band, villages, sites, net)
        else:
            raw = _straight_pairs(problem, band, villages, sites)
        raw = _k_nearest(raw, scen.policy.k_nearest)
        frames.append(
            pd.DataFrame(
                {
                    "village_id": villages.index.to_numpy()[raw["vi"].to_numpy(int)],
                    "band": band,
                    "site_id": sites.index.to_numpy()[raw["si"].to_numpy(int)],
                    "distance_km": raw["distance_km"].to_numpy(float),
                }
            )
        )
        lost = sorted(set(villages.index) - set(frames[-1]["village_id"]))
        if lost:
            lim = band_limit_km(problem, band)
            names = ", ".join(lost[:10]) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
            warnings.append(f"{len(lost)} village(s) have no school that may teach {band} within {lim:g} km: {names}")
    pairs = pd.concat(frames, ignore_index=True).sort_values(
        ["band", "village_id", "distance_km", "site_id"], kind="stable"
    )
    return problem.with_pairs(pairs.reset_index(drop=True), tuple(warnings))


def sites_within(problem: Problem, froms: pd.Index, tos: pd.Index, km: float) -> pd.DataFrame:
    """Site pairs (``a`` in ``froms``, ``b`` in ``tos``, ``a != b``) at most
    ``km`` apart along the straight line times ``travel.detour_factor``
    (campuses to hosts, members to cores), sorted: ``a``, ``b``, ``distance_km``."""
    detour = problem.scenario.travel.detour_factor
    a, b = problem.sites.loc[froms, ["x", "y"]], problem.sites.loc[tos, ["x", "y"]]
    if a.empty or b.empty:
        return pd.DataFrame({"a": pd.Series(dtype=object), "b": pd.Series(dtype=object), "distance_km": []})
    hits = cKDTree(b.to_numpy()).query_ball_point(a.to_numpy(), r=km * 1000.0 / detour + 1e-6)
    ai = np.repeat(np.arange(len(a)), [len(h) for h in hits])
    bi = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=len(ai))
    d = np.hypot(*(a.to_numpy()[ai] - b.to_numpy()[bi]).T) / 1000.0 * detour
    out = pd.DataFrame({"a": a.index.to_numpy()[ai], "b": b.index.to_numpy()[bi], "distance_km": d})
    out = out[(out["a"] != out["b"]) & (out["distance_km"] <= km + 1e-9)]
    return out.sort_values(["a", "b"], kind="stable").reset_index(drop=True)
