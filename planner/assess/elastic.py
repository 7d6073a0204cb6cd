"""The elastic model of a scenario with no plan, and what its answer says.

Every target, budget, cap, standard and distance limit of the chosen groups
may be broken, at a penalty per unit broken, and the solver minimises the
total penalty. What it had to break, and by how much, is the diagnosis: the
targets, townships, bands and schools involved, with the limit and the amount
needed.

Relaxed, by group (rows of :mod:`planner.model`):

- ``targets``: ``target_count`` / ``target_min`` / ``target_max``;
- ``budget``: ``budget_total`` and ``budget_category`` (10k yuan over);
- ``caps``: ``school_cap`` and ``class_cap`` (pupils over), ``site_classes``
  (classes over ``max_classes``) and ``site_room`` (m² over the free site area);
- ``standards``: the floor-area and indicator rows (where they are hard);
- ``distance``: pairs beyond a band's limit (up to ``distance_factor`` times
  it, or the limit plus ``distance_extra_km``) may be used, at a penalty per
  pupil and per share of the limit exceeded.

Penalties (:class:`~planner.config.assess_tuning.DiagnosisTuning`) are in one unit:
breaking a limit by 1 % of itself costs about 1 (a school off a target 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from planner.config.assess_tuning import DiagnosisTuning
from planner.config.standards import unit_cost_10k_yuan
from planner.data.problem import Problem
from planner.data.travel import attach_distances, band_limit_km
from planner.domain import BANDS, TYPES
from planner.model.build import build_model
from planner.model.core import Key, Model

FAMILIES: dict[str, tuple[str, ...]] = {
    "budget": ("budget_total", "budget_category"),
    "targets": ("target_count", "target_min", "target_max"),
    "distance": (),
    "caps": ("school_cap", "class_cap", "site_classes", "site_room"),
    "zones": ("nearest_zone", "zone_share"),
    "standards": (
        "teaching_area",
        "sports_area",
        "living_area",
        "area_nine",
        "area_balance",
        "standard",
        "standard_nine",
    ),
}
"""Relaxable groups, in the order a county would reach for them, and the
model rows each relaxes (distance works on pairs). ``standards`` matters when
shortfalls are not allowed (``indicators.allow_shortfalls: false``)."""

GROUP_OF = {fam: g for g, fams in FAMILIES.items() for fam in fams}
"""Row family -> relaxable group."""


@dataclass(frozen=True)
class Slack:
    """A relaxed row: its family and key, and its slack columns (+1: may
    fall short of the lower bound; -1: may exceed the upper)."""

    family: str
    key: Key
    cols: tuple[int, ...]
    signs: tuple[float, ...]


def relaxed_problem(problem: Problem, tuning: DiagnosisTuning) -> Problem:
    """The same problem with every band's trip limit multiplied by
    ``distance_factor`` (or raised by ``distance_extra_km``, whichever is
    more; boarding allowed, so the walking limit stops binding) and pairs
    recomputed by the travel stage."""
    pol = problem.scenario.policy
    lim = {b: band_limit_km(problem, b) for b in BANDS}
    trip = {
        b: (None if math.isinf(v) else max(v * tuning.distance_factor, v + tuning.distance_extra_km))
        for b, v in lim.items()
    }
    minutes = {b: (None if v is None else v * tuning.distance_factor) for b, v in pol.max_trip_minutes.items()}
    new_pol = pol.model_copy(
        update={"max_trip_km": trip, "max_trip_minutes": minutes, "boarding_allowed": dict.fromkeys(BANDS, True)}
    )
    scen = problem.scenario.model_copy(update={"policy": new_pol})
    return attach_distances(replace(problem, scenario=scen, warnings=()))


def limit_of_pairs(problem: Problem, pairs: pd.DataFrame) -> np.ndarray:
    """Per pair, the original limit of its band; pairs beyond it are relaxations."""
    return pairs["band"].map({b: band_limit_km(problem, b) for b in BANDS}).to_numpy(float)


def row_scale(problem: Problem, family: str, key: Key, tuning: DiagnosisTuning) -> float:
    """Penalty per unit of slack on a row."""
    scen = problem.scenario
    if family.startswith("target"):
        return tuning.penalty_target
    if family == "budget_total":
        return tuning.penalty_budget_pct * 100.0 / max(scen.budget.total_10k_yuan or 0.0, 1.0)
    if family == "budget_category":
        return tuning.penalty_budget_pct * 100.0 / max(scen.budget.by_category_10k_yuan.get(key[0], 0.0), 1.0)
    if family == "school_cap":
        caps = [c for c in scen.caps.school_pupils.values() if c is not None]
        return tuning.penalty_cap_pct * 100.0 / max(max(caps, default=2000), 1)
    if family == "class_cap":
        return tuning.penalty_cap_pct * 100.0 / max(scen.caps.class_size.get(key[1]) or 45, 1)
    if family == "site_classes":
        return tuning.penalty_classes_pct * 100.0 / max(float(problem.sites.at[key[0], "max_classes"]), 1.0)
    if family == "site_room":
        return tuning.penalty_room_per_100_m2 / 100.0
    if family == "nearest_zone":
        return tuning.penalty_zone_pupils
    if family == "zone_share":
        return tuning.penalty_zone_pupils / 100.0
    per_pct = 100.0 / max(scen.budget.total_10k_yuan or 100.0, 1.0)
    return tuning.penalty_standard_pct * per_pct * unit_10k_yuan(problem, family, key)


def standard_kind(family: str, key: Key) -> str:
    """The resource a standards row is about (``teaching_area``, ``qualified``, ...)."""
    if family.endswith("_area"):
        return family
    return f"{key[1]}_area" if family.startswith("area_") else str(key[1])


def unit_10k_yuan(problem: Problem, family: str, key: Key) -> float:
    """10k yuan per unit of a standards row's slack (m², teacher, room; equipment rows are in 10k yuan)."""
    kind = standard_kind(family, key)
    if kind == "living_area":
        return problem.scenario.costs.living_yuan_per_m2 / 1e4
    return 1.0 if kind == "equipment" else unit_cost_10k_yuan(problem.scenario).get(kind, 1.0)


