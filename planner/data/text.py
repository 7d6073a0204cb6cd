"""CSV text as Chinese offices save it: UTF-8 (with or without a BOM, as
Excel's "CSV UTF-8" writes) or GB18030, which covers GBK and GB2312 (Excel's
plain "CSV" on a Chinese Windows)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from planner.errors import Collector

ENCODINGS = ("utf-8-sig", "gb18030")
"""Tried in this order: valid UTF-8 is almost never valid GB18030 by accident."""


class NotText(ValueError):
    """A file in none of :data:`ENCODINGS`."""

    def __init__(self, path: Path, byte: int) -> None:
        super().__init__(
            f"is neither UTF-8 nor GB18030/GBK text (byte {byte}); save it as CSV UTF-8 (or CSV on a Chinese Windows)"
        )
        self.byte = byte


def decode(path: Path) -> tuple[str, str]:
    """The file's text and the encoding that read it."""
    raw = Path(path).read_bytes()
    first_bad = 0
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as e:
            first_bad = first_bad or e.start
    raise NotText(Path(path), first_bad)


def read_csv_text(path: Path) -> pd.DataFrame:
    """A CSV as text cells (ids keep their leading zeros); raises :class:`NotText`."""
    text, _ = decode(path)
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def read_csv_cells(path: Path, layer: str, errors: Collector, empty: str) -> pd.DataFrame | None:
    """:func:`read_csv_text` with its headers stripped, or ``None`` with the
    mistake recorded (``empty``: what to say of an empty file)."""
    try:
        df = read_csv_text(path)
    except NotText as e:
        errors.add(str(path), str(e), layer=layer)
        return None
    except pd.errors.EmptyDataError:
        errors.add(str(path), empty, layer=layer)
        return None
    except (ValueError, OSError, csv.Error) as e:  # pandas' ParserError is a ValueError
        errors.add(str(path), f"cannot read as CSV: {' '.join(str(e).split())}", layer=layer)
        return None
    df.columns = [str(c).strip() for c in df.columns]
    return df
