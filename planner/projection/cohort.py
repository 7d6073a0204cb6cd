"""The cohort-component projection of pupils by village, grade and year.

From year t to t + 1, for every village (pupils kept as real numbers; a plan
rounds them once, per village and band):

1. Ageing. Grade g of t + 1 is grade g - 1 of t times the progression rate
   into g (retention, repeaters and leavers in one number); grade 9 leaves.
   Grade 1 is the births of t + 1 - entry_age times the entry rate.
2. Net migration. Every grade times 1 + m, where m is the township's rate if
   the scenario gives one, else the rate of the village's kind (town, seat,
   village): migrant children arriving (随迁子女) or families leaving.
3. Urbanisation (进城就读). A share u of each rural village's pupils moves:
   ``urbanisation_to_town`` of them to the county town's communities, the rest
   to the seat communities of their own township (to the town where it has
   none), shared in proportion to the receiving places' pupils of that grade
   (equally where they have none).

Births after the last year given are the year before's times
``births_growth_after_last``. With every rate 1 and nobody moving, the pupils
of grade g in year t are exactly the base year's grade g - (t - base) or,
for later cohorts, the births of t - entry_age - (g - 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.config.projection import ProjectionConfig
from planner.data.cohorts import Cohorts
from planner.domain import BAND_OF_GRADE, BANDS, GRADES, LEVEL_OF_BAND, LEVELS


@dataclass(frozen=True)
class Projection:
    """Pupils by year, village and grade (``pupils[year_index, village, grade]``)."""

    villages: pd.Index
    years: tuple[int, ...]
    pupils: np.ndarray
    warnings: tuple[str, ...] = ()

    def _at(self, year: int) -> np.ndarray:
        if year not in self.years:
            raise ValueError(f"{year} is outside the projection ({self.years[0]}-{self.years[-1]})")
        return self.pupils[self.years.index(year)]

    def grades(self, year: int) -> pd.DataFrame:
        """Pupils of ``year`` by village (rows) and grade (columns)."""
        return pd.DataFrame(self._at(year), index=self.villages, columns=list(GRADES))

    def bands(self, year: int) -> pd.DataFrame:
        """Pupils of ``year`` by village (rows) and band (columns ``g1_3`` ..)."""
        g = self.grades(year)
        return pd.DataFrame({b: g[[x for x in GRADES if BAND_OF_GRADE[x] == b]].sum(axis=1) for b in BANDS})

    def totals(self) -> pd.DataFrame:
        """County pupils by year (rows): each grade, band and level, and in all."""
        by_grade = pd.DataFrame(self.pupils.sum(axis=1), index=pd.Index(self.years, name="year"), columns=list(GRADES))
        out = by_grade.copy()
        for b in BANDS:
            out[b] = by_grade[[g for g in GRADES if BAND_OF_GRADE[g] == b]].sum(axis=1)
        for level in LEVELS:
            out[level] = out[[b for b in BANDS if LEVEL_OF_BAND[b] == level]].sum(axis=1)
        out["total"] = out[list(LEVELS)].sum(axis=1)
        return out


def _births_of(cohorts: Cohorts, year: int, growth: float) -> np.ndarray:
    """Births of ``year`` per village; after the last year given, grown yearly."""
    table = cohorts.births
    last = int(table.columns[-1])
    if year <= last:
        return table[year].to_numpy(dtype=float)
    return table[last].to_numpy(dtype=float) * growth ** (year - last)


def _migration(cohorts: Cohorts, townships: pd.Series, rates: ProjectionConfig) -> np.ndarray:
    """Each village's net yearly migration rate: its township's, else its kind's."""
    by_kind = cohorts.kind.map(lambda k: rates.migration_per_year.get(k, 0.0))
    by_town = townships.map(rates.migration_by_township)
    return by_town.fillna(by_kind).to_numpy(dtype=float)


def _share_out(pupils: np.ndarray, moved: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Pupils arriving at the places ``to`` (a mask): ``moved`` (by grade) shared in
    proportion to their pupils of each grade, equally where they have none."""
    arriving = np.zeros_like(pupils)
    if not to.any():
        return arriving
    weights = pupils[to]
    totals = weights.sum(axis=0)
    even = np.full(weights.shape, 1.0 / int(to.sum()))
    shares = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), even)
    arriving[to] = shares * moved
    return arriving


@dataclass(frozen=True)
class _Urban:
    """Who moves where under urbanisation."""

    rural: np.ndarray
    town: np.ndarray
    seats: dict[str, tuple[np.ndarray, np.ndarray]]
    """township -> (its rural villages, its seat communities)."""


def _urban(cohorts: Cohorts, townships: pd.Series) -> _Urban:
    kind, tw = cohorts.kind.to_numpy(), townships.to_numpy()
    rural, town = kind == "village", kind == "town"
    seats = {t: (rural & (tw == t), (kind == "seat") & (tw == t)) for t in sorted(set(tw[rural]))}
    return _Urban(rural=rural, town=town, seats=seats)


def _urbanise(pupils: np.ndarray, u: float, to_town: float, urban: _Urban) -> np.ndarray:
    """Move a share ``u`` of rural pupils to the town and their seats (they stay
    where there is neither)."""
    if u == 0 or not urban.rural.any():
        return pupils
    movers = pupils * u * urban.rural[:, None]
    out = pupils - movers
    has_town = bool(urban.town.any())
    town_share = to_town if has_town else 0.0
    to_town_total = np.zeros(pupils.shape[1])
    for rural, seat in urban.seats.values():
        leaving = movers[rural].sum(axis=0)
        if seat.any():
            out += _share_out(pupils, leaving * (1 - town_share), seat)
            to_town_total += leaving * town_share
        elif has_town:
            to_town_total += leaving
        else:
            out[rural] += movers[rural]
    return out + _share_out(pupils, to_town_total, urban.town)


def project(cohorts: Cohorts, townships: pd.Series, rates: ProjectionConfig, last_year: int) -> Projection:
    """Pupils of every year from the base year to ``last_year``."""
    base = cohorts.base_year
    years = tuple(range(base, max(base, last_year) + 1))
    n = len(cohorts.grades)
    pupils = np.zeros((len(years), n, len(GRADES)))
    pupils[0] = cohorts.grades[list(GRADES)].to_numpy(dtype=float)
    progression = np.array([rates.progression_rate(g) for g in GRADES[1:]])
    growth = 1 + _migration(cohorts, townships, rates)
    urban = _urban(cohorts, townships)
    warnings = []
    if rates.urbanisation_per_year > 0 and not urban.town.any() and not any(s.any() for _, s in urban.seats.values()):
        warnings.append("urbanisation is set but no village is of kind town or seat: nobody moves")
    for i, year in enumerate(years[1:], start=1):
        now = np.empty((n, len(GRADES)))
        now[:, 1:] = pupils[i - 1][:, :-1] * progression
        now[:, 0] = _births_of(cohorts, year - rates.entry_age, rates.births_growth_after_last) * rates.entry_rate
        now *= growth[:, None]
        pupils[i] = _urbanise(now, rates.urbanisation_per_year, rates.urbanisation_to_town, urban)
    return Projection(villages=cohorts.grades.index, years=years, pupils=pupils, warnings=tuple(warnings))
