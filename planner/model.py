"""Model: the mixed-integer programme of DESIGN.md §4, built with PuLP.

Index sets come from data frames (``open`` rows = allowed (site, type),
``pairs`` rows = pruned (village, band, site)); each constraint family is one
``add_<family>`` function that skips an empty index, and :func:`build_model`
lists them in order so the model reads like its specification. Every row is
registered under a readable name such as ``class_cap[S042,primary]``.

With standards, costs and caps switched off the model is exactly the
p-median; with one school cap and whole catchments it is the single-source
capacitated p-median.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from planner import AREA_KINDS, BANDS, LEVEL_OF_BAND, LEVELS, TYPES
from planner.problem import Problem
from planner.travel import serving_types

LEVEL_TYPES: dict[str, tuple[str, ...]] = {
    "primary": ("teaching_point", "primary", "nine_year"),
    "junior": ("junior", "nine_year"),
}
"""Types that teach each level (and so may hold classes of it)."""

COST_CATEGORIES = ("teaching", "living", "sports", "new_build", "upgrade", "land")


@dataclass
class Model:
    """A built PuLP problem plus the tables that map its variables to data."""

    lp: pulp.LpProblem
    open: pd.DataFrame
    pairs: pd.DataFrame
    classes: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    added: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    cost: dict[str, pulp.LpAffineExpression] = field(default_factory=dict)
    rows: dict[str, pulp.LpConstraint] = field(default_factory=dict)
    enrol: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    """Pupils of each (site, level), defined once by ``enrolment[s,level]``."""
    boarders: dict[str, pulp.LpVariable] = field(default_factory=dict)
    """Boarders of each site, defined once by ``boarding[s]``."""
    standards: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    """Investment and shortfall variables of :mod:`planner.model_standards`, keyed (site, name)."""
    moved: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    """Pupils of each (site, band) who must change school, when the objective prices them."""
    allow_shortfalls: bool = True
    """Standards may fall short at a price (``indicators.allow_shortfalls``)."""

    def add(self, family: str, key: tuple, constraint: pulp.LpConstraint) -> None:
        """Register a row as ``family[k1,k2,...]`` and add it to the LP."""
        name = f"{family}[{','.join(map(str, key))}]"
        constraint.name = f"{family}_{len(self.rows)}"
        self.rows[name] = constraint
        self.lp += constraint

    def family_sizes(self) -> dict[str, int]:
        """Rows per constraint family, for benchmarks and structural tests."""
        out: dict[str, int] = {}
        for name in self.rows:
            fam = name.split("[", 1)[0]
            out[fam] = out.get(fam, 0) + 1
        return out


def _expr(vars_: "pd.Series | list", coefs: "np.ndarray | list | float" = 1.0) -> pulp.LpAffineExpression:
    vs = list(vars_)
    cs = np.broadcast_to(np.asarray(coefs, dtype=float), (len(vs),))
    return pulp.LpAffineExpression(list(zip(vs, cs.tolist())))


# ---------------------------------------------------------------- variables


def open_table(lp: pulp.LpProblem, problem: Problem) -> pd.DataFrame:
    """One row and binary ``open[site,type]`` per allowed (site, type), closed excluded."""
    rows = [(s, t) for s, allowed in problem.sites["allowed"].items() for t in allowed if t != "closed"]
    tab = pd.DataFrame(rows, columns=["site_id", "type"])
    tab["var"] = [lp.add_variable(f"open[{s},{t}]", 0, 1, cat="Binary") for s, t in rows]
    return tab


def pair_table(lp: pulp.LpProblem, problem: Problem) -> pd.DataFrame:
    """The pruned pairs with pupils, level, boarding flag and ``assign`` variables."""
    pol = problem.scenario.policy
    p = problem.pairs.copy()
    pupils = problem.villages[[f"pupils_{b}" for b in BANDS]].rename(columns=lambda c: c[7:]).stack()
    p["pupils"] = pupils.reindex(pd.MultiIndex.from_arrays([p["village_id"], p["band"]])).to_numpy(float)
    p["level"] = p["band"].map(LEVEL_OF_BAND)
    p["boards"] = p["distance_km"] > p["band"].map(pol.walk_limit_km).astype(float)
    whole = p["band"].map(lambda b: pol.assignment.get(b, "whole") == "whole").to_numpy()
    p["var"] = [
        lp.add_variable(f"assign[{v},{b},{s}]", 0, 1, cat="Binary" if w else "Continuous")
        for v, b, s, w in zip(p["village_id"], p["band"], p["site_id"], whole)
    ]
    return p


def _open_by_site(m: Model, types: tuple[str, ...] | None = None) -> dict[str, list]:
    tab = m.open if types is None else m.open[m.open["type"].isin(types)]
    return tab.groupby("site_id", sort=True)["var"].apply(list).to_dict()


def _pupil_expr(m: Model, mask: pd.Series | None = None, coef: pd.Series | None = None) -> dict[str, pulp.LpAffineExpression]:
    """Per site: sum of pupils x assign (optionally masked or reweighted)."""
    p = m.pairs if mask is None else m.pairs[mask]
    w = p["pupils"] if coef is None else p["pupils"] * coef[p.index]
    out = {}
    for s, idx in p.groupby("site_id", sort=True).indices.items():
        out[s] = _expr(p["var"].iloc[idx], w.iloc[idx].to_numpy())
    return out


def level_pupils(m: Model, level: str) -> dict[str, pulp.LpAffineExpression]:
    """Per site: the pupils of ``level`` as a one-term expression of ``enrol``."""
    return {s: _expr([v]) for (s, lv), v in sorted(m.enrol.items()) if lv == level}


def site_pupils(m: Model) -> dict[str, pulp.LpAffineExpression]:
    """Per site: all its pupils (sum of its ``enrol`` variables)."""
    out: dict[str, list] = {}
    for (s, _), v in sorted(m.enrol.items()):
        out.setdefault(s, []).append(v)
    return {s: _expr(vs) for s, vs in out.items()}


# -------------------------------------------------------------- constraints


def add_enrolment(m: Model, problem: Problem) -> None:
    """``enrolment[s,level]``: ``enrol`` equals the pupils assigned to the site
    at that level; ``boarding[s]``: ``boarders`` equals its pupils whose trip
    exceeds the walking limit. Defined once, referenced by every per-site
    rule, so each rule has a handful of nonzeros instead of the whole sum.
    Skipped when no per-site rule is on (the pure p-median)."""
    caps, st = problem.scenario.caps, problem.scenario.standards
    if not (st.enabled or any(v is not None for v in caps.class_size.values())
            or any(v is not None for v in caps.school_pupils.values())):
        return
    for level in LEVELS:
        for s, e in _pupil_expr(m, m.pairs["level"] == level).items():
            v = m.lp.add_variable(f"enrol[{s},{level}]", 0)
            m.enrol[(s, level)] = v
            m.add("enrolment", (s, level), v == e)
    for s, e in _pupil_expr(m, m.pairs["boards"]).items():
        v = m.lp.add_variable(f"boarders[{s}]", 0)
        m.boarders[s] = v
        m.add("boarding", (s,), v == e)


def add_one_type(m: Model, problem: Problem) -> None:
    """``one_type[s]``: a site takes at most one type; exactly one if it may not close."""
    for s, vars_ in _open_by_site(m).items():
        may_close = "closed" in problem.sites.at[s, "allowed"]
        e = _expr(vars_)
        m.add("one_type", (s,), e <= 1 if may_close else e == 1)


def add_assign_all(m: Model, problem: Problem) -> None:
    """``assign_all[v,band]``: every child of every village is taught somewhere."""
    for (v, b), idx in m.pairs.groupby(["village_id", "band"], sort=True).indices.items():
        m.add("assign_all", (v, b), _expr(m.pairs["var"].iloc[idx]) == 1)


def add_assign_open(m: Model, problem: Problem) -> None:
    """``assign_open[v,band,s]``: assign only to a site open as a type that
    teaches the band (the strong, per-pair form that tightens the LP)."""
    by_band = {b: _open_by_site(m, serving_types(problem, b)) for b in BANDS}
    for v, b, s, x in m.pairs[["village_id", "band", "site_id", "var"]].itertuples(index=False):
        e = pulp.LpAffineExpression()  # x - sum(open) <= 0, filled in place: the model's largest family
        e[x] = 1.0
        for o in by_band[b].get(s, ()):
            e[o] = -1.0
        m.add("assign_open", (v, b, s), pulp.LpConstraint(e, pulp.LpConstraintLE, rhs=0.0))


def add_classes(m: Model, problem: Problem) -> None:
    """``class_cap[s,level]``: pupils of a level <= classes x class cap;
    ``classes_open[s,level]``: classes only at a type that teaches the level;
    ``site_classes[s]``: all classes within the site's ``max_classes``."""
    caps = problem.scenario.caps
    sites = problem.sites
    for level in LEVELS:
        cap = caps.class_size.get(level)
        if cap is None:
            continue
        pupils = level_pupils(m, level)
        opens = _open_by_site(m, LEVEL_TYPES[level])
        for s, e in pupils.items():
            c = m.lp.add_variable(f"classes[{s},{level}]", 0, None, cat="Integer")
            m.classes[(s, level)] = c
            m.add("class_cap", (s, level), e <= cap * c)
            m.add("classes_open", (s, level), c <= float(sites.at[s, "max_classes"]) * _expr(opens.get(s, [])))
    if not caps.use_site_max_classes:
        return
    opens = _open_by_site(m)
    for s in sorted({s for s, _ in m.classes}):
        cs = [m.classes[(s, lv)] for lv in LEVELS if (s, lv) in m.classes]
        m.add("site_classes", (s,), _expr(cs) <= float(sites.at[s, "max_classes"]) * _expr(opens.get(s, [])))


