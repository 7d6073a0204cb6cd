"""A big MIP solved by HiGHS in a child process, which the watchdog can end.

HiGHS checks its time limit and its cancel flag between the steps of its
search; on a big MIP one step at the root (rounding towards the analytic
centre while it propagates the objective) can run for many minutes past the
limit, and a thread inside this process cannot be stopped there. A child
process can: a fresh interpreter (``python -m planner.solve.isolated``, so
the caller's main module is never imported again) solves the form with
:func:`~planner.solve.highs.solve_highs` and sends each better plan as it is
found, over a socket pair. The parent relays the run's stop and the
watchdog's cancel; if the child has not answered ``kill_after_s`` after the
cancel, the parent ends it and keeps the best plan it was sent (checked
against every row).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

from planner.model.form import Form
from planner.solve import highs
from planner.solve.options import SolveOptions
from planner.solve.status import Solution, SolveStatus

log = logging.getLogger(__name__)


def wanted(form: Form, opts: SolveOptions) -> bool:
    """Whether ``form`` is solved in a child process (a big MIP)."""
    return form.is_mip() and form.shape[1] >= opts.backend.isolate_min_columns


def _child(conn: Connection) -> None:
    """The child: read (form, start, options), solve, sending ``("plan", x,
    objective, bound)`` for each better plan and ``("done", solution)`` at the
    end (``("failed", why)`` if HiGHS raised); a ``"stop"`` cancels."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent hears Ctrl-C and relays it
    form, start, opts = conn.recv()
    stop = threading.Event()
    lock = threading.Lock()

    def listen() -> None:
        with contextlib.suppress(EOFError, OSError):
            conn.recv()  # "stop"
        stop.set()

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    threading.Thread(target=listen, daemon=True).start()
    try:
        sol = highs.solve_highs(
            [(form, start)], opts.but(stop=stop), on_plan=lambda x, obj, bound: send(("plan", x, obj, bound))
        )[0]
    except (RuntimeError, ValueError) as e:
        send(("failed", str(e)))
        return
    send(("done", sol))


def solve_isolated(
    form: Form, opts: SolveOptions, start: np.ndarray | None = None, child: tuple[str, ...] = (__name__,)
) -> Solution:
    """Solve ``form`` in a child process: ``python -m`` with ``child``'s words
    and the socket's descriptor (see the module docstring); raises
    ``RuntimeError`` if HiGHS raised there."""
    t0 = time.monotonic()
    ours, theirs = socket.socketpair()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    fd = theirs.fileno()
    proc = subprocess.Popen([sys.executable, "-m", *child, str(fd)], pass_fds=(fd,), env=env)
    theirs.close()
    conn = Connection(ours.detach())
    heard = _Heard()
    try:
        conn.send((form, start, opts.but(watch=None, stop=None)))
        _supervise(heard, conn, opts, t0)
    except KeyboardInterrupt:
        heard.stopped = True
        if opts.stop is not None:
            opts.stop.set()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child ended early: what it sent stands
    finally:
        conn.close()
        _end(proc)
    seconds = time.monotonic() - t0
    if heard.failed is not None:
        raise RuntimeError(heard.failed)
    if heard.done is not None:
        done = heard.done
        if done.status is SolveStatus.INTERRUPTED:  # the run's stop, or only the watchdog's cancel
            done = done.but(status=_ended(heard.stopped, done.has_plan))
        return done.but(seconds=seconds)
    return _best_sent(form, heard, opts, seconds)


@dataclass
class _Heard:
    """What the parent heard from the child."""

    best: tuple[np.ndarray, float, float] | None = None
    done: Solution | None = None
    failed: str | None = None
    stopped: bool = False


def _supervise(heard: _Heard, conn: Connection, opts: SolveOptions, t0: float) -> None:
    """Read the child's messages until its answer; cancel it at the run's stop
    or the watchdog's deadline, and give up on it ``kill_after_s`` later."""
    tuning = opts.backend
    cancel_at = t0 + tuning.watchdog_grace * opts.time_limit_s + tuning.watchdog_extra_s
    kill_at = None
    while True:
        try:
            if conn.poll(tuning.poll_s):
                message = conn.recv()
                if message[0] == "done":
                    heard.done = message[1]
                    return
                if message[0] == "failed":
                    heard.failed = message[1]
                    return
                _, x, objective, bound = message
                heard.best = (x, objective, bound)
                if opts.watch is not None:
                    opts.watch.improved(objective, bound)
        except EOFError:
            return  # the child ended without its answer
        asked = opts.stop is not None and opts.stop.is_set()
        if kill_at is None and (asked or time.monotonic() > cancel_at):
            heard.stopped = asked
            conn.send("stop")
            kill_at = time.monotonic() + tuning.kill_after_s
        elif kill_at is not None and time.monotonic() > kill_at:
            log.info("an isolated HiGHS solve did not stop when cancelled; its process is ended")
            return


def _end(proc: subprocess.Popen) -> None:
    """End the child if it still runs, and reap it."""
    try:
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _best_sent(form: Form, heard: _Heard, opts: SolveOptions, seconds: float) -> Solution:
    """The best plan the ended child sent, if it holds every row."""
    name, best, stopped = highs.version(), heard.best, heard.stopped
    if best is None or len(best[0]) != form.shape[1] or form.violations(best[0], opts.backend.plan_row_tol):
        return Solution(_ended(stopped, False), None, None, None, name, seconds, "ended past its time limit, no plan")
    x, _, bound = best
    kept = bound if np.isfinite(bound) else None
    return Solution(_ended(stopped, True), x, form.objective(x), kept, name, seconds, "ended past its time limit")


def _ended(stopped: bool, has_plan: bool) -> SolveStatus:
    """A cancelled solve's status: ``interrupted`` only when the run asked to
    stop; a watchdog's cancel is a time limit (or no plan)."""
    if stopped:
        return SolveStatus.INTERRUPTED
    return SolveStatus.TIME_LIMIT if has_plan else SolveStatus.NO_SOLUTION


if __name__ == "__main__":
    _child(Connection(int(sys.argv[1])))
    os._exit(0)  # the answer is sent: skip the interpreter's teardown, which the parent would wait for
