"""The model as arrays: what every solve reads, built once per model.

A :class:`Form` is a mixed-integer programme in the form solvers take:
minimise ``cost @ x + offset`` subject to ``row_lower <= A x <= row_upper``,
``lower <= x <= upper`` and ``x[integer]`` whole. Columns and rows are
positions; their names (``assign[V1,g1_3,S2]``, ``class_cap[S042,primary]``)
are for people and for joining models by key. A solve strategy never changes a
form: :meth:`Form.fixed`, :meth:`Form.relaxed` and :meth:`Form.with_rows`
return a new form that shares the matrix, :meth:`Form.with_slacks` one
with columns added and :meth:`Form.with_row` one with a row added.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.sparse import csc_matrix, csr_matrix, hstack, vstack


@dataclass(frozen=True, eq=False)
class Form:
    """A mixed-integer programme as arrays (see the module docstring)."""

    cost: np.ndarray
    offset: float
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    matrix: csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    names: pd.Index
    """Column names, unique (the model's keys in ``name[k1,k2]`` form)."""
    row_names: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self.matrix.shape

    def objective(self, x: np.ndarray) -> float:
        """The objective's value at ``x``."""
        return float(self.cost @ x + self.offset)

    def activity(self, x: np.ndarray) -> np.ndarray:
        """Each row's ``A x``."""
        return np.asarray(self.matrix @ x, dtype=float)

    def is_mip(self) -> bool:
        return bool(self.integer.any())

    def fixed(self, cols: np.ndarray, values: np.ndarray) -> Form:
        """The form with the columns ``cols`` held at ``values``."""
        lower, upper = self.lower.copy(), self.upper.copy()
        lower[cols] = values
        upper[cols] = values
        return replace(self, lower=lower, upper=upper)

    def relaxed(self, mask: np.ndarray | None = None) -> Form:
        """The form with the integer columns of ``mask`` (default: all) continuous."""
        integer = np.zeros_like(self.integer) if mask is None else self.integer & ~mask
        return replace(self, integer=integer)

    def with_rows(self, rows: dict[int, tuple[float, float]]) -> Form:
        """The form with the given rows' (lower, upper) bounds replaced."""
        if not rows:
            return self
        lo, up = self.row_lower.copy(), self.row_upper.copy()
        for i, (a, b) in rows.items():
            lo[i], up[i] = a, b
        return replace(self, row_lower=lo, row_upper=up)

    def with_row(self, coefs: np.ndarray, lower: float, upper: float, name: str) -> Form:
        """The form with one row added: ``lower <= coefs @ x <= upper`` (``coefs`` dense, one per column)."""
        row = csr_matrix(np.asarray(coefs, float).reshape(1, -1))
        return replace(
            self,
            matrix=vstack([self.matrix, row], format="csc"),
            row_lower=np.append(self.row_lower, lower),
            row_upper=np.append(self.row_upper, upper),
            row_names=(*self.row_names, name),
        )

    def with_objective(self, cost: np.ndarray, offset: float = 0.0) -> Form:
        """The same rows and columns under another objective."""
        return replace(self, cost=np.asarray(cost, float), offset=float(offset))

    def with_slacks(self, rows: np.ndarray, over: np.ndarray, under: np.ndarray, names: list[str]) -> Form:
        """Columns added: for each row ``rows[k]``, an ``over`` slack (the row's
        activity may exceed its upper bound by it) where ``over[k]``, an
        ``under`` slack (may fall short of its lower bound) where ``under[k]``.
        ``names`` names the new columns in that order (over before under).
        The new columns cost nothing: the caller sets the objective."""
        entries = [
            e for r, o, u in zip(rows, over, under) for e in ([(r, -1.0)] if o else []) + ([(r, 1.0)] if u else [])
        ]
        k = len(entries)
        if k != len(names):
            raise ValueError(f"{k} slack columns but {len(names)} names")
        r = np.array([e[0] for e in entries], dtype=np.int64)
        v = np.array([e[1] for e in entries], dtype=float)
        extra = csc_matrix((v, (r, np.arange(k))), shape=(self.shape[0], k))
        return replace(
            self,
            cost=np.concatenate([self.cost, np.zeros(k)]),
            lower=np.concatenate([self.lower, np.zeros(k)]),
            upper=np.concatenate([self.upper, np.full(k, np.inf)]),
            integer=np.concatenate([self.integer, np.zeros(k, bool)]),
            matrix=hstack([self.matrix, extra], format="csc"),
            names=self.names.append(pd.Index(names)),
        )

    def reduced(self, free: np.ndarray, x: np.ndarray) -> Form:
        """The form over the columns of ``free`` alone, every other column held
        at ``x``: their cost goes to the offset, their activity into the row
        bounds, and a row left with no free column is dropped (it holds at
        ``x`` or not, whatever the free columns do). A solver then reads only
        the part that can move, not the whole model with most of it fixed."""
        held = ~np.asarray(free, bool)
        a = self.matrix
        fixed_act = a[:, held] @ x[held] if held.any() else np.zeros(a.shape[0])
        sub = a[:, ~held]
        rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        return Form(
            cost=self.cost[~held],
            offset=self.offset + float(self.cost[held] @ x[held]),
            lower=self.lower[~held],
            upper=self.upper[~held],
            integer=self.integer[~held],
            matrix=csc_matrix(sub[rows]),
            row_lower=self.row_lower[rows] - fixed_act[rows],
            row_upper=self.row_upper[rows] - fixed_act[rows],
            names=self.names[~held],
            row_names=tuple(self.row_names[i] for i in rows),
        )

    def violations(self, x: np.ndarray, tol: float) -> list[str]:
        """Rows and bounds ``x`` breaks by more than ``tol`` (relative to the
        row's bound, at least 1), by name, worst first."""
        act = self.activity(x)
        lo, up = self.row_lower, self.row_upper
        scale = np.maximum.reduce(
            [np.ones_like(act), np.where(np.isfinite(lo), np.abs(lo), 0.0), np.where(np.isfinite(up), np.abs(up), 0.0)]
        )
        over = np.maximum(lo - act, act - up) / scale
        bad = np.flatnonzero(over > tol)
        rows = [self.row_names[i] for i in bad[np.argsort(-over[bad], kind="stable")]]
        off = np.maximum(self.lower - x, x - self.upper)
        return rows + [f"bound {self.names[j]}" for j in np.flatnonzero(off > tol)]


@dataclass(frozen=True)
class Rows:
    """Rows in compressed form: row ``i`` holds ``cols``/``coefs`` from
    ``sum(lens[:i])`` on, between ``lower[i]`` and ``upper[i]``."""

    lens: np.ndarray
    cols: np.ndarray
    coefs: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def of(cls, rows: list[tuple[np.ndarray, np.ndarray, float, float]]) -> Rows:
        """From (columns, coefficients, lower, upper) per row."""
        return cls(
            np.array([len(c) for c, _, _, _ in rows], dtype=np.int64),
            np.concatenate([c for c, _, _, _ in rows]) if rows else np.zeros(0, np.int64),
            np.concatenate([v for _, v, _, _ in rows]) if rows else np.zeros(0),
            np.array([r[2] for r in rows], dtype=float),
            np.array([r[3] for r in rows], dtype=float),
        )


def compile_form(
    cost: np.ndarray,
    offset: float,
    lower: np.ndarray,
    upper: np.ndarray,
    integer: np.ndarray,
    rows: Rows,
    names: list[str],
    row_names: list[str],
) -> Form:
    """A :class:`Form` from its columns and rows; duplicate entries in a row add up."""
    n, m = len(cost), len(rows.lens)
    indptr = np.concatenate([[0], np.cumsum(rows.lens)]).astype(np.int64)
    a = csr_matrix((rows.coefs.astype(float), rows.cols.astype(np.int64), indptr), shape=(m, n))
    a.sum_duplicates()
    a = a.tocsc()
    a.eliminate_zeros()
    a.sort_indices()
    return Form(
        cost=np.asarray(cost, float),
        offset=float(offset),
        lower=np.asarray(lower, float),
        upper=np.asarray(upper, float),
        integer=np.asarray(integer, bool),
        matrix=a,
        row_lower=np.asarray(rows.lower, float),
        row_upper=np.asarray(rows.upper, float),
        names=pd.Index(names),
        row_names=tuple(row_names),
    )
