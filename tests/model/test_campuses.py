"""One school, two campuses (一校两区, ``campuses:``, planner/model/campuses.py): on
hand-solved counties on a line, a school kept as a campus when it spares more
travel than its penalty, within reach, and never when the pair's pupils would
exceed the host's cap; the targets count a pair once; the checker re-derives
every campus and catches a campus too far from its host."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from planner.config.scenario import Scenario
from planner.model.campuses import host_types
from planner.outputs.compare import decision_diff, kpi_table, read_runs
from planner.outputs.folder import write_core, write_run_folder
from planner.pipeline import prepare, solve_problem
from tests.checker import check_run
from tests.factory import OFF, deep_merge, make_case, school, village


def _run(tmp_path, villages, schools, campuses: dict | None, targets: dict, cap: int | None = None):
    scen = deep_merge(
        OFF,
        {
            "policy": {"moves": {"primary": ["primary", "closed"]}},
            "caps": {"school_pupils": {"primary": cap}},
            "targets": targets,
            "campuses": campuses,
            "indicators": {"enabled": False},
            "solver": {"threads": 1, "mip_gap": 0.0},
        },
    )
    return solve_problem(prepare(make_case(tmp_path, villages, schools, scenario=scen)))


TWO = ([village("V1", 0, 0, 40), village("V2", 3, 0, 40)], [school("A", 0, 0), school("B", 3, 0)])
"""Two primaries 3 km apart, 40 pupils beside each; one primary allowed: 120 pupil-km without a campus."""


@pytest.mark.parametrize(
    ("campuses", "objective", "kept"),
    [
        (None, 120.0, 0),
        ({"max_km": 5, "penalty": 0}, 0.0, 1),
        ({"max_km": 5, "penalty": 100}, 100.0, 1),
        ({"max_km": 5, "penalty": 150}, 120.0, 0),
        ({"max_km": 2, "penalty": 0}, 120.0, 0),
        ({"max_km": 5, "types": ["teaching_point"]}, 120.0, 0),
    ],
)
def test_a_campus_is_kept_when_it_spares_more_than_it_costs(tmp_path, campuses, objective, kept):
    run = _run(tmp_path, *TWO, campuses, {"primary": 1})
    s = run.plan.schools
    assert run.summary["objective"] == pytest.approx(objective)
    assert int((s["campus_of"] != "").sum()) == kept
    assert run.summary["counts_after"]["primary"] == 1  # a pair counts once
    assert int((s["type_after"] == "primary").sum()) == 1 + kept
    if kept:
        c = s[s["campus_of"] != ""].iloc[0]
        assert c["action"] == "campus" and {c["school_id"], c["campus_of"]} == {"A", "B"}
        assert run.summary["campuses"]["hosts"] == {c["school_id"]: c["campus_of"]}
    out = write_run_folder(tmp_path / "run", run.problem, run.plan, run.summary, writers=(write_core,))
    assert check_run(out) == []


def test_the_pair_cap_rules_out_a_campus_the_host_cannot_hold(tmp_path):
    """V1 40 at 0, V2 40 at 3, V3 20 at 8 beside A, B, D; two primaries of at most 70 pupils.
    Without campuses: A and B open, V3 to B (100 pupil-km; A and D would put 80 at A, B and D 80 at B).
    A campus spares it all, but A-B (80 pupils) breaks the cap: only B-D (60) may pair."""
    vs = [*TWO[0], village("V3", 8, 0, 20)]
    ss = [*TWO[1], school("D", 8, 0)]
    alone = _run(tmp_path / "a", vs, ss, None, {"primary": 2}, cap=70)
    paired = _run(tmp_path / "b", vs, ss, {"max_km": 5, "penalty": 0}, {"primary": 2}, cap=70)
    assert alone.summary["objective"] == pytest.approx(100.0)
    assert paired.summary["objective"] == pytest.approx(0.0)
    pair = paired.plan.schools.query("campus_of != ''")
    assert len(pair) == 1 and {pair["school_id"].iloc[0], pair["campus_of"].iloc[0]} == {"B", "D"}
    out = write_run_folder(tmp_path / "run", paired.problem, paired.plan, paired.summary, writers=(write_core,))
    assert check_run(out) == []
    s = pd.read_csv(out / "schools.csv", keep_default_na=False)
    s.loc[s["school_id"] == pair["school_id"].iloc[0], "campus_of"] = "A"  # A is 8 or 3 km away, with 80 pupils
    s.to_csv(out / "schools.csv", index=False)
    assert any(v.startswith("campus") for v in check_run(out))


def test_a_host_teaches_every_level_of_its_campus():
    assert host_types("teaching_point") == ("primary", "nine_year")
    assert host_types("junior") == ("junior", "nine_year")
    assert host_types("nine_year") == ("nine_year",)


def test_campuses_and_groups_are_refused_in_a_phased_plan():
    phases = [{"name": "一期", "first_year": 2025, "last_year": 2030}]
    base = {"name": "x", "data": {"gpkg": "x.gpkg"}, "target_year": 2030, "phases": phases}
    with pytest.raises(ValidationError, match="campuses"):
        Scenario(**base, campuses={})
    with pytest.raises(ValidationError, match="groups"):
        Scenario(**base, groups={})


def test_compare_counts_a_campus_in_its_host(tmp_path):
    runs = {
        "alone": _run(tmp_path / "a", *TWO, None, {"primary": 1}),
        "paired": _run(tmp_path / "b", *TWO, {"max_km": 5, "penalty": 0}, {"primary": 1}),
    }
    folders = [
        write_run_folder(tmp_path / name, r.problem, r.plan, r.summary, writers=(write_core,))
        for name, r in runs.items()
    ]
    read = read_runs(folders)
    k = kpi_table(read)
    assert k.loc[("学校数（所）", "规划完全小学")].tolist() == [1, 1]  # as the targets count them
    assert k.loc[("学校数（所）", "一校两区校区（计入所属学校）")].tolist() == [0, 1]
    diff = decision_diff(read)
    assert sum("并为校区" in str(v) for v in diff.iloc[:, -1]) == 1  # the campus, in the paired run
    assert sum("撤并" in str(v) for v in diff.iloc[:, -2]) == 1  # the same pupils' school merged without campuses
