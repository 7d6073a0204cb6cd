"""A phased solution read back: the plan at the end (what the layout table
shows, against today's schools), and one table per phase (what each phase
holds and spends, and when each change takes effect)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from planner.assess.decode import Plan, counts_by_type, decode
from planner.assess.summary import trip_figures
from planner.config.scenario import PhaseConfig, Scenario
from planner.config.standards import STOCK_COLUMNS
from planner.data.problem import Problem
from planner.domain import AREA_KINDS, BANDS, LEVELS
from planner.model.core import Model
from planner.model.phased import PhasedModel, phase_targets
from planner.solve.status import Solution

PHASE_COLUMNS = (
    "school_id",
    "phase",
    "type",
    *(f"classes_{lv}" for lv in LEVELS),
    *(f"pupils_{b}" for b in BANDS),
    "boarders",
    *(f"{k}_area_added_m2" for k in AREA_KINDS),
    "short_teaching_area_m2",
    "short_sports_area_m2",
)
"""Columns of ``phases.csv``: one row per site open in a phase (or open before it)."""


@dataclass(frozen=True)
class PhasedPlan:
    """The plan at the end (with each phase's table and assignments) and the phases' figures."""

    plan: Plan
    figures: list[dict]


def _strip(keyed: Mapping, phase: str, *, single: bool = False) -> Mapping:
    """The columns of one phase, keys without the phase (``single``: keys were plain sites)."""
    out = {k[:-1] if not single else k[0]: c for k, c in keyed.items() if k[-1] == phase}
    return MappingProxyType(out)


def phase_view(pm: PhasedModel, phase: str) -> Model:
    """The phased model seen as one phase's single-year model (the same columns)."""
    m = pm.model

    def only(tab: pd.DataFrame) -> pd.DataFrame:
        return tab[tab["phase"] == phase].drop(columns="phase").reset_index(drop=True)

    return replace(
        m,
        open=only(m.open),
        pairs=only(m.pairs),
        classes=_strip(m.classes, phase),
        added=_strip(m.added, phase),
        enrol=_strip(m.enrol, phase),
        boarders=_strip(m.boarders, phase, single=True),
        standards=_strip(m.standards, phase),
        moved=_strip(m.moved, phase),
        cost=MappingProxyType(pm.phase_cost[phase]),
    )


def added_by_end(pm: PhasedModel, x: np.ndarray) -> np.ndarray:
    """``x`` with the last phase's area columns holding every phase's additions."""
    out, last = x.copy(), pm.phases[-1]
    for (s, k, ph), col in pm.model.added.items():
        end = pm.model.added.get((s, k, last))
        if ph != last and end is not None:
            out[end] += x[col]
    return out


def _phase_rows(view: Model, problem: Problem, sol: Solution, phase: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One phase's table and assignments."""
    plan = decode(view, problem, sol)
    t = plan.schools.rename(columns={"type_after": "type"}).assign(phase=phase)
    x = sol.values
    for k in ("teaching_area", "sports_area"):
        col = [view.standards.get((s, f"short_{k}")) for s in t["school_id"]]
        t[f"short_{k}_m2"] = [0.0 if c is None else round(float(x[c]), 2) for c in col]
    return t[list(PHASE_COLUMNS)], plan.assignments.assign(phase=phase)


def when_changed(phases: pd.DataFrame, sites: pd.DataFrame, scen: Scenario) -> pd.DataFrame:
    """Per site whose type changes: the phase it takes effect in and that phase's first year."""
    first = {p.name: p.first_year for p in scen.phases}
    rows = []
    for s, grp in phases.groupby("school_id", sort=True):
        before = sites.at[s, "type_before"]
        changed = grp[grp["type"] != before]
        if len(changed):
            ph = changed["phase"].iloc[0]
            rows.append((s, ph, first[ph]))
    return pd.DataFrame(rows, columns=["school_id", "phase", "phase_year"])


def _figures(pm: PhasedModel, problems: Sequence[Problem], tables, spans, x: np.ndarray) -> list[dict]:
    scen = problems[-1].scenario
    out = []
    for phase, problem, (t, a), span in zip(scen.phases, problems, tables, spans):
        cost = {k: round(v.value(x), 4) for k, v in pm.phase_cost[phase.name].items()}
        cost["total"] = round(sum(cost.values()), 4)
        pupils = {b: round(float(problem.villages[f"pupils_{b}"].sum()), 3) for b in BANDS}
        out.append(
            {
                "name": phase.name,
                "first_year": phase.first_year,
                "last_year": phase.last_year,
                "plan_year": span[0] if span is not None and span[0] == span[1] else None,
                "plan_years": list(span) if span is not None else None,
                "budget_10k_yuan": phase.budget_10k_yuan,
                "cost_10k_yuan": cost,
                "cost_budgeted_10k_yuan": round(scen.budget.budgeted(cost), 4),
                "counts": counts_by_type(t["type"]),
                "pupils": {**pupils, "total": round(sum(pupils.values()), 3)},
                "boarders": round(float(a.loc[a["boards"], "pupils"].sum()), 3),
                **trip_figures(a),
            }
        )
    return out


def decode_phased(
    pm: PhasedModel,
    problems: Sequence[Problem],
    sol: Solution,
    spans: Sequence[tuple[int, int] | None],
    build_seconds: float,
) -> PhasedPlan:
    """The end plan (every area added by the end, against today's schools), each
    phase's rows and figures (``spans``: the years each phase is planned for)."""
    tables = [_phase_rows(phase_view(pm, ph), p, sol, ph) for ph, p in zip(pm.phases, problems)]
    end = decode(phase_view(pm, pm.phases[-1]), problems[-1], sol.but(x=added_by_end(pm, sol.values)))
    end = replace(end, result=sol, build_seconds=build_seconds)
    phases = pd.concat([t for t, _ in tables], ignore_index=True)
    when = when_changed(phases, problems[-1].sites, problems[-1].scenario).set_index("school_id")
    schools = end.schools.copy()
    phase_of, year_of = when["phase"].to_dict(), when["phase_year"].to_dict()
    schools["phase"] = [phase_of.get(s, "") for s in schools["school_id"]]
    schools["phase_year"] = pd.array([year_of.get(s) for s in schools["school_id"]], dtype="Int64")
    assignments = pd.concat([a for _, a in tables], ignore_index=True)
    end = replace(end, schools=schools, phases=phases, phase_assignments=assignments)
    return PhasedPlan(end, _figures(pm, problems, tables, spans, sol.values))


def after_phases(pm: PhasedModel, problems: Sequence[Problem], x: np.ndarray, phase: PhaseConfig) -> Problem:
    """The last phase (``phase``)'s problem as a single-year one, after the
    phases before it at ``x`` (their columns whole): built sites are schools of
    their type, areas added are stock, a site changed before keeps its type and
    a closed school stays closed, any other site may take any type it may take
    at all; the phase's targets, its budget within what the total leaves."""
    scen = problems[-1].scenario
    before, last = pm.phases[:-1], pm.phases[-1]
    sites = problems[-1].sites.copy()
    if before:
        o = pm.model.open
        held = o[(o["phase"] == before[-1]) & (x[o["col"].to_numpy()] > 0.5)]
        now = held.set_index("site_id")["type"].reindex(sites.index).fillna("closed")
        built = (sites["kind"] == "candidate") & (now != "closed")
        sites.loc[built, "kind"] = "school"
        sites.loc[built, "land_cost_10k_yuan"] = 0.0
        for c in (c for c in STOCK_COLUMNS if not c.endswith("_area_m2")):
            if c in sites.columns:  # a new build's resources count from nothing, as the phased model's do
                sites.loc[built, c] = 0.0
        school = sites["kind"] == "school"
        changed = school & (now != sites["type_before"])
        sites.loc[school, "type_before"] = now[school]
        for (s, k, ph), col in pm.model.added.items():
            if ph != last:
                sites.at[s, f"{k}_area_m2"] += float(x[col])
        sites["allowed"] = [(t,) if c else a for t, c, a in zip(sites["type_before"], changed, sites["allowed"])]
    spent = sum(scen.budget.budgeted({k: v.value(x) for k, v in pm.phase_cost[ph].items()}) for ph in before)
    total = scen.budget.total_10k_yuan
    limits = [v for v in (phase.budget_10k_yuan, None if total is None else max(0.0, total - spent)) if v is not None]
    budget = scen.budget.model_copy(update={"total_10k_yuan": min(limits) if limits else None})
    targets = phase_targets(scen, phase, True)
    return replace(problems[-1], sites=sites, scenario=scen.model_copy(update={"targets": targets, "budget": budget}))


def phase_alone(problem: Problem, phase_index: int) -> Problem:
    """A relaxation of the phased model's block ``phase_index`` as a
    single-year problem: every site may take any type it may take at all, the
    budget is what this phase and those before it may spend (within the total),
    and the phase's targets hold. No plan for it means no phased plan."""
    scen = problem.scenario
    phases = scen.phases
    budgets = [p.budget_10k_yuan for p in phases[: phase_index + 1]]
    so_far = None if any(v is None for v in budgets) else sum(v for v in budgets if v is not None)
    limits = [v for v in (so_far, scen.budget.total_10k_yuan) if v is not None]
    budget = scen.budget.model_copy(update={"total_10k_yuan": min(limits) if limits else None})
    targets = phase_targets(scen, phases[phase_index], phase_index == len(phases) - 1)
    return replace(problem, scenario=scen.model_copy(update={"targets": targets, "budget": budget}))
