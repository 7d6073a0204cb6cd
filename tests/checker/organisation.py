"""Campuses (一校两区) and school groups with teacher rotation (集团化办学, 交流轮岗),
re-derived from schools.csv, groups.csv and the input layers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from tests.checker.common import BANDS, LEVELS, STOCK, TOL
from tests.checker.standards import _level_values, _pupils, _resources, _standards

KIND_NAMES = {"城区": "town", "集镇": "seat", "农村": "village"}
EPS = 1e-9


def counted(schools: pd.DataFrame) -> pd.DataFrame:
    """The schools the targets and counts see: a campus counts in its host."""
    if "campus_of" not in schools.columns:
        return schools
    return schools[schools["campus_of"].fillna("").astype(str) == ""]


LEVELS_OF = {"teaching_point": {"primary"}, "primary": {"primary"}, "junior": {"junior"}, "nine_year": set(LEVELS)}


def _levels(t: str) -> set[str]:
    return LEVELS_OF.get(t, set())


def _fits(member: str, host: str) -> bool:
    """Whether ``host`` teaches every level of ``member`` (a teaching point hosts nothing)."""
    return host != "teaching_point" and host in LEVELS_OF and _levels(member) <= _levels(host)


def _km(scen, site: pd.DataFrame, a: str, b: str) -> float:
    return float(np.hypot(*(site.loc[a, ["x", "y"]].to_numpy(float) - site.loc[b, ["x", "y"]].to_numpy(float))))


def check_campuses(scen, sites, schools, summary, out):
    """Each campus: an existing school of the allowed types at its type, within
    reach of an open host teaching its levels that is no campus, at most
    ``max_per_host`` a host, the pair's pupils within the host's school cap."""
    cc = scen.get("campuses")
    s = schools.set_index("school_id")
    of = s["campus_of"].fillna("").astype(str) if "campus_of" in s.columns else pd.Series("", index=s.index)
    campus = of[of != ""]
    if cc is None:
        for sid in campus.index:
            out.append(f"campus: {sid} is a campus but the scenario has no campuses")
        return
    site = sites.drop_duplicates("id").set_index("id")
    detour = float(scen["travel"]["detour_factor"])
    pupils = s[[f"pupils_{b}" for b in BANDS]].sum(axis=1)
    for sid, host in campus.items():
        r = s.loc[sid]
        if (
            site.at[sid, "kind"] != "school"
            or r["type_before"] not in cc["types"]
            or r["type_after"] != r["type_before"]
        ):
            out.append(f"campus: {sid} ({r['type_before']} -> {r['type_after']}) may not be a campus")
        if r.get("action") != "campus":
            out.append(f"campus: {sid} action {r.get('action')} != campus")
        if (
            host not in s.index
            or s.at[host, "type_after"] == "closed"
            or not _fits(r["type_after"], s.at[host, "type_after"])
        ):
            out.append(f"campus: {sid}'s host {host} is not an open school teaching its levels")
            continue
        if of.get(host, ""):
            out.append(f"campus: {sid}'s host {host} is itself a campus")
        km = _km(scen, site, sid, host) / 1000.0 * detour
        if km > cc["max_km"] + 1e-6:
            out.append(f"campus: {sid} is {km:.3f} km from {host} > {cc['max_km']}")
        cap = scen["caps"]["school_pupils"].get(s.at[host, "type_after"])
        if cap is not None and pupils[sid] + pupils[host] > cap + TOL:
            out.append(f"campus_cap: {sid} + {host} have {pupils[sid] + pupils[host]:.1f} pupils > {cap}")
    for host, n in campus.value_counts().items():
        if n > cc["max_per_host"]:
            out.append(f"campus: {host} hosts {n} campuses > {cc['max_per_host']}")
    said = (summary.get("campuses") or {}).get("hosts", {})
    if said != campus.to_dict():
        out.append(f"summary: campuses {said} != schools.csv {campus.to_dict()}")


def _passes_today(scen, sites) -> pd.Series:
    """Whether each existing school passes the standard today (all seven known, the national rule)."""
    ex = sites[sites["kind"] == "school"].drop_duplicates("id")
    before = pd.DataFrame(
        {"school_id": ex["id"].to_numpy(), "type_after": ex["type_before"].to_numpy()}
        | {f"pupils_{b}": ex[f"pupils_{b}"].to_numpy(float) for b in BANDS}
    )
    std, ind = _standards(scen), scen["indicators"]
    ok = pd.Series(True, index=ex["id"].to_numpy())
    for lv, t in _level_values(scen, ex.set_index("id")[list(STOCK)].astype(float), _pupils(before)).items():
        ratio = pd.DataFrame({k: t[k] / std[k][lv] for k in std})
        reached = (ratio >= 1 - 1e-6).sum(axis=1)
        low = (ratio < ind.get("pass_floor_share", 0.85) - 1e-6).any(axis=1)
        fine = (reached >= ind.get("pass_min_reached", 6)) & ~low & ratio.notna().all(axis=1)
        ok.loc[fine.index[~fine.to_numpy()]] = False
    return ok


def _site_kinds(villages, sites) -> pd.Series:
    v = villages.drop_duplicates("village_id")
    kinds = v["kind"].astype(str).str.strip().map(lambda k: KIND_NAMES.get(k, k)).to_numpy()
    _, idx = cKDTree(v[["x", "y"]].to_numpy(float)).query(sites[["x", "y"]].to_numpy(float))
    return pd.Series(kinds[idx], index=sites.index)


def check_groups(folder: Path, scen, villages, sites, schools, summary, out):
    """groups.csv: every member who should be grouped listed once; each core
    eligible and within reach, teaching the member's levels, at most
    ``max_members``; the teachers exchanged and backbone sent by the rounding
    rules, within what each core has; a member alone only when no core it
    may join has room for it; summary.json's totals."""
    cfg = scen.get("groups")
    path = folder / "groups.csv"
    if cfg is None:
        if path.exists():
            out.append("groups.csv written but the scenario has no groups")
        return
    g = pd.read_csv(path, dtype={"group": str, "core_id": str, "member_id": str}, keep_default_na=False)
    s = counted(schools).set_index("school_id")
    on = s[s["type_after"] != "closed"]
    site = sites.drop_duplicates("id").set_index("id")
    res = _resources(sites, on.reset_index()).fillna(0.0)
    kinds = _site_kinds(villages, site) if cfg["core_kinds"] or cfg["members"] == "rural" else None
    core_ok = on["type_after"].isin(cfg["core_types"])
    if cfg["core_kinds"]:
        core_ok &= kinds.reindex(on.index).isin(cfg["core_kinds"])
    if scen["indicators"].get("enabled", True):
        core_ok &= on["standard_status"] == "pass"
    rest = on.index[~core_ok.to_numpy()]
    if cfg["members"] == "short":
        today = _passes_today(scen, sites)
        want = {m for m in rest if m in today.index and not today[m]}
    else:
        want = {m for m in rest if kinds[m] == "village"}
    got = list(g["member_id"])
    if sorted(got) != sorted(want):
        out.append(f"groups: members {sorted(set(got) ^ want)[:10]} listed or missing wrongly")
    eligible = np.floor(cfg["eligible_share"] * res["teachers"] + EPS)
    backbone = np.minimum(np.floor(cfg["eligible_share"] * res["teachers_backbone"] + EPS), eligible)
    detour = float(scen["travel"]["detour_factor"])
    load: dict[str, list[float]] = {}
    placed = g[g["core_id"] != ""]
    for r in placed.itertuples(index=False):
        k, m, x, b = r.core_id, r.member_id, int(r.teachers_exchanged), int(r.backbone_sent)
        if m not in want:
            continue
        if k not in core_ok.index or not core_ok[k]:
            out.append(f"groups: {m}'s core {k} is not an open passing school of the core types and kinds")
            continue
        km = _km(scen, site, m, k) / 1000.0 * detour
        if km > cfg["max_km"] + 1e-6 or abs(km - float(r.distance_km)) > 1e-3:
            out.append(f"groups: {m} to {k} reported {r.distance_km} km, recomputed {km:.4f} (limit {cfg['max_km']})")
        if not _fits(on.at[m, "type_after"], on.at[k, "type_after"]):
            out.append(f"groups: {k} ({on.at[k, 'type_after']}) does not teach {m}'s levels")
        least = math.ceil(cfg["rotation_share"] * eligible[m] - EPS)
        if not least <= x <= eligible[m] or b < math.ceil(2 * cfg["backbone_share"] * x - EPS):
            out.append(f"rotation: {m} exchanges {x} (backbone {b}); rule {least}..{eligible[m]}, backbone >= 20 %")
        n, t, bb = load.get(k, [0, 0, 0])
        load[k] = [n + 1, t + x, bb + b]
    room = {}
    for k in core_ok.index[core_ok.to_numpy()]:
        n, t, b = load.get(k, [0, 0, 0])
        if n > cfg["max_members"] or t > eligible[k] + TOL or b > backbone[k] + TOL:
            out.append(
                f"groups: core {k} takes {n} members, sends {t} teachers ({b} backbone); "
                f"has {eligible[k]} ({backbone[k]})"
            )
        room[k] = (cfg["max_members"] - n, eligible[k] - t, backbone[k] - b)
    for m in g.loc[g["core_id"] == "", "member_id"]:
        least = math.ceil(cfg["rotation_share"] * eligible[m] - EPS)
        for k, (n, t, b) in room.items():
            near = _km(scen, site, m, k) / 1000.0 * detour <= cfg["max_km"] + 1e-9
            fits = _fits(on.at[m, "type_after"], on.at[k, "type_after"])
            if fits and near and n >= 1 and t >= least and b >= math.ceil(2 * cfg["backbone_share"] * least - EPS):
                out.append(f"groups: {m} is alone but core {k} within reach has room for it")
                break
    county = _resources(sites, schools[schools["type_after"] != "closed"]).fillna(0.0)
    need = math.ceil(cfg["rotation_share"] * np.floor(cfg["eligible_share"] * county["teachers"] + EPS).sum() - EPS)
    moved = int(placed["teachers_exchanged"].sum())
    if 2 * moved < need:
        for r in placed.itertuples(index=False):
            x, b = int(r.teachers_exchanged), int(r.backbone_sent)
            _, t, bb = room.get(r.core_id, (0, 0, 0))
            more_bb = math.ceil(2 * cfg["backbone_share"] * (x + 1) - EPS) - b
            if x < eligible.get(r.member_id, 0) and t >= 1 and bb >= more_bb:
                what = f"{r.core_id} and {r.member_id} could exchange more"
                out.append(f"rotation: {2 * moved} of {need} teachers rotate, but {what}")
                break
    said = summary.get("groups") or {}
    if said.get("members") != len(placed) or said.get("teachers_exchanged_per_year") != moved:
        got = (said.get("members"), said.get("teachers_exchanged_per_year"))
        out.append(f"summary: groups (members, exchanged) {got} != groups.csv {(len(placed), moved)}")
    if said.get("rotating_needed_per_year") != need:
        out.append(f"summary: rotation need {said.get('rotating_needed_per_year')} != recomputed {need}")
