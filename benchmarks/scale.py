"""Scale: the demo scenario on synthetic counties 1x, 3x and 10x the demo.

For each factor f, ``gis/make_county.py`` draws a county of 1000 f villages
and 186 f schools (seed 2030 + f; the demo itself at f = 1), and a scenario
extending ``scenarios/fangcheng-2030.yaml`` scales its targets and budget by
f, with one solve (``indicators.balance_rounds: 1``, as every figure here was
measured). ``planner run`` solves it in a child process; the child's peak resident
memory comes from ``wait4``. Results (build and solve seconds, peak memory,
model size, status, gap) go to ``benchmarks/results/scale.json`` after each
factor.

    python benchmarks/scale.py 1 3            # 1x and 3x
    python benchmarks/scale.py 10 --time-limit 600
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
WORK = ROOT / "benchmarks" / "work" / "scale"
BASE = ROOT / "scenarios" / "fangcheng-2030.yaml"
BIN = ROOT / ".venv" / "bin"
DEMO_VILLAGES, DEMO_SCHOOLS, DEMO_SEED = 1000, 186, 2030


def make_county(factor: int, folder: Path) -> Path:
    """The county GeoPackage for ``factor`` (the demo's own file at 1x)."""
    if factor == 1 and (ROOT / "gis" / "demo_county.gpkg").exists():
        return ROOT / "gis" / "demo_county.gpkg"
    out = folder / f"county{factor}x.gpkg"
    if not out.exists():
        subprocess.run(
            [
                str(BIN / "python"),
                str(ROOT / "gis" / "make_county.py"),
                "--villages",
                str(DEMO_VILLAGES * factor),
                "--schools",
                str(DEMO_SCHOOLS * factor),
                "--seed",
                str(DEMO_SEED + factor - 1),
                "--out",
                str(out),
                "--quiet",
            ],
            check=True,
        )
    return out


def scenario_for(factor: int, gpkg: Path, folder: Path, *, time_limit_s: float, threads: int) -> Path:
    """The demo scenario with data, targets and budget scaled by ``factor``."""
    base = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    targets = {t: (v * factor if isinstance(v, int) else v) for t, v in base.get("targets", {}).items()}
    doc = {
        "extends": os.path.relpath(BASE, folder),
        "name": f"scale-{factor}x",
        "data": {"gpkg": os.path.relpath(gpkg, folder)},
        "targets": targets,
        "solver": {"time_limit_s": time_limit_s, "threads": threads, "mip_gap": 0.005},
        "indicators": {"balance_rounds": 1},
    }
    if base.get("budget", {}).get("total_10k_yuan"):
        doc["budget"] = {"total_10k_yuan": base["budget"]["total_10k_yuan"] * factor}
    path = folder / f"scale-{factor}x.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_child(scenario: Path, out: Path, timeout_s: float) -> dict:
    """``planner run`` in a child; wall seconds, exit code and peak RSS (MB) of that child."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "planner"), "run", str(scenario), "--out", str(out), "--force", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    # communicate() reaped the child; its rusage is in RUSAGE_CHILDREN (max over children so far),
    # so each factor runs in its own python process (see main).
    import resource

    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {
        "exit_code": proc.returncode,
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "stderr_tail": (stderr or "")[-1500:] if proc.returncode else "",
    }


def measure(factor: int, *, time_limit_s: float, threads: int) -> dict:
    folder = WORK / f"{factor}x"
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    gpkg = make_county(factor, folder)
    gen_s = time.perf_counter() - t0
    scen = scenario_for(factor, gpkg, folder, time_limit_s=time_limit_s, threads=threads)
    child = run_child(scen, folder / "run", timeout_s=time_limit_s * 3 + 900)
    row = {
        "factor": factor,
        "villages": DEMO_VILLAGES * factor,
        "schools": DEMO_SCHOOLS * factor,
        "county_seconds": round(gen_s, 2),
        **child,
    }
    summary = folder / "run" / "summary.json"
    if child["exit_code"] == 0 and summary.exists():
        s = json.loads(summary.read_text(encoding="utf-8"))
        row.update(
            status=s["status"],
            objective=s["objective"],
            best_bound=s["best_bound"],
            mip_gap=s["mip_gap"],
            solve_method=s.get("solve_method"),
            shortfall_cost_10k_yuan=s["shortfalls"].get("cost_to_close_10k_yuan"),
            build_seconds=s["build_seconds"],
            solve_seconds=s["solve_seconds"],
            model_size=s["model_size"],
            pairs=_pairs(scen),
        )
    return row


def _pairs(scen: Path) -> int | None:
    """Pruned pairs of the scenario (recomputed; cheap next to the solve)."""
    try:
        from planner.pipeline import prepare

        return int(len(prepare(scen).pairs))
    except Exception:  # a figure for the table, never a reason to lose the measurement
        return None


def _save(row: dict) -> None:
    doc = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    doc["machine"] = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    runs = {r["factor"]: r for r in doc.get("runs", [])}
    runs[row["factor"]] = row
    doc["runs"] = [runs[k] for k in sorted(runs)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("factors", nargs="*", type=int, default=[1, 3, 10])
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if len(args.factors) > 1:  # one python process per factor, so each peak RSS is that run's own
        for f in args.factors:
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    str(f),
                    "--time-limit",
                    str(args.time_limit),
                    "--threads",
                    str(args.threads),
                ],
                check=False,
            )
        return 0
    row = measure(args.factors[0], time_limit_s=args.time_limit, threads=args.threads)
    _save(row)
    print(
        json.dumps(
            {
                k: row.get(k)
                for k in (
                    "factor",
                    "status",
                    "mip_gap",
                    "build_seconds",
                    "solve_seconds",
                    "peak_rss_mb",
                    "wall_seconds",
                    "model_size",
                    "pairs",
                )
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
