"""The neighbourhood repair of the staged solve (planner/repair.py): the
pairs it frees around a hot site and the order of the hot sites, by hand,
and a plan with a priced shortfall at a full site repaired to the direct
optimum."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.config.scenario import SolverConfig
from planner.config.tuning import RepairTuning
from planner.model import build_model
from planner.model.core import Builder
from planner.solve import backend
from planner.solve import repair as repair_mod
from planner.solve.clock import Clock
from planner.solve.direct import Context
from planner.solve.options import SolveOptions
from planner.solve.repair import (
    free_pairs,
    hot_sites,
    narrowed,
    neighbourhood_sites,
    placement,
    repair,
    room_m2,
    shared_rows,
    site_job,
)
from planner.solve.rounding import guide_of
from planner.solve.staged import join, layout_fixing
from tests.factory import full_site_case, two_full_sites_case, two_sites_model


def _pairs(rows: list[tuple[str, str, str, float]]) -> tuple[pd.DataFrame, np.ndarray]:
    """A pairs table (village, band, site) with columns, and the plan's values."""
    p = pd.DataFrame([{"village_id": v, "band": b, "site_id": s, "col": i} for i, (v, b, s, _) in enumerate(rows)])
    return p, np.array([x for *_, x in rows])


def _rows():
    """H is hot; V1 and V2 sit at H, both reach N, only V1 reaches F; V3 sits
    at N and reaches F; V4 sits at F; V5 reaches H but sits at Z; V1's
    g4_6 band sits at N."""
    return _pairs(
        [
            ("V1", "g1_3", "H", 1.0),
            ("V1", "g1_3", "N", 0.0),
            ("V1", "g1_3", "F", 0.0),
            ("V2", "g1_3", "H", 1.0),
            ("V2", "g1_3", "N", 0.0),
            ("V3", "g1_3", "N", 1.0),
            ("V3", "g1_3", "F", 0.0),
            ("V4", "g1_3", "F", 1.0),
            ("V5", "g1_3", "H", 0.0),
            ("V5", "g1_3", "Z", 1.0),
            ("V1", "g4_6", "N", 1.0),
        ]
    )


def site_neighbourhood(p, x, hot, open_, partners, room=None, outlets=3):
    placed = placement(p, x)
    return free_pairs(placed, neighbourhood_sites(placed, hot, open_, partners, room, outlets))


def _ctx(problem, **solver) -> Context:
    return Context(problem.scenario.solver.model_copy(update=solver), guide_of(problem))


def _v2_at(m, x, site: str):
    """The layout at ``x`` held, and V2 sent to ``site``."""
    v2 = m.pairs[m.pairs["village_id"] == "V2"]
    return join(layout_fixing(m, x), (v2["col"].to_numpy(), (v2["site_id"] == site).to_numpy(float)))


def _bits(mask) -> str:
    """A mask over the pairs of :func:`_rows` as a string: ``1`` free, ``.`` held."""
    return "".join("1" if m else "." for m in mask)


def test_a_hot_site_frees_the_catchments_of_its_partners_among_them():
    p, x = _rows()
    # one partner: N, reached by both of H's bands (F by one); V5 stays at Z, V3 may not go to F
    assert _bits(site_neighbourhood(p, x, "H", {"H", "N", "F", "Z"}, 1)) == "11.111....1"
    # two partners: N and F; everything now at H, N or F may move among them, V5 still fixed
    assert _bits(site_neighbourhood(p, x, "H", {"H", "N", "F", "Z"}, 2)) == "11111111..1"
    # N closed: the partner is F, and nothing goes to N
    assert _bits(site_neighbourhood(p, x, "H", {"H", "F", "Z"}, 1)) == "1.11...1..."


def test_outlets_with_room_join_the_neighbourhood_most_room_first():
    """Besides its partners, a hot site frees the open sites with room that
    the bands at it or at a partner can reach, the most room first; a site
    with no room, a closed one or one out of reach is no outlet."""
    (p, x), open_ = _rows(), {"H", "N", "F", "Z"}
    # N partner; F, reached by V1 (at H) and V3 (at N), has room; Z has more but only V5 (at Z) reaches it
    assert _bits(site_neighbourhood(p, x, "H", open_, 1, {"F": 50.0, "Z": 100.0})) == "11111111..1"  # as N and F
    without = _bits(site_neighbourhood(p, x, "H", open_, 1))
    assert _bits(site_neighbourhood(p, x, "H", open_, 1, {"F": 0.0})) == without
    closed = _bits(site_neighbourhood(p, x, "H", open_ - {"F"}, 1))
    assert _bits(site_neighbourhood(p, x, "H", open_ - {"F"}, 1, {"F": 50.0})) == closed
    # no partner, one outlet: F (50 m²) before N (10 m²); V3 stays at N
    assert _bits(site_neighbourhood(p, x, "H", open_, 0, {"N": 10.0, "F": 50.0}, outlets=1)) == "1.11...1..."


