"""Scenario files: every mistake named by file, line and key; nothing but InputError."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.config.scenario import BudgetConfig
from planner.config.sources import load_scenario
from planner.errors import InputError


def _write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def _issues(path: Path) -> list:
    with pytest.raises(InputError) as e:
        load_scenario(path)
    return e.value.issues


def test_unknown_keys_are_named_with_line_and_suggestion(tmp_path):
    p = _write(
        tmp_path,
        "s.yaml",
        "name: s\ndata: {gpkg: x.gpkg}\ncaps:\n  class_sise: {primary: 40}\n"
        "targets:\n  juniour: 3\npolicy:\n  assignment: {g1_3: wholes}\n",
    )
    got = {(i.key, i.line): str(i) for i in _issues(p)}
    assert set(got) == {("caps.class_sise", 4), ("targets.juniour", 6), ("policy.assignment.g1_3", 8)}
    assert "did you mean 'class_size'?" in got[("caps.class_sise", 4)]
    assert "did you mean 'junior'?" in got[("targets.juniour", 6)]
    assert "did you mean 'whole'?" in got[("policy.assignment.g1_3", 8)]


def test_travel_has_no_unit_switch_limits_in_minutes_are_per_band(tmp_path):
    """``travel.unit`` did nothing (a planner writing ``minutes`` got km
    limits): it is an unknown key now; minutes go in ``max_trip_minutes``."""
    bad = _write(tmp_path, "bad.yaml", "name: s\ndata: {gpkg: x.gpkg}\ntravel:\n  unit: minutes\n")
    assert [(i.key, i.line) for i in _issues(bad)] == [("travel.unit", 4)]
    ok = _write(tmp_path, "ok.yaml", "name: s\ndata: {gpkg: x.gpkg}\npolicy:\n  max_trip_minutes: {g1_3: 20}\n")
    assert load_scenario(ok).policy.max_trip_minutes == {"g1_3": 20.0}


def test_a_mistake_in_a_parent_is_reported_in_the_parent(tmp_path):
    _write(tmp_path, "parent.yaml", "name: p\ndata: {gpkg: x.gpkg}\ntravel:\n  detour: 1.2\n")
    child = _write(tmp_path, "child.yaml", "extends: parent.yaml\nbudget: {total_10k_yuan: -5}\n")
    got = {(Path(i.file).name, i.line, i.key) for i in _issues(child)}
    assert got == {("parent.yaml", 4, "travel.detour"), ("child.yaml", 2, "budget.total_10k_yuan")}


def test_union_errors_give_one_message_per_key(tmp_path):
    p = _write(tmp_path, "s.yaml", "name: s\ndata: {}\ntargets:\n  primary: two\n  junior: {min: x}\n")
    got = {i.key: i.message for i in _issues(p)}
    assert set(got) == {"targets.primary", "targets.junior.min"}
    assert got["targets.primary"].startswith("expected a count")
    assert "valid integer" in got["targets.junior.min"]


def test_syntax_errors_and_duplicate_keys_give_lines(tmp_path):
    (bad,) = _issues(_write(tmp_path, "a.yaml", "name: a\ndata:\n  gpkg: [x.gpkg\nsolver: {}\n"))
    assert bad.line == 4 and "YAML syntax error" in bad.message
    (dup,) = _issues(_write(tmp_path, "b.yaml", "name: b\ndata: {}\nname: c\n"))
    assert dup.line == 3 and "given twice (first at line 1)" in dup.message


def test_extends_cycle_and_missing_parent(tmp_path):
    _write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    b = _write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\ndata: {}\n")
    (cyc,) = _issues(b)
    assert "'extends' cycle: b.yaml -> a.yaml -> b.yaml" in cyc.message
    (miss,) = _issues(_write(tmp_path, "c.yaml", "extends: nope.yaml\nname: c\n"))
    assert miss.key == "extends" and miss.line == 1 and "does not exist" in miss.message


def test_numeric_ids_in_fixed_are_read_as_text(tmp_path):
    s = load_scenario(_write(tmp_path, "s.yaml", "name: s\ndata: {gpkg: x.gpkg}\nfixed: {101: closed}\n"))
    assert s.fixed == {"101": "closed"}


def test_unreadable_files(tmp_path):
    (nf,) = _issues(tmp_path / "none.yaml")
    assert nf.message == "scenario file not found"
    p = tmp_path / "gbk.yaml"
    p.write_bytes("name: 防城\n".encode("gbk"))
    (enc,) = _issues(p)
    assert "not UTF-8" in enc.message
    (empty,) = _issues(_write(tmp_path, "e.yaml", ""))
    assert "mapping" in empty.message


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=6)),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(
    [
        "name",
        "data",
        "targets",
        "caps",
        "policy",
        "solver",
        "budget",
        "fixed",
        "extends",
        "travel",
        "standards",
        "objective",
        "costs",
        "typo",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(keys, yaml_values, max_size=6), text=st.text(max_size=80), use_text=st.booleans())
def test_malformed_yaml_raises_only_input_error(tmp_path, doc, text, use_text):
    p = tmp_path / "s.yaml"
    p.write_text(text if use_text else yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        load_scenario(p)
    except InputError as e:
        assert e.issues and all(i.file for i in e.issues)


@pytest.mark.parametrize(
    "key, text, why",
    [
        ("caps.class_size.primary", "caps:\n  class_size: {primary: 0}\n", "greater than or equal to 1"),
        ("budget.total_10k_yuan", "budget:\n  total_10k_yuan: -5\n", "greater than or equal to 0"),
        ("indicators.pupils_per_teacher.junior", "indicators:\n  pupils_per_teacher: {junior: 0}\n", "greater than 0"),
        ("solver.mip_gap", "solver:\n  mip_gap: 5\n", "less than or equal to 1"),
        ("targets.junior", "targets:\n  junior: -2\n", "expected a count"),
        ("policy.max_trip_km.g7_9", "policy:\n  max_trip_km: {g7_9: -1}\n", "greater than 0"),
        ("objective.per_boarder.g1_3", "objective:\n  per_boarder: {g1_3: -20}\n", "greater than or equal to 0"),
        (
            "solver.tuning.staged.relax_share",
            "solver:\n  tuning:\n    staged: {relax_share: 1.5}\n",
            "less than or equal",
        ),
    ],
)
def test_a_number_no_plan_can_honour_is_bad_input(tmp_path, key, text, why):
    """Range-checked when the scenario is read: the key and its line are
    named, so a class of 0 pupils is not mistaken for an infeasible scenario."""
    p = _write(tmp_path, "s.yaml", "name: s\ndata: {gpkg: x.gpkg}\n" + text)
    (issue,) = _issues(p)
    assert issue.key == key and issue.line == text.count("\n") + 2 and why in issue.message


def test_tuning_keys_are_checked_like_the_rest(tmp_path):
    p = _write(tmp_path, "s.yaml", "name: s\ndata: {gpkg: x.gpkg}\nsolver:\n  tuning:\n    repair: {partner: 4}\n")
    (issue,) = _issues(p)
    assert issue.key == "solver.tuning.repair.partner" and issue.line == 5
    assert "did you mean 'partners'?" in issue.message
    ok = _write(tmp_path, "ok.yaml", "name: s\ndata: {gpkg: x.gpkg}\nsolver:\n  tuning:\n    repair: {partners: 4}\n")
    tuned = load_scenario(ok).solver.tuning
    assert tuned.repair.partners == 4 and tuned.repair.outlets == type(tuned.repair)().outlets  # the rest default


@pytest.mark.parametrize(
    ("covers", "counted"),
    [
        ("all", {"teaching", "living", "sports", "new_build", "land", "equipment"}),
        ("construction", {"teaching", "living", "sports", "new_build", "land"}),
        ("floor_area", {"teaching", "living", "sports"}),
    ],
)
def test_the_budget_counts_the_categories_it_covers(covers, counted):
    cost = {"teaching": 1.0, "living": 2.0, "sports": 4.0, "new_build": 8.0, "land": 16.0, "equipment": 32.0}
    budget = BudgetConfig(total_10k_yuan=100.0, covers=covers)
    assert budget.budgeted({**cost, "total": sum(cost.values())}) == sum(cost[k] for k in counted)
