"""The builder's two ways of writing a model, PuLP objects and arrays, give
the same form; the per-pair families' array rows are the rows their
definition states, re-derived here from the model's tables."""

from __future__ import annotations

import numpy as np
import pulp
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.data.load import load_problem
from planner.data.travel import attach_distances, serving_types
from planner.domain import LEVEL_OF_BAND
from planner.model import build_model
from planner.model.core import Builder, key_names
from planner.model.form import Rows
from tests.factory import make_case, school, site, village

PART = st.text(alphabet="ab-+ />[]1_村", min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(PART, PART), min_size=1, max_size=8, unique=True))
def test_array_columns_are_named_as_pulp_names_its_variables(keys):
    lp = pulp.LpProblem("names")
    assert key_names("assign", keys, as_pulp=True) == [lp.add_variable(f"assign[{a},{b}]").name for a, b in keys]


def _both_ways(n_block: int, rows: list[list[tuple[int, float]]], lo: list[float], integer: list[bool]):
    """One model written twice: the block's columns as PuLP variables with PuLP
    rows, and as an array block with array rows (the PuLP column ``z`` in both)."""
    keys = [(f"k{i}",) for i in range(n_block)]
    by_pulp, by_arrays = Builder("a"), Builder("b")
    z1, z2 = by_pulp.var("z", (), upper=3.0), by_arrays.var("z", (), upper=3.0)
    xs = [by_pulp.var("x", k, upper=1.0, integer=w, site="S") for k, w in zip(keys, integer)]
    pos = by_arrays.columns("x", keys, upper=1.0, integer=np.array(integer), sites=["S"] * n_block)
    for r, (terms, low) in enumerate(zip(rows, lo)):
        e = pulp.LpAffineExpression([(xs[j], c) for j, c in terms]) + z1
        by_pulp.add("row", (r,), e >= low)
    cols = [np.array([pos[j] for j, _ in t] + [z2.pos], np.int64) for t in rows]
    coefs = [np.array([c for _, c in t] + [1.0]) for t in rows]
    up = np.full(len(rows), np.inf)
    by_arrays.add_rows("row", [(r,) for r in range(len(rows))], Rows.of(list(zip(cols, coefs, lo, up))))
    by_pulp.objective = pulp.lpSum(2.0 * x for x in xs) + z1
    by_arrays.objective = pulp.LpAffineExpression([(z2, 1.0)])
    by_arrays.objective_terms = [(pos, np.full(n_block, 2.0))]
    return by_pulp.finish(), by_arrays.finish()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_array_block_and_pulp_variables_give_the_same_form(data):
    n = data.draw(st.integers(1, 6))
    term = st.tuples(st.integers(0, n - 1), st.floats(-5, 5, allow_nan=False).filter(lambda c: c != 0))
    rows = data.draw(st.lists(st.lists(term, min_size=1, max_size=4, unique_by=lambda t: t[0]), min_size=1, max_size=5))
    lo = data.draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=len(rows), max_size=len(rows)))
    integer = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    a, b = _both_ways(n, rows, lo, integer)
    fa, fb = a.form, b.form
    assert list(fa.names) == list(fb.names) and fa.row_names == fb.row_names
    for name in ("cost", "lower", "upper", "integer", "row_lower", "row_upper"):
        assert np.array_equal(getattr(fa, name), getattr(fb, name)), name
    assert np.array_equal(fa.matrix.toarray(), fb.matrix.toarray())
    assert dict(a.columns) == dict(b.columns) and list(a.col_site) == list(b.col_site)


def test_a_stand_in_is_the_array_column_it_stands_for():
    b = Builder("t")
    pos = b.columns("x", [("a",), ("b",)], upper=1.0, integer=np.array([True, False]), sites=["S1", "S2"])
    xa, xb = b.stand_ins(pos)
    y = b.var("y", ())
    b.add("link", (), xb - y <= 0)
    b.objective = 3.0 * xa
    b.objective_terms = [(pos, np.array([1.0, 5.0]))]
    m = b.finish()
    col = m.columns[("x", ("a",))], m.columns[("x", ("b",))], m.columns[("y", ())]
    assert m.form.shape == (1, 3) and list(m.form.cost[list(col)]) == [4.0, 5.0, 0.0]
    assert m.form.matrix.toarray()[0, list(col)].tolist() == [0.0, 1.0, -1.0]
    assert m.form.integer[col[0]] and not m.form.integer[col[1]]


def _mixed_county(tmp_path):
    vs = [village("V1", 0, 0, g1_3=10, g4_6=8, g7_9=6), village("V2", 4, 0, g1_3=5, g7_9=9)]
    ss = [school("S1", 0, 0, "nine_year"), school("S2", 4, 0, "teaching_point"), school("S3", 2, 1, "junior")]
    cs = [site("C1", 2, -1, allowed="primary,junior")]
    path = make_case(tmp_path, vs, ss, cs, scenario={"targets": {}})
    return build_model(attach_distances(load_problem(path)))


def test_the_per_pair_rows_are_their_definition(tmp_path):
    """assign_all: the village-band's pairs sum to one; assign_open: a pair's
    column less the site's open columns of the types teaching its band, at
    most zero; enrolment: the site's pupils of a level less its pairs'."""
    m = _mixed_county(tmp_path)
    a, problem = m.form.matrix.tocsr(), attach_distances(load_problem(tmp_path / "case.yaml"))
    p, opens = m.pairs, m.open
    assert len(p) and opens["type"].nunique() > 2

    def row(i):
        r = a.getrow(i)
        return dict(zip(r.indices.tolist(), r.data.tolist())), m.form.row_lower[i], m.form.row_upper[i]

    for (v, band), grp in p.groupby(["village_id", "band"]):
        assert row(m.row("assign_all", v, band)) == (dict.fromkeys(grp["col"].tolist(), 1.0), 1.0, 1.0)
    for v, band, s, col in p[["village_id", "band", "site_id", "col"]].itertuples(index=False):
        teach = opens[(opens["site_id"] == s) & opens["type"].isin(serving_types(problem, band))]
        want = {col: 1.0, **dict.fromkeys(teach["col"].tolist(), -1.0)}
        assert row(m.row("assign_open", v, band, s)) == (want, -np.inf, 0.0)
    level = p["band"].map(LEVEL_OF_BAND)
    for (s, lv), col in m.enrol.items():
        mine = p[(p["site_id"] == s) & (level == lv) & (p["pupils"] > 0)]
        want = {col: 1.0, **{c: -n for c, n in zip(mine["col"], mine["pupils"])}}
        assert row(m.row("enrolment", s, lv)) == (want, 0.0, 0.0)
