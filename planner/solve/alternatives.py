"""Plans near the best: modelling to generate alternatives (MGA).

After the best plan ``x*`` (objective ``z*``), an alternative is a plan whose
objective is at most ``(1 + slack) z*`` (one row over every cost,
``near_cap``) and that goes as far as it can in a :class:`Direction`: away
from the school decisions of earlier plans (each ``open[s,t]`` weighs +1 for
every earlier plan that opens it and -1 for every one that does not, the
Hop-Skip-Jump weights, so the sum counts the decisions shared), or toward
keeping today's schools, fewer new builds or fewer boarders. The scenario's
own objective, scaled to weigh ``cost_weight`` of one decision at the cap,
breaks ties toward the cheaper plan.

A model of up to ``direct_max_pairs`` pairs is solved whole from ``x*``.
A larger one by neighbourhoods: a seed site and the sites its village-bands
can also reach are freed (every village-band at one of them may move among
them, the rest of the county held), as many at once as the solver has
threads, each with its share of the cap's and the budget's slack; a pass
over every seed that finds nothing doubles the neighbourhood. Then the
layout found is fixed and its cost lowered (the polish), its direction kept.
Knobs: :class:`~planner.config.assess_tuning.AlternativesTuning`.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

import numpy as np
import pandas as pd

from planner.data.problem import Problem
from planner.model.core import Model
from planner.model.form import Form
from planner.solve import backend
from planner.solve.clock import Clock
from planner.solve.direct import Context, solve_direct
from planner.solve.repair import free_pairs, narrowed, placement, shared_rows, site_job
from planner.solve.status import Solution, SolveStatus


class Direction(str, Enum):
    """Where an alternative goes, within the slack of the best plan."""

    DIFFER = "differ"
    """Away from every earlier plan's school decisions."""
    KEEP_SCHOOLS = "keep-schools"
    """More of today's schools kept open (as any type)."""
    FEWER_NEW = "fewer-new"
    """Fewer new schools built."""
    FEWER_BOARDERS = "fewer-boarders"
    """Fewer boarders."""


def direction_weights(m: Model, problem: Problem, direction: Direction, earlier: list[np.ndarray]) -> np.ndarray:
    """Per column, its weight in the alternative's objective (minimised; see the module docstring)."""
    w = np.zeros(m.form.shape[1])
    cols = m.open["col"].to_numpy()
    kind = m.open["site_id"].map(problem.sites["kind"]).to_numpy()
    if direction is Direction.DIFFER:
        for x in earlier:
            w[cols] += np.where(x[cols] > 0.5, 1.0, -1.0)
    elif direction is Direction.KEEP_SCHOOLS:
        w[cols[kind == "school"]] = -1.0
    elif direction is Direction.FEWER_NEW:
        w[cols[kind == "candidate"]] = 1.0
    else:
        w[list(m.boarders.values())] = 1.0
    return w


def near_form(m: Model, cap: float, weights: np.ndarray, cost_weight: float) -> Form:
    """The model with the row ``near_cap``, its objective at most ``cap``, under
    ``weights`` plus the objective scaled to weigh ``cost_weight`` at the cap."""
    f = m.form
    capped = f.with_row(f.cost, -np.inf, cap - f.offset, "near_cap[]")
    return capped.with_objective(weights + f.cost * (cost_weight / max(abs(cap), 1e-9)))


def decisions(m: Model, x: np.ndarray) -> pd.Series:
    """Each site's type at ``x`` (``closed`` where no type is open), by site id."""
    on = m.open[x[m.open["col"].to_numpy()] > 0.5]
    types = on.drop_duplicates("site_id").set_index("site_id")["type"]
    return types.reindex(sorted(set(m.open["site_id"])), fill_value="closed")


def solve_alternative(
    m: Model,
    problem: Problem,
    ctx: Context,
    clock: Clock,
    best: np.ndarray,
    earlier: list[np.ndarray],
    slack: float,
    direction: Direction = Direction.DIFFER,
) -> Solution:
    """The alternative to ``earlier`` plans (``best`` first among them) within
    ``slack`` of ``best``'s objective, going in ``direction``: its plan, its
    objective the scenario's own."""
    t = ctx.tuning.alternatives
    z = m.form.objective(best)
    cap = z + slack * abs(z)
    weights = direction_weights(m, problem, direction, earlier)
    form = near_form(m, cap, weights, t.cost_weight)
    search = clock.part("alternative", 1.0 - t.polish_share)
    if len(m.pairs) <= t.direct_max_pairs:
        res = solve_direct(m, ctx, search, form=form, start=best)
        x = res.values if res.has_plan and form.objective(res.values) < form.objective(best) else best.copy()
    else:
        x = neighbourhoods(m, form, ctx, search, best)
    x = polish(m, form, weights, ctx, clock.part("polish"), x)
    status = SolveStatus.INTERRUPTED if clock.stopped else SolveStatus.FEASIBLE
    how = f"alternative ({direction.value})"
    return Solution(status, x, m.form.objective(x), None, ctx.cfg.name, clock.elapsed(), how)


