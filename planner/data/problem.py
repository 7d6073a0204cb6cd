"""The frozen :class:`Problem`: everything later stages need, validated once.

Tables are plain pandas frames indexed by the input ids, in metric x/y; only
the loader touches files, geometry and CRS. Later stages trust these frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import geopandas as gpd
import pandas as pd

from planner.config.scenario import Scenario
from planner.data.cohorts import Cohorts
from planner.domain import BANDS

VILLAGE_COLUMNS = ("name", "township", "x", "y", "lon", "lat", *(f"pupils_{b}" for b in BANDS))
"""Columns of :attr:`Problem.villages` (index ``village_id``)."""

SITE_COLUMNS = (
    "name",
    "township",
    "kind",
    "type_before",
    "allowed",
    "x",
    "y",
    "lon",
    "lat",
    "classes_primary",
    "classes_junior",
    *(f"pupils_{b}" for b in BANDS),
    "teaching_area_m2",
    "living_area_m2",
    "sports_area_m2",
    "site_area_m2",
    "boarding_beds",
    "max_classes",
    "land_cost_10k_yuan",
)
"""Columns of :attr:`Problem.sites` (index ``site_id``): existing schools
(``kind == 'school'``) then candidate sites (``kind == 'candidate'``,
``type_before == 'none'``). ``allowed`` is a tuple of the types the site may
take after the plan, ``'closed'`` included, with policy and fixed decisions
already applied."""

PAIR_COLUMNS = ("village_id", "band", "site_id", "distance_km")
"""Columns of :attr:`Problem.pairs`: one row per (village, band, site) a child
of that band may travel, within the band's limit, sorted."""


@dataclass(frozen=True)
class Problem:
    """A validated planning problem in one metric CRS."""

    scenario: Scenario
    villages: pd.DataFrame
    sites: pd.DataFrame
    crs: str
    roads: gpd.GeoDataFrame | None = None
    od: pd.DataFrame | None = None
    boundary: gpd.GeoDataFrame | None = None
    townships: gpd.GeoDataFrame | None = None
    inputs: tuple[tuple[str, str], ...] = ()
    pairs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(PAIR_COLUMNS)))
    """Empty until the travel stage attaches them (:meth:`with_pairs`)."""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    cohorts: Cohorts | None = None
    """Base-year grades and births, when the scenario projects its pupils."""

    def with_pairs(self, pairs: pd.DataFrame, warnings: tuple[str, ...] = ()) -> Problem:
        """A copy carrying the travel stage's pruned pairs."""
        return replace(self, pairs=pairs, warnings=self.warnings + tuple(warnings))

    @property
    def schools(self) -> pd.DataFrame:
        """Existing schools only."""
        return self.sites[self.sites["kind"] == "school"]

    @property
    def candidates(self) -> pd.DataFrame:
        """Candidate sites only."""
        return self.sites[self.sites["kind"] == "candidate"]
