"""Diagnose: why a scenario has no plan, as the smallest relaxations that give one.

When the solver proves a scenario infeasible (or the checks before solving
find a conflict), this module solves an *elastic* version of the same model:
every target, budget, cap and distance limit may be broken, at a penalty
per unit broken, and the solver minimises the total penalty. What it had to
break, and by how much, is the diagnosis: the targets, townships, bands and
schools involved, with the limit and the amount needed.

Relaxed, by family (rows of :mod:`planner.model`):

- ``targets``: ``target_count`` / ``target_min`` / ``target_max`` (schools
  more or fewer than the target);
- ``budget``: ``budget_total`` and ``budget_category`` (10k yuan over);
- ``caps``: ``school_cap`` and ``class_cap`` (pupils over), ``site_classes``
  (classes over ``max_classes``) and ``site_room`` (m² over the free site area);
- ``distance``: pairs beyond a band's limit (up to :data:`DISTANCE_FACTOR`
  times it, computed by :mod:`planner.travel` at that relaxed limit) may be
  used (or the limit + :data:`DISTANCE_EXTRA_KM`), at a penalty per pupil and
  per share of the limit exceeded.

Penalties (:data:`PENALTY`) are in one unit: breaking a limit by 1 % of
itself costs about 1 (a school off a target costs 10). Besides the combined
diagnosis, each family is also relaxed *alone*, so the report can say
"raising the budget alone would do" or "the targets alone cannot fix it".
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pulp

from planner import BANDS, TYPES
from planner.decode import decode
from planner.indicators import shortfalls, unit_cost_10k_yuan
from planner.model import Model, build_model
from planner.problem import Problem
from planner.solve import solve
from planner.staged import guides, integers, relaxing, solve_staged
from planner.travel import attach_distances, band_limit_km

FAMILIES: dict[str, tuple[str, ...]] = {
    "budget": ("budget_total", "budget_category"),
    "targets": ("target_count", "target_min", "target_max"),
    "distance": (),
    "caps": ("school_cap", "class_cap", "site_classes", "site_room"),
    "standards": ("teaching_area", "sports_area", "living_area", "area_nine", "area_balance", "standard",
                  "standard_nine"),
}
"""Relaxable groups, in the order a county would reach for them, and the
model rows each relaxes (distance works on pairs). ``standards`` matters when
shortfalls are not allowed (``indicators.allow_shortfalls: false``)."""

FLOOR_SHARE = 0.5
"""Share of the diagnosis time for :func:`budget_floor` (an LP: it stops when solved; about 10 s on the
demo, three times that on a loaded machine)."""

SHORTFALL_SHARE = 0.85
"""Share of the time left after the floor for :func:`shortfall_solve` when
standards are hard: the plan's own relax-fix-polish needs most of it on a
county the demo's size, and it is the answer that names the schools."""

DISTANCE_FACTOR = 2.0
DISTANCE_EXTRA_KM = 5.0
"""Trips up to DISTANCE_FACTOR times a band's limit, or the limit plus
DISTANCE_EXTRA_KM if longer, may be used in the diagnosis."""

PENALTY = {
    "budget_pct": 1.0,       # per 1 % of the budget exceeded
    "target": 10.0,          # per school off the target
    "distance_pupil": 0.01,  # per pupil beyond a band's limit ...
    "distance_pct": 0.01,    # ... plus per pupil per 1 % of the limit exceeded
    "cap_pct": 10.0,         # per 1 % of a school's (or class's) cap exceeded, per school
    "classes_pct": 10.0,     # per 1 % of a site's max_classes exceeded
    "room_per_100_m2": 10.0,  # per 100 m² beyond the free site area
    "standard_pct": 10.0,    # per 1 % of the budget (or per 100 10k yuan) a standard's gap would cost
}
"""The national caps and standards are the rules the plan exists to meet:
breaking them costs ten times what breaking the budget or a target does, so
the combined diagnosis names the budget, the targets or the trips first when
changing them is enough."""


