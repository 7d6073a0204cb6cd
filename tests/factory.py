"""Tiny counties built in code: the fixtures of the known-answer and property tests.

Coordinates are metres in EPSG:4547 around the demo's centre, so distances
are exact and hand-checkable (straight line, ``detour_factor`` 1.0 unless a
test says otherwise).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import yaml
from shapely.geometry import Point

CRS = "EPSG:4547"
X0, Y0 = 500_000.0, 2_400_000.0

SCHOOL_DEFAULTS = dict(
    township="甲镇",
    classes_primary=0,
    classes_junior=0,
    pupils_g1_3=0,
    pupils_g4_6=0,
    pupils_g7_9=0,
    teaching_area_m2=0.0,
    living_area_m2=0.0,
    sports_area_m2=0.0,
    site_area_m2=1e6,
    boarding_beds=0,
    max_classes=60,
    teachers=0,
    teachers_qualified=0,
    teachers_backbone=0,
    teachers_pe_art=0,
    equipment_value_yuan=0,
    multimedia_rooms=0,
    music_rooms=0,
    art_rooms=0,
)

OFF = {
    "caps": {
        "class_size": {"primary": None, "junior": None},
        "school_pupils": {"teaching_point": None, "primary": None, "junior": None, "nine_year": None},
        "use_site_max_classes": False,
    },
    "standards": {"enabled": False},
    "objective": {"pupil_km": 1.0, "per_10k_yuan": 0.0, "per_boarder": {"g1_3": 0, "g4_6": 0, "g7_9": 0}},
    "policy": {
        "max_trip_km": {"g1_3": None, "g4_6": None, "g7_9": None},
        "boarding_allowed": {"g1_3": True, "g4_6": True, "g7_9": True},
    },
    "travel": {"detour_factor": 1.0},
}
"""Overrides that switch standards, costs, caps and limits off (the p-median)."""


def _points(rows: list[dict], xkey="x", ykey="y") -> gpd.GeoDataFrame:
    geom = [Point(X0 + r[xkey] * 1000.0, Y0 + r[ykey] * 1000.0) for r in rows]
    attrs = [{k: v for k, v in r.items() if k not in (xkey, ykey)} for r in rows]
    return gpd.GeoDataFrame(attrs, geometry=geom, crs=CRS)


def village(vid: str, x_km: float, y_km: float, g1_3: int = 0, g4_6: int = 0, g7_9: int = 0, township="甲镇") -> dict:
    return dict(
        village_id=vid,
        name=f"{vid}村",
        township=township,
        x=x_km,
        y=y_km,
        pupils_g1_3=g1_3,
        pupils_g4_6=g4_6,
        pupils_g7_9=g7_9,
    )


def school(sid: str, x_km: float, y_km: float, type_: str = "primary", **kw) -> dict:
    return {**SCHOOL_DEFAULTS, "school_id": sid, "name": f"{sid}学校", "type": type_, "x": x_km, "y": y_km, **kw}


def site(cid: str, x_km: float, y_km: float, allowed: str = "primary", **kw) -> dict:
    return {
        "site_id": cid,
        "name": f"{cid}新校",
        "township": "甲镇",
        "allowed_types": allowed,
        "max_classes": 60,
        "site_area_m2": 1e6,
        "land_cost_10k_yuan": 0.0,
        "x": x_km,
        "y": y_km,
        **kw,
    }


def deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def make_case(
    folder: Path,
    villages: list[dict],
    schools: list[dict],
    candidates: list[dict] | None = None,
    scenario: dict | None = None,
    *,
    name: str = "case",
) -> Path:
    """Write a GeoPackage and a scenario YAML into ``folder``; return the YAML path."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / f"{name}.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    pyogrio.write_dataframe(_points(villages), gpkg, layer="villages")
    pyogrio.write_dataframe(_points(schools), gpkg, layer="schools")
    if candidates:
        pyogrio.write_dataframe(_points(candidates), gpkg, layer="candidate_sites")
    doc = deep_merge(
        {"name": name, "data": {"gpkg": gpkg.name}, "solver": {"time_limit_s": 60, "mip_gap": 0.0}}, scenario or {}
    )
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def slow_case(
    folder: Path, *, villages: int = 300, sites: int = 80, p: int = 12, seed: int = 7, scenario: dict | None = None
) -> Path:
    """A capacitated p-median (whole catchments, school caps 3 % above the
    average load) that HiGHS cannot close in a minute on one thread: the
    instance the interrupt and time-limit tests stop in the middle of a solve."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vs = [village(f"V{i:03d}", *rng.uniform(0, 40, 2), g1_3=int(rng.integers(5, 60))) for i in range(villages)]
    ss = [school(f"S{j:03d}", *rng.uniform(0, 40, 2), "primary") for j in range(sites)]
    total = sum(v["pupils_g1_3"] for v in vs)
    scen = deep_merge(
        OFF,
        {
            "targets": {"primary": p},
            "solver": {"time_limit_s": 120, "threads": 1, "mip_gap": 0.0},
            "caps": {"school_pupils": {"primary": int(total / p * 1.03)}},
            "policy": {"moves": {"primary": ["primary", "closed"]}},
        },
    )
    return make_case(folder, vs, ss, scenario=deep_merge(scen, scenario or {}), name="slow")


FULL_SITE_STAFF = dict(
    teachers=8,
    teachers_qualified=8,
    teachers_backbone=2,
    teachers_pe_art=2,
    equipment_value_yuan=300000,
    multimedia_rooms=3,
    music_rooms=1,
    art_rooms=1,
)
"""Staff, equipment and rooms that meet every indicator, so only areas differ."""


def full_site_case(tmp_path: Path):  # -> Problem (with distances)
    """A has sports ground for 40 pupils and no free land; B, 3 km away,
    has room. V0 and V1 (40 pupils) belong at A; V2 (20 pupils) halfway is
    cheaper at A by travel but costs A a priced shortfall of 150 m²."""
    a = school(
        "A",
        0,
        0,
        "primary",
        classes_primary=2,
        teaching_area_m2=600,
        sports_area_m2=300,
        site_area_m2=500,
        **FULL_SITE_STAFF,
    )
    b = school("B", 3, 0, "primary", classes_primary=2, teaching_area_m2=600, sports_area_m2=900, **FULL_SITE_STAFF)
    vs = [village("V0", 0.2, 0, 25), village("V1", 0.4, 0.1, 15), village("V2", 1.4, 0, 20), village("V3", 3.1, 0, 20)]
    scen = {
        "caps": OFF["caps"],
        "solver": {"threads": 1, "mip_gap": 0.0, "time_limit_s": 60},
        "policy": {"moves": {"primary": ["primary"]}},
    }
    from planner.data.load import load_problem
    from planner.data.travel import attach_distances

    return attach_distances(load_problem(make_case(tmp_path, vs, [a, b], scenario=scen)))


def two_full_sites_case(tmp_path: Path, threads: int = 2):  # -> Problem (with distances)
    """:func:`full_site_case` twice, 50 km apart (A1, B1 and A2, B2): two
    hot sites whose repairs share no site. Solved with ``threads``."""
    schools, vs = [], []
    for k, x0 in ((1, 0.0), (2, 50.0)):
        schools += [
            school(
                f"A{k}",
                x0,
                0,
                "primary",
                classes_primary=2,
                teaching_area_m2=600,
                sports_area_m2=300,
                site_area_m2=500,
                **FULL_SITE_STAFF,
            ),
            school(
                f"B{k}",
                x0 + 3,
                0,
                "primary",
                classes_primary=2,
                teaching_area_m2=600,
                sports_area_m2=900,
                **FULL_SITE_STAFF,
            ),
        ]
        vs += [
            village(f"V{k}0", x0 + 0.2, 0, 25),
            village(f"V{k}1", x0 + 0.4, 0.1, 15),
            village(f"V{k}2", x0 + 1.4, 0, 20),
            village(f"V{k}3", x0 + 3.1, 0, 20),
        ]
    scen = {
        "caps": OFF["caps"],
        "solver": {"threads": threads, "mip_gap": 0.0, "time_limit_s": 60},
        "policy": {"moves": {"primary": ["primary"]}},
    }
    from planner.data.load import load_problem
    from planner.data.travel import attach_distances

    return attach_distances(load_problem(make_case(tmp_path, vs, schools, scenario=scen, name="two_full")))


def two_sites_model():  # -> (Model, x)
    """A bare model: ``x`` at site A and ``y`` at site B each worth 1 a unit,
    both within one shared row ``shared[]``: x + y <= 10; the plan ``x0`` has
    x = 2, y = 3."""
    import numpy as np
    import pandas as pd

    from planner.model.core import Builder

    b = Builder("two")
    x, y = b.var("x", (), upper=10.0, site="A"), b.var("y", (), upper=10.0, site="B")
    b.objective = -x - y
    b.pairs = pd.DataFrame(
        {
            "village_id": ["V", "W"],
            "band": ["g1_3", "g1_3"],
            "site_id": ["A", "B"],
            "var": [x, y],
            "whole": [False, False],
            "pupils": [1.0, 1.0],
        }
    )
    b.open = pd.DataFrame(
        {
            "site_id": pd.Series([], dtype=object),
            "type": pd.Series([], dtype=object),
            "var": pd.Series([], dtype=object),
        }
    )
    b.add("shared", (), x + y <= 10)
    m = b.finish()
    return m, np.array([2.0, 3.0])
