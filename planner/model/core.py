"""The model's containers: a builder the families fill, and the frozen
:class:`Model` it becomes.

Families (``add_<family>``) create variables and rows through a
:class:`Builder`: each variable gets a column and, where it belongs to one
site, that site; each row is registered under its family and key
(``class_cap``, ``("S042", "primary")``), named ``class_cap[S042,primary]``.
:meth:`Builder.finish` turns it into a :class:`Model`: its tables carry column
positions, its rows are found by key, and its :class:`~planner.model.form.Form`
is what every solve reads. PuLP is the algebra the families write in; nothing
after the build touches a PuLP object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
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


def expr(variables: Iterable[pulp.LpVariable], coefs: np.ndarray | list | float = 1.0) -> pulp.LpAffineExpression:
    """sum(coef x variable), coefficients broadcast to the variables."""
    vs = list(variables)
    cs = np.broadcast_to(np.asarray(coefs, dtype=float), (len(vs),))
    return pulp.LpAffineExpression(list(zip(vs, cs.tolist())))


class Builder:
    """The model while its families are added (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lp = pulp.LpProblem(name)  # only to make variables through PuLP's public API
        self.variables: list[pulp.LpVariable] = []
        self.sites: list[str | None] = []
        self.col_keys: list[tuple[str, Key]] = []
        self.constraints: list[pulp.LpConstraint] = []
        self.row_keys: dict[tuple[str, Key], int] = {}
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
        v = self._lp.add_variable(
            key_name(family, self._key(key)), lower, upper, pulp.LpInteger if integer else pulp.LpContinuous
        )
        self.variables.append(v)
        self.sites.append(site)
        self.col_keys.append((family, self._key(key)))
        return v

    def add(self, family: str, key: Key, constraint: pulp.LpConstraint) -> None:
        """Register the row ``family[key]``."""
        self.row_keys[(family, self._key(key))] = len(self.constraints)
        self.constraints.append(constraint)

    def row(self, family: str, key: Key) -> pulp.LpConstraint | None:
        i = self.row_keys.get((family, self._key(key)))
        return None if i is None else self.constraints[i]

    def rows_of(self, family: str) -> dict[Key, pulp.LpConstraint]:
        """Every row of a family (of the current block) by key, in the order added."""
        n = len(self.suffix)
        return {
            k[: len(k) - n]: self.constraints[i]
            for (f, k), i in self.row_keys.items()
            if f == family and k[len(k) - n :] == self.suffix
        }

    def _rows(self) -> Rows:
        """Every registered row in compressed form (one pass over PuLP's expressions)."""
        lens: list[int] = []
        cols: list[int] = []
        coefs: list[float] = []
        lo: list[float] = []
        up: list[float] = []
        for c in self.constraints:
            lens.append(len(c))
            cols.extend(v.col for v in c)
            coefs.extend(c.values())
            lb, ub = c.getLb(), c.getUb()
            lo.append(-np.inf if lb is None else lb)
            up.append(np.inf if ub is None else ub)
        return Rows(
            np.asarray(lens, np.int64),
            np.asarray(cols, np.int64),
            np.asarray(coefs, float),
            np.asarray(lo, float),
            np.asarray(up, float),
        )

    def finish(self) -> Model:
        """The frozen :class:`Model`, with its :class:`Form`. Columns are in
        the order of their (PuLP) names, rows in the order added."""
        n = len(self.variables)
        order = sorted(range(n), key=lambda i: self.variables[i].name)
        for position, i in enumerate(order):
            self.variables[i].col = position
        variables = [self.variables[i] for i in order]
        sites = [self.sites[i] for i in order]
        cost = np.zeros(n)
        for v, c in self.objective.items():
            cost[v.col] += c
        lower = np.array([-np.inf if v.lowBound is None else v.lowBound for v in variables], dtype=float)
        upper = np.array([np.inf if v.upBound is None else v.upBound for v in variables], dtype=float)
        integer = np.array([v.cat == pulp.LpInteger for v in variables], dtype=bool)
        rows = self._rows()
        row_names = [""] * len(self.constraints)
        for (fam, key), i in self.row_keys.items():
            row_names[i] = key_name(fam, key)
        form = compile_form(
            cost,
            float(self.objective.constant or 0.0),
            lower,
            upper,
            integer,
            rows,
            [v.name for v in variables],
            row_names,
        )
        costs = {k: cost_vector(e, n) for k, e in self.cost.items()}
        return Model(
            name=self.name,
            form=form,
            open=_with_cols(self.open),
            pairs=_with_cols(self.pairs),
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
            col_site=np.array(sites, dtype=object),
            relaxable=np.zeros(n, bool),
            allow_shortfalls=self.allow_shortfalls,
        )


def _columns(keyed: Mapping) -> Mapping:
    """Keyed PuLP variables as keyed columns (read-only)."""
    return MappingProxyType({k: v.col for k, v in keyed.items()})


def _with_cols(tab: pd.DataFrame) -> pd.DataFrame:
    """A table's ``var`` column (PuLP variables) replaced by ``col`` (positions)."""
    if "var" not in tab.columns:
        return tab.copy()
    out = tab.drop(columns="var")
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