def add_school_cap(m: Model, problem: Problem) -> None:
    """``school_cap[s]``: pupils of a school <= the cap of the type it takes
    (2000; 2500 for nine-year). Types without a cap get the county total."""
    caps = problem.scenario.caps.school_pupils
    if all(caps.get(t) is None for t in TYPES):
        return
    total = float(m.pairs.drop_duplicates(["village_id", "band"])["pupils"].sum())
    pupils = site_pupils(m)
    cap_of = m.open["type"].map(lambda t: float(caps.get(t) if caps.get(t) is not None else total))
    by_site = {s: _expr(m.open["var"].iloc[i], cap_of.iloc[i].to_numpy()) for s, i in m.open.groupby("site_id").indices.items()}
    for s, e in pupils.items():
        m.add("school_cap", (s,), e <= by_site[s])


def _free_site_m2(problem: Problem) -> pd.Series:
    """Site area not under buildings or sports ground (>= 0)."""
    st, s = problem.scenario.standards, problem.sites
    free = s["site_area_m2"] - s["sports_area_m2"] - (s["teaching_area_m2"] + s["living_area_m2"]) / st.building_floors
    return free.clip(lower=0.0)


def add_areas(m: Model, problem: Problem) -> None:
    """``teaching_area[s]`` and ``sports_area[s]``: existing + added >= the
    per-pupil standard of each level; ``living_area[s]``: existing + added >=
    m² per boarder x boarders (a child boards when the trip exceeds the band's
    walking limit); ``site_room[s]``: new footprint and sports ground fit the
    free site area, and only at an open site."""
    st = problem.scenario.standards
    if not st.enabled:
        return
    sites = problem.sites
    std = {"teaching": st.teaching_area_m2_per_pupil, "sports": st.sports_area_m2_per_pupil}
    opens = _open_by_site(m)
    free = _free_site_m2(problem)
    for s in sorted(m.pairs["site_id"].unique()):
        for k in AREA_KINDS:
            m.added[(s, k)] = m.lp.add_variable(f"area_added[{s},{k}]", 0)
    for kind, per in std.items():
        for s in sorted({s for s, _ in m.enrol}):
            need = _expr([m.enrol[(s, lv)] for lv in LEVELS if (s, lv) in m.enrol],
                         [per[lv] for lv in LEVELS if (s, lv) in m.enrol])
            m.add(f"{kind}_area", (s,), float(sites.at[s, f"{kind}_area_m2"]) + m.added[(s, kind)] >= need)
    for s, b in m.boarders.items():
        m.add("living_area", (s,), float(sites.at[s, "living_area_m2"]) + m.added[(s, "living")] >= st.living_area_m2_per_boarder * b)
    for s in sorted({s for s, _ in m.added}):
        footprint = (m.added[(s, "teaching")] + m.added[(s, "living")]) * (1.0 / st.building_floors) + m.added[(s, "sports")]
        m.add("site_room", (s,), footprint <= float(free[s]) * _expr(opens.get(s, [])))


