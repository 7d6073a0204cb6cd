"""Placement, distances (straight line, roads, OD matrix), caps, areas, types, targets and the budget."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from tests.checker.common import BANDS, DIST_TOL_KM, TEACHES, TOL, _base, _enrolment, _limit, _planned, _read_gdf


def budget_covers(scen: dict, category: str) -> bool:
    """Whether the scenario's total budget counts this cost category."""
    scope = {
        "all": (category,),
        "construction": ("teaching", "living", "sports", "new_build", "upgrade", "land"),
        "floor_area": ("teaching", "living", "sports"),
    }
    return category in scope[scen["budget"].get("covers", "all")]


def _check_assignments(scen, villages, schools, assign, out):
    """Every child placed once, at an open school that teaches the band, within limits."""
    placed = assign.groupby(["village_id", "band"])["pupils"].sum()
    for b in BANDS:
        need = villages.set_index("village_id")[f"pupils_{b}"]
        got = placed.xs(b, level="band") if b in placed.index.get_level_values("band") else pd.Series(dtype=float)
        diff = (need - got.reindex(need.index).fillna(0.0)).abs()
        for v in diff[diff > 1e-3].index:
            out.append(f"pupils: village {v} band {b} has {need[v]} pupils but {got.get(v, 0.0)} placed")
        if scen["policy"]["assignment"].get(b, "whole") == "whole":
            n = assign[assign["band"] == b].groupby("village_id").size()
            for v in n[n > 1].index:
                out.append(f"whole catchment: village {v} band {b} is split over {n[v]} schools")
    type_after = schools.set_index("school_id")["type_after"]
    for r in assign.itertuples():
        t = type_after.get(r.school_id, "missing")
        if r.band not in TEACHES.get(t, set()) and not (
            t == "teaching_point" and r.band == "g4_6" and scen["policy"].get("teaching_point_takes_g4_6")
        ):
            out.append(f"compatibility: {r.village_id} {r.band} assigned to {r.school_id} of type {t}")
        if r.distance_km > _limit(scen, r.band) + 1e-6:
            out.append(
                f"distance limit: {r.village_id} {r.band} travels {r.distance_km} km > {_limit(scen, r.band)} km"
            )
        walk = float(scen["policy"]["walk_limit_km"][r.band])
        if bool(r.boards) != (r.distance_km > walk):
            out.append(
                f"boarding flag: {r.village_id} {r.band} at {r.distance_km} km, walk limit {walk}, boards={r.boards}"
            )


def _road_network(roads: gpd.GeoDataFrame, default_speed: float) -> tuple[np.ndarray, csr_matrix, csr_matrix]:
    """Vertices (rounded to the millimetre, so lines meeting at a vertex join)
    and the undirected edges between consecutive vertices of each line, in km
    and in minutes. A road's ``length_m`` replaces its geometric length, shared
    by its segments in proportion to theirs; parallel edges keep the least km
    and, separately, the fewest minutes."""
    length_m = pd.to_numeric(roads["length_m"], errors="coerce") if "length_m" in roads else None
    speed = pd.to_numeric(roads["speed_kmh"], errors="coerce") if "speed_kmh" in roads else None
    node: dict[tuple[float, float], int] = {}
    edge: dict[tuple[int, int], list[float]] = {}
    for i, g in enumerate(roads.geometry):
        if g is None or g.is_empty:
            continue
        segs = []
        for part in getattr(g, "geoms", [g]):
            xy = np.round(np.asarray(part.coords, float)[:, :2], 3)
            segs += [(tuple(a), tuple(b), math.hypot(*(b - a))) for a, b in zip(xy[:-1], xy[1:])]
        geom_m = sum(m for _, _, m in segs)
        lm = np.nan if length_m is None else float(length_m.iloc[i])
        scale = lm / geom_m if np.isfinite(lm) and geom_m > 0 else 1.0
        sp = np.nan if speed is None else float(speed.iloc[i])
        sp = sp if np.isfinite(sp) and sp > 0 else default_speed
        for a, b, m in segs:
            u, v = node.setdefault(a, len(node)), node.setdefault(b, len(node))
            if u == v:
                continue
            km = m * scale / 1000.0
            key = (min(u, v), max(u, v))
            old = edge.get(key)
            edge[key] = [km, km / sp * 60.0] if old is None else [min(old[0], km), min(old[1], km / sp * 60.0)]
    xy = np.array(list(node), float).reshape(-1, 2)
    n = len(xy)
    uv = np.array(list(edge), int).reshape(-1, 2)
    w = np.array(list(edge.values()), float).reshape(-1, 2)
    km = csr_matrix((w[:, 0], (uv[:, 0], uv[:, 1])), shape=(n, n))
    minutes = csr_matrix((w[:, 1], (uv[:, 0], uv[:, 1])), shape=(n, n))
    return xy, km, minutes


