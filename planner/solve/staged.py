"""Staged solve for whole catchments coupled by per-site rules.

With caps, areas, budget and targets all tied to who goes where, branch and
bound on every (village, band, site) binary finds a first plan slowly. The
field's answer is relax-and-fix with a proven bound:

1. **relax**: catchments may split (assignment shares continuous) and
   investments in teachers and rooms are continuous; only site decisions and
   classes are integer. Every plan of the full model is a plan of this one,
   so its best bound is a valid lower bound. It starts from the LP's layout,
   rounded (:mod:`planner.solve.rounding`) and solved with that layout fixed.
2. **fix**: the layout of stage 1 is fixed, and so is every catchment it kept
   whole; only the split ones are solved as whole catchments (a small MIP).
   Where that leaves a site short of a standard (a full site taking a whole
   village it had only part of), the catchments around it are freed and
   re-solved (:mod:`planner.solve.repair`); then, still above the target gap,
   only the layout stays fixed. Then, with layout and catchments fixed, the
   investments are made whole (a small per-site MIP): left integer in stage 1
   they stall HiGHS, every fractional room becoming a priced shortfall.
3. **polish**: everything is freed and the full model solved from stage 2's
   plan, for the time that is left, when the gap is still above the target.

The reported bound is the best of stage 1's and stage 3's and the gap is
measured against it, so a plan from stage 2 alone still says how good it is.
Each stage takes its seconds from the solve's clock (shares in
:class:`~planner.config.tuning.StagedTuning`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from planner.model.core import Model
from planner.solve.clock import Clock
from planner.solve.direct import Context, solve_direct, working_form
from planner.solve.repair import repair
from planner.solve.rounding import current_layout_values, round_layout
from planner.solve.status import Solution, SolveStatus, gap, no_plan

Fixing = tuple[np.ndarray, np.ndarray]
"""Columns and the values they are held at."""


def layout_fixing(m: Model, x: np.ndarray) -> Fixing:
    """Every site decision (``open``, and ``campus`` where a school may be one) at its value in ``x``, rounded."""
    cols = np.concatenate([m.open["col"].to_numpy(), np.fromiter(m.campus.values(), np.int64, len(m.campus))])
    return cols, (x[cols] > 0.5).astype(float)


def whole_catchment_fixing(m: Model, x: np.ndarray, tol: float) -> Fixing:
    """Every pair of a village-band that ``x`` keeps whole, at its value;
    pairs of split village-bands stay free."""
    p = m.pairs
    share = x[p["col"].to_numpy()]
    whole_vb = p.loc[share >= 1 - tol, ["village_id", "band"]].drop_duplicates()
    mine = p.merge(whole_vb, on=["village_id", "band"], how="left", indicator=True)["_merge"].eq("both").to_numpy()
    return p["col"].to_numpy()[mine], np.round(share[mine])


def assignment_fixing(m: Model, x: np.ndarray) -> Fixing:
    """Every site decision and every assignment at its value (whole ones rounded)."""
    lc, lv = layout_fixing(m, x)
    cols = m.pairs["col"].to_numpy()
    vals = np.where(m.pairs["whole"].to_numpy(bool), np.round(x[cols]), x[cols])
    return np.concatenate([lc, cols]), np.concatenate([lv, vals])


def join(*fixings: Fixing) -> Fixing:
    """Several fixings as one (a later one wins on a shared column)."""
    cols = np.concatenate([c for c, _ in fixings])
    vals = np.concatenate([v for _, v in fixings])
    _, last = np.unique(cols[::-1], return_index=True)
    keep = len(cols) - 1 - last
    return cols[keep], vals[keep]


def finish(res: Solution, bound: float | None, clock: Clock, ctx: Context, how: str) -> Solution:
    """A staged (or regional) run's result: the gap against ``bound``, and a
    time-limited plan within the target gap reported as feasible (optimal at 0)."""
    status = res.status
    bound = bound if bound is not None else res.bound
    g = gap(res.objective, bound)
    if status in (SolveStatus.TIME_LIMIT, SolveStatus.FEASIBLE) and g is not None and g <= ctx.cfg.mip_gap + 1e-9:
        status = SolveStatus.OPTIMAL if g <= 1e-9 else SolveStatus.FEASIBLE
    return res.but(
        status=status, bound=bound, seconds=clock.elapsed(), message=f"{how}: {res.message}" if how else res.message
    )


def _stop_if_interrupted(r: Solution) -> None:
    """A Ctrl-C in a warm start's solve stops the run: its plan (split
    catchments or a relaxation) is not one to keep."""
    if r.interrupted:
        raise KeyboardInterrupt


def layout_start(m: Model, ctx: Context, clock: Clock, relax: np.ndarray, mip_gap: float) -> np.ndarray | None:
    """A complete split-catchment plan to warm-start stage 1: the LP
    relaxation, its site values rounded, and that layout fixed and solved
    (``relax``: the columns stage 1 makes continuous). An LP not solved in
    its time leaves the current layout to round (without a start, HiGHS may
    find no plan at all in stage 1's time)."""
    t = ctx.tuning.staged
    lp = solve_direct(m, ctx, clock.part("LP relaxation", t.start_lp_share), form=m.form.relaxed())
    _stop_if_interrupted(lp)
    if lp.status is SolveStatus.INFEASIBLE or not (lp.has_plan or ctx.guide.current):
        return None
    values = lp.values if lp.has_plan else current_layout_values(m, ctx.guide)
    layout = round_layout(m, values, ctx.guide, ctx.tuning.rounding)
    cols = m.open["col"].to_numpy()
    r = solve_direct(
        m, ctx, clock.part("rounded layout"), form=working_form(m).relaxed(relax).fixed(cols, layout), mip_gap=mip_gap
    )
    _stop_if_interrupted(r)
    return r.x if r.has_plan else None


def relaxed_stage(m: Model, ctx: Context, clock: Clock, relax: np.ndarray) -> Solution:
    """Stage 1: the model with split catchments and continuous investments,
    from a rounded layout, to half the target gap (its bound is the run's)."""
    mip_gap = ctx.cfg.mip_gap / 2
    start = layout_start(m, ctx, clock.part("warm start", ctx.tuning.staged.start_share), relax, mip_gap)
    return solve_direct(
        m, ctx, clock.part("split-catchment MIP"), form=working_form(m).relaxed(relax), start=start, mip_gap=mip_gap
    )


def fixed_stage(
    m: Model, ctx: Context, clock: Clock, x1: np.ndarray, relaxed_objective: float, invest: np.ndarray
) -> Solution | None:
    """Stage 2: whole catchments on stage 1's layout, investments continuous.
    First every catchment stage 1 kept whole stays fixed and only the split
    ones are solved, to ``first_fix_gap`` (a start, not the answer); then the
    sites where that costs a shortfall are repaired; then, still above the
    target gap, only the layout stays fixed, from the best so far."""
    t = ctx.tuning.staged
    form = working_form(m).relaxed(invest)
    mr = replace(m, form=form)
    layout = layout_fixing(m, x1)

    def done(r: Solution) -> bool:
        return r.interrupted or (r.has_plan and (gap(r.objective, relaxed_objective) or 0.0) <= ctx.cfg.mip_gap)

    r = solve_direct(
        m,
        ctx,
        clock.part("split catchments made whole", t.fix_share),
        form=form.fixed(*join(layout, whole_catchment_fixing(m, x1, t.whole_tol))),
        mip_gap=max(ctx.cfg.mip_gap, t.first_fix_gap),
    )
    if done(r):
        return r
    if r.has_plan:
        r = repair(mr, ctx, clock.part("repair", t.repair_share), layout, r)[0]
        if done(r):
            return r
    first = r if r.has_plan else None
    r2 = solve_direct(
        m, ctx, clock.part("layout fixed", t.fix_share), form=form.fixed(*layout), start=first.x if first else None
    )
    if r2.has_plan and (first is None or r2.cost <= first.cost):
        return r2
    if first is None:
        return None
    return first.but(status=SolveStatus.INTERRUPTED) if r2.interrupted else first


def whole_investments(m: Model, ctx: Context, clock: Clock, r2: Solution | None) -> Solution | None:
    """Stage 2b: with stage 2's layout and catchments fixed, investments made
    whole (a small per-site MIP). No plan here means stage 2's plan is not one
    of the full model. After a stop it still runs, not to be cancelled (on
    a grace clock), so the plan kept is whole, and stays ``interrupted``."""
    if r2 is None or not r2.has_plan or not m.investments.any():
        return r2
    r = solve_direct(m, ctx, clock, form=working_form(m).fixed(*assignment_fixing(m, r2.values)), stop=None)
    if not r.has_plan:
        return None
    return r.but(status=SolveStatus.INTERRUPTED) if r2.interrupted else r


def solve_staged(m: Model, ctx: Context, clock: Clock) -> Solution:
    """Relax, fix, polish (see the module docstring); one direct solve when
    no whole catchment is binary (the p-median core, or split catchments)."""
    t = ctx.tuning.staged
    whole = m.whole & ~m.relaxable
    if not whole.any():
        return solve_direct(m, ctx, clock)
    invest = m.investments
    r1 = relaxed_stage(m, ctx, clock.part("stage 1 (split catchments)", t.relax_share), whole | invest)
    if r1.status is SolveStatus.INFEASIBLE:
        return no_plan(SolveStatus.INFEASIBLE, r1.solver, clock.elapsed(), "infeasible even with split catchments")
    if not r1.has_plan and r1.interrupted:
        return no_plan(SolveStatus.INTERRUPTED, r1.solver, clock.elapsed(), "interrupted before any plan was found")
    bound = r1.bound
    best = None
    if r1.has_plan:
        if r1.interrupted:
            return no_plan(
                SolveStatus.INTERRUPTED, r1.solver, clock.elapsed(), "interrupted before a whole-catchment plan", bound
            )
        reserve = min(t.min_polish_s, t.investments_share * clock.left()) if invest.any() else 0.0
        r2 = fixed_stage(m, ctx, clock.part("stage 2 (whole catchments)", leave=reserve), r1.values, r1.cost, invest)
        name = "stage 2b (whole investments)"
        part = clock.grace(name, reserve) if clock.done(reserve) else clock.part(name, t.fix_share, at_least=reserve)
        r2 = whole_investments(m, ctx, part, r2)
        if r2 is not None:
            best = r2
            if r2.interrupted or (gap(r2.objective, bound) or 1.0) <= ctx.cfg.mip_gap:
                return finish(best.but(status=_kept(best)), bound, clock, ctx, "relax-and-fix")
    if not clock.done(t.min_polish_s):
        near = best is not None and (gap(best.objective, bound) or 1.0) <= t.proof_gap
        r3 = solve_direct(m, ctx, clock.part("stage 3 (polish)"), start=best.x if best else None, proof=near)
        if r3.bound is not None and (bound is None or r3.bound > bound):
            bound = r3.bound
        if r3.has_plan and (best is None or r3.cost <= best.cost + 1e-9):
            best = r3
        elif r3.interrupted and best is not None:
            best = best.but(status=SolveStatus.INTERRUPTED)  # a Ctrl-C in the polish still says so
        if r3.status is SolveStatus.INFEASIBLE and best is None:
            return no_plan(SolveStatus.INFEASIBLE, r3.solver, clock.elapsed(), r3.message)
    if best is None:
        return no_plan(
            SolveStatus.NO_SOLUTION, r1.solver, clock.elapsed(), "no plan found within the time limit", bound
        )
    return finish(best.but(status=_kept(best)), bound if bound is not None else best.bound, clock, ctx, "staged")


def _kept(res: Solution) -> SolveStatus:
    """A kept plan's status before the gap is judged: ``interrupted`` stays, anything else is ``time_limit``."""
    return SolveStatus.INTERRUPTED if res.interrupted else SolveStatus.TIME_LIMIT
