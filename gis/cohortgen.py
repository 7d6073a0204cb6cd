"""Births by village (2015-2024) and base-year (2021) pupils by grade for a
generated county: the inputs of the enrolment projection.

Births follow the national series (National Bureau of Statistics, millions;
STANDARDS.md for 2012-2024, the statistical yearbooks for 2007-2011), shared
out over the villages in proportion to their 2030 pupils (primary cohorts by
primary pupils, junior cohorts by junior pupils) with a little noise. Two
numbers are calibrated so that the projection with :data:`RATES` gives the
Fangcheng plan's 2030 totals: the county's births per national million, and
the share of pupils leaving primary school who go on to junior school in the
county (the g7 progression; the rest go to the city's junior schools).

Draws come from their own generator (seed + 1), so the county's layers are
the same with or without cohorts.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.config.projection import ProjectionConfig
from planner.data.cohorts import Cohorts
from planner.domain import GRADES
from planner.projection.cohort import project

NATIONAL_BIRTHS_M = {
    2007: 15.94,
    2008: 16.08,
    2009: 15.91,
    2010: 15.92,
    2011: 16.04,
    2012: 16.35,
    2013: 16.40,
    2014: 16.87,
    2015: 16.55,
    2016: 17.86,
    2017: 17.23,
    2018: 15.23,
    2019: 14.65,
    2020: 12.00,
    2021: 10.62,
    2022: 9.56,
    2023: 9.02,
    2024: 9.54,
}
BASE_YEAR = 2021
TARGET_YEAR = 2030
FIRST_BIRTHS, LAST_BIRTHS = 2015, 2024
TARGET = {"primary": 57_465, "junior": 27_900}
"""The Fangcheng plan's 2030 pupils (STANDARDS.md)."""

RATES = {
    "base_year": BASE_YEAR,
    "progression": {"g8": 0.985, "g9": 0.985},
    "migration_per_year": {"town": 0.01, "village": -0.01},
    "urbanisation_per_year": 0.015,
    "urbanisation_to_town": 0.6,
}
"""The projection's rates but g7 (calibrated): junior retention 0.985 a year
(巩固率 at least 95 % over three years), migrant children +1 % a year in town,
families leaving villages -1 % a year, 1.5 % of rural pupils a year moving to
town (60 %) or their seat (进城就读)."""

NOISE_SIGMA = 0.08
"""Log-normal noise of a village's births around its share, year to year."""


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    short = total - int(out.sum())
    out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def _born(year: int, grade: int) -> int:
    """Birth year of grade ``grade`` pupils in ``year`` (grade 1 at six)."""
    return year - 5 - grade


def _weights(vil: pd.DataFrame, rng: np.random.Generator) -> dict[int, np.ndarray]:
    """Each birth year's share by village: by the band it is in in 2030, with noise."""
    primary = (vil["pupils_g1_3"] + vil["pupils_g4_6"]).to_numpy(dtype=float)
    junior = vil["pupils_g7_9"].to_numpy(dtype=float)
    out = {}
    for year in NATIONAL_BIRTHS_M:
        base = junior if _born(TARGET_YEAR, 7) >= year else primary
        w = base * rng.lognormal(0.0, NOISE_SIGMA, len(vil))
        out[year] = w / w.sum()
    return out


def _tables(vil: pd.DataFrame, w: dict[int, np.ndarray], k: float, g7: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Births (village x year) and base-year grades (village x grade), whole numbers."""
    ids = vil["village_id"].to_numpy()
    years = range(FIRST_BIRTHS, LAST_BIRTHS + 1)
    births = pd.DataFrame(
        {y: _largest_remainder(round(k * NATIONAL_BIRTHS_M[y]), w[y]) for y in years}, index=ids, dtype=float
    )
    keep = {"g7": g7, **RATES["progression"]}
    grades = {}
    for i, g in enumerate(GRADES, start=1):
        survive = float(np.prod([keep.get(f"g{h}", 1.0) for h in range(2, i + 1)]))
        year = _born(BASE_YEAR, i)
        grades[g] = _largest_remainder(round(k * NATIONAL_BIRTHS_M[year] * survive), w[year])
    return births, pd.DataFrame(grades, index=ids, dtype=float)


def _project(vil: pd.DataFrame, births: pd.DataFrame, grades: pd.DataFrame, g7: float) -> pd.Series:
    """County totals of the target year (primary, junior)."""
    cohorts = Cohorts(
        base_year=BASE_YEAR,
        grades=grades,
        births=births.loc[:, BASE_YEAR + 1 - 6 :],
        kind=pd.Series(vil["kind"].to_numpy(), index=grades.index),
        grade_source="villages",
        births_file="",
    )
    rates = ProjectionConfig(**{**RATES, "progression": {**RATES["progression"], "g7": g7}})
    townships = pd.Series(vil["township"].to_numpy(), index=grades.index)
    return project(cohorts, townships, rates, TARGET_YEAR).totals().loc[TARGET_YEAR, ["primary", "junior"]]


def add_cohorts(layers: dict[str, gpd.GeoDataFrame], *, seed: int) -> tuple[dict[str, gpd.GeoDataFrame], dict]:
    """The layers with base-year grades on the villages and a ``births`` table,
    and the calibrated rates (``k`` births per national million, the g7 rate)."""
    vil = layers["villages"]
    w = _weights(vil, np.random.default_rng(seed + 1))
    births, grades = _tables(vil, w, 1000.0, 1.0)
    first = _project(vil, births, grades, 1.0)
    k = 1000.0 * TARGET["primary"] / first["primary"]
    g7 = round(TARGET["junior"] / (first["junior"] * k / 1000.0), 3)
    births, grades = _tables(vil, w, k, g7)
    got = _project(vil, births, grades, g7)
    villages = vil.copy()
    for g in GRADES:
        villages.insert(villages.columns.get_loc("geometry"), f"pupils_{g}", grades[g].astype(int).to_numpy())
    table = births.astype(int).stack().rename("births").rename_axis(["village_id", "year"]).reset_index()
    out = {**layers, "villages": villages, "births": table}
    return out, {"births_per_national_million": round(k, 1), "g7": g7, "projected_2030": got.round(1).to_dict()}