def test_room_is_the_sports_surplus_plus_free_land(tmp_path):
    """A full site (no land) has no room; B's room shrinks by the sports
    ground of the pupils it takes (20 x 7.5 m²)."""
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    opts = SolveOptions.of(problem.scenario.solver, 60)
    best = backend.solve(m.form, opts)
    at_a = room_m2(m, backend.solve(m.form.fixed(*_v2_at(m, best.x, "A")), opts).x)
    at_b = room_m2(m, backend.solve(m.form.fixed(*_v2_at(m, best.x, "B")), opts).x)
    assert at_a["A"] == at_b["A"] == 0.0  # 40 pupils fill its 300 m², and it has no land
    assert at_a["B"] - at_b["B"] == pytest.approx(20 * 7.5)


def test_hot_sites_come_dearest_first():
    """Sites ordered by what their shortfalls cost in the objective, not by
    the shortfalls' own units; a site with none is not hot."""
    b = Builder("hot")
    price = {"sports_area": 50.0, "staff": 2000.0}
    short = {}
    for s, k in (("A", "sports_area"), ("B", "staff"), ("B", "sports_area"), ("C", "staff")):
        short[(s, f"short_{k}")] = b.standards[(s, f"short_{k}")] = b.var("short", (s, k), site=s)
    b.objective = sum(price[k.removeprefix("short_")] * v for (_, k), v in short.items())
    m = b.finish()
    x = np.zeros(m.form.shape[1])
    for key, val in zip(short, (100.0, 3.0, 10.0, 0.0)):
        x[m.standards[key]] = val
    assert hot_sites(m, x, 1e-6) == ["B", "A"]  # B: 3 x 2000 + 10 x 50 = 6500 (13 units), A: 100 x 50 = 5000


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_repair_moves_a_village_off_a_full_site_to_the_direct_optimum(tmp_path, solver):
    """Under HiGHS the site MIPs may run together, under CBC one at a time."""
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    ctx = _ctx(problem, name=solver)
    opts = SolveOptions.of(ctx.cfg, 60)
    direct = backend.solve(m.form, opts)
    layout = layout_fixing(m, direct.x)
    bad = backend.solve(m.form.fixed(*_v2_at(m, direct.x, "A")), opts)
    assert bad.objective > direct.objective + 1.0 and hot_sites(m, bad.x, 1e-6) == ["A"]  # the plan repaired
    res, rounds = repair(m, ctx, Clock(30), layout, bad)
    assert rounds >= 1 and res.objective == pytest.approx(direct.objective, rel=1e-9)
    assert m.form.objective(res.x) == pytest.approx(direct.objective, rel=1e-9)
    assert hot_sites(m, res.x, 1e-6) == [] and m.form.violations(res.x, 1e-6) == []
    at = set(zip(m.pairs["village_id"][res.x[m.pairs["col"]] > 0.5], m.pairs["site_id"][res.x[m.pairs["col"]] > 0.5]))
    assert ("V2", "B") in at


def test_each_site_mip_gets_the_repairs_own_gap_and_seconds(tmp_path, monkeypatch):
    """A gap is relative to the whole objective: the scenario's 5 % would let
    a neighbourhood stop far short of its best, so each site's MIP stops at
    ``site_gap`` (or the plan's gap when tighter) and ``site_seconds``,
    whatever the tuning's values are."""
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    tuning = problem.scenario.solver.tuning
    mine = tuning.model_copy(update={"repair": RepairTuning(site_gap=0.0123, site_seconds=3.5)})
    seen = []
    real = backend.solve_many
    monkeypatch.setattr(
        repair_mod.backend,
        "solve_many",
        lambda jobs, opts: (seen.append((opts.mip_gap, opts.time_limit_s)), real(jobs, opts))[1],
    )
    for gap in (0.05, 0.001):
        ctx = _ctx(problem, mip_gap=gap, tuning=mine)
        opts = SolveOptions.of(ctx.cfg, 60)
        direct = backend.solve(m.form, opts)
        bad = backend.solve(m.form.fixed(*_v2_at(m, direct.x, "A")), opts)
        repair(m, ctx, Clock(600), layout_fixing(m, direct.x), bad)
    assert seen[0] == (0.0123, pytest.approx(3.5)) and seen[-1][0] == 0.001


