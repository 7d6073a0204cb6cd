"""The cohort-component projection: hand-computed cohorts, exact reproduction
with unit rates, and pupils conserved by urbanisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planner.config.projection import ProjectionConfig
from planner.data.cohorts import Cohorts
from planner.domain import GRADES
from planner.projection.cohort import project

VILLAGES = pd.Index(["A", "B", "C"], name="village_id")


def cohorts(grades: list[list[float]], births: dict[int, list[float]], kinds=("town", "seat", "village")) -> Cohorts:
    return Cohorts(
        base_year=2021,
        grades=pd.DataFrame(grades, index=VILLAGES[: len(grades)], columns=list(GRADES), dtype=float),
        births=pd.DataFrame(births, index=VILLAGES[: len(grades)], dtype=float),
        kind=pd.Series(list(kinds)[: len(grades)], index=VILLAGES[: len(grades)]),
        grade_source="villages",
        births_file="births.csv",
    )


def test_one_year_by_hand() -> None:
    """Town A, seat B and village C of one township; grade 1 from the 2016
    births, +10 % in town, -10 % in the village, 20 % of the village's pupils
    moving, half to the town and half to the seat."""
    c = cohorts([[10] * 9, [20] * 9, [30] * 9], {2016: [12, 25, 40]})
    rates = ProjectionConfig(
        base_year=2021,
        entry_rate=0.9,
        progression={"g7": 0.8},
        migration_per_year={"town": 0.1, "village": -0.1},
        urbanisation_per_year=0.2,
        urbanisation_to_town=0.5,
    )
    p = project(c, pd.Series(["T1"] * 3, index=VILLAGES), rates, 2022)
    g = p.grades(2022)
    # A: g1 = 12 x 0.9 x 1.1 + half of C's movers (36 x 0.9 x 0.2 / 2)
    assert g.loc["A", "g1"] == pytest.approx(11.88 + 3.24)
    assert g.loc["B", "g1"] == pytest.approx(22.5 + 3.24)
    assert g.loc["C", "g1"] == pytest.approx(32.4 * 0.8)
    assert g.loc["A", "g2"] == pytest.approx(11 + 2.7)
    assert g.loc["C", "g7"] == pytest.approx(17.28)
    assert g.loc["B", "g7"] == pytest.approx(16 + 2.16)
    assert g.loc["A", "g9"] == pytest.approx(11 + 2.7)
    assert p.totals().loc[2022, "g1"] == pytest.approx(66.78)
    assert p.grades(2021).equals(c.grades)


def test_township_rate_wins_over_kind_and_births_grow_after_the_last_year() -> None:
    c = cohorts([[0] * 9, [0] * 9], {2016: [100, 100], 2017: [50, 80]}, kinds=("town", "town"))
    rates = ProjectionConfig(
        base_year=2021,
        migration_per_year={"town": 0.5},
        migration_by_township={"乙镇": 0.0},
        births_growth_after_last=0.5,
    )
    p = project(c, pd.Series(["甲镇", "乙镇"], index=VILLAGES[:2]), rates, 2024)
    g1 = p.totals()["g1"]  # 2024's grade 1 was born in 2018: half of 2017's
    assert p.grades(2022)["g1"].tolist() == pytest.approx([150, 100])
    assert p.grades(2024)["g1"].tolist() == pytest.approx([25 * 1.5, 40])
    assert g1.loc[2023] == pytest.approx(50 * 1.5 + 80)
    with pytest.raises(ValueError, match="outside"):
        p.grades(2025)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 300), min_size=9, max_size=9), min_size=3, max_size=3),
    st.lists(st.lists(st.integers(0, 300), min_size=3, max_size=3), min_size=9, max_size=9),
    st.integers(2021, 2033),
)
def test_unit_rates_reproduce_every_cohort_exactly(grades, births, year) -> None:
    """Grade g of year t is the base year's grade g - (t - base), or the births
    of t - 6 - (g - 1) for cohorts not yet at school in the base year."""
    c = cohorts(grades, {2016 + i: b for i, b in enumerate(births)})
    p = project(c, pd.Series(["T"] * 3, index=VILLAGES), ProjectionConfig(base_year=2021), year)
    k = year - 2021
    for v, name in enumerate(VILLAGES):
        for gi in range(9):
            if gi >= k:
                want = grades[v][gi - k]
            else:
                born = year - 6 - gi
                want = births[born - 2016][v] if born <= 2024 else births[-1][v]
            assert p.grades(year).loc[name, GRADES[gi]] == want


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 200), min_size=9, max_size=9), min_size=3, max_size=3),
    st.lists(st.sampled_from(["town", "seat", "village"]), min_size=3, max_size=3),
    st.floats(0.01, 0.5),
    st.floats(0, 1),
)
def test_urbanisation_moves_pupils_without_losing_any(grades, kinds, u, to_town) -> None:
    assume("village" in kinds and ({"town", "seat"} & set(kinds)))
    c = cohorts(grades, {2016: [50, 60, 70]}, kinds=tuple(kinds))
    tw = pd.Series(["T"] * 3, index=VILLAGES)
    still = project(c, tw, ProjectionConfig(base_year=2021), 2023)
    moved = project(
        c, tw, ProjectionConfig(base_year=2021, urbanisation_per_year=u, urbanisation_to_town=to_town), 2023
    )
    assert np.allclose(moved.totals().to_numpy(), still.totals().to_numpy())
    rural = np.array(kinds) == "village"
    before, after = still.pupils[-1][rural].sum(), moved.pupils[-1][rural].sum()
    assume(before > 0)
    assert after < before


def test_totals_add_grades_into_bands_and_levels() -> None:
    c = cohorts([[1, 2, 3, 4, 5, 6, 7, 8, 9]], {2016: [0]}, kinds=("village",))
    t = project(c, pd.Series(["T"], index=VILLAGES[:1]), ProjectionConfig(base_year=2021), 2021).totals()
    assert t.loc[2021, ["g1_3", "g4_6", "g7_9", "primary", "junior", "total"]].tolist() == [6, 15, 24, 21, 24, 45]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.lists(st.floats(0, 80), min_size=9, max_size=9), min_size=3, max_size=3),
    st.lists(st.lists(st.floats(0, 40), min_size=3, max_size=3), min_size=9, max_size=9),
    st.lists(st.sampled_from(["town", "seat", "village"]), min_size=3, max_size=3),
    st.integers(2021, 2026),
    st.integers(0, 3),
)
def test_an_envelope_is_every_years_most(grades, births, kinds, first, length) -> None:
    """``phase_pupils: envelope``: each village's band at its most over the
    years, each year rounded: at least every year's, and equal to one of them."""
    from planner.projection.pupils import span_bands

    assume(length > 0)
    rates = ProjectionConfig(base_year=2021, migration_per_year={"town": 0.03}, urbanisation_per_year=0.05)
    c = cohorts(grades, {2016 + i: b for i, b in enumerate(births)}, kinds)
    p = project(c, pd.Series(["T"] * 3, index=VILLAGES), rates, first + length)
    env = span_bands(p, first, first + length).to_numpy()
    each = np.stack([np.rint(p.bands(y).astype(float)).to_numpy() for y in range(first, first + length + 1)])
    assert (env >= each).all()
    assert (each == env).any(axis=0).all()
