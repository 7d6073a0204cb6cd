"""A small county with townships and a boundary for the appendix tests (maps,
workbook, GeoPackage, report, comparison), solved once per test session.

Two townships (甲镇 west of x = 10 km, 乙乡 east), a 20 x 20 km boundary, 40
seeded villages, seven schools and two candidate sites. Fixed decisions give
known actions: T2 is closed (its pupils go elsewhere: a merger), C1 is built
as a primary, P1 becomes a nine-year school. The variant forbids new builds.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
from shapely.geometry import box

from planner.outputs.appendix import APPENDIX_WRITERS
from planner.outputs.folder import write_core, write_run_folder
from planner.pipeline import Run, run_scenario
from tests.factory import CRS, X0, Y0, make_case, school, site, village

FIXED = {"T2": "closed", "C1": "primary", "P1": "nine_year"}


def _villages() -> list[dict]:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0.5, 19.5, (40, 2))
    return [
        village(
            f"V{i:02d}",
            float(x),
            float(y),
            g1_3=int(rng.integers(5, 40)),
            g4_6=int(rng.integers(5, 40)),
            g7_9=int(rng.integers(5, 40)),
            township="甲镇" if x < 10 else "乙乡",
        )
        for i, (x, y) in enumerate(xy)
    ]


def _schools() -> list[dict]:
    return [
        school("P1", 3, 3, "primary", classes_primary=6),
        school("P2", 15, 4, "primary", classes_primary=6, township="乙乡"),
        school("P3", 5, 15, "primary", classes_primary=6),
        school("T1", 9, 10, "teaching_point"),
        school("T2", 18, 18, "teaching_point", township="乙乡"),
        school("J1", 8, 8, "junior", classes_junior=6),
        school("N1", 16, 12, "nine_year", township="乙乡"),
    ]


def scenario(*, no_new: bool = False) -> dict:
    doc = {
        "travel": {"detour_factor": 1.0},
        "targets": {"junior": {"min": 1, "max": 2}},
        "policy": {
            "max_trip_km": {"g1_3": 30.0, "g4_6": 30.0, "g7_9": 40.0},
            "boarding_allowed": {"g1_3": True, "g4_6": True, "g7_9": True},
        },
        "fixed": dict(FIXED),
        "title": "甲乙县学校布局规划（测试）",
        "solver": {"time_limit_s": 30, "threads": 1},
    }
    if no_new:
        doc["fixed"] = {k: v for k, v in FIXED.items() if not k.startswith("C")}
        doc["policy"]["allow_new_builds"] = False
        doc["title"] = "甲乙县学校布局规划（不新建）"
    return doc


def add_boundary(gpkg: Path) -> None:
    """Append the boundary and the two townships (km grid of tests.factory) to the case's GeoPackage."""

    def km(x0, y0, x1, y1):
        return box(X0 + x0 * 1000, Y0 + y0 * 1000, X0 + x1 * 1000, Y0 + y1 * 1000)

    pyogrio.write_dataframe(
        gpd.GeoDataFrame({"name": ["甲乙县"]}, geometry=[km(0, 0, 20, 20)], crs=CRS), gpkg, layer="boundary"
    )
    pyogrio.write_dataframe(
        gpd.GeoDataFrame({"township": ["甲镇", "乙乡"]}, geometry=[km(0, 0, 10, 20), km(10, 0, 20, 20)], crs=CRS),
        gpkg,
        layer="townships",
    )


def solved(base: str, name: str = "case") -> Run:
    """Solve the case (``name`` 'case' or 'nonew') under folder ``base``, once per session."""
    return _solved(base, name)


def run_folder(base: str, name: str = "case") -> Path:
    """The case's run folder with every appendix file, written once per session."""
    return _run_folder(base, name)


@cache
def _solved(base: str, name: str) -> Run:
    folder = Path(base) / name
    path = make_case(
        folder,
        _villages(),
        _schools(),
        [site("C1", 12, 16, "primary"), site("C2", 2, 18, "junior")],
        scenario(no_new=name == "nonew"),
        name=name,
    )
    add_boundary(folder / f"{name}.gpkg")
    return run_scenario(path)


@cache
def _run_folder(base: str, name: str) -> Path:
    run = solved(base, name)
    return write_run_folder(
        Path(base) / f"run-{name}", run.problem, run.plan, run.summary, writers=(write_core, *APPENDIX_WRITERS)
    )
