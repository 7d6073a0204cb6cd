"""The model's arrays: versions of a form never change the form itself, slack
columns relax exactly the rows they are given, and a broken row is named."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planner.model.core import Builder
from planner.model.form import Form, Rows, compile_form


def _model():
    """x + y <= 4 (``cap[]``), x - y >= -1 (``lean[]``), x + 2y == 3 (``eq[]``); x integer."""
    b = Builder("t")
    x, y = b.var("x", (), upper=5.0, integer=True), b.var("y", ())
    b.add("cap", (), x + y <= 4)
    b.add("lean", (), x - y >= -1)
    b.add("eq", (), x + 2 * y == 3)
    b.objective = 2 * x + y + 1
    return b.finish()


def test_versions_of_a_form_leave_it_as_it_was():
    f = _model().form
    before = [a.copy() for a in (f.lower, f.upper, f.integer, f.row_lower, f.row_upper)]
    fixed, relaxed, narrowed = f.fixed(np.array([0]), np.array([1.0])), f.relaxed(), f.with_rows({0: (-np.inf, 2.0)})
    assert (fixed.lower[0], fixed.upper[0]) == (1.0, 1.0) and not relaxed.integer.any() and narrowed.row_upper[0] == 2.0
    assert fixed.matrix is f.matrix  # the matrix is shared, not copied
    after = [f.lower, f.upper, f.integer, f.row_lower, f.row_upper]
    assert all((a == b).all() for a, b in zip(before, after))


def test_slack_columns_relax_exactly_their_rows():
    """An ``over`` slack lets a ``<=`` row's activity exceed its bound, an
    ``under`` slack lets a ``>=`` row fall short; an equality row gets both."""
    m = _model()
    f = m.form
    rows = np.array([m.row("cap"), m.row("lean"), m.row("eq")])
    wide = f.with_slacks(
        rows,
        np.array([True, False, True]),
        np.array([False, True, True]),
        ["over[cap]", "under[lean]", "over[eq]", "under[eq]"],
    )
    assert wide.shape == (3, 4 + 0 + 2) and list(wide.names[2:]) == [
        "over[cap]",
        "under[lean]",
        "over[eq]",
        "under[eq]",
    ]
    a = wide.matrix.toarray()
    assert a[m.row("cap"), 2] == -1.0 and a[m.row("lean"), 3] == 1.0
    assert a[m.row("eq"), 4] == -1.0 and a[m.row("eq"), 5] == 1.0
    assert (wide.cost[2:] == 0).all() and (wide.lower[2:] == 0).all() and np.isinf(wide.upper[2:]).all()
    with pytest.raises(ValueError, match="4 slack columns but 3 names"):
        f.with_slacks(rows, np.array([True, False, True]), np.array([False, True, True]), ["a", "b", "c"])


def test_a_broken_row_or_bound_is_named_worst_first():
    f: Form = _model().form
    assert f.violations(np.array([1.0, 1.0]), 1e-9) == []
    assert f.objective(np.array([1.0, 1.0])) == pytest.approx(4.0)
    bad = f.violations(np.array([5.0, 0.5]), 1e-9)  # cap 5.5 > 4, lean holds, eq 6 != 3
    assert bad == ["eq[]", "cap[]"]
    assert f.violations(np.array([6.0, -1.5]), 1e-9)[-2:] == ["bound x__", "bound y__"]  # x > 5, y < 0


def _random_form(data) -> Form:
    """Columns 0..3 integer; rows of small integer coefficients, each ``<=``, ``>=`` or ``==``."""
    n, m = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 4))
    coef = st.integers(-3, 3)
    a = np.array(data.draw(st.lists(st.lists(coef, min_size=n, max_size=n), min_size=m, max_size=m)), float)
    rhs = np.array(data.draw(st.lists(st.integers(-4, 8), min_size=m, max_size=m)), float)
    kind = data.draw(st.lists(st.sampled_from("<>="), min_size=m, max_size=m))
    lo = np.where([k in ">=" for k in kind], rhs, -np.inf)
    up = np.where([k in "<=" for k in kind], rhs, np.inf)
    cost = np.array(data.draw(st.lists(coef, min_size=n, max_size=n)), float)
    rows = Rows.of([(np.arange(n), a[i], lo[i], up[i]) for i in range(m)])
    names = [f"x{j}" for j in range(n)]
    return compile_form(
        cost, 1.5, np.zeros(n), np.full(n, 3.0), np.ones(n, bool), rows, names, [f"r{i}" for i in range(m)]
    )


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_reduced_form_is_the_form_with_its_other_columns_held(data):
    """Over every value of the free columns: the reduced form's objective is
    the whole form's, and a row breaks in one exactly when it breaks in the
    other (rows of held columns alone, which the reduction drops, hold at x)."""
    f = _random_form(data)
    n = f.shape[1]
    free = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    assume(free.any())
    x = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), float)
    held_only = np.flatnonzero(np.abs(f.matrix[:, free]).sum(axis=1).A1 == 0)
    act = f.activity(x)
    assume(all(f.row_lower[i] <= act[i] <= f.row_upper[i] for i in held_only))
    r = f.reduced(free, x)
    assert r.shape[1] == int(free.sum()) and list(r.names) == list(f.names[free])
    for y in np.ndindex(*([4] * int(free.sum()))):
        whole = x.copy()
        whole[free] = y
        assert r.objective(np.array(y, float)) == pytest.approx(f.objective(whole))
        assert bool(r.violations(np.array(y, float), 1e-9)) == bool(f.violations(whole, 1e-9))