def polish(m: Model, form: Form, weights: np.ndarray, ctx: Context, clock: Clock, x: np.ndarray) -> np.ndarray:
    """``x`` with its layout fixed and its cost lowered, within the cap and no
    worse in its direction (``weights``)."""
    if clock.done(1.0):
        return x
    cols = m.open["col"].to_numpy()
    kept = form.with_objective(m.form.cost, m.form.offset).fixed(cols, np.round(x[cols]))
    kept = kept.with_row(weights, -np.inf, float(weights @ x), "near_direction[]")
    res = solve_direct(m, ctx, clock, form=kept, start=x)
    return res.values if res.has_plan and m.form.objective(res.values) < m.form.objective(x) else x


def site_partners(m: Model) -> dict[str, list[str]]:
    """Per site, the other sites by how many village-bands can reach both (most first, ties by id)."""
    pairs = m.pairs
    vb = pd.DataFrame(
        {"k": pairs.groupby(["village_id", "band"], sort=False).ngroup().to_numpy(), "s": pairs["site_id"].to_numpy()}
    ).drop_duplicates()
    both = vb.merge(vb, on="k")
    both = both[both["s_x"] != both["s_y"]].groupby(["s_x", "s_y"]).size().rename("n").reset_index()
    both = both.sort_values(["s_x", "n", "s_y"], ascending=[True, False, True], kind="stable")
    out = {s: list(g["s_y"]) for s, g in both.groupby("s_x", sort=True)}
    return {s: out.get(s, []) for s in sorted(set(m.open["site_id"]))}


def neighbourhoods(m: Model, form: Form, ctx: Context, clock: Clock, start: np.ndarray) -> np.ndarray:
    """The large-neighbourhood search of the module docstring, from ``start``."""
    t = ctx.tuning.alternatives
    opts = ctx.options(clock)
    workers = backend.concurrency(opts)
    near = replace(m, form=form)  # the same columns, the cap row added
    shared = shared_rows(near) if workers > 1 else np.zeros(0, np.int64)
    nothing_fixed = (np.zeros(0, np.int64), np.zeros(0))
    partners = site_partners(m)
    seeds = list(np.random.default_rng(ctx.cfg.seed).permutation(list(partners)))
    x, size, improved = start.copy(), t.partners, False
    opts = opts.but(watch=None)  # one line a pass, not one a neighbourhood
    while not clock.done(1.0):
        if clock.watch is not None:
            clock.watch.begin(f"{clock.name}: neighbourhoods of {size + 1} sites", clock.left())
        for i in range(0, len(seeds), workers):
            if clock.done(1.0):
                break
            hoods = _disjoint([{s, *partners[s][:size]} for s in seeds[i : i + workers]])
            rows = narrowed(form, shared, x, 1.0 / len(hoods)) if len(hoods) > 1 else {}
            placed = placement(m.pairs, x)
            jobs = [site_job(near, nothing_fixed, sites, free_pairs(placed, sites), rows, x) for sites in hoods]
            base = form.objective(x)
            outs = backend.solve_many(
                [(f, x[free]) for f, free in jobs], opts.but(time_limit_s=min(t.site_seconds, clock.left()))
            )
            for (_, free), out in zip(jobs, outs):
                if out.has_plan and out.cost < base - 1e-9 * max(1.0, abs(base)):
                    x[free] = out.values
                    improved = True
        if not improved:
            if size >= t.max_partners:
                break
            size *= 2
        improved = False
    return x


def _disjoint(hoods: list[set[str]]) -> list[set[str]]:
    """The neighbourhoods that share no site with one before them (the first always)."""
    out: list[set[str]] = []
    taken: set[str] = set()
    for h in hoods:
        if not h & taken:
            out.append(h)
            taken |= h
    return out
