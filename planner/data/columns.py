"""Typed columns of an input table: every bad cell reported with its file,
layer, row, column and id, and what was expected."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.data.layers import row_id
from planner.errors import Collector


@dataclass(frozen=True)
class Column:
    """Expected column: name, kind ('str', 'int', 'num') and whether required."""

    name: str
    kind: str = "num"
    required: bool = True
    default: float | str = 0


def typed_columns(
    df: pd.DataFrame, spec: tuple[Column, ...], file: str, layer: str, id_col: str, errors: Collector
) -> pd.DataFrame:
    """Coerce each column to its kind, recording every bad cell with what was expected."""
    out = pd.DataFrame(index=df.index)
    ids = [row_id(df, i, layer) for i in range(len(df))]
    for col in spec:
        if col.name not in df.columns:
            if col.required:
                near = difflib.get_close_matches(col.name, [str(c) for c in df.columns], n=1, cutoff=0.7)
                hint = f" (found '{near[0]}': rename it?)" if near else ""
                errors.add(file, f"missing column '{col.name}'{hint}", layer=layer, column=col.name)
            out[col.name] = "" if col.kind == "str" and not isinstance(col.default, str) else col.default
            continue
        raw = df[col.name]
        blank = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
        report = reporter(errors, file, layer, col.name, ids)
        if col.kind == "str":
            for i in np.flatnonzero(blank) if col.required else ():
                report("is empty (expected a text value)", i)
            fill = col.default if isinstance(col.default, str) else ""
            out[col.name] = [fill if b else text(v) for v, b in zip(raw, blank)]
        else:
            out[col.name] = numbers(raw, blank, col, report)
    return out


def reporter(errors: Collector, file: str, layer: str, column: str, ids: list[str | None]):
    """``report(message, i)``: one issue at row ``i`` of a column."""

    def report(message: str, i: int) -> None:
        errors.add(file, message, layer=layer, row=int(i) + 1, column=column, id=ids[i])

    return report


def numbers(raw: pd.Series, blank: np.ndarray, col: Column, report) -> np.ndarray:
    """A numeric column: every missing, non-numeric, negative or (for a
    count) fractional cell reported as ``report(message, row)``; missing
    cells take the column's default."""
    if raw.dtype == object:
        num = pd.to_numeric(raw.astype(str).str.strip().where(~blank), errors="coerce")
    else:
        num = pd.to_numeric(raw, errors="coerce")
    vals = num.astype(float).to_numpy()
    missing = np.isnan(vals) | ~np.isfinite(vals)
    want = "a whole number >= 0" if col.kind == "int" else "a number >= 0"
    for i in np.flatnonzero(missing & ~(blank & (not col.required))):
        report(f"is missing (expected {want})" if blank[i] else f"expected {want}, got '{raw.iloc[i]}'", i)
    for i in np.flatnonzero(~missing & (vals < 0)):
        report(f"expected {want}, got {vals[i]:g} (negative)", i)
    if col.kind == "int":
        whole = np.where(missing, 0.0, vals)  # inf and NaN are reported above, not rounded
        for i in np.flatnonzero(~missing & (vals >= 0) & (np.abs(whole - np.round(whole)) > 1e-9)):
            report(f"expected {want}, got {vals[i]:g} (fractional)", i)
    return np.where(missing, col.default if not col.required else 0, vals)


def text(v: object) -> str:
    """A cell as text: integral floats (ids read as numbers) lose their '.0'."""
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def check_ids(ids: pd.Series, file: str, layer: str, column: str, errors: Collector) -> None:
    first: dict[str, int] = {}
    for i, v in enumerate(ids.astype(str)):
        if v == "":
            continue
        if v in first:
            errors.add(
                file,
                f"duplicate id '{v}' (first at row {first[v] + 1}); ids must be unique",
                layer=layer,
                row=i + 1,
                column=column,
                id=v,
            )
        else:
            first[v] = i