def elastic_model(
    problem: Problem, relax: frozenset[str], tuning: DiagnosisTuning, relaxed: Problem | None = None
) -> tuple[Model, dict[str, Slack]]:
    """The model with slack on the rows of the ``relax`` groups and the
    penalty as its objective; and the slacks by row name."""
    use = replace(problem, pairs=relaxed.pairs) if relaxed is not None and "distance" in relax else problem
    m = build_model(use)
    fams = {f for g in relax for f in FAMILIES[g]}
    form = m.form
    picked = sorted(((i, fam, key) for (fam, key), i in m.rows.items() if fam in fams), key=lambda r: r[0])
    rows = np.array([i for i, _, _ in picked], dtype=np.int64)
    over = np.isfinite(form.row_upper[rows]) if len(rows) else np.zeros(0, bool)
    under = np.isfinite(form.row_lower[rows]) if len(rows) else np.zeros(0, bool)
    names: list[str] = []
    slacks: dict[str, Slack] = {}
    scales: list[float] = []
    n = form.shape[1]
    for (i, fam, key), o, u in zip(picked, over, under):
        name, cols, signs = form.row_names[i], [], []
        for kind, on, sign in (("over", o, -1.0), ("under", u, 1.0)):
            if on:
                cols.append(n + len(names))
                signs.append(sign)
                names.append(f"{kind}[{name}]")
                scales.append(row_scale(problem, fam, key, tuning))
        slacks[name] = Slack(fam, key, tuple(cols), tuple(signs))
    wide = form.with_slacks(rows, over, under, names)
    cost = np.concatenate([np.zeros(n), np.asarray(scales, float)])
    if "distance" in relax:
        lim = limit_of_pairs(problem, m.pairs)
        beyond = np.maximum(m.pairs["distance_km"].to_numpy(float) - lim, 0.0)
        pct = np.where(np.isfinite(lim) & (lim > 0), 100.0 * beyond / np.where(lim > 0, lim, 1.0), 0.0)
        coef = m.pairs["pupils"].to_numpy(float) * (tuning.penalty_distance_pupil + tuning.penalty_distance_pct * pct)
        cost[m.pairs["col"].to_numpy()] = np.where(beyond > 1e-9, coef, 0.0)
    k = len(names)
    return replace(
        m,
        form=wide.with_objective(cost),
        relaxable=np.zeros(n + k, bool),
        col_site=np.concatenate([m.col_site, np.full(k, None, dtype=object)]),
    ), slacks


