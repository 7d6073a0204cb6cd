"""Deterministic synthetic county for the school-layout planner.

``make_county`` draws a county calibrated on the Fangcheng District 2030 plan
(STANDARDS.md): an irregular boundary, townships tiling it, villages and urban
communities with their 2030 pupils, the existing schools with their resources,
candidate sites for new schools, and a connected road network. Every draw comes
from one ``numpy.random.default_rng(seed)``, iteration is in array order and ids
are given after a stable sort, so one seed gives identical tables.

``write_gpkg`` writes all layers into one GeoPackage; ``calibration`` recomputes
the calibration table from the layers alone (used by the CLIs and the checks).
The layers are described in gis/README.md.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS as CRS_
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree
from scipy.special import ndtr

try:  # works both as ``gis.countygen`` and as a script-dir module
    from . import _countygen_parts as parts
except ImportError:  # pragma: no cover - script use
    import _countygen_parts as parts

# CGCS2000 / 3-degree Gauss-Kruger CM 108E (metres).  NB: EPSG:4547 is the
# CM 114E zone; 108.0E lies in the CM 108E zone, which is EPSG:4545.
CRS = "EPSG:4545"
CENTRE_LONLAT = (108.0, 21.7)
LAYERS = ("boundary", "townships", "villages", "schools", "candidate_sites", "roads")
DEMO = {"villages": 1000, "schools": 186, "seed": 2030, "scale": 1.0}

# Calibration at scale 1 (Fangcheng District, 2030; STANDARDS.md).
PRIMARY_PUPILS = 57_465
JUNIOR_PUPILS = 27_900
G1_3_SHARE = 0.505
AREA_KM2 = 2_400.0
TOWNSHIPS = 10
CANDIDATE_SITES = 20
TOWN_RADIUS_M = 6_000.0
TOWN_SHARE = 0.325  # pupils living in the county town's communities
SEAT_SHARE = 0.14  # pupils living in the township seats' communities
URBAN_SHARE_OF_VILLAGES = 0.10
SCHOOL_MIX = {"primary": 120, "teaching_point": 46, "junior": 17, "nine_year": 3}
TOWN_SCHOOLS = {"primary": 10, "junior": 4, "nine_year": 1}  # of the mix above

CLASS_SIZE = {"primary": 45, "junior": 50}
SCHOOL_CAP = {"primary": 2000, "teaching_point": 2000, "junior": 2000, "nine_year": 2500}  # for readers
MAX_CLASSES_CAP = {"primary": 48, "teaching_point": 6, "junior": 60, "nine_year": 60}
STANDARD = parts.STD  # per pupil (per 100 pupils for staff and rooms), primary / junior
PER_100 = parts.PER_100
TEACHES = parts.TEACHES  # bands each type teaches today
TOWN_SITE_TYPES = (
    "junior",
    "primary",
    "junior,nine_year",
    "primary",
    "junior",
    "primary,nine_year",
    "primary",
    "junior",
)
SEAT_SITE_TYPES = ("junior", "primary", "primary,nine_year", "junior", "junior,nine_year", "primary")
TEACHING_POINT_MAX = 100  # 2030 pupils (today about 1.8x, under the 200 cap): bigger ones swap with a primary
BOARDING_LIMIT_M = {"g1_3": math.inf, "g4_6": 1_150.0, "g7_9": 1_900.0}  # sizing only: the walk limits / 1.3
BASE_YEAR_FACTOR = {"g1_3": 1.77, "g4_6": 1.30, "g7_9": 0.96}
"""Today's (2021) pupils over the 2030 pupils, by band: the national births of
the cohorts in those grades (NBS: 2013-2015 over 2022-2024 for g1_3, 2010-2012
over 2019-2021 for g4_6; g7_9 with cohortgen's g7 rate), so the schools'
enrolment, classes and site classes are today's while their floor areas, staff
and equipment are drawn against the 2030 pupils they must serve."""
ROAD_SPEED = {"trunk": 60, "county": 40, "village": 25}
SKELETON_BETA = 2.0  # 1 = Gabriel graph, 2 = relative neighbourhood graph


@dataclass(frozen=True)
class _Geo:
    """The drawn geography that later steps place things in."""

    centre: np.ndarray  # county town seat, projected metres
    boundary: shapely.Polygon
    inner: shapely.Polygon  # boundary shrunk by 200 m: where points may go
    radius: float  # radius of the circle of the county's area
    town_radius: float
    seats: np.ndarray  # (n, 2); seat 0 is the county town
    townships: tuple[str, ...]
    cells: tuple  # township polygons, in seat order
    terrain: parts.Terrain


def make_county(
    *, villages: int, schools: int, seed: int, scale: float = 1.0, crs: str = CRS
) -> dict[str, gpd.GeoDataFrame]:
    """Draw a synthetic county; return its layers keyed by name (see LAYERS).

    ``villages`` counts villages and urban communities, ``schools`` the existing
    schools of all types (demo: 1000 and 186).  ``scale`` multiplies the area,
    the number of townships and candidate sites and the pupil totals (demo 1;
    the benchmark CLI passes villages / 1000).  ``crs``: any projected CRS in
    metres; the shapes are drawn in metres around 108.0E 21.7N projected into it.
    Raises ValueError for counts too small for the townships.
    """
    _check_args(villages, schools, scale, crs)
    rng = np.random.default_rng(seed)
    geo = _draw_geography(rng, scale, crs)
    vil = _draw_villages(rng, geo, villages, scale)
    sch = _draw_schools(rng, geo, vil, schools)
    _enrol(sch, vil)
    _equip(rng, sch)
    sites = _draw_sites(rng, geo, vil, sch, max(1, round(CANDIDATE_SITES * scale)))
    roads = _draw_roads(rng, geo, vil, sch, sites)
    return _to_layers(geo, vil, sch, sites, roads, crs)


def _check_args(villages: int, schools: int, scale: float, crs: str) -> None:
    c = CRS_.from_user_input(crs)
    if not c.is_projected or c.axis_info[0].unit_name != "metre":
        raise ValueError(f"crs must be a projected CRS in metres, got {crs}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    n_twp = max(2, round(TOWNSHIPS * scale))
    if villages < 12 * n_twp:
        raise ValueError(f"villages={villages} too few for {n_twp} townships (need >= {12 * n_twp})")
    if schools < 3 * n_twp:
        raise ValueError(f"schools={schools} too few for {n_twp} townships (need >= {3 * n_twp})")


# --------------------------------------------------------------------------- geography


def _draw_geography(rng: np.random.Generator, scale: float, crs: str) -> _Geo:
    to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    centre = np.round(np.array(to_xy.transform(*CENTRE_LONLAT)), 2)
    area = AREA_KM2 * 1e6 * scale
    radius = math.sqrt(area / math.pi)
    town_radius = TOWN_RADIUS_M * math.sqrt(scale)
    boundary = parts.star_polygon(rng, centre + rng.normal(0, 0.08 * radius, 2), area)
    inner = boundary.buffer(-200.0)
    terrain = parts.Terrain.draw(rng, centre, radius, town_radius)
    n_twp = max(2, round(TOWNSHIPS * scale))
    seats = _draw_seats(rng, inner, centre, n_twp, town_radius, area)
    cells = shapely.voronoi_polygons(shapely.multipoints(seats), extend_to=boundary, ordered=True).geoms
    cells = tuple(parts.polygonal(shapely.intersection(c, boundary)) for c in cells)
    names = parts.township_names(rng, seats, terrain(seats))
    return _Geo(centre, boundary, inner, radius, town_radius, seats, names, cells, terrain)


def _draw_seats(rng, inner, centre, n, town_radius, area) -> np.ndarray:
    """Township seats by best-candidate sampling, kept clear of the county town."""
    spacing = math.sqrt(area / n)
    core = inner.buffer(-0.3 * spacing)
    core = core if core.area > 0.3 * inner.area else inner
    seats = [centre]
    while len(seats) < n:
        cand = parts.sample_in(rng, core, 40)
        d_town = np.hypot(*(cand - centre).T)
        cand = cand[d_town > 2.3 * town_radius]
        if len(cand) == 0:
            continue
        d = cKDTree(np.array(seats)).query(cand)[0]
        seats.append(cand[np.argmax(d)])
    return np.round(np.array(seats), 2)


# --------------------------------------------------------------------------- villages


def _draw_villages(rng, geo: _Geo, n: int, scale: float) -> pd.DataFrame:
    """Urban communities, seat communities and rural villages with their pupils."""
    n_urban = round(URBAN_SHARE_OF_VILLAGES * n)
    n_seat_each = rng.integers(2, 5, len(geo.seats) - 1)
    n_seat = int(n_seat_each.sum())
    n_rural = n - n_urban - n_seat
    # minimum gaps (demo: 250 m in town, 400 m in the countryside), smaller when crowded
    gap_town = min(250.0, 0.3 * math.sqrt(math.pi * geo.town_radius**2 / max(n_urban, 1)))
    gap_rural = min(400.0, 0.25 * math.sqrt(geo.boundary.area / max(n_rural, 1)))
    # the first community of the town and of each seat sits on the seat itself
    sampler = parts.urban_sampler(geo)
    urban = np.vstack([geo.centre, parts.spaced_points(rng, geo, n_urban - 1, gap_town, sampler, [geo.centre[None]])])
    on_seat = geo.seats[1:]
    around = np.repeat(on_seat, n_seat_each - 1, axis=0)
    around = parts.spaced_points(
        rng, geo, len(around), min(300.0, gap_rural), parts.seat_sampler(geo, around), [urban, on_seat]
    )
    seat_pts = np.vstack([on_seat, around])
    rural = parts.spaced_points(rng, geo, n_rural, gap_rural, parts.rural_sampler(geo), [urban, seat_pts])
    xy = np.round(np.vstack([urban, seat_pts, rural]), 2)  # cm: road ends are these exact points
    kind = np.repeat(np.array(["urban", "seat", "rural"]), [n_urban, n_seat, n_rural])
    twp = cKDTree(geo.seats).query(xy)[1]  # the townships are the seats' Voronoi cells
    d_seat = np.hypot(*(xy - geo.seats[twp]).T)
    h = geo.terrain(xy)
    r_town = np.hypot(*(xy - geo.centre).T) / geo.town_radius
    w = np.where(
        kind == "urban",
        rng.lognormal(0, 0.35, n) * (1.0 - 0.4 * np.minimum(r_town, 1.0)),
        np.where(
            kind == "seat",
            rng.lognormal(0, 0.3, n) * rng.uniform(0.6, 1.4, len(geo.seats))[twp],
            rng.lognormal(0, 0.85, n) * np.exp(-2.5 * h) * (0.35 + np.exp(-d_seat / 5_000.0)),
        ),
    )
    share = {"urban": TOWN_SHARE, "seat": SEAT_SHARE, "rural": 1 - TOWN_SHARE - SEAT_SHARE}
    for k, s in share.items():
        w[kind == k] *= s / w[kind == k].sum()
    g13, g46, g79 = _split_pupils(rng, w, scale)
    df = pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "kind": kind,
            "twp": twp,
            "d_seat": d_seat,
            "pupils_g1_3": g13,
            "pupils_g4_6": g46,
            "pupils_g7_9": g79,
        }
    )
    df = df.sort_values(["twp", "kind", "d_seat"], key=_kind_key, kind="stable").reset_index(drop=True)
    df["base"] = parts.village_bases(rng, df, geo.townships)
    suffix = np.where(df["kind"].eq("rural"), "村", "社区")
    df["township"] = np.array(geo.townships)[df["twp"]]
    df["name"] = df["township"] + df["base"] + suffix
    width = max(4, len(str(n)))
    df.insert(0, "village_id", [f"V{i:0{width}d}" for i in range(1, n + 1)])
    return df


def _kind_key(col: pd.Series) -> pd.Series:
    return col.map({"urban": 0, "seat": 1, "rural": 2}) if col.name == "kind" else col


def _split_pupils(rng, w: np.ndarray, scale: float) -> tuple[np.ndarray, ...]:
    """Integer pupils per band hitting the (scaled) totals exactly."""
    primary_total = round(PRIMARY_PUPILS * scale)
    junior_total = round(JUNIOR_PUPILS * scale)
    g13_total = round(G1_3_SHARE * primary_total)
    jf = junior_total / (primary_total + junior_total) * np.exp(rng.normal(0, 0.12, len(w)))
    primary = largest_remainder(primary_total, w * (1 - np.minimum(jf, 0.9)))
    junior = largest_remainder(junior_total, w * np.minimum(jf, 0.9))
    s = np.clip(rng.normal(G1_3_SHARE, 0.03, len(w)), 0.42, 0.6)
    x = primary * s
    g13 = largest_remainder(g13_total, x)
    return g13, primary - g13, junior


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (Hamilton).

    Units left after flooring go to the largest remainders, ties to the lower index.
    An entry never exceeds ceil of its exact quota.
    """
    q = np.asarray(weights, float) * (total / np.sum(weights))
    f = np.floor(q)
    rest = int(round(total - f.sum()))
    order = np.lexsort((np.arange(len(q)), -(q - f)))
    f[order[:rest]] += 1
    return f.astype(np.int64)


# --------------------------------------------------------------------------- schools


def _draw_schools(rng, geo: _Geo, vil: pd.DataFrame, n: int) -> pd.DataFrame:
    """Place the existing schools: town, township seats, then villages."""
    counts = parts.school_counts(n)
    n_rural_twp = len(geo.seats) - 1
    town = {t: min(counts[t], max(1, round(counts[t] * TOWN_SCHOOLS[t] / SCHOOL_MIX[t]))) for t in TOWN_SCHOOLS}
    seat_jun = min(n_rural_twp, counts["junior"] - town["junior"])
    n_vil_pri = counts["primary"] - town["primary"] - n_rural_twp
    if n_vil_pri < 0 or seat_jun < 0:
        raise ValueError(f"schools={n} too few for {len(geo.seats)} townships")
    xy = vil[["x", "y"]].to_numpy()
    prim = (vil["pupils_g1_3"] + vil["pupils_g4_6"]).to_numpy()
    jun = vil["pupils_g7_9"].to_numpy()
    urban = vil["kind"].eq("urban").to_numpy()
    rows: list[tuple] = []  # (type, role, host village or -1, x, y)

    def add(kind, role, hosts, xy_points):
        rows.extend((kind, role, int(h), *p) for h, p in zip(hosts, xy_points, strict=True))

    placed = parts.Placer(rng, geo.inner, xy)
    # town: the nine-year school(s) first, then primaries and juniors around them
    r_town = np.hypot(*(xy - geo.centre).T) / geo.town_radius
    w_all = np.where(urban & (r_town > 0.75), prim + jun + 1.0, 0.0)  # a newer district
    nine = parts.greedy_spread(xy, w_all, town["nine_year"], np.empty((0, 2)), 1.0)
    add("nine_year", "town", nine, placed.near(xy[nine], 80, 250))
    for kind, demand in (("primary", prim), ("junior", jun)):
        w = np.where(urban, demand + 1.0, 0.0)
        w[nine] = 0
        hosts = parts.lloyd_hosts(xy, w, town[kind], xy[nine], fixed_share=0.5)
        add(kind, "town", hosts, placed.near(xy[hosts], 80, 250))
    seat_pts = geo.seats[1:]
    add("primary", "central", [-1] * n_rural_twp, placed.near(seat_pts, 300, 800))
    by_need = np.argsort(-np.bincount(vil["twp"], jun, len(geo.seats))[1:], kind="stable")[:seat_jun]
    add("junior", "seat", [-1] * seat_jun, placed.near(seat_pts[np.sort(by_need)], 400, 1200))
    rural = vil["kind"].eq("rural").to_numpy(copy=True)  # villages still free to host a school

    def existing(kinds):
        return np.array([r[3:] for r in rows if r[0] in kinds]).reshape(-1, 2)

    for kind, k in (
        ("nine_year", counts["nine_year"] - town["nine_year"]),
        ("junior", counts["junior"] - town["junior"] - seat_jun),
    ):
        hosts = parts.greedy_spread(xy, np.where(rural, jun, 0), k, existing(("junior", "nine_year")), 1.0)
        add(kind, "village", hosts, placed.near(xy[hosts], 60, 200))
        rural[hosts] = False
    hosts = parts.greedy_spread(xy, np.where(rural, prim**0.4, 0), n_vil_pri, existing(("primary", "nine_year")), 1.5)
    add("primary", "village", hosts, placed.near(xy[hosts], 60, 200))
    rural[hosts] = False
    g13 = vil["pupils_g1_3"].to_numpy()
    hosts = parts.greedy_spread(
        xy,
        np.where(rural, g13**0.2, 0),
        counts["teaching_point"],
        existing(("primary", "nine_year", "teaching_point")),
        3.0,  # coverage first: the remotest hamlets get the teaching points
    )
    add("teaching_point", "village", hosts, placed.near(xy[hosts], 40, 150))
    sch = pd.DataFrame(rows, columns=["type", "role", "host", "x", "y"])
    _cap_teaching_points(sch, vil)
    sch["twp"] = cKDTree(geo.seats).query(sch[["x", "y"]].to_numpy())[1]
    sch["d_seat"] = np.hypot(sch["x"] - geo.seats[sch["twp"], 0], sch["y"] - geo.seats[sch["twp"], 1])
    order = {"junior": 0, "nine_year": 1, "primary": 2, "teaching_point": 3}
    sch["type_rank"] = sch["type"].map(order)
    sch = sch.sort_values(["twp", "type_rank", "d_seat"], kind="stable").reset_index(drop=True)
    sch["township"] = np.array(geo.townships)[sch["twp"]]
    sch["name"] = parts.school_names(sch, vil)
    width = max(3, len(str(n)))
    sch.insert(0, "school_id", [f"S{i:0{width}d}" for i in range(1, n + 1)])
    return sch


def _cap_teaching_points(sch: pd.DataFrame, vil: pd.DataFrame) -> None:
    """Keep teaching points small: a teaching point enrolling more than
    TEACHING_POINT_MAX pupils swaps type with the village primary that has the
    fewest g1_3 pupils (counts by type unchanged), until none is left or no
    swap helps."""
    swapped = set()
    for _ in range(len(sch)):
        _enrol(sch, vil)
        tp = sch["type"].eq("teaching_point").to_numpy()
        big = np.flatnonzero(tp & (sch["pupils_g1_3"].to_numpy() > TEACHING_POINT_MAX))
        pri = np.flatnonzero(sch["type"].eq("primary").to_numpy() & sch["role"].eq("village").to_numpy())
        pri = np.array([i for i in pri if i not in swapped], dtype=int)
        if len(big) == 0 or len(pri) == 0:
            return
        i = big[np.argmax(sch["pupils_g1_3"].to_numpy()[big])]
        j = pri[np.argmin(sch["pupils_g1_3"].to_numpy()[pri])]
        if sch["pupils_g1_3"].iat[j] >= sch["pupils_g1_3"].iat[i]:
            return
        sch.loc[[i, j], "type"] = ["primary", "teaching_point"]
        swapped.update((int(i), int(j)))


def _enrol(sch: pd.DataFrame, vil: pd.DataFrame) -> None:
    """Pupils per band at the nearest school teaching the band; classes and boarders."""
    vxy = vil[["x", "y"]].to_numpy()
    sch["boarders"] = 0
    for band, kinds in TEACHES.items():
        idx = np.flatnonzero(sch["type"].isin(kinds).to_numpy())
        d, j = cKDTree(sch.loc[idx, ["x", "y"]].to_numpy()).query(vxy)
        pupils = vil[f"pupils_{band}"].to_numpy()
        sch[f"pupils_{band}"] = 0
        sch.loc[idx, f"pupils_{band}"] = np.bincount(j, pupils, len(idx)).astype(np.int64)
        far = np.bincount(j, pupils * (d > BOARDING_LIMIT_M[band]), len(idx)).astype(np.int64)
        sch.loc[idx, "boarders"] += far
    p = sch["pupils_g1_3"] + sch["pupils_g4_6"]
    sch["need_p"] = np.ceil(p / CLASS_SIZE["primary"]).astype(np.int64)
    sch["need_j"] = np.ceil(sch["pupils_g7_9"] / CLASS_SIZE["junior"]).astype(np.int64)


# --------------------------------------------------------------------------- resources


def _base_year(sch: pd.DataFrame) -> None:
    """Today's enrolment (BASE_YEAR_FACTOR times the 2030 pupils) and the classes
    it needs, before the site classes are drawn for them."""
    for band, f in BASE_YEAR_FACTOR.items():
        sch[f"pupils_{band}"] = np.round(sch[f"pupils_{band}"] * f).astype(np.int64)
    sch["need_p"] = np.ceil((sch["pupils_g1_3"] + sch["pupils_g4_6"]) / CLASS_SIZE["primary"]).astype(np.int64)
    sch["need_j"] = np.ceil(sch["pupils_g7_9"] / CLASS_SIZE["junior"]).astype(np.int64)


def _equip(rng, sch: pd.DataFrame) -> None:
    """Classes and site limits for today's pupils; areas, staff and equipment
    against the 2030 pupils: 城区挤、乡村弱."""
    n = len(sch)
    town = sch["role"].eq("town").to_numpy()
    typ = sch["type"].to_numpy()
    pp = (sch["pupils_g1_3"] + sch["pupils_g4_6"]).to_numpy().astype(float)
    pj = sch["pupils_g7_9"].to_numpy().astype(float)
    _base_year(sch)
    need = (sch["need_p"] + sch["need_j"]).to_numpy()
    q = rng.normal(0, 1, n)  # latent school quality: weak schools are weak on everything

    def ratio(rural_lo, rural_hi, town_lo, town_hi):
        u = ndtr(0.85 * q + 0.53 * rng.normal(0, 1, n))
        return np.where(town, town_lo + (town_hi - town_lo) * u, rural_lo + (rural_hi - rural_lo) * u)

    lo = np.select([typ == "junior", typ == "nine_year"], [40, 44], 45)
    cap = np.array([MAX_CLASSES_CAP[t] for t in typ])
    mx_town = np.clip(np.round(need * rng.uniform(0.9, 1.1, n)), lo, cap)
    mx_rural = np.clip(np.round(need * rng.uniform(1.3, 2.0, n)), np.where(typ == "nine_year", 9, 6), cap)
    mx = np.where(typ == "teaching_point", 6, np.where(town, mx_town, mx_rural)).astype(np.int64)
    sch["max_classes"] = mx
    cp, cj = sch["need_p"].to_numpy(), sch["need_j"].to_numpy()
    over = need > mx  # crowded: fewer rooms than classes needed, so big classes
    cp_new = np.where(cj == 0, mx, np.clip(np.round(mx * cp / np.maximum(need, 1)), cp > 0, mx - (cj > 0)))
    sch["classes_primary"] = np.where(over, cp_new, cp).astype(np.int64)
    sch["classes_junior"] = np.where(over, mx - sch["classes_primary"], cj).astype(np.int64)

    std = {k: v[0] * pp + v[1] * pj for k, v in STANDARD.items()}
    for k in PER_100:
        std[k] = std[k] / 100.0
    tiny = typ == "teaching_point"
    village = sch["role"].eq("village").to_numpy() & ~tiny
    teach = ratio(0.58, 1.45, 0.48, 0.88) * std["teaching_area_m2"]
    teach = np.maximum(teach, np.where(tiny, rng.uniform(120, 260, n), np.where(town, 0, rng.uniform(280, 450, n))))
    sports = ratio(0.53, 1.33, 0.43, 0.83) * std["sports_area_m2"]
    sports = np.maximum(sports, np.where(tiny, rng.uniform(200, 600, n), np.where(town, 0, rng.uniform(600, 1500, n))))
    boards = sch["role"].isin(["central", "seat"]).to_numpy() | ((typ == "nine_year") & ~town)
    boards |= (typ == "junior") & ~town
    per_boarder = np.select(
        [boards, village & (rng.uniform(0, 1, n) < 0.3), town & (typ != "primary")],
        [rng.uniform(4, 8.5, n), rng.uniform(1, 4, n), rng.uniform(0, 2, n)],
        0.0,
    )
    living = np.round(per_boarder * sch["boarders"].to_numpy())
    beds = np.floor(living / rng.uniform(3.0, 4.0, n))
    storeys = np.where(town, rng.integers(4, 7, n), np.where(tiny, rng.integers(1, 3, n), rng.integers(2, 5, n)))
    footprint = (teach + living) / storeys
    # free land: next to nothing in town, enough in the countryside to fix the sports ground
    shortfall = np.maximum(std["sports_area_m2"] - sports, 0)
    free = np.where(
        town, rng.uniform(0, 0.1, n) * sports, shortfall * rng.uniform(0.8, 2.5, n) + rng.uniform(300, 2000, n)
    )
    other = footprint * np.where(town, rng.uniform(0.3, 0.6, n), rng.uniform(0.6, 1.2, n))
    sch["teaching_area_m2"] = np.round(teach).astype(np.int64)
    sch["living_area_m2"] = living.astype(np.int64)
    sch["sports_area_m2"] = np.round(sports).astype(np.int64)
    sch["site_area_m2"] = np.round(footprint + other + sports + free).astype(np.int64)
    sch["boarding_beds"] = beds.astype(np.int64)

    required = pp / 19.0 + pj / 13.5
    min_t = np.where(tiny, np.where(pp > 15, 2, 1), 3)
    teachers = np.maximum(np.round(required * ratio(0.9, 1.4, 0.8, 1.05)), min_t)
    sch["teachers"] = teachers.astype(np.int64)
    # ratios to the standard, (rural low, high, town low, high): about a third of the
    # village schools fall short of each, town schools seldom do
    for k, r in (
        ("teachers_qualified", (0.7, 1.6, 1.0, 1.6)),
        ("teachers_backbone", (0.3, 2.4, 1.0, 2.5)),
        ("teachers_pe_art", (0.5, 2.0, 1.0, 1.8)),
    ):
        sch[k] = np.minimum(np.round(std[k] * ratio(*r)), teachers).astype(np.int64)
    equip = np.maximum(
        std["equipment_value_yuan"] * ratio(0.6, 1.8, 0.95, 1.5), np.where(tiny, 20_000, np.where(town, 0, 50_000))
    )
    sch["equipment_value_yuan"] = (np.round(equip / 100) * 100).astype(np.int64)
    sch["multimedia_rooms"] = np.round(std["multimedia_rooms"] * ratio(0.6, 1.8, 0.9, 1.4)).astype(np.int64)
    rooms_needed = np.ceil((sch["classes_primary"] + sch["classes_junior"]).to_numpy() / 12.0)
    for k in ("music_rooms", "art_rooms"):
        sch[k] = np.round(rooms_needed * ratio(0.0, 1.3, 0.6, 1.2)).astype(np.int64)


# --------------------------------------------------------------------------- candidate sites


def _draw_sites(rng, geo: _Geo, vil, sch, n: int) -> pd.DataFrame:
    """About 40 % in and around the county town, the rest at township seats."""
    n_town = round(0.4 * n)
    placed = parts.Placer(rng, geo.inner, np.vstack([vil[["x", "y"]].to_numpy(), sch[["x", "y"]].to_numpy()]))
    town_xy = parts.town_site_points(rng, geo, n_town, sch[["x", "y"]].to_numpy())
    pupils = np.bincount(vil["twp"], vil[["pupils_g1_3", "pupils_g4_6", "pupils_g7_9"]].sum(axis=1), len(geo.seats))
    order = 1 + np.argsort(-pupils[1:], kind="stable")
    seat_idx = np.resize(order, n - n_town)
    rows = [("town", p) for p in placed.near(town_xy, 30, 200)]
    rows += [("seat", p) for p in placed.near(geo.seats[seat_idx], 600, 2500)]
    df = pd.DataFrame({"role": [r[0] for r in rows], "x": [r[1][0] for r in rows], "y": [r[1][1] for r in rows]})
    town = df["role"].eq("town").to_numpy()
    allowed = np.empty(len(df), dtype=object)
    allowed[town] = np.resize(TOWN_SITE_TYPES, town.sum())
    allowed[~town] = np.resize(SEAT_SITE_TYPES, (~town).sum())
    df["allowed_types"] = allowed.astype(str)
    has_pri = df["allowed_types"].str.contains("primary").to_numpy()
    choices_town = np.where(has_pri, rng.choice([30, 36, 42, 48], len(df)), rng.choice([36, 42, 48, 54, 60], len(df)))
    choices_rural = np.where(has_pri, rng.choice([12, 18, 24, 30], len(df)), rng.choice([18, 24, 30, 36], len(df)))
    df["max_classes"] = np.where(town, choices_town, choices_rural).astype(np.int64)
    per_class = np.where(town, rng.uniform(450, 650, len(df)), rng.uniform(700, 1000, len(df)))
    df["site_area_m2"] = (np.round(df["max_classes"] * per_class / 10) * 10).astype(np.int64)
    cost = np.where(town, rng.uniform(200, 800, len(df)), rng.uniform(30, 150, len(df)))
    df["land_cost_10k_yuan"] = np.round(cost, 1)
    df["twp"] = cKDTree(geo.seats).query(df[["x", "y"]].to_numpy())[1]
    df["township"] = np.array(geo.townships)[df["twp"]]
    df["name"] = parts.site_names(df, geo)
    df = df.sort_values(["twp", "role", "name"], kind="stable").reset_index(drop=True)
    width = max(2, len(str(n)))
    df.insert(0, "site_id", [f"C{i:0{width}d}" for i in range(1, n + 1)])
    return df


# --------------------------------------------------------------------------- roads


def _draw_roads(rng, geo: _Geo, vil, sch, sites) -> pd.DataFrame:
    """A beta-skeleton over every village, school and site (it contains the MST, so it
    is connected); trunk roads are the shortest paths from the county town to each
    seat, county roads those between neighbouring seats, the rest village roads."""
    xy = np.vstack([d[["x", "y"]].to_numpy() for d in (vil, sch, sites)])
    n = len(xy)
    tri = Delaunay(xy)
    e = np.vstack([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]], tri.simplices[:, [0, 2]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    mst = minimum_spanning_tree(coo_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n))).tocoo()
    in_mst = np.zeros(len(e), bool)
    mst_keys = set(zip(np.minimum(mst.row, mst.col).tolist(), np.maximum(mst.row, mst.col).tolist(), strict=True))
    in_mst[[i for i, (a, b) in enumerate(e.tolist()) if (a, b) in mst_keys]] = True
    keep = parts.beta_skeleton(xy, e, length, SKELETON_BETA)
    lines = shapely.linestrings(np.stack([xy[e[:, 0]], xy[e[:, 1]]], axis=1))
    keep &= shapely.within(lines, geo.boundary)
    keep |= in_mst
    e, length = e[keep], length[keep]
    graph = coo_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    assert connected_components(graph, directed=False)[0] == 1
    edge_id = {(a, b): i for i, (a, b) in enumerate(e.tolist())}
    seat_nodes = cKDTree(xy).query(geo.seats)[1]  # the seat communities sit on the seats
    cls = np.full(len(e), 2)
    pairs = [(0, j) for j in range(1, len(seat_nodes))]
    nb = parts.seat_neighbours(geo.seats)
    for level, todo in ((0, pairs), (1, nb)):
        sources = sorted({a for a, _ in todo})
        _, pred = dijkstra(graph, directed=False, indices=seat_nodes[sources], return_predecessors=True)
        row = {s: i for i, s in enumerate(sources)}
        for a, b in todo:
            v, p = seat_nodes[b], pred[row[a]]
            while v != seat_nodes[a] and v >= 0:
                k = edge_id[(min(v, p[v]), max(v, p[v]))]
                cls[k] = min(cls[k], level)
                v = p[v]
    names = np.array(["trunk", "county", "village"])[cls]
    wiggle = np.where(cls == 2, 0.06, 0.03)
    geom = parts.wiggly_lines(rng, xy, e, wiggle, geo.boundary)
    df = pd.DataFrame(
        {
            "road_class": names,
            "speed_kmh": [ROAD_SPEED[c] for c in names],
            "cls": cls,
            "a": e[:, 0],
            "b": e[:, 1],
            "geometry": geom,
        }
    )
    return df.sort_values(["cls", "a", "b"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- output


VILLAGE_COLUMNS = ["village_id", "name", "township", "kind", "pupils_g1_3", "pupils_g4_6", "pupils_g7_9"]
KIND_NAMES = {"urban": "town", "seat": "seat", "rural": "village"}
"""The villages layer's ``kind`` as the planner reads it (town, seat, village)."""
SCHOOL_COLUMNS = [
    "school_id",
    "name",
    "township",
    "type",
    "classes_primary",
    "classes_junior",
    "pupils_g1_3",
    "pupils_g4_6",
    "pupils_g7_9",
    "teaching_area_m2",
    "living_area_m2",
    "sports_area_m2",
    "site_area_m2",
    "boarding_beds",
    "max_classes",
    "teachers",
    "teachers_qualified",
    "teachers_backbone",
    "teachers_pe_art",
    "equipment_value_yuan",
    "multimedia_rooms",
    "music_rooms",
    "art_rooms",
]
SITE_COLUMNS = ["site_id", "name", "township", "allowed_types", "max_classes", "site_area_m2", "land_cost_10k_yuan"]


def _points(df: pd.DataFrame, columns: list[str], crs: str) -> gpd.GeoDataFrame:
    geom = shapely.points(np.round(df[["x", "y"]].to_numpy(), 2))
    return gpd.GeoDataFrame(df[columns].reset_index(drop=True), geometry=geom, crs=crs)


def _to_layers(geo: _Geo, vil, sch, sites, roads, crs: str) -> dict[str, gpd.GeoDataFrame]:
    boundary = gpd.GeoDataFrame({"name": ["合成县"]}, geometry=[geo.boundary], crs=crs)
    twp = gpd.GeoDataFrame({"township": list(geo.townships)}, geometry=list(geo.cells), crs=crs)
    return {
        "boundary": boundary,
        "townships": twp,
        "villages": _points(vil.assign(kind=vil["kind"].map(KIND_NAMES)), VILLAGE_COLUMNS, crs),
        "schools": _points(sch, SCHOOL_COLUMNS, crs),
        "candidate_sites": _points(sites, SITE_COLUMNS, crs),
        "roads": gpd.GeoDataFrame(roads[["road_class", "speed_kmh"]], geometry=roads["geometry"].to_numpy(), crs=crs),
    }


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: str | os.PathLike) -> Path:
    """Write every layer into one GeoPackage at ``path``, replacing the file.

    The GeoPackage timestamps are pinned so that the same layers give the same file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2030-01-01T00:00:00.000Z"})
    try:
        for name in [k for k in LAYERS if k in layers] + sorted(set(layers) - set(LAYERS)):
            pyogrio.write_dataframe(layers[name], tmp, layer=name, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    os.replace(tmp, path)
    return path


def calibration(layers: dict[str, gpd.GeoDataFrame], *, scale: float = 1.0) -> pd.DataFrame:
    """The calibration table (quantity, value, target), recomputed from the layers
    alone; targets are the demo's, counts times ``scale``."""
    return parts.calibration(layers, scale)
