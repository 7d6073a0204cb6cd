"""``planner alternatives`` on a Dask LocalCluster of two worker processes:
the best plan and its alternatives, each a run folder the independent
checker accepts, distinct where asked and within the slack, compared on one
page (checked in Chromium) and in compare/."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from tests.checker import check_run
from tests.factory import OFF, deep_merge, make_case, school, site, village
from tests.outputs.test_report import _browser

ROOT = Path(__file__).resolve().parents[2]
SLACK = 0.6


def _county(folder: Path) -> Path:
    """Two primaries at the ends, two candidate sites among the villages; two primaries after the plan."""
    vs = [village(f"V{i}", x, 0, g1_3=n) for i, (x, n) in enumerate([(0, 100), (3, 90), (6, 80), (9, 70)])]
    ss = [school("S0", -1, 0, "primary"), school("S1", 10, 0, "primary")]
    cs = [site("N0", 0.5, 0, "primary"), site("N1", 8.5, 0, "primary")]
    scen = deep_merge(
        OFF,
        {
            "targets": {"primary": 2},
            "policy": {"moves": {"primary": ["primary", "closed"]}},
            "solver": {"threads": 1, "mip_gap": 0.0, "time_limit_s": 60},
        },
    )
    return make_case(folder, vs, ss, cs, scen)


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alternatives")
    args = ["alternatives", str(_county(tmp / "county")), "--out", str(tmp / "out"), "--slack", str(SLACK)]
    args += ["--count", "2", "--direction", "differ", "--direction", "fewer-new", "--workers", "2"]
    res = CliRunner().invoke(app, [*args, "--outputs", "report"])
    return tmp / "out", res


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def _open(folder: Path) -> frozenset[str]:
    with open(folder / "schools.csv", encoding="utf-8") as f:
        return frozenset(r["school_id"] for r in csv.DictReader(f) if r["type_after"] != "closed")


def test_every_run_is_a_plan_the_checker_accepts_within_the_slack(found):
    out, res = found
    assert res.exit_code == 0, res.output
    names = ["best", "differ-1", "differ-2", "fewer-new-1", "fewer-new-2"]
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(names)
    best = _summary(out / "runs" / "best")["objective"]
    for name in names:
        folder = out / "runs" / name
        assert check_run(folder) == [], name
        assert _summary(folder)["objective"] <= best * (1 + SLACK) * (1 + 1e-9), name


def test_the_differ_chain_gives_distinct_layouts(found):
    out, _ = found
    layouts = [_open(out / "runs" / n) for n in ("best", "differ-1", "differ-2")]
    assert len(set(layouts)) == 3
    alt = _summary(out / "runs" / "differ-2")["alternative"]
    assert alt["sites_changed"]["differ-1"] == len(layouts[2] ^ layouts[1])  # two sites per swap of one layout
    assert set(alt["sites_changed"]) == {"best", "differ-1"}


def test_fewer_new_spends_its_slack_in_steps(found):
    out, _ = found
    new = [sum(s.startswith("N") for s in _open(out / "runs" / n)) for n in ("best", "fewer-new-1", "fewer-new-2")]
    assert new == sorted(new, reverse=True) and new[0] > new[-1]
    slacks = [_summary(out / "runs" / n)["alternative"]["slack"] for n in ("fewer-new-1", "fewer-new-2")]
    assert slacks == [SLACK / 2, SLACK]


def test_the_page_and_the_comparison_show_them_all(found, tmp_path):
    out, _ = found
    with open(out / "alternatives.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["best", "differ-1", "differ-2", "fewer-new-1", "fewer-new-2"]
    assert all(float(r["over_best"]) <= SLACK + 1e-9 for r in rows[1:])
    page = (out / "compare" / "compare.html").read_text(encoding="utf-8")
    assert all(n in page for n in ("differ-1", "fewer-new-2"))
    driver = _browser(tmp_path / "chrome")
    try:
        driver.get((out / "alternatives.html").as_uri())
        img = driver.find_element("css selector", "img")
        assert driver.execute_script("return arguments[0].naturalWidth", img) > 300
        assert len(driver.find_elements("css selector", "tbody tr")) == 5
        assert "与其他方案最不同" in driver.find_element("css selector", "table").text
    finally:
        driver.quit()


def test_a_phased_scenario_is_refused_by_its_key():
    phased = ROOT / "scenarios" / "fangcheng-2030-phased.yaml"
    res = CliRunner().invoke(app, ["alternatives", str(phased), "--out", "x"])
    assert res.exit_code == 2 and "phases" in res.output and "fangcheng-2030-phased.yaml" in res.output
