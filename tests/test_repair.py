"""The neighbourhood repair of the staged solve (planner/repair.py): the
pairs it frees around a hot site and the order of the hot sites, by hand,
and a plan with a priced shortfall at a full site repaired to the direct
optimum."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pulp
import pytest

from planner.batch import solve_batch
from planner.model import build_model
from planner.regions import violations
from planner.repair import (SITE_GAP, SITE_SECONDS, hot_sites, keep, narrowed, owners, repair, room_m2, shared_rows,
                            short_sites, site_job, site_neighbourhood)
from planner.scenario import SolverConfig
from planner.solve import restore, snapshot, solve
from planner.staged import solve_fixed, layout_fixing
from tests.factory import full_site_case, two_full_sites_case, two_sites_model


def _pairs(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    """A pairs table (village, band, site, current value) with real PuLP variables."""
    lp, out = pulp.LpProblem("rings"), []
    for i, (v, b, s, x) in enumerate(rows):
        var = lp.add_variable(f"x{i}", 0, 1, cat=pulp.LpInteger)
        var.varValue = x
        out.append({"village_id": v, "band": b, "site_id": s, "var": var})
    return pd.DataFrame(out)


def _rows() -> pd.DataFrame:
    """H is hot; V1 and V2 sit at H, both reach N, only V1 reaches F; V3 sits
    at N and reaches F; V4 sits at F; V5 reaches H but sits at Z; V1's
    g4_6 band sits at N."""
    return _pairs([("V1", "g1_3", "H", 1.0), ("V1", "g1_3", "N", 0.0), ("V1", "g1_3", "F", 0.0),
                   ("V2", "g1_3", "H", 1.0), ("V2", "g1_3", "N", 0.0),
                   ("V3", "g1_3", "N", 1.0), ("V3", "g1_3", "F", 0.0),
                   ("V4", "g1_3", "F", 1.0),
                   ("V5", "g1_3", "H", 0.0), ("V5", "g1_3", "Z", 1.0),
                   ("V1", "g4_6", "N", 1.0)])


def test_a_hot_site_frees_the_catchments_of_its_partners_among_them():
    p = _rows()
    # one partner: N, reached by both of H's bands (F by one); V5 stays at Z, V3 may not go to F
    assert site_neighbourhood(p, "H", {"H", "N", "F", "Z"}, 1).tolist() == [
        True, True, False, True, True, True, False, False, False, False, True]
    # two partners: N and F; everything now at H, N or F may move among them, V5 still fixed
    assert site_neighbourhood(p, "H", {"H", "N", "F", "Z"}, 2).tolist() == [
        True, True, True, True, True, True, True, True, False, False, True]
    # N closed: the partner is F, and nothing goes to N
    assert site_neighbourhood(p, "H", {"H", "F", "Z"}, 1).tolist() == [
        True, False, True, True, False, False, False, True, False, False, False]


def test_outlets_with_room_join_the_neighbourhood_most_room_first():
    """Besides its partners, a hot site frees the open sites with room that
    the bands at it or at a partner can reach, the most room first; a site
    with no room, a closed one or one out of reach is no outlet."""
    p, open_ = _rows(), {"H", "N", "F", "Z"}
    with_f = [True, True, True, True, True, True, True, True, False, False, True]  # as with partners N and F
    # N partner; F, reached by V1 (at H) and V3 (at N), has room; Z has more but only V5 (at Z) reaches it
    assert site_neighbourhood(p, "H", open_, 1, {"F": 50.0, "Z": 100.0}).tolist() == with_f
    assert site_neighbourhood(p, "H", open_, 1, {"F": 0.0}).tolist() == site_neighbourhood(p, "H", open_, 1).tolist()
    assert site_neighbourhood(p, "H", open_ - {"F"}, 1, {"F": 50.0}).tolist() == site_neighbourhood(
        p, "H", open_ - {"F"}, 1).tolist()
    # no partner, one outlet: F (50 m²) before N (10 m²); V3 stays at N
    assert site_neighbourhood(p, "H", open_, 0, {"N": 10.0, "F": 50.0}, outlets=1).tolist() == [
        True, False, True, True, False, False, False, True, False, False, False]


def test_room_is_the_sports_surplus_plus_free_land(tmp_path):
    """A full site (no land) has no room; B's room shrinks by
    the sports ground of the pupils it takes (20 x 7.5 m²)."""
    problem = full_site_case(tmp_path)
    cfg = problem.scenario.solver
    m = build_model(problem)
    layout = layout_fixing(m) if solve(m, cfg).has_plan else {}
    to = lambda s: {v: float(site == s) for v, vid, site in zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"])
                    if vid == "V2"}  # noqa: E731
    solve_fixed(m, cfg, {**layout, **to("A")})
    at_a = room_m2(m)
    solve_fixed(m, cfg, {**layout, **to("B")})
    at_b = room_m2(m)
    assert at_a["A"] == at_b["A"] == 0.0  # 40 pupils fill its 300 m², and it has no land
    assert at_a["B"] - at_b["B"] == pytest.approx(20 * 7.5)


def test_hot_sites_come_dearest_first():
    """Sites ordered by what their shortfalls cost in the objective, not by
    the shortfalls' own units; a site with none is not hot."""
    lp = pulp.LpProblem("hot")
    short = {(s, f"short_{k}"): lp.add_variable(f"short[{s},{k}]", 0) for s, k in
             (("A", "sports_area"), ("B", "staff"), ("B", "sports_area"), ("C", "staff"))}
    for (key, v), x in zip(short.items(), (100.0, 3.0, 10.0, 0.0)):
        v.varValue = x
    price = {"sports_area": 50.0, "staff": 2000.0}
    objective = pulp.LpAffineExpression([(v, price[k.removeprefix("short_")]) for (_, k), v in short.items()])
    m = SimpleNamespace(standards=short, lp=SimpleNamespace(objective=objective))
    assert hot_sites(m) == ["B", "A"]  # B: 3 x 2000 + 10 x 50 = 6500 (13 units), A: 100 x 50 = 5000 (100 units)
