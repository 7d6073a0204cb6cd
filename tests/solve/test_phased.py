"""The phased strategy on counties small enough to answer by hand: each
column knows its phase, looking ahead relaxes only the later phases (so its
first step bounds the whole model), the last phase's problem after the others
keeps what they did, and the plan made phase by phase holds every row of the
phased model; the repair moves a whole village off a full site in every
phase."""

from __future__ import annotations

import numpy as np
import pytest

from planner.assess.phases import after_phases
from planner.model import build_model
from planner.model.phased import build_phased_model
from planner.solve.backend import solve
from planner.solve.clock import Clock
from planner.solve.direct import Context
from planner.solve.options import SolveOptions
from planner.solve.phased import look_ahead, look_ahead_form, repaired, with_last_phase
from planner.solve.repair import hot_sites, placement
from planner.solve.rounding import guide_of
from planner.solve.staged import join, layout_fixing
from planner.solve.strategy import solve_model
from tests.factory import full_site_case, school, site
from tests.model.test_phased import _phases, _problems


def _closure_county(tmp_path, pupils=(100, 100, 100)):
    """S1 5 km from the village, a candidate C1 at 0.5 km, one primary at the end."""
    schools, cands = [school("S1", 5, 0, max_classes=12)], [site("C1", 0, 0.5)]
    return _problems(tmp_path, list(pupils), schools, cands, {"targets": {"primary": 1}})


def test_each_column_knows_its_phase(tmp_path):
    problems = _closure_county(tmp_path)
    pm = build_phased_model(problems, _phases(0, 1000, 1000))
    assert len(pm.model.columns) == pm.model.form.shape[1]
    for (family, key), col in pm.model.columns.items():
        assert pm.col_phase[col] == pm.phases.index(key[-1]), (family, key)
    assert set(pm.col_phase) == {0, 1, 2}


def test_looking_ahead_relaxes_only_the_later_phases_and_bounds_the_whole_model(tmp_path):
    problems = _closure_county(tmp_path)
    pm = build_phased_model(problems, _phases(0, 1000, 1000))
    form = pm.model.form
    x = np.zeros(form.shape[1])
    f1 = look_ahead_form(pm, 1, x)
    assert (f1.integer == (form.integer & (pm.col_phase <= 1))).all()
    held = form.integer & (pm.col_phase == 0)
    assert (f1.lower[held] == 0).all() and (f1.upper[held] == 0).all()
    free = ~held
    assert (f1.lower[free] == form.lower[free]).all() and (f1.upper[free] == form.upper[free]).all()
    with pytest.raises(ValueError):
        look_ahead_form(pm, 1, np.full(form.shape[1], np.nan))
    cfg = problems[-1].scenario.solver
    whole = solve(form, SolveOptions.of(cfg, 60))
    ahead = look_ahead(pm, cfg, Clock(120))
    assert ahead.proof is None and ahead.values is not None
    assert ahead.bound is not None and ahead.bound <= whole.objective + 1e-6


def test_a_first_phase_with_no_plan_is_proved_by_looking_ahead(tmp_path):
    """Phase 1's 200 pupils need 900 m² of teaching area, the school has 450
    and phase 1 no money: no phased plan at all."""
    scen = {
        "standards": {
            "enabled": True,
            "teaching_area_m2_per_pupil": {"primary": 4.5, "junior": 5.8},
            "sports_area_m2_per_pupil": {"primary": 0.0, "junior": 0.0},
        }
    }
    problems = _problems(tmp_path, [200, 100], [school("S1", 0, 0, teaching_area_m2=450.0)], [], scen)
    pm = build_phased_model(problems, _phases(0, 1000))
    ahead = look_ahead(pm, problems[-1].scenario.solver, Clock(60))
    assert ahead.values is None and ahead.proof is not None


def test_the_last_phase_after_the_others_keeps_what_they_did(tmp_path):
    """Phase 1 builds C1 (money only then) and closes S1; phase 2 may not undo either."""
    problems = _closure_county(tmp_path, (100, 100))
    phases = _phases(1000, 0, targets=[{"primary": 1}, {}])
    pm = build_phased_model(problems, phases)
    sol = solve(pm.model.form, SolveOptions.of(problems[-1].scenario.solver, 60))
    last = after_phases(pm, problems, sol.values, phases[-1])
    sites = last.sites
    assert sites.at["C1", "kind"] == "school" and sites.at["C1", "land_cost_10k_yuan"] == 0.0
    assert sites.at["C1", "type_before"] == "primary" and tuple(sites.at["C1", "allowed"]) == ("primary",)
    assert sites.at["S1", "type_before"] == "closed" and tuple(sites.at["S1", "allowed"]) == ("closed",)
    assert last.scenario.budget.total_10k_yuan == 0.0
    assert last.scenario.targets == {"primary": 1}