def relaxed_problem(problem: Problem, factor: float = DISTANCE_FACTOR) -> Problem:
    """The same problem with every band's trip limit multiplied by
    ``factor`` (or raised by :data:`DISTANCE_EXTRA_KM`, whichever is more;
    boarding allowed, so the walking limit stops binding) and pairs
    recomputed by the travel stage."""
    pol = problem.scenario.policy
    lim = {b: band_limit_km(problem, b) for b in BANDS}
    trip = {b: (None if math.isinf(v) else max(v * factor, v + DISTANCE_EXTRA_KM)) for b, v in lim.items()}
    minutes = {b: (None if v is None else v * factor) for b, v in pol.max_trip_minutes.items()}
    new_pol = pol.model_copy(update={"max_trip_km": trip, "max_trip_minutes": minutes,
                                     "boarding_allowed": {b: True for b in BANDS}})
    scen = problem.scenario.model_copy(update={"policy": new_pol})
    return attach_distances(replace(problem, scenario=scen, pairs=None, warnings=()))


def _beyond(problem: Problem, pairs: pd.DataFrame) -> np.ndarray:
    """Per pair, the original limit of its band; pairs beyond it are relaxations."""
    return pairs["band"].map({b: band_limit_km(problem, b) for b in BANDS}).to_numpy(float)


def _slack(lp: pulp.LpProblem, c: pulp.LpConstraint, name: str, scale: float) -> list[pulp.LpVariable]:
    """Add slack to a row in place: ``<=`` rows may exceed, ``>=`` fall short,
    ``==`` do either. Returns the new variables (penalised by the caller)."""
    out = []
    if c.sense in (pulp.LpConstraintLE, pulp.LpConstraintEQ):
        v = lp.add_variable(f"over[{name}]", 0)
        c.expr.addterm(v, -1.0)
        out.append(v)
    if c.sense in (pulp.LpConstraintGE, pulp.LpConstraintEQ):
        v = lp.add_variable(f"under[{name}]", 0)
        c.expr.addterm(v, 1.0)
        out.append(v)
    for v in out:
        v.scale = scale  # type: ignore[attr-defined]
    return out


def _row_scale(problem: Problem, family: str, key: list[str]) -> float:
    """Penalty per unit of slack on a row (see :data:`PENALTY`)."""
    scen = problem.scenario
    if family.startswith("target"):
        return PENALTY["target"]
    if family == "budget_total":
        return PENALTY["budget_pct"] * 100.0 / max(scen.budget.total_10k_yuan or 0.0, 1.0)
    if family == "budget_category":
        return PENALTY["budget_pct"] * 100.0 / max(scen.budget.by_category_10k_yuan.get(key[0], 0.0), 1.0)
    if family == "school_cap":
        caps = [c for c in scen.caps.school_pupils.values() if c is not None]
        return PENALTY["cap_pct"] * 100.0 / max(max(caps, default=2000), 1)
    if family == "class_cap":
        return PENALTY["cap_pct"] * 100.0 / max(scen.caps.class_size.get(key[1]) or 45, 1)
    if family == "site_classes":
        return PENALTY["classes_pct"] * 100.0 / max(float(problem.sites.at[key[0], "max_classes"]), 1.0)
    if family == "site_room":
        return PENALTY["room_per_100_m2"] / 100.0
    per_pct = 100.0 / max(scen.budget.total_10k_yuan or 100.0, 1.0)
    return PENALTY["standard_pct"] * per_pct * _unit_10k_yuan(problem, family, key)


def _standard_kind(family: str, key: list[str]) -> str:
    """The resource a standards row is about (``teaching_area``, ``qualified``, ...)."""
    if family.endswith("_area"):
        return family
    return f"{key[1]}_area" if family.startswith("area_") else key[1]


def _unit_10k_yuan(problem: Problem, family: str, key: list[str]) -> float:
    """10k yuan per unit of a standards row's slack (m², teacher, room; equipment rows are in 10k yuan)."""
    kind = _standard_kind(family, key)
    if kind == "living_area":
        return problem.scenario.costs.living_yuan_per_m2 / 1e4
    return 1.0 if kind == "equipment" else unit_cost_10k_yuan(problem.scenario).get(kind, 1.0)


