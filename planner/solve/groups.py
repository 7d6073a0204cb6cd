"""The school groups' solve: the small model of :mod:`planner.model.groups`,
after the layout, within ``solver.tuning.groups.seconds`` (a grace past the
run's deadline: the plan is found, and its groups complete it)."""

from __future__ import annotations

import numpy as np

from planner.config.scenario import SolverConfig
from planner.model.groups import GroupModel
from planner.solve import backend
from planner.solve.clock import Clock
from planner.solve.options import SolveOptions
from planner.solve.status import Solution


def solve_groups(gm: GroupModel, cfg: SolverConfig, clock: Clock) -> Solution:
    """Solve the group model to its proved optimum (or the best within its
    seconds), from the plan where every member is alone and nobody rotates (so there is always one)."""
    part = clock.grace("groups", cfg.tuning.groups.seconds)
    opts = SolveOptions.of(cfg, part.left()).but(mip_gap=0.0, **part.watching())
    start = np.zeros(gm.model.form.shape[1])
    start[list(gm.alone.values())] = 1.0
    start[gm.short] = gm.need
    return backend.solve(gm.model.form, opts, start)
