"""Diagnose: why a scenario has no plan, as the smallest relaxations that give one.

When the solver proves a scenario infeasible (or the checks before solving
find a conflict), the diagnosis solves *elastic* versions of the same model
(:mod:`planner.assess.elastic`): every limit of the chosen groups may be
broken at a penalty, and the solver minimises the total penalty. Before them,
an LP proves the least budget any plan needs; where standards are hard, the
plan with every gap priced names the schools and gaps a plan within the
budget would leave. Besides the combined relaxation, each group is also
relaxed *alone*, so the report can say "raising the budget alone would do"
or "the targets alone cannot fix it". Everything runs on the run's clock.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from planner.assess.budget import BudgetRange, budget_range
from planner.assess.decode import decode
from planner.assess.elastic import (
    FAMILIES,
    distance_relaxations,
    elastic_model,
    relaxed_problem,
    row_relaxations,
    site_label,
)
from planner.assess.indicators import shortfalls
from planner.data.problem import Problem
from planner.domain import BANDS, TYPES
from planner.model.build import build_model
from planner.solve.clock import Clock
from planner.solve.direct import Context, solve_direct
from planner.solve.rounding import guide_of
from planner.solve.staged import solve_staged
from planner.solve.status import SolveStatus


def budget_floor(problem: Problem, clock: Clock) -> dict | None:
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
    tuning = problem.scenario.solver.tuning.diagnosis
    m, slacks = elastic_model(problem, frozenset(["budget"]), tuning)
    held = [c for s in slacks.values() if s.family != "budget_total" for c in s.cols]
    form = m.form.relaxed()
    if held:
        form = form.fixed(np.asarray(held, dtype=np.int64), np.zeros(len(held)))
    res = solve_direct(m, Context(problem.scenario.solver, guide_of(problem)), clock, form=form)
    if res.interrupted:
        raise KeyboardInterrupt
    if res.status is SolveStatus.INFEASIBLE:
        return {
            "limit_10k_yuan": limit,
            "enough": False,
            "message": "no budget is enough: the other rules conflict even with catchments split (LP relaxation)",
        }
    if res.status is not SolveStatus.OPTIMAL or res.x is None:
        return None
    over = float(sum(res.x[c] for s in slacks.values() if s.family == "budget_total" for c in s.cols))
    short = over > 1e-6 * max(limit, 1.0)
    return {
        "limit_10k_yuan": limit,
        "enough": False if short else None,
        "needed_at_least_10k_yuan": round(limit + over, 1),
        "short_at_least_10k_yuan": round(over, 1),
        "message": (
            f"budget {limit:,.0f} (10k yuan) is at least {over:,.0f} short: even with catchments split "
            f"(LP relaxation), the rules cost at least {limit + over:,.0f}"
        )
        if short
        else f"budget {limit:,.0f} (10k yuan): not proved short (LP relaxation)",
    }


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
        msg = (
            f"school {site_label(problem, s)} ({t}): {g.indicator} {g.gap:,.1f} short of {g.required:,.1f} "
            f"({g.cost_to_close_10k_yuan:,.1f} 10k yuan to close)"
        )
        out.append(
            {
                "group": "standards",
                "kind": "shortfall",
                "school": s,
                "name": str(problem.sites.at[s, "name"]),
                "township": str(problem.sites.at[s, "township"]),
                "type_after": t,
                "standard": g.indicator,
                "present": g.present,
                "required": g.required,
                "short": g.gap,
                "cost_to_close_10k_yuan": round(float(g.cost_to_close_10k_yuan), 1),
                "message": msg,
            }
        )
    return out


def shortfall_solve(problem: Problem, clock: Clock) -> dict | None:
    """Standards relaxed the way a plan relaxes them when a scenario allows
    it: each gap priced at its cost to close, solved by the main solve on
    :func:`soft_twin`. Every other rule (budget, targets, caps, trips) holds,
    so a plan here says exactly which standards at which schools must give,
    and by how much. None when standards are not hard or carry no investments."""
    soft = soft_twin(problem)
    if soft is None:
        return None
    m = build_model(soft)
    res = solve_staged(m, Context(soft.scenario.solver, guide_of(soft)), clock)
    if res.interrupted and not res.has_plan:
        raise KeyboardInterrupt
    if not res.has_plan:
        return {"relaxed": ["standards"], "feasible": False, "status": res.status.value, "how": "shortfalls"}
    plan = decode(m, soft, res)
    gaps = shortfalls(soft.sites, plan.schools, soft.scenario)
    found = _gap_relaxations(problem, plan.schools, gaps)
    cost = round(float(gaps["cost_to_close_10k_yuan"].sum()), 1)
    schools = int(gaps["school_id"].nunique())
    return {
        "relaxed": ["standards"],
        "feasible": True,
        "status": res.status.value,
        "how": "shortfalls",
        "mip_gap": res.gap,
        "gaps": len(found),
        "schools": schools,
        "cost_to_close_10k_yuan": cost,
        "plan_cost_10k_yuan": plan.cost_10k_yuan,
        "cost_budgeted_10k_yuan": round(soft.scenario.budget.budgeted(plan.cost_10k_yuan), 1),
        "relaxations": found,
        "message": f"{len(found)} gap(s) at {schools} school(s) within the budget, {cost:,.1f} (10k yuan) to close",
    }


def elastic_solve(problem: Problem, relax: frozenset[str], clock: Clock, *, relaxed: Problem | None = None) -> dict:
    """Solve one elastic variant; the relaxations it needed, or why it failed."""
    pairs = relaxed.pairs if relaxed is not None and "distance" in relax else problem.pairs
    lost = _unreached(problem, pairs)
    if lost:
        return {"relaxed": sorted(relax), "feasible": False, "status": "unreachable", "unreached": lost}
    tuning = problem.scenario.solver.tuning.diagnosis
    m, slacks = elastic_model(problem, relax, tuning, relaxed)
    cfg = problem.scenario.solver.model_copy(update={"mip_gap": tuning.elastic_gap})
    res = solve_staged(
        m, Context(cfg, guide_of(problem)), clock
    )  # the main solve's relax-fix-polish: a first plan fast
    if res.interrupted:
        raise KeyboardInterrupt  # Ctrl-C stops the whole diagnosis, not one of its solves
    if not res.has_plan or res.x is None:
        return {"relaxed": sorted(relax), "feasible": False, "status": res.status.value}
    found = [
        *row_relaxations(problem, m, slacks, res.x),
        *(distance_relaxations(problem, m, res.x) if "distance" in relax else []),
    ]
    return {
        "relaxed": sorted(relax),
        "feasible": True,
        "status": res.status.value,
        "penalty": round(float(res.objective or 0.0), 4),
        "relaxations": found,
    }


def _unreached(problem: Problem, pairs: pd.DataFrame) -> list[dict]:
    """Village-bands with pupils but no site within reach (no relaxation of rows helps)."""
    out = []
    for b in BANDS:
        v = problem.villages
        need = v.index[v[f"pupils_{b}"] > 0]
        lost = sorted(set(need) - set(pairs.loc[pairs["band"] == b, "village_id"]))
        out += [
            {"village": i, "township": str(v.at[i, "township"]), "band": b, "pupils": float(v.at[i, f"pupils_{b}"])}
            for i in lost
        ]
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
        "zones": scen.policy.nearest_zone is not None,
        "standards": scen.standards.enabled and not (scen.indicators.enabled and scen.indicators.allow_shortfalls),
    }
    return [g for g in FAMILIES if present[g]]


def _alone(problem: Problem, groups: list[str], clock: Clock, relaxed: Problem, done: dict) -> dict:
    """Each group relaxed by itself (``done``: groups already solved), the
    groups left sharing the clock; in the order of ``groups``."""
    out = dict(done)
    left = [g for g in groups if g not in out]
    for i, g in enumerate(left):
        out[g] = elastic_solve(
            problem, frozenset([g]), clock.part(f"{g} alone", 1.0 / (len(left) - i)), relaxed=relaxed
        )
    return {g: out[g] for g in groups if g in out}


def diagnose(problem: Problem, clock: Clock, *, reasons: list[str] | None = None, stage: str = "solve") -> dict:
    """The diagnosis of an infeasible scenario (``diagnosis.json``), within ``clock``:
    :func:`diagnose_with_plan` without its suggested plan."""
    return diagnose_with_plan(problem, clock, reasons=reasons, stage=stage)[0]


def diagnose_with_plan(
    problem: Problem, clock: Clock, *, reasons: list[str] | None = None, stage: str = "solve"
) -> tuple[dict, BudgetRange | None]:
    """The diagnosis of an infeasible scenario (``diagnosis.json``) and, where
    the budget is short, the suggested plan at the budget's high end.

    First :func:`budget_floor` proves by an LP how much budget any plan needs
    at least. Then the budget alone, as a proved range
    (:func:`~planner.assess.budget.budget_range`): the floor, and the cheapest
    plan found with only the budget relaxed, which is the suggested plan
    ("raise the budget to X" is the answer a county can act on). Where
    standards are hard, :func:`shortfall_solve` then gets most of what is
    left: it relaxes them as the plan itself would, with the main solve, and
    names every gap. Then each other group alone, its least relaxation found, and last
    ``combined``, every group relaxed at once: one of many ways to a plan. The
    elastic solves are MIPs as hard as the plan's own, so they may find no
    plan in time where the floor, the range and the shortfall plan still
    answer. ``reasons`` are the checks' findings when the conflict was found
    before solving.
    """
    tuning = problem.scenario.solver.tuning.diagnosis
    groups = _groups_present(problem)
    relaxed = relaxed_problem(problem, tuning)
    floor = budget_floor(problem, clock.part("budget floor", tuning.floor_share)) if "budget" in groups else None
    first = {}
    rng = None
    if "budget" in groups and problem.scenario.budget.total_10k_yuan is not None:
        low = (floor or {}).get("needed_at_least_10k_yuan")
        rng = budget_range(problem, low, clock.part("budget range", tuning.range_share))
        first["budget"] = rng.alone
    elif "budget" in groups:  # category limits only: the elastic budget alone
        part = clock.part("budget alone", tuning.range_share)
        first["budget"] = elastic_solve(problem, frozenset(["budget"]), part, relaxed=relaxed)
    if "standards" in groups:  # which standards at which schools must give: names the schools
        soft = shortfall_solve(problem, clock.part("standards with priced gaps", tuning.shortfall_share))
        if soft is not None:
            first["standards"] = soft
    rest = [g for g in groups if g not in first]
    alone = _alone(problem, groups, clock.part("each group alone", len(rest) / (len(rest) + 1)), relaxed, first)
    combined = elastic_solve(problem, frozenset(groups), clock, relaxed=relaxed)
    fixes = [g for g, a in alone.items() if a["feasible"]]
    d = {
        "scenario": problem.scenario.name,
        "status": "infeasible",
        "stage": stage,
        "reasons": list(reasons or []),
        "budget_floor": floor,
        "budget_range": None if rng is None else rng.figures,
        "combined": combined,
        "alone": alone,
        "enough_alone": fixes,
        "summary": [r["message"] for r in combined.get("relaxations", [])],
        "distance_factor": tuning.distance_factor,
        "distance_extra_km": tuning.distance_extra_km,
        "penalties": {
            k.removeprefix("penalty_"): v for k, v in tuning.model_dump().items() if k.startswith("penalty_")
        },
        "seconds": round(clock.elapsed(), 2),
    }
    return d, (rng if rng is not None and rng.plan is not None else None)


def format_diagnosis(d: dict, *, reasons: bool = True) -> str:
    """The diagnosis as lines for the terminal (``reasons``: repeat the checks' findings)."""
    out = [f"Scenario '{d['scenario']}' has no plan."]
    if reasons and d.get("reasons"):
        out.append("Found before solving:")
        out += [f"  - {r}" for r in d["reasons"]]
    floor = d.get("budget_floor") or {}
    if floor.get("enough") is False:
        out.append(f"Proved: {floor['message']}.")
    rng = d.get("budget_range") or {}
    if rng.get("high_10k_yuan") is not None:
        out.append(
            f"Budget: {rng['message']}; the high end is {rng.get('high_is', 'the cheapest found')} with only the "
            "budget relaxed (the suggested plan)."
        )
    for g, a in d.get("alone", {}).items():
        if a.get("feasible"):
            out.append(f"Relaxing {g} alone is enough: {_listing(a)}")
        elif a.get("status") in ("infeasible", "unreachable"):
            reach = " (some villages are out of reach)" if a["status"] == "unreachable" else ""
            out.append(f"Relaxing {g} alone is not enough{reach}")
        else:
            out.append(f"Relaxing {g} alone: not settled in the time given ({a.get('status')})")
    comb = d.get("combined", {})
    if comb.get("feasible"):
        out.append("One of many ways to a plan, every limit relaxable at once (the least total penalty found):")
        out += [f"  - {r['message']}" for r in comb["relaxations"]] or ["  - none needed (numerical trouble?)"]
    elif comb.get("status") == "unreachable":
        lost = comb["unreached"]
        names = ", ".join(f"{u['village']} ({u['township']}, {u['band']})" for u in lost[:8])
        out.append(
            f"{len(lost)} village band(s) have no school that may teach them even at x{d.get('distance_factor', 2):g} "
            f"(or +{d.get('distance_extra_km', 5):g} km) the trip limit: {names}{' ...' if len(lost) > 8 else ''}; "
            "add a candidate site near them or allow longer trips (policy.max_trip_km, boarding_allowed)."
        )
    elif comb:
        infeasible = comb.get("status") == "infeasible"
        groups = ", ".join(
            "trips up to x{:g} the limit".format(d.get("distance_factor", 2)) if g == "distance" else g
            for g in comb.get("relaxed", [])
        )
        out.append(
            f"Relaxing {groups} at once: {'still infeasible' if infeasible else 'no plan found in the time given'}"
            f"{'; check the fixed decisions, policy.moves and allow_new_builds' if infeasible else ''}."
        )
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
