"""What a county's programme asks beyond the layout (seeds 000-004), each off
by default: projects outside the sites, running costs, school groups with
teacher rotation (集团化办学, 交流轮岗) and campuses of one school (一校两区)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from planner.config.projection import VillageKind
from planner.config.types import Category, Level, NonNegative, Positive, PositiveCount, SchoolType, Share, _Frozen


class ProjectConfig(_Frozen):
    """A project outside the sites (教师周转房, a training centre, IT renewal): its
    cost falls in a cost category and uses the budget that covers it; a fixed
    project is always built, an optional one when its ``value`` outweighs its cost."""

    name: str = Field(..., min_length=1)
    cost_10k_yuan: float = Field(..., ge=0)
    category: Category
    optional: bool = False
    value: float = Field(0.0, ge=0, description="an optional project's worth if built, in pupil-km equivalents")


class OperatingConfig(_Frozen):
    """Annual running costs over a horizon (seeds 000, 004): public funds per
    pupil, a village primary or teaching point under ``min_funded_pupils``
    funded as that many; teacher salaries by the staffing norms
    (``indicators.pupils_per_teacher``, whole teachers per level at each school);
    boarding per boarder. Reported per school and against today's layout; with
    ``in_objective`` the part a layout changes (the floor's top-up and boarding)
    counts ``horizon_years`` times at ``objective.per_10k_yuan``."""

    horizon_years: int = Field(10, ge=1)
    funds_yuan_per_pupil: dict[Level, NonNegative] = Field(
        {"primary": 23500.0, "junior": 29000.0}, description="a year (Baoshan 2018, seed 004)"
    )
    min_funded_pupils: int = Field(100, ge=0, description="smaller schools of floored_types are funded as this many")
    floored_types: tuple[SchoolType, ...] = ("teaching_point", "primary")
    salary_10k_yuan_per_teacher: float = Field(0.0, ge=0, description="a year; the county's own figure")
    boarding_yuan_per_boarder: float = Field(0.0, ge=0, description="a year; the county's own figure")
    in_objective: bool = False


class GroupsConfig(_Frozen):
    """School groups (集团化办学, seeds 001, 004): after the layout, every
    member school joins a group led by a core school that passes the standard
    after the plan, within ``max_km``, at most ``max_members`` to a core; the
    groups minimise the pupil-weighted km of members to their cores plus
    ``balance_weight`` per pupil of the largest group. Within a group the core
    exchanges teachers with each member every year (交流轮岗, seed 000): at least
    ``rotation_share`` of the member's eligible teachers, and at least
    ``backbone_share`` of the teachers moving are backbone teachers sent by the core; a core sends no more
    eligible or backbone teachers than it has."""

    members: Literal["short", "rural"] = Field(
        "short",
        description="short: open schools short of the standard today (薄弱学校); rural: every open school "
        "whose nearest village is rural",
    )
    core_types: tuple[SchoolType, ...] = ("primary", "junior", "nine_year")
    core_kinds: tuple[VillageKind, ...] = Field(
        ("town", "seat"), description="where a core may stand (the kind of its nearest village); empty: anywhere"
    )
    max_km: Positive = Field(30.0, description="member to core, straight line x travel.detour_factor")
    max_members: PositiveCount = 5
    rotation_share: Share = Field(0.10, description="of a member's eligible teachers, exchanged with the core a year")
    backbone_share: Share = Field(
        0.20, description="of the teachers exchanged (both ways), backbone teachers the core sends (骨干教师)"
    )
    eligible_share: Share = Field(1.0, description="teachers eligible to rotate (符合交流条件), the county's figure")
    balance_weight: NonNegative = Field(
        1.0, description="objective per pupil of the largest group, against one pupil-km of a member to its core"
    )


class CampusConfig(_Frozen):
    """One school, two campuses (一校两区, seed 001): an existing school of
    ``types`` may stay open at its type as the campus of an open school within
    ``max_km`` that teaches its levels; the pair counts as one school (the
    host's) in the targets and their pupils together are within the host's
    school cap; each campus keeps its own pupils, classes and areas. A host
    has at most ``max_per_host`` campuses and is not itself a campus."""

    types: tuple[SchoolType, ...] = ("teaching_point", "primary")
    max_km: Positive = Field(5.0, description="campus to host, straight line x travel.detour_factor")
    max_per_host: PositiveCount = 1
    penalty: NonNegative = Field(
        0.0, description="objective per campus (running two sites as one school), in pupil-km equivalents"
    )
