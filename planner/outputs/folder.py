"""The run folder, written atomically.

Everything is written into a hidden temporary folder beside the target
(``.NAME.tmp-PID-XXXX``) and renamed into place at the end, so a failure or
an interrupt never leaves a half-written folder, and an existing folder is
replaced only with ``force``. A run killed outright (SIGKILL, power cut)
leaves its temporary folder behind; the next run to the same target clears
what a dead process left (and puts back a folder it had moved aside). A
target that cannot be written (read-only, full disk) is a
:class:`NotWritable` error naming the path. Writers for the appendix (maps,
workbook, GeoPackage, report) plug in as functions ``(problem, plan,
summary, folder) -> None``.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from planner import __version__
from planner.assess.decode import Plan
from planner.data.problem import Problem
from planner.errors import PlannerError

Writer = Callable[[Problem, Plan, dict, Path], None]

NOT_WRITABLE = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EPERM})
"""OS errors that mean the target cannot be written (reported as :class:`NotWritable`)."""

LIBRARIES = (
    "pulp",
    "highspy",
    "numpy",
    "pandas",
    "geopandas",
    "pyogrio",
    "shapely",
    "networkx",
    "matplotlib",
    "pydantic",
)


class FolderExists(FileExistsError):
    """The output folder exists and ``--force`` was not given."""


class NotWritable(PlannerError):
    """The run folder cannot be written (exit 1): the path and the reason."""

    def __init__(self, path: Path, err: OSError) -> None:
        why = err.strerror or str(err)
        hint = {
            errno.ENOSPC: " (the disk is full)",
            errno.EROFS: " (a read-only file system)",
            errno.EACCES: " (no permission)",
            errno.EDQUOT: " (the disk quota is used up)",
        }.get(err.errno or 0, "")
        super().__init__(f"cannot write the run folder {path}: {why}{hint}; nothing was written there")


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
    """Fail early (before solving) if ``out`` exists and may not be replaced,
    or if its folder cannot be written (a read-only file system)."""
    out = Path(out)
    if out.exists() and not force:
        raise FolderExists(f"{out} exists; use --force to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix=_tmp_prefix(out), dir=out.parent)).rmdir()  # a probe
    except OSError as e:
        raise NotWritable(out, e) from e


def _tmp_prefix(out: Path) -> str:
    return f".{out.name}.tmp-{os.getpid()}-"


def _owner(p: Path, tag: str) -> int | None:
    """The process id in a leftover's name (``.NAME.tmp-PID-...``, ``.NAME.old-PID``)."""
    head = p.name.rsplit(tag, 1)[-1].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clear_leftovers(out: Path) -> None:
    """Remove the temporary folders a dead process left beside ``out``; a
    folder it had moved aside (``.NAME.old-PID``) is put back when ``out``
    is missing."""
    for tag in (".old-", ".tmp-"):
        for p in sorted(out.parent.glob(f".{out.name}{tag}*")):
            pid = _owner(p, tag)
            if pid is None or pid == os.getpid() or _alive(pid):
                continue
            if tag == ".old-" and not out.exists():
                os.replace(p, out)
            else:
                shutil.rmtree(p, ignore_errors=True)


def write_core(problem: Problem, plan: Plan, summary: dict, folder: Path) -> None:
    """summary.json, schools.csv, assignments.csv (phases.csv and phase_assignments.csv of a phased
    plan, projects.csv of one with projects, groups.csv of one with groups) and manifest.json."""
    write_json(folder / "summary.json", summary)
    plan.schools.to_csv(folder / "schools.csv", index=False, encoding="utf-8")
    plan.assignments.to_csv(folder / "assignments.csv", index=False, encoding="utf-8")
    if plan.phases is not None and plan.phase_assignments is not None:
        plan.phases.to_csv(folder / "phases.csv", index=False, encoding="utf-8")
        plan.phase_assignments.to_csv(folder / "phase_assignments.csv", index=False, encoding="utf-8")
    if plan.projects is not None:
        plan.projects.to_csv(folder / "projects.csv", index=False, encoding="utf-8")
    if plan.groups is not None:
        plan.groups.to_csv(folder / "groups.csv", index=False, encoding="utf-8")
    write_json(folder / "manifest.json", manifest(problem, plan))


def write_run_folder(
    out: Path,
    problem: Problem,
    plan: Plan,
    summary: dict,
    *,
    force: bool = False,
    writers: tuple[Writer, ...] = (write_core,),
    extra: dict[str, object] | None = None,
) -> Path:
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
    clear_leftovers(out)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(out), dir=out.parent))
    except OSError as e:
        raise NotWritable(out, e) from e
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
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            os.replace(old, out)  # put the replaced folder back
        if isinstance(e, OSError) and e.errno in NOT_WRITABLE:
            raise NotWritable(out, e) from e
        raise
    return out


def write_diagnosis(
    out: Path,
    diagnosis: dict,
    *,
    force: bool = False,
    suggested: tuple | None = None,
    writers: tuple[Writer, ...] = (write_core,),
) -> Path:
    """An infeasible run's folder: ``diagnosis.json`` and, where the budget is
    short, ``suggested/``, the run folder of the plan at the budget's high end
    (``suggested``: its problem, plan and summary); written atomically like a
    run folder (so ``planner run`` never leaves half a folder)."""

    def fill(tmp: Path) -> None:
        write_json(tmp / "diagnosis.json", diagnosis)
        if suggested is not None:
            problem, plan, summary = suggested
            (tmp / SUGGESTED).mkdir()
            for w in writers:
                w(problem, plan, summary, tmp / SUGGESTED)

    atomic_folder(out, fill, force=force)
    return Path(out) / "diagnosis.json"


SUGGESTED = "suggested"
"""The folder of an infeasible run's suggested plan (the budget at the high end of its range)."""