def elastic_model(problem: Problem, relax: frozenset[str], relaxed: Problem | None = None) -> tuple[Model, dict]:
    """Build the model with slack on the rows of the ``relax`` groups; return
    it and ``{row name: (family, key, [slack vars])}``."""
    use = problem
    if relaxed is not None and "distance" in relax:  # relaxed pairs, original policy otherwise
        use = replace(problem, pairs=relaxed.pairs)
    m = build_model(use)
    fams = {f for g in relax for f in FAMILIES[g]}
    slacks: dict[str, tuple[str, list[str], list[pulp.LpVariable]]] = {}
    for name, c in m.rows.items():
        fam, _, rest = name.partition("[")
        if fam not in fams:
            continue
        key = [k for k in rest[:-1].split(",") if k] if rest else []
        slacks[name] = (fam, key, _slack(m.lp, c, name, _row_scale(problem, fam, key)))
    penalty = pulp.lpSum(v.scale * v for _, _, vs in slacks.values() for v in vs)  # type: ignore[attr-defined]
    if "distance" in relax:
        lim = _beyond(problem, m.pairs)
        over = np.maximum(m.pairs["distance_km"].to_numpy(float) - lim, 0.0)
        pct = np.where(np.isfinite(lim) & (lim > 0), 100.0 * over / np.where(lim > 0, lim, 1.0), 0.0)
        coef = m.pairs["pupils"].to_numpy(float) * (PENALTY["distance_pupil"] + PENALTY["distance_pct"] * pct)
        mask = over > 1e-9
        penalty += pulp.LpAffineExpression(list(zip(m.pairs["var"][mask], coef[mask].tolist())))
    m.lp.setObjective(penalty)
    return m, slacks


def _value(v) -> float:
    x = v.value()
    return 0.0 if x is None else float(x)


def _types_after(m: Model) -> dict[str, str]:
    on = m.open[[_value(v) > 0.5 for v in m.open["var"]]]
    return dict(zip(on["site_id"], on["type"]))


def _site_label(problem: Problem, s: str) -> str:
    r = problem.sites.loc[s]
    town = f", {r['township']}" if str(r["township"]) else ""
    return f"{s} {r['name']}{town}"


def _row_relaxations(problem: Problem, m: Model, slacks: dict) -> list[dict]:
    scen = problem.scenario
    after = _types_after(m)
    counts = {t: sum(1 for v in after.values() if v == t) for t in TYPES}
    out = []
    for name, (fam, key, vs) in slacks.items():
        amount = sum(_value(v) * (1 if v.name.startswith("under") else -1) for v in vs)  # + short, - over
        size = sum(_value(v) for v in vs)
        if size < 1e-6:
            continue
        if fam.startswith("target"):
            t = key[0]
            lo, hi = scen.target_bounds(t)
            want = f"= {lo}" if lo == hi else (f">= {lo}" if fam == "target_min" else f"<= {hi}")
            out.append({"kind": "target", "type": t, "target": want, "feasible_count": counts[t],
                        "change": int(round(-amount)),
                        "message": f"target {t} {want}: a plan exists with {counts[t]} "
                                   f"({int(round(abs(amount)))} {'fewer' if amount > 0 else 'more'})"})
        elif fam.startswith("budget"):
            limit = scen.budget.total_10k_yuan if fam == "budget_total" else scen.budget.by_category_10k_yuan[key[0]]
            label = "budget" if fam == "budget_total" else f"budget for {key[0]}"
            pct = f" (+{100 * size / limit:.1f} %)" if limit else ""
            out.append({"kind": "budget", "category": key[0] if key else "total", "limit_10k_yuan": limit,
                        "needed_10k_yuan": round(limit + size, 1), "over_10k_yuan": round(size, 1),
                        "message": f"{label} {limit:,.0f} (10k yuan): needs {limit + size:,.0f}{pct}"})
        else:
            s = key[0]
            t = after.get(s, "closed")
            base = {"kind": fam, "school": s, "name": str(problem.sites.at[s, "name"]),
                    "township": str(problem.sites.at[s, "township"]), "type_after": t}
            if fam == "school_cap":
                cap = scen.caps.school_pupils.get(t)
                msg = f"school {_site_label(problem, s)} as {t}: {size:,.0f} pupils over its cap of {cap}"
                out.append({**base, "cap": cap, "over_pupils": round(size, 1), "message": msg})
            elif fam == "class_cap":
                cap = scen.caps.class_size.get(key[1])
                msg = f"school {_site_label(problem, s)}: {size:,.0f} {key[1]} pupils over {cap} per class"
                out.append({**base, "level": key[1], "class_size": cap, "over_pupils": round(size, 1), "message": msg})
            elif fam in FAMILIES["standards"]:
                kind = _standard_kind(fam, key)
                cost = size * _unit_10k_yuan(problem, fam, key)
                msg = (f"school {_site_label(problem, s)}: {kind} {size:,.1f} short of the standard "
                       f"({cost:,.1f} 10k yuan to close)")
                out.append({**base, "standard": kind, "short": round(size, 3), "cost_to_close_10k_yuan": round(cost, 1),
                            "message": msg})
            elif fam == "site_classes":
                mx = int(problem.sites.at[s, "max_classes"])
                msg = f"school {_site_label(problem, s)}: needs {mx + size:.0f} classes, max_classes is {mx}"
                out.append({**base, "max_classes": mx, "over_classes": round(size, 2), "message": msg})
            else:
                msg = f"school {_site_label(problem, s)}: needs {size:,.0f} m² more ground than its free site area"
                out.append({**base, "over_m2": round(size, 1), "message": msg})
        out[-1] = {"group": GROUP_OF[fam], **out[-1]}
    return out


