"""Travel: road, OD-matrix and straight-line distances on networks small
enough to check by hand, plus a cross-check of the scipy Dijkstra against
networkx on a seeded random grid."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, MultiLineString

from planner.data.load import load_problem
from planner.data.travel import RoadNet, attach_distances, road_graph
from tests.factory import CRS, OFF, X0, Y0, deep_merge, make_case, school, village


def _xy(x_km: float, y_km: float) -> tuple[float, float]:
    return (X0 + x_km * 1000.0, Y0 + y_km * 1000.0)


def add_roads(yaml_path: Path, lines: list[list[tuple[float, float]]], **columns) -> None:
    """Write a roads layer (polylines given in km) into the case's GeoPackage."""
    geom = [LineString([_xy(*p) for p in pts]) for pts in lines]
    gdf = gpd.GeoDataFrame({"road_id": range(1, len(lines) + 1), **columns}, geometry=geom, crs=CRS)
    pyogrio.write_dataframe(gdf, yaml_path.parent / "case.gpkg", layer="roads")


def pairs_of(yaml_path: Path, band: str = "g1_3") -> dict[tuple[str, str], float]:
    problem = attach_distances(load_problem(yaml_path))
    p = problem.pairs[problem.pairs["band"] == band]
    return {(v, s): d for v, s, d in zip(p["village_id"], p["site_id"], p["distance_km"])}


def limits(km: float | None = None, minutes: float | None = None) -> dict:
    pol = {"max_trip_km": {"g1_3": km, "g4_6": None, "g7_9": None}}
    if minutes is not None:
        pol["max_trip_minutes"] = {"g1_3": minutes}
    return deep_merge(OFF, {"policy": pol})


def test_shortest_road_path_plus_hops(tmp_path):
    # Road: (0,0)-(4,0)-(4,3). V1 sits 0.5 km off (0,0); S1 at (4,3); S2 at (4,0).
    path = make_case(
        tmp_path, [village("V1", 0, -0.5, g1_3=10)], [school("S1", 4, 3), school("S2", 4, 0)], scenario=limits()
    )
    add_roads(path, [[(0, 0), (4, 0)], [(4, 0), (4, 3)]])
    d = pairs_of(path)
    assert d[("V1", "S2")] == pytest.approx(0.5 + 4.0)
    assert d[("V1", "S1")] == pytest.approx(0.5 + 4.0 + 3.0)


def test_length_m_overrides_geometry_and_spreads_over_segments(tmp_path):
    # One polyline (0,0)-(1,0)-(1,3): 4 km of geometry, length_m 8000 -> each metre counts twice.
    path = make_case(
        tmp_path, [village("V1", 0, 0, g1_3=1)], [school("S1", 1, 0), school("S2", 1, 3)], scenario=limits()
    )
    add_roads(path, [[(0, 0), (1, 0), (1, 3)]], length_m=[8000.0])
    d = pairs_of(path)
    assert d[("V1", "S1")] == pytest.approx(2.0)
    assert d[("V1", "S2")] == pytest.approx(8.0)


def test_multipart_road_length_m_is_spread_over_the_whole_road(tmp_path):
    # Two parts of 1 km and 3 km sharing (1,0); length_m 2000 -> scale 0.5 over both.
    path = make_case(tmp_path, [village("V1", 0, 0, g1_3=1)], [school("S1", 1, 3)], scenario=limits())
    geom = MultiLineString([[_xy(0, 0), _xy(1, 0)], [_xy(1, 0), _xy(1, 3)]])
    gdf = gpd.GeoDataFrame({"road_id": [1], "length_m": [2000.0]}, geometry=[geom], crs=CRS)
    pyogrio.write_dataframe(gdf, path.parent / "case.gpkg", layer="roads")
    assert pairs_of(path)[("V1", "S1")] == pytest.approx(2.0)


def test_km_limit_cuts_pairs_and_names_unreachable_villages(tmp_path):
    # V2 is on a separate road piece: no path to any school.
    path = make_case(
        tmp_path,
        [village("V1", 0, 0, g1_3=1), village("V2", 0, 9, g1_3=1)],
        [school("S1", 2, 0), school("S2", 6, 0)],
        scenario=limits(km=5.0),
    )
    add_roads(path, [[(0, 0), (2, 0), (6, 0)], [(0, 9), (0, 8)]])
    problem = attach_distances(load_problem(path))
    d = {(v, s): x for v, s, x in problem.pairs[["village_id", "site_id", "distance_km"]].itertuples(index=False)}
    assert d == {("V1", "S1"): pytest.approx(2.0)}
    assert any("V2" in w and "g1_3" in w and "5 km" in w for w in problem.warnings)
    assert not any("V1" in w for w in problem.warnings)


