"""Running a sweep on Dask distributed: a ``LocalCluster`` of worker processes
(one solver thread each by default) or an existing scheduler; every run in
its own folder under ``OUT/runs/``; finished runs kept across a Ctrl-C and
skipped when run again with the same inputs (``OUT/sweep-state.json``)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from planner.config.sources import load_scenario
from planner.data.layers import sha256
from planner.errors import Collector, InputError
from planner.outputs.folder import write_json
from planner.sweep.execute import Job, kpis, run_job
from planner.sweep.spec import read_sweep, write_scenario

STATE = "sweep-state.json"


@dataclass(frozen=True)
class Cluster:
    """Where the runs go: ``workers`` local processes of ``threads`` solver threads, or a scheduler's address."""

    workers: int = 2
    threads: int = 1
    scheduler: str | None = None


def _key(scenario_file: Path) -> str:
    """What decides a run's result: its scenario (resolved) and the bytes of every data file it names."""
    s = load_scenario(scenario_file)
    h = hashlib.sha256(s.model_dump_json(exclude={"base_dir", "source_files"}).encode())
    paths = [s.data.gpkg, s.data.xlsx, s.data.distances]
    paths += [getattr(s.data, n).path for n in ("villages", "schools", "candidate_sites", "roads", "boundary",
                                               "townships", "births") if getattr(s.data, n) is not None]  # fmt: skip
    for p in sorted(str(s.resolve(p)) for p in paths if p):
        h.update(p.encode())
        if Path(p).is_file():
            h.update(sha256(Path(p)).encode())
    return h.hexdigest()


def prepare_jobs(sweep: Path, out: Path, cluster: Cluster) -> tuple[list[Job], dict, dict[str, dict]]:
    """Write each run's scenario file and check it; the jobs, their settings and their keys.
    Every scenario with a mistake is reported (nothing runs)."""
    spec, variants = read_sweep(sweep)
    solver: dict = {"threads": cluster.threads}
    if spec.time_limit_s is not None:
        solver["time_limit_s"] = spec.time_limit_s
    jobs, keys, errors = [], {}, Collector()
    for v in variants:
        path = write_scenario(v, out / "scenarios", solver)
        try:
            keys[v.name] = _key(path)
        except InputError as e:
            errors.issues.extend(e.issues)
            continue
        outputs = tuple(o for o in spec.outputs if o not in ("summary", "tables"))
        jobs.append(Job(v.name, str(path), str(out / "runs" / v.name), outputs))
    errors.raise_if_any()
    return jobs, keys, {v.name: v.settings for v in variants}


def _done(out: Path, keys: dict[str, str]) -> dict[str, dict]:
    """Rows of the runs already written with the same key (resume)."""
    state_file = out / STATE
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.is_file() else {}
    rows = {}
    for name, key in keys.items():
        summary = out / "runs" / name / "summary.json"
        if state.get(name) == key and summary.is_file():
            s = json.loads(summary.read_text(encoding="utf-8"))
            rows[name] = {"name": name, "exit_code": 0, "message": "resumed", **kpis(s), "seconds": 0.0}
    return rows


@contextmanager
def connect(cluster: Cluster) -> Iterator:
    """A client of the scheduler named, or of a local cluster closed with it; Dask's own log kept to errors."""
    from dask.distributed import Client, LocalCluster

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        if cluster.scheduler:
            with Client(cluster.scheduler) as client:
                yield client
            return
        with (
            LocalCluster(
                n_workers=cluster.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            ) as local,
            Client(local) as client,
        ):
            yield client
    finally:
        quiet.setLevel(level)


def run_sweep(
    sweep: Path, out: Path, cluster: Cluster, tell: Callable[[str, dict | None], None] = lambda what, row: None
) -> list[dict]:
    """Run every job of ``sweep`` (see the module docstring); the rows, in the sweep's order.

    ``tell("start", {"total": n})``, ``tell("dashboard", {"link": ..., "workers": k})`` once the
    cluster is up, then ``tell("done", row)`` per run."""
    from dask.distributed import as_completed

    out.mkdir(parents=True, exist_ok=True)
    jobs, keys, settings = prepare_jobs(sweep, out, cluster)
    rows = _done(out, keys)
    tell("start", {"total": len(jobs)})
    for r in rows.values():
        tell("done", r)
    todo = [j for j in jobs if j.name not in rows]
    state = {n: keys[n] for n in rows}
    if todo:
        with connect(cluster) as client:
            tell("dashboard", {"link": client.dashboard_link, "workers": len(client.scheduler_info()["workers"])})
            futures = {client.submit(run_job, j, key=f"run-{j.name}", pure=False): j for j in todo}
            try:
                for fut in as_completed(futures):
                    job = futures[fut]
                    row = fut.result() if fut.status == "finished" else _lost(job, fut)
                    rows[job.name] = row
                    if row["exit_code"] == 0:
                        state[job.name] = keys[job.name]
                        write_json(out / STATE, state)
                    tell("done", row)
            except KeyboardInterrupt:
                client.cancel(list(futures))
                raise
    order = [j.name for j in jobs]
    return [{**{f"set:{k}": _scalar(v) for k, v in settings[n].items()}, **rows[n]} for n in order if n in rows]


def _scalar(v: object) -> object:
    """A setting as one cell: numbers and text as they are, anything else as JSON."""
    return v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v, ensure_ascii=False)


def _lost(job: Job, fut) -> dict:
    """A run whose worker died (or whose task raised outside the run)."""
    try:
        fut.result()
        message = "lost"
    except Exception as e:  # noqa: BLE001 - recorded in the row
        message = f"{type(e).__name__}: {e}"
    return {"name": job.name, "exit_code": 1, "status": "failed", "message": message, "seconds": None}
