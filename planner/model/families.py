"""The layout model's constraint families (DESIGN.md §4), one ``add_<family>`` each.

Each function adds the rows of one family to the :class:`Builder`, under
keys such as ``class_cap[S042,primary]``, and skips an empty index. With
standards, costs and caps switched off the rows are exactly the p-median's;
with one school cap and whole catchments, the single-source capacitated
p-median's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pulp

from planner.data.problem import Problem
from planner.data.travel import serving_types
from planner.domain import AREA_KINDS, BANDS, LEVEL_TYPES, LEVELS, TYPES
from planner.model.core import Builder, expr
from planner.model.form import Rows
from planner.model.variables import level_pupils, open_by_site, pupil_rows, site_pupils


def add_enrolment(b: Builder, problem: Problem) -> None:
    """``enrolment[s,level]``: ``enrol`` equals the pupils assigned to the site
    at that level; ``boarding[s]``: ``boarders`` equals its pupils whose trip
    exceeds the walking limit. Defined once, referenced by every per-site
    rule, so each rule has a handful of nonzeros instead of the whole sum.
    Skipped when no per-site rule is on (the pure p-median)."""
    caps, st = problem.scenario.caps, problem.scenario.standards
    if not (
        st.enabled
        or any(v is not None for v in caps.class_size.values())
        or any(v is not None for v in caps.school_pupils.values())
    ):
        return
    for level in LEVELS:

        def enrol(s: str, level: str = level) -> pulp.LpVariable:
            v = b.enrol[(s, level)] = b.var("enrol", (s, level), site=s)
            return v

        sites, rows = pupil_rows(b, (b.pairs["level"] == level).to_numpy(), enrol)
        b.add_rows("enrolment", [(s, level) for s in sites], rows)

    def boarders(s: str) -> pulp.LpVariable:
        v = b.boarders[s] = b.var("boarders", (s,), site=s)
        return v

    sites, rows = pupil_rows(b, b.pairs["boards"].to_numpy(bool), boarders)
    b.add_rows("boarding", [(s,) for s in sites], rows)


def add_one_type(b: Builder, problem: Problem) -> None:
    """``one_type[s]``: a site takes at most one type; exactly one if it may not close."""
    for s, vars_ in open_by_site(b).items():
        may_close = "closed" in problem.sites.at[s, "allowed"]
        e = expr(vars_)
        b.add("one_type", (s,), e <= 1 if may_close else e == 1)


def add_assign_all(b: Builder, problem: Problem) -> None:
    """``assign_all[v,band]``: every child of every village is taught somewhere."""
    groups = b.pairs.groupby(["village_id", "band"], sort=True).indices
    if not groups:
        return
    pos = b.pairs["pos"].to_numpy(np.int64)
    lens = np.array([len(i) for i in groups.values()], np.int64)
    ones = np.ones(len(lens))
    cols = pos[np.concatenate(list(groups.values()))]
    b.add_rows("assign_all", list(groups), Rows(lens, cols, np.ones(len(cols)), ones, ones))


def add_assign_open(b: Builder, problem: Problem) -> None:
    """``assign_open[v,band,s]``: assign only to a site open as a type that
    teaches the band (the strong, per-pair form that tightens the LP): per
    pair, ``assign - sum(open) <= 0``, as arrays (the model's largest family)."""
    p = b.pairs
    by_band = {band: open_by_site(b, serving_types(problem, band)) for band in BANDS}
    serving = [(s, band, v.pos) for band, by_site in by_band.items() for s, vs in by_site.items() for v in vs]
    site_band = pd.MultiIndex.from_arrays([p["site_id"], p["band"]])
    opens = pd.MultiIndex.from_tuples([(s, band) for s, band, _ in serving], names=site_band.names)
    pair, opened = _matches(site_band, opens)
    row = np.concatenate([np.arange(len(p)), pair])
    col = np.concatenate([p["pos"].to_numpy(np.int64), np.array([o for *_, o in serving], np.int64)[opened]])
    coef = np.concatenate([np.ones(len(p)), -np.ones(len(pair))])
    order = np.argsort(row, kind="stable")
    lens = np.bincount(row, minlength=len(p)).astype(np.int64)
    keys = list(zip(p["village_id"], p["band"], p["site_id"]))
    b.add_rows("assign_open", keys, Rows(lens, col[order], coef[order], np.full(len(p), -np.inf), np.zeros(len(p))))


def _matches(left: pd.Index, right: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with ``left[i] == right[j]``, as two arrays, ordered by i then j."""
    codes, _ = pd.factorize(left.append(right))
    lc, rc = codes[: len(left)], codes[len(left) :]
    by = np.argsort(rc, kind="stable")
    start = np.searchsorted(rc[by], lc, side="left")
    count = np.searchsorted(rc[by], lc, side="right") - start
    i = np.repeat(np.arange(len(left)), count)
    offset = np.arange(len(i)) - np.repeat(np.cumsum(count) - count, count)
    return i, by[np.repeat(start, count) + offset]


def add_classes(b: Builder, problem: Problem) -> None:
    """``class_cap[s,level]``: pupils of a level <= classes x class cap;
    ``classes_open[s,level]``: classes only at a type that teaches the level;
    ``site_classes[s]``: all classes within the site's ``max_classes``."""
    caps, sites = problem.scenario.caps, problem.sites
    for level in LEVELS:
        cap = caps.class_size.get(level)
        if cap is None:
            continue
        opens = open_by_site(b, LEVEL_TYPES[level])
        for s, e in level_pupils(b, level).items():
            c = b.classes[(s, level)] = b.var("classes", (s, level), integer=True, site=s)
            b.add("class_cap", (s, level), e <= cap * c)
            b.add("classes_open", (s, level), c <= float(sites.at[s, "max_classes"]) * expr(opens.get(s, [])))
    if not caps.use_site_max_classes:
        return
    opens = open_by_site(b)
    for s in sorted({s for s, _ in b.classes}):
        cs = [b.classes[(s, lv)] for lv in LEVELS if (s, lv) in b.classes]
        b.add("site_classes", (s,), expr(cs) <= float(sites.at[s, "max_classes"]) * expr(opens.get(s, [])))


def add_school_cap(b: Builder, problem: Problem) -> None:
    """``school_cap[s]``: pupils of a school <= the cap of the type it takes
    (2000; 2500 for nine-year). Types without a cap get the county total."""
    caps = problem.scenario.caps.school_pupils
    if all(caps.get(t) is None for t in TYPES):
        return
    total = float(b.pairs.drop_duplicates(["village_id", "band"])["pupils"].sum())
    cap_of = b.open["type"].map(lambda t: total if (c := caps.get(t)) is None else float(c))
    by_site = {
        s: expr(b.open["var"].iloc[i], cap_of.iloc[i].to_numpy()) for s, i in b.open.groupby("site_id").indices.items()
    }
    for s, e in site_pupils(b).items():
        b.add("school_cap", (s,), e <= by_site[s])


def free_site_m2(problem: Problem) -> pd.Series:
    """Site area not under buildings or sports ground (>= 0)."""
    st, s = problem.scenario.standards, problem.sites
    free = s["site_area_m2"] - s["sports_area_m2"] - (s["teaching_area_m2"] + s["living_area_m2"]) / st.building_floors
    return free.clip(lower=0.0)


def add_areas(b: Builder, problem: Problem, prior: dict | None = None) -> None:
    """``teaching_area[s]`` and ``sports_area[s]``: existing + added >= the
    per-pupil standard of each level; ``living_area[s]``: existing + added >=
    m² per boarder x boarders (a child boards when the trip exceeds the band's
    walking limit); ``site_room[s]``: new footprint and sports ground fit the
    free site area, and only at an open site.

    In a phase's block ``prior`` holds what earlier phases added (site, kind)
    -> expression: it counts from then on, ``site_room`` holds all that was
    added, and ``area_open[s]`` allows this phase's additions only at a site
    open in this phase (a school closed later keeps what it was given)."""
    st = problem.scenario.standards
    if not st.enabled:
        return
    sites = problem.sites
    std = {"teaching": st.teaching_area_m2_per_pupil, "sports": st.sports_area_m2_per_pupil}
    opens = open_by_site(b)
    free = free_site_m2(problem)
    for s in sorted(b.pairs["site_id"].unique()):
        for k in AREA_KINDS:
            b.added[(s, k)] = b.var("area_added", (s, k), site=s)
    before = prior or {}

    def have(s: str, k: str):
        return float(sites.at[s, f"{k}_area_m2"]) + before.get((s, k), 0.0) + b.added[(s, k)]

    for kind, per in std.items():
        for s in sorted({s for s, _ in b.enrol}):
            lvs = [lv for lv in LEVELS if (s, lv) in b.enrol]
            need = expr([b.enrol[(s, lv)] for lv in lvs], [per[lv] for lv in lvs])
            b.add(f"{kind}_area", (s,), have(s, kind) >= need)
    for s, v in b.boarders.items():
        b.add("living_area", (s,), have(s, "living") >= st.living_area_m2_per_boarder * v)
    for s in sorted({s for s, _ in b.added}):
        footprint = (b.added[(s, "teaching")] + b.added[(s, "living")]) * (1.0 / st.building_floors) + b.added[
            (s, "sports")
        ]
        if prior is None:
            b.add("site_room", (s,), footprint <= float(free[s]) * expr(opens.get(s, [])))
            continue
        earlier = (before.get((s, "teaching"), 0.0) + before.get((s, "living"), 0.0)) * (
            1.0 / st.building_floors
        ) + before.get((s, "sports"), 0.0)
        b.add("site_room", (s,), footprint + earlier <= float(free[s]))
        b.add("area_open", (s,), footprint <= float(free[s]) * expr(opens.get(s, [])))


def add_targets(b: Builder, problem: Problem) -> None:
    """``target_count[type]``: open sites of each type, less the campuses of
    that type (counted in their host), equal the target, or lie within its
    range (``target_min``, ``target_max``)."""
    scen, before = problem.scenario, problem.sites["type_before"]
    for t in TYPES:
        lo, hi = scen.target_bounds(t)
        if lo is None and hi is None:
            continue
        campuses = [c for (s, _), c in b.campus.items() if before[s] == t]
        e = expr(b.open.loc[b.open["type"] == t, "var"]) - pulp.lpSum(campuses)
        if lo is not None and lo == hi:
            b.add("target_count", (t,), e == lo)
            continue
        if lo is not None:
            b.add("target_min", (t,), e >= lo)
        if hi is not None:
            b.add("target_max", (t,), e <= hi)
