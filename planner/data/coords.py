"""Coordinates of Chinese map services, converted to WGS84 before projection.

Amap (高德) and Tencent publish GCJ-02 (国测局 02): WGS84 shifted by a
published nonlinear offset on the Krasovsky ellipsoid, 300-700 m in most of
China. Baidu publishes BD-09: GCJ-02 turned and shifted once more. CGCS2000
and WGS84 agree to centimetres, so they need nothing. The forward formulas
are the published ones (as in every open implementation); GCJ-02 has no
closed inverse, so it is inverted by fixed-point iteration to well under a
millimetre. Outside mainland China's box the services publish WGS84 as is.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from planner.config.scenario import Scenario
from planner.config.sources import locate_key
from planner.errors import Collector

KRASOVSKY_A_M = 6378245.0
"""Semi-major axis of the Krasovsky 1940 ellipsoid the GCJ-02 offset is scaled on."""
KRASOVSKY_EE = 0.00669342162296594323
"""Its first eccentricity squared."""
BD_X_PI = math.pi * 3000.0 / 180.0
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)
"""lon/lat box outside which the services apply no offset."""
INVERSE_TOL_DEG = 1e-10
"""Fixed-point iteration stops below this change (about 0.01 mm)."""
INVERSE_MAX_STEPS = 30

SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")


def in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Where the services apply their offset."""
    w, s, e, n = CHINA_BOX
    return (lon > w) & (lon < e) & (lat > s) & (lat < n)


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 at a WGS84 point, in degrees (zero outside China)."""
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    wave = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += wave + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon += wave + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((KRASOVSKY_A_M * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * pi)
    dlon = dlon * 180.0 / (KRASOVSKY_A_M / sqrt_magic * np.cos(rad) * pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """The published forward transform."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """The WGS84 point whose forward transform is the given GCJ-02 point."""
    glon, glat = np.asarray(lon, float), np.asarray(lat, float)
    return _invert(wgs84_to_gcj02, glon, glat, (glon.copy(), glat.copy()))


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Baidu's published transform from GCJ-02."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02_published(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Baidu's published (first-order) inverse to GCJ-02."""
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, lon, lat, start) -> tuple[np.ndarray, np.ndarray]:
    """The point ``forward`` maps to (lon, lat), by fixed-point steps from ``start``."""
    tlon, tlat = np.asarray(lon, float), np.asarray(lat, float)
    wlon, wlat = start
    for _ in range(INVERSE_MAX_STEPS):
        flon, flat = forward(wlon, wlat)
        step_lon, step_lat = tlon - flon, tlat - flat
        wlon, wlat = wlon + step_lon, wlat + step_lat
        if max(np.max(np.abs(step_lon), initial=0.0), np.max(np.abs(step_lat), initial=0.0)) < INVERSE_TOL_DEG:
            break
    return wlon, wlat


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 point whose BD-09 transform is the given point."""
    return _invert(gcj02_to_bd09, lon, lat, bd09_to_gcj02_published(lon, lat))


def to_wgs84(xy: np.ndarray, system: str) -> np.ndarray:
    """lon/lat pairs (an (n, 2) array) of ``system`` in WGS84."""
    if system in ("wgs84", "cgcs2000") or not len(xy):
        return xy
    lon, lat = xy[:, 0], xy[:, 1]
    if system == "bd09":
        lon, lat = bd09_to_gcj02(lon, lat)
    lon, lat = gcj02_to_wgs84(lon, lat)
    return np.column_stack([lon, lat])


def in_wgs84(
    gdf: gpd.GeoDataFrame | None, s: Scenario, path: Path, name: str, errors: Collector
) -> gpd.GeoDataFrame | None:
    """A layer of a map service's lon/lat (``data.coords``: gcj02, bd09) in WGS84."""
    system = s.data.coords
    if gdf is None or system in ("wgs84", "cgcs2000"):
        return gdf
    if gdf.crs is None or not gdf.crs.is_geographic:
        file, line = locate_key(s, "data", "coords")
        errors.add(
            str(path),
            f"data.coords {system} is for lon/lat, but this layer is in {gdf.crs or 'no CRS'}"
            f" (set in {Path(file).name}, line {line})",
            layer=name,
        )
        return None
    geom = shapely.transform(gdf.geometry.to_numpy(), lambda xy: to_wgs84(xy, system))
    return gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs="EPSG:4326"))


SHIFT_M = (250.0, 800.0)
"""Median point-to-road distances that look like a map service's offset (m)."""
SHIFT_ALIGNED = 0.7
"""Mean resultant length of the point-to-road directions above which they count as one direction."""
SHIFT_MIN_POINTS = 8


def shift_warning(layer: str, xy: np.ndarray, lonlat: np.ndarray, roads: gpd.GeoDataFrame | None) -> str | None:
    """A warning when a layer's points sit systematically off the roads, one way,
    by about what GCJ-02 or BD-09 shifts WGS84 by; ``None`` otherwise."""
    ok = np.isfinite(xy).all(axis=1)
    if roads is None or roads.empty or ok.sum() < SHIFT_MIN_POINTS:
        return None
    pts = shapely.points(xy[ok])
    lines = roads.geometry.to_numpy()
    nearest = shapely.STRtree(lines).query_nearest(pts, return_distance=False, all_matches=False)[1]
    hop = shapely.get_coordinates(shapely.shortest_line(pts, lines[nearest])).reshape(-1, 2, 2)
    vec = hop[:, 1] - hop[:, 0]
    dist = np.hypot(vec[:, 0], vec[:, 1])
    median = float(np.median(dist))
    if not SHIFT_M[0] <= median <= SHIFT_M[1]:
        return None
    unit = vec[dist > 0] / dist[dist > 0, None]
    aligned = float(np.hypot(*unit.mean(axis=0))) if len(unit) else 0.0
    if aligned < SHIFT_ALIGNED:
        return None
    lon, lat = np.median(lonlat[ok], axis=0)
    glon, glat = wgs84_to_gcj02(lon, lat)
    east = float(glon - lon) * 111_320.0 * math.cos(math.radians(lat))
    north = float(glat - lat) * 110_540.0
    return (
        f"{layer}: the points sit a median {median:.0f} m from the nearest road, most of them the same way "
        f"(to the road: {_bearing(unit.mean(axis=0))}); a map service's lon/lat is off WGS84 by about "
        f"{math.hypot(east, north):.0f} m here (GCJ-02, to the {_bearing(np.array([east, north]))}; BD-09 more): "
        f"if the coordinates were picked on Amap, Tencent or Baidu, set data.coords to gcj02 or bd09"
    )


def _bearing(v: np.ndarray) -> str:
    names = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")
    angle = math.degrees(math.atan2(float(v[0]), float(v[1]))) % 360
    return names[int((angle + 22.5) // 45) % 8]
