"""OR-Library p-median benchmarks run through ``planner run``, against spopt.

Two public sets with known optima (``/work/shared/benchmarks``):

* ``orlib-pmed/pmed1..40``: Beasley's uncapacitated p-median on graphs. Each
  instance becomes a county: one village (1 pupil) and one existing primary
  school per node, a roads layer with one line per edge whose ``length_m`` is
  the edge length x 1000 (so a road km is one instance unit), and a scenario
  with standards, costs and caps off, schools free to close and a target of
  ``p`` primaries. The planner's objective (pupil-km) is then the instance's
  objective and must equal ``optimal.txt``.
* ``orlib-pmedcap/pmedcap1-1..20``: Osman and Christofides' capacitated
  p-median. Each node is a village whose pupils are the node's demand and a
  primary school of capacity ``capacity``; distances are Euclidean (km = the
  instance's units, detour factor 1). The planner weights travel by pupils
  (pupil-km), so its optimum is the demand-weighted capacitated optimum, which
  spopt's capacitated ``PMedian`` (same weights) computes as the peer.

For every instance the same run times spopt's ``PMedian`` with CBC on the
distance matrix computed here independently (scipy Dijkstra on the edge list,
or numpy Euclid), and the results go to ``benchmarks/results/orlib.json``
after each instance, so an interrupted run keeps what it measured.

    python benchmarks/orlib.py pmed 1-20 --spopt-limit 300
    python benchmarks/orlib.py pmedcap 1-20
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import yaml
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ORLIB_DIR", ROOT.parent / "shared" / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results" / "orlib.json"
WORK = ROOT / "benchmarks" / "work" / "orlib"
CRS = "EPSG:4547"
X0, Y0 = 500_000.0, 2_400_000.0
PLANNER = ROOT / ".venv" / "bin" / "planner"


@dataclass(frozen=True)
class Instance:
    """One benchmark instance as read from OR-Library."""

    name: str
    kind: str  # "pmed" or "pmedcap"
    n: int
    p: int
    optimum: float  # the published optimum (unweighted for pmedcap)
    edges: pd.DataFrame | None = None  # pmed: from, to, length (1-based, last one counts)
    nodes: pd.DataFrame | None = None  # pmedcap: x, y, demand
    capacity: float | None = None


# ------------------------------------------------------------------ reading


def read_pmed(path: Path, optimum: float) -> Instance:
    """A pmed file: ``nodes edges p`` then ``from to length``; a repeated edge keeps its last length."""
    tok = path.read_text().split()
    n, m, p = (int(t) for t in tok[:3])
    e = pd.DataFrame(np.asarray(tok[3 : 3 + 3 * m], dtype=np.int64).reshape(m, 3), columns=["from", "to", "length"])
    a, b = np.minimum(e["from"], e["to"]), np.maximum(e["from"], e["to"])
    e = pd.DataFrame({"from": a, "to": b, "length": e["length"]}).drop_duplicates(["from", "to"], keep="last")
    e = e[e["from"] != e["to"]].reset_index(drop=True)
    return Instance(path.stem, "pmed", n, p, optimum, edges=e)


def read_pmedcap(path: Path) -> Instance:
    """A pmedcap file: ``number optimum``, ``n p capacity``, then ``id x y demand``."""
    tok = path.read_text().split()
    _, opt, n, p, cap = tok[:5]
    rows = np.asarray(tok[5 : 5 + 4 * int(n)], dtype=float).reshape(int(n), 4)
    nodes = pd.DataFrame(rows[:, 1:], columns=["x", "y", "demand"], index=rows[:, 0].astype(int))
    return Instance(path.stem, "pmedcap", int(n), int(p), float(opt), nodes=nodes, capacity=float(cap))


def pmed_optima() -> dict[str, float]:
    lines = (DATA / "orlib-pmed" / "optimal.txt").read_text().splitlines()[1:]
    return {a: float(b) for a, b in (ln.split() for ln in lines if ln.strip())}


def load_instance(kind: str, number: int) -> Instance:
    if kind == "pmed":
        return read_pmed(DATA / "orlib-pmed" / f"pmed{number}.txt", pmed_optima()[f"pmed{number}"])
    return read_pmedcap(DATA / "orlib-pmedcap" / f"pmedcap1-{number}.txt")


def distance_matrix(inst: Instance) -> np.ndarray:
    """The instance's own distances, computed independently of the planner."""
    if inst.kind == "pmed":
        e = inst.edges
        g = csr_matrix((e["length"].to_numpy(float), (e["from"] - 1, e["to"] - 1)), shape=(inst.n, inst.n))
        return dijkstra(g, directed=False)
    xy = inst.nodes[["x", "y"]].to_numpy()
    return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))


