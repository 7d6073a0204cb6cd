"""Scenario files: YAML in, a frozen, validated :class:`Scenario` out.

A scenario may ``extends:`` another (path relative to itself) and override any
key; mappings merge recursively, everything else replaces. Every default below
is the national or Fangcheng figure of STANDARDS.md, so a scenario only says
what differs. Unknown keys are errors with a did-you-mean, because a typo in a
cap silently ignored would produce a wrong plan.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
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
    """How distances are taken. A limit in minutes is set per band in
    ``policy.max_trip_minutes`` (road minutes from ``speed_kmh``, else
    ``default_speed_kmh``); every distance itself stays in km."""

    detour_factor: float = Field(1.3, ge=1.0)
    use_roads: bool = True
    default_speed_kmh: float = Field(30.0, gt=0)


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


CONSTRUCTION = ("teaching", "living", "sports", "new_build", "upgrade", "land")
"""Cost categories of building works (the motivating plan's budget covers these)."""


class BudgetConfig(_Frozen):
    """``total_10k_yuan`` limits the categories ``covers`` names: ``all`` of
    them, or ``construction`` only (floor areas, new builds, upgrades, land),
    when equipment, rooms and staff are funded from other lines (装备经费,
    编制); ``by_category_10k_yuan`` limits single categories."""

    total_10k_yuan: Optional[float] = Field(None, ge=0)
    covers: Literal["all", "construction"] = "all"
    by_category_10k_yuan: dict[Literal["teaching", "living", "sports", "new_build", "upgrade", "land", "equipment",
                                       "multimedia", "rooms", "teachers"], float] = {}

    def covered(self, category: str) -> bool:
        """Whether ``total_10k_yuan`` counts this cost category."""
        return self.covers == "all" or category in CONSTRUCTION

    def budgeted(self, costs: dict[str, float]) -> float:
        """The part of a plan's ``cost_10k_yuan`` that ``total_10k_yuan`` limits."""
        return sum(v for k, v in costs.items() if k != "total" and self.covered(k))


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


_Level = Literal["primary", "junior"]


class InvestmentCosts(_Frozen):
    """Unit costs of the investments for the non-area indicators (10k yuan).

    Equipment is bought at its value (1 yuan of value costs 1 yuan). A music or
    art room is made within the teaching floor area (its m² count into the
    teaching area, whose per-pupil standard includes the special rooms), so it
    costs a conversion and fit-out (acoustics, piano, easels), not new floor. Teacher
    salaries are recurrent and covered by the staff quota (``staff_total``), so a
    hire costs a one-off sum (recruitment, induction); set it to salary x years to
    count salaries in the budget instead."""

    multimedia_room_10k_yuan: float = Field(5.0, ge=0)
    music_room_10k_yuan: float = Field(15.0, ge=0)
    art_room_10k_yuan: float = Field(8.0, ge=0)
    hire_10k_yuan: dict[Literal["qualified", "pe_art"], float] = {"qualified": 1.0, "pe_art": 1.0}
    backbone_training_10k_yuan: float = Field(2.0, ge=0)
    transfer_10k_yuan: float = Field(0.3, ge=0, description="rotation allowance per teacher moved (交流轮岗)")


class IndicatorConfig(_Frozen):
    """The seven resource indicators, the pass rule, the balance limits and the
    staffing norms of STANDARDS.md, and how the plan invests to meet them.

    Floor and ground areas per pupil (indicators 4 and 5) are
    ``standards.teaching_area_m2_per_pupil`` and ``standards.sports_area_m2_per_pupil``.
    ``nine_year_split`` says how a nine-year school's resources are shared by
    its two levels: ``pupils`` (in proportion to pupils: both levels see the
    same per-pupil value) or ``standard`` (in proportion to what each level's
    standard requires). ``enabled: false`` keeps the assessment but drops the
    investments from the model."""

    enabled: bool = True
    qualified_teachers_per_100: dict[_Level, float] = {"primary": 4.2, "junior": 5.3}
    backbone_teachers_per_100: dict[_Level, float] = {"primary": 1.0, "junior": 1.0}
    pe_art_teachers_per_100: dict[_Level, float] = {"primary": 0.9, "junior": 0.9}
    equipment_yuan_per_pupil: dict[_Level, float] = {"primary": 2000.0, "junior": 2500.0}
    multimedia_rooms_per_100: dict[_Level, float] = {"primary": 2.3, "junior": 2.4}
    pass_min_reached: int = Field(6, ge=0, le=7)
    pass_floor_share: float = Field(0.85, ge=0, le=1)
    cv_limit: dict[_Level, float] = {"primary": 0.50, "junior": 0.45}
    pupils_per_teacher: dict[_Level, float] = {"primary": 19.0, "junior": 13.5}
    classes_per_room: int = Field(12, ge=1, description="one music and one art room per this many classes")
    music_room_m2: float = Field(96.0, ge=0)
    art_room_m2: float = Field(90.0, ge=0)
    nine_year_split: Literal["pupils", "standard"] = "pupils"
    staff_total: Optional[int] = Field(None, ge=0, description="county teacher quota (编制) after the plan")
    max_hires: Optional[int] = Field(None, ge=0)
    allow_shortfalls: bool = Field(True, description="false: every planned standard, floor areas included, is a hard rule "
                                   "(a budget below it gives no plan but a diagnosis)")
    shortfall_penalty_per_10k_yuan: float = Field(1000.0, ge=0, description="objective weight of each 10k yuan it would cost to close a shortfall")
    balance_rounds: int = Field(3, ge=1, description="solves at most, tightening the balance bands after each")
    costs: InvestmentCosts = InvestmentCosts()


class SolverConfig(_Frozen):
    name: Literal["highs", "cbc"] = "highs"
    time_limit_s: float = Field(300.0, gt=0)
    mip_gap: float = Field(0.005, ge=0)
    threads: int = Field(2, ge=1)
    seed: int = 0
    msg: bool = False
    decompose_above_pairs: Optional[int] = Field(40_000, ge=1, description=(
        "above this many (village, band, site) pairs the county is solved region by region "
        "(planner.regions); null: always as one model"))
    region_pairs: int = Field(10_000, ge=1, description="about this many pairs per region when decomposed")


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
    indicators: IndicatorConfig = IndicatorConfig()
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects a key given twice in one mapping (PyYAML
    silently keeps the last one, which hides a hand-editing mistake)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                dup = key in seen
            except TypeError:  # an unhashable key: let PyYAML report it
                continue
            if dup:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice (first at line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def key_lines(text: str) -> dict[tuple, int]:
    """1-based line of every mapping key, by its path of keys, e.g.
    ``("caps", "class_size") -> 12``; empty if the text does not compose."""
    out: dict[tuple, int] = {}

    def walk(node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else None
                out.setdefault((*path, key), k.start_mark.line + 1)
                walk(v, (*path, key))

    try:
        walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    except yaml.YAMLError:
        pass
    return out


def _read_yaml(path: Path, errors: Collector) -> tuple[dict | None, dict[tuple, int]]:
    """The mapping in ``path`` and the line of each key; ``None`` (with an issue) if unreadable."""
    if not path.exists():
        errors.add(str(path), "scenario file not found")
        return None, {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        errors.add(str(path), f"is not UTF-8 text (byte {e.start}); save the scenario as UTF-8")
        return None, {}
    except OSError as e:
        errors.add(str(path), f"cannot read the scenario: {e.strerror or e}")
        return None, {}
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        context = getattr(e, "context", None)
        hint = f" ({context})" if context and "twice" not in problem else ""
        errors.add(str(path), f"YAML syntax error: {problem}{hint}" + (f", column {mark.column + 1}" if mark else ""),
                   line=mark.line + 1 if mark else None)
        return None, {}
    if not isinstance(doc, dict):
        what = "empty" if doc is None else f"a {type(doc).__name__}"
        errors.add(str(path), f"a scenario must be a YAML mapping of keys to values (this file is {what})")
        return None, {}
    return doc, key_lines(text)


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


@dataclass(frozen=True)
class _Source:
    """One file of an ``extends`` chain: its keys (as read) and their lines."""

    path: Path
    doc: dict
    lines: dict[tuple, int]


def _resolve_chain(path: Path, errors: Collector, seen: tuple[Path, ...] = ()) -> tuple[dict, list[_Source]]:
    """Read ``path`` and its ``extends`` ancestors into one merged mapping."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        errors.add(str(seen[-1]), f"'extends' cycle: {chain}", key="extends")
        return {}, []
    doc, lines = _read_yaml(path, errors)
    if doc is None:
        return {}, []
    src = _Source(path, dict(doc), lines)
    parent = doc.pop("extends", None)
    if parent is None:
        return doc, [src]
    if not isinstance(parent, str) or not parent.strip():
        errors.add(str(path), f"'extends' must name one scenario file (got {parent!r})", key="extends",
                   line=lines.get(("extends",)))
        return doc, [src]
    parent_path = path.parent / parent
    if not parent_path.is_file():
        errors.add(str(path), f"'extends' names {parent}, which does not exist (looked for {parent_path})",
                   key="extends", line=lines.get(("extends",)))
        return doc, [src]
    base, files = _resolve_chain(parent_path, errors, (*seen, path))
    base = _rebase_data(base, parent_path.resolve().parent, path.parent)
    return _merge(base, doc), [*files, src]


def _did_you_mean(loc: tuple, model: type[BaseModel]) -> str:
    """Suggest the nearest valid key for an unknown key at ``loc``."""
    fields: Any = model
    for part in loc[:-1]:
        f = getattr(fields, "model_fields", {}).get(part)
        if f is None:
            return ""
        fields = f.annotation
        fields = getattr(fields, "__args__", (fields,))[0] if not hasattr(fields, "model_fields") else fields
    return _suggest(str(loc[-1]), list(getattr(fields, "model_fields", {})))


def _suggest(word: str, names: list[str]) -> str:
    hit = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean '{hit[0]}'?)" if hit else ""


def _in_doc(doc: Any, loc: tuple) -> tuple:
    """The parts of ``loc`` that name keys present in ``doc``, skipping the
    union branch names and ``[key]`` markers pydantic inserts."""
    out: list = []
    for part in loc:
        if isinstance(doc, dict) and part in doc:
            out.append(part)
            doc = doc[part]
        elif isinstance(doc, list) and isinstance(part, int) and 0 <= part < len(doc):
            out.append(part)
            doc = doc[part]
    return tuple(out)


def _where(loc: tuple, sources: list[_Source]) -> tuple[str, int | None]:
    """The file of the chain that sets ``loc`` last (the child wins), and its line."""
    for src in reversed(sources):
        if _in_doc(src.doc, loc) == loc:
            keyed = tuple(str(p) if not isinstance(p, str) else p for p in loc)
            return str(src.path), src.lines.get(keyed) or src.lines.get(loc)
    return str(sources[-1].path), None


def _message(err: dict, loc: tuple) -> str:
    t, got = err["type"], err.get("input")
    if t == "extra_forbidden":
        return f"unknown key '{loc[-1]}'{_did_you_mean(loc, Scenario)}"
    if t == "missing":
        return "required key is missing"
    if t == "literal_error":
        expected = re.findall(r"'([^']+)'", (err.get("ctx") or {}).get("expected", ""))
        hint = _suggest(str(got), expected) if isinstance(got, str) else ""
        role = "key" if err["loc"][-1] == "[key]" else "value"
        return f"unknown {role} {got!r}; expected one of {', '.join(expected)}{hint}"
    if err["loc"][:1] == ("targets",) and len(err["loc"]) == 3 and err["loc"][-1] in ("int", "Range"):
        return f"expected a count (e.g. 22) or a range (e.g. {{min: 17, max: 22}}) (got {got!r})"
    return f"{err['msg']} (got {got!r})"


def _report(e: ValidationError, doc: dict, sources: list[_Source], errors: Collector) -> None:
    """One issue per offending key, in the file and at the line that set it."""
    found: dict[tuple, list[str]] = {}
    for err in e.errors():
        loc = tuple(err["loc"])
        where = loc if err["type"] == "missing" else _in_doc(doc, loc)
        if err["type"] == "literal_error" and loc[-1] == "[key]":
            where = _in_doc(doc, loc[:-1])
        msg = _message(err, loc if err["type"] != "extra_forbidden" else where)
        found.setdefault(where or loc, [])
        if msg not in found[where or loc]:
            found[where or loc].append(msg)
    issues = []
    for loc, msgs in found.items():
        if any(other != loc and other[:len(loc)] == loc for other in found):
            continue  # a deeper key explains it (a union's other branch)
        file, line = _where(loc, sources) if loc else (str(sources[-1].path), None)
        issues.append((file, line or 0, " or ".join(msgs), ".".join(map(str, loc)) or None, line))
    for file, _, msg, key, line in sorted(issues, key=lambda i: (i[0], i[1])):
        errors.add(file, msg, key=key, line=line)


def locate_key(scenario: Scenario, *path: str) -> tuple[str, int | None]:
    """The scenario file (child first) that sets the key ``path``, and its
    line, for issues the loader finds in scenario values."""
    for f in reversed(scenario.source_files):
        try:
            lines = key_lines(Path(f).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            continue
        if tuple(path) in lines:
            return f, lines[tuple(path)]
    return (scenario.source_files[-1] if scenario.source_files else "scenario"), None


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge and validate a scenario file; raise :class:`InputError`
    naming the file, line and key of every mistake."""
    path = Path(path)
    errors = Collector()
    doc, sources = _resolve_chain(path, errors)
    errors.raise_if_any()
    if isinstance(doc.get("fixed"), dict):  # ids like 101 read as numbers
        doc["fixed"] = {str(k): v for k, v in doc["fixed"].items()}
    doc = {**doc, "base_dir": str(path.resolve().parent), "source_files": tuple(str(s.path) for s in sources)}
    try:
        return Scenario.model_validate(doc)
    except ValidationError as e:
        _report(e, doc, sources, errors)
        errors.raise_if_any()
        raise