def add_targets(m: Model, problem: Problem) -> None:
    """``target_count[type]``: open sites of each type equal the target, or
    lie within its range."""
    scen = problem.scenario
    for t in TYPES:
        lo, hi = scen.target_bounds(t)
        if lo is None and hi is None:
            continue
        e = _expr(m.open.loc[m.open["type"] == t, "var"])
        if lo is not None and lo == hi:
            m.add("target_count", (t,), e == lo)
            continue
        if lo is not None:
            m.add("target_min", (t,), e >= lo)
        if hi is not None:
            m.add("target_max", (t,), e <= hi)


def cost_expressions(m: Model, problem: Problem) -> dict[str, pulp.LpAffineExpression]:
    """Cost by category in 10k yuan: areas at unit cost, lump sums for new
    builds and upgrades, land for opened candidate sites."""
    c, sites = problem.scenario.costs, problem.sites
    unit = {"teaching": c.teaching_yuan_per_m2, "living": c.living_yuan_per_m2, "sports": c.sports_yuan_per_m2}
    out = {k: _expr([v for (s, kk), v in m.added.items() if kk == k], unit[k] / 1e4) for k in unit}
    kind = m.open["site_id"].map(sites["kind"])
    before = m.open["site_id"].map(sites["type_before"])
    new = m.open[kind == "candidate"]
    out["new_build"] = _expr(new["var"], new["type"].map(c.new_build_10k_yuan).astype(float).to_numpy())
    out["land"] = _expr(new["var"], new["site_id"].map(sites["land_cost_10k_yuan"]).astype(float).to_numpy())
    up = m.open[(kind == "school") & (m.open["type"] != before) & m.open["type"].isin(["primary", "junior", "nine_year"])
                & ~((before == "nine_year") & (m.open["type"] == "junior"))]
    out["upgrade"] = _expr(up["var"], c.upgrade_10k_yuan)
    return out


