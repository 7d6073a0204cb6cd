"""Single-source capacitated facility location through ``planner run``, against a bare highspy model.

The instances are drawn as the OR literature's SSCFL test sets are (Holmberg,
Ronnqvist and Yuan 1999, sets of 10-30 sites and 50-200 customers): sites
and customers uniform on a 50 km square, demands uniform on 5..35 pupils,
capacities uniform on 10..160 scaled so that they sum to ``RATIO`` times the
demand, fixed opening costs uniform on 300..700 (10k yuan), and the
assignment cost the demand times the distance (pupil-km). Each is seeded,
so the same command draws the same instances.

Each instance becomes the project's own input files: one village per
customer, one candidate site per facility (a new primary whose land costs
the fixed cost, at most ``capacity`` classes of one pupil), an OD matrix of
the distances, standards and every other cost off, and ``per_10k_yuan: 1``.
Its optimum is then the instance's. The peer is the textbook model written
straight into highspy's arrays (``y`` per site, ``x`` per pair, the
assignment, capacity and ``x <= y`` rows), built and solved in this process
with one thread and a zero gap. Both must reach the same optimum; the
ratio compared is the planner's build + solve seconds (``summary.json``)
against the peer's.

    python benchmarks/sscfl.py                 # the default sizes, 3 seeds each
    python benchmarks/sscfl.py --sizes 10x50 30x200 --seeds 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import highspy
import numpy as np
import pandas as pd
import pyogrio
import yaml
from orlib import CRS, POLICY_OFF, PUPIL_KM_ONLY, X0, Y0, _ids, run_planner, solver_doc
from scipy.sparse import coo_matrix
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "sscfl.json"
WORK = ROOT / "benchmarks" / "work" / "sscfl"
SIDE_KM = 50.0
RATIO = 3.0
SIZES = ("10x50", "20x100", "30x150", "30x200")


@dataclass(frozen=True)
class Instance:
    name: str
    sites_km: np.ndarray  # (m, 2)
    customers_km: np.ndarray  # (n, 2)
    demand: np.ndarray  # (n,) pupils
    capacity: np.ndarray  # (m,) pupils
    fixed_10k_yuan: np.ndarray  # (m,)
    distance_km: np.ndarray  # (m, n) straight-line km, rounded to the metre as the OD file holds them


def draw(m: int, n: int, seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    demand = rng.integers(5, 36, n)
    raw = rng.uniform(10, 160, m)
    capacity = np.maximum(np.ceil(raw * RATIO * demand.sum() / raw.sum()), demand.max()).astype(int)
    sites, customers = rng.uniform(0, SIDE_KM, (m, 2)), rng.uniform(0, SIDE_KM, (n, 2))
    d = sites[:, None, :] - customers[None, :, :]
    return Instance(
        name=f"sscfl-{m}x{n}-s{seed}",
        sites_km=sites,
        customers_km=customers,
        demand=demand,
        capacity=capacity,
        fixed_10k_yuan=np.round(rng.uniform(300, 700, m), 1),
        distance_km=np.round(np.hypot(d[..., 0], d[..., 1]), 3),
    )


def solve_bare(inst: Instance, time_limit_s: float) -> dict:
    """The textbook SSCFL in highspy's arrays; build and solve seconds apart."""
    t0 = time.perf_counter()
    m, n = len(inst.capacity), len(inst.demand)
    cost = np.concatenate([inst.fixed_10k_yuan, (inst.demand[None, :] * inst.distance_km).ravel()])
    x = m + np.arange(m * n).reshape(m, n)  # x[i, j]'s column
    y = np.arange(m)
    link = n + m + np.arange(m * n)
    blocks = [  # (rows, columns, coefficients)
        (np.tile(np.arange(n), m), x.ravel(), np.ones(m * n)),  # assignment: sum_i x[i, j] = 1
        (n + np.repeat(y, n), x.ravel(), np.tile(inst.demand, m).astype(float)),  # capacity ...
        (n + y, y, -inst.capacity.astype(float)),  # ... <= capacity[i] y[i]
        (link, x.ravel(), np.ones(m * n)),  # x[i, j] <= y[i]
        (link, np.repeat(y, n), -np.ones(m * n)),
    ]
    rows, cols, vals = (np.concatenate(part) for part in zip(*blocks))
    a = coo_matrix((vals, (rows, cols)), shape=(n + m + m * n, m + m * n)).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = np.zeros(a.shape[1]), np.ones(a.shape[1])
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(m + m * n, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(n), np.zeros(m + m * n)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * a.shape[1]
    h = highspy.Highs()
    for k, v in {"output_flag": False, "threads": 1, "mip_rel_gap": 0.0, "time_limit": time_limit_s}.items():
        h.setOptionValue(k, v)
    h.passModel(lp)
    build = time.perf_counter() - t0
    h.run()
    solve = time.perf_counter() - t0 - build
    return {
        "status": h.modelStatusToString(h.getModelStatus()),
        "objective": h.getInfo().objective_function_value,
        "build_seconds": round(build, 4),
        "solve_seconds": round(solve, 4),
        "seconds": round(build + solve, 4),
        "size": {"rows": a.shape[0], "columns": a.shape[1]},
    }


def write_case(inst: Instance, folder: Path, time_limit_s: float) -> Path:
    """The project's own input files for one instance; returns the scenario YAML."""
    folder.mkdir(parents=True, exist_ok=True)
    m, n = len(inst.capacity), len(inst.demand)

    def points(km: np.ndarray) -> list[Point]:
        return [Point(X0 + a * 1000.0, Y0 + b * 1000.0) for a, b in km]

    vid, sid = _ids("V", n), _ids("C", m)
    villages = gpd.GeoDataFrame(
        {"village_id": vid, "name": [f"{v}村" for v in vid], "township": "基准", "pupils_g1_3": inst.demand}
        | {"pupils_g4_6": 0, "pupils_g7_9": 0},
        geometry=points(inst.customers_km),
        crs=CRS,
    )
    sites = gpd.GeoDataFrame(
        {
            "site_id": sid,
            "name": [f"{s}地块" for s in sid],
            "allowed_types": "primary",
            "max_classes": inst.capacity,
            "site_area_m2": 1e6,
            "land_cost_10k_yuan": inst.fixed_10k_yuan,
        },
        geometry=points(inst.sites_km),
        crs=CRS,
    )
    gpkg = folder / f"{inst.name}.gpkg"
    gpkg.unlink(missing_ok=True)
    pyogrio.write_dataframe(villages, gpkg, layer="villages")
    pyogrio.write_dataframe(closed_school(), gpkg, layer="schools")
    pyogrio.write_dataframe(sites, gpkg, layer="candidate_sites")
    d = inst.distance_km
    od = pd.DataFrame({"origin_id": np.tile(vid, m), "destination_id": np.repeat(sid, n), "distance_km": d.ravel()})
    od.to_csv(folder / "od.csv", index=False)
    path = folder / f"{inst.name}.yaml"
    path.write_text(yaml.safe_dump(scenario_doc(inst, time_limit_s), allow_unicode=True, sort_keys=False), "utf-8")
    return path


def closed_school() -> gpd.GeoDataFrame:
    """The schools layer: one empty school off the square that may only close
    (the planner refuses a county without schools); no OD row reaches it."""
    row = {"school_id": "S0", "name": "空校", "township": "基准", "type": "primary", "max_classes": 0}
    row |= dict.fromkeys(("classes_primary", "classes_junior", "pupils_g1_3", "pupils_g4_6", "pupils_g7_9"), 0)
    row |= dict.fromkeys(("teaching_area_m2", "living_area_m2", "sports_area_m2", "site_area_m2"), 0.0)
    row["boarding_beds"] = 0
    return gpd.GeoDataFrame([row], geometry=[Point(X0 - 100_000.0, Y0 - 100_000.0)], crs=CRS)


def scenario_doc(inst: Instance, time_limit_s: float) -> dict:
    """Standards, limits and every cost but land off; one-pupil classes so a site's classes cap its pupils."""
    off = {"teaching_point": None, "primary": None, "junior": None, "nine_year": None}
    return {
        "name": inst.name,
        "description": f"SSCFL {inst.name}",
        "data": {"gpkg": f"{inst.name}.gpkg", "distances": "od.csv"},
        "travel": {"detour_factor": 1.0, "use_roads": False},
        "policy": {**POLICY_OFF, "moves": {"primary": ["closed"]}, "allow_new_builds": True},
        "caps": {"class_size": {"primary": 1, "junior": None}, "school_pupils": off, "use_site_max_classes": True},
        "standards": {"enabled": False},
        "costs": {"new_build_10k_yuan": {"teaching_point": 0, "primary": 0, "junior": 0, "nine_year": 0}},
        "objective": PUPIL_KM_ONLY | {"per_10k_yuan": 1.0},
        "solver": solver_doc(time_limit_s),
    }


def run_instance(inst: Instance, time_limit_s: float) -> dict:
    case = write_case(inst, WORK / inst.name, time_limit_s)
    res = run_planner(case, WORK / inst.name / "run", timeout_s=time_limit_s + 600)
    row: dict = {"instance": inst.name, "sites": len(inst.capacity), "villages": len(inst.demand)}
    row["bare_highspy"] = bare = solve_bare(inst, time_limit_s)
    if "summary" not in res:
        return row | {"error": res["error"]}
    s = res["summary"]
    model_s = s["build_seconds"] + s["solve_seconds"]
    row["planner"] = {
        "status": s["status"],
        "solve_method": s["solve_method"],
        "objective": s["objective"],
        "build_seconds": s["build_seconds"],
        "solve_seconds": s["solve_seconds"],
        "seconds": round(model_s, 4),
        "wall_seconds": round(res["wall_seconds"], 3),
        "model_size": s["model_size"],
    }
    row["same_optimum"] = bool(abs(s["objective"] - bare["objective"]) <= 1e-6 * max(1.0, abs(bare["objective"])))
    row["ratio"] = round(model_s / bare["seconds"], 3)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), help="sites x villages, e.g. 30x200")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=600.0)
    args = ap.parse_args(argv)
    rows = []
    for size in args.sizes:
        m, n = (int(v) for v in size.split("x"))
        for seed in range(1, args.seeds + 1):
            row = run_instance(draw(m, n, seed), args.time_limit)
            rows.append(row)
            print(json.dumps({k: row.get(k) for k in ("instance", "ratio", "same_optimum")}), flush=True)
            machine = {"cores": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()}
            out = {"machine": machine, "runs": rows}
            ratios = [r["ratio"] for r in rows if "ratio" in r]
            if ratios:
                out["median_ratio"] = statistics.median(ratios)
            RESULTS.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
