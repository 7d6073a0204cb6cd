"""The demo's base plan against the motivating plan's own table (seeds/000, STANDARDS.md).

Reads a run folder of the base scenario (``make demo`` writes runs/fangcheng-2030)
and prints each figure beside the plan's, with the relative difference; exits 1
when a figure is off by more than the tolerance (25 %; counts exactly).

    .venv/bin/python benchmarks/calibration.py [RUN_FOLDER] [--tolerance 0.25]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_COUNTS = {"junior": 22, "primary": 110, "teaching_point": 31}
"""The plan's 2030 layout: 22 junior schools, 110 complete primaries, 31 teaching points."""
SEED_FIGURES = {
    "boarders": 24_967,
    "teaching_area_added_m2": 77_650,
    "living_area_added_m2": 73_070,
    "sports_area_added_m2": 160_300,
}
"""The plan's 2030 boarders and added floor areas (STANDARDS.md, seeds/000)."""


def figures(summary: dict) -> dict[str, float]:
    """The run's figures under the names of SEED_FIGURES."""
    added = summary["added_area_m2"]
    return {
        "boarders": summary["boarders"]["total"],
        **{f"{k}_area_added_m2": added[k] for k in ("teaching", "living", "sports")},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=ROOT / "runs" / "fangcheng-2030")
    ap.add_argument("--tolerance", type=float, default=0.25, help="largest relative difference allowed")
    args = ap.parse_args(argv)
    summary = json.loads((args.folder / "summary.json").read_text(encoding="utf-8"))
    ok = True
    print(f"{'figure':<24}{'plan':>12}{'seed':>12}{'diff':>9}")
    for k, want in SEED_COUNTS.items():
        got = summary["counts_after"].get(k, 0)
        ok &= got == want
        print(f"{k + ' schools':<24}{got:>12,}{want:>12,}{'' if got == want else ' off':>9}")
    for k, want in SEED_FIGURES.items():
        got = figures(summary)[k]
        diff = got / want - 1
        ok &= abs(diff) <= args.tolerance
        print(f"{k:<24}{got:>12,.0f}{want:>12,}{100 * diff:>8.1f}%")
    print(f"status {summary['status']}, gap {summary['mip_gap']}; within {100 * args.tolerance:.0f} %: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