def test_areas_and_spending_of_the_phases_before_carry_to_the_last(tmp_path):
    """Phase 1 must add 450 m² (135.0 in 10k yuan) for its 200 pupils; the total
    of 1000 leaves 865 for the last phase, within its own 900."""
    scen = {
        "standards": {
            "enabled": True,
            "teaching_area_m2_per_pupil": {"primary": 4.5, "junior": 5.8},
            "sports_area_m2_per_pupil": {"primary": 0.0, "junior": 0.0},
        },
        "budget": {"total_10k_yuan": 1000},
    }
    problems = _problems(tmp_path, [200, 100], [school("S1", 0, 0, teaching_area_m2=450.0)], [], scen)
    phases = _phases(1000, 900)
    pm = build_phased_model(problems, phases)
    sol = solve(pm.model.form, SolveOptions.of(problems[-1].scenario.solver, 60))
    last = after_phases(pm, problems, sol.values, phases[-1])
    assert last.sites.at["S1", "teaching_area_m2"] == pytest.approx(900.0, abs=1e-6)
    assert last.scenario.budget.total_10k_yuan == pytest.approx(1000 - 450 * 3001 / 1e4, abs=1e-6)
    assert tuple(last.sites.at["S1", "allowed"]) == tuple(problems[-1].sites.at["S1", "allowed"])


@pytest.mark.parametrize("budgets, optimum", [((0, 1000, 1000), 500 + 2 * 50 + 30), ((1000, 0, 0), 3 * 50 + 30)])
def test_the_plan_made_phase_by_phase_holds_every_row_and_here_is_optimal(tmp_path, budgets, optimum):
    """Known answers: C1 is built as soon as there is money and S1 closes then
    (pupil-km 100 x 5 while S1 serves, 100 x 0.5 once C1 does; 0.1 x 300 to build)."""
    problems = _closure_county(tmp_path)
    phases = _phases(*budgets)
    pm = build_phased_model(problems, phases)
    cfg = problems[-1].scenario.solver
    ahead = look_ahead(pm, cfg, Clock(120))
    assert ahead.values is not None
    last = after_phases(pm, problems, ahead.values, phases[-1])
    model = build_model(last)
    sol = solve_model(model, last, Clock(60))
    x = with_last_phase(pm, ahead.values, model, sol.values)
    form = pm.model.form
    assert not np.isnan(x).any() and not form.violations(x, 1e-6)
    assert form.objective(x) == pytest.approx(optimum)
    assert solve(form, SolveOptions.of(cfg, 60)).objective == pytest.approx(optimum)


def test_the_repair_moves_a_village_off_a_full_site_in_every_phase(tmp_path):
    """The full-site county (tests.factory) in two phases: V2 sent to A in
    both costs A a priced shortfall in both; the repair of the phased plan
    sends V2 to B in both and reaches the phased model's optimum."""
    problem = full_site_case(tmp_path)
    pm = build_phased_model([problem, problem], _phases(None, None))
    m = pm.model
    ctx = Context(problem.scenario.solver, guide_of(problem))
    opts = SolveOptions.of(ctx.cfg, 60)
    direct = solve(m.form, opts)
    v2 = m.pairs[m.pairs["village_id"] == "V2"]
    bad = solve(
        m.form.fixed(*join(layout_fixing(m, direct.x), (v2["col"].to_numpy(), v2["site_id"].eq("A").to_numpy(float)))),
        opts,
    )
    assert bad.objective > direct.objective + 1.0 and hot_sites(m, bad.x, 1e-6) == ["A"]
    x = repaired(pm, ctx, Clock(30), bad.x)
    assert x is not None and m.form.violations(x, 1e-6) == []
    assert m.form.objective(x) == pytest.approx(direct.objective, rel=1e-9)
    at = v2[x[v2["col"].to_numpy()] > 0.5]
    assert sorted(zip(at["phase"], at["site_id"])) == [("p1", "B"), ("p2", "B")]


def test_a_village_band_in_each_phase_is_its_own_demand(tmp_path):
    """The repair's placement keys a phased pair by village, band and phase:
    V2's pairs at A and B share a key within a phase, not across phases."""
    problem = full_site_case(tmp_path)
    m = build_phased_model([problem, problem], _phases(None, None)).model
    key, _, _ = placement(m.pairs, np.zeros(m.form.shape[1]))
    v2 = (m.pairs["village_id"] == "V2").to_numpy()
    by_phase = {ph: set(key[v2 & m.pairs["phase"].eq(ph).to_numpy()]) for ph in ("p1", "p2")}
    assert len(by_phase["p1"]) == len(by_phase["p2"]) == 1 and by_phase["p1"] != by_phase["p2"]
