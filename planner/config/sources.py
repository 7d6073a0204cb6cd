"""Scenario files: YAML in, a :class:`~planner.config.scenario.Scenario` out.

A scenario may ``extends:`` another (path relative to itself) and override any
key; mappings merge recursively, everything else replaces. Every mistake is
reported with the file, line and key that set it, all in one pass.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from planner.config.scenario import Scenario
from planner.errors import Collector


def _merge(base: dict, over: dict) -> dict:
    """Recursive dict merge: ``over`` wins; mappings merge, the rest replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects a key given twice in one mapping (PyYAML
    silently keeps the last one, which hides a hand-editing mistake)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                dup = key in seen
            except TypeError:  # an unhashable key: let PyYAML report it
                continue
            if dup:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice (first at line {seen[key] + 1})", key_node.start_mark
                )
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

    with contextlib.suppress(yaml.YAMLError):  # the loader reports the syntax error itself
        walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
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
        errors.add(
            str(path),
            f"YAML syntax error: {problem}{hint}" + (f", column {mark.column + 1}" if mark else ""),
            line=mark.line + 1 if mark else None,
        )
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
        elif k in ("gpkg", "xlsx", "distances"):
            new[k] = fix(v)
        else:
            new[k] = v
    return {**doc, "data": new}


def _relpath(target: Path, start: Path) -> str:
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
        errors.add(
            str(path),
            f"'extends' must name one scenario file (got {parent!r})",
            key="extends",
            line=lines.get(("extends",)),
        )
        return doc, [src]
    parent_path = path.parent / parent
    if not parent_path.is_file():
        errors.add(
            str(path),
            f"'extends' names {parent}, which does not exist (looked for {parent_path})",
            key="extends",
            line=lines.get(("extends",)),
        )
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
        if (
            isinstance(doc, dict)
            and part in doc
            or isinstance(doc, list)
            and isinstance(part, int)
            and 0 <= part < len(doc)
        ):
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


def _message(err: Any, loc: tuple) -> str:
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
    if (
        err["loc"][:1] == ("targets",)
        and len(err["loc"]) == 3
        and err["loc"][-1] in ("int", "constrained-int", "Range")
    ):
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
        if any(other != loc and other[: len(loc)] == loc for other in found):
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