def test_repair_without_a_hot_site_changes_nothing(tmp_path):
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    ctx = _ctx(problem)
    best = backend.solve(m.form, SolveOptions.of(ctx.cfg, 60))
    res, rounds = repair(m, ctx, Clock(30), layout_fixing(m, best.x), best)
    assert rounds == 0 and res.objective == best.objective and (res.x == best.x).all()


def test_shared_rows_get_a_share_of_their_slack_each():
    """x + y <= 10 at x = 2, y = 3 (slack 5), x - y >= -4 (slack 3): half
    each; the rows' bounds are on the terms, without the constant."""
    b = Builder("share")
    x, y = b.var("x", (), upper=10.0, site="A"), b.var("y", (), upper=10.0, site="B")
    b.add("le", (), x + y <= 10)
    b.add("ge", (), x - y + 4 >= 0)
    m = b.finish()
    out = narrowed(m.form, np.array([m.row("le"), m.row("ge")]), np.array([2.0, 3.0]), 0.5)
    assert out[m.row("le")] == (-np.inf, pytest.approx(7.5))
    assert out[m.row("ge")] == (pytest.approx(-2.5), np.inf)


def test_jobs_on_disjoint_sites_kept_together_stay_within_a_shared_row():
    """Site A's x and site B's y each want all of x + y <= 10; solved at
    once, each within half the slack, both gains are kept and the row holds.
    Without the share each job alone would take the whole slack."""
    m, x0 = two_sites_model()
    assert shared_rows(m).tolist() == [m.row("shared")]
    rows = narrowed(m.form, shared_rows(m), x0, 0.5)
    empty = (np.zeros(0, np.int64), np.zeros(0))
    jobs = [site_job(m, empty, {s}, np.array([s == "A", s == "B"]), rows, x0) for s in ("A", "B")]
    assert jobs[0][1].tolist() == [True, False] and jobs[1][1].tolist() == [False, True]  # what each may change
    assert [f.shape[1] for f, _ in jobs] == [1, 1]  # each job's form holds only what it may change
    outs = backend.solve_many([(f, x0[m]) for f, m in jobs], SolveOptions.of(SolverConfig(threads=2), 10))
    x = x0.copy()
    for (_, movable), out in zip(jobs, outs):
        x[movable] = out.x
    assert x == pytest.approx([4.5, 5.5]) and m.form.violations(x, 1e-9) == []


def test_two_hot_sites_far_apart_are_repaired_in_one_batch(tmp_path, monkeypatch):
    """Two towns 50 km apart, each with V2 at its full site A: on two
    threads the first batch frees both towns at once (no site shared) and
    the repair reaches the direct optimum with those two MIPs and no more
    (none is left hot); no row of the model is broken."""
    problem = two_full_sites_case(tmp_path, threads=2)
    m = build_model(problem)
    ctx = _ctx(problem)
    opts = SolveOptions.of(ctx.cfg, 60)
    direct = backend.solve(m.form, opts)
    v2 = m.pairs[m.pairs["village_id"].str.endswith("2")]
    wrong = join(layout_fixing(m, direct.x), (v2["col"].to_numpy(), v2["site_id"].str.startswith("A").to_numpy(float)))
    bad = backend.solve(m.form.fixed(*wrong), opts)
    assert set(hot_sites(m, bad.x, 1e-6)) == {"A1", "A2"}
    batches = []
    real = backend.solve_many
    monkeypatch.setattr(
        repair_mod.backend,
        "solve_many",
        lambda jobs, o: (batches.append([set(f.names) for f, _ in jobs]), real(jobs, o))[1],
    )
    res, rounds = repair(m, ctx, Clock(30), layout_fixing(m, direct.x), bad)
    assert len(batches[0]) == 2 and not batches[0][0] & batches[0][1]
    assert rounds == 2 and res.objective == pytest.approx(direct.objective, rel=1e-9)
    assert hot_sites(m, res.x, 1e-6) == [] and m.form.violations(res.x, 1e-6) == []
