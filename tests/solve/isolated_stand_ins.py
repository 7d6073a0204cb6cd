"""Stand-ins for the isolated solve's child (``python -m`` this module, a
behaviour and the socket's descriptor): each speaks the child's messages and
misbehaves in one way."""

from __future__ import annotations

import sys
import threading
from multiprocessing.connection import Connection

import numpy as np

from planner.solve.status import Solution, SolveStatus


def good_plan(form) -> np.ndarray:
    """A plan of the test knapsack that holds every row."""
    x = np.zeros(form.shape[1])
    col = {n: i for i, n in enumerate(form.names)}
    for n, v in {"x_0_": 1, "x_1_": 1, "x_2_": 1, "x_3_": 1, "y__": -2, "z__": 3}.items():
        x[col[n]] = v
    return x


def main(behaviour: str, conn: Connection) -> None:
    form, _start, _opts = conn.recv()
    if behaviour in ("silent", "broken"):  # one plan, then silence, never stopping
        x = good_plan(form)
        if behaviour == "broken":
            x[0] += 5
        conn.send(("plan", x, 0.0, -1e9))
        conn.close()
    elif behaviour == "obliging":  # answers once asked to stop
        if conn.recv() == "stop":
            conn.send(("done", Solution(SolveStatus.INTERRUPTED, None, None, None, "stand-in", 0.0, "stopped")))
        return
    elif behaviour == "failing":
        conn.send(("failed", "HiGHS raised"))
        return
    threading.Event().wait()  # "deaf" too: never answers, nor stops when asked


if __name__ == "__main__":
    main(sys.argv[1], Connection(int(sys.argv[2])))