def test_minutes_limit_uses_speeds_and_fastest_route(tmp_path):
    # Direct slow road 3 km at 10 km/h (18 min); detour 5 km at 60 km/h (5 min).
    path = make_case(tmp_path, [village("V1", 0, 0, g1_3=1)], [school("S1", 3, 0)], scenario=limits(minutes=10.0))
    add_roads(path, [[(0, 0), (3, 0)], [(0, 0), (1.5, 2), (3, 0)]], speed_kmh=[10.0, 60.0])
    # Kept: the fastest route takes 5 minutes; the distance is the shortest road km (3 km).
    assert pairs_of(path) == {("V1", "S1"): pytest.approx(3.0)}
    slow = make_case(
        tmp_path / "slow", [village("V1", 0, 0, g1_3=1)], [school("S1", 3, 0)], scenario=limits(minutes=10.0)
    )
    add_roads(slow, [[(0, 0), (3, 0)]], speed_kmh=[10.0])
    problem = attach_distances(load_problem(slow))
    assert problem.pairs.empty
    assert any("V1" in w for w in problem.warnings)


def test_minutes_limit_counts_hops_at_default_speed(tmp_path):
    # 1 km road at 60 km/h (1 min) plus 1 km hop at the default 30 km/h (2 min) = 3 min.
    scen = deep_merge(limits(minutes=2.5), {"travel": {"default_speed_kmh": 30.0}})
    path = make_case(tmp_path, [village("V1", 0, -1, g1_3=1)], [school("S1", 1, 0)], scenario=scen)
    add_roads(path, [[(0, 0), (1, 0)]], speed_kmh=[60.0])
    assert pairs_of(path) == {}
    scen = deep_merge(limits(minutes=3.5), {"travel": {"default_speed_kmh": 30.0}})
    path = make_case(tmp_path / "b", [village("V1", 0, -1, g1_3=1)], [school("S1", 1, 0)], scenario=scen)
    add_roads(path, [[(0, 0), (1, 0)]], speed_kmh=[60.0])
    assert pairs_of(path) == {("V1", "S1"): pytest.approx(2.0)}


def test_parallel_roads_keep_the_shorter(tmp_path):
    path = make_case(tmp_path, [village("V1", 0, 0, g1_3=1)], [school("S1", 2, 0)], scenario=limits())
    add_roads(path, [[(0, 0), (2, 0)], [(0, 0), (2, 0)]], length_m=[5000.0, 2500.0])
    assert pairs_of(path)[("V1", "S1")] == pytest.approx(2.5)


def test_od_matrix_overrides_roads(tmp_path):
    scen = deep_merge(limits(km=10.0), {"data": {"distances": "od.csv"}})
    path = make_case(
        tmp_path,
        [village("V1", 0, 0, g1_3=1), village("V2", 1, 0, g1_3=1)],
        [school("S1", 2, 0), school("S2", 3, 0)],
        scenario=scen,
    )
    add_roads(path, [[(0, 0), (3, 0)]])
    pd.DataFrame(
        {"origin_id": ["V1", "V1", "V2"], "destination_id": ["S1", "S2", "S1"], "distance_km": [7.5, 12.0, 0.25]}
    ).to_csv(tmp_path / "od.csv", index=False)
    # V1-S2 is beyond the 10 km limit; V2-S2 is missing from the matrix: unreachable.
    assert pairs_of(path) == {("V1", "S1"): 7.5, ("V2", "S1"): 0.25}
    assert not any("max_trip_minutes" in w for w in attach_distances(load_problem(path)).warnings)


def test_an_od_run_says_it_cannot_apply_a_limit_in_minutes(tmp_path):
    """An OD matrix has no minutes: a limit in minutes is not applied, and the run says so."""
    scen = deep_merge(limits(km=10.0, minutes=20.0), {"data": {"distances": "od.csv"}})
    path = make_case(tmp_path, [village("V1", 0, 0, g1_3=1)], [school("S1", 2, 0)], scenario=scen)
    pd.DataFrame({"origin_id": ["V1"], "destination_id": ["S1"], "distance_km": [9.0]}).to_csv(
        tmp_path / "od.csv", index=False
    )
    problem = attach_distances(load_problem(path))
    assert pairs_of(path) == {("V1", "S1"): 9.0}  # 9 km at the default 30 km/h is 18 minutes: kept either way
    assert any("max_trip_minutes" in w and "not applied" in w for w in problem.warnings)