def _distance_relaxations(problem: Problem, m: Model) -> list[dict]:
    """Pupils sent beyond their band's limit, grouped by band and township."""
    p = m.pairs.assign(limit_km=_beyond(problem, m.pairs), share=[_value(v) for v in m.pairs["var"]])
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
        out.append({"group": "distance", "kind": "distance", "band": band, "township": town, "limit_km": lim,
                    "max_trip_km": round(float(g["distance_km"].max()), 2), "pupils": round(n, 1),
                    "villages": villages, "schools": schools,
                    "message": f"band {band} in {town or 'no township'}: {n:,.0f} pupils of {len(villages)} village(s) "
                               f"({', '.join(villages[:6])}{' ...' if len(villages) > 6 else ''}) would travel beyond the "
                               f"{lim:g} km limit, up to {g['distance_km'].max():.1f} km (to {', '.join(schools[:4])})"})
    return out


def budget_floor(problem: Problem, *, time_limit_s: float) -> dict | None:
    """The least total budget any plan needs, proved by a linear program:
    the budget-alone elastic model with every integer relaxed (catchments
    split, schools and classes fractional) and the category limits kept. Its
    least overrun is a lower bound on every plan's, so a positive one proves
    the budget short by at least that much, whatever else the plan does; an
    infeasible one proves no budget is enough. None without a total budget
    or when the LP is not solved in time."""
    limit = problem.scenario.budget.total_10k_yuan
    if limit is None:
        return None
    m, slacks = elastic_model(problem, frozenset(["budget"]))
    for name, (fam, _, vs) in slacks.items():
        if fam != "budget_total":
            for v in vs:
                v.upBound = 0.0
    cfg = problem.scenario.solver.model_copy(update={"time_limit_s": max(time_limit_s, 1.0)})
    with relaxing(integers(m)):
        res = solve(m, cfg)
    if res.status == "interrupted":
        raise KeyboardInterrupt
    if res.status == "infeasible":
        return {"limit_10k_yuan": limit, "enough": False,
                "message": "no budget is enough: the other rules conflict even with catchments split (LP relaxation)"}
    if res.status != "optimal":
        return None
    over = sum(_value(v) for _, (fam, _, vs) in slacks.items() if fam == "budget_total" for v in vs)
    short = over > 1e-6 * max(limit, 1.0)
    return {"limit_10k_yuan": limit, "enough": False if short else None,
            "needed_at_least_10k_yuan": round(limit + over, 1), "short_at_least_10k_yuan": round(over, 1),
            "message": (f"budget {limit:,.0f} (10k yuan) is at least {over:,.0f} short: even with catchments split "
                        f"(LP relaxation), the rules cost at least {limit + over:,.0f}") if short else
                       f"budget {limit:,.0f} (10k yuan): not proved short (LP relaxation)"}


