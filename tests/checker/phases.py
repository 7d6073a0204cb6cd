"""A phased run, phase by phase, from phases.csv and phase_assignments.csv:
each phase is checked as a plan of its own (pupils of its year, caps, trips,
areas added so far), and the phases against each other (irreversible
changes, each phase's budget, the end state)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.checker.common import BANDS, LEVEL, TOL
from tests.checker.layout import _check_assignments, _check_distances, _check_schools, budget_covers
from tests.checker.projection import projected_span

KINDS = ("teaching", "living", "sports")
BUILDING = ("teaching", "living", "sports", "new_build", "upgrade", "land")


def _upgrade(before: str, after: str) -> bool:
    return (
        after != before
        and after in ("primary", "junior", "nine_year")
        and not (before == "nine_year" and after == "junior")
    )


def _planned_years(figures: dict) -> list | None:
    """The years a phase's pupils come from: [first, last] (one year: first == last)."""
    if figures.get("plan_years"):
        return list(figures["plan_years"])
    year = figures.get("plan_year")
    return [year, year] if year is not None else None


def _spent(scen: dict, site: pd.DataFrame, rows: pd.DataFrame, changed: dict[str, str]) -> dict[str, float]:
    """A phase's building costs: its area additions, and the sites that change type in it."""
    c = scen["costs"]
    out = {k: float((rows[f"{k}_area_added_m2"] * c[f"{k}_yuan_per_m2"] / 1e4).sum()) for k in KINDS}
    out |= {"new_build": 0.0, "land": 0.0, "upgrade": 0.0}
    for s, t in changed.items():
        if site.at[s, "kind"] == "candidate" and t != "closed":
            out["new_build"] += float(c["new_build_10k_yuan"][t])
            out["land"] += float(site.at[s, "land_cost_10k_yuan"])
        elif site.at[s, "kind"] == "school" and _upgrade(site.at[s, "type_before"], t):
            out["upgrade"] += float(c["upgrade_10k_yuan"])
    return out


def _areas(scen: dict, site: pd.DataFrame, sch: pd.DataFrame, name: str, out: list[str]) -> None:
    """Teaching and sports area per pupil, with what was added so far (a gap only as reported)."""
    st = scen["standards"]
    if not st.get("enabled", True):
        return
    for r in sch.itertuples():
        if r.type_after == "closed":
            continue
        for k in ("teaching", "sports"):
            per = st[f"{k}_area_m2_per_pupil"]
            need = sum(per[LEVEL[b]] * getattr(r, f"pupils_{b}") for b in BANDS)
            have = site.at[r.school_id, f"{k}_area_m2"] + getattr(r, f"{k}_area_added_m2")
            short = getattr(r, f"short_{k}_area_m2")
            if have + short + 0.05 < need:
                out.append(f"phase {name}: {k}_area at {r.school_id} {have:.1f} + gap {short:.1f} < {need:.1f} m²")


def _paths(site: pd.DataFrame, table: pd.DataFrame, names: list[str], end: pd.Series, out: list[str]) -> dict:
    """Each site's type per phase; a change happens once and never back. Returns phase -> {site: new type}."""
    changes: dict[str, dict[str, str]] = {n: {} for n in names}
    types = table.pivot(index="school_id", columns="phase", values="type")
    for s in site.index:
        before = site.at[s, "type_before"]
        path = [types.at[s, n] if s in types.index and pd.notna(types.at[s, n]) else "closed" for n in names]
        now = before if before != "none" else "closed"
        for n, t in zip(names, path):
            if t != now:
                if now != (before if before != "none" else "closed"):
                    out.append(f"phases: {s} changes again in {n} ({now} -> {t}); a change happens once")
                changes[n][s] = t
                now = t
        want = end.get(s, "closed")
        if path[-1] != want:
            out.append(f"phases: {s} is {path[-1]} in the last phase but schools.csv says {want}")
    return changes


def check_phases(
    folder: Path, manifest: dict, summary: dict, villages: pd.DataFrame, sites: pd.DataFrame, schools, out
) -> None:
    """Every phase's rules (see the module docstring)."""
    scen = manifest["scenario"]
    table = pd.read_csv(Path(folder) / "phases.csv", dtype={"school_id": str, "phase": str})
    assign = pd.read_csv(Path(folder) / "phase_assignments.csv", dtype={"village_id": str, "school_id": str})
    assign["boards"] = assign["boards"].astype(str).str.lower() == "true"
    site = sites.set_index("id")
    names = [p["name"] for p in scen["phases"]]
    end = schools.set_index("school_id")["type_after"]
    changes = _paths(site, table, names, end, out)
    figures = {f["name"]: f for f in summary["phases"]}
    added = pd.DataFrame(0.0, index=site.index, columns=list(KINDS))
    for p in scen["phases"]:
        name, rows = p["name"], table[table["phase"] == p["name"]]
        for k in KINDS:
            added[k] = added[k].add(rows.set_index("school_id")[f"{k}_area_added_m2"], fill_value=0.0)
        sch = rows.rename(columns={"type": "type_after"}).copy()
        for k in KINDS:
            sch[f"{k}_area_added_m2"] = sch["school_id"].map(added[k]).to_numpy()
        a = assign[assign["phase"] == name]
        v = projected_span(manifest, villages, sites, _planned_years(figures[name]))
        sub: list[str] = []
        _check_assignments(scen, v, sch, a, sub)
        _check_distances(manifest, scen, v, sites, a, sub)
        _check_schools(scen, sites, sch, a, sub)
        out += [f"phase {name}: {m}" for m in sub]
        _areas(scen, site, sch, name, out)
        spent = _spent(scen, site, rows, changes[name])
        for k, value in spent.items():
            if abs(value - figures[name]["cost_10k_yuan"].get(k, 0.0)) > 0.01:
                out.append(
                    f"phase {name}: {k} costs {value:.2f} but summary.json says {figures[name]['cost_10k_yuan'][k]}"
                )
        others = sum(
            v
            for k, v in figures[name]["cost_10k_yuan"].items()
            if k not in (*BUILDING, "total") and budget_covers(scen, k)
        )
        budgeted = sum(v for k, v in spent.items() if budget_covers(scen, k)) + others
        if p.get("budget_10k_yuan") is not None and budgeted > p["budget_10k_yuan"] * (1 + 1e-6) + 0.01:
            out.append(f"phase {name}: spends {budgeted:.2f} > its budget {p['budget_10k_yuan']} (10k yuan)")
    s = schools.set_index("school_id")
    for k in KINDS:
        diff = (s[f"{k}_area_added_m2"] - added[k].reindex(s.index).fillna(0.0)).abs()
        for sid in diff[diff > 0.05 + TOL].index:
            out.append(f"phases: {sid} {k} area added {s.at[sid, f'{k}_area_added_m2']} != the phases' sum")