def add_budget(m: Model, problem: Problem) -> None:
    """``budget_total``: the costs the budget covers <= budget (``budget.covers``);
    ``budget_category[k]``: per category."""
    b = problem.scenario.budget
    if b.total_10k_yuan is not None:
        m.add("budget_total", (), pulp.lpSum(e for k, e in m.cost.items() if b.covered(k)) <= b.total_10k_yuan)
    for k, limit in sorted(b.by_category_10k_yuan.items()):
        m.add("budget_category", (k,), m.cost.get(k, 0) <= limit)


def set_objective(m: Model, problem: Problem) -> None:
    """Pupil-km + weight x cost + weights x boarders by band + weight x pupils
    moved from their current school (all in pupil-km equivalents)."""
    w = problem.scenario.objective
    p = m.pairs
    coef = w.pupil_km * p["pupils"] * p["distance_km"]
    coef = coef + p["boards"] * p["pupils"] * p["band"].map(w.per_boarder).fillna(0.0)
    obj = _expr(p["var"], coef.to_numpy(float))
    if w.per_10k_yuan:
        obj += w.per_10k_yuan * pulp.lpSum(m.cost.values())
    if w.per_pupil_moved:
        obj += w.per_pupil_moved * _moved_pupils(m, problem)
    m.lp.setObjective(obj)


