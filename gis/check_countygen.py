"""Self-checks of the synthetic-county generator (a script, not a pytest module).

    python gis/check_countygen.py [--gpkg gis/demo_county.gpkg] [--bench]

Regenerates the demo, re-derives every promised property from the layers (and
from the committed GeoPackage), prints one line per check and exits 1 on any
failure. --bench also times the 3x and 10x counties.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _countygen_parts as parts
import cohortgen
import countygen as cg
import numpy as np
import pandas as pd
import pyogrio
import shapely
from scipy.spatial import cKDTree

HERE = Path(__file__).resolve().parent
FAILURES: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    if not ok:
        FAILURES.append(name)


def xy(gdf) -> np.ndarray:
    return shapely.get_coordinates(gdf.geometry.to_numpy())


def check_layers(L, *, scale: float, label: str) -> None:
    v, s, c, r = L["villages"], L["schools"], L["candidate_sites"], L["roads"]
    b = L["boundary"].geometry.iat[0]
    bands = ["pupils_g1_3", "pupils_g4_6", "pupils_g7_9"]
    p = f"[{label}] "
    cohorts = "births" in L
    check(p + "layers", list(L) == [*cg.LAYERS, *(["births"] if cohorts else [])], str(list(L)))
    check(p + "CRS of every layer", all(g.crs == cg.CRS for g in L.values() if hasattr(g, "crs")), cg.CRS)
    grades = [f"pupils_g{i}" for i in range(1, 10)] if cohorts else []
    cols = {
        "villages": cg.VILLAGE_COLUMNS + grades,
        "schools": cg.SCHOOL_COLUMNS,
        "candidate_sites": cg.SITE_COLUMNS,
        "roads": ["road_class", "speed_kmh"],
        "townships": ["township"],
        "boundary": ["name"],
    }
    check(p + "columns exactly as specified", all(list(L[k].columns) == cols[k] + ["geometry"] for k in cols))
    prim, jun = round(cg.PRIMARY_PUPILS * scale), round(cg.JUNIOR_PUPILS * scale)
    tot = v[bands].sum()
    check(
        p + "pupil totals exact",
        tot.iloc[0] + tot.iloc[1] == prim and tot.iloc[2] == jun and tot.iloc[0] == round(cg.G1_3_SHARE * prim),
        tot.to_dict().__str__(),
    )
    check(p + "pupils are integers >= 0", all(v[k].dtype.kind == "i" and (v[k] >= 0).all() for k in bands))
    for k, idc, pre in (
        ("villages", "village_id", "V"),
        ("schools", "school_id", "S"),
        ("candidate_sites", "site_id", "C"),
    ):
        ids = L[k][idc]
        check(
            p + f"{k}: ids unique, sorted, {pre}-prefixed",
            ids.is_unique and ids.is_monotonic_increasing and ids.str.match(rf"^{pre}\d+$").all(),
        )
    check(
        p + "names unique (villages, schools, sites)",
        v["name"].is_unique and s["name"].is_unique and c["name"].is_unique,
    )
    for k in ("villages", "schools", "candidate_sites"):
        pts = xy(L[k])
        check(p + f"{k}: every point inside the boundary", bool(shapely.contains_xy(b, pts[:, 0], pts[:, 1]).all()))
    t = L["townships"]
    overlap = sum(a.intersection(bb).area for i, a in enumerate(t.geometry) for bb in t.geometry[i + 1 :])
    check(
        p + "townships tile the boundary",
        abs(t.area.sum() - b.area) < 1e-6 * b.area
        and overlap < 1e-3
        and shapely.union_all(t.geometry.to_numpy()).symmetric_difference(b).area < 1e-6 * b.area,
        f"{len(t)} townships, {b.area / 1e6:,.0f} km²",
    )
    for k in ("villages", "schools", "candidate_sites"):
        pts = L[k].geometry.to_numpy()
        got = np.full(len(pts), "", dtype=object)
        for name, poly in zip(t["township"], t.geometry, strict=True):
            got[shapely.contains(poly, pts)] = name
        check(p + f"{k}: township column = containing township", bool((got == L[k]["township"].to_numpy()).all()))
    counts = s["type"].value_counts().to_dict()
    want = parts.school_counts(len(s))
    check(p + "schools by type", counts == want, str(counts))

    # enrolment = nearest school teaching the band, recomputed by brute force
    vxy, sxy = xy(v), xy(s)
    d = np.hypot(vxy[:, None, 0] - sxy[None, :, 0], vxy[:, None, 1] - sxy[None, :, 1])
    ok = True
    for band, kinds in cg.TEACHES.items():
        teaches = s["type"].isin(kinds).to_numpy()
        near = np.argmin(np.where(teaches[None, :], d, np.inf), axis=1)
        ok &= np.array_equal(np.bincount(near, v[f"pupils_{band}"], len(s)).astype(int), s[f"pupils_{band}"].to_numpy())
    check(p + "school pupils = villages' bands at the nearest school teaching them", bool(ok))
    pp, pj = s["pupils_g1_3"] + s["pupils_g4_6"], s["pupils_g7_9"]
    cls = s["classes_primary"] + s["classes_junior"]
    typ = s["type"]
    check(
        p + "classes: ceil(pupils/45|50), fewer only where max_classes binds",
        bool(
            (
                ((s["classes_primary"] == np.ceil(pp / 45)) & (s["classes_junior"] == np.ceil(pj / 50)))
                | (cls == s["max_classes"])
            ).all()
        ),
    )
    check(
        p + "classes <= max_classes <= type cap; teaching points 6",
        bool(
            (cls <= s["max_classes"]).all()
            and (s["max_classes"] <= typ.map(cg.MAX_CLASSES_CAP)).all()
            and (s.loc[typ.eq("teaching_point"), "max_classes"] == 6).all()
        ),
    )
    check(
        p + "classes > 0 exactly where pupils > 0",
        bool(((s["classes_primary"] > 0) == (pp > 0)).all() and ((s["classes_junior"] > 0) == (pj > 0)).all()),
    )
    num = list(cg.SCHOOL_COLUMNS[4:])
    check(p + "school numbers are integers >= 0", all(s[k].dtype.kind == "i" and (s[k] >= 0).all() for k in num))
    check(
        p + "staff subsets <= teachers",
        bool(
            all((s[k] <= s["teachers"]).all() for k in ("teachers_qualified", "teachers_backbone", "teachers_pe_art"))
        ),
    )
    check(
        p + "boarding beds only with living area, ~3-4 m² per bed",
        bool(
            ((s["boarding_beds"] == 0) | (s["living_area_m2"] >= 3 * s["boarding_beds"])).all()
            and (s["living_area_m2"] <= 4 * s["boarding_beds"] + 4).all()
        ),
    )
    reach = parts.reach_km(L)
    check(
        p + "every g1_3 pupil within 3.8 km (x1.3 detour = 5 km) of a school teaching g1_3",
        reach["g1_3"] <= 3.8,
        f"farthest {reach['g1_3']:.2f} km",
    )
    tp_max = s.loc[typ.eq("teaching_point"), "pupils_g1_3"].max()  # today's: the 2030 limit x the g1_3 factor
    limit = cg.TEACHING_POINT_MAX * cg.BASE_YEAR_FACTOR["g1_3"]
    check(p + "teaching points stay small", tp_max <= limit + 1, f"largest {tp_max} (limit {limit:.0f})")
    village = s["name"].str.endswith("村小学")
    check(
        p + "village primaries have >= ~280 m² teaching area", bool((s.loc[village, "teaching_area_m2"] >= 280).all())
    )
    check(p + "site area > sports + footprint", bool((s["site_area_m2"] > s["sports_area_m2"]).all()))
    allowed = set(c["allowed_types"].str.split(",").explode())
    check(
        p + "candidate sites: allowed types, caps, land cost",
        allowed <= {"primary", "junior", "nine_year"}
        and bool((c["max_classes"] <= np.where(c["allowed_types"].str.contains("primary"), 48, 60)).all())
        and bool(c["land_cost_10k_yuan"].between(30, 800).all()),
        f"{len(c)} sites",
    )

    # roads
    check(p + "road classes and speeds", bool((r["road_class"].map(cg.ROAD_SPEED) == r["speed_kmh"]).all()))
    check(p + "road graph (shared line endpoints) connected", parts.graph_components(r) == 1)
    nodes, _ = parts.road_graph(r)
    tree = cKDTree(nodes)
    far = max(tree.query(xy(L[k]))[0].max() for k in ("villages", "schools", "candidate_sites"))
    check(p + "every village, school and site within 1 km of a road node", far <= 1000, f"max {far:.0f} m")
    ratio = np.median(parts.detour_ratios(L))
    check(p + "road detour median 1.2-1.5", 1.2 <= ratio <= 1.5, f"{ratio:.2f}")
    town = L["townships"]["township"].iat[0]
    share = v.loc[v["township"].eq(town) & v["name"].str.endswith("社区"), bands].to_numpy().sum() / tot.sum()
    check(p + "town share 30-35 %", 0.30 <= share <= 0.35, f"{share:.1%}")


def same(a, b) -> bool:
    for k in a:
        geo = "geometry" in a[k].columns
        try:
            pd.testing.assert_frame_equal(
                a[k].drop(columns="geometry") if geo else a[k],
                b[k].drop(columns="geometry", errors="ignore"),
                check_exact=True,
                check_dtype=geo,
            )
        except AssertionError:
            return False
        if geo and not all(shapely.to_wkb(a[k].geometry.to_numpy()) == shapely.to_wkb(b[k].geometry.to_numpy())):
            return False
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, default=HERE / "demo_county.gpkg")
    ap.add_argument("--bench", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    demo, _ = cohortgen.add_cohorts(cg.make_county(**cg.DEMO), seed=cg.DEMO["seed"])
    print(f"demo generated in {time.perf_counter() - t0:.2f} s")
    check_layers(demo, scale=1.0, label="demo")
    again, _ = cohortgen.add_cohorts(cg.make_county(**cg.DEMO), seed=cg.DEMO["seed"])
    check("same seed gives identical tables and geometry", same(demo, again))
    check("another seed gives another county", not same(demo, cg.make_county(**{**cg.DEMO, "seed": 1})))
    check(
        "counts as asked (1000 villages, 186 schools, ~20 sites)",
        len(demo["villages"]) == 1000 and len(demo["schools"]) == 186 and len(demo["candidate_sites"]) == 20,
    )
    if args.gpkg.exists():
        names = [n for n, _ in pyogrio.list_layers(args.gpkg)]
        back = {n: pyogrio.read_dataframe(args.gpkg, layer=n) for n in (*cg.LAYERS, "births")}
        check("committed GeoPackage: layers", names == [*cg.LAYERS, "births"], str(names))
        check("committed GeoPackage = regenerated demo", same(demo, back))
        size = args.gpkg.stat().st_size
        check("committed GeoPackage < 3 MB", size < 3e6, f"{size / 1e6:.2f} MB")
        tmp = args.gpkg.with_name("_check_tmp.gpkg")
        cg.write_gpkg(demo, tmp)
        check("write_gpkg is byte-identical for identical layers", tmp.read_bytes() == args.gpkg.read_bytes())
        tmp.unlink()
    else:
        check("committed GeoPackage exists", False, str(args.gpkg))
    small = cg.make_county(villages=300, schools=60, seed=5, scale=0.3)
    check_layers(small, scale=0.3, label="0.3x")
    if args.bench:
        for k, n_s in ((3, 558), (10, 1860)):
            t0 = time.perf_counter()
            L = cg.make_county(villages=1000 * k, schools=n_s, seed=7, scale=k)
            sec = time.perf_counter() - t0
            check(f"{k}x county generated in < 60 s", sec < 60, f"{sec:.1f} s")
            check_layers(L, scale=k, label=f"{k}x")
            check(
                f"[{k}x] same seed identical", same(L, cg.make_county(villages=1000 * k, schools=n_s, seed=7, scale=k))
            )
    print(f"\n{len(FAILURES)} failure(s)" + (": " + ", ".join(FAILURES) if FAILURES else ""))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    raise SystemExit(main())
