"""Write a synthetic county of any size, e.g. for benchmarks.

    python gis/make_county.py --villages 10000 --schools 1860 --seed 7 --out /tmp/county10x.gpkg

The whole county scales with villages / 1000 (area, townships, candidate sites,
pupil totals) unless --scale is given; the demo is --villages 1000 --schools 186
--seed 2030. See gis/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import countygen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--villages", type=int, required=True, help="villages and urban communities (demo 1000)")
    ap.add_argument("--schools", type=int, required=True, help="existing schools of all types (demo 186)")
    ap.add_argument("--seed", type=int, required=True, help="seed of numpy.random.default_rng")
    ap.add_argument("--out", type=Path, required=True, help="GeoPackage to (over)write")
    ap.add_argument("--scale", type=float, default=None, help="county scale (default villages / 1000)")
    ap.add_argument("--quiet", action="store_true", help="skip the calibration table")
    args = ap.parse_args(argv)
    scale = args.scale if args.scale is not None else args.villages / 1000
    t0 = time.perf_counter()
    try:
        layers = countygen.make_county(villages=args.villages, schools=args.schools, seed=args.seed, scale=scale)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    path = countygen.write_gpkg(layers, args.out)
    print(
        f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB); generated in {seconds:.1f} s, "
        f"total {time.perf_counter() - t0:.1f} s; " + ", ".join(f"{k} {len(v)}" for k, v in layers.items())
    )
    if not args.quiet:
        print(countygen.calibration(layers, scale=scale).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
