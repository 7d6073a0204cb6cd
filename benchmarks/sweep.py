"""Benchmark planner sweep: eight short runs of the demo (budget x 4, junior trip limit x 2) on one
Dask worker, then on two (one solver thread each); the speed-up and the scheduler's overhead a run
(the wall time beyond the runs' own seconds, shared over the workers). Writes
benchmarks/results/sweep.json.

    .venv/bin/python benchmarks/sweep.py [--time-limit 60] [--out benchmarks/results/sweep.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _sweep(folder: Path, time_limit: float) -> Path:
    doc = {
        "base": str(ROOT / "scenarios" / "fangcheng-2030.yaml"),
        "grid": {"budget.total_10k_yuan": [39137, 47524, 55910, 64297], "policy.max_trip_km.g7_9": [30, 40]},
        "time_limit_s": time_limit,
    }
    path = folder / "bench-sweep.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _measure(sweep: Path, out: Path, workers: int) -> dict:
    from planner.sweep.run import Cluster, run_sweep

    t0 = time.perf_counter()
    rows = run_sweep(sweep, out, Cluster(workers=workers, threads=1))
    wall = time.perf_counter() - t0
    busy = sum(r["seconds"] or 0.0 for r in rows)
    return {
        "workers": workers,
        "wall_seconds": round(wall, 1),
        "run_seconds_sum": round(busy, 1),
        "overhead_seconds_per_run": round((wall * workers - busy) / len(rows), 2),
        "runs": len(rows),
        "failed": sum(r["exit_code"] != 0 for r in rows),
        "gaps": {r["name"]: r.get("mip_gap") for r in rows},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sweep.json"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        sweep = _sweep(tmp, args.time_limit)
        one = _measure(sweep, tmp / "one", 1)
        two = _measure(sweep, tmp / "two", 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "time_limit_s": args.time_limit,
        "one_worker": one,
        "two_workers": two,
        "speed_up": round(one["wall_seconds"] / two["wall_seconds"], 2),
    }
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
