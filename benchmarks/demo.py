"""Benchmark the demo scenario (or any, phased ones too): model size, build and solve seconds, peak memory, gap.

Runs the whole pipeline in a child process (so peak memory is the run's own)
and writes benchmarks/results/demo.json.

    .venv/bin/python benchmarks/demo.py [--scenario PATH] [--time-limit S] [--out JSON]
    .venv/bin/python benchmarks/demo.py --scenario scenarios/fangcheng-2030-phased.yaml \
        --out benchmarks/results/phased.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASE_FIGURES = ("name", "plan_year", "budget_10k_yuan", "cost_budgeted_10k_yuan", "counts", "pupils")


def _run(scenario: str, time_limit: float | None, queue) -> None:
    from planner.config.sources import load_scenario
    from planner.pipeline import prepare, solve_phases, solve_problem, with_solver

    t0 = time.perf_counter()
    scen = with_solver(load_scenario(scenario), time_limit=time_limit)
    problem = prepare(scen)
    prep = time.perf_counter() - t0
    run = (solve_phases if scen.phases else solve_problem)(problem)
    s = run.summary
    queue.put(
        {
            "scenario": s["scenario"],
            "status": s["status"],
            "objective": s["objective"],
            "best_bound": s["best_bound"],
            "mip_gap": s["mip_gap"],
            "solver": s["solver"],
            "pairs": len(problem.pairs),
            **{f"model_{k}": v for k, v in s["model_size"].items()},
            "load_travel_seconds": round(prep, 3),
            "build_seconds": s["build_seconds"],
            "solve_seconds": s["solve_seconds"],
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_memory_solver_child_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "cost_total_10k_yuan": s["cost_10k_yuan"]["total"],
            "counts_after": s["counts_after"],
            "solve_method": s["solve_method"],
            "phases": [
                {
                    k: p[k]
                    for k in ("name", "plan_year", "budget_10k_yuan", "cost_budgeted_10k_yuan", "counts", "pupils")
                }
                for p in s.get("phases", [])
            ],
            "phase_by_phase": s.get("phase_by_phase"),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "fangcheng-2030.yaml"))
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "demo.json"))
    args = ap.parse_args()
    q = mp.get_context("spawn").Queue()
    p = mp.get_context("spawn").Process(target=_run, args=(args.scenario, args.time_limit, q))
    t0 = time.perf_counter()
    p.start()
    result = q.get()
    p.join()
    result["wall_seconds"] = round(time.perf_counter() - t0, 3)
    result["machine"] = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