@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_repair_moves_a_village_off_a_full_site_to_the_direct_optimum(tmp_path, solver):
    """Under HiGHS the site MIPs go through :func:`planner.batch.solve_batch`,
    under CBC one at a time through :func:`planner.repair.serial_batch`."""
    problem = full_site_case(tmp_path)
    cfg = problem.scenario.solver.model_copy(update={"name": solver})
    direct = solve(build_model(problem), cfg)
    m = build_model(problem)
    assert solve(m, cfg).status == "optimal"
    layout = layout_fixing(m)
    wrong = {v: float(s == "A") for v, vid, s in zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"]) if vid == "V2"}
    bad = solve_fixed(m, cfg, {**layout, **wrong})
    assert bad.objective > direct.objective + 1.0 and short_sites(m) == {"A"}  # the plan the repair starts from

    res, rounds = repair(m, cfg, None, layout, bad, 30.0)
    assert rounds >= 1 and res.objective == pytest.approx(direct.objective, rel=1e-9)
    assert pulp.value(m.lp.objective) == pytest.approx(direct.objective, rel=1e-9)  # the model holds the repaired plan
    assert short_sites(m) == set()
    at = {(v, s) for v, s, var in zip(m.pairs["village_id"], m.pairs["site_id"], m.pairs["var"]) if var.varValue > 0.5}
    assert ("V2", "B") in at


def test_each_site_mip_closes_its_own_gap_in_its_own_seconds(tmp_path):
    """A gap is relative to the whole objective: the scenario's 5 % would
    let a neighbourhood stop far short of its best, so each site's MIP gets
    :data:`SITE_GAP` and :data:`SITE_SECONDS` (and still the plan's gap when
    tighter)."""
    problem = full_site_case(tmp_path)
    m = build_model(problem)
    loose = problem.scenario.solver.model_copy(update={"mip_gap": 0.05, "time_limit_s": 600.0})
    assert solve(m, loose).has_plan
    layout = layout_fixing(m)
    wrong = {v: float(s == "A") for v, vid, s in zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"])
             if vid == "V2"}
    bad = solve_fixed(m, loose, {**layout, **wrong})
    start, seen = snapshot(m), []

    def spy(m_, cfg_, jobs):
        seen.append((cfg_.mip_gap, cfg_.time_limit_s))
        return solve_batch(m_, cfg_, jobs)

    repair(m, loose, spy, layout, bad, 30.0)
    restore(start)
    tight = loose.model_copy(update={"mip_gap": SITE_GAP / 10})
    repair(m, tight, spy, layout, bad, 30.0)
    assert seen and seen[0] == (SITE_GAP, SITE_SECONDS) and seen[-1][0] == SITE_GAP / 10


def test_repair_without_a_hot_site_changes_nothing(tmp_path):
    problem = full_site_case(tmp_path)
    cfg = problem.scenario.solver
    m = build_model(problem)
    best = solve(m, cfg)
    before = {v: v.varValue for v in m.lp.variables()}
    res, rounds = repair(m, cfg, None, layout_fixing(m), best, 30.0)
    assert rounds == 0 and res is best
    assert {v: v.varValue for v in m.lp.variables()} == before


def test_shared_rows_get_a_share_of_their_slack_each():
    """x + y <= 10 at x = 2, y = 3 (slack 5), x - y >= -4 (slack 3): half
    each; the rows' bounds are on the terms, without the constant."""
    lp = pulp.LpProblem("share")
    x, y = lp.add_variable("x", 0, 10), lp.add_variable("y", 0, 10)
    x.varValue, y.varValue = 2.0, 3.0
    le, ge = x + y <= 10, x - y + 4 >= 0
    out = narrowed([le, ge], 0.5)
    assert out[le] == (-np.inf, pytest.approx(7.5))
    assert out[ge] == (pytest.approx(-2.5), np.inf)


def test_jobs_on_disjoint_sites_kept_together_stay_within_a_shared_row():
    """Site A's x and site B's y each want all of x + y <= 10; solved at
    once, each within half the slack, both gains are kept and the row holds.
    Without the share each job alone would take the whole slack."""
    m, x, y = two_sites_model()
    owner = owners(m)
    assert owner == {x: "A", y: "B"} and shared_rows(m, owner) == [m.rows["shared[]"]]
    rows, start = narrowed(shared_rows(m, owner), 0.5), snapshot(m)
    jobs = [site_job(m, {}, owner, {s}, np.array([s == "A", s == "B"]), rows, start) for s in ("A", "B")]
    assert jobs[0].fixing == {y: 3.0} and jobs[1].fixing == {x: 2.0}
    for job, out in zip(jobs, solve_batch(m, SolverConfig(threads=2, time_limit_s=10), jobs)):
        keep(job, out, list(start))
    assert (x.varValue, y.varValue) == (pytest.approx(4.5), pytest.approx(5.5))


def test_two_hot_sites_far_apart_are_repaired_in_one_batch(tmp_path):
    """Two towns 50 km apart, each with V2 at its full site A: on two
    threads the first batch frees both towns at once (no site shared) and
    the repair reaches the direct optimum with those two MIPs and no more
    (none is left hot); no row of the model is broken."""
    problem = two_full_sites_case(tmp_path, threads=2)
    cfg = problem.scenario.solver
    direct = solve(build_model(problem), cfg)
    m = build_model(problem)
    assert solve(m, cfg).status == "optimal"
    layout = layout_fixing(m)
    wrong = {v: float(s.startswith("A")) for v, vid, s in zip(m.pairs["var"], m.pairs["village_id"], m.pairs["site_id"])
             if vid.endswith("2")}
    bad = solve_fixed(m, cfg, {**layout, **wrong})
    assert short_sites(m) == {"A1", "A2"}
    batches = []

    def spy(m_, cfg_, jobs):
        batches.append([{v for v in m_.pairs["var"] if v not in j.fixing} for j in jobs])
        return solve_batch(m_, cfg_, jobs)

    res, rounds = repair(m, cfg, spy, layout, bad, 30.0)
    assert len(batches[0]) == 2 and not batches[0][0] & batches[0][1]
    assert rounds == 2 and res.objective == pytest.approx(direct.objective, rel=1e-9)
    assert short_sites(m) == set() and violations(m) == []