def _road_trips(
    roads: gpd.GeoDataFrame, default_speed: float, vxy: np.ndarray, sxy: np.ndarray, minutes: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Shortest road km (and minutes) for each (village, school) pair given
    row by row: snap both ends to their nearest vertex, a straight hop at each
    end (minutes at the default speed), Dijkstra from the schools' vertices."""
    nodes, g_km, g_min = _road_network(roads, default_speed)
    tree = cKDTree(nodes)
    hop_v, v_node = tree.query(vxy)
    hop_s, s_node = tree.query(sxy)
    hop = (hop_v + hop_s) / 1000.0
    km, mins = np.full(len(vxy), np.inf), np.full(len(vxy), np.inf)
    src = np.unique(s_node)
    chunk = max(1, 20_000_000 // max(1, len(nodes)))
    for k in range(0, len(src), chunk):
        part = src[k : k + chunk]
        rows = np.searchsorted(part, s_node)
        hit = np.isin(s_node, part)
        d = dijkstra(g_km, directed=False, indices=part)
        km[hit] = d[rows[hit], v_node[hit]] + hop[hit]
        if minutes:
            t = dijkstra(g_min, directed=False, indices=part)
            mins[hit] = t[rows[hit], v_node[hit]] + hop[hit] * 60.0 / default_speed
    return km, mins


def _read_od(manifest: dict) -> pd.DataFrame:
    path = _base(manifest) / manifest["scenario"]["data"]["distances"]
    od = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    od.columns = [str(c).strip() for c in od.columns]
    return pd.DataFrame(
        {
            "village_id": od["origin_id"].str.strip(),
            "school_id": od["destination_id"].str.strip(),
            "od_km": pd.to_numeric(od["distance_km"].str.strip(), errors="coerce"),
        }
    )


def _check_distances(manifest, scen, villages, sites, assign, out):
    """The reported km of each assignment, re-derived from the inputs: the OD
    matrix's row, shortest road paths, or the straight line x detour factor;
    and each band's limit in minutes (roads at their speed, else the default)."""
    if assign.empty:
        return
    data, travel = scen["data"], scen["travel"]
    a = assign.reset_index(drop=True)
    if data.get("distances"):
        od = _read_od(manifest)
        m = a.reset_index().merge(od, on=["village_id", "school_id"], how="left")
        m["diff"] = (m["od_km"] - m["distance_km"]).abs()
        best = m.groupby("index")["diff"].min()
        for i in best.index[~(best <= DIST_TOL_KM)]:
            r = a.loc[i]
            why = "no OD row" if np.isnan(best[i]) else f"OD row {m.loc[m['index'] == i, 'od_km'].tolist()} km"
            out.append(f"distance: {r.village_id}->{r.school_id} reported {r.distance_km} km, {why}")
        return
    v = villages.drop_duplicates("village_id").set_index("village_id")[["x", "y"]]
    s = sites.drop_duplicates("id").set_index("id")[["x", "y"]]
    known = a["village_id"].isin(v.index) & a["school_id"].isin(s.index)
    for r in a[~known].itertuples():
        out.append(f"distance: {r.village_id}->{r.school_id} names a village or school not in the input layers")
    a = a[known]
    vxy, sxy = v.loc[a["village_id"]].to_numpy(float), s.loc[a["school_id"]].to_numpy(float)
    speed = float(travel.get("default_speed_kmh", 30.0))
    minute_limits = {b: m for b, m in scen["policy"].get("max_trip_minutes", {}).items() if m is not None}
    roads = _read_gdf(manifest, "roads") if travel.get("use_roads", True) else None
    if roads is not None and len(roads):
        km, mins = _road_trips(roads, speed, vxy, sxy, bool(minute_limits))
        how = "by road"
    else:
        km = np.hypot(*(vxy - sxy).T) / 1000.0 * float(travel["detour_factor"])
        mins, how = km / speed * 60.0, "straight line x detour"
    for r, d, t in zip(a.itertuples(), km, mins):
        if not abs(d - r.distance_km) <= DIST_TOL_KM:
            out.append(
                f"distance: {r.village_id}->{r.school_id} reported {r.distance_km} km, recomputed {d:.4f} km ({how})"
            )
        lim = minute_limits.get(r.band)
        if lim is not None and t > lim + 1e-6:
            out.append(f"minutes limit: {r.village_id} {r.band} travels {t:.1f} min > {lim} min")


# --- schools, types, budget ------------------------------------------------------------------------------------------


def _check_schools(scen, sites, schools, assign, out):
    """Class caps, school caps, site classes, boarders, living area and site room."""
    caps, st = scen["caps"], scen["standards"]
    e = _enrolment(assign).reindex(schools["school_id"]).fillna(0.0)
    s = schools.set_index("school_id")
    site = sites.set_index("id")
    prim, jun = e["g1_3"] + e["g4_6"], e["g7_9"]
    for sid, r in s.iterrows():
        if sid not in site.index:
            out.append(f"schools.csv: {sid} is in no input layer")
            continue
        for b in BANDS:
            if abs(r[f"pupils_{b}"] - e.at[sid, b]) > 1e-3:
                out.append(f"schools.csv: {sid} pupils_{b} {r[f'pupils_{b}']} != assigned {e.at[sid, b]}")
        for lvl, n in (("primary", prim[sid]), ("junior", jun[sid])):
            cap = caps["class_size"].get(lvl)
            if cap is not None and n > cap * r[f"classes_{lvl}"] + TOL:
                out.append(f"class_cap: {sid} {lvl} {n} pupils in {r[f'classes_{lvl}']} classes (cap {cap})")
        if r["type_after"] != "closed":
            cap = caps["school_pupils"].get(r["type_after"])
            if cap is not None and prim[sid] + jun[sid] > cap + TOL:
                out.append(f"school_cap: {sid} has {prim[sid] + jun[sid]} pupils > {cap} ({r['type_after']})")
        elif prim[sid] + jun[sid] > TOL:
            out.append(f"closed school {sid} still has pupils")
        if (
            caps.get("use_site_max_classes", True)
            and r["classes_primary"] + r["classes_junior"] > site.at[sid, "max_classes"]
        ):
            out.append(
                f"site_classes: {sid} {r['classes_primary'] + r['classes_junior']} classes "
                f"> {site.at[sid, 'max_classes']}"
            )
        if not st.get("enabled", True):
            continue
        boarders = assign[(assign["school_id"] == sid) & assign["boards"]]["pupils"].sum()
        if abs(boarders - r["boarders"]) > 1e-3:
            out.append(f"boarders: {sid} reports {r['boarders']} but assignments give {boarders}")
        need = st["living_area_m2_per_boarder"] * boarders
        have = site.at[sid, "living_area_m2"] + r["living_area_added_m2"]
        if have + 0.05 < need:
            out.append(f"living_area: {sid} has {have:.1f} m² < {need:.1f} m² for {boarders} boarders")
        floors = st["building_floors"]
        free = max(
            0.0,
            site.at[sid, "site_area_m2"]
            - site.at[sid, "sports_area_m2"]
            - (site.at[sid, "teaching_area_m2"] + site.at[sid, "living_area_m2"]) / floors,
        )
        used = (r["teaching_area_added_m2"] + r["living_area_added_m2"]) / floors + r["sports_area_added_m2"]
        if used > free + 0.05:
            out.append(f"site_room: {sid} needs {used:.1f} m² of site but {free:.1f} m² is free")


def _check_types(scen, sites, schools, out):
    """Allowed moves, fixed decisions, targets, mergers into open schools."""
    s = schools.set_index("school_id")
    s = s[s.index.isin(sites["id"])]
    site = sites.set_index("id")
    pol = scen["policy"]
    for sid, r in s.iterrows():
        before, after = r["type_before"], r["type_after"]
        fixed = scen.get("fixed", {}).get(sid)
        if fixed is not None and after != fixed:
            out.append(f"fixed: {sid} must be {fixed} but is {after}")
        if site.at[sid, "kind"] == "candidate":
            ok = after == "closed" or (pol.get("allow_new_builds", True) and after in site.at[sid, "allowed"])
        else:
            ok = after in pol["moves"].get(before, [before, "closed"])
            keep = pol.get("keep_schools_with_pupils_at_least")
            now = sum(site.at[sid, f"pupils_{b}"] for b in BANDS)
            if (
                keep is not None
                and before in ("teaching_point", "primary")
                and now >= keep
                and after in ("closed", "teaching_point")
            ):
                out.append(f"keep rule: {sid} had {now} pupils (>= {keep}) but is {after}")
        if fixed is None and not ok:
            out.append(f"moves: {sid} may not go from {before} to {after}")
        into = r.get("merged_into", "")
        if into and s["type_after"].get(into, "closed") == "closed":
            out.append(f"merged_into: {sid} merges into {into}, which is not an open school")
    counts = s.loc[s.get("campus_of", pd.Series("", index=s.index)).fillna("") == "", "type_after"].value_counts()
    for t, target in scen.get("targets", {}).items():
        lo, hi = (target, target) if isinstance(target, int) else (target.get("min"), target.get("max"))
        n = int(counts.get(t, 0))
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            out.append(f"target: {n} {t} schools, target {lo}..{hi}")
    unlisted = site[(site["kind"] == "school") & ~site.index.isin(s.index)]
    for sid in unlisted.index:
        out.append(f"schools.csv: existing school {sid} missing")


def _check_projects(folder, scen, out) -> dict[str, float]:
    """projects.csv against the scenario's projects (each listed once, as given; a fixed one built);
    the built ones' costs by category."""
    given = {p["name"]: p for p in scen.get("projects") or []}
    path = folder / "projects.csv"
    if not given:
        if path.exists():
            out.append("projects.csv: written for a scenario without projects")
        return {}
    if not path.exists():
        out.append("projects.csv: missing, though the scenario has projects")
        return {}
    rows = pd.read_csv(path, dtype={"name": str})
    rows["built"] = rows["built"].astype(str).str.lower() == "true"
    if sorted(rows["name"]) != sorted(given):
        out.append(f"projects.csv: projects {sorted(rows['name'])} != the scenario's {sorted(given)}")
    cost: dict[str, float] = {}
    for r in rows.itertuples(index=False):
        p = given.get(r.name)
        if p is None:
            continue
        if abs(float(r.cost_10k_yuan) - p["cost_10k_yuan"]) > 1e-6 or r.category != p["category"]:
            out.append(f"projects.csv: {r.name} costs {r.cost_10k_yuan} in {r.category}, the scenario says otherwise")
        if not p.get("optional", False) and not r.built:
            out.append(f"projects.csv: fixed project {r.name} not built")
        if r.built:
            cost[p["category"]] = cost.get(p["category"], 0.0) + float(p["cost_10k_yuan"])
    return cost


def _check_budget(scen, sites, schools, summary, out, projects: dict[str, float] | None = None):
    c = scen["costs"]
    s = schools.set_index("school_id")
    s = s[s.index.isin(sites["id"])]
    site = sites.set_index("id")
    cost = {
        k: float((s[f"{k}_area_added_m2"] * c[f"{k}_yuan_per_m2"] / 1e4).sum())
        for k in ("teaching", "living", "sports")
    }
    new = s[(site.loc[s.index, "kind"] == "candidate").to_numpy() & (s["type_after"] != "closed").to_numpy()]
    cost["new_build"] = float(sum(c["new_build_10k_yuan"][t] for t in new["type_after"]))
    cost["land"] = float(site.loc[new.index, "land_cost_10k_yuan"].sum())
    ex = s[(site.loc[s.index, "kind"] == "school").to_numpy()]
    up = ex[
        (ex["type_after"] != ex["type_before"])
        & ex["type_after"].isin(["primary", "junior", "nine_year"])
        & ~((ex["type_before"] == "nine_year") & (ex["type_after"] == "junior"))
    ]
    cost["upgrade"] = len(up) * float(c["upgrade_10k_yuan"])
    ic = scen.get("indicators", {}).get("costs")
    if ic and _planned(scen) and "equipment_bought_yuan" in s.columns:  # staff, equipment and rooms, at unit costs
        cost["equipment"] = float(s["equipment_bought_yuan"].sum()) / 1e4
        cost["multimedia"] = ic["multimedia_room_10k_yuan"] * float(s["multimedia_rooms_added"].sum())
        cost["rooms"] = float(
            ic["music_room_10k_yuan"] * s["music_rooms_added"].sum()
            + ic["art_room_10k_yuan"] * s["art_rooms_added"].sum()
        )
        cost["teachers"] = float(
            ic["hire_10k_yuan"]["qualified"] * s["hired_qualified"].sum()
            + ic["hire_10k_yuan"]["pe_art"] * s["hired_pe_art"].sum()
            + ic["backbone_training_10k_yuan"] * s["trained_backbone"].sum()
            + ic["transfer_10k_yuan"] * s["moved_in_teachers"].sum()
        )
    on_sites = sum(cost.values())
    for k, v in (projects or {}).items():
        cost[k] = cost.get(k, 0.0) + v
    total = sum(cost.values())
    budget = scen["budget"].get("total_10k_yuan")
    covered = sum(v for k, v in cost.items() if budget_covers(scen, k))
    if budget is not None and covered > budget * (1 + 1e-6) + 0.01:
        out.append(f"budget: plan costs {covered:.2f} > budget {budget} (10k yuan)")
    for k, lim in scen["budget"].get("by_category_10k_yuan", {}).items():
        if cost.get(k, 0.0) > lim + 0.01:
            out.append(f"budget {k}: {cost[k]:.2f} > {lim}")
    if abs(summary["cost_10k_yuan"]["total"] - total) > 0.05 + 1e-6 * total:
        out.append(f"summary: cost total {summary['cost_10k_yuan']['total']} != recomputed {total:.2f}")
    if abs(s["cost_10k_yuan"].sum() - on_sites) > 0.05 + 1e-6 * on_sites:
        out.append(f"schools.csv: cost column sums to {s['cost_10k_yuan'].sum():.2f} != recomputed {on_sites:.2f}")


KIND_NAMES = {"城区": "town", "县城": "town", "集镇": "seat", "镇区": "seat", "农村": "village", "村": "village"}


def _trip_km(manifest, scen, villages, sites, vids, sids) -> np.ndarray:
    """Km from each village to each site of the lists (the OD matrix's row, roads, or straight x detour)."""
    travel = scen["travel"]
    if scen["data"].get("distances"):
        od = _read_od(manifest).groupby(["village_id", "school_id"])["od_km"].min()
        return np.array([od.get((v, s), np.inf) for v, s in zip(vids, sids)], dtype=float)
    v = villages.drop_duplicates("village_id").set_index("village_id")[["x", "y"]]
    s = sites.drop_duplicates("id").set_index("id")[["x", "y"]]
    vxy, sxy = v.loc[list(vids)].to_numpy(float), s.loc[list(sids)].to_numpy(float)
    roads = _read_gdf(manifest, "roads") if travel.get("use_roads", True) else None
    if roads is not None and len(roads):
        return _road_trips(roads, float(travel.get("default_speed_kmh", 30.0)), vxy, sxy, False)[0]
    return np.hypot(*(vxy - sxy).T) / 1000.0 * float(travel["detour_factor"])


def _check_nearest_zone(manifest, scen, villages, sites, schools, assign, summary, out):
    """In the zone's villages, the share of pupils at the nearest open school teaching their band (within the
    tolerance), per level, against the share required and summary.json's figures."""
    nz = scen["policy"].get("nearest_zone")
    if not nz:
        return
    kind = villages.drop_duplicates("village_id").set_index("village_id")["kind"].astype(str).str.strip()
    zone = set(kind[kind.map(lambda k: KIND_NAMES.get(k, k)).isin(nz["kinds"])].index)
    tp_g4_6 = scen["policy"].get("teaching_point_takes_g4_6", False)
    open_ = schools[schools["type_after"] != "closed"]
    got = {"primary": [0.0, 0.0], "junior": [0.0, 0.0]}
    for r in assign[assign["village_id"].isin(zone)].itertuples(index=False):
        teach = [
            s for s, t in zip(open_["school_id"], open_["type_after"])
            if r.band in TEACHES[t] or (t == "teaching_point" and r.band == "g4_6" and tp_g4_6)
        ]  # fmt: skip
        km = _trip_km(manifest, scen, villages, sites, [r.village_id] * (len(teach) + 1), [r.school_id, *teach])
        level = "junior" if r.band == "g7_9" else "primary"
        got[level][0] += r.pupils
        if km[0] <= km[1:].min() + nz["tolerance_km"] + DIST_TOL_KM:
            got[level][1] += r.pupils
    for level, (pupils, near) in got.items():
        need = nz["share"][level]
        if pupils and near < need * pupils - TOL:
            out.append(f"nearest_zone: {near:.1f} of {pupils:.1f} {level} pupils at their nearest school < {need}")
        said = (summary.get("nearest_zone") or {}).get(level, {})
        if abs(said.get("at_nearest", 0.0) - near) > 1e-2 or abs(said.get("pupils", 0.0) - pupils) > 1e-2:
            out.append(f"summary: nearest_zone {level} {said} != recomputed {near:.3f} of {pupils:.3f}")
