"""An independent checker: re-derive every hard constraint from a run folder.

It reads only the run folder (summary.json, schools.csv, assignments.csv,
manifest.json with the resolved scenario) and the input layers named in the
manifest, with pyogrio and pandas. It imports nothing from ``planner`` and
knows no model variable, so a bug in the model, the decoder or the writer
shows up here as a violated rule.

``check_run(folder)`` returns a list of violations (empty when the plan holds).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

BANDS = ("g1_3", "g4_6", "g7_9")
LEVEL = {"g1_3": "primary", "g4_6": "primary", "g7_9": "junior"}
TEACHES = {
    "teaching_point": {"g1_3"},
    "primary": {"g1_3", "g4_6"},
    "junior": {"g7_9"},
    "nine_year": {"g1_3", "g4_6", "g7_9"},
}
TOL = 1e-4


def _layer(manifest: dict, name: str) -> pd.DataFrame | None:
    """Read an input layer (attributes and x/y in the layer's own CRS)."""
    scen = manifest["scenario"]
    base = Path(manifest["scenario_files"][-1]).parent
    ref = scen["data"].get(name)
    if ref is None and scen["data"].get("gpkg"):
        ref = {"path": scen["data"]["gpkg"], "layer": name}
    if ref is None:
        return None
    path = base / ref["path"]
    if path.suffix.lower() == ".gpkg" and ref.get("layer", name) not in [n for n, _ in pyogrio.list_layers(path)]:
        return None
    gdf = pyogrio.read_dataframe(path, layer=ref.get("layer") or name)
    gdf = gdf.to_crs(manifest["crs"])
    df = pd.DataFrame(gdf.drop(columns="geometry"))
    df["x"], df["y"] = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    return df


def _limit(scen: dict, band: str) -> float:
    pol = scen["policy"]
    lim = pol["max_trip_km"].get(band)
    lim = math.inf if lim is None else float(lim)
    if not pol["boarding_allowed"].get(band, True):
        lim = min(lim, float(pol["walk_limit_km"][band]))
    return lim


def _check_assignments(scen, villages, schools, assign, out):
    """Every child placed once, at an open school that teaches the band, within limits."""
    placed = assign.groupby(["village_id", "band"])["pupils"].sum()
    for b in BANDS:
        need = villages.set_index("village_id")[f"pupils_{b}"]
        got = placed.xs(b, level="band") if b in placed.index.get_level_values("band") else pd.Series(dtype=float)
        diff = (need - got.reindex(need.index).fillna(0.0)).abs()
        for v in diff[diff > 1e-3].index:
            out.append(f"pupils: village {v} band {b} has {need[v]} pupils but {got.get(v, 0.0)} placed")
        if scen["policy"]["assignment"].get(b, "whole") == "whole":
            n = assign[assign["band"] == b].groupby("village_id").size()
            for v in n[n > 1].index:
                out.append(f"whole catchment: village {v} band {b} is split over {n[v]} schools")
    type_after = schools.set_index("school_id")["type_after"]
    for r in assign.itertuples():
        t = type_after.get(r.school_id, "missing")
        if r.band not in TEACHES.get(t, set()) and not (
            t == "teaching_point" and r.band == "g4_6" and scen["policy"].get("teaching_point_takes_g4_6")
        ):
            out.append(f"compatibility: {r.village_id} {r.band} assigned to {r.school_id} of type {t}")
        if r.distance_km > _limit(scen, r.band) + 1e-6:
            out.append(
                f"distance limit: {r.village_id} {r.band} travels {r.distance_km} km > {_limit(scen, r.band)} km"
            )
        walk = float(scen["policy"]["walk_limit_km"][r.band])
        if bool(r.boards) != (r.distance_km > walk):
            out.append(
                f"boarding flag: {r.village_id} {r.band} at {r.distance_km} km, walk limit {walk}, boards={r.boards}"
            )


def _check_distances(scen, villages, sites, assign, out):
    """Straight-line runs: the reported km equal the detoured Euclidean distance."""
    if scen["data"].get("distances") or (scen["data"].get("roads") and scen["travel"].get("use_roads", True)):
        return
    v = villages.set_index("village_id")[["x", "y"]]
    s = sites.set_index("id")[["x", "y"]]
    a = assign.join(v, on="village_id").join(s.add_suffix("_s"), on="school_id")
    d = np.hypot(a["x"] - a["x_s"], a["y"] - a["y_s"]) / 1000.0 * scen["travel"]["detour_factor"]
    bad = (d - a["distance_km"]).abs() > 1e-3
    for r in a[bad].itertuples():
        out.append(f"distance: {r.village_id}->{r.school_id} reported {r.distance_km} km, recomputed")


def _enrolment(assign: pd.DataFrame) -> pd.DataFrame:
    e = assign.pivot_table(index="school_id", columns="band", values="pupils", aggfunc="sum").reindex(
        columns=list(BANDS)
    )
    return e.fillna(0.0)


def _reported_gaps(summary) -> dict:
    """(school, indicator) -> gap the run reports in summary.json's shortfalls."""
    return {(r["school_id"], r["indicator"]): r["gap"] for r in summary.get("shortfalls", {}).get("items", [])}


def _area_may_fall_short(scen) -> bool:
    ind = scen.get("indicators", {})
    return ind.get("enabled", True) and ind.get("allow_shortfalls", True)


def _check_schools(scen, sites, schools, assign, summary, out):
    """Class caps, school caps, site classes, areas (below the standard only
    where shortfalls are allowed and the run reports the gap), boarders and site room."""
    gaps = _reported_gaps(summary) if _area_may_fall_short(scen) else {}
    caps, st = scen["caps"], scen["standards"]
    e = _enrolment(assign).reindex(schools["school_id"]).fillna(0.0)
    s = schools.set_index("school_id")
    site = sites.set_index("id")
    prim, jun = e["g1_3"] + e["g4_6"], e["g7_9"]
    for sid, r in s.iterrows():
        for b in BANDS:
            if abs(r[f"pupils_{b}"] - e.at[sid, b]) > 1e-3:
                out.append(f"schools.csv: {sid} pupils_{b} {r[f'pupils_{b}']} != assigned {e.at[sid, b]}")
        for lvl, n in (("primary", prim[sid]), ("junior", jun[sid])):
            cap = caps["class_size"].get(lvl)
            if cap is not None and n > cap * r[f"classes_{lvl}"] + TOL:
                out.append(f"class_cap: {sid} {lvl} {n} pupils in {r[f'classes_{lvl}']} classes (cap {cap})")
        if r["type_after"] != "closed":
            cap = caps["school_pupils"].get(r["type_after"])
            if cap is not None and prim[sid] + jun[sid] > cap + TOL:
                out.append(f"school_cap: {sid} has {prim[sid] + jun[sid]} pupils > {cap} ({r['type_after']})")
        elif prim[sid] + jun[sid] > TOL:
            out.append(f"closed school {sid} still has pupils")
        if (
            caps.get("use_site_max_classes", True)
            and r["classes_primary"] + r["classes_junior"] > site.at[sid, "max_classes"]
        ):
            out.append(
                f"site_classes: {sid} {r['classes_primary'] + r['classes_junior']} classes "
                f"> {site.at[sid, 'max_classes']}"
            )
        if not st.get("enabled", True):
            continue
        for kind in ("teaching", "sports"):
            per = st[f"{kind}_area_m2_per_pupil"]
            need = per["primary"] * prim[sid] + per["junior"] * jun[sid]
            have = site.at[sid, f"{kind}_area_m2"] + r[f"{kind}_area_added_m2"]
            if have + 0.05 < need and gaps.get((sid, f"{kind}_area"), -1.0) < need - have - 0.05:
                out.append(f"{kind}_area: {sid} has {have:.1f} m² < standard {need:.1f} m²")
        boarders = assign[(assign["school_id"] == sid) & assign["boards"]]["pupils"].sum()
        if abs(boarders - r["boarders"]) > 1e-3:
            out.append(f"boarders: {sid} reports {r['boarders']} but assignments give {boarders}")
        need = st["living_area_m2_per_boarder"] * boarders
        have = site.at[sid, "living_area_m2"] + r["living_area_added_m2"]
        if have + 0.05 < need:
            out.append(f"living_area: {sid} has {have:.1f} m² < {need:.1f} m² for {boarders} boarders")
        floors = st["building_floors"]
        free = max(
            0.0,
            site.at[sid, "site_area_m2"]
            - site.at[sid, "sports_area_m2"]
            - (site.at[sid, "teaching_area_m2"] + site.at[sid, "living_area_m2"]) / floors,
        )
        used = (r["teaching_area_added_m2"] + r["living_area_added_m2"]) / floors + r["sports_area_added_m2"]
        if used > free + 0.05:
            out.append(f"site_room: {sid} needs {used:.1f} m² of site but {free:.1f} m² is free")


def _check_types(scen, sites, schools, out):
    """Allowed moves, fixed decisions, targets."""
    s = schools.set_index("school_id")
    site = sites.set_index("id")
    pol = scen["policy"]
    for sid, r in s.iterrows():
        before, after = r["type_before"], r["type_after"]
        fixed = scen.get("fixed", {}).get(sid)
        if fixed is not None and after != fixed:
            out.append(f"fixed: {sid} must be {fixed} but is {after}")
        if site.at[sid, "kind"] == "candidate":
            ok = after == "closed" or (pol.get("allow_new_builds", True) and after in site.at[sid, "allowed"])
        else:
            ok = after in pol["moves"].get(before, [before, "closed"])
            keep = pol.get("keep_schools_with_pupils_at_least")
            now = sum(site.at[sid, f"pupils_{b}"] for b in BANDS)
            if (
                keep is not None
                and before in ("teaching_point", "primary")
                and now >= keep
                and after in ("closed", "teaching_point")
            ):
                out.append(f"keep rule: {sid} had {now} pupils (>= {keep}) but is {after}")
        if fixed is None and not ok:
            out.append(f"moves: {sid} may not go from {before} to {after}")
    counts = s["type_after"].value_counts()
    for t, target in scen.get("targets", {}).items():
        lo, hi = (target, target) if isinstance(target, int) else (target.get("min"), target.get("max"))
        n = int(counts.get(t, 0))
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            out.append(f"target: {n} {t} schools, target {lo}..{hi}")
    unlisted = site[(site["kind"] == "school") & ~site.index.isin(s.index)]
    for sid in unlisted.index:
        out.append(f"schools.csv: existing school {sid} missing")


def _check_budget(scen, sites, schools, summary, out):
    c = scen["costs"]
    s = schools.set_index("school_id")
    site = sites.set_index("id")
    cost = {
        k: float((s[f"{k}_area_added_m2"] * c[f"{k}_yuan_per_m2"] / 1e4).sum())
        for k in ("teaching", "living", "sports")
    }
    new = s[(site.loc[s.index, "kind"] == "candidate").to_numpy() & (s["type_after"] != "closed").to_numpy()]
    cost["new_build"] = float(sum(c["new_build_10k_yuan"][t] for t in new["type_after"]))
    cost["land"] = float(site.loc[new.index, "land_cost_10k_yuan"].sum())
    ex = s[(site.loc[s.index, "kind"] == "school").to_numpy()]
    up = ex[
        (ex["type_after"] != ex["type_before"])
        & ex["type_after"].isin(["primary", "junior", "nine_year"])
        & ~((ex["type_before"] == "nine_year") & (ex["type_after"] == "junior"))
    ]
    cost["upgrade"] = len(up) * float(c["upgrade_10k_yuan"])
    ic = scen.get("indicators", {}).get("costs")
    if (
        ic and scen["indicators"].get("enabled", True) and "equipment_bought_yuan" in s.columns
    ):  # issue 6: staff, equipment and rooms, at the unit costs
        cost["equipment"] = float(s["equipment_bought_yuan"].sum()) / 1e4
        cost["multimedia"] = ic["multimedia_room_10k_yuan"] * float(s["multimedia_rooms_added"].sum())
        cost["rooms"] = float(
            ic["music_room_10k_yuan"] * s["music_rooms_added"].sum()
            + ic["art_room_10k_yuan"] * s["art_rooms_added"].sum()
        )
        cost["teachers"] = float(
            ic["hire_10k_yuan"]["qualified"] * s["hired_qualified"].sum()
            + ic["hire_10k_yuan"]["pe_art"] * s["hired_pe_art"].sum()
            + ic["backbone_training_10k_yuan"] * s["trained_backbone"].sum()
            + ic["transfer_10k_yuan"] * s["moved_in_teachers"].sum()
        )
    total = sum(cost.values())
    budget = scen["budget"].get("total_10k_yuan")
    building = ("teaching", "living", "sports", "new_build", "upgrade", "land")
    covered = sum(v for k, v in cost.items() if scen["budget"].get("covers", "all") == "all" or k in building)
    if budget is not None and covered > budget * (1 + 1e-6) + 0.01:
        out.append(f"budget: plan costs {covered:.2f} > budget {budget} (10k yuan)")
    for k, lim in scen["budget"].get("by_category_10k_yuan", {}).items():
        if cost.get(k, 0.0) > lim + 0.01:
            out.append(f"budget {k}: {cost[k]:.2f} > {lim}")
    if abs(summary["cost_10k_yuan"]["total"] - total) > 0.05 + 1e-6 * total:
        out.append(f"summary: cost total {summary['cost_10k_yuan']['total']} != recomputed {total:.2f}")
    if abs(s["cost_10k_yuan"].sum() - total) > 0.05 + 1e-6 * total:
        out.append(f"schools.csv: cost column sums to {s['cost_10k_yuan'].sum():.2f} != recomputed {total:.2f}")


def _sites(manifest: dict) -> pd.DataFrame:
    schools = _layer(manifest, "schools")
    schools = schools.rename(columns={"school_id": "id", "type": "type_before"}).assign(
        kind="school", land_cost_10k_yuan=0.0
    )
    schools["allowed"] = [()] * len(schools)
    cands = _layer(manifest, "candidate_sites")
    if cands is None or cands.empty:
        return schools
    cands = cands.rename(columns={"site_id": "id"}).assign(kind="candidate", type_before="none")
    cands["allowed"] = [tuple(t.strip() for t in str(a).replace(";", ",").split(",")) for a in cands["allowed_types"]]
    for c in ("teaching_area_m2", "living_area_m2", "sports_area_m2", *(f"pupils_{b}" for b in BANDS)):
        cands[c] = 0.0
    return pd.concat([schools, cands], ignore_index=True)


def check_run(folder: str | Path) -> list[str]:
    """Every violated hard constraint of the run folder's plan (empty if none)."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    scen = manifest["scenario"]
    schools = pd.read_csv(folder / "schools.csv", dtype={"school_id": str, "merged_into": str}, keep_default_na=False)
    assign = pd.read_csv(folder / "assignments.csv", dtype={"village_id": str, "school_id": str})
    assign["boards"] = assign["boards"].astype(str).str.lower() == "true"
    villages = _layer(manifest, "villages")
    villages["village_id"] = villages["village_id"].astype(str)
    sites = _sites(manifest)
    out: list[str] = []
    _check_assignments(scen, villages, schools, assign, out)
    _check_distances(scen, villages, sites, assign, out)
    _check_schools(scen, sites, schools, assign, summary, out)
    _check_types(scen, sites, schools, out)
    _check_budget(scen, sites, schools, summary, out)
    counts = schools["type_after"].value_counts()
    for t in TEACHES:
        if summary["counts_after"][t] != int(counts.get(t, 0)):
            out.append(f"summary: counts_after {t} {summary['counts_after'][t]} != schools.csv {int(counts.get(t, 0))}")
    return out
