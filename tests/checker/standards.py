"""The seven indicators, the teacher and equipment pools, the staff quota and every planned
standard with its shortfalls."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tests.checker.common import (
    BANDS,
    COST_TOL,
    GAP_TOL,
    INDICATORS,
    LEVELS,
    MOVABLE,
    PER_100,
    PLANNED,
    RESOURCE,
    STOCK,
    TEACHERS,
    WHOLE,
    _col,
    _planned,
)

# --- resources and the seven indicators ------------------------------------------------------------------------------


def _standards(scen: dict) -> dict[str, dict[str, float]]:
    """indicator -> level -> standard (per 100 pupils or per pupil)."""
    ind, st = scen["indicators"], scen["standards"]
    return {
        "qualified": ind["qualified_teachers_per_100"],
        "backbone": ind["backbone_teachers_per_100"],
        "pe_art": ind["pe_art_teachers_per_100"],
        "teaching_area": st["teaching_area_m2_per_pupil"],
        "sports_area": st["sports_area_m2_per_pupil"],
        "equipment": ind["equipment_yuan_per_pupil"],
        "multimedia": ind["multimedia_rooms_per_100"],
    }


def _per_pupil(k: str, value: float) -> float:
    return value / 100.0 if k in PER_100 else value


def _resources(sites: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Each resource after the plan, per row of schools.csv (index school_id):
    the input's stock (zero at a candidate site, NaN where the layer lacks the
    column) + moved in - moved out + hired, trained, bought and added."""
    site = sites.drop_duplicates("id").set_index("id").reindex(schools["school_id"].to_numpy())
    new = (site["kind"] == "candidate").to_numpy()
    res = pd.DataFrame({c: np.where(new, 0.0, site[c].to_numpy(float)) for c in STOCK}, index=site.index)
    for c in MOVABLE:
        res[c] += _col(schools, f"moved_in_{c}") - _col(schools, f"moved_out_{c}")
    q, pe = _col(schools, "hired_qualified"), _col(schools, "hired_pe_art")
    res["teachers"] += q + pe  # a qualified hire is a teacher and a qualified one; a PE/art hire, PE/art only
    res["teachers_qualified"] += q
    res["teachers_pe_art"] += pe
    res["teachers_backbone"] += _col(schools, "trained_backbone")
    res["equipment_value_yuan"] += _col(schools, "equipment_bought_yuan")
    for c in ("multimedia_rooms", "music_rooms", "art_rooms"):
        res[c] += _col(schools, f"{c}_added")
    for c in ("teaching", "sports"):
        res[f"{c}_area_m2"] += _col(schools, f"{c}_area_added_m2")
    return res


def _pupils(schools: pd.DataFrame) -> pd.DataFrame:
    """Pupils by level per school (index school_id), zero at closed schools."""
    open_ = (schools["type_after"] != "closed").to_numpy()
    return pd.DataFrame(
        {
            "primary": (_col(schools, "pupils_g1_3") + _col(schools, "pupils_g4_6")) * open_,
            "junior": _col(schools, "pupils_g7_9") * open_,
        },
        index=schools["school_id"].to_numpy(),
    )


def _required(scen: dict, k: str, pupils: pd.DataFrame, split: str) -> pd.Series:
    """What indicator ``k``'s standard requires of each school as a whole:
    under the ``standard`` split the sum over levels; under ``pupils`` the
    strictest standard of the levels taught, for all pupils."""
    std = _standards(scen)[k]
    if split == "pupils":
        strict = pd.concat([(pupils[lv] > 0) * _per_pupil(k, std[lv]) for lv in LEVELS], axis=1).max(axis=1)
        return strict * pupils.sum(axis=1)
    return sum(_per_pupil(k, std[lv]) * pupils[lv] for lv in LEVELS)


