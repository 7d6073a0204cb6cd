"""Bad input: every mistake of the corpus gets a message naming its place, and
nothing is written; malformed files never raise anything but InputError.

The corpus (tests/data/bad/, built by make_corpus.py) is rebuilt into a
temporary folder here, so the table and the files can never drift apart.
"""

from __future__ import annotations

import io
import json
import math
import string
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from typer.testing import CliRunner

from planner.cli import app
from planner.data.load import load_problem
from planner.errors import InputError
from tests.data.bad import make_corpus
from tests.factory import CRS, X0, Y0, make_case, school, village


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return make_corpus.build(tmp_path_factory.mktemp("bad"))


def _run(scenario: Path, out: Path):
    return CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "--quiet"])


def test_the_corpus_base_is_valid(corpus, tmp_path):
    """Each bad case is this county plus one mistake, so the base must solve."""
    res = _run(corpus["base"], tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "summary.json").is_file()


def _run_case(corpus, tmp_path, case: str, code: int):
    """Run a corpus case; assert its exit code and every expected piece of the message."""
    _, expected = make_corpus.CASES[case]
    res = _run(corpus[case], tmp_path / "out")
    assert res.exit_code == code, res.output
    for piece in expected:
        assert piece in res.output, f"{case}: {piece!r} missing from:\n{res.output}"
    return res, expected


@pytest.mark.parametrize("case", [c for c, (code, _) in make_corpus.CASES.items() if code == 2])
def test_bad_input_names_the_place_and_writes_nothing(corpus, tmp_path, case):
    res, _ = _run_case(corpus, tmp_path, case, 2)
    assert "Traceback" not in res.output
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary folder either


@pytest.mark.parametrize("case", [c for c, (code, _) in make_corpus.CASES.items() if code == 3])
def test_conflicts_before_solving_give_both_numbers_and_a_diagnosis(corpus, tmp_path, case):
    _, expected = _run_case(corpus, tmp_path, case, 3)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["diagnosis.json"]
    d = json.loads((tmp_path / "out" / "diagnosis.json").read_text(encoding="utf-8"))
    assert d["stage"] == "checks" and any(expected[0] in r for r in d["reasons"])


def test_every_problem_is_reported_in_one_pass(corpus):
    with pytest.raises(InputError) as e:
        load_problem(corpus["many_mistakes"])
    where = {(Path(i.file).name, i.row, i.column) for i in e.value.issues}
    assert where == {
        ("villages.csv", 1, "pupils_g1_3"),
        ("villages.csv", 4, "village_id"),
        ("schools.csv", 2, "max_classes"),
        ("schools.csv", 2, "type"),
        ("scenario.yaml", None, None),
    }


def test_committed_corpus_matches_the_script(tmp_path):
    """The folders in tests/data/bad are what make_corpus.py builds (text files)."""
    built = make_corpus.build(tmp_path)
    for case, path in built.items():
        for f in path.parent.iterdir():
            if f.suffix in (".csv", ".yaml", ".geojson"):
                committed = make_corpus.HERE / case / f.name
                assert committed.read_text(encoding="utf-8") == f.read_text(encoding="utf-8"), committed


# ------------------------------------------------------- property tests


def _valid_case(folder: Path) -> Path:
    return make_case(
        folder, [village("V1", 0, 0, 10, 10, 10), village("V2", 2, 0, 5, 5, 5)], [school("S1", 1, 0, "nine_year")]
    )


cell = st.one_of(
    st.text(alphabet=string.printable + "，；村镇０１", max_size=8),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "NA", "null", "1e400", "-0"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.lists(
        st.sampled_from(
            [
                "village_id",
                "name",
                "township",
                "pupils_g1_3",
                "pupils_g4_6",
                "pupils_g7_9",
                "lon",
                "lat",
                "x",
                "y",
                "extra",
                "",
            ]
        ),
        min_size=0,
        max_size=10,
    ),
    rows=st.lists(st.lists(cell, min_size=0, max_size=11), max_size=5),
    raw=st.one_of(st.none(), st.binary(max_size=60)),
)
def test_malformed_csv_raises_only_input_error(tmp_path, header, rows, raw):
    base = _valid_case(tmp_path / "case")
    f = tmp_path / "case" / "villages.csv"
    if raw is not None:
        f.write_bytes(raw)
    else:
        buf = io.StringIO()
        buf.write(",".join(header) + "\n")
        for r in rows:
            buf.write(",".join(r) + "\n")
        f.write_text(buf.getvalue(), encoding="utf-8")
    text = base.read_text(encoding="utf-8").replace(
        "data:\n  gpkg: case.gpkg", "data:\n  gpkg: case.gpkg\n  villages: {path: villages.csv}"
    )
    base.write_text(text, encoding="utf-8")
    try:
        p = load_problem(base)
    except InputError as e:
        assert e.issues and all(i.file for i in e.issues)
        return
    assert len(p.villages) == len(rows)  # accepted only when every row is valid


attr = st.one_of(
    st.none(),
    st.integers(-5, 10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.booleans(),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.fixed_dictionaries(
            dict.fromkeys(("school_id", "type", "pupils_g1_3", "max_classes", "teaching_area_m2"), attr)
        ),
        min_size=1,
        max_size=4,
    ),
    xy=st.lists(st.tuples(st.floats(-1e7, 1e7), st.floats(-1e7, 1e7)), min_size=4, max_size=4),
    crs=st.sampled_from([CRS, "EPSG:4326", None]),
)
@example(
    values=[dict.fromkeys(("school_id", "type", "pupils_g1_3", "teaching_area_m2")) | {"max_classes": math.inf}],
    xy=[(0.0, 0.0)] * 4,
    crs=CRS,
)  # found by the search: inf in a whole-number column warned while rounding
def test_malformed_geopackage_attributes_raise_only_input_error(tmp_path, values, xy, crs):
    base = _valid_case(tmp_path / "case")
    rows = [{**school(f"S{i}", 0, 0, "primary"), **v} for i, v in enumerate(values)]
    for r in rows:
        r.pop("x"), r.pop("y")
    geom = [Point(X0 + a, Y0 + b) if crs == CRS else Point(a, b) for a, b in xy[: len(rows)]]
    gdf = gpd.GeoDataFrame(rows, geometry=geom, crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.write_dataframe(gdf, tmp_path / "case" / "case.gpkg", layer="schools")
    try:
        load_problem(base)
    except InputError as e:
        assert e.issues
        return
    ok = [isinstance(v["school_id"], str) and v["school_id"].strip() for v in values]
    assert all(ok) and len({v["school_id"].strip() for v in values}) == len(values)


def test_numbers_read_as_ids_keep_no_decimal_point(tmp_path):
    """A GeoPackage may store ids as numbers; 101.0 must still be id '101'."""
    path = make_case(tmp_path, [village("V1", 0, 0, 10)], [school("S1", 0, 1)])
    g = pyogrio.read_dataframe(tmp_path / "case.gpkg", layer="schools")
    g["school_id"] = np.array([101.0])
    pyogrio.write_dataframe(g, tmp_path / "case.gpkg", layer="schools")
    assert list(load_problem(path).sites.index) == ["101"]
