"""Write: the run folder, atomically.

Everything is written into a hidden temporary folder beside the target and
renamed into place at the end, so a failure or an interrupt never leaves a
half-written folder, and an existing folder is replaced only with ``force``.
Writers for the appendix (maps, workbook, GeoPackage, report) plug in as
functions ``(problem, plan, summary, folder) -> None``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

from planner import __version__
from planner.decode import Plan
from planner.problem import Problem

Writer = Callable[[Problem, Plan, dict, Path], None]

LIBRARIES = ("pulp", "highspy", "numpy", "pandas", "geopandas", "pyogrio", "shapely", "networkx", "matplotlib", "pydantic")


class FolderExists(FileExistsError):
    """The output folder exists and ``--force`` was not given."""


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def write_json(path: Path, obj: object) -> None:
    """UTF-8 JSON, Chinese kept readable, keys in insertion order."""
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default) + "\n", encoding="utf-8")


def versions() -> dict[str, str]:
    """Versions of the package, Python and every library the run used."""
    out = {"planner": __version__, "python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "absent"
    return out


def manifest(problem: Problem, plan: Plan) -> dict:
    """Input hashes, the scenario as resolved, versions and the solver used."""
    scen = problem.scenario.model_dump(mode="json", exclude={"base_dir", "source_files"})
    return {
        "scenario": scen,
        "scenario_files": list(problem.scenario.source_files),
        "inputs": [{"path": p, "sha256": h} for p, h in problem.inputs],
        "crs": problem.crs,
        "solver": plan.result.solver,
        "versions": versions(),
    }


def check_target(out: Path, *, force: bool) -> None:
    """Fail early (before solving) if ``out`` exists and may not be replaced."""
    if out.exists() and not force:
        raise FolderExists(f"{out} exists; use --force to replace it")


def write_core(problem: Problem, plan: Plan, summary: dict, folder: Path) -> None:
    """summary.json, schools.csv, assignments.csv and manifest.json."""
    write_json(folder / "summary.json", summary)
    plan.schools.to_csv(folder / "schools.csv", index=False, encoding="utf-8")
    plan.assignments.to_csv(folder / "assignments.csv", index=False, encoding="utf-8")
    write_json(folder / "manifest.json", manifest(problem, plan))


def write_run_folder(out: Path, problem: Problem, plan: Plan, summary: dict, *, force: bool = False,
                     writers: tuple[Writer, ...] = (write_core,), extra: dict[str, object] | None = None) -> Path:
    """Write every file into a temporary folder, then rename it to ``out``."""
    out = Path(out)

    def fill(tmp: Path) -> None:
        for w in writers:
            w(problem, plan, summary, tmp)
        for name, obj in (extra or {}).items():
            write_json(tmp / name, obj)

    return atomic_folder(out, fill, force=force)


def atomic_folder(out: Path, fill: Callable[[Path], None], *, force: bool = False) -> Path:
    """Let ``fill`` write into a hidden temporary folder beside ``out``, then
    rename it to ``out``. On any failure or interrupt the temporary folder is
    removed and a replaced ``out`` is put back, so ``out`` is either complete,
    or untouched."""
    out = Path(out)
    check_target(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    try:
        fill(tmp)
        os.chmod(tmp, 0o755)
        if out.exists():
            os.replace(out, old)
            os.replace(tmp, out)
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            os.replace(old, out)  # put the replaced folder back
        raise
    return out


def write_diagnosis(out: Path, diagnosis: dict, *, force: bool = False) -> Path:
    """An infeasible run's folder: ``diagnosis.json`` only, written atomically
    like a run folder (so ``planner run`` never leaves half a folder)."""
    atomic_folder(out, lambda tmp: write_json(tmp / "diagnosis.json", diagnosis), force=force)
    return Path(out) / "diagnosis.json"
