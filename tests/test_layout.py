"""The package's shape, read from its source: one subpackage per stage with
imports that only point downward (so no circle), every tuning knob in the
one tuning object, and modules and functions of a readable size."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "planner"

LAYERS = (
    "domain",
    "errors",
    "config",
    "data",
    "projection",
    "model",
    "solve",
    "assess",
    "outputs",
    "pipeline",
    "display",
    "sweep",
    "cli",
)
"""The stages in the order of the flow; a module may import only from its own
stage or an earlier one (``domain`` and ``errors`` are shared by all)."""

RANK = {
    "domain": 0,
    "errors": 0,
    "config": 1,
    "data": 2,
    "projection": 3,
    "model": 4,
    "solve": 5,
    "assess": 6,
    "outputs": 7,
    "pipeline": 8,
    "display": 9,
    "sweep": 10,
    "cli": 11,
}

NOT_TUNING = {
    "EPS": "the tolerance of 'reached' in the national standard's assessment",
    "HALVINGS": "bisection steps past double precision: the exact floor",
    "UNSERVED": "a big M for a village no open site reaches",
    "LISTED": "relaxations printed per line (diagnosis.json holds all)",
    "MAX_ROW_ISSUES": "input mistakes reported per column before one summing up the rest",
    "DPI": "the maps' resolution",
    "IMAGE_WIDTH_PX": "the report's image width",
    "TITLE_CHARS": "where a map's title line breaks",
    "KRASOVSKY_A_M": "a constant of the published GCJ-02 formula",
    "KRASOVSKY_EE": "a constant of the published GCJ-02 formula",
    "BD_X_PI": "a constant of the published BD-09 formula",
    "CHINA_BOX": "where the map services apply their offset (published)",
    "INVERSE_TOL_DEG": "the inverse's precision, far below a metre",
    "INVERSE_MAX_STEPS": "a cap on the inverse's iterations, which converge in a handful",
    "SHIFT_M": "what a map service's offset looks like, for an input warning",
    "SHIFT_ALIGNED": "how aligned offsets must be to warn",
    "SHIFT_MIN_POINTS": "too few points say nothing about a shift",
    "HEADER_SCAN_ROWS": "how far below a workbook's title rows its header row is looked for",
    "VALIDATED_ROWS": "how many rows of the input template get the drop-down lists",
    "REFRESH_S": "how often the live progress line is redrawn",
    "MARKER_MM": "the QGIS style's symbol sizes (those of the PNG maps)",
}
"""Module-level numbers that are not knobs of the solve strategy (they trade nothing)."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every ``planner`` module ``path`` imports, at any depth of its code."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planner"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("planner"))
    return out


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: {i for i in _imports(p) if i in mods and i != m} for m, p in mods.items()}


def test_every_module_belongs_to_a_stage():
    assert {_stage(m) for m in _modules() if m != "planner"} == set(LAYERS)


def test_imports_only_point_downward():
    """A stage imports from itself or an earlier stage, never a later one."""
    wrong = [
        f"{m} imports {i}"
        for m, deps in _graph().items()
        if m != "planner"
        for i in deps
        if _stage(i) and RANK[_stage(i)] > RANK[_stage(m)]
    ]
    assert wrong == []


def test_the_import_graph_has_no_circle():
    graph = _graph()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1 and not cycle:
                cycle.extend([*path[path.index(d) :], d] if d in path else [m, d])
            elif d not in state:
                visit(d, [*path, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycle == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The two checks above can fail: a model module importing from solve,
    and two modules importing each other, are both found."""
    fake = tmp_path / "planner"
    for sub in ("model", "solve"):
        (fake / sub).mkdir(parents=True)
        (fake / sub / "__init__.py").write_text("", encoding="utf-8")
    (fake / "__init__.py").write_text("", encoding="utf-8")
    (fake / "model" / "a.py").write_text("from planner.solve.b import x\n", encoding="utf-8")
    (fake / "solve" / "b.py").write_text("from planner.model.a import y\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    with pytest.raises(AssertionError, match="planner.model.a imports planner.solve.b"):
        test_imports_only_point_downward()
    with pytest.raises(AssertionError):
        test_the_import_graph_has_no_circle()


def _numeric_constants(path: Path) -> list[str]:
    """Module-level names bound to a number (or a tuple, list or dict of numbers)."""

    def numeric(v: ast.AST) -> bool:
        if isinstance(v, ast.UnaryOp):
            return numeric(v.operand)
        if isinstance(v, ast.Constant):
            return isinstance(v.value, (int, float)) and not isinstance(v.value, bool)
        if isinstance(v, (ast.Tuple, ast.List)):
            return bool(v.elts) and all(numeric(e) for e in v.elts)
        if isinstance(v, ast.Dict):
            return bool(v.values) and all(numeric(e) for e in v.values)
        return False

    out = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        value = getattr(node, "value", None)
        if value is not None and numeric(value):
            out += [t.id for t in targets if isinstance(t, ast.Name)]
    return out


def test_no_tuning_constant_outside_the_tuning_object():
    """Every number that steers the solve is a field of ``SolveTuning``; the
    few module-level numbers left elsewhere are listed, each with why it is
    not a knob."""
    found = {
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path in _modules().values()
        if path.name != "tuning.py"
        for name in _numeric_constants(path)
    }
    unexplained = sorted(f for f in found if f.rsplit(": ", 1)[1] not in NOT_TUNING)
    assert unexplained == []


def test_modules_and_functions_stay_readable():
    """Modules under 450 lines, functions under 65 (docstrings included)."""
    long_modules, long_functions = [], []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 450:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 65:
                long_functions.append(f"{name}.{node.name}")
    assert long_modules == [] and long_functions == []