def weights(inst: Instance) -> np.ndarray:
    return np.ones(inst.n) if inst.kind == "pmed" else inst.nodes["demand"].to_numpy(float)


# --------------------------------------------------------------- converting


def node_xy_m(inst: Instance) -> np.ndarray:
    """Node coordinates in metres: pmed nodes on a 1 km grid (the roads carry
    the lengths), pmedcap nodes at their coordinates read as km."""
    if inst.kind == "pmed":
        side = int(np.ceil(np.sqrt(inst.n)))
        i = np.arange(inst.n)
        return np.column_stack([X0 + (i % side) * 1000.0, Y0 + (i // side) * 1000.0])
    return np.column_stack([X0 + inst.nodes["x"].to_numpy() * 1000.0, Y0 + inst.nodes["y"].to_numpy() * 1000.0])


def _ids(prefix: str, n: int) -> list[str]:
    width = len(str(n))
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


POLICY_OFF = {
    "assignment": {"g1_3": "whole", "g4_6": "whole", "g7_9": "whole"},
    "max_trip_km": {"g1_3": None, "g4_6": None, "g7_9": None},
    "boarding_allowed": {"g1_3": True, "g4_6": True, "g7_9": True},
}
"""An OR instance's policy: whole catchments, no trip limit, boarding allowed."""
PUPIL_KM_ONLY = {
    "pupil_km": 1.0,
    "per_10k_yuan": 0.0,
    "per_boarder": {"g1_3": 0, "g4_6": 0, "g7_9": 0},
    "per_pupil_moved": 0.0,
}
"""An objective of pupil-km alone."""


def solver_doc(time_limit_s: float) -> dict:
    """HiGHS on one thread to a zero gap, seeded."""
    return {"name": "highs", "time_limit_s": time_limit_s, "mip_gap": 0.0, "threads": 1, "seed": 0}


def scenario_doc(inst: Instance, time_limit_s: float) -> dict:
    """Standards, costs, caps and limits off; sites may only stay primary or close; p primaries."""
    cap = None if inst.capacity is None else int(inst.capacity)
    return {
        "name": inst.name,
        "description": f"OR-Library {inst.name}: n={inst.n}, p={inst.p}" + (f", capacity {cap}" if cap else ""),
        "data": {"gpkg": f"{inst.name}.gpkg"},
        "travel": {"detour_factor": 1.0, "use_roads": inst.kind == "pmed"},
        "policy": {
            **POLICY_OFF,
            "moves": {
                "teaching_point": ["teaching_point", "closed"],
                "primary": ["primary", "closed"],
                "junior": ["junior", "closed"],
                "nine_year": ["nine_year", "closed"],
            },
            "allow_new_builds": False,
        },
        "caps": {
            "class_size": {"primary": None, "junior": None},
            "school_pupils": {"teaching_point": None, "primary": cap, "junior": None, "nine_year": None},
            "use_site_max_classes": False,
        },
        "standards": {"enabled": False},
        "targets": {"primary": inst.p},
        "objective": PUPIL_KM_ONLY,
        "solver": solver_doc(time_limit_s),
    }


def write_case(inst: Instance, folder: Path, *, time_limit_s: float = 600.0) -> Path:
    """The project's own input files for one instance; returns the scenario YAML."""
    folder.mkdir(parents=True, exist_ok=True)
    xy = node_xy_m(inst)
    pts = [Point(x, y) for x, y in xy]
    w = weights(inst)
    villages = gpd.GeoDataFrame(
        {
            "village_id": _ids("V", inst.n),
            "name": [f"节点{i}村" for i in range(1, inst.n + 1)],
            "township": "基准",
            "pupils_g1_3": w.astype(int),
            "pupils_g4_6": 0,
            "pupils_g7_9": 0,
        },
        geometry=pts,
        crs=CRS,
    )
    schools = gpd.GeoDataFrame(
        {
            "school_id": _ids("S", inst.n),
            "name": [f"节点{i}学校" for i in range(1, inst.n + 1)],
            "township": "基准",
            "type": "primary",
            "classes_primary": 0,
            "classes_junior": 0,
            "pupils_g1_3": 0,
            "pupils_g4_6": 0,
            "pupils_g7_9": 0,
            "teaching_area_m2": 0.0,
            "living_area_m2": 0.0,
            "sports_area_m2": 0.0,
            "site_area_m2": 1e6,
            "boarding_beds": 0,
            "max_classes": 1000,
        },
        geometry=pts,
        crs=CRS,
    )
    gpkg = folder / f"{inst.name}.gpkg"
    gpkg.unlink(missing_ok=True)
    pyogrio.write_dataframe(villages, gpkg, layer="villages")
    pyogrio.write_dataframe(schools, gpkg, layer="schools")
    if inst.kind == "pmed":
        e = inst.edges
        lines = [LineString([xy[a - 1], xy[b - 1]]) for a, b in zip(e["from"], e["to"])]
        roads = gpd.GeoDataFrame(
            {"road_id": np.arange(1, len(e) + 1), "length_m": e["length"].to_numpy(float) * 1000.0},
            geometry=lines,
            crs=CRS,
        )
        pyogrio.write_dataframe(roads, gpkg, layer="roads")
    path = folder / f"{inst.name}.yaml"
    path.write_text(
        yaml.safe_dump(scenario_doc(inst, time_limit_s), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return path


# ------------------------------------------------------------------ running


def run_planner(scenario: Path, out: Path, timeout_s: float) -> dict:
    """``planner run`` as a user runs it; the summary plus wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(PLANNER), "run", str(scenario), "--out", str(out), "--force", "--quiet"],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout)[-2000:], "exit_code": proc.returncode, "wall_seconds": wall}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {"summary": summary, "wall_seconds": wall}


def run_spopt(inst: Instance, time_limit_s: float, solver: str = "cbc") -> dict:
    """spopt's PMedian (capacitated for pmedcap) on the same distances, one thread,
    with CBC (the peer as its users run it) or HiGHS (the same formulation, for a
    proven reference where CBC stops at its limit)."""
    import pulp
    from spopt.locate import PMedian

    d = distance_matrix(inst)
    caps = None if inst.capacity is None else np.full(inst.n, inst.capacity)
    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(d, weights(inst), p_facilities=inst.p, facility_capacities=caps)
    build = time.perf_counter() - t0
    make = pulp.PULP_CBC_CMD if solver == "cbc" else pulp.HiGHS
    t1 = time.perf_counter()
    try:
        model.solve(make(msg=False, timeLimit=time_limit_s, threads=1))
    except RuntimeError as e:  # spopt raises when CBC stops without a proven optimum (the time limit)
        return {
            "status": "time_limit",
            "message": str(e)[:200],
            "seconds": round(time.perf_counter() - t0, 3),
            "build_seconds": round(build, 3),
            "objective": None,
        }
    solve_s = time.perf_counter() - t1
    status = pulp.LpStatus[model.problem.status]
    hit_limit = solve_s >= 0.98 * time_limit_s
    return {
        "status": "time_limit" if hit_limit else status.lower(),
        "objective": pulp.value(model.problem.objective),
        "seconds": round(build + solve_s, 3),
        "build_seconds": round(build, 3),
        "solve_seconds": round(solve_s, 3),
    }


def run_instance(inst: Instance, *, planner_limit: float, spopt_limit: float | None) -> dict:
    case = write_case(inst, WORK / inst.name, time_limit_s=planner_limit)
    res = run_planner(case, WORK / inst.name / "run", timeout_s=planner_limit + 600)
    row: dict = {"instance": inst.name, "n": inst.n, "p": inst.p}
    if inst.kind == "pmed":
        row["optimum"] = inst.optimum
    else:
        row["optimum_unweighted_published"] = inst.optimum
        row["capacity"] = inst.capacity
    if "summary" in res:
        s = res["summary"]
        obj = s["pupil_km"]["g1_3"]
        row.update(
            objective=round(obj, 4),
            status=s["status"],
            mip_gap=s["mip_gap"],
            seconds=round(res["wall_seconds"], 3),
            model_seconds=round(s["build_seconds"] + s["solve_seconds"], 3),
            solve_seconds=s["solve_seconds"],
            build_seconds=s["build_seconds"],
            model_size=s["model_size"],
        )
    else:
        row.update(error=res["error"], exit_code=res["exit_code"], seconds=round(res["wall_seconds"], 3))
    if spopt_limit:
        row["spopt_cbc"] = run_spopt(inst, spopt_limit)
    if inst.kind == "pmedcap":
        row.update(peer_reference(inst, row.get("spopt_cbc"), spopt_limit))
    ref = row["optimum"] if inst.kind == "pmed" else row.get("optimum_weighted_peer")
    if ref and "objective" in row:
        row["gap"] = round((row["objective"] - ref) / ref, 6)
    return row


def peer_reference(inst: Instance, cbc: dict | None, limit_s: float | None) -> dict:
    """The demand-weighted optimum of spopt's own formulation: CBC's when it proved
    one, else the same spopt model solved by HiGHS (``spopt_highs``) within the same
    limit; ``None`` when neither proved it. The time comparison stays CBC's."""
    if cbc and cbc.get("status") == "optimal":
        return {"optimum_weighted_peer": cbc["objective"], "peer_solver": "cbc"}
    if not limit_s:
        return {"optimum_weighted_peer": None}
    highs = run_spopt(inst, limit_s, solver="highs")
    proved = highs.get("status") == "optimal"
    return {
        "spopt_highs": highs,
        "optimum_weighted_peer": highs["objective"] if proved else None,
        "peer_solver": "highs" if proved else None,
    }


def _merge_results(kind: str, rows: list[dict]) -> dict:
    doc = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    doc["machine"] = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    old = {r["instance"]: r for r in doc.get(kind, [])}
    old.update({r["instance"]: r for r in rows})
    key = (lambda r: int(r["instance"].rsplit("-", 1)[-1])) if kind == "pmedcap" else (lambda r: int(r["instance"][4:]))
    doc[kind] = sorted(old.values(), key=key)
    doc[f"{kind}_summary"] = summarise(doc[kind])
    return doc


def summarise(rows: list[dict]) -> dict:
    """Counts at the optimum and median seconds of both, over instances both ran."""
    ok = [r for r in rows if r.get("gap") is not None and abs(r["gap"]) < 1e-6]
    unknown = [r["instance"] for r in rows if r.get("gap") is None]
    both = [r for r in rows if "seconds" in r and "spopt_cbc" in r and "seconds" in r["spopt_cbc"]]
    out = {
        "instances": len(rows),
        "at_optimum": len(ok),
        "no_reference": unknown,
        "not_at_optimum": [r["instance"] for r in rows if r not in ok and r["instance"] not in unknown],
    }
    if both:
        out["median_seconds_planner"] = round(statistics.median(r["seconds"] for r in both), 3)
        out["median_model_seconds_planner"] = round(
            statistics.median(r.get("model_seconds", r["seconds"]) for r in both), 3
        )
        out["median_seconds_spopt_cbc"] = round(statistics.median(r["spopt_cbc"]["seconds"] for r in both), 3)
        out["compared_on"] = len(both)
    return out


def parse_numbers(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def markdown_table(kind: str) -> str:
    """The results of one set as a Markdown table (for benchmarks/README.md)."""
    doc = json.loads(RESULTS.read_text())
    ref = "optimum" if kind == "pmed" else "optimum_weighted_peer"
    lines = [
        f"| instance | n | p | objective | {ref} | gap | planner build+solve s | planner wall s "
        "| spopt+CBC s (status) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc.get(kind, []):
        sp = r.get("spopt_cbc") or {}
        spt = f"{sp['seconds']:.1f} ({sp['status']})" if sp else "not run"
        gap = "n/a" if r.get("gap") is None else f"{100 * r['gap']:.4f} %"
        lines.append(
            f"| {r['instance']} | {r['n']} | {r['p']} | {r.get('objective')} | {r.get(ref)} | {gap} | "
            f"{r.get('model_seconds', 'n/a')} | {r.get('seconds')} | {spt} |"
        )
    summ = doc.get(f"{kind}_summary", {})
    return "\n".join(lines) + "\n\n" + json.dumps(summ, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["pmed", "pmedcap"])
    ap.add_argument("numbers", nargs="?", default="", help="e.g. 1-20 or 1,3,5 (none: print the results table)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="planner solver limit per instance (s)")
    ap.add_argument("--spopt-limit", type=float, default=300.0, help="CBC limit for spopt (s); 0 skips spopt")
    args = ap.parse_args(argv)
    if not args.numbers:
        print(markdown_table(args.kind))
        return 0
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for k in parse_numbers(args.numbers):
        inst = load_instance(args.kind, k)
        row = run_instance(inst, planner_limit=args.time_limit, spopt_limit=args.spopt_limit or None)
        WORK.mkdir(parents=True, exist_ok=True)
        with open(WORK / "results.lock", "w") as lock:  # pmed and pmedcap may run at once
            fcntl.flock(lock, fcntl.LOCK_EX)
            RESULTS.write_text(json.dumps(_merge_results(args.kind, [row]), indent=1, ensure_ascii=False) + "\n")
        sp = row.get("spopt_cbc", {})
        print(
            f"{inst.name}: objective {row.get('objective')} gap {row.get('gap')} in {row['seconds']:.1f} s "
            f"(solve {row.get('solve_seconds')}); "
            f"spopt {sp.get('objective')} {sp.get('status')} in {sp.get('seconds')} s"
            + (f"  ERROR {row['error'][-300:]}" if "error" in row else ""),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