def soft_twin(problem: Problem) -> Problem | None:
    """The same problem with standards that may fall short at a price
    (``indicators.allow_shortfalls: true``); None when they already may or
    when the scenario plans no investments (no shortfall variables)."""
    scen = problem.scenario
    if not (scen.indicators.enabled and scen.standards.enabled) or scen.indicators.allow_shortfalls:
        return None
    ind = scen.indicators.model_copy(update={"allow_shortfalls": True})
    return replace(problem, scenario=scen.model_copy(update={"indicators": ind}))


def _gap_relaxations(problem: Problem, schools: pd.DataFrame, gaps: pd.DataFrame) -> list[dict]:
    """One relaxation per (school, standard) left short, the costliest first."""
    info = schools.set_index("school_id")
    out = []
    for g in gaps.sort_values(["cost_to_close_10k_yuan", "school_id"], ascending=[False, True]).itertuples():
        s = g.school_id
        t = str(info.at[s, "type_after"])
        msg = (f"school {_site_label(problem, s)} ({t}): {g.indicator} {g.gap:,.1f} short of {g.required:,.1f} "
               f"({g.cost_to_close_10k_yuan:,.1f} 10k yuan to close)")
        out.append({"group": "standards", "kind": "shortfall", "school": s, "name": str(problem.sites.at[s, "name"]),
                    "township": str(problem.sites.at[s, "township"]), "type_after": t, "standard": g.indicator,
                    "present": g.present, "required": g.required, "short": g.gap,
                    "cost_to_close_10k_yuan": round(float(g.cost_to_close_10k_yuan), 1), "message": msg})
    return out


def shortfall_solve(problem: Problem, *, time_limit_s: float) -> dict | None:
    """Standards relaxed the way a plan relaxes them when a scenario allows
    it: each gap priced at its cost to close, solved by the main solve on
    :func:`soft_twin`. Every other rule (budget, targets, caps, trips) holds,
    so a plan here says exactly which standards at which schools must give,
    and by how much. None when standards are not hard or carry no investments."""
    soft = soft_twin(problem)
    if soft is None:
        return None
    m = build_model(soft)
    cfg = soft.scenario.solver.model_copy(update={"time_limit_s": max(time_limit_s, 1.0)})
    res = solve_staged(m, cfg, **guides(soft))
    if res.status == "interrupted" and not res.has_plan:
        raise KeyboardInterrupt
    if not res.has_plan:
        return {"relaxed": ["standards"], "feasible": False, "status": res.status, "how": "shortfalls"}
    plan = decode(m, soft, res)
    gaps = shortfalls(soft.sites, plan.schools, soft.scenario)
    found = _gap_relaxations(problem, plan.schools, gaps)
    cost = round(float(gaps["cost_to_close_10k_yuan"].sum()), 1)
    schools = int(gaps["school_id"].nunique())
    return {"relaxed": ["standards"], "feasible": True, "status": res.status, "how": "shortfalls",
            "mip_gap": res.mip_gap, "gaps": len(found), "schools": schools,
            "cost_to_close_10k_yuan": cost, "plan_cost_10k_yuan": plan.cost_10k_yuan,
            "cost_budgeted_10k_yuan": round(soft.scenario.budget.budgeted(plan.cost_10k_yuan), 1),
            "relaxations": found,
            "message": f"{len(found)} gap(s) at {schools} school(s) within the budget, {cost:,.1f} (10k yuan) to close"}


