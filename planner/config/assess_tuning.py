"""The knobs of what follows the layout's solve: the diagnosis of a scenario
with no plan, the balance rounds, the alternatives near the best plan and
the school groups. Part of :class:`~planner.config.tuning.SolveTuning`
(``solver.tuning`` in a scenario); the figures behind the defaults are in
``benchmarks/README.md``.
"""

from __future__ import annotations

from pydantic import Field

from planner.config.types import TuningGroup as _Group


class DiagnosisTuning(_Group):
    """The diagnosis of a scenario with no plan (:mod:`planner.assess.diagnose`)."""

    floor_share: float = Field(0.5, gt=0.0, le=1.0, description="of the diagnosis time, for the budget floor's LP")
    range_share: float = Field(0.5, gt=0.0, lt=1.0, description="of the time after the floor, for the budget range")
    range_first_share: float = Field(
        0.75, gt=0.0, lt=1.0, description="of the budget range's time, for the plan with no budget limit (then cost)"
    )
    range_cost_weight: float = Field(
        50.0,
        gt=0.0,
        description="that plan's weight per 10k yuan (pupil-km equivalents): high, near the cheapest plan, trips a "
        "tie-break; low, the scenario's own trade-off and a wider range",
    )
    shortfall_share: float = Field(
        0.85,
        gt=0.0,
        le=1.0,
        description=(
            "where standards are hard, share of the time left after the floor and the budget range for the plan "
            "with priced gaps (the answer that names the schools)"
        ),
    )
    elastic_gap: float = Field(1e-4, ge=0.0, description="relative gap of the elastic MIPs")
    distance_factor: float = Field(
        2.0, ge=1.0, description="trips up to this multiple of a band's limit (or the limit plus distance_extra_km)"
    )
    distance_extra_km: float = Field(5.0, ge=0.0, description="km added to a band's limit, if more than the factor")
    penalty_budget_pct: float = Field(1.0, gt=0.0, description="penalty per 1 % of a budget exceeded")
    penalty_target: float = Field(10.0, gt=0.0, description="penalty per school off a target")
    penalty_distance_pupil: float = Field(0.01, ge=0.0, description="penalty per pupil beyond a band's limit")
    penalty_distance_pct: float = Field(0.01, ge=0.0, description="penalty per pupil per 1 % of the limit exceeded")
    penalty_cap_pct: float = Field(
        10.0,
        gt=0.0,
        description=(
            "penalty per 1 % of a school's or class's cap exceeded; ten times the budget's, so the diagnosis names "
            "the budget, targets or trips first when they are enough"
        ),
    )
    penalty_zone_pupils: float = Field(
        1.0,
        gt=0.0,
        description="penalty per village-band sent past a nearer open school (and per 100 pupils off the zone share)",
    )
    penalty_classes_pct: float = Field(10.0, gt=0.0, description="penalty per 1 % of a site's max_classes exceeded")
    penalty_room_per_100_m2: float = Field(10.0, gt=0.0, description="penalty per 100 m² beyond the free site area")
    penalty_standard_pct: float = Field(
        10.0, gt=0.0, description="penalty per 1 % of the budget (or per 100 10k yuan) a standard's gap costs to close"
    )


class BalanceTuning(_Group):
    """The balance rounds (CV within its limit, :mod:`planner.assess.balance`)."""

    margin: float = Field(
        0.02,
        ge=0.0,
        lt=1.0,
        description=(
            "a raised floor aims at the CV limit x (1 - margin); more invests more per round, less risks another round"
        ),
    )
    min_round_s: float = Field(
        10.0,
        ge=0.0,
        description=(
            "a balance round is not started with fewer seconds left on the run's clock (the plan keeps the last "
            "round's, with a warning)"
        ),
    )


class AlternativesTuning(_Group):
    """Plans near the best (:mod:`planner.solve.alternatives`)."""

    direct_max_pairs: int = Field(
        3_000,
        ge=0,
        description=(
            "up to this many pairs the near-optimal model is solved whole (the most distinct plan, proved); "
            "above it by neighbourhoods of sites, which scales but proves nothing"
        ),
    )
    partners: int = Field(
        4, ge=0, description="sites freed with each seed site in a first pass (doubled after a pass finding nothing)"
    )
    max_partners: int = Field(32, ge=0, description="stop after a pass with this many partners finds nothing")
    site_seconds: float = Field(3.0, gt=0.0, description="time limit of each neighbourhood's MIP")
    cost_weight: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description=(
            "the cost at the cap weighs this much of one school decision in the objective: among plans as distinct, "
            "the cheaper; below 1, no saving outweighs a decision"
        ),
    )
    polish_share: float = Field(
        0.15,
        ge=0.0,
        lt=1.0,
        description="the layout found is fixed and its cost lowered in this share of the time (the rest searches)",
    )


class GroupsTuning(_Group):
    """The school groups' model, solved after the layout (:mod:`planner.assess.groups`)."""

    seconds: float = Field(
        10.0, gt=0.0, description="its time limit, even past the run's (a county's groups solve in well under a second)"
    )
