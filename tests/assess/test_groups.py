"""School groups and teacher rotation (集团化办学, 交流轮岗; planner/model/groups.py,
planner/assess/groups.py): the group model against brute force over every
way of grouping small random counties; the rotation rules by hand; on a tiny
county end to end, groups.csv, the sheet 集团化办学 and the checker, which
catches a member sent beyond reach and an exchange below the rule."""

from __future__ import annotations

import itertools
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planner.config.programme import GroupsConfig
from planner.config.scenario import SolverConfig
from planner.model.groups import GroupCandidates, build_group_model, tier_weights
from planner.outputs.folder import write_core, write_run_folder
from planner.outputs.workbook import write_workbook
from planner.pipeline import prepare, solve_problem
from planner.solve.clock import Clock
from planner.solve.groups import solve_groups
from tests.checker import check_run
from tests.factory import OFF, deep_merge, make_case, school, village

SOLVER = SolverConfig(threads=1, time_limit_s=60, mip_gap=0.0)


def _solve(c: GroupCandidates, cfg: GroupsConfig):
    gm = build_group_model(c, cfg)
    sol = solve_groups(gm, SOLVER, Clock(60))
    x = sol.values
    join = {k for k, col in gm.join.items() if x[col] > 0.5}
    exchange = {k: round(x[col]) for k, col in gm.exchange.items() if k in join}
    backbone = {k: round(x[col]) for k, col in gm.backbone.items() if k in join}
    return sol, join, exchange, backbone


def _brute(c: GroupCandidates, cfg: GroupsConfig) -> tuple[int, float]:
    """(members alone, pupil-km + balance x largest + teachers exchanged and backbone sent) of the best
    grouping, with no county need: each member exchanges its least, backbone the least share of it."""
    m = c.members
    reach = {i: [None, *c.links.loc[c.links["member"] == i, "core"]] for i in m.index}
    km = c.links.set_index(["member", "core"])["distance_km"]
    best: tuple[int, float] | None = None
    for combo in itertools.product(*reach.values()):
        use: dict[str, list[str]] = {}
        for i, k in zip(m.index, combo):
            if k is not None:
                use.setdefault(k, []).append(i)
        ok = all(
            len(ms) <= cfg.max_members
            and m.loc[ms, "send"].sum() <= c.cores.at[k, "eligible"]
            and sum(math.ceil(2 * cfg.backbone_share * m.at[i, "send"] - 1e-9) for i in ms) <= c.cores.at[k, "backbone"]
            for k, ms in use.items()
        )
        if not ok:
            continue
        largest = max((c.cores.at[k, "pupils"] + m.loc[ms, "pupils"].sum() for k, ms in use.items()), default=0.0)
        cost = sum(m.at[i, "pupils"] * km[(i, k)] for k, ms in use.items() for i in ms)
        cost += cfg.balance_weight * largest + sum(m.loc[ms, "send"].sum() for ms in use.values())
        cost += sum(math.ceil(2 * cfg.backbone_share * m.at[i, "send"] - 1e-9) for ms in use.values() for i in ms)
        key = (sum(k is None for k in combo), float(cost))
        best = key if best is None or key < best else best
    assert best is not None
    return best


@st.composite
def counties(draw):
    n_m, n_c = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    pt = st.tuples(st.integers(0, 20), st.integers(0, 20))
    mxy, cxy = [draw(pt) for _ in range(n_m)], [draw(pt) for _ in range(n_c)]
    eligible = [draw(st.integers(0, 20)) for _ in range(n_m)]
    members = pd.DataFrame(
        {
            "pupils": [float(draw(st.integers(10, 200))) for _ in range(n_m)],
            "eligible": [float(e) for e in eligible],
            "send": [float(math.ceil(0.1 * e - 1e-9)) for e in eligible],
        },
        index=[f"M{i}" for i in range(n_m)],
    )
    cores = pd.DataFrame(
        {
            "pupils": [float(draw(st.integers(100, 900))) for _ in range(n_c)],
            "eligible": [float(draw(st.integers(0, 6))) for _ in range(n_c)],
            "backbone": [float(draw(st.integers(0, 3))) for _ in range(n_c)],
        },
        index=[f"C{j}" for j in range(n_c)],
    )
    limit = draw(st.sampled_from([5.0, 10.0, 30.0]))
    rows = [
        (f"M{i}", f"C{j}", float(np.hypot(a[0] - b[0], a[1] - b[1])))
        for i, a in enumerate(mxy)
        for j, b in enumerate(cxy)
        if np.hypot(a[0] - b[0], a[1] - b[1]) <= limit
    ]
    links = pd.DataFrame(rows, columns=["member", "core", "distance_km"])
    cfg = GroupsConfig(max_km=limit, max_members=draw(st.integers(1, 3)), balance_weight=draw(st.sampled_from([0, 1])))
    everyone = float(members["eligible"].sum() + cores["eligible"].sum())
    return GroupCandidates(members, cores, links, 0, everyone), cfg


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counties())
def test_the_group_model_finds_the_best_grouping(case):
    c, cfg = case
    assume(len(c.links) > 0)
    sol, join, exchange, backbone = _solve(c, cfg)
    alone, cost = _brute(c, cfg)
    _, per_alone = tier_weights(c, cfg)
    assert len(c.members) - len(join) == alone
    assert sol.objective - per_alone * alone == pytest.approx(cost, abs=1e-6)
    for (m, _k), x in exchange.items():
        assert x == c.members.at[m, "send"]
        assert backbone[(m, _k)] == math.ceil(2 * cfg.backbone_share * x - 1e-9)  # 20 % of those moving both ways


