"""Scenario files: YAML in, a frozen, validated :class:`Scenario` out.

A scenario may ``extends:`` another (path relative to itself) and override any
key; mappings merge recursively, everything else replaces. Every default below
is the national or Fangcheng figure of STANDARDS.md, so a scenario only says
what differs. Unknown keys are errors with a did-you-mean, because a typo in a
cap silently ignored would produce a wrong plan.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from planner import BANDS
from planner.errors import Collector, InputError

Band = Literal["g1_3", "g4_6", "g7_9"]
SchoolType = Literal["teaching_point", "primary", "junior", "nine_year"]
TypeOrClosed = Literal["teaching_point", "primary", "junior", "nine_year", "closed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerRef(_Frozen):
    """Where one layer lives: a GeoPackage layer, a GeoJSON/Shapefile or a CSV."""

    path: str
    layer: Optional[str] = None


class DataConfig(_Frozen):
    """Input layers. ``gpkg`` is the default file for every layer not named."""

    gpkg: Optional[str] = None
    villages: Optional[LayerRef] = None
    schools: Optional[LayerRef] = None
    candidate_sites: Optional[LayerRef] = None
    roads: Optional[LayerRef] = None
    boundary: Optional[LayerRef] = None
    townships: Optional[LayerRef] = None
    distances: Optional[str] = None
    crs: Optional[str] = Field(None, description="CRS of x/y columns in CSV layers")
    metric_crs: Optional[str] = Field(None, description="CRS distances are taken in; default: the layers' own if metric, else UTM")


class TravelConfig(_Frozen):
    detour_factor: float = Field(1.3, ge=1.0)
    use_roads: bool = True
    default_speed_kmh: float = Field(30.0, gt=0)
    unit: Literal["km", "minutes"] = "km"


class PolicyConfig(_Frozen):
    """Who may go where, and how catchments are drawn."""

    assignment: dict[Band, Literal["whole", "split"]] = {b: "whole" for b in BANDS}
    teaching_point_takes_g4_6: bool = False
    max_trip_km: dict[Band, Optional[float]] = {"g1_3": 10.0, "g4_6": 20.0, "g7_9": 35.0}
    max_trip_minutes: dict[Band, Optional[float]] = {}
    walk_limit_km: dict[Band, float] = {"g1_3": 3.0, "g4_6": 3.0, "g7_9": 5.0}
    boarding_allowed: dict[Band, bool] = {"g1_3": False, "g4_6": True, "g7_9": True}
    k_nearest: Optional[int] = Field(None, ge=1)
    moves: dict[SchoolType, list[TypeOrClosed]] = {
        "teaching_point": ["teaching_point", "primary", "closed"],
        "primary": ["primary", "teaching_point", "nine_year", "closed"],
        "junior": ["junior", "nine_year", "closed"],
        "nine_year": ["nine_year", "junior", "closed"],
    }
    keep_schools_with_pupils_at_least: Optional[int] = None
    allow_new_builds: bool = True


class CapsConfig(_Frozen):
    """Hard caps. ``None`` switches a cap off (used by the p-median reduction)."""

    class_size: dict[Literal["primary", "junior"], Optional[int]] = {"primary": 45, "junior": 50}
    school_pupils: dict[SchoolType, Optional[int]] = {
        "teaching_point": 2000, "primary": 2000, "junior": 2000, "nine_year": 2500,
    }
    use_site_max_classes: bool = True


class StandardsConfig(_Frozen):
    """Per-pupil standards (STANDARDS.md); ``enabled: false`` drops them all."""

    enabled: bool = True
    teaching_area_m2_per_pupil: dict[Literal["primary", "junior"], float] = {"primary": 4.5, "junior": 5.8}
    sports_area_m2_per_pupil: dict[Literal["primary", "junior"], float] = {"primary": 7.5, "junior": 10.2}
    living_area_m2_per_boarder: float = 6.0
    building_floors: float = Field(3.0, gt=0)


class Range(_Frozen):
    min: Optional[int] = Field(None, ge=0)
    max: Optional[int] = Field(None, ge=0)


class BudgetConfig(_Frozen):
    total_10k_yuan: Optional[float] = Field(None, ge=0)
    by_category_10k_yuan: dict[Literal["teaching", "living", "sports", "new_build", "land"], float] = {}


class CostConfig(_Frozen):
    """Unit costs; area costs in yuan per m², lump sums in 10k yuan."""

    teaching_yuan_per_m2: float = Field(3001.0, ge=0)
    living_yuan_per_m2: float = Field(3385.0, ge=0)
    sports_yuan_per_m2: float = Field(491.0, ge=0)
    new_build_10k_yuan: dict[SchoolType, float] = {
        "teaching_point": 50.0, "primary": 300.0, "junior": 500.0, "nine_year": 600.0,
    }
    upgrade_10k_yuan: float = Field(100.0, ge=0)


class ObjectiveConfig(_Frozen):
    """Weights, all in pupil-km equivalents."""

    pupil_km: float = Field(1.0, ge=0)
    per_10k_yuan: float = Field(0.5, ge=0)
    per_boarder: dict[Band, float] = {"g1_3": 20.0, "g4_6": 5.0, "g7_9": 1.0}
    per_pupil_moved: float = Field(0.0, ge=0)


class SolverConfig(_Frozen):
    name: Literal["highs", "cbc"] = "highs"
    time_limit_s: float = Field(300.0, gt=0)
    mip_gap: float = Field(0.005, ge=0)
    threads: int = Field(2, ge=1)
    seed: int = 0
    msg: bool = False


class Scenario(_Frozen):
    """A fully resolved scenario (after ``extends``)."""

    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    target_year: int = 2030
    data: DataConfig
    travel: TravelConfig = TravelConfig()
    policy: PolicyConfig = PolicyConfig()
    caps: CapsConfig = CapsConfig()
    standards: StandardsConfig = StandardsConfig()
    targets: dict[SchoolType, int | Range] = {}
    budget: BudgetConfig = BudgetConfig()
    costs: CostConfig = CostConfig()
    objective: ObjectiveConfig = ObjectiveConfig()
    solver: SolverConfig = SolverConfig()
    fixed: dict[str, TypeOrClosed] = {}
    base_dir: str = Field("", description="folder data paths are relative to (set by the loader)")
    source_files: tuple[str, ...] = ()

    @field_validator("targets")
    @classmethod
    def _ranges_ordered(cls, v: dict) -> dict:
        for t, r in v.items():
            if isinstance(r, Range) and r.min is not None and r.max is not None and r.min > r.max:
                raise ValueError(f"target {t}: min {r.min} > max {r.max}")
        return v

    def target_bounds(self, t: str) -> tuple[int | None, int | None]:
        """(min, max) count of open sites of type ``t``; ``None`` is unbounded."""
        r = self.targets.get(t)  # type: ignore[call-overload]
        if r is None:
            return None, None
        if isinstance(r, int):
            return r, r
        return r.min, r.max

    def resolve(self, rel: str) -> Path:
        """A data path relative to the scenario file."""
        p = Path(rel)
        return p if p.is_absolute() else Path(self.base_dir) / p


def _merge(base: dict, over: dict) -> dict:
    """Recursive dict merge: ``over`` wins; mappings merge, the rest replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path, errors: Collector) -> dict | None:
    if not path.exists():
        errors.add(str(path), "scenario file not found")
        return None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        errors.add(str(path), f"YAML syntax error{line}: {getattr(e, 'problem', e)}")
        return None
    if not isinstance(doc, dict):
        errors.add(str(path), "a scenario must be a YAML mapping of keys to values")
        return None
    return doc


