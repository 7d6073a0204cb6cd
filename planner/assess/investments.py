"""The plan's investments per site, read from the solution (teachers, rooms,
equipment and the moves between schools), and what they cost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.config.standards import MOVABLE, TEACHER_CATEGORIES
from planner.data.problem import Problem
from planner.model.core import Model
from planner.model.standards import INVESTMENT_COLUMNS, stock_of


def investment_table(m: Model, x: np.ndarray, problem: Problem, after: pd.Series, merged: pd.Series) -> pd.DataFrame:
    """Per site (index ``site_id``): the investments and moves of the plan
    (whole teachers and rooms, equipment in yuan). Without planned
    investments the rule for closures applies: a closed school's teachers and
    equipment follow its pupils to the school it merged into."""
    sites = problem.sites
    out = pd.DataFrame(0.0, index=sites.index, columns=list(INVESTMENT_COLUMNS))
    if m.standards:

        def num(s: str, name: str) -> float:
            c = m.standards.get((s, name))
            return 0.0 if c is None else float(x[c])

        for s in sites.index:
            for name in ("hired_qualified", "hired_pe_art", "trained_backbone", "music_rooms_added", "art_rooms_added"):
                out.at[s, name] = round(num(s, name))
            out.at[s, "multimedia_rooms_added"] = round(num(s, "multimedia_added"))
            for c in TEACHER_CATEGORIES:
                out.at[s, f"moved_in_{c}"] = round(num(s, f"in_{c}"))
                out.at[s, f"moved_out_{c}"] = round(num(s, f"out_{c}"))
            out.at[s, "equipment_bought_yuan"] = round(num(s, "equipment_bought") * 1e4, 2)
            out.at[s, "moved_in_equipment_value_yuan"] = round(num(s, "equipment_in") * 1e4, 2)
            out.at[s, "moved_out_equipment_value_yuan"] = round(num(s, "equipment_out") * 1e4, 2)
        return out
    closed = (after == "closed") & (sites["kind"] == "school")
    for c in MOVABLE:
        have = stock_of(problem, c).where(closed, 0.0).fillna(0.0)
        out[f"moved_out_{c}"] = have
        dest = merged.reindex(sites.index)
        moved = have[dest.notna() & (dest != "")].groupby(dest).sum()
        out[f"moved_in_{c}"] = moved.reindex(sites.index).fillna(0.0)
    return out


def investment_site_costs(inv: pd.DataFrame, problem: Problem) -> pd.DataFrame:
    """Per site: cost of its investments by category (10k yuan), from the decoded table."""
    ic = problem.scenario.indicators.costs
    return pd.DataFrame(
        {
            "equipment": inv["equipment_bought_yuan"] / 1e4,
            "multimedia": ic.multimedia_room_10k_yuan * inv["multimedia_rooms_added"],
            "rooms": ic.music_room_10k_yuan * inv["music_rooms_added"] + ic.art_room_10k_yuan * inv["art_rooms_added"],
            "teachers": ic.hire_10k_yuan["qualified"] * inv["hired_qualified"]
            + ic.hire_10k_yuan["pe_art"] * inv["hired_pe_art"]
            + ic.backbone_training_10k_yuan * inv["trained_backbone"]
            + ic.transfer_10k_yuan * inv["moved_in_teachers"],
        },
        index=inv.index,
    )
