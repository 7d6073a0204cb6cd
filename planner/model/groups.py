"""The school-group model (集团化办学, ``groups:``): who leads and who joins,
built after the layout on the plan's schools (:mod:`planner.assess.groups`
says who may be a member or a core and what each exchanges).

Columns: ``lead[c]`` (core ``c`` leads a group), ``join[m,c]`` (member ``m``
joins it), ``alone[m]`` (no group can take ``m``), ``exchange[m,c]`` and
``backbone[m,c]`` (integer: teachers ``c`` and ``m`` exchange a year, one for
one, and the backbone teachers among those ``c`` sends), ``rotation_short``
(teachers the county's rotation lacks) and ``largest`` (pupils of the largest
group). Rows: ``group_member[m]`` (each member joins one group or is alone),
``group_core[m,c]`` (only a leading core's), ``group_size[c]`` (at most
``max_members``), ``exchange_min[m,c]`` / ``exchange_max[m,c]`` (at least the
member's ``send``, at most its ``eligible``, nothing unless it joins),
``backbone_min[m,c]`` (at least ``backbone_share`` of the teachers moving
either way, all sent by the core),
``group_rotation[c]`` / ``group_backbone[c]`` (a core sends within its
eligible and backbone teachers), ``rotation_county`` (both ways, at least
``need`` teachers, less ``rotation_short``), ``group_balance[c]``.

Objective, in tiers each outweighing all below: members alone; teachers the
county's rotation lacks; then the pupil-km of members to their cores,
``balance_weight`` x ``largest`` and one per teacher exchanged and per
backbone teacher sent (no more move than the rules ask).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pulp

from planner.config.programme import GroupsConfig
from planner.model.core import Builder, Model, expr


@dataclass(frozen=True)
class GroupCandidates:
    """Who may join and lead, and the links between them."""

    members: pd.DataFrame
    """Index ``school_id``: ``pupils``, ``eligible`` (teachers it may exchange), ``send`` (the fewest it
    exchanges with its core a year)."""
    cores: pd.DataFrame
    """Index ``school_id``: ``pupils``, ``eligible`` (teachers it may send), ``backbone`` (backbone it may send)."""
    links: pd.DataFrame
    """``member``, ``core``, ``distance_km``: a member may join a core within the limit teaching its levels."""
    need: int
    """Teachers the county rotates a year at least (both ways): ``rotation_share`` of its eligible, rounded up."""
    eligible_teachers: float
    """The county's eligible teachers (open schools), whose share ``need`` is."""


def tier_weights(c: GroupCandidates, cfg: GroupsConfig) -> tuple[float, float]:
    """Per teacher the rotation lacks, and per member alone: each more than everything below it can change."""
    far = float((c.members["pupils"] * cfg.max_km).sum())
    everyone = float(c.members["pupils"].sum() + c.cores["pupils"].sum())
    last = far + cfg.balance_weight * everyone + 2.0 * float(c.members["eligible"].sum()) + 1.0
    return last, last * (c.need + 2)  # per teacher short: all below; per member alone: all below and the need


def add_groups(b: Builder, c: GroupCandidates, cfg: GroupsConfig) -> tuple[list[dict], pulp.LpVariable]:
    """The columns and rows of the module docstring; returns the ``join``, ``alone``, ``exchange`` and
    ``backbone`` columns by key, and ``rotation_short``."""
    lead = {k: b.var("lead", (k,), upper=1.0, integer=True) for k in c.cores.index}
    largest, short = b.var("largest", ()), b.var("rotation_short", ())
    mem = c.members
    join, ex, bb = {}, {}, {}
    for m, k, _ in c.links.itertuples(index=False):
        j = join[(m, k)] = b.var("join", (m, k), upper=1.0, integer=True)
        e = ex[(m, k)] = b.var("exchange", (m, k), integer=True)
        bb[(m, k)] = b.var("backbone", (m, k), integer=True)
        b.add("group_core", (m, k), j <= lead[k])
        b.add("exchange_min", (m, k), e >= float(mem.at[m, "send"]) * j)
        b.add("exchange_max", (m, k), e <= float(mem.at[m, "eligible"]) * j)
        b.add("backbone_min", (m, k), bb[(m, k)] >= 2 * cfg.backbone_share * e)  # of the teachers moving both ways
    alone = {m: b.var("alone", (m,), upper=1.0) for m in mem.index}
    by_member = c.links.groupby("member", sort=True)["core"].apply(list).to_dict()
    for m in mem.index:
        b.add("group_member", (m,), pulp.lpSum(join[(m, k)] for k in by_member.get(m, [])) + alone[m] == 1)
    for k, ms in c.links.groupby("core", sort=True)["member"].apply(list).items():
        js = [join[(m, k)] for m in ms]
        b.add("group_size", (k,), expr(js) <= cfg.max_members * lead[k])
        b.add("group_rotation", (k,), pulp.lpSum(ex[(m, k)] for m in ms) <= float(c.cores.at[k, "eligible"]))
        b.add("group_backbone", (k,), pulp.lpSum(bb[(m, k)] for m in ms) <= float(c.cores.at[k, "backbone"]))
        pupils = expr(js, mem.loc[ms, "pupils"].to_numpy(float)) + float(c.cores.at[k, "pupils"]) * lead[k]
        b.add("group_balance", (k,), pupils - largest <= 0)
    b.add("rotation_county", (), 2 * pulp.lpSum(ex.values()) + short >= float(c.need))
    km = c.links.set_index(["member", "core"])["distance_km"]
    per_short, per_alone = tier_weights(c, cfg)
    b.objective = (
        pulp.lpSum(float(mem.at[m, "pupils"]) * float(km[(m, k)]) * v for (m, k), v in join.items())
        + cfg.balance_weight * largest
        + pulp.lpSum(ex.values())
        + pulp.lpSum(bb.values())
        + per_short * short
        + per_alone * pulp.lpSum(alone.values())
    )
    return [join, alone, ex, bb], short


@dataclass(frozen=True)
class GroupModel:
    """The frozen group model and where its ``join`` and ``alone`` columns are."""

    model: Model
    join: dict[tuple[str, str], int]
    alone: dict[str, int]
    exchange: dict[tuple[str, str], int]
    backbone: dict[tuple[str, str], int]
    short: int
    """The ``rotation_short`` column."""
    need: int
    """The county's rotation need (:attr:`GroupCandidates.need`)."""


def build_group_model(c: GroupCandidates, cfg: GroupsConfig) -> GroupModel:
    """The group model of the module docstring."""
    b = Builder("groups")
    keyed, short = add_groups(b, c, cfg)
    m = b.finish()
    join, alone, ex, bb = ({k: v.col for k, v in d.items()} for d in keyed)
    return GroupModel(m, join, alone, ex, bb, short.col, c.need)
