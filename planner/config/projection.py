"""The ``projection:`` key: rates of the cohort-component projection of pupils
(:mod:`planner.projection`).

Every default leaves the cohorts as they are: all children of a birth cohort
enter grade 1 in the county (compulsory education, 适龄儿童入学率 100 %), all
pass to the next grade, nobody moves. A county sets what it knows: junior
retention (巩固率, at least 95 % over three years: about 0.985 a year), the
share of rural pupils moving to town schools each year (进城就读) and the net
inflow of migrant children (随迁子女) by kind of place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    LaterGrade: TypeAlias = str
    VillageKind: TypeAlias = str
else:
    LaterGrade = Literal["g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9"]
    VillageKind = Literal["town", "seat", "village"]

Rate = Annotated[float, Field(gt=0, le=2)]
"""A survival or progression rate: pupils next year per pupil this year."""
NetRate = Annotated[float, Field(ge=-0.5, le=0.5)]
"""A net yearly migration rate: +0.02 gains 2 % of the pupils each year."""


class ProjectionConfig(BaseModel):
    """Rates of the projection; yearly rates apply once per projected year."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_year: int = Field(..., ge=2000, le=2100, description="year of the villages' pupils by grade")
    entry_age: int = Field(6, ge=5, le=7, description="grade 1 in year t comes from the births of t - entry_age")
    entry_rate: Rate = Field(1.0, description="pupils entering grade 1 per birth of their cohort (入学率)")
    progression: dict[LaterGrade, Rate] = Field(
        {}, description="pupils in grade g per pupil in grade g-1 a year before; 1.0 where not given"
    )
    migration_per_year: dict[VillageKind, NetRate] = Field(
        {}, description="net yearly inflow (随迁子女 in, families leaving out) by kind of place; 0 where not given"
    )
    migration_by_township: dict[str, NetRate] = Field(
        {}, description="net yearly rate of a township's places, instead of their kind's"
    )
    urbanisation_per_year: float = Field(
        0.0, ge=0, le=0.5, description="share of rural villages' pupils moving each year to town or seat (进城就读)"
    )
    urbanisation_to_town: float = Field(
        0.5, ge=0, le=1, description="share of those movers going to the county town; the rest to their own seat"
    )
    births_growth_after_last: Rate = Field(
        1.0, description="births of a year after the last one given, per birth of the year before"
    )

    def progression_rate(self, grade: str) -> float:
        """Pupils in ``grade`` per pupil of the grade below a year before."""
        return self.progression.get(grade, 1.0)
