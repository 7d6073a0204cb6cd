"""School groups and teacher rotation on the plan's schools (集团化办学,
交流轮岗; ``groups:``), formed after the layout by the group model
(:mod:`planner.model.groups`).

Cores: the plan's open schools (campuses count in their host) of
``core_types``, standing where ``core_kinds`` says (the kind of the village
nearest the school), that pass the standard after the plan. Members: the other
open schools that fall short of it today (``short``: 薄弱学校, by today's
teachers, areas and equipment), or every other open school whose nearest
village is rural (``rural``). A member may join a core within ``max_km`` that
teaches every level it teaches.

Rotation, a year: a school's eligible teachers are ``eligible_share`` of its
teachers after the plan (rounded down). The core exchanges with each member,
one for one, at least ``rotation_share`` of the member's eligible teachers
(rounded up) and at most all of them; at least ``backbone_share`` of the
teachers moving either way are backbone teachers the core sends (rounded up); a core sends at most its
own eligible and eligible backbone teachers; and the county rotates, both
ways, at least ``rotation_share`` of all its eligible teachers (rounded up)
where the groups have room for it (the shortfall is reported).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from planner.assess.indicators import before_table, level_table, resources_after
from planner.data.problem import Problem
from planner.data.travel import sites_within
from planner.domain import BANDS
from planner.model.campuses import host_types
from planner.model.groups import GroupCandidates, GroupModel

GROUP_COLUMNS = (
    "group",
    "core_id",
    "core_name",
    "member_id",
    "member_name",
    "member_type",
    "distance_km",
    "member_pupils",
    "teachers_exchanged",
    "backbone_sent",
)
"""groups.csv: one row per member (``group`` and ``core_id`` empty for a member no core can take)."""

EPS = 1e-9


def site_kinds(problem: Problem) -> pd.Series:
    """Each site's kind (town, seat, village): its nearest village's."""
    v = problem.villages
    _, idx = cKDTree(v[["x", "y"]].to_numpy()).query(problem.sites[["x", "y"]].to_numpy())
    return pd.Series(v["kind"].to_numpy()[idx], index=problem.sites.index)


def short_today(problem: Problem) -> pd.Index:
    """Existing schools short of the standard today (a level failing or unknown)."""
    lv = level_table(problem.sites, before_table(problem.sites), problem.scenario)
    return pd.Index(sorted(set(lv.loc[lv["status"] != "pass", "school_id"])))


def group_candidates(problem: Problem, schools: pd.DataFrame) -> GroupCandidates:
    """The members, cores and links of the module docstring, for the plan's ``schools``."""
    cfg = problem.scenario.groups
    assert cfg is not None
    s = schools.set_index("school_id")
    county = resources_after(problem.sites, schools[schools["type_after"] != "closed"]).fillna(0.0)
    on = s[(s["type_after"] != "closed") & (s["campus_of"] == "")]
    res = county.loc[on.index]
    kinds = site_kinds(problem) if cfg.core_kinds or cfg.members == "rural" else None
    core = on["type_after"].isin(cfg.core_types)
    if cfg.core_kinds and kinds is not None:
        core &= kinds.reindex(on.index).isin(cfg.core_kinds)
    if problem.scenario.indicators.enabled:
        core &= on["standard_status"] == "pass"
    rest = on.index[~core.to_numpy()]
    if cfg.members == "short":
        members = rest[rest.isin(short_today(problem))]
    else:
        assert kinds is not None
        members = rest[(kinds.reindex(rest) == "village").to_numpy()]
    pupils = on[[f"pupils_{b}" for b in BANDS]].sum(axis=1)
    eligible = np.floor(cfg.eligible_share * res["teachers"] + EPS)
    send = np.ceil(cfg.rotation_share * eligible.loc[members] - EPS)
    m = pd.DataFrame({"pupils": pupils.loc[members], "eligible": eligible.loc[members], "send": send}, index=members)
    cores = on.index[core.to_numpy()]
    backbone = np.floor(cfg.eligible_share * res.loc[cores, "teachers_backbone"] + EPS)
    c = pd.DataFrame(
        {
            "pupils": pupils.loc[cores],
            "eligible": eligible.loc[cores],
            "backbone": np.minimum(backbone, eligible.loc[cores]),
        },
        index=cores,
    )
    links = sites_within(problem, members, cores, cfg.max_km)
    fits = [
        k_type in host_types(m_type)
        for m_type, k_type in zip(on.loc[links["a"], "type_after"], on.loc[links["b"], "type_after"])
    ]
    links = links[np.asarray(fits, bool)].rename(columns={"a": "member", "b": "core"}).reset_index(drop=True)
    everyone = float(np.floor(cfg.eligible_share * county["teachers"] + EPS).sum())
    need = int(np.ceil(cfg.rotation_share * everyone - EPS))
    return GroupCandidates(m, c, links, need, everyone)


def group_table(gm: GroupModel, x: np.ndarray, c: GroupCandidates, schools: pd.DataFrame) -> pd.DataFrame:
    """groups.csv (:data:`GROUP_COLUMNS`) from the group model's values ``x``."""
    keys = list(zip(c.links["member"], c.links["core"]))
    cols = np.fromiter((gm.join[k] for k in keys), np.int64, len(keys))
    chosen = c.links.assign(
        exchanged=np.round(x[[gm.exchange[k] for k in keys]]).astype(int) if keys else 0,
        backbone=np.round(x[[gm.backbone[k] for k in keys]]).astype(int) if keys else 0,
    )[x[cols] > 0.5].set_index("member")
    s = schools.set_index("school_id")
    leads = sorted(chosen["core"].unique())
    number = {k: f"G{i + 1:02d}" for i, k in enumerate(leads)}
    rows = []
    for mid in c.members.index:
        k = chosen["core"].get(mid, "")
        rows.append(
            (
                number.get(k, ""),
                k,
                s.at[k, "name"] if k else "",
                mid,
                s.at[mid, "name"],
                s.at[mid, "type_after"],
                round(float(chosen["distance_km"].get(mid, np.nan)), 4) if k else np.nan,
                round(float(c.members.at[mid, "pupils"]), 4),
                int(chosen["exchanged"].get(mid, 0)),
                int(chosen["backbone"].get(mid, 0)),
            )
        )
    t = pd.DataFrame(rows, columns=list(GROUP_COLUMNS))
    return t.sort_values(["group", "member_id"], key=lambda v: v.replace("", "~"), ignore_index=True)


def group_summary(t: pd.DataFrame, c: GroupCandidates) -> dict:
    """summary.json's ``groups``: groups, members placed and alone, the teachers
    exchanged and backbone teachers sent a year, against the county's eligible teachers."""
    eligible = c.eligible_teachers
    placed = t[t["group"] != ""]
    sent, backbone = int(placed["teachers_exchanged"].sum()), int(placed["backbone_sent"].sum())
    return {
        "groups": int(placed["group"].nunique()),
        "cores_possible": int(len(c.cores)),
        "members": int(len(placed)),
        "alone": t.loc[t["group"] == "", "member_id"].tolist(),
        "teachers_exchanged_per_year": sent,
        "backbone_sent_per_year": backbone,
        "eligible_teachers": eligible,
        "rotating_needed_per_year": c.need,
        "rotating_short_per_year": max(0, c.need - 2 * sent),
        "rotating_share": round(2 * sent / eligible, 4) if eligible else None,
        "backbone_share": round(backbone / (2 * sent), 4) if sent else None,
        "member_pupil_km": round(float((placed["distance_km"] * placed["member_pupils"]).sum()), 3),
    }
