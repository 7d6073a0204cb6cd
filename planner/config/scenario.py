"""The scenario: a frozen, validated :class:`Scenario` (read from YAML by
:mod:`planner.config.sources`).

Every default below is the national or Fangcheng figure of STANDARDS.md, so a
scenario only says what differs. Unknown keys are errors with a did-you-mean,
because a typo in a cap silently ignored would produce a wrong plan; every
number is range-checked, so a value no plan can honour (a class of 0 pupils, a
negative budget) is bad input, not an infeasible scenario.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

from pydantic import Field, field_validator, model_validator

from planner.config.programme import CampusConfig, GroupsConfig, OperatingConfig, ProjectConfig
from planner.config.projection import ProjectionConfig, VillageKind
from planner.config.tuning import SolveTuning
from planner.config.types import (
    Band,
    Category,
    Count,
    Level,
    NonNegative,
    Positive,
    PositiveCount,
    SchoolType,
    TypeOrClosed,
    _Frozen,
)
from planner.domain import AREA_KINDS, BANDS, CONSTRUCTION_COSTS

__all__ = ["CampusConfig", "GroupsConfig", "OperatingConfig", "ProjectConfig", "Scenario"]


class LayerRef(_Frozen):
    """Where one layer lives: a GeoPackage layer, a GeoJSON/Shapefile or a CSV."""

    path: str
    layer: Optional[str] = None


class DataConfig(_Frozen):
    """Input layers. ``xlsx`` (an input workbook) then ``gpkg`` are the default
    files for every layer not named."""

    gpkg: Optional[str] = None
    xlsx: Optional[str] = Field(
        None,
        description="input workbook (planner template): its sheets 学校, 村庄, 候选用地, 出生人口 stand for the "
        "layers schools, villages, candidate_sites, births not named here; other layers still come from gpkg",
    )
    villages: Optional[LayerRef] = None
    schools: Optional[LayerRef] = None
    candidate_sites: Optional[LayerRef] = None
    roads: Optional[LayerRef] = None
    boundary: Optional[LayerRef] = None
    townships: Optional[LayerRef] = None
    births: Optional[LayerRef] = Field(
        None, description="births by village and year (village_id, year, births): a CSV or a GeoPackage table"
    )
    distances: Optional[str] = None
    crs: Optional[str] = Field(None, description="CRS of x/y columns in CSV layers")
    coords: Literal["wgs84", "cgcs2000", "gcj02", "bd09"] = Field(
        "wgs84",
        description="system of lon/lat coordinates: gcj02 (Amap, Tencent) and bd09 (Baidu) are converted to WGS84",
    )
    metric_crs: Optional[str] = Field(
        None, description="CRS distances are taken in; default: the layers' own if metric, else UTM"
    )


class TravelConfig(_Frozen):
    """How distances are taken. A limit in minutes is set per band in
    ``policy.max_trip_minutes`` (road minutes from ``speed_kmh``, else
    ``default_speed_kmh``); every distance itself stays in km."""

    detour_factor: float = Field(1.3, ge=1.0)
    use_roads: bool = True
    default_speed_kmh: float = Field(30.0, gt=0)


class NearestZoneConfig(_Frozen):
    """Nearest-zone enrolment (就近划片入学; seeds 000, 003): in the villages of
    ``kinds`` (the villages layer's ``kind``: town, seat or village), at least
    ``share[level]`` of the pupils attend the nearest open school teaching their
    band, or one at most ``tolerance_km`` farther."""

    kinds: tuple[VillageKind, ...] = ("town", "seat")
    share: dict[Level, Annotated[float, Field(ge=0, le=1)]] = {"primary": 1.0, "junior": 0.95}
    tolerance_km: float = Field(0.0, ge=0)


class PolicyConfig(_Frozen):
    """Who may go where, and how catchments are drawn."""

    assignment: dict[Band, Literal["whole", "split"]] = dict.fromkeys(BANDS, "whole")
    teaching_point_takes_g4_6: bool = False
    max_trip_km: dict[Band, Optional[Positive]] = {"g1_3": 10.0, "g4_6": 20.0, "g7_9": 35.0}
    max_trip_minutes: dict[Band, Optional[Positive]] = {}
    walk_limit_km: dict[Band, NonNegative] = {"g1_3": 3.0, "g4_6": 3.0, "g7_9": 5.0}
    boarding_allowed: dict[Band, bool] = {"g1_3": False, "g4_6": True, "g7_9": True}
    k_nearest: Optional[int] = Field(None, ge=1)
    moves: dict[SchoolType, list[TypeOrClosed]] = {
        "teaching_point": ["teaching_point", "primary", "closed"],
        "primary": ["primary", "teaching_point", "nine_year", "closed"],
        "junior": ["junior", "nine_year", "closed"],
        "nine_year": ["nine_year", "junior", "closed"],
    }
    keep_schools_with_pupils_at_least: Optional[Count] = None
    allow_new_builds: bool = True
    nearest_zone: Optional[NearestZoneConfig] = Field(None, description="nearest-zone enrolment in towns and seats")


class CapsConfig(_Frozen):
    """Hard caps. ``None`` switches a cap off (used by the p-median reduction)."""

    class_size: dict[Level, Optional[PositiveCount]] = {"primary": 45, "junior": 50}
    school_pupils: dict[SchoolType, Optional[PositiveCount]] = {
        "teaching_point": 2000,
        "primary": 2000,
        "junior": 2000,
        "nine_year": 2500,
    }
    use_site_max_classes: bool = True


class StandardsConfig(_Frozen):
    """Per-pupil standards (STANDARDS.md); ``enabled: false`` drops them all."""

    enabled: bool = True
    teaching_area_m2_per_pupil: dict[Level, NonNegative] = {"primary": 4.5, "junior": 5.8}
    sports_area_m2_per_pupil: dict[Level, NonNegative] = {"primary": 7.5, "junior": 10.2}
    living_area_m2_per_boarder: float = Field(6.0, ge=0)
    building_floors: float = Field(3.0, gt=0)


class Range(_Frozen):
    min: Optional[int] = Field(None, ge=0)
    max: Optional[int] = Field(None, ge=0)


class BudgetConfig(_Frozen):
    """``total_10k_yuan`` limits the categories ``covers`` names: ``all`` of
    them; ``construction`` only (floor areas, new builds, upgrades, land),
    when equipment, rooms and staff are funded from other lines (装备经费,
    编制); or ``floor_area`` only (teaching and living floor area, sports
    ground: 校舍建设, as the motivating plan's budget), when new schools' fixed
    costs and land are funded apart; ``by_category_10k_yuan`` limits single
    categories."""

    total_10k_yuan: Optional[float] = Field(None, ge=0)
    covers: Literal["all", "construction", "floor_area"] = "all"
    by_category_10k_yuan: dict[Category, NonNegative] = {}

    def covered(self, category: str) -> bool:
        """Whether ``total_10k_yuan`` counts this cost category."""
        scope = {"construction": CONSTRUCTION_COSTS, "floor_area": AREA_KINDS}
        return self.covers == "all" or category in scope[self.covers]

    def budgeted(self, costs: dict[str, float]) -> float:
        """The part of a plan's ``cost_10k_yuan`` that ``total_10k_yuan`` limits."""
        return sum(v for k, v in costs.items() if k != "total" and self.covered(k))


class CostConfig(_Frozen):
    """Unit costs; area costs in yuan per m², lump sums in 10k yuan."""

    teaching_yuan_per_m2: float = Field(3001.0, ge=0)
    living_yuan_per_m2: float = Field(3385.0, ge=0)
    sports_yuan_per_m2: float = Field(491.0, ge=0)
    new_build_10k_yuan: dict[SchoolType, NonNegative] = {
        "teaching_point": 50.0,
        "primary": 300.0,
        "junior": 500.0,
        "nine_year": 600.0,
    }
    upgrade_10k_yuan: float = Field(100.0, ge=0)


class ObjectiveConfig(_Frozen):
    """Weights, all in pupil-km equivalents."""

    pupil_km: float = Field(1.0, ge=0)
    per_10k_yuan: float = Field(0.5, ge=0)
    per_boarder: dict[Band, NonNegative] = {"g1_3": 20.0, "g4_6": 5.0, "g7_9": 1.0}
    per_pupil_moved: float = Field(0.0, ge=0)


class InvestmentCosts(_Frozen):
    """Unit costs of the investments for the non-area indicators (10k yuan).

    Equipment is bought at its value (1 yuan of value costs 1 yuan). A music or
    art room is made within the teaching floor area (its m² count into the
    teaching area, whose per-pupil standard includes the special rooms), so it
    costs a conversion and fit-out (acoustics, piano, easels), not new floor. Teacher
    salaries are recurrent and covered by the staff quota (``staff_total``), so a
    hire costs a one-off sum (recruitment, induction); set it to salary x years to
    count salaries in the budget instead."""

    multimedia_room_10k_yuan: float = Field(5.0, ge=0)
    music_room_10k_yuan: float = Field(15.0, ge=0)
    art_room_10k_yuan: float = Field(8.0, ge=0)
    hire_10k_yuan: dict[Literal["qualified", "pe_art"], NonNegative] = {"qualified": 1.0, "pe_art": 1.0}
    backbone_training_10k_yuan: float = Field(2.0, ge=0)
    transfer_10k_yuan: float = Field(0.3, ge=0, description="rotation allowance per teacher moved (交流轮岗)")


class IndicatorConfig(_Frozen):
    """The seven resource indicators, the pass rule, the balance limits and the
    staffing norms of STANDARDS.md, and how the plan invests to meet them.

    Floor and ground areas per pupil (indicators 4 and 5) are
    ``standards.teaching_area_m2_per_pupil`` and ``standards.sports_area_m2_per_pupil``.
    ``nine_year_split`` says how a nine-year school's resources are shared by
    its two levels: ``pupils`` (in proportion to pupils: both levels see the
    same per-pupil value) or ``standard`` (in proportion to what each level's
    standard requires). ``enabled: false`` keeps the assessment but drops the
    investments from the model."""

    enabled: bool = True
    qualified_teachers_per_100: dict[Level, NonNegative] = {"primary": 4.2, "junior": 5.3}
    backbone_teachers_per_100: dict[Level, NonNegative] = {"primary": 1.0, "junior": 1.0}
    pe_art_teachers_per_100: dict[Level, NonNegative] = {"primary": 0.9, "junior": 0.9}
    equipment_yuan_per_pupil: dict[Level, NonNegative] = {"primary": 2000.0, "junior": 2500.0}
    multimedia_rooms_per_100: dict[Level, NonNegative] = {"primary": 2.3, "junior": 2.4}
    pass_min_reached: int = Field(6, ge=0, le=7)
    pass_floor_share: float = Field(0.85, ge=0, le=1)
    cv_limit: dict[Level, Positive] = {"primary": 0.50, "junior": 0.45}
    pupils_per_teacher: dict[Level, Positive] = {"primary": 19.0, "junior": 13.5}
    classes_per_room: int = Field(12, ge=1, description="one music and one art room per this many classes")
    music_room_m2: float = Field(96.0, ge=0)
    art_room_m2: float = Field(90.0, ge=0)
    nine_year_split: Literal["pupils", "standard"] = "pupils"
    staff_total: Optional[int] = Field(None, ge=0, description="county teacher quota (编制) after the plan")
    max_hires: Optional[int] = Field(None, ge=0)
    allow_shortfalls: bool = Field(
        True,
        description="false: every planned standard, floor areas included, is a hard rule "
        "(a budget below it gives no plan but a diagnosis)",
    )
    shortfall_penalty_per_10k_yuan: float = Field(
        1000.0, ge=0, description="objective weight of each 10k yuan it would cost to close a shortfall"
    )
    balance_rounds: int = Field(3, ge=1, description="solves at most, tightening the balance bands after each")
    costs: InvestmentCosts = InvestmentCosts()


class PhaseConfig(_Frozen):
    """One phase of a phased plan (实施阶段): its years, budget, targets at its
    end and its weight in the objective."""

    name: str = Field(..., min_length=1)
    first_year: int = Field(..., ge=2000, le=2100)
    last_year: int = Field(..., ge=2000, le=2100)
    budget_10k_yuan: Optional[float] = Field(None, ge=0, description="what the phase may spend")
    targets: dict[SchoolType, Count | Range] = {}
    weight: float = Field(1.0, ge=0, description="the phase's pupil-km, boarders and cost in the objective")
    plan_year: Optional[int] = Field(None, description="the year whose pupils the phase is planned for")

    @model_validator(mode="after")
    def _years_ordered(self) -> PhaseConfig:
        if self.first_year > self.last_year:
            raise ValueError(f"phase {self.name}: first_year {self.first_year} > last_year {self.last_year}")
        if self.plan_year is not None and not self.first_year <= self.plan_year <= self.last_year:
            raise ValueError(
                f"phase {self.name}: plan_year {self.plan_year} outside {self.first_year}-{self.last_year}"
            )
        return self

    def target_bounds(self, t: str) -> tuple[int | None, int | None]:
        """(min, max) count of open sites of type ``t`` at the end of the phase."""
        r = self.targets.get(t)
        if r is None:
            return None, None
        return (r, r) if isinstance(r, int) else (r.min, r.max)


class SolverConfig(_Frozen):
    """Which solver, for how long, how close; ``tuning`` holds every knob of the strategy."""

    name: Literal["highs", "cbc"] = "highs"
    time_limit_s: float = Field(
        300.0, gt=0, description="seconds for the whole run: every stage, balance round and diagnosis"
    )
    mip_gap: float = Field(0.005, ge=0, le=1, description="relative gap at which a plan is good enough")
    threads: int = Field(2, ge=1)
    seed: int = Field(0, ge=0)
    msg: bool = False
    tuning: SolveTuning = SolveTuning()


class Scenario(_Frozen):
    """A fully resolved scenario (after ``extends``)."""

    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    target_year: int = Field(2030, ge=2000, le=2100)
    data: DataConfig
    travel: TravelConfig = TravelConfig()
    policy: PolicyConfig = PolicyConfig()
    caps: CapsConfig = CapsConfig()
    standards: StandardsConfig = StandardsConfig()
    targets: dict[SchoolType, Count | Range] = {}
    budget: BudgetConfig = BudgetConfig()
    costs: CostConfig = CostConfig()
    objective: ObjectiveConfig = ObjectiveConfig()
    solver: SolverConfig = SolverConfig()
    indicators: IndicatorConfig = IndicatorConfig()
    fixed: dict[str, TypeOrClosed] = {}
    projects: tuple[ProjectConfig, ...] = Field((), description="projects outside the sites that use the budget")
    operating: Optional[OperatingConfig] = Field(None, description="annual running costs over a horizon")
    groups: Optional[GroupsConfig] = Field(None, description="school groups and teacher rotation (集团化办学)")
    campuses: Optional[CampusConfig] = Field(None, description="schools kept as campuses of another (一校两区)")
    projection: Optional[ProjectionConfig] = Field(
        None, description="project the target year's pupils from a base year's grades and births"
    )
    phases: tuple[PhaseConfig, ...] = Field(
        (), description="plan in phases (the last ends in the target year); none: one plan for the target year"
    )
    phase_pupils: Literal["peak", "last", "envelope"] = Field(
        "peak",
        description="a phase is planned for its year with the most pupils, its last year, or (envelope) "
        "each village's most pupils by band over the phase's years, so every year of it holds",
    )
    base_dir: str = Field("", description="folder data paths are relative to (set by the loader)")
    source_files: tuple[str, ...] = ()

    @field_validator("targets")
    @classmethod
    def _ranges_ordered(cls, v: dict) -> dict:
        for t, r in v.items():
            if isinstance(r, Range) and r.min is not None and r.max is not None and r.min > r.max:
                raise ValueError(f"target {t}: min {r.min} > max {r.max}")
        return v

    @model_validator(mode="after")
    def _base_year_first(self) -> Scenario:
        if self.projection is not None and self.projection.base_year > self.target_year:
            raise ValueError(
                f"projection.base_year {self.projection.base_year} is after target_year {self.target_year}"
            )
        return self

    @model_validator(mode="after")
    def _phases_in_order(self) -> Scenario:
        names = [p.name for p in self.phases]
        if len(set(names)) < len(names):
            raise ValueError(f"phase names must differ: {names}")
        for a, b in zip(self.phases, self.phases[1:]):
            if b.first_year != a.last_year + 1:
                raise ValueError(f"phase {b.name} must start in {a.last_year + 1}, the year after {a.name} ends")
        if self.phases and self.phases[-1].last_year != self.target_year:
            raise ValueError(f"the last phase must end in target_year {self.target_year}")
        base = self.projection.base_year if self.projection else None
        if base is not None and self.phases and self.phases[0].first_year < base:
            raise ValueError(f"the first phase starts before projection.base_year {base}")
        return self

    @model_validator(mode="after")
    def _projects_named_once(self) -> Scenario:
        names = [p.name for p in self.projects]
        if len(set(names)) < len(names):
            raise ValueError(f"project names must differ: {names}")
        if self.projects and self.phases:
            raise ValueError("projects: a phased plan takes no projects yet; plan them in the target year's scenario")
        if self.operating is not None and self.operating.in_objective and self.phases:
            raise ValueError("operating.in_objective: a phased plan reports running costs but cannot weigh them yet")
        if self.phases and (self.groups is not None or self.campuses is not None):
            raise ValueError(
                "groups, campuses: a phased plan takes neither yet; form them in the target year's scenario"
            )
        return self

    def target_bounds(self, t: str) -> tuple[int | None, int | None]:
        """(min, max) count of open sites of type ``t``; ``None`` is unbounded."""
        r = self.targets.get(t)
        if r is None:
            return None, None
        if isinstance(r, int):
            return r, r
        return r.min, r.max

    def resolve(self, rel: str) -> Path:
        """A data path relative to the scenario file."""
        p = Path(rel)
        return p if p.is_absolute() else Path(self.base_dir) / p
