"""The scenario's shared vocabulary of validated values: the keys a scenario
names (a band, a level, a type, a cost category) and the kinds of number it
holds (positive, a share, a count), used by every part of :mod:`planner.config`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # keys the code looks up by plain strings (a band, a level, a type)
    Band: TypeAlias = str
    SchoolType: TypeAlias = str
    TypeOrClosed: TypeAlias = str
    Level: TypeAlias = str
    Category: TypeAlias = str
else:  # validated against the vocabulary when a scenario is read
    Band = Literal["g1_3", "g4_6", "g7_9"]
    SchoolType = Literal["teaching_point", "primary", "junior", "nine_year"]
    TypeOrClosed = Literal["teaching_point", "primary", "junior", "nine_year", "closed"]
    Level = Literal["primary", "junior"]
    Category = Literal[
        "teaching", "living", "sports", "new_build", "upgrade", "land", "equipment", "multimedia", "rooms", "teachers"
    ]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Positive = Annotated[float, Field(gt=0)]
"""A number above zero (a limit, a rate that divides)."""
NonNegative = Annotated[float, Field(ge=0)]
"""A number of zero or more (an area, a cost, a weight)."""
Count = Annotated[int, Field(ge=0)]
"""A whole number of zero or more."""
PositiveCount = Annotated[int, Field(ge=1)]
"""A whole number of one or more (a cap)."""
Share = Annotated[float, Field(ge=0, le=1)]


class TuningGroup(BaseModel):
    """A group of solve knobs: frozen, an unknown key an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)
