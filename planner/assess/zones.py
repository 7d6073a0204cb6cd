"""The shares of nearest-zone enrolment a plan reaches (``policy.nearest_zone``)."""

from __future__ import annotations

import pandas as pd

from planner.data.problem import Problem
from planner.data.travel import serving_types
from planner.domain import BANDS, LEVEL_OF_BAND, LEVELS


def zone_shares(problem: Problem, schools: pd.DataFrame, assignments: pd.DataFrame) -> dict | None:
    """Per level: the zone's pupils, those at the nearest open school teaching
    their band (within the tolerance), their share and the share required."""
    nz = problem.scenario.policy.nearest_zone
    if nz is None:
        return None
    after = schools.set_index("school_id")["type_after"]
    kind = problem.villages["kind"]
    pairs = problem.pairs[problem.pairs["village_id"].map(kind).isin(nz.kinds).to_numpy()]
    teaches = {b: set(serving_types(problem, b)) for b in BANDS}
    ok = [after.get(s, "closed") in teaches[b] for s, b in zip(pairs["site_id"], pairs["band"])]
    nearest = pairs[ok].groupby(["village_id", "band"])["distance_km"].min().rename("nearest_km")
    a = assignments[assignments["village_id"].map(kind).isin(nz.kinds).to_numpy()]
    a = a.join(nearest, on=["village_id", "band"])
    a = a.assign(level=a["band"].map(LEVEL_OF_BAND), near=a["distance_km"] <= a["nearest_km"] + nz.tolerance_km + 1e-9)
    out = {}
    for lv in LEVELS:
        rows = a[a["level"] == lv]
        pupils, near = float(rows["pupils"].sum()), float(rows.loc[rows["near"], "pupils"].sum())
        out[lv] = {
            "pupils": round(pupils, 3),
            "at_nearest": round(near, 3),
            "share": round(near / pupils, 6) if pupils else None,
            "required": nz.share[lv],
        }
    return out
