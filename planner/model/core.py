"""The model's containers: a builder the families fill, and the frozen
:class:`Model` it becomes.

Families (``add_<family>``) create variables and rows through a
:class:`Builder`: each variable gets a column and, where it belongs to one
site, that site; each row is registered under its family and key
(``class_cap``, ``("S042", "primary")``), named ``class_cap[S042,primary]``.
:meth:`Builder.finish` turns it into a :class:`Model`: its tables carry column
positions, its rows are found by key, and its :class:`~planner.model.form.Form`
is what every solve reads. PuLP is the algebra most families write in; the
per-pair families (one column or row per village, band and site) are written
as arrays, with no Python object per coefficient. Nothing after the build
touches a PuLP object.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from types import MappingProxyType

import numpy as np
import pandas as pd
import pulp

from planner.model.form import Form, Rows, compile_form

Key = tuple
"""A row's or variable's key within its family, e.g. ``("S042", "primary")``."""


def key_name(family: str, key: Key) -> str:
    """``family[k1,k2]``: the name of a row or column."""
    return f"{family}[{','.join(map(str, key))}]"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a model is built: the
    build makes many objects and frees few, so the collector's full passes
    over them are wasted time (Pyomo pauses it the same way)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def key_names(family: str, keys: list[Key], *, as_pulp: bool = False) -> list[str]:
    """:func:`key_name` of many keys, each part's text made once; ``as_pulp``:
    with PuLP's illegal characters as ``_``, as PuLP names its columns, so
    array and PuLP columns are named, and so ordered, alike."""
    fix = (lambda t: t.translate(pulp.LpElement.trans)) if as_pulp else (lambda t: t)
    text = {x: fix(str(x)) for x in set(chain.from_iterable(keys))}
    head, tail = fix(family + "["), fix("]")
    return [head + ",".join(map(text.__getitem__, k)) + tail for k in keys]


def expr(variables: Iterable[pulp.LpVariable], coefs: np.ndarray | list | float = 1.0) -> pulp.LpAffineExpression:
    """sum(coef x variable), coefficients broadcast to the variables."""
    vs = list(variables)
    cs = np.broadcast_to(np.asarray(coefs, dtype=float), (len(vs),))
    return pulp.LpAffineExpression(list(zip(vs, cs.tolist())))


class Builder:
    """The model while its families are added (see the module docstring).

    A column is a position in creation order: a PuLP variable carries it as
    ``pos``; a block made by :meth:`columns` is a range of them with no
    Python object per column. Rows are PuLP constraints (:meth:`add`) or
    blocks of arrays over positions (:meth:`add_rows`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lp = pulp.LpProblem(name)  # only to make variables through PuLP's public API
        self._vars: list[pulp.LpVariable] = []
        """Every PuLP variable: the columns made by :meth:`var` and the stand-ins of :meth:`stand_ins`."""
        self._names: list[str] = []
        self._lower: list[float] = []
        self._upper: list[float] = []
        self._integer: list[bool] = []
        self.sites: list[str | None] = []
        self.col_keys: list[tuple[str, Key]] = []
        self.constraints: list[pulp.LpConstraint | None] = []
        """Per row: its PuLP constraint, or ``None`` for a row of an array block."""
        self._blocks: list[tuple[int, Rows]] = []
        self.row_keys: dict[tuple[str, Key], int] = {}
        self._row_names: list[str] = []
        self.open: pd.DataFrame = pd.DataFrame()
        self.pairs: pd.DataFrame = pd.DataFrame()
        self.classes: dict[Key, pulp.LpVariable] = {}
        self.added: dict[Key, pulp.LpVariable] = {}
        self.enrol: dict[Key, pulp.LpVariable] = {}
        self.boarders: dict[str, pulp.LpVariable] = {}
        self.standards: dict[Key, pulp.LpVariable] = {}
        self.moved: dict[Key, pulp.LpVariable] = {}
        self.projects: dict[str, pulp.LpVariable] = {}
        self.campus: dict[Key, pulp.LpVariable] = {}
        self.cost: dict[str, pulp.LpAffineExpression] = {}
        self.objective = pulp.LpAffineExpression()
        self.objective_terms: list[tuple[np.ndarray, np.ndarray]] = []
        """The objective's array part: (positions, coefficients), added to ``objective``."""
        self.allow_shortfalls = True
        self.suffix: Key = ()
        """Appended to every key while a phase's block is built (``class_cap[S042,primary,p2]``);
        rows are looked up within the current block."""

    def _key(self, key: Key) -> Key:
        return tuple(key) + self.suffix

    def var(
        self,
        family: str,
        key: Key,
        *,
        lower: float | None = 0.0,
        upper: float | None = None,
        integer: bool = False,
        site: str | None = None,
    ) -> pulp.LpVariable:
        """A new column ``family[key]``; ``site``: the site it belongs to (repairs free a site's columns together)."""
        k = self._key(key)
        v = self._lp.add_variable(key_name(family, k), lower, upper, pulp.LpInteger if integer else pulp.LpContinuous)
        v.pos = len(self._names)
        self._vars.append(v)
        self._names.append(v.name)
        self._lower.append(-np.inf if lower is None else lower)
        self._upper.append(np.inf if upper is None else upper)
        self._integer.append(integer)
        self.sites.append(site)
        self.col_keys.append((family, k))
        return v

    def columns(
        self, family: str, keys: list[Key], *, upper: float, integer: np.ndarray, sites: list[str]
    ) -> np.ndarray:
        """New columns ``family[key]`` (lower bound 0), one per key, as arrays:
        their positions. For the families with one column per pair."""
        keys = [self._key(k) for k in keys]
        n, start = len(keys), len(self._names)
        self._names.extend(key_names(family, keys, as_pulp=True))
        self._lower.extend([0.0] * n)
        self._upper.extend([upper] * n)
        self._integer.extend(np.asarray(integer, bool).tolist())
        self.sites.extend(sites)
        self.col_keys.extend((family, k) for k in keys)
        return np.arange(start, start + n, dtype=np.int64)

    def stand_ins(self, positions: Iterable[int]) -> list[pulp.LpVariable]:
        """PuLP variables standing for array columns, for a family written in
        PuLP's algebra over them (their bounds stay in the arrays)."""
        out = []
        for p in positions:
            v = self._lp.add_variable(self._names[p])
            v.pos = int(p)
            self._vars.append(v)
            out.append(v)
        return out

    def add(self, family: str, key: Key, constraint: pulp.LpConstraint) -> None:
        """Register the row ``family[key]``."""
        k = self._key(key)
        self.row_keys[(family, k)] = len(self.constraints)
        self.constraints.append(constraint)
        self._row_names.append(key_name(family, k))

    def add_rows(self, family: str, keys: list[Key], rows: Rows) -> None:
        """Register the rows ``family[key]``, one per key, given as arrays over column positions."""
        start, keys = len(self.constraints), [self._key(k) for k in keys]
        self.row_keys.update(((family, k), start + i) for i, k in enumerate(keys))
        self.constraints.extend([None] * len(keys))
        self._row_names.extend(key_names(family, keys))
        self._blocks.append((start, rows))

    def row(self, family: str, key: Key) -> pulp.LpConstraint | None:
        """A PuLP row by key (``None``: no such row, or one of an array block)."""
        i = self.row_keys.get((family, self._key(key)))
        return None if i is None else self.constraints[i]

    def rows_of(self, family: str) -> dict[Key, pulp.LpConstraint]:
        """Every PuLP row of a family (of the current block) by key, in the order added."""
        n = len(self.suffix)
        return {
            k[: len(k) - n]: c
            for (f, k), i in self.row_keys.items()
            if f == family and k[len(k) - n :] == self.suffix and (c := self.constraints[i]) is not None
        }

    def _rows(self, final: np.ndarray) -> Rows:
        """Every registered row in compressed form over the final columns
        (one pass over PuLP's expressions, the blocks as they are)."""
        m = len(self.constraints)
        lo, up = np.full(m, -np.inf), np.full(m, np.inf)
        rid: list[int] = []
        cols: list[int] = []
        coefs: list[float] = []
        for i, c in enumerate(self.constraints):
            if c is None:
                continue
            rid.extend([i] * len(c))
            cols.extend(v.pos for v in c)
            coefs.extend(c.values())
            lb, ub = c.getLb(), c.getUb()
            lo[i] = -np.inf if lb is None else lb
            up[i] = np.inf if ub is None else ub
        parts = [(np.asarray(rid, np.int64), np.asarray(cols, np.int64), np.asarray(coefs, float))]
        for start, r in self._blocks:
            k = len(r.lens)
            parts.append((start + np.repeat(np.arange(k, dtype=np.int64), r.lens), r.cols, r.coefs))
            lo[start : start + k], up[start : start + k] = r.lower, r.upper
        row = np.concatenate([p[0] for p in parts])
        order = np.argsort(row, kind="stable")
        col = np.concatenate([p[1] for p in parts])[order]
        return Rows(
            np.bincount(row, minlength=m).astype(np.int64),
            final[col] if len(col) else col,
            np.concatenate([p[2] for p in parts])[order],
            lo,
            up,
        )

    def finish(self) -> Model:
        """The frozen :class:`Model`, with its :class:`Form`. Columns are in
        the order of their (PuLP) names, rows in the order added."""
        n = len(self._names)
        order = sorted(range(n), key=self._names.__getitem__)
        final = np.empty(n, np.int64)
        final[order] = np.arange(n)
        for v in self._vars:
            v.col = int(final[v.pos])
        cost = np.zeros(n)
        for v, c in self.objective.items():
            cost[v.col] += c
        for pos, coef in self.objective_terms:
            np.add.at(cost, final[pos], coef)
        take = np.asarray(order, np.int64)
        form = compile_form(
            cost,
            float(self.objective.constant or 0.0),
            np.asarray(self._lower, float)[take] if n else np.zeros(0),
            np.asarray(self._upper, float)[take] if n else np.zeros(0),
            np.asarray(self._integer, bool)[take] if n else np.zeros(0, bool),
            self._rows(final),
            [self._names[i] for i in order],
            self._row_names,
        )
        costs = {k: cost_vector(e, n) for k, e in self.cost.items()}
        return Model(
            name=self.name,
            form=form,
            open=_with_cols(self.open, final),
            pairs=_with_cols(self.pairs, final),
            classes=_columns(self.classes),
            added=_columns(self.added),
            enrol=_columns(self.enrol),
            boarders=_columns(self.boarders),
            standards=_columns(self.standards),
            moved=_columns(self.moved),
            projects=_columns(self.projects),
            campus=_columns(self.campus),
            rows=MappingProxyType(dict(self.row_keys)),
            columns=MappingProxyType({self.col_keys[i]: position for position, i in enumerate(order)}),
            cost=MappingProxyType(costs),
            col_site=np.array([self.sites[i] for i in order], dtype=object),
            relaxable=np.zeros(n, bool),
            allow_shortfalls=self.allow_shortfalls,
        )


def _columns(keyed: Mapping) -> Mapping:
    """Keyed PuLP variables as keyed columns (read-only)."""
    return MappingProxyType({k: v.col for k, v in keyed.items()})


def _with_cols(tab: pd.DataFrame, final: np.ndarray) -> pd.DataFrame:
    """A table's column positions (``pos``) or PuLP variables (``var``) replaced by final columns (``col``)."""
    out = tab.drop(columns=[c for c in ("pos", "var") if c in tab.columns])
    if "pos" in tab.columns:
        out["col"] = final[tab["pos"].to_numpy(np.int64)]
    elif "var" in tab.columns:
        out["col"] = np.fromiter((v.col for v in tab["var"]), dtype=np.int64, count=len(tab))
    return out


@dataclass(frozen=True)
class CostVector:
    """One cost category as a sparse linear function of the columns (10k yuan)."""

    cols: np.ndarray
    coefs: np.ndarray
    constant: float = 0.0

    def value(self, x: np.ndarray) -> float:
        return float(self.coefs @ x[self.cols] + self.constant)


def cost_vector(e: pulp.LpAffineExpression, n: int) -> CostVector:
    """An expression of the finished model's columns as a :class:`CostVector`."""
    items = list(e.items())
    cols = np.fromiter((v.col for v, _ in items), dtype=np.int64, count=len(items))
    return CostVector(cols, np.fromiter((c for _, c in items), dtype=float, count=len(items)), float(e.constant or 0.0))


@dataclass(frozen=True, eq=False)
class Model:
    """A built model: its :class:`Form` and the keyed tables that map its
    columns and rows to the data (see the module docstring)."""

    name: str
    form: Form
    open: pd.DataFrame
    """One row per allowed (site, type), closed excluded: ``site_id``, ``type``, ``col`` (``open[s,t]``)."""
    pairs: pd.DataFrame
    """One row per pruned (village, band, site): ``distance_km``, ``pupils``, ``level``, ``boards``, ``whole``
    and ``col``."""
    classes: Mapping[Key, int]
    added: Mapping[Key, int]
    enrol: Mapping[Key, int]
    """Pupils of each (site, level), defined once by ``enrolment[s,level]``."""
    boarders: Mapping[str, int]
    standards: Mapping[Key, int]
    """Investment and shortfall columns by (site, name); shortfalls are named ``short_<indicator>``."""
    moved: Mapping[Key, int]
    projects: Mapping[str, int]
    """An optional project's ``project[name]`` (1: built), by name."""
    campus: Mapping[Key, int]
    """``campus[s,h]`` (1: school ``s`` is a campus of ``h``), by (campus, host)."""
    rows: Mapping[tuple[str, Key], int]
    columns: Mapping[tuple[str, Key], int]
    """Every column by (family, key): ``area_added[S042,teaching]`` is ``("area_added", ("S042", "teaching"))``."""
    cost: Mapping[str, CostVector]
    col_site: np.ndarray
    """Per column: the site it belongs to, or ``None`` (county-wide)."""
    relaxable: np.ndarray = field(repr=False)
    """Whole-catchment columns whose integrality may be dropped (the p-median core: its assignment LP is
    integral for any open sites)."""
    allow_shortfalls: bool = True

    def row(self, family: str, *key: object) -> int | None:
        """The position of row ``family[key]``, or ``None``."""
        return self.rows.get((family, tuple(key)))

    def rows_of(self, family: str) -> dict[Key, int]:
        """Every row of a family: key -> position."""
        return {k: i for (f, k), i in self.rows.items() if f == family}

    def family_sizes(self) -> dict[str, int]:
        """Rows per constraint family, for benchmarks and structural tests."""
        out: dict[str, int] = {}
        for fam, _ in self.rows:
            out[fam] = out.get(fam, 0) + 1
        return out

    @property
    def whole(self) -> np.ndarray:
        """Mask of the whole-catchment (binary) assignment columns."""
        mask = np.zeros(self.form.shape[1], bool)
        mask[self.pairs.loc[self.pairs["whole"].to_numpy(bool), "col"].to_numpy()] = True
        return mask

    @property
    def investments(self) -> np.ndarray:
        """Mask of the integer investment columns (teachers, rooms): per site,
        cheap to make whole once layout and catchments are fixed."""
        mask = np.zeros(self.form.shape[1], bool)
        cols = np.fromiter(self.standards.values(), dtype=np.int64, count=len(self.standards))
        mask[cols] = self.form.integer[cols]
        return mask

    @cached_property
    def site_codes(self) -> tuple[pd.Index, np.ndarray]:
        """The sites, and per column the position of its site among them (-1: none)."""
        codes, sites = pd.factorize(pd.Series(self.col_site), sort=True)
        return pd.Index(sites), codes

    def of_sites(self, sites: Iterable[str]) -> np.ndarray:
        """Mask of the columns that belong to one of ``sites``."""
        index, codes = self.site_codes
        wanted = index.get_indexer(list(sites))
        return np.isin(codes, wanted[wanted >= 0])

    def shortfalls(self) -> dict[Key, int]:
        """The shortfall columns, (site, ``short_<indicator>``) -> column."""
        return {k: c for k, c in self.standards.items() if k[1].startswith("short_")}

    def budgeted(self, x: np.ndarray, covered) -> float:
        """The cost the budget covers at ``x`` (``covered``: category -> bool)."""
        return sum(v.value(x) for k, v in self.cost.items() if covered(k))