def elastic_solve(problem: Problem, relax: frozenset[str], *, time_limit_s: float,
                  relaxed: Problem | None = None) -> dict:
    """Solve one elastic variant; the relaxations it needed, or why it failed."""
    pairs = relaxed.pairs if relaxed is not None and "distance" in relax else problem.pairs
    lost = _unreached(problem, pairs)
    if lost:
        return {"relaxed": sorted(relax), "feasible": False, "status": "unreachable", "unreached": lost}
    m, slacks = elastic_model(problem, relax, relaxed)
    cfg = problem.scenario.solver.model_copy(update={"time_limit_s": max(time_limit_s, 1.0), "mip_gap": 1e-4})
    res = solve_staged(m, cfg, **guides(problem))  # the main solve's relax-fix-polish: a first plan fast
    if res.status == "interrupted":
        raise KeyboardInterrupt  # Ctrl-C stops the whole diagnosis, not one of its solves
    if not res.has_plan:
        return {"relaxed": sorted(relax), "feasible": False, "status": res.status}
    found = [*_row_relaxations(problem, m, slacks), *(_distance_relaxations(problem, m) if "distance" in relax else [])]
    return {"relaxed": sorted(relax), "feasible": True, "status": res.status,
            "penalty": round(float(res.objective or 0.0), 4), "relaxations": found}


def _unreached(problem: Problem, pairs: pd.DataFrame) -> list[dict]:
    """Village-bands with pupils but no site within reach (no relaxation of rows helps)."""
    out = []
    for b in BANDS:
        v = problem.villages
        need = v.index[v[f"pupils_{b}"] > 0]
        lost = sorted(set(need) - set(pairs.loc[pairs["band"] == b, "village_id"]))
        out += [{"village": i, "township": str(v.at[i, "township"]), "band": b, "pupils": float(v.at[i, f"pupils_{b}"])}
                for i in lost]
    return out


def _groups_present(problem: Problem) -> list[str]:
    """The groups this scenario has rows for, in the order of :data:`FAMILIES`
    (no targets: nothing to relax there; standards only where they are hard)."""
    scen = problem.scenario
    present = {
        "budget": scen.budget.total_10k_yuan is not None or bool(scen.budget.by_category_10k_yuan),
        "targets": any(scen.target_bounds(t) != (None, None) for t in TYPES),
        "distance": True,
        "caps": True,
        "standards": scen.standards.enabled and not (scen.indicators.enabled and scen.indicators.allow_shortfalls),
    }
    return [g for g in FAMILIES if present[g]]


GROUP_OF = {fam: g for g, fams in FAMILIES.items() for fam in fams}
"""Row family -> relaxable group."""


def _alone(problem: Problem, groups: list[str], combined: dict, total: float, t0: float, relaxed: Problem,
           done: dict) -> dict:
    """Each group relaxed by itself (``done``: groups already solved). When
    the combined diagnosis broke the limits of one group only, that plan
    already shows the group is enough alone, so it is not solved again."""
    used = {r["group"] for r in combined.get("relaxations", [])}
    out = dict(done)
    for i, g in enumerate(groups):
        if g in out:
            continue
        if combined.get("feasible") and used == {g}:
            out[g] = {**combined, "relaxed": [g], "from": "combined"}
            continue
        left = total - (time.perf_counter() - t0)
        out[g] = elastic_solve(problem, frozenset([g]), time_limit_s=max(left / (len(groups) - i), 1.0), relaxed=relaxed)
    return out


