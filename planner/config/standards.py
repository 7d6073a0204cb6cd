"""The national standard's seven resource indicators, as a scenario sets them.

What each indicator measures (its resource column, per pupil or per 100
pupils), the standard per level, and the unit cost of closing a gap. The
model plans against these; the assessment measures against the same ones.
"""

from __future__ import annotations

from typing import Final

from planner.config.scenario import Scenario

INDICATORS: Final = ("qualified", "backbone", "pe_art", "teaching_area", "sports_area", "equipment", "multimedia")
"""The seven indicators of STANDARDS.md, in its order."""

RESOURCE: Final = {
    "qualified": "teachers_qualified",
    "backbone": "teachers_backbone",
    "pe_art": "teachers_pe_art",
    "teaching_area": "teaching_area_m2",
    "sports_area": "sports_area_m2",
    "equipment": "equipment_value_yuan",
    "multimedia": "multimedia_rooms",
}
"""The resource column behind each indicator."""

PER_100: Final = frozenset({"qualified", "backbone", "pe_art", "multimedia"})
"""Indicators counted per 100 pupils (the others per pupil)."""

TEACHER_CATEGORIES: Final = ("teachers", "teachers_qualified", "teachers_backbone", "teachers_pe_art")
"""Teacher headcounts that move between schools (all teachers, then each kind)."""

MOVABLE: Final = (*TEACHER_CATEGORIES, "equipment_value_yuan")
"""Resources that move with a closure or a transfer (rooms and areas do not)."""

STOCK_COLUMNS: Final = (*MOVABLE, "multimedia_rooms", "music_rooms", "art_rooms", "teaching_area_m2", "sports_area_m2")

PLANNED: Final = ("qualified", "backbone", "pe_art", "equipment", "multimedia")
"""Indicators whose resources the investment families plan (areas are planned by ``add_areas``)."""

WHOLE_UNITS: Final = frozenset({"qualified", "backbone", "pe_art", "multimedia", "staff", "music_rooms", "art_rooms"})
"""Shortfalls counted in whole teachers or rooms (rounded up)."""


def standards(scen: Scenario) -> dict[str, dict[str, float]]:
    """indicator -> level -> standard (per 100 pupils or per pupil)."""
    ind, st = scen.indicators, scen.standards
    return {
        "qualified": dict(ind.qualified_teachers_per_100),
        "backbone": dict(ind.backbone_teachers_per_100),
        "pe_art": dict(ind.pe_art_teachers_per_100),
        "teaching_area": dict(st.teaching_area_m2_per_pupil),
        "sports_area": dict(st.sports_area_m2_per_pupil),
        "equipment": dict(ind.equipment_yuan_per_pupil),
        "multimedia": dict(ind.multimedia_rooms_per_100),
    }


def per_pupil(k: str, std: float) -> float:
    """The resource one pupil requires (per-100 standards divided by 100)."""
    return std / 100.0 if k in PER_100 else std


def unit_cost_10k_yuan(scen: Scenario) -> dict[str, float]:
    """10k yuan per unit of each resource (teacher, m², yuan, room): the rate
    at which a shortfall is priced, and the model's investment cost."""
    c, ic = scen.costs, scen.indicators.costs
    return {
        "qualified": ic.hire_10k_yuan["qualified"],
        "backbone": ic.backbone_training_10k_yuan,
        "pe_art": ic.hire_10k_yuan["pe_art"],
        "teaching_area": c.teaching_yuan_per_m2 / 1e4,
        "sports_area": c.sports_yuan_per_m2 / 1e4,
        "equipment": 1e-4,
        "multimedia": ic.multimedia_room_10k_yuan,
        "staff": ic.hire_10k_yuan["qualified"],
        "music_rooms": ic.music_room_10k_yuan,
        "art_rooms": ic.art_room_10k_yuan,
    }
