"""Checks before solving: say why a scenario cannot work, with both numbers.

These are cheap necessary conditions; passing them does not prove a plan
exists, but failing one proves none does, and the message names the rule.
"""

from __future__ import annotations

from planner import BANDS, TYPES
from planner.errors import ScenarioConflict
from planner.problem import Problem
from planner.travel import band_limit_km, serving_types


def _target_vs_sites(problem: Problem) -> list[str]:
    out = []
    for t in TYPES:
        lo, _ = problem.scenario.target_bounds(t)
        n = int(problem.sites["allowed"].map(lambda a: t in a).sum())
        if lo is not None and lo > n:
            out.append(f"target {t} = {lo}, but only {n} sites may be {t} (moves, allowed_types, fixed decisions)")
    must_open = problem.sites["allowed"].map(lambda a: "closed" not in a)
    opened_min = int(must_open.sum())
    total_max = 0
    for t in TYPES:
        _, hi = problem.scenario.target_bounds(t)
        total_max += hi if hi is not None else len(problem.sites)
    if opened_min > total_max:
        out.append(f"{opened_min} sites may not close, but the targets allow at most {total_max} open schools")
    return out


def _unreachable(problem: Problem) -> list[str]:
    out = []
    reached = problem.pairs.groupby("band")["village_id"].agg(set)
    for b in BANDS:
        need = problem.villages.index[problem.villages[f"pupils_{b}"] > 0]
        lost = sorted(set(need) - reached.get(b, set()))
        if lost:
            names = ", ".join(lost[:8]) + (f" and {len(lost) - 8} more" if len(lost) > 8 else "")
            out.append(f"{len(lost)} village(s) have {b} pupils but no school type that may teach {b} within "
                       f"{band_limit_km(problem, b):g} km: {names}")
    return out


def _capacity(problem: Problem) -> list[str]:
    caps = problem.scenario.caps.school_pupils
    out = []
    for b in BANDS:
        types = set(serving_types(problem, b))
        cap = 0.0
        for allowed in problem.sites["allowed"]:
            cs = [caps.get(t) for t in allowed if t in types]
            if any(c is None for c in cs):
                cap = float("inf")
                break
            cap += max(cs, default=0)
        pupils = float(problem.villages[f"pupils_{b}"].sum())
        if pupils > cap:
            out.append(f"band {b}: {pupils:,.0f} pupils but the sites that may teach it hold at most {cap:,.0f}")
    return out


def _budget(problem: Problem) -> list[str]:
    scen = problem.scenario
    if scen.budget.total_10k_yuan is None:
        return []
    fixed_new = [(s, t) for s, t in scen.fixed.items() if t != "closed" and problem.sites.at[s, "kind"] == "candidate"]
    cost = sum(scen.costs.new_build_10k_yuan.get(t, 0.0) + float(problem.sites.at[s, "land_cost_10k_yuan"]) for s, t in fixed_new)
    if cost > scen.budget.total_10k_yuan:
        return [f"budget {scen.budget.total_10k_yuan:,.0f} (10k yuan) is below the {cost:,.0f} that the fixed new builds "
                f"({', '.join(s for s, _ in fixed_new)}) cost"]
    return []


def presolve_checks(problem: Problem) -> None:
    """Raise :class:`ScenarioConflict` listing every reason found."""
    reasons = [*_target_vs_sites(problem), *_unreachable(problem), *_capacity(problem), *_budget(problem)]
    if reasons:
        raise ScenarioConflict(reasons)

