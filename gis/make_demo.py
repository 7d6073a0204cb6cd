"""Write the demo county, gis/demo_county.gpkg, and print its calibration table.

    python gis/make_demo.py [--out PATH]

The demo is calibrated on the Fangcheng District 2030 plan (STANDARDS.md):
1,000 villages and communities, 186 schools, 57,465 primary and 27,900 junior
pupils. Same code and seed, same tables; see gis/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cohortgen
import countygen

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "demo_county.gpkg", help="GeoPackage to (over)write")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    layers = countygen.make_county(**countygen.DEMO)
    layers, rates = cohortgen.add_cohorts(layers, seed=countygen.DEMO["seed"])
    seconds = time.perf_counter() - t0
    path = countygen.write_gpkg(layers, args.out)
    print(
        f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) in {seconds:.1f} s; "
        + ", ".join(f"{k} {len(v)}" for k, v in layers.items())
    )
    print(countygen.calibration(layers).to_string(index=False))
    print(f"cohorts: {rates}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