def slack_amount(s: Slack, x: np.ndarray) -> tuple[float, float]:
    """(signed amount: + short of the lower bound, - over the upper; size)."""
    vals = [float(x[c]) for c in s.cols]
    return sum(v * sg for v, sg in zip(vals, s.signs)), sum(vals)


def types_after(m: Model, x: np.ndarray) -> dict[str, str]:
    on = m.open[x[m.open["col"].to_numpy()] > 0.5]
    return dict(zip(on["site_id"], on["type"]))


def site_label(problem: Problem, s: str) -> str:
    r = problem.sites.loc[s]
    town = f", {r['township']}" if str(r["township"]) else ""
    return f"{s} {r['name']}{town}"


def row_relaxations(problem: Problem, m: Model, slacks: dict[str, Slack], x: np.ndarray) -> list[dict]:
    """One entry per row the elastic plan breaks, with the amount and a message."""
    after = types_after(m, x)
    counts = {t: sum(1 for v in after.values() if v == t) for t in TYPES}
    out = []
    for s in slacks.values():
        amount, size = slack_amount(s, x)
        if size < 1e-6:
            continue
        out.append({"group": GROUP_OF[s.family], **_relaxation(problem, s, amount, size, after, counts)})
    return out


def _relaxation(
    problem: Problem, s: Slack, amount: float, size: float, after: dict[str, str], counts: dict[str, int]
) -> dict:
    """What breaking one row means: a target off by ``amount`` schools, a
    budget over by ``size``, or a school's cap, classes, ground or standard."""
    scen, fam, key = problem.scenario, s.family, s.key
    if fam.startswith("target"):
        t = str(key[0])
        lo, hi = scen.target_bounds(t)
        want = f"= {lo}" if lo == hi else (f">= {lo}" if fam == "target_min" else f"<= {hi}")
        more = f"({int(round(abs(amount)))} {'fewer' if amount > 0 else 'more'})"
        return {
            "kind": "target",
            "type": t,
            "target": want,
            "feasible_count": counts[t],
            "change": int(round(-amount)),
            "message": f"target {t} {want}: a plan exists with {counts[t]} {more}",
        }
    if fam.startswith("budget"):
        total = scen.budget.total_10k_yuan
        limit = (total or 0.0) if fam == "budget_total" else scen.budget.by_category_10k_yuan[str(key[0])]
        label = "budget" if fam == "budget_total" else f"budget for {key[0]}"
        pct = f" (+{100 * size / limit:.1f} %)" if limit else ""
        return {
            "kind": "budget",
            "category": key[0] if key else "total",
            "limit_10k_yuan": limit,
            "needed_10k_yuan": round(limit + size, 1),
            "over_10k_yuan": round(size, 1),
            "message": f"{label} {limit:,.0f} (10k yuan): needs {limit + size:,.0f}{pct}",
        }
    if GROUP_OF[fam] == "zones":
        return _zone_relaxation(problem, s, size)
    return _site_relaxation(problem, s, size, after)


