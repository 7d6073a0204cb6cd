"""The checker's own projection: the pupils a projected run must plan for,
re-derived year by year from the villages' base-year grades (or bands) and
the births file, with plain dictionaries (no planner code)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio

from tests.checker.common import BANDS, _base, _ids
from tests.checker.workbook import read_sheet

GRADES = [f"g{i}" for i in range(1, 10)]
KIND = {"城区": "town", "县城": "town", "集镇": "seat", "镇区": "seat", "农村": "village", "村": "village"}


def _births(manifest: dict) -> dict[tuple[str, int], float]:
    scen = manifest["scenario"]
    book = scen["data"].get("xlsx")
    sheet = read_sheet(_base(manifest) / book, "births") if book and not scen["data"].get("births") else None
    ref = scen["data"].get("births") or {"path": scen["data"].get("gpkg"), "layer": "births"}
    if sheet is not None and len(sheet):
        df = sheet
    elif (path := _base(manifest) / ref["path"]).suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    else:
        df = pd.DataFrame(pyogrio.read_dataframe(path, layer=ref.get("layer") or "births", read_geometry=False))
    return {(v, int(float(y))): float(b) for v, y, b in zip(_ids(df["village_id"]), df["year"], df["births"])}


def _base_grades(villages: pd.DataFrame, sites: pd.DataFrame) -> dict[str, list[float]]:
    if "pupils_g1" in villages.columns:
        return {v: [float(r[f"pupils_{g}"]) for g in GRADES] for v, r in villages.iterrows()}
    share = [1 / 3] * 9
    enrol = [f"enrol_{g}" for g in GRADES]
    if all(c in sites.columns for c in enrol):
        n = [pd.to_numeric(sites[c], errors="coerce").fillna(0).sum() for c in enrol]
        band = [sum(n[3 * (i // 3) : 3 * (i // 3) + 3]) for i in range(9)]
        if all(b > 0 for b in band):
            share = [n[i] / band[i] for i in range(9)]
    return {v: [float(r[f"pupils_{BANDS[i // 3]}"]) * share[i] for i in range(9)] for v, r in villages.iterrows()}


def _spread(amount: list[float], to: list[str], now: dict[str, list[float]], into: dict[str, list[float]]) -> None:
    for gi in range(9):
        total = sum(now[w][gi] for w in to)
        for w in to:
            into[w][gi] += amount[gi] * (now[w][gi] / total if total > 0 else 1 / len(to))


def _step(pupils, year, p, births, kind, township, last_birth_year):
    rate = {g: p.get("progression", {}).get(g, 1.0) for g in GRADES}
    born = year - p.get("entry_age", 6)
    growth = p.get("births_growth_after_last", 1.0) ** max(0, born - last_birth_year)
    new = {}
    for v, old in pupils.items():
        m = p.get("migration_by_township", {}).get(township[v], p.get("migration_per_year", {}).get(kind[v], 0.0))
        b = births.get((v, min(born, last_birth_year)), 0.0) * growth
        row = [b * p.get("entry_rate", 1.0)] + [old[i - 1] * rate[GRADES[i]] for i in range(1, 9)]
        new[v] = [x * (1 + m) for x in row]
    u, to_town = p.get("urbanisation_per_year", 0.0), p.get("urbanisation_to_town", 0.5)
    if not u:
        return new
    town = [v for v in new if kind[v] == "town"]
    after = {v: list(r) for v, r in new.items()}
    town_total = [0.0] * 9
    for t in sorted({township[v] for v in new if kind[v] == "village"}):
        rural = [v for v in new if kind[v] == "village" and township[v] == t]
        seats = [v for v in new if kind[v] == "seat" and township[v] == t]
        if not seats and not town:
            continue
        leaving = [sum(new[v][gi] * u for v in rural) for gi in range(9)]
        for v in rural:
            after[v] = [x * (1 - u) for x in new[v]]
        share = (to_town if town else 0.0) if seats else 1.0
        if seats:
            _spread([x * (1 - share) for x in leaving], seats, new, after)
        town_total = [a + x * share for a, x in zip(town_total, leaving)]
    if town:
        _spread(town_total, town, new, after)
    return after


def projected_villages(
    manifest: dict, villages: pd.DataFrame, sites: pd.DataFrame, year: int | None = None
) -> pd.DataFrame:
    """``villages`` with the band pupils of ``year`` (default the target year),
    as the run must plan them (rounded once per village and band); unchanged
    without a projection."""
    year = year or manifest["scenario"]["target_year"]
    return projected_span(manifest, villages, sites, [year, year])


def projected_span(manifest: dict, villages: pd.DataFrame, sites: pd.DataFrame, years: list | None) -> pd.DataFrame:
    """``villages`` with each village's most pupils by band over ``years``
    ([first, last], each year rounded once per village and band; the target
    year when None), projected once up to the last; unchanged without a projection."""
    scen = manifest["scenario"]
    p = scen.get("projection")
    if not p:
        return villages
    first, final = years or [scen["target_year"], scen["target_year"]]
    v = villages.drop_duplicates("village_id").set_index("village_id")
    kinds = v["kind"] if "kind" in v.columns else pd.Series("village", v.index)
    kind = {i: KIND.get(str(k).strip(), str(k).strip()) for i, k in kinds.items()}
    township = v["township"].fillna("").astype(str).to_dict()
    births = _births(manifest)
    last = max(y for _, y in births)
    pupils = _base_grades(v, sites)
    most: dict[str, list[float]] = {}
    for t in range(p["base_year"], final + 1):
        if t > p["base_year"]:
            pupils = _step(pupils, t, p, births, kind, township, last)
        if t >= first:
            for i, r in pupils.items():
                bands = [float(round(sum(r[3 * bi : 3 * bi + 3]))) for bi in range(len(BANDS))]
                most[i] = [max(x, y) for x, y in zip(most.get(i, bands), bands)]
    out = villages.copy()
    for bi, b in enumerate(BANDS):
        out[f"pupils_{b}"] = [most[i][bi] for i in out["village_id"]]
    return out


def check_projection_files(folder: Path, villages: pd.DataFrame, years: list, out: list[str]) -> None:
    """The run's projection/pupils_by_village.csv holds the planned pupils: those
    of the planned year, or their most by village and band over [first, last]."""
    path = Path(folder) / "projection" / "pupils_by_village.csv"
    if not path.is_file():
        return
    table = pd.read_csv(path, dtype={"village_id": str})
    span = table[table["year"].between(years[0], years[1])].copy()
    for b in BANDS:
        span[f"pupils_{b}"] = span[f"pupils_{b}"].round()
    planned = span.groupby("village_id")[[f"pupils_{b}" for b in BANDS]].max()
    v = villages.drop_duplicates("village_id").set_index("village_id")
    for b in BANDS:
        diff = (planned[f"pupils_{b}"].reindex(v.index) - v[f"pupils_{b}"]).abs()
        if (diff > 1).any():
            where = list(diff.index[diff > 1])[:3]
            out.append(f"projection: pupils_by_village.csv {b} of {years[0]}-{years[1]} differs at {where}")
