"""A sweep file (``SWEEP.yaml``): a base scenario and the variants to run.

::

    base: ../fangcheng-2030.yaml
    grid:                                   # every combination, in the order written
      budget.total_10k_yuan: [45000, 55910]
      policy.max_trip_km.g7_9: [30, 40]
    runs:                                   # or named variants (both may be given)
      - name: no-new
        set: {policy.allow_new_builds: false}
    outputs: [xlsx]                         # besides summary and tables: xlsx, gpkg, maps, report
    time_limit_s: 120                       # per run (default: each scenario's own)

or, for a prefecture, ``counties: ../counties`` (a folder with one scenario per
county). Each variant becomes a scenario file of its own, ``extends:`` the base
with its settings, written under the sweep's folder, so a run of the sweep
is ``planner run`` of that file.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.errors import Collector, InputError, Issue

OUTPUTS = ("xlsx", "gpkg", "maps", "report")
"""What a run may write besides its summary and tables (summary.json, schools.csv, assignments.csv)."""


class NamedRun(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    set: dict[str, Any] = {}


class SweepSpec(BaseModel):
    """The sweep file, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: Optional[str] = None
    grid: dict[str, list[Any]] = {}
    runs: list[NamedRun] = []
    counties: Optional[str] = None
    outputs: list[Literal["summary", "tables", "xlsx", "gpkg", "maps", "report"]] = ["summary", "tables"]
    time_limit_s: Optional[float] = Field(None, gt=0)


@dataclass(frozen=True)
class Variant:
    """One run of a sweep: its name, the settings it changes and the scenario it extends."""

    name: str
    settings: dict[str, Any]
    extends: Path


def _nested(settings: dict[str, Any]) -> dict:
    """``{"a.b.c": v}`` as ``{"a": {"b": {"c": v}}}``."""
    out: dict = {}
    for key, value in settings.items():
        node = out
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def _slug(key: str, value: Any) -> str:
    text = f"{key.split('.')[-1]}-{value}"
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text)


def read_sweep(path: Path) -> tuple[SweepSpec, list[Variant]]:
    """The sweep file and its variants in a fixed order; an :class:`InputError` names every mistake."""
    errors = Collector()
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        spec = SweepSpec.model_validate(doc)
    except (OSError, yaml.YAMLError) as e:
        raise InputError([Issue(str(path), f"cannot read: {' '.join(str(e).split())}")]) from None
    except ValidationError as e:
        for err in e.errors():
            errors.add(str(path), err["msg"], key=".".join(str(p) for p in err["loc"]))
        errors.raise_if_any()
        raise
    here = Path(path).resolve().parent
    variants: list[Variant] = []
    if spec.counties:
        folder = here / spec.counties
        if not folder.is_dir():
            errors.add(str(path), f"counties folder {folder} not found", key="counties")
        else:
            variants += [Variant(p.stem, {}, p) for p in sorted(folder.glob("*.yaml"))]
    if spec.grid or spec.runs:
        if spec.base is None:
            errors.add(str(path), "a grid or runs need 'base:' (the scenario they change)", key="base")
        elif not (here / spec.base).is_file():
            errors.add(str(path), f"base scenario {here / spec.base} not found", key="base")
        else:
            base = here / spec.base
            keys = list(spec.grid)
            for values in itertools.product(*(spec.grid[k] for k in keys)) if keys else ():
                settings = dict(zip(keys, values))
                variants.append(Variant("__".join(_slug(k, v) for k, v in settings.items()), settings, base))
            variants += [Variant(r.name, dict(r.set), base) for r in spec.runs]
    names = [v.name for v in variants]
    for n in sorted({n for n in names if names.count(n) > 1}):
        errors.add(str(path), f"two runs named '{n}'", key="runs")
    if not variants and not errors.issues:
        errors.add(str(path), "nothing to run: give grid, runs or counties")
    errors.raise_if_any()
    return spec, variants


def write_scenario(variant: Variant, folder: Path, solver: dict[str, Any]) -> Path:
    """The variant as a scenario file under ``folder``: it extends its scenario
    with its settings and the sweep's ``solver`` settings (threads a run, time
    limit), so ``planner run`` on it alone is the sweep's run."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{variant.name}.yaml"
    settings = {**variant.settings, **{f"solver.{k}": v for k, v in solver.items()}}
    doc = {
        "extends": os.path.relpath(variant.extends.resolve(), folder.resolve()),
        "name": variant.name,
        **_nested(settings),
    }
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