def test_straight_line_times_detour_without_roads(tmp_path):
    scen = deep_merge(limits(km=6.0), {"travel": {"detour_factor": 1.5}})
    path = make_case(tmp_path, [village("V1", 0, 0, g1_3=1)], [school("S1", 3, 4), school("S2", 1, 2)], scenario=scen)
    # S1: 5 km x 1.5 = 7.5 > 6 (cut); S2: sqrt(5) x 1.5.
    assert pairs_of(path) == {("V1", "S2"): pytest.approx(math.sqrt(5) * 1.5)}


def test_use_roads_false_ignores_the_roads_layer(tmp_path):
    scen = deep_merge(limits(), {"travel": {"use_roads": False}})
    path = make_case(tmp_path, [village("V1", 0, 0, g1_3=1)], [school("S1", 3, 4)], scenario=scen)
    add_roads(path, [[(0, 0), (3, 0), (3, 4)]])
    assert pairs_of(path) == {("V1", "S1"): pytest.approx(5.0)}


def _grid_roads(rng: np.random.Generator, side: int) -> gpd.GeoDataFrame:
    """A side x side grid of 1 km streets with seeded random lengths and speeds, some streets missing."""
    lines, length, speed = [], [], []
    for i in range(side):
        for j in range(side):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < side and j + dj < side and rng.random() > 0.15:
                    lines.append(LineString([_xy(i, j), _xy(i + di, j + dj)]))
                    length.append(float(rng.integers(800, 3000)))
                    speed.append(float(rng.choice([15.0, 30.0, 60.0])))
    return gpd.GeoDataFrame({"length_m": length, "speed_kmh": speed}, geometry=lines, crs=CRS)


@pytest.mark.parametrize("seed", [0, 1])
def test_scipy_paths_agree_with_networkx(seed):
    rng = np.random.default_rng(seed)
    roads = _grid_roads(rng, 8)
    net = RoadNet.from_roads(roads)
    g = road_graph(roads)
    sources = np.array([0, 9, 27, 63])
    km, mins = net.paths_from(sources, limit_km=9.0, limit_minutes=20.0)
    for row, s in enumerate(sources):
        key = tuple(net.nodes[s])
        ref_km = nx.single_source_dijkstra_path_length(g, key, cutoff=9.0, weight="length_km")
        ref_min = nx.single_source_dijkstra_path_length(g, key, cutoff=20.0, weight="minutes")
        got_km = {tuple(net.nodes[i]): km[row, i] for i in np.flatnonzero(np.isfinite(km[row]))}
        got_min = {tuple(net.nodes[i]): mins[row, i] for i in np.flatnonzero(np.isfinite(mins[row]))}
        assert got_km.keys() == ref_km.keys()
        assert got_min.keys() == ref_min.keys()
        assert all(got_km[k] == pytest.approx(v) for k, v in ref_km.items())
        assert all(got_min[k] == pytest.approx(v) for k, v in ref_min.items())


def test_many_sources_are_chunked_identically(tmp_path):
    """One source per Dijkstra call (``solver.tuning.travel.chunk_cells: 1``)
    gives the same pairs as all sources in one call."""
    rng = np.random.default_rng(3)
    vill = [village(f"V{i}", *np.round(rng.uniform(0, 7, 2), 2), g1_3=1) for i in range(12)]
    sch = [school(f"S{i}", *np.round(rng.uniform(0, 7, 2), 2)) for i in range(9)]
    roads = _grid_roads(rng, 8)
    whole = make_case(tmp_path / "whole", vill, sch, scenario=limits(km=8.0))
    pyogrio.write_dataframe(roads, whole.parent / "case.gpkg", layer="roads")
    chunked = make_case(
        tmp_path / "chunked",
        vill,
        sch,
        scenario=deep_merge(limits(km=8.0), {"solver": {"tuning": {"travel": {"chunk_cells": 1}}}}),
    )
    pyogrio.write_dataframe(roads, chunked.parent / "case.gpkg", layer="roads")
    assert pairs_of(chunked) == pairs_of(whole)
    assert len(pairs_of(whole)) > 20
