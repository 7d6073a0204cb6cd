"""Nearest-zone enrolment (planner/model/zones.py): on hand-solved counties,
a town village kept at its nearest school when the share asks it, sent on
when the share leaves room; the shares in summary.json and the checker's."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from PIL import Image

from planner.assess.diagnose import format_diagnosis
from planner.errors import InfeasibleError, InputError
from planner.outputs import cartography, maps
from planner.outputs.folder import write_core, write_run_folder
from planner.pipeline import prepare, solve_problem
from tests.checker import check_run
from tests.factory import OFF, deep_merge, make_case, school, village


def _town(vid, x, g1_3=0, g7_9=0, kind="town"):
    return {**village(vid, x, 0, g1_3=g1_3, g7_9=g7_9), "kind": kind}


def _run(tmp_path, villages, schools, share: dict, caps: dict):
    scen = deep_merge(
        OFF,
        {
            "policy": {"nearest_zone": {"share": share}, "moves": {"primary": ["primary"], "junior": ["junior"]}},
            "caps": {"school_pupils": caps},
            "solver": {"threads": 1, "mip_gap": 0.0},
        },
    )
    return solve_problem(prepare(make_case(tmp_path, villages, schools, scenario=scen)))


def test_a_town_primary_pupil_goes_to_the_nearest_school(tmp_path):
    """T (30 town pupils) at 0, R (90 rural) at 1 beside S1 (room for 100), S2 at 4: alone, T goes
    to S2 (120 pupil-km); zoned, T stays at S1 and R goes to S2 (30 + 270)."""
    vs = [_town("T", 0, g1_3=30), _town("R", 1, g1_3=90, kind="village")]
    ss = [school("S1", 1, 0, "primary"), school("S2", 4, 0, "primary")]
    free = _run(tmp_path / "a", vs, ss, {"primary": 0.0, "junior": 0.0}, {"primary": 100})
    zoned = _run(tmp_path / "b", vs, ss, {"primary": 1.0, "junior": 0.95}, {"primary": 100})
    assert free.summary["objective"] == pytest.approx(120.0)
    assert zoned.summary["objective"] == pytest.approx(300.0)
    assert zoned.summary["nearest_zone"]["primary"] == {
        "pupils": 30.0,
        "at_nearest": 30.0,
        "share": 1.0,
        "required": 1.0,
    }
    assert free.summary["nearest_zone"]["primary"]["share"] == 0.0
    out = write_run_folder(tmp_path / "run", zoned.problem, zoned.plan, zoned.summary, writers=(write_core,))
    assert check_run(out) == []
    a = pd.read_csv(out / "assignments.csv")
    moved = {"T": ("S2", 4.0), "R": ("S1", 0.0)}  # the plan without the zone, written over the zoned one
    a["school_id"] = [moved[v][0] for v in a["village_id"]]
    a["distance_km"] = [moved[v][1] for v in a["village_id"]]
    a.to_csv(out / "assignments.csv", index=False)
    assert any(v.startswith("nearest_zone: 0.0 of 30.0 primary pupils") for v in check_run(out))


@pytest.mark.parametrize(("share", "objective"), [(0.4, 190.0), (0.5, 340.0), (1.0, 340.0)])
def test_the_junior_share_leaves_room_for_the_pupils_it_allows(tmp_path, share, objective):
    """Town villages T1 (30) and T2 (40) at 0, R (90 rural) at 1 beside J1 (room for 125), J2 at 4. Alone:
    R and T1 at J1, T2 at J2 (30 + 160 = 190), 40 of 70 off their zone; 0.5 forbids that, and the next
    best sends R away (70 + 270)."""
    vs = [_town("T1", 0, g7_9=30), _town("T2", 0.0, g7_9=40), _town("R", 1, g7_9=90, kind="village")]
    ss = [school("J1", 1, 0, "junior"), school("J2", 4, 0, "junior")]
    run = _run(tmp_path, vs, ss, {"primary": 1.0, "junior": share}, {"junior": 125})
    assert run.summary["objective"] == pytest.approx(objective)
    got = run.summary["nearest_zone"]["junior"]
    assert got["pupils"] == 70.0 and got["share"] >= share
    out = write_run_folder(tmp_path / "run", run.problem, run.plan, run.summary, writers=(write_core,))
    assert check_run(out) == []


def test_a_zone_needs_the_kind_of_each_village(tmp_path):
    scen = deep_merge(OFF, {"policy": {"nearest_zone": {}}})
    path = make_case(tmp_path, [village("V", 0, 0, 10)], [school("S", 0, 0, "primary")], scenario=scen)
    with pytest.raises(InputError, match="kind") as e:
        prepare(path)
    assert "nearest_zone" in str(e.value)


def test_a_zone_no_school_can_hold_is_named_by_the_diagnosis(tmp_path):
    """T's 30 town pupils must go to S1, a primary that holds 20 and may not close: no plan, and the
    diagnosis says that sending T past S1 to the nine-year school S2 (the zone relaxed) is enough."""
    vs = [_town("T", 0, g1_3=30)]
    ss = [school("S1", 1, 0, "primary"), school("S2", 4, 0, "nine_year")]
    with pytest.raises(InfeasibleError) as e:
        _run(tmp_path, vs, ss, {"primary": 1.0, "junior": 0.95}, {"primary": 20})
    text = format_diagnosis(e.value.diagnosis)
    assert "Relaxing zones alone is enough" in text and "nearest zone: village T (g1_3)" in text


def test_the_catchment_map_rings_the_zone_and_outlines_its_schools(tmp_path):
    vs = [_town("T", 0, g1_3=30), _town("R", 1, g1_3=90, kind="village")]
    ss = [school("S1", 1, 0, "primary"), school("S2", 4, 0, "primary")]
    run = _run(tmp_path, vs, ss, {"primary": 1.0, "junior": 0.95}, {"primary": 100})
    with matplotlib.rc_context(cartography.style()):
        fig = dict(maps.figures(run.problem, run.plan, run.summary))["catchments_g1_3"]
        texts = {t.get_text() for t in fig.findobj(Text)}
        fig.savefig(tmp_path / "map.png", dpi=60)
    assert "就近划片范围（1所学校）" in texts and "就近入学的村（居）（1个）" in texts  # T's school S1 only
    with Image.open(tmp_path / "map.png") as im:
        px = np.asarray(im.convert("RGB")).astype(int)
    zone = np.array([int(maps.ZONE_COLOUR[i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(px - zone).max(axis=2) <= 12).sum() > 20
