"""The phased strategy on counties small enough to answer by hand: each
column knows its phase, looking ahead relaxes only the later phases (so its
first step bounds the whole model), the last phase's problem after the others
keeps what they did, and the plan made phase by phase holds every row of the
phased model."""

from __future__ import annotations

import numpy as np
import pytest

from planner.assess.phases import after_phases
from planner.model import build_model
from planner.model.phased import build_phased_model
from planner.solve.backend import solve
from planner.solve.clock import Clock
from planner.solve.options import SolveOptions
from planner.solve.phased import look_ahead, look_ahead_form, with_last_phase
from planner.solve.strategy import solve_model
from tests.factory import school, site
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
