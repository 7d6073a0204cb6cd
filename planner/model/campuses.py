"""One school, two campuses (一校两区, seed 001): ``campuses:`` in the scenario.

``campus[s,h]`` (binary): existing school ``s`` stays open at its type as a
campus of ``h``. ``campus_open[s,h]``: only while ``s`` is open at its type;
``campus_host[s,h]``: only while ``h`` is open as a type teaching every level
of ``s`` (not a teaching point); ``campus_one[s]``: one host at most;
``campus_hosts[h]``: at most ``max_per_host`` campuses, none if ``h`` is
itself a campus; ``campus_cap[s,h]``: the pair's pupils within the host's
school cap (``+ M (1 - campus)``, ``M`` the campus's own largest cap, so the
row binds nothing otherwise). The targets count the pair once
(:func:`planner.model.families.add_targets` subtracts the campuses), and
``campuses.penalty`` prices each in the objective (:func:`~planner.model.costs.set_objective`).
"""

from __future__ import annotations

import pulp

from planner.data.problem import Problem
from planner.data.travel import sites_within
from planner.domain import TYPES, levels_of
from planner.model.core import Builder
from planner.model.variables import site_pupils


def host_types(campus_type: str) -> tuple[str, ...]:
    """The types a host of a campus of ``campus_type`` may have."""
    need = set(levels_of(campus_type))
    return tuple(t for t in TYPES if t != "teaching_point" and need <= set(levels_of(t)))


def add_campuses(b: Builder, problem: Problem) -> None:
    """The ``campus`` columns and rows of the module docstring (nothing without ``campuses:``)."""
    cc = problem.scenario.campuses
    if cc is None:
        return
    sites = problem.sites
    schools = sites.index[(sites["kind"] == "school").to_numpy() & sites["type_before"].isin(cc.types).to_numpy()]
    opens = b.open.set_index(["site_id", "type"])["var"].to_dict()
    for s, h, _ in sites_within(problem, schools, sites.index, cc.max_km).itertuples(index=False):
        own = opens.get((s, sites.at[s, "type_before"]))
        hosting = [opens[(h, t)] for t in host_types(sites.at[s, "type_before"]) if (h, t) in opens]
        if own is None or not hosting:
            continue
        c = b.campus[(s, h)] = b.var("campus", (s, h), upper=1.0, integer=True, site=s)
        b.add("campus_open", (s, h), c <= own)
        b.add("campus_host", (s, h), c <= pulp.lpSum(hosting))
    by_campus: dict[str, list] = {}
    by_host: dict[str, list] = {}
    for (s, h), c in b.campus.items():
        by_campus.setdefault(s, []).append(c)
        by_host.setdefault(h, []).append(c)
    for s, cs in sorted(by_campus.items()):
        b.add("campus_one", (s,), pulp.lpSum(cs) <= 1)
    k = float(cc.max_per_host)
    for h, cs in sorted(by_host.items()):
        b.add("campus_hosts", (h,), pulp.lpSum(cs) + k * pulp.lpSum(by_campus.get(h, [])) <= k)
    _pair_caps(b, problem, opens)


def _pair_caps(b: Builder, problem: Problem, opens: dict) -> None:
    """``campus_cap[s,h]`` (see the module docstring); skipped without school caps."""
    caps = problem.scenario.caps.school_pupils
    if all(caps.get(t) is None for t in TYPES):
        return
    total = float(b.pairs.drop_duplicates(["village_id", "band"])["pupils"].sum())

    def cap(t: str) -> float:
        c = caps.get(t)
        return total if c is None else float(c)

    pupils = site_pupils(b)
    for (s, h), c in b.campus.items():
        if s not in pupils and h not in pupils:
            continue
        big = max(cap(t) for t in TYPES if (s, t) in opens)
        host_cap = pulp.lpSum(cap(t) * opens[(h, t)] for t in TYPES if (h, t) in opens)
        both = pupils.get(s, pulp.LpAffineExpression()) + pupils.get(h, pulp.LpAffineExpression())
        b.add("campus_cap", (s, h), both <= host_cap + big * (1 - c))