def _zone_relaxation(problem: Problem, s: Slack, size: float) -> dict:
    """A village-band sent past a nearer open school, or a zone share missed by ``size`` pupils."""
    if s.family == "nearest_zone":
        v, band, site, nearer = (str(k) for k in s.key)
        msg = f"nearest zone: village {v} ({band}) at {site_label(problem, site)}, {nearer} nearer and open"
        return {"kind": "nearest_zone", "village": v, "band": band, "school": site, "nearer": nearer, "message": msg}
    level = str(s.key[0])
    need = problem.scenario.policy.nearest_zone.share[level] if problem.scenario.policy.nearest_zone else 1.0
    return {
        "kind": "zone_share",
        "level": level,
        "over_pupils": round(size, 1),
        "message": f"nearest zone {level}: {size:,.0f} pupils more off their zone than a share of {need:.0%} allows",
    }


def _site_relaxation(problem: Problem, s: Slack, size: float, after: dict[str, str]) -> dict:
    """A school's row broken by ``size``: its cap, a class cap, its classes, its ground, or a standard."""
    scen, fam, key = problem.scenario, s.family, s.key
    site = str(key[0])
    t = after.get(site, "closed")
    base = {
        "kind": fam,
        "school": site,
        "name": str(problem.sites.at[site, "name"]),
        "township": str(problem.sites.at[site, "township"]),
        "type_after": t,
    }
    label = f"school {site_label(problem, site)}"
    if fam == "school_cap":
        cap = scen.caps.school_pupils.get(t)
        return {
            **base,
            "cap": cap,
            "over_pupils": round(size, 1),
            "message": f"{label} as {t}: {size:,.0f} pupils over its cap of {cap}",
        }
    if fam == "class_cap":
        cap = scen.caps.class_size.get(str(key[1]))
        return {
            **base,
            "level": key[1],
            "class_size": cap,
            "over_pupils": round(size, 1),
            "message": f"{label}: {size:,.0f} {key[1]} pupils over {cap} per class",
        }
    if fam in FAMILIES["standards"]:
        kind = standard_kind(fam, key)
        cost = size * unit_10k_yuan(problem, fam, key)
        return {
            **base,
            "standard": kind,
            "short": round(size, 3),
            "cost_to_close_10k_yuan": round(cost, 1),
            "message": f"{label}: {kind} {size:,.1f} short of the standard ({cost:,.1f} 10k yuan to close)",
        }
    if fam == "site_classes":
        mx = int(problem.sites.at[site, "max_classes"])
        return {
            **base,
            "max_classes": mx,
            "over_classes": round(size, 2),
            "message": f"{label}: needs {mx + size:.0f} classes, max_classes is {mx}",
        }
    return {
        **base,
        "over_m2": round(size, 1),
        "message": f"{label}: needs {size:,.0f} m² more ground than its free site area",
    }


def distance_relaxations(problem: Problem, m: Model, x: np.ndarray) -> list[dict]:
    """Pupils sent beyond their band's limit, grouped by band and township."""
    p = m.pairs.assign(limit_km=limit_of_pairs(problem, m.pairs), share=x[m.pairs["col"].to_numpy()])
    p = p[(p["share"] > 1e-6) & (p["distance_km"] > p["limit_km"] + 1e-9)]
    if p.empty:
        return []
    p = p.assign(pupils_beyond=p["pupils"] * p["share"], township=p["village_id"].map(problem.villages["township"]))
    out = []
    for (band, town), g in p.groupby(["band", "township"], sort=True):
        villages = sorted(g["village_id"].unique())
        schools = sorted(g["site_id"].unique())
        lim = float(g["limit_km"].iloc[0])
        n = float(g["pupils_beyond"].sum())
        out.append(
            {
                "group": "distance",
                "kind": "distance",
                "band": band,
                "township": town,
                "limit_km": lim,
                "max_trip_km": round(float(g["distance_km"].max()), 2),
                "pupils": round(n, 1),
                "villages": villages,
                "schools": schools,
                "message": f"band {band} in {town or 'no township'}: {n:,.0f} pupils of {len(villages)} village(s) "
                f"({', '.join(villages[:6])}{' ...' if len(villages) > 6 else ''}) would travel beyond the "
                f"{lim:g} km limit, up to {g['distance_km'].max():.1f} km (to {', '.join(schools[:4])})",
            }
        )
    return out