def _level_values(scen: dict, res: pd.DataFrame, pupils: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per level: one row per school teaching it (pupils > 0), each
    indicator's value for that level. A nine-year school's resources are
    shared by pupils (``pupils`` split) or by what each level's standard asks."""
    std, split = _standards(scen), scen["indicators"].get("nine_year_split", "pupils")
    total = pupils.sum(axis=1)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for lv in LEVELS:
            on = (pupils[lv] > 0).to_numpy()
            n = pupils[lv].to_numpy(float)[on]
            t = pd.DataFrame({"pupils": n}, index=pupils.index[on])
            for k in INDICATORS:
                r = res[RESOURCE[k]].to_numpy(float)[on]
                if split == "pupils":
                    share = n / total.to_numpy(float)[on]
                else:
                    need = {x: _per_pupil(k, std[k][x]) * pupils[x].to_numpy(float)[on] for x in LEVELS}
                    share = need[lv] / (need["primary"] + need["junior"])
                t[k] = r * share / n * (100.0 if k in PER_100 else 1.0)
            out[lv] = t
    return out


def _weighted(x: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Pupil-weighted mean and CV: mean = sum(x n) / N, CV = sqrt(sum n (x - mean)² / N) / mean."""
    ok = ~np.isnan(x) & (n > 0)
    x, n = x[ok], n[ok]
    if n.sum() <= 0:
        return math.nan, math.nan
    mean = float((x * n).sum() / n.sum())
    sd = math.sqrt(float((n * (x - mean) ** 2).sum() / n.sum()))
    return mean, (sd / mean if mean > 0 else math.nan)


def _close(reported, mine: float, tol: float = 1e-3) -> bool:
    """A reported figure (None for NaN, rounded to 4 decimals) against ours."""
    if reported is None or (isinstance(reported, float) and math.isnan(reported)):
        return mine is None or math.isnan(mine)
    return mine is not None and not math.isnan(mine) and abs(float(reported) - mine) <= tol + 1e-6 * abs(mine)


def _check_county(scen, block: dict, levels: dict[str, pd.DataFrame], where: str, out) -> None:
    std = _standards(scen)
    for lv in LEVELS:
        t = levels[lv]
        for k in INDICATORS:
            rep = block.get(lv, {}).get(k)
            if rep is None:
                out.append(f"indicators{where}: {lv} {k} missing from summary.json")
                continue
            x = t[k].to_numpy(float)
            mean, cv = _weighted(x, t["pupils"].to_numpy(float))
            if not _close(rep.get("county_value"), mean):
                out.append(f"indicators{where}: {lv} {k} county value {rep.get('county_value')} != recomputed {mean}")
            if not _close(rep.get("cv"), cv):
                out.append(f"indicators{where}: {lv} {k} CV {rep.get('cv')} != recomputed {cv}")
            with np.errstate(divide="ignore", invalid="ignore"):
                reaching = int((x / std[k][lv] >= 1 - 1e-6).sum())
            if rep.get("schools") != len(t) or rep.get("schools_reaching") != reaching:
                out.append(
                    f"indicators{where}: {lv} {k} {rep.get('schools_reaching')} of {rep.get('schools')} schools "
                    f"reaching, recomputed {reaching} of {len(t)}"
                )


def _check_indicators(scen, sites, schools, summary, res, out):
    """Each school's reported resources and indicator values, and the
    county's pupil-weighted values and CVs (after the plan and before it)."""
    pupils = _pupils(schools)
    total = pupils.sum(axis=1)
    open_ = (schools["type_after"] != "closed").to_numpy()
    classes = _col(schools, "classes_primary") + _col(schools, "classes_junior")
    ind = scen["indicators"]
    mine = {
        "teachers_after": res["teachers"],
        "music_rooms_after": res["music_rooms"],
        "art_rooms_after": res["art_rooms"],
        "teachers_required": pd.Series(
            np.where(
                open_,
                pupils["primary"] / ind["pupils_per_teacher"]["primary"]
                + pupils["junior"] / ind["pupils_per_teacher"]["junior"],
                np.nan,
            ),
            index=res.index,
        ),
        "rooms_needed": pd.Series(
            np.where(open_, np.ceil(classes / ind["classes_per_room"] - 1e-9), np.nan), res.index
        ),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in INDICATORS:
            mine[f"{k}_value"] = res[RESOURCE[k]] / total.where(total > 0) * (100.0 if k in PER_100 else 1.0)
    for col, v in mine.items():
        if col not in schools.columns:
            out.append(f"schools.csv: column {col} missing")
            continue
        for sid, m, rep in zip(schools["school_id"], v.to_numpy(float), schools[col].to_numpy(float)):
            if not _close(None if np.isnan(rep) else rep, m):
                out.append(f"indicator: {sid} {col} reported {rep} != recomputed {m}")
    block = summary.get("indicators")
    if block is None:
        out.append("summary: no indicators block")
        return
    _check_county(scen, block, _level_values(scen, res, pupils), "", out)
    existing = sites[sites["kind"] == "school"].drop_duplicates("id")
    before = pd.DataFrame(
        {"school_id": existing["id"].to_numpy(), "type_after": existing["type_before"].to_numpy()}
        | {f"pupils_{b}": existing[f"pupils_{b}"].to_numpy(float) for b in BANDS}
    )
    res_before = existing.set_index("id")[list(STOCK)].astype(float)
    before_block = {lv: {k: v.get("before", {}) for k, v in block.get(lv, {}).items()} for lv in LEVELS}
    _check_county(scen, before_block, _level_values(scen, res_before, _pupils(before)), " before", out)
    staffing = block.get("staffing", {})
    t_open = float(np.nansum(res["teachers"].to_numpy(float)[open_]))
    req = float(np.nansum(mine["teachers_required"].to_numpy(float)))
    if not (_close(staffing.get("teachers"), t_open, 0.01) and _close(staffing.get("required"), req, 0.01)):
        out.append(f"indicators: staffing {staffing} != recomputed teachers {t_open:.2f}, required {req:.2f}")


# --- pools, closures and the staff quota -----------------------------------------------------------------------------


def _check_pools(scen, sites, schools, out):
    """Teachers and equipment: what moves out is placed (planned runs), or
    follows the pupils to the school a closed one merged into (unplanned)."""
    site = sites.drop_duplicates("id").set_index("id").reindex(schools["school_id"].to_numpy())
    existing = (site["kind"] == "school").to_numpy()
    closed = (schools["type_after"] == "closed").to_numpy()
    ids = schools["school_id"].to_numpy()
    stock = {c: np.where(existing, np.nan_to_num(site[c].to_numpy(float)), 0.0) for c in MOVABLE}
    moved_in = {c: _col(schools, f"moved_in_{c}") for c in MOVABLE}
    moved_out = {c: _col(schools, f"moved_out_{c}") for c in MOVABLE}
    tol = {c: (0.02 if c == "equipment_value_yuan" else 1e-6) for c in MOVABLE}
    if not _planned(scen):
        for name in (
            "hired_qualified",
            "hired_pe_art",
            "trained_backbone",
            "equipment_bought_yuan",
            "multimedia_rooms_added",
            "music_rooms_added",
            "art_rooms_added",
        ):
            for sid in ids[np.abs(_col(schools, name)) > 1e-6]:
                out.append(f"investments: {sid} has {name} but investments are not planned")
        into = schools["merged_into"].fillna("").to_numpy()
        for c in MOVABLE:
            want_out = np.where(closed, stock[c], 0.0)
            for i in np.flatnonzero(np.abs(moved_out[c] - want_out) > tol[c]):
                out.append(f"closure: {ids[i]} moves out {moved_out[c][i]} {c}, expected {want_out[i]}")
            follow = pd.Series(moved_out[c][closed & (into != "")]).groupby(into[closed & (into != "")]).sum()
            want_in = follow.reindex(ids).fillna(0.0).to_numpy()
            for i in np.flatnonzero(np.abs(moved_in[c] - want_in) > tol[c]):
                out.append(
                    f"pool: {ids[i]} moves in {moved_in[c][i]} {c}; the schools merged into it release {want_in[i]}"
                )
        return
    for c in TEACHERS:
        if abs(moved_in[c].sum() - moved_out[c].sum()) > 1e-6:
            out.append(f"pool {c}: {moved_in[c].sum():g} moved in != {moved_out[c].sum():g} moved out")
    eq = "equipment_value_yuan"
    if moved_in[eq].sum() > moved_out[eq].sum() + 1.0:
        out.append(f"pool equipment: {moved_in[eq].sum():.2f} yuan moved in > {moved_out[eq].sum():.2f} moved out")
    for i in np.flatnonzero(~closed & (moved_out[eq] > tol[eq])):
        out.append(f"pool equipment: open school {ids[i]} moves out {moved_out[eq][i]} yuan of equipment")
    for c in MOVABLE:
        for i in np.flatnonzero(moved_out[c] > stock[c] + tol[c]):
            out.append(f"pool {c}: {ids[i]} moves out {moved_out[c][i]:g} but has {stock[c][i]:g}")
        for i in np.flatnonzero(closed & (np.abs(moved_out[c] - stock[c]) > tol[c])):
            out.append(f"closure: closed school {ids[i]} keeps {c} (moves out {moved_out[c][i]:g} of {stock[c][i]:g})")
        for i in np.flatnonzero(closed & (moved_in[c] > tol[c])):
            out.append(f"closure: {moved_in[c][i]:g} {c} moved into closed school {ids[i]}")
        if c != "teachers" and c in TEACHERS:
            for d, moved in (("in", moved_in), ("out", moved_out)):
                for i in np.flatnonzero(moved[c] > moved["teachers"] + 1e-6):
                    out.append(
                        f"pool {c}: {ids[i]} moves {d} {moved[c][i]:g} {c} but {moved['teachers'][i]:g} teachers"
                    )
    hires = _col(schools, "hired_qualified") + _col(schools, "hired_pe_art")
    for i in np.flatnonzero(closed & (hires > 1e-6)):
        out.append(f"closure: {hires[i]:g} teachers hired at closed school {ids[i]}")


def _check_staff_quota(scen, sites, schools, res, out):
    """Hires within ``max_hires``; the county's teachers after the plan within ``staff_total``."""
    if not _planned(scen):
        return
    ind = scen["indicators"]
    hires = float((_col(schools, "hired_qualified") + _col(schools, "hired_pe_art")).sum())
    if ind.get("max_hires") is not None and hires > ind["max_hires"] + 1e-6:
        out.append(f"max_hires: {hires:g} teachers hired > {ind['max_hires']}")
    if ind.get("staff_total") is not None:
        teachers = float(np.nansum(res["teachers"].to_numpy(float)))
        listed = sites["id"].isin(schools["school_id"])
        teachers += float(np.nansum(sites.loc[~listed & (sites["kind"] == "school"), "teachers"].to_numpy(float)))
        if teachers > ind["staff_total"] + 1e-6:
            out.append(f"staff_total: {teachers:g} teachers in the county after the plan > {ind['staff_total']}")


# --- standards and shortfalls ----------------------------------------------------------------------------------------


def _unit_cost(scen: dict) -> dict[str, float]:
    """10k yuan per teacher, m², yuan or room of each standard."""
    c, ic = scen["costs"], scen["indicators"]["costs"]
    return {
        "qualified": ic["hire_10k_yuan"]["qualified"],
        "backbone": ic["backbone_training_10k_yuan"],
        "pe_art": ic["hire_10k_yuan"]["pe_art"],
        "teaching_area": c["teaching_yuan_per_m2"] / 1e4,
        "sports_area": c["sports_yuan_per_m2"] / 1e4,
        "equipment": 1e-4,
        "multimedia": ic["multimedia_room_10k_yuan"],
        "staff": ic["hire_10k_yuan"]["qualified"],
        "music_rooms": ic["music_room_10k_yuan"],
        "art_rooms": ic["art_room_10k_yuan"],
    }


def _describe(k: str, have: float, need: float) -> str:
    unit = {"teaching_area": " m²", "sports_area": " m²", "equipment": " yuan"}.get(k, "")
    return f"has {have:.1f}{unit} < standard {need:.1f}{unit}"


def _check_standards(scen, schools, summary, res, out):
    """Every planned standard at every open school with pupils: the floor
    areas, the five planned indicators, the staffing norm, music and art rooms.
    A gap is a violation unless shortfalls are allowed and summary.json lists
    it at the cost to close it (whole teachers and rooms rounded up, at the
    unit cost). Every gap listed, planned or not, must cost what it costs."""
    st, ind = scen["standards"], scen["indicators"]
    planned = _planned(scen)
    soft = planned and ind.get("allow_shortfalls", True)
    split = ind.get("nine_year_split", "pupils")
    pupils = _pupils(schools)
    total = pupils.sum(axis=1)
    on = pd.Series((schools["type_after"] != "closed").to_numpy() & (total > 0).to_numpy(), index=res.index)
    classes = pd.Series(_col(schools, "classes_primary") + _col(schools, "classes_junior"), index=res.index)
    need = {k: _required(scen, k, pupils, split) for k in INDICATORS}
    need["staff"] = sum(pupils[lv] / ind["pupils_per_teacher"][lv] for lv in LEVELS)
    need["music_rooms"] = need["art_rooms"] = np.ceil(classes / ind["classes_per_room"] - 1e-9)
    rule_need = dict(need)
    if not planned:  # the floor-area rows alone: each level's standard for its pupils
        for k in ("teaching_area", "sports_area"):
            rule_need[k] = _required(scen, k, pupils, "standard")
    rooms_planned = any(v is not None for v in scen["caps"]["class_size"].values())
    enforced = {
        "teaching_area": st.get("enabled", True),
        "sports_area": st.get("enabled", True),
        **dict.fromkeys((*PLANNED, "staff"), planned),
        "music_rooms": planned and rooms_planned,
        "art_rooms": planned and rooms_planned,
    }
    items = summary.get("shortfalls", {}).get("items", [])
    reported = {(str(r["school_id"]), r["indicator"]): r for r in items}
    unit = _unit_cost(scen)
    mine_total = 0.0
    seen = set()
    for k in RESOURCE:
        have = res[RESOURCE[k]]
        for sid in res.index[on.to_numpy()]:
            h = float(have[sid])
            if math.isnan(h):
                continue  # unknown resource: no rule, no shortfall
            tol = GAP_TOL.get(k, 1e-6)
            rule_gap = float(rule_need[k][sid]) - h
            if enforced[k] and not soft and rule_gap > tol:
                out.append(f"{k}: {sid} {_describe(k, h, float(rule_need[k][sid]))}")
            gap = float(need[k][sid]) - h
            units = (math.ceil(gap - 1e-6) if k in WHOLE else gap) if gap > 1e-6 else 0.0
            cost = units * unit[k]
            mine_total += cost
            rep = reported.get((sid, k))
            if rep is not None:
                seen.add((sid, k))
                if abs(float(rep["cost_to_close_10k_yuan"]) - cost) > COST_TOL + 1e-6 * cost:
                    out.append(
                        f"shortfall cost: {sid} {k} reported {rep['cost_to_close_10k_yuan']} (10k yuan) for a gap "
                        f"of {rep.get('gap')}, recomputed {cost:.4f} for {units:g}"
                    )
            elif gap > tol:
                out.append(f"shortfall not reported: {sid} {k} {_describe(k, h, float(need[k][sid]))}")
    for key in set(reported) - seen:
        out.append(f"shortfall cost: {key[0]} {key[1]} is listed but no open school with pupils falls short there")
    block = summary.get("shortfalls", {})
    if block and block.get("count") != len(items):
        out.append(f"summary: shortfalls count {block.get('count')} != {len(items)} items listed")
    if block and abs(float(block.get("cost_to_close_10k_yuan", 0.0)) - mine_total) > COST_TOL * (1 + len(items)):
        out.append(
            f"summary: shortfalls cost to close {block.get('cost_to_close_10k_yuan')} (10k yuan) != "
            f"recomputed {mine_total:.4f}"
        )


def _check_operating(scen, schools, summary, out):
    """Running costs a year per school (funds with the small-school floor, salaries by the norm, boarding)
    and their sums, against schools.csv and summary.json."""
    op = scen.get("operating")
    if not op:
        if "running_10k_yuan_per_year" in schools.columns or summary.get("operating"):
            out.append("operating: running costs reported for a scenario without operating")
        return
    rate, norm = op["funds_yuan_per_pupil"], scen["indicators"]["pupils_per_teacher"]
    sums = {"funds": 0.0, "salaries": 0.0, "boarding": 0.0}
    for r in schools.itertuples(index=False):
        if r.type_after == "closed":
            mine = 0.0
        else:
            primary, junior = r.pupils_g1_3 + r.pupils_g4_6, r.pupils_g7_9
            small = max(0.0, op["min_funded_pupils"] - primary - junior) if r.type_after in op["floored_types"] else 0.0
            funds = (primary * rate["primary"] + junior * rate["junior"] + small * rate["primary"]) / 1e4
            teachers = math.ceil(primary / norm["primary"] - 1e-9) + math.ceil(junior / norm["junior"] - 1e-9)
            salaries = teachers * op["salary_10k_yuan_per_teacher"]
            boarding = r.boarders * op["boarding_yuan_per_boarder"] / 1e4
            mine = funds + salaries + boarding
            for k, v in (("funds", funds), ("salaries", salaries), ("boarding", boarding)):
                sums[k] += v
        if abs(r.running_10k_yuan_per_year - mine) > 1e-3 + 1e-6 * mine:
            out.append(
                f"schools.csv: {r.school_id} runs at {r.running_10k_yuan_per_year} a year, recomputed {mine:.4f}"
            )
    said = summary["operating"]["per_year_10k_yuan"]
    for k, v in sums.items():
        if abs(said[k] - v) > 0.01 + 1e-6 * v:
            out.append(f"summary: running {k} {said[k]} a year != recomputed {v:.4f}")