def diagnose(problem: Problem, *, time_limit_s: float | None = None, reasons: list[str] | None = None,
             stage: str = "solve") -> dict:
    """The diagnosis of an infeasible scenario (``diagnosis.json``).

    ``combined`` relaxes every group at once; ``alone`` relaxes one group at a
    time and says whether that group alone can make the scenario feasible.
    Before them, :func:`budget_floor` proves by an LP how much budget any
    plan needs at least. Where standards are hard, :func:`shortfall_solve`
    then gets most of the time: it relaxes them as the plan itself would,
    with the main solve, and names every gap. Then the budget alone is
    solved, with half of what is left: "raise the budget to X" is the answer
    a county can act on. The elastic solves are MIPs as hard as the plan's
    own, so on a county the size of the demo they may find no plan in time
    where the LP's floor and the shortfall plan still answer.
    ``reasons`` are the checks' findings when the conflict was found before solving.
    """
    t0 = time.perf_counter()
    total = float(time_limit_s if time_limit_s is not None else min(problem.scenario.solver.time_limit_s, 120.0))
    groups = _groups_present(problem)
    relaxed = relaxed_problem(problem)
    left = lambda: total - (time.perf_counter() - t0)  # noqa: E731
    floor = budget_floor(problem, time_limit_s=total * FLOOR_SHARE) if "budget" in groups else None
    first = {}
    soft = shortfall_solve(problem, time_limit_s=left() * SHORTFALL_SHARE) if "standards" in groups else None
    if soft is not None:  # which standards at which schools must give: names the schools
        first["standards"] = soft
    if "budget" in groups:  # the plainest answer a county can act on: how much money would do
        first["budget"] = elastic_solve(problem, frozenset(["budget"]), time_limit_s=max(left() / 2, 1.0),
                                        relaxed=relaxed)
    combined = elastic_solve(problem, frozenset(groups), time_limit_s=max(left() / 2, 1.0), relaxed=relaxed)
    alone = _alone(problem, groups, combined, total, t0, relaxed, first)
    lines = [r["message"] for r in combined.get("relaxations", [])]
    fixes = [g for g, a in alone.items() if a["feasible"]]
    return {
        "scenario": problem.scenario.name,
        "status": "infeasible",
        "stage": stage,
        "reasons": list(reasons or []),
        "budget_floor": floor,
        "combined": combined,
        "alone": alone,
        "enough_alone": fixes,
        "summary": lines,
        "distance_factor": DISTANCE_FACTOR,
        "penalties": PENALTY,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def format_diagnosis(d: dict, *, reasons: bool = True) -> str:
    """The diagnosis as lines for the terminal (``reasons``: repeat the checks' findings)."""
    out = [f"Scenario '{d['scenario']}' has no plan."]
    if reasons and d.get("reasons"):
        out.append("Found before solving:")
        out += [f"  - {r}" for r in d["reasons"]]
    floor = d.get("budget_floor") or {}
    if floor.get("enough") is False:
        out.append(f"Proved: {floor['message']}.")
    comb = d.get("combined", {})
    if comb.get("feasible"):
        out.append("Smallest relaxations that give a plan (all limits relaxable at once):")
        out += [f"  - {r['message']}" for r in comb["relaxations"]] or ["  - none needed (numerical trouble?)"]
    elif comb.get("status") == "unreachable":
        lost = comb["unreached"]
        names = ", ".join(f"{u['village']} ({u['township']}, {u['band']})" for u in lost[:8])
        out.append(f"{len(lost)} village band(s) have no school that may teach them even at x{d.get('distance_factor', 2):g} "
                   f"(or +{DISTANCE_EXTRA_KM:g} km) the trip limit: {names}{' ...' if len(lost) > 8 else ''}; add a candidate site near them or allow "
                   "longer trips (policy.max_trip_km, boarding_allowed).")
    elif comb:
        infeasible = comb.get("status") == "infeasible"
        groups = ", ".join("trips up to x{:g} the limit".format(d.get("distance_factor", 2)) if g == "distance" else g
                           for g in comb.get("relaxed", []))
        out.append(f"Relaxing {groups} at once: {'still infeasible' if infeasible else 'no plan found in the time given'}"
                   f"{'; check the fixed decisions, policy.moves and allow_new_builds' if infeasible else ''}.")
    for g, a in d.get("alone", {}).items():
        if a.get("feasible"):
            out.append(f"Relaxing {g} alone is enough: {_listing(a)}")
        elif a.get("status") in ("infeasible", "unreachable"):
            out.append(f"Relaxing {g} alone is not enough{' (some villages are out of reach)' if a['status'] == 'unreachable' else ''}")
        else:
            out.append(f"Relaxing {g} alone: not settled in the time given ({a.get('status')})")
    return "\n".join(out)


LISTED = 8
"""Relaxations printed per line; diagnosis.json holds them all."""


def _listing(a: dict) -> str:
    """One group's relaxations for the terminal: its headline, then the first :data:`LISTED`."""
    rel = a["relaxations"]
    msgs = "; ".join(r["message"] for r in rel[:LISTED]) or "nothing"
    more = f"; ... and {len(rel) - LISTED} more (diagnosis.json)" if len(rel) > LISTED else ""
    head = f"{a['message']}: " if a.get("message") else ""
    return f"{head}{msgs}{more}"