def _moved_pupils(m: Model, problem: Problem) -> pulp.LpAffineExpression:
    """``moved[s,band] >= enrolled now - enrolled after``: a lower bound on
    the pupils who must change school."""
    terms = []
    for b in BANDS:
        now = problem.schools[f"pupils_{b}"]
        after = _pupil_expr(m, m.pairs["band"] == b)
        for s, n in now[now > 0].items():
            mv = m.moved[(s, b)] = m.lp.add_variable(f"moved[{s},{b}]", 0)
            m.add("moved", (s, b), mv >= float(n) - after.get(s, pulp.LpAffineExpression()))
            terms.append(mv)
    return pulp.lpSum(terms)


UNCOUPLED_FAMILIES = frozenset({"one_type", "assign_all", "assign_open", "target_count", "target_min", "target_max",
                                "budget_total", "budget_category", "enrolment", "boarding"})
"""Families that leave each village-band free to take its cheapest open site
(``enrolment`` and ``boarding`` only define totals; they bind nothing unless
a family outside this set uses those totals)."""


def relax_uncoupled_assignments(m: Model) -> None:
    """Mark the whole-catchment ``assign`` variables that may be solved as
    continuous: when only :data:`UNCOUPLED_FAMILIES` hold rows (the p-median
    core), the assignment LP is integral for any open sites, so the optimum
    is unchanged and the solver branches on a few hundred ``open`` binaries
    instead of every pair. The pairs table's ``relaxed`` column marks them;
    :func:`apply_relaxation` (called by :mod:`planner.solve`) relaxes them
    only if the model is still as built, and the solver rounds a tie split
    back to one whole catchment."""
    whole = m.pairs["var"].map(lambda v: v.cat == pulp.LpInteger).to_numpy(bool)
    # Only for the single-type core (the p-median), where it was measured: with several types, free
    # choices such as an upgrade that the objective does not price would fall to the LP's vertex.
    ok = bool(whole.any()) and set(m.family_sizes()) <= UNCOUPLED_FAMILIES and m.open["type"].nunique() == 1
    m.pairs["relaxed"] = whole if ok else False
    m.pairs.attrs["relax_guard"] = _fingerprint(m) if ok else None


def _fingerprint(m: Model) -> tuple[int, int, int]:
    """Objective identity and row sizes: changes when rows gain terms (e.g.
    elastic slacks) or the objective is replaced after building."""
    return id(m.lp.objective), len(m.rows), sum(len(c.expr) for c in m.rows.values())


def apply_relaxation(m: Model) -> bool:
    """Make the marked ``assign`` variables continuous if the model is
    unchanged since :func:`build_model`; otherwise unmark them."""
    if "relaxed" not in m.pairs.columns or not m.pairs["relaxed"].any():
        return False
    if m.pairs.attrs.get("relax_guard") != _fingerprint(m):
        m.pairs["relaxed"] = False
        return False
    for v in m.pairs["var"][m.pairs["relaxed"].to_numpy(bool)]:
        v.cat = pulp.LpContinuous
    return True


CONSTRAINT_FAMILIES = (
    add_one_type, add_assign_all, add_assign_open, add_enrolment, add_classes, add_school_cap,
    add_areas, add_targets, add_budget,
)
"""Every constraint family, in the order :func:`build_model` adds them."""


def build_model(problem: Problem, floors: dict | None = None) -> Model:
    """Build the whole MILP for a problem with pairs attached (``floors``: raised
    indicator floors for balance, see :func:`planner.model_standards.balance_floors`)."""
    from planner.model_standards import add_shortfall_penalty, add_standard_investments

    lp = pulp.LpProblem(problem.scenario.name.replace(" ", "_"), pulp.LpMinimize)
    m = Model(lp=lp, open=open_table(lp, problem), pairs=pair_table(lp, problem))
    for add in CONSTRAINT_FAMILIES[:-1]:
        add(m, problem)
    m.cost = cost_expressions(m, problem)
    add_standard_investments(m, problem, floors)  # issue 6: staff, equipment, rooms (adds to m.cost)
    add_budget(m, problem)
    set_objective(m, problem)
    add_shortfall_penalty(m, problem)
    relax_uncoupled_assignments(m)
    return m
