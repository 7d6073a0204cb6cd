"""Nearest-zone enrolment (就近划片入学; seeds 000, 003): ``policy.nearest_zone``.

In the villages of the zone's kinds (the county town, the township seats),
at least ``share[level]`` of the pupils attend the nearest open school
teaching their band, or one at most ``tolerance_km`` farther. For a pair
(village-band at site s) and each site s' of its pairs nearer than s by more
than the tolerance, ``nearest_zone[v,band,s,s']``: ``off_zone[v,band,s] >=
assign[v,band,s] + open[s'] - 1`` (``open[s']``: its types teaching the
band), so ``off_zone`` is 1 where the village-band sits at s while a nearer
school is open; ``zone_share[level]``: the zone's pupils off their zone at
most ``(1 - share)`` of its pupils. A share of 1 needs no ``off_zone``: the
rows are ``assign + open[s'] <= 1``. Every site nearer than a pair's is
among the pairs (they are a village-band's nearest sites), so the rows see
every school a village could attend instead.
"""

from __future__ import annotations

import pulp

from planner.data.problem import Problem
from planner.data.travel import serving_types
from planner.domain import LEVEL_OF_BAND, LEVELS
from planner.model.core import Builder
from planner.model.variables import pair_vars


def add_nearest_zone(b: Builder, problem: Problem) -> None:
    """The ``nearest_zone`` and ``zone_share`` rows of the module docstring (nothing without ``nearest_zone``)."""
    nz = problem.scenario.policy.nearest_zone
    if nz is None:
        return
    pair_vars(b)  # the PuLP stand-ins, in the column "var"
    p = b.pairs
    zone = p[p["village_id"].map(problem.villages["kind"]).isin(nz.kinds).to_numpy()]
    opens = b.open.set_index(["site_id", "type"])["var"]
    off: dict[str, list] = {lv: [] for lv in LEVELS}
    total = dict.fromkeys(LEVELS, 0.0)
    for (v, band), grp in zone.groupby(["village_id", "band"], sort=True):
        lv, pupils = LEVEL_OF_BAND[band], float(grp["pupils"].iloc[0])
        total[lv] += pupils
        teaching = [
            pulp.lpSum(opens[(s, t)] for t in serving_types(problem, band) if (s, t) in opens.index)
            for s in grp["site_id"]
        ]
        rows = list(zip(grp["site_id"], grp["distance_km"], grp["var"], teaching))
        for s, d, x, _ in rows:
            nearer = [(s2, o) for s2, d2, _, o in rows if d2 < d - nz.tolerance_km - 1e-9 and len(o)]
            if not nearer:
                continue
            if nz.share[lv] >= 1.0:
                for s2, o in nearer:
                    b.add("nearest_zone", (v, band, s, s2), x + o <= 1)
                continue
            y = b.var("off_zone", (v, band, s), upper=1.0, site=s)
            for s2, o in nearer:
                b.add("nearest_zone", (v, band, s, s2), y >= x + o - 1)
            off[lv].append(pupils * y)
    for lv in LEVELS:
        if off[lv]:
            b.add("zone_share", (lv,), pulp.lpSum(off[lv]) <= (1.0 - nz.share[lv]) * total[lv])