def _pair(core_backbone: float, share: float):
    members = pd.DataFrame({"pupils": [50.0], "eligible": [8.0], "send": [float(math.ceil(share * 8 - 1e-9))]}, ["M"])
    cores = pd.DataFrame({"pupils": [500.0], "eligible": [10.0], "backbone": [core_backbone]}, ["K"])
    links = pd.DataFrame({"member": ["M"], "core": ["K"], "distance_km": [4.0]})
    need = math.ceil(share * 18 - 1e-9)
    return GroupCandidates(members, cores, links, need, 18.0), GroupsConfig(rotation_share=share, max_km=10)


def test_the_county_need_raises_an_exchange_and_a_core_without_backbone_leads_none():
    """K (10 eligible, 3 backbone) and M (8 eligible) at 30 %: M exchanges at least ceil(2.4) = 3; the county
    needs ceil(0.3 x 18) = 6 both ways, so 3 each way; the core sends ceil(0.2 x 6) = 2 backbone teachers.
    With no backbone teacher at K, M stays alone and the county lacks all 6."""
    c, cfg = _pair(3.0, 0.3)
    sol, join, exchange, backbone = _solve(c, cfg)
    assert join == {("M", "K")} and exchange == {("M", "K"): 3} and backbone == {("M", "K"): 2}
    c, cfg = _pair(0.0, 0.3)
    sol, join, _, _ = _solve(c, cfg)
    per_short, per_alone = tier_weights(c, cfg)
    assert join == set() and sol.objective == pytest.approx(per_alone + 6 * per_short)
    c, cfg = _pair(3.0, 0.5)  # the least (4) misses the need (ceil(9) = 9 both ways needs 5): 5, 2 backbone
    _, _, exchange, backbone = _solve(c, cfg)
    assert exchange == {("M", "K"): 5} and backbone == {("M", "K"): 2}
    c, cfg = _pair(1.0, 0.3)  # 3 exchanged need 2 backbone: K's one leaves M alone
    _, join, _, _ = _solve(c, cfg)
    assert join == set()


def _county(tmp_path, groups: dict):
    """A town primary C (10 teachers, 3 backbone) at 0; rural primaries M1 at 3 km and M2 at 12 km, a rural
    teaching point T at 4 km; a seat primary K at 20 km (6 teachers, 1 backbone)."""

    def v(vid, x, n, kind):
        return {**village(vid, x, 0, g1_3=n), "kind": kind}

    vs = [v("VC", 0, 200, "town"), v("V1", 3, 60, "village"), v("V2", 12, 40, "village")]
    vs += [v("VT", 4, 20, "village"), v("VK", 20, 150, "seat")]
    ss = [
        school("C", 0, 0, teachers=10, teachers_backbone=3),
        school("M1", 3, 0, teachers=4),
        school("M2", 12, 0, teachers=3),
        school("T", 4, 0, "teaching_point", teachers=2),
        school("K", 20, 0, teachers=6, teachers_backbone=1),
    ]
    scen = deep_merge(
        OFF,
        {
            "groups": {"members": "rural", **groups},
            "indicators": {"enabled": False},
            "policy": {"moves": {"primary": ["primary"], "teaching_point": ["teaching_point"]}},
            "solver": {"threads": 1, "mip_gap": 0.0},
        },
    )
    return solve_problem(prepare(make_case(tmp_path, vs, ss, scenario=scen)))


def test_a_county_groups_its_rural_schools_under_the_town_and_seat(tmp_path):
    """Cores C and K; M1, T and M2 rural. Two members to a core: C takes the two nearest (M1 at 3, T at 4);
    M2 (12 km from C, 8 from K) goes to K; every member exchanges one teacher (ceil 10 %), the county's
    25 eligible teachers need 3 both ways: met by 3 each way."""
    run = _county(tmp_path, {"max_members": 2, "max_km": 15})
    g = run.plan.groups.set_index("member_id")
    assert g["core_id"].to_dict() == {"M1": "C", "T": "C", "M2": "K"}
    assert g["teachers_exchanged"].sum() == 3 and (g["backbone_sent"] == 1).all()
    s = run.summary["groups"]
    assert s["groups"] == 2 and s["members"] == 3 and s["alone"] == [] and s["rotating_needed_per_year"] == 3
    out = write_run_folder(tmp_path / "run", run.problem, run.plan, run.summary, writers=(write_core,))
    assert check_run(out) == []
    write_workbook(run.problem, run.plan, run.summary, out)
    ws = openpyxl.load_workbook(out / "plan.xlsx")["集团化办学"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=4)]
    assert {(r[1], r[2]) for r in rows} == {("C学校", "M1学校"), ("C学校", "T学校"), ("K学校", "M2学校")}
    csv = pd.read_csv(out / "groups.csv", keep_default_na=False)
    bad = csv.copy()
    bad.loc[bad["member_id"] == "M1", ["group", "core_id", "distance_km"]] = ["G02", "K", 17.0]  # 17 km > 15
    bad.to_csv(out / "groups.csv", index=False)
    assert any("M1 to K" in v for v in check_run(out))
    bad = csv.copy()
    bad["teachers_exchanged"] = 0
    bad.to_csv(out / "groups.csv", index=False)
    assert any(v.startswith("rotation") for v in check_run(out))


def test_a_member_beyond_every_core_stays_alone(tmp_path):
    run = _county(tmp_path, {"max_members": 2, "max_km": 6})
    g = run.plan.groups.set_index("member_id")
    assert g.loc["M2", "core_id"] == "" and run.summary["groups"]["alone"] == ["M2"]
    out = write_run_folder(tmp_path / "run", run.problem, run.plan, run.summary, writers=(write_core,))
    assert check_run(out) == []