def _rebase_data(doc: dict, from_dir: Path, to_dir: Path) -> dict:
    """Rewrite a parent's data paths so they stay relative to the parent file."""
    data = doc.get("data")
    if not isinstance(data, dict):
        return doc

    def fix(p: Any) -> Any:
        if isinstance(p, str) and not Path(p).is_absolute():
            return str(Path(_relpath(from_dir / p, to_dir)))
        return p

    new = {}
    for k, v in data.items():
        if isinstance(v, dict) and "path" in v:
            new[k] = {**v, "path": fix(v["path"])}
        elif k in ("gpkg", "distances"):
            new[k] = fix(v)
        else:
            new[k] = v
    return {**doc, "data": new}


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve())


def _resolve_chain(path: Path, errors: Collector, seen: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    """Read ``path`` and its ``extends`` ancestors into one merged mapping."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        errors.add(str(path), f"'extends' cycle: {chain}", column="extends")
        return {}, []
    doc = _read_yaml(path, errors)
    if doc is None:
        return {}, []
    parent = doc.pop("extends", None)
    if parent is None:
        return doc, [path]
    parent_path = (path.parent / str(parent))
    if not parent_path.exists():
        errors.add(str(path), f"'extends' names {parent}, which does not exist", column="extends")
        return doc, [path]
    base, files = _resolve_chain(parent_path, errors, (*seen, path))
    base = _rebase_data(base, parent_path.resolve().parent, path.parent)
    return _merge(base, doc), [*files, path]


def _did_you_mean(loc: tuple, model: type[BaseModel]) -> str:
    """Suggest the nearest valid key for an unknown key at ``loc``."""
    fields: Any = model
    for part in loc[:-1]:
        f = getattr(fields, "model_fields", {}).get(part)
        if f is None:
            return ""
        fields = f.annotation
        fields = getattr(fields, "__args__", (fields,))[0] if not hasattr(fields, "model_fields") else fields
    names = list(getattr(fields, "model_fields", {}))
    hit = difflib.get_close_matches(str(loc[-1]), names, n=1)
    return f" (did you mean '{hit[0]}'?)" if hit else ""


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge and validate a scenario file; raise :class:`InputError`."""
    path = Path(path)
    errors = Collector()
    doc, files = _resolve_chain(path, errors)
    errors.raise_if_any()
    doc = {**doc, "base_dir": str(path.resolve().parent), "source_files": tuple(str(f) for f in files)}
    try:
        return Scenario.model_validate(doc)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc)
            if err["type"] == "extra_forbidden":
                msg = f"unknown key '{loc[-1]}'{_did_you_mean(loc, Scenario)}"
            elif err["type"] == "missing":
                msg = "required key is missing"
            else:
                msg = f"{err['msg']} (got {err.get('input')!r})"
            errors.add(str(path), msg, column=key)
        errors.raise_if_any()
        raise
