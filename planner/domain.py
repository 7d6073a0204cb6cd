"""The vocabulary of compulsory-education planning, defined once.

Grade bands, school levels and types, which type may teach which band, the
kinds of floor area, the cost categories and which moves count as upgrades.
Every stage imports these names from here; nothing else defines them.
"""

from __future__ import annotations

from typing import Final

BANDS: Final = ("g1_3", "g4_6", "g7_9")
"""Grade bands: primary lower, primary upper, junior."""

LEVELS: Final = ("primary", "junior")
"""School levels (学段)."""

LEVEL_OF_BAND: Final = {"g1_3": "primary", "g4_6": "primary", "g7_9": "junior"}

GRADES: Final = ("g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9")
"""The nine grades of compulsory education (grade 1 at six)."""

BAND_OF_GRADE: Final = {g: BANDS[i // 3] for i, g in enumerate(GRADES)}

VILLAGE_KINDS: Final = ("town", "seat", "village")
"""Where pupils live, for migration rates: the county town's communities (城区),
a township seat's communities (集镇) and rural villages (农村)."""

TYPES: Final = ("teaching_point", "primary", "junior", "nine_year")
"""School types after (and before) the plan; ``closed`` is not a type."""

TYPE_NAMES_ZH: Final = {
    "teaching_point": "教学点",
    "primary": "完全小学",
    "junior": "初级中学",
    "nine_year": "九年一贯制学校",
}
"""Each type as the plans name it."""

CLOSED: Final = "closed"

SERVES: Final = {
    "g1_3": ("teaching_point", "primary", "nine_year"),
    "g4_6": ("primary", "nine_year"),
    "g7_9": ("junior", "nine_year"),
}
"""Types that may teach each band (a teaching point takes g4_6 only where the
policy says so: :func:`serving_types`)."""

LEVEL_TYPES: Final = {"primary": ("teaching_point", "primary", "nine_year"), "junior": ("junior", "nine_year")}
"""Types that teach each level (and so may hold classes of it)."""

AREA_KINDS: Final = ("teaching", "living", "sports")
"""Kinds of floor and ground area a plan may add (m²)."""

CONSTRUCTION_COSTS: Final = ("teaching", "living", "sports", "new_build", "upgrade", "land")
"""Cost categories of building works (the motivating plan's budget covers these)."""

INVESTMENT_COSTS: Final = ("equipment", "multimedia", "rooms", "teachers")
"""Cost categories of the investments for the non-area indicators."""

COST_CATEGORIES: Final = (*CONSTRUCTION_COSTS, *INVESTMENT_COSTS)

ACTIONS: Final = ("keep", "expand", "upgrade", "downgrade", "merge", "close", "new", "campus")
"""What a plan does to a school (schools.csv ``action``); ``campus``: kept open
at its type as a campus of another school (一校两区, ``campus_of``)."""

UPGRADES: Final = frozenset(
    {("teaching_point", "primary"), ("primary", "nine_year"), ("junior", "nine_year"), ("teaching_point", "nine_year")}
)
"""Type changes read as an upgrade; any other change of an open school is a downgrade."""


def levels_of(school_type: str) -> tuple[str, ...]:
    """The levels a type teaches (a nine-year school both)."""
    return tuple(lv for lv in LEVELS if school_type in LEVEL_TYPES[lv])


def serving_types(band: str, teaching_point_takes_g4_6: bool = False) -> tuple[str, ...]:
    """The school types that may teach ``band`` under the policy."""
    if band == "g4_6" and teaching_point_takes_g4_6:
        return ("teaching_point", *SERVES[band])
    return SERVES[band]


def priced_upgrade(before: str, after: str) -> bool:
    """Whether an existing school going from ``before`` to ``after`` pays the
    upgrade lump sum: it becomes a complete school (primary, junior or
    nine-year) of another type, except a nine-year school keeping only its
    junior grades."""
    return (
        after != before
        and after in ("primary", "junior", "nine_year")
        and not (before == "nine_year" and after == "junior")
    )
