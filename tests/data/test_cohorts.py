"""The projection's inputs: base-year grades, kinds of place and births read
and checked, every mistake named with its file, row and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planner.data.load import load_problem
from planner.errors import InputError
from planner.pipeline import prepare
from tests.factory import make_case, school, village

PROJECTION = {"target_year": 2023, "projection": {"base_year": 2021}}


def _village(vid: str, x: float, grades: list[int] | None, kind: str | None = "village") -> dict:
    v = village(vid, x, 0, 30, 30, 30)
    if grades is not None:
        v.update({f"pupils_g{i + 1}": n for i, n in enumerate(grades)})
    if kind is not None:
        v["kind"] = kind
    return v


def _births(folder: Path, rows: list[tuple[str, int, float]]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["village_id", "year", "births"]).to_csv(folder / "births.csv", index=False)
    return "births.csv"


def _case(tmp_path: Path, villages: list[dict], births: list[tuple[str, int, float]], scen: dict | None = None) -> Path:
    doc = {**PROJECTION, "data": {"births": {"path": _births(tmp_path, births)}}, **(scen or {})}
    return make_case(tmp_path, villages, [school("S1", 0, 0, "nine_year")], scenario=doc)


ALL_YEARS = [(v, y, 10.0) for v in ("V1", "V2") for y in range(2016, 2018)]


def test_grades_kinds_and_births_are_read(tmp_path):
    grades = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    p = load_problem(_case(tmp_path, [_village("V1", 1, grades, "城区"), _village("V2", 2, grades)], ALL_YEARS))
    c = p.cohorts
    assert c is not None and c.grade_source == "villages"
    assert c.grades.loc["V1"].tolist() == grades
    assert c.kind.tolist() == ["town", "village"]
    assert list(c.births.columns) == [2016, 2017]
    assert any(f.endswith("births.csv") for f, _ in p.inputs)


def test_bands_are_split_by_the_schools_enrolment_by_grade(tmp_path):
    enrol = {f"enrol_g{i + 1}": n for i, n in enumerate([10, 20, 30, 1, 1, 1, 5, 5, 10])}
    path = make_case(
        tmp_path,
        [_village("V1", 1, None), _village("V2", 2, None)],
        [school("S1", 0, 0, "nine_year", **enrol)],
        scenario={**PROJECTION, "data": {"births": {"path": _births(tmp_path, ALL_YEARS)}}},
    )
    c = load_problem(path).cohorts
    assert c is not None and c.grade_source == "schools"
    assert c.grades.loc["V1"].tolist() == pytest.approx([5, 10, 15, 10, 10, 10, 7.5, 7.5, 15])


def test_the_planned_pupils_are_the_projected_ones(tmp_path):
    """Base 2021, target 2023: grade 1-3 of 2023 were born 2015-2017, so two
    cohorts come from births and one from the base year's grade 1."""
    grades = [7, 0, 0, 0, 0, 0, 0, 0, 0]
    p = prepare(_case(tmp_path, [_village("V1", 1, grades), _village("V2", 2, [0] * 9)], ALL_YEARS))
    assert p.villages["pupils_g1_3"].tolist() == [7 + 10 + 10, 10 + 10]
    assert p.villages["pupils_g7_9"].tolist() == [0, 0]


@pytest.mark.parametrize(
    ("villages", "births", "scen", "expected"),
    [
        ([_village("V1", 1, [1] * 9)], [("V1", 2016, 1), ("V9", 2016, 1)], {}, ["births.csv", "unknown village 'V9'"]),
        (
            [_village("V1", 1, [1] * 9), _village("V2", 2, [1] * 9)],
            [("V1", 2016, 1), ("V1", 2017, 1), ("V2", 2017, 1)],
            {},
            ["village V2 has no births row for 2016", "write 0 for none"],
        ),
        ([_village("V1", 1, [1] * 9)], [("V1", 2016, -3)], {}, ["births.csv", "row 1", "births", "negative"]),
        ([_village("V1", 1, [1] * 9)], [("V1", 2010, 1)], {}, ["no births for 2016 or later"]),
        ([_village("V1", 1, [1] * 9, "mountain")], [("V1", 2016, 1)], {}, ["unknown kind 'mountain'", "kind"]),
        (
            [_village("V1", 1, [1] * 9, None)],
            [("V1", 2016, 1)],
            {"projection": {"base_year": 2021, "urbanisation_per_year": 0.02}},
            ["need a 'kind' column"],
        ),
    ],
)
def test_bad_cohorts_are_named(tmp_path, villages, births, scen, expected):
    with pytest.raises(InputError) as e:
        load_problem(_case(tmp_path, villages, births, scen))
    text = str(e.value)
    for piece in expected:
        assert piece in text, text


def test_a_village_missing_some_grade_columns_is_named(tmp_path):
    v = _village("V1", 1, [1] * 9)
    del v["pupils_g8"]
    with pytest.raises(InputError, match="missing column 'pupils_g8'"):
        load_problem(_case(tmp_path, [v], [("V1", 2016, 1)]))


def test_a_base_year_after_the_target_year_is_refused(tmp_path):
    with pytest.raises(InputError, match="base_year 2031 is after target_year 2023"):
        load_problem(_case(tmp_path, [_village("V1", 1, [1] * 9)], ALL_YEARS, {"projection": {"base_year": 2031}}))
