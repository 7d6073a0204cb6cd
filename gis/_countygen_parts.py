"""Building blocks of countygen: shapes, samplers, names, road helpers, calibration.

Private to gis/countygen.py; every function takes the caller's generator, so the
whole county still comes from one seeded ``numpy.random.default_rng``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import Delaunay, cKDTree

TOWNSHIP_NAMES = (
    "城关镇",
    "那良镇",
    "华石镇",
    "滩营乡",
    "峒中镇",
    "扶隆镇",
    "大菉镇",
    "江山镇",
    "茅岭镇",
    "十万山瑶族乡",
)
HILL_TOWNSHIP = "十万山瑶族乡"
FIRST = (  # first characters of village names (Zhuang-flavoured: 那 paddy, 板 village, 峒 valley)
    "那板六平东西南北新大上下长石水江河山岭坡峒古龙凤马牛黄白青红金和安福康宁兴华中丰"
    "联团胜利光明永隆茂桥湾塘屯圩冲柳竹松梅桃杨高双三五八九峰田"
)
SECOND = "平安良兴和丰隆盛塘岭坡江桥湾垌冲河山洞头尾口底面角背坑岗林田寨屯圩坝禄旺福寿宁康乐华荣昌发明光"
URBAN = (
    "东兴 新华 民主 解放 城中 江南 北街 南街 人民 建设 团结 胜利 光明 和平 东风 朝阳 红旗 长安 西湾 东湾 "
    "滨江 沙潭 文昌 永安 河西 江北 新城 兴华 中山 钦州 防东 港口 大塘 长岭 福和 花园 沙埠 石龙 龙门 迎宾"
).split()
NUMERALS = "零一二三四五六七八九"
TYPE_LABEL = {"junior": "初中", "primary": "小学", "nine_year": "九年一贯制学校"}
DIRECTIONS = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")


def chinese_number(k: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 25 -> 二十五, 101 -> 一百零一 (k < 1000)."""
    if k < 10:
        return NUMERALS[k]
    if k < 20:
        return "十" + (NUMERALS[k - 10] if k > 10 else "")
    if k < 100:
        return NUMERALS[k // 10] + "十" + (NUMERALS[k % 10] if k % 10 else "")
    rest = k % 100
    tail = (
        ""
        if rest == 0
        else (
            "零" + NUMERALS[rest]
            if rest < 10
            else ("一" + chinese_number(rest) if rest < 20 else chinese_number(rest))
        )
    )
    return NUMERALS[k // 100] + "百" + tail


# --------------------------------------------------------------------------- shapes


def polygonal(g):
    """The polygonal part of an intersection (drops stray lines and points)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    return shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")])


def star_polygon(rng, centre: np.ndarray, area: float, n: int = 180) -> shapely.Polygon:
    """An irregular star-shaped (so simple) polygon of exactly ``area`` m²."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for m in range(2, 10):
        r += rng.uniform(0.05, 0.16) / m**0.6 * np.cos(m * t + rng.uniform(0, 2 * np.pi))
    noise = rng.normal(0, 0.04, n)
    r += np.convolve(np.r_[noise[-2:], noise, noise[:2]], np.ones(5) / 5, "valid")
    r = np.maximum(r, 0.45)
    xy = np.c_[r * np.cos(t), r * np.sin(t)]
    a, stretch = rng.uniform(0, np.pi), rng.uniform(1.1, 1.3)  # elongated, like most counties
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    xy = xy @ rot @ np.diag([stretch, 1 / stretch]) @ rot.T
    k = math.sqrt(area / shapely.Polygon(xy).area)
    return shapely.Polygon(np.round(centre + k * xy, 2))


@dataclass(frozen=True)
class Terrain:
    """Hill index in [0, 1]: rising to the north (十万大山), bumpy, flat in the town."""

    centre: np.ndarray
    radius: float
    town_radius: float
    bumps: np.ndarray  # (k, 4): x, y, sigma, height

    @classmethod
    def draw(cls, rng, centre, radius, town_radius) -> Terrain:
        k = 6
        xy = centre + rng.uniform(-radius, radius, (k, 2))
        sigma = rng.uniform(0.15, 0.35, k) * radius
        height = rng.uniform(-0.25, 0.35, k)
        return cls(centre, radius, town_radius, np.c_[xy, sigma, height])

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        xy = np.atleast_2d(xy)
        h = 0.5 + 0.35 * (xy[:, 1] - self.centre[1]) / self.radius
        for bx, by, s, a in self.bumps:
            h += a * np.exp(-((xy[:, 0] - bx) ** 2 + (xy[:, 1] - by) ** 2) / (2 * s * s))
        d2 = ((xy - self.centre) ** 2).sum(axis=1)
        h *= 1 - np.exp(-d2 / (2 * (1.5 * self.town_radius) ** 2))
        return np.clip(h, 0, 1)


def sample_in(rng, poly, k: int) -> np.ndarray:
    """k points uniform in ``poly`` (rejection from its bounding box)."""
    x0, y0, x1, y1 = poly.bounds
    out = np.empty((0, 2))
    while len(out) < k:
        p = rng.uniform((x0, y0), (x1, y1), (2 * k + 16, 2))
        out = np.vstack([out, p[shapely.contains_xy(poly, p[:, 0], p[:, 1])]])
    return out[:k]


def urban_sampler(geo):
    def draw(rng, k):
        r = geo.town_radius * rng.uniform(0, 1, k) ** 0.7
        a = rng.uniform(0, 2 * np.pi, k)
        return geo.centre + np.c_[r * np.cos(a), r * np.sin(a)]

    return draw


def seat_sampler(geo, seats):
    seats = np.asarray(seats)

    def draw(rng, k):
        r = rng.uniform(0, 1500, k)
        a = rng.uniform(0, 2 * np.pi, k)
        return seats[:k] + np.c_[r * np.cos(a), r * np.sin(a)]

    draw.fixed_order = True  # one point per listed seat, in order
    return draw


def rural_sampler(geo):
    """Density falls with the hill index and away from township seats; none in the town."""
    tree = cKDTree(geo.seats)
    spacing = math.sqrt(geo.boundary.area / len(geo.seats))

    def draw(rng, k):
        out = np.empty((0, 2))
        while len(out) < k:
            p = sample_in(rng, geo.inner, 4 * k + 32)
            d_seat = tree.query(p)[0]
            d_town = np.hypot(*(p - geo.centre).T)
            accept = np.exp(-2.2 * geo.terrain(p)) * (0.35 + 0.65 * np.exp(-d_seat / (0.45 * spacing)))
            ok = (rng.uniform(0, 1, len(p)) < accept) & (d_town > 0.9 * geo.town_radius)
            out = np.vstack([out, p[ok]])
        return out[:k]

    return draw


def spaced_points(rng, geo, k: int, min_gap: float, draw, others: list) -> np.ndarray:
    """k points from ``draw`` inside the county, at least ``min_gap`` from each other
    and from ``others``. A fixed-order sampler is redrawn only where it failed."""
    fixed = getattr(draw, "fixed_order", False)
    base = np.vstack([np.empty((0, 2))] + list(others))
    pts = np.full((k, 2), np.nan)
    for _ in range(200):
        todo = np.flatnonzero(np.isnan(pts[:, 0]))
        if len(todo) == 0:
            return pts
        cand = draw(rng, k)[todo] if fixed else draw(rng, len(todo))
        inside = shapely.contains_xy(geo.inner, cand[:, 0], cand[:, 1])
        have = np.vstack([base, pts[~np.isnan(pts[:, 0])]])
        far = cKDTree(have).query(cand)[0] >= min_gap if len(have) else np.ones(len(cand), bool)
        ok = inside & far
        # among the new points, keep the first of any too-close pair
        bad = set()
        for a, b in sorted(cKDTree(cand).query_pairs(min_gap)):
            if a not in bad:
                bad.add(b)
        ok[list(bad)] = False
        pts[todo[ok]] = cand[ok]
    raise RuntimeError("could not place points; the county is too crowded for these counts")


class Placer:
    """Puts schools and sites near a point: inside the county and >= 30 m from every
    other node, so no two road nodes coincide."""

    def __init__(self, rng, inner, nodes: np.ndarray):
        self.rng, self.inner = rng, inner
        self.tree = cKDTree(nodes)
        self.new: list[np.ndarray] = []

    def _free(self, p) -> bool:
        if not shapely.contains_xy(self.inner, p[0], p[1]) or self.tree.query(p)[0] < 30:
            return False
        return not self.new or np.min(np.hypot(*(np.array(self.new) - p).T)) >= 30

    def near(self, xy: np.ndarray, rmin: float, rmax: float) -> np.ndarray:
        out = []
        for p in np.atleast_2d(xy):
            for attempt in range(60):
                grow = 1 + attempt // 10
                r, a = self.rng.uniform(rmin, rmax * grow), self.rng.uniform(0, 2 * np.pi)
                q = np.round(p + r * np.array([np.cos(a), np.sin(a)]), 2)
                if self._free(q):
                    break
            else:
                raise RuntimeError(f"no free spot near {p}")
            self.new.append(q)
            out.append(q)
        return np.array(out).reshape(-1, 2)


def greedy_spread(xy, weight, k: int, start: np.ndarray, power: float) -> np.ndarray:
    """Pick k hosts maximising weight x (distance to the nearest chosen or start
    point) ** power: heavy villages first, then ones far from any school."""
    d = cKDTree(start).query(xy)[0] if len(start) else np.full(len(xy), 1e7)
    w = np.asarray(weight, float).copy()
    chosen = []
    for _ in range(k):
        score = np.where(w > 0, w * d**power, -1.0)
        i = int(np.argmax(score))
        if score[i] < 0:
            raise ValueError("not enough villages to host the schools")
        chosen.append(i)
        w[i] = 0
        d = np.minimum(d, np.hypot(*(xy - xy[i]).T))
    return np.array(chosen, dtype=int)


def lloyd_hosts(
    xy, weight, k: int, fixed: np.ndarray, fixed_share: float = 1.0, iters: int = 25
) -> np.ndarray:
    """k hosts among villages with weight > 0: weighted Lloyd (k-means) iterations
    from a greedy start, ``fixed`` centres held still, then each centre snapped to
    the nearest unused village. Evens out the catchments of the town's schools; a
    fixed centre is aimed at ``fixed_share`` of an ordinary load."""
    if k == 0:
        return np.array([], dtype=int)
    w = np.asarray(weight, float)
    pts, wt = xy[w > 0], w[w > 0]
    centres = xy[greedy_spread(xy, w, k, fixed, 1.0)]
    # balanced k-means: power-diagram offsets push load from heavy clusters to light ones
    offset = np.zeros(len(fixed) + k)
    share = np.r_[np.full(len(fixed), fixed_share), np.ones(k)]
    target = wt.sum() * share / share.sum()
    for _ in range(iters):
        allc = np.vstack([fixed, centres])
        d2 = ((pts[:, None, :] - allc[None, :, :]) ** 2).sum(axis=2) - offset[None, :]
        lab = np.argmin(d2, axis=1)
        load = np.bincount(lab, wt, len(allc))
        scale = np.median(d2.min(axis=1) + offset[lab]) + 1.0
        offset -= 0.5 * scale * (load / target - 1.0)
        for j in range(k):
            m = lab == len(fixed) + j
            if m.any():
                centres[j] = (pts[m] * wt[m, None]).sum(axis=0) / wt[m].sum()
    free = w > 0
    hosts = []
    for c in centres:
        d = np.where(free, np.hypot(*(xy - c).T), np.inf)
        i = int(np.argmin(d))
        hosts.append(i)
        free[i] = False
    return np.array(hosts, dtype=int)


def town_site_points(rng, geo, k: int, schools_xy: np.ndarray) -> np.ndarray:
    """Candidate sites around the county town: spread out, clear of existing schools."""
    pts: list[np.ndarray] = []
    while len(pts) < k:
        r = geo.town_radius * rng.uniform(0.3, 1.15, 60)
        a = rng.uniform(0, 2 * np.pi, 60)
        cand = geo.centre + np.c_[r * np.cos(a), r * np.sin(a)]
        cand = cand[shapely.contains_xy(geo.inner, cand[:, 0], cand[:, 1])]
        cand = cand[cKDTree(schools_xy).query(cand)[0] > 700]
        if len(cand) == 0:
            continue
        d = cKDTree(np.array(pts)).query(cand)[0] if pts else np.ones(len(cand))
        pts.append(cand[np.argmax(d)])
    return np.array(pts).reshape(-1, 2)


# --------------------------------------------------------------------------- names


def township_names(rng, seats: np.ndarray, hill: np.ndarray) -> tuple[str, ...]:
    """城关镇 for the county town; the listed names, then generated ones; the hilliest
    seat gets 十万山瑶族乡."""
    n = len(seats)
    names = list(TOWNSHIP_NAMES[:n])
    if n > len(names):
        used = {s[:2] for s in TOWNSHIP_NAMES}
        pool = [a + b for a in FIRST for b in SECOND if a != b and a + b not in used]
        extra = rng.permutation(pool)[: n - len(names)]
        names += [f"{b}{'乡' if i % 4 == 3 else '镇'}" for i, b in enumerate(extra)]
    rest = names[1:]
    if HILL_TOWNSHIP in rest:
        rest.remove(HILL_TOWNSHIP)
        hilliest = 1 + int(np.argmax(hill[1:]))
        rest.insert(hilliest - 1, HILL_TOWNSHIP)
    return tuple([names[0]] + rest)


def township_base(name: str) -> str:
    for suffix in ("瑶族乡", "镇", "乡"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def village_bases(rng, df: pd.DataFrame, townships) -> list[str]:
    """Unique two- (then three-) character names; each seat's first community takes
    the township's own name (那良镇那良社区)."""
    reserved = {township_base(t) for t in townships}
    pool = [a + b for a in FIRST for b in SECOND if a != b and a + b not in reserved]
    pool = list(rng.permutation(pool))
    need = len(df)
    if need > len(pool):
        extra = [a + b + c for a in FIRST for b in SECOND if a != b for c in "屯坡岭垌寨"]
        pool += list(rng.permutation([x for x in extra if x[:2] not in reserved]))
    if need > len(pool):
        raise ValueError(f"{need} villages: more than the {len(pool)} village names available")
    urban = [u for u in URBAN if u not in reserved]
    urban = list(rng.permutation(urban))
    taken = set(urban)
    pool = [p for p in pool if p not in taken]
    out, seen_seat = [], set()
    for kind, twp in zip(df["kind"], df["twp"], strict=True):
        if kind == "seat" and twp not in seen_seat:
            seen_seat.add(twp)
            out.append(township_base(townships[twp]))
        elif kind == "urban" and urban:
            out.append(urban.pop(0))
        else:
            out.append(pool.pop(0))
    return out


def school_counts(n: int) -> dict[str, int]:
    """Split n schools like the demo's 120 primaries, 46 teaching points, 17 juniors,
    3 nine-year schools."""
    mix = {"primary": 120, "teaching_point": 46, "junior": 17, "nine_year": 3}
    total = sum(mix.values())
    c = {k: round(n * v / total) for k, v in mix.items() if k != "primary"}
    c["primary"] = n - sum(c.values())
    return c


def school_names(sch: pd.DataFrame, vil: pd.DataFrame) -> list[str]:
    """城关镇第一小学, 那良镇中心小学, 平安村小学, 平安教学点, 那良镇初级中学, 东兴九年一贯制学校."""
    names, count = [], {}
    for typ, role, host, twp in zip(sch["type"], sch["role"], sch["host"], sch["township"], strict=True):
        base = vil["base"].iat[host] if host >= 0 else ""
        label = {"primary": "小学", "junior": "初级中学"}.get(typ)
        if role == "town" and typ != "nine_year":
            count[(twp, typ)] = count.get((twp, typ), 0) + 1
            names.append(f"{twp}第{chinese_number(count[(twp, typ)])}{label}")
        elif role == "central":
            names.append(f"{twp}中心小学")
        elif role == "seat":
            count[(twp, typ)] = count.get((twp, typ), 0) + 1
            names.append(f"{twp}初级中学")
        elif typ == "junior":
            count[(twp, typ)] = count.get((twp, typ), 0) + 1
            k = count[(twp, typ)]
            names.append(f"{twp}第{chinese_number(k)}初级中学" if k > 1 else f"{twp}初级中学")
        elif typ == "nine_year":
            names.append(f"{base}九年一贯制学校")
        elif typ == "primary":
            names.append(f"{base}村小学")
        else:
            names.append(f"{base}教学点")
    return _dedupe(names, list(sch["township"]))


def site_names(df: pd.DataFrame, geo) -> list[str]:
    names = []
    for role, x, y, twp, allowed in zip(
        df["role"], df["x"], df["y"], df["twp"], df["allowed_types"], strict=True
    ):
        ref = geo.centre if role == "town" else geo.seats[twp]
        a = math.degrees(math.atan2(y - ref[1], x - ref[0])) % 360
        where = "城区" if role == "town" else geo.townships[twp]
        names.append(
            f"{where}{DIRECTIONS[int((a + 22.5) // 45) % 8]}部新建{TYPE_LABEL[allowed.split(',')[0]]}用地"
        )
    return _dedupe(names, None)


def _dedupe(names: list[str], prefixes) -> list[str]:
    """Make names unique: prefix the township if given, else number repeats （二）."""
    out, seen = [], {}
    ser = pd.Series(names)
    dup = set(ser[ser.duplicated(keep=False)])
    for i, n in enumerate(names):
        if n in dup and prefixes is not None and not n.startswith(prefixes[i]):
            n = prefixes[i] + n
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}（{chinese_number(seen[n])}）")
    return out


# --------------------------------------------------------------------------- roads


def beta_skeleton(xy, e, length, beta: float) -> np.ndarray:
    """Mask of Delaunay edges in the lune-based beta-skeleton (1 <= beta <= 2)."""
    u, v = xy[e[:, 0]], xy[e[:, 1]]
    c1 = (1 - beta / 2) * u + (beta / 2) * v
    c2 = (beta / 2) * u + (1 - beta / 2) * v
    rad = beta * length / 2
    tree = cKDTree(xy)
    hits = tree.query_ball_point(c1, rad * (1 - 1e-9))
    keep = np.ones(len(e), bool)
    for i, cand in enumerate(hits):
        cand = [w for w in cand if w != e[i, 0] and w != e[i, 1]]
        if cand:
            d2 = np.hypot(*(xy[cand] - c2[i]).T)
            if np.any(d2 < rad[i] * (1 - 1e-9)):
                keep[i] = False
    return keep


def seat_neighbours(seats: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of neighbouring township seats (Delaunay), excluding the county town."""
    if len(seats) < 4:
        return [(i, j) for i in range(1, len(seats)) for j in range(i + 1, len(seats))]
    s = Delaunay(seats).simplices
    e = np.unique(np.sort(np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]]), axis=1), axis=0)
    return [(int(a), int(b)) for a, b in e if a != 0]


def wiggly_lines(rng, xy, e, wiggle: np.ndarray, boundary) -> np.ndarray:
    """Lines between node pairs with a midpoint nudged sideways (cosmetic); endpoints exact."""
    a, b = xy[e[:, 0]], xy[e[:, 1]]
    d = b - a
    normal = np.c_[-d[:, 1], d[:, 0]]
    off = np.clip(rng.normal(0, 1, len(e)), -2.5, 2.5) * wiggle
    mid = np.round((a + b) / 2 + off[:, None] * normal, 2)
    outside = ~shapely.contains_xy(boundary, mid[:, 0], mid[:, 1])
    mid[outside] = np.round((a[outside] + b[outside]) / 2, 2)
    return shapely.linestrings(np.stack([a, mid, b], axis=1))


def road_graph(roads) -> tuple[np.ndarray, object]:
    """Nodes (unique line endpoints) and a sparse graph weighted by line length."""
    g = roads.geometry.to_numpy()
    ends = np.vstack(
        [shapely.get_coordinates(shapely.get_point(g, 0)), shapely.get_coordinates(shapely.get_point(g, -1))]
    )
    nodes, inv = np.unique(ends, axis=0, return_inverse=True)
    m = len(g)
    graph = coo_matrix((shapely.length(g), (inv[:m], inv[m:])), shape=(len(nodes), len(nodes))).tocsr()
    return nodes, graph


# --------------------------------------------------------------------------- calibration


STD = {
    "teaching_area_m2": (4.5, 5.8),
    "sports_area_m2": (7.5, 10.2),
    "teachers_qualified": (4.2, 5.3),
    "teachers_backbone": (1.0, 1.0),
    "teachers_pe_art": (0.9, 0.9),
    "equipment_value_yuan": (2000.0, 2500.0),
    "multimedia_rooms": (2.3, 2.4),
}
PER_100 = ("teachers_qualified", "teachers_backbone", "teachers_pe_art", "multimedia_rooms")


def indicator_ratios(s: pd.DataFrame) -> pd.DataFrame:
    """Each school's value over its standard, per indicator (pupil-weighted standard
    for a nine-year school); NaN for a school without pupils."""
    pp = (s["pupils_g1_3"] + s["pupils_g4_6"]).astype(float)
    pj = s["pupils_g7_9"].astype(float)
    out = {}
    for k, (a, b) in STD.items():
        std = (a * pp + b * pj) / (100.0 if k in PER_100 else 1.0)
        out[k] = s[k] / std.where(std > 0)
    return pd.DataFrame(out)


def _n(x: float, scale: float) -> str:
    return f"{round(x * scale):,}"


def calibration(layers, scale: float = 1.0) -> pd.DataFrame:
    """Rows of (quantity, value, target) recomputed from the layers alone; count
    targets are the demo's times ``scale``."""
    v, s, c, r = layers["villages"], layers["schools"], layers["candidate_sites"], layers["roads"]
    bands = ["pupils_g1_3", "pupils_g4_6", "pupils_g7_9"]
    total = v[bands].to_numpy().sum()
    town_name = layers["townships"]["township"].iat[0]
    urban = v["township"].eq(town_name) & v["name"].str.endswith("社区")
    vxy = shapely.get_coordinates(v.geometry.to_numpy())
    sxy = shapely.get_coordinates(s.geometry.to_numpy())
    in_town = urban.to_numpy()[cKDTree(vxy).query(sxy)[1]]  # nearest village is a town community
    pp = s["pupils_g1_3"] + s["pupils_g4_6"]
    pupils = pp + s["pupils_g7_9"]
    cap = np.where(s["type"].eq("nine_year"), 2500, 2000)
    big_p = (s["classes_primary"] > 0) & (pp > 45 * s["classes_primary"])
    big_j = (s["classes_junior"] > 0) & (s["pupils_g7_9"] > 50 * s["classes_junior"])
    ratio = indicator_ratios(s)
    below = ratio < 1
    fail = ((below.sum(axis=1) >= 2) | (ratio.min(axis=1) < 0.85)) & pupils.gt(0)
    rows = [
        ("villages and communities", len(v), f"{_n(800, scale)}-{_n(1200, scale)}"),
        ("  of which county-town communities (社区)", int(urban.sum()), f"~{_n(80, scale)}-{_n(120, scale)}"),
        ("pupils g1_3", int(v["pupils_g1_3"].sum()), _n(57_465 * 0.505, scale)),
        (
            "pupils g4_6",
            int(v["pupils_g4_6"].sum()),
            f"{round(57_465 * scale) - round(57_465 * scale * 0.505):,}",
        ),
        ("pupils primary (g1_3+g4_6)", int(v[bands[:2]].to_numpy().sum()), _n(57_465, scale)),
        ("pupils junior (g7_9)", int(v["pupils_g7_9"].sum()), _n(27_900, scale)),
        ("town share of pupils", f"{v.loc[urban, bands].to_numpy().sum() / total:.1%}", "30-35 %"),
        (
            "schools' enrolment today (2021): primary / junior",
            f"{int(s[bands[:2]].to_numpy().sum()):,} / {int(s['pupils_g7_9'].sum()):,}",
            "cohorts' 2021 grades",
        ),
        ("schools: primary", int(s["type"].eq("primary").sum()), f"~{_n(120, scale)}"),
        ("schools: teaching_point", int(s["type"].eq("teaching_point").sum()), f"~{_n(46, scale)}"),
        ("schools: junior", int(s["type"].eq("junior").sum()), _n(17, scale)),
        ("schools: nine_year", int(s["type"].eq("nine_year").sum()), _n(3, scale)),
        (
            "schools in the county town (P / J / 9Y)",
            "/".join(str(int((in_town & s["type"].eq(t)).sum())) for t in ("primary", "junior", "nine_year")),
            f"{_n(8, scale)}-{_n(10, scale)} / {_n(3, scale)}-{_n(4, scale)} / -",
        ),
        (
            "primary-level schools < 100 pupils",
            int((s["type"].isin(["primary", "teaching_point"]) & (pupils < 100)).sum()),
            "many",
        ),
        ("schools over the school cap (2000/2500)", int((pupils > cap).sum()), "a few"),
        ("schools with classes over 45 (primary)", int(big_p.sum()), "a few"),
        ("schools with classes over 50 (junior)", int(big_j.sum()), "a few"),
        (
            "schools over max_classes",
            int(((s["classes_primary"] + s["classes_junior"]) > s["max_classes"]).sum()),
            "0",
        ),
        ("schools below teaching area standard", int(below["teaching_area_m2"].sum()), "many; all town"),
        ("schools below sports area standard", int(below["sports_area_m2"].sum()), "many; all town"),
        (
            "  town schools below teaching / sports",
            f"{int(below.loc[in_town, 'teaching_area_m2'].sum())} / "
            f"{int(below.loc[in_town, 'sports_area_m2'].sum())} of {int(in_town.sum())}",
            "城区挤",
        ),
        ("schools below all 7 indicators", int((below.sum(axis=1) == 7).sum()), "some"),
        ("schools failing the 6-of-7 rule", int(fail.sum()), "-"),
        (
            "candidate sites (town / seats)",
            f"{len(c)} ({int(c['land_cost_10k_yuan'].ge(200).sum())} / "
            f"{int(c['land_cost_10k_yuan'].lt(200).sum())})",
            f"~{_n(20, scale)} (~{_n(8, scale)} / ~{_n(12, scale)})",
        ),
        (
            "roads: trunk / county / village",
            "/".join(str(int(r["road_class"].eq(k).sum())) for k in ("trunk", "county", "village")),
            "-",
        ),
        ("farthest pupil to a school teaching g1_3 / g4_6 / g7_9 (km)", reach_text(layers), "g1_3 < 3.8"),
        ("road detour, median (p10-p90)", detour_text(layers), "1.2-1.5"),
    ]
    return pd.DataFrame(rows, columns=["quantity", "value", "target"])


TEACHES = {
    "g1_3": ("teaching_point", "primary", "nine_year"),
    "g4_6": ("primary", "nine_year"),
    "g7_9": ("junior", "nine_year"),
}


def reach_km(layers) -> dict[str, float]:
    """Per band, the longest straight line from a village with pupils of the band
    to the nearest existing school teaching it."""
    v, s = layers["villages"], layers["schools"]
    vxy = shapely.get_coordinates(v.geometry.to_numpy())
    out = {}
    for band, kinds in TEACHES.items():
        sxy = shapely.get_coordinates(s.loc[s["type"].isin(kinds)].geometry.to_numpy())
        d = cKDTree(sxy).query(vxy)[0]
        out[band] = float(d[v[f"pupils_{band}"].to_numpy() > 0].max()) / 1000
    return out


def reach_text(layers) -> str:
    return " / ".join(f"{x:.1f}" for x in reach_km(layers).values())


def detour_ratios(layers, n_sources: int = 60, min_km: float = 2.0) -> np.ndarray:
    """Network over straight-line distance between villages more than min_km apart."""
    nodes, graph = road_graph(layers["roads"])
    vxy = shapely.get_coordinates(layers["villages"].geometry.to_numpy())
    snap_d, snap = cKDTree(nodes).query(vxy)
    src = np.unique(np.linspace(0, len(vxy) - 1, n_sources).astype(int))
    dist = dijkstra(graph, directed=False, indices=snap[src])[:, snap] + snap_d[src, None] + snap_d[None, :]
    straight = np.hypot(vxy[src, None, 0] - vxy[None, :, 0], vxy[src, None, 1] - vxy[None, :, 1])
    ok = straight > min_km * 1000
    return dist[ok] / straight[ok]


def detour_text(layers) -> str:
    q = np.percentile(detour_ratios(layers), [50, 10, 90])
    return f"{q[0]:.2f} ({q[1]:.2f}-{q[2]:.2f})"


def graph_components(roads) -> int:
    _, graph = road_graph(roads)
    return int(connected_components(graph, directed=False)[0])
