"""Every knob of the solve strategy, in one frozen, documented object.

A scenario may override any of them under ``solver.tuning`` (same names,
validated like the rest of the scenario: an unknown key is an error). Each
field says its unit and what it trades. Shares are of the time the enclosing
stage has left when it starts (the run's one clock: :mod:`planner.solve.clock`).
The figures behind the defaults are in ``benchmarks/README.md``; the groups
of what follows the solve (diagnosis, balance, alternatives, school groups)
are defined in :mod:`planner.config.assess_tuning`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from planner.config.assess_tuning import AlternativesTuning, BalanceTuning, DiagnosisTuning, GroupsTuning
from planner.config.types import TuningGroup as _Group


class BackendTuning(_Group):
    """How each solver call is run and watched."""

    watchdog_grace: float = Field(
        1.05,
        ge=1.0,
        description=(
            "a solve is cancelled at this multiple of its time limit (plus watchdog_extra_s); HiGHS can overrun its "
            "own limit at the root of a big MIP. Lower: runs end closer to their limit; too low cuts a solve that "
            "was about to return its plan"
        ),
    )
    watchdog_extra_s: float = Field(2.0, ge=0.0, description="seconds added to the watchdog's deadline")
    poll_s: float = Field(
        0.1, gt=0.0, description="seconds between looks at a running solve (Ctrl-C, watchdog); lower reacts faster"
    )
    mip_abs_gap: float = Field(1e-6, ge=0.0, description="absolute MIP gap (objective units) at which HiGHS stops")
    isolate_min_columns: int = Field(
        20_000,
        ge=0,
        description=(
            "a MIP of at least this many columns is solved in a child process that the watchdog can end (HiGHS "
            "cannot be cancelled inside some steps of a big MIP's root); lower isolates more solves, each a "
            "little slower to start; 0 isolates every MIP"
        ),
    )
    plan_row_tol: float = Field(
        1e-6, ge=0.0, description="largest row violation of a plan not from HiGHS's own answer (a start, a plan sent)"
    )
    kill_after_s: float = Field(
        5.0,
        gt=0.0,
        description=(
            "seconds an isolated solve is given to stop after the watchdog cancels it before its process is ended "
            "(its best plan so far is kept); lower ends overruns sooner, too low loses HiGHS's own last answer"
        ),
    )


class StagedTuning(_Group):
    """Relax, fix, polish (:mod:`planner.solve.staged`)."""

    relax_share: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description=(
            "stage 1 (split catchments, the bound) gets this share of the staged solve's time; more gives a "
            "tighter bound and a better layout, less leaves more for making catchments whole"
        ),
    )
    start_share: float = Field(
        0.4,
        gt=0.0,
        le=1.0,
        description=("stage 1's warm start (LP, rounded layout, its solve) gets this share of stage 1"),
    )
    start_lp_share: float = Field(
        0.75,
        gt=0.0,
        le=1.0,
        description=(
            "the warm start's LP gets up to this share of the warm start (it stops when solved); an LP not solved "
            "in it leaves the current layout to round"
        ),
    )
    fix_share: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description=(
            "each fixed-layout solve of stage 2 (and the making whole of investments) gets this share of what is left"
        ),
    )
    first_fix_gap: float = Field(
        0.02,
        ge=0.0,
        description=(
            "stage 2's first solve stops within this gap: a start for the repair, not the answer; tighter spends "
            "time proving what the repair improves anyway"
        ),
    )
    repair_share: float = Field(
        0.85,
        gt=0.0,
        le=1.0,
        description=(
            "the neighbourhood repair's share of stage 2's time left; it stops by itself once no hot site improves"
        ),
    )
    investments_share: float = Field(
        0.2,
        ge=0.0,
        lt=1.0,
        description=(
            "share of the time after stage 1 that stage 2 leaves for making investments whole (stage 2b), at most "
            "min_polish_s; 2b gets at least that, past the run's limit if need be, so a plan found is never lost"
        ),
    )
    min_polish_s: float = Field(
        5.0,
        ge=0.0,
        description=(
            "seconds below which the full-model polish (stage 3) is not started: passing the whole model costs "
            "seconds before HiGHS's clock starts"
        ),
    )
    proof_gap: float = Field(
        0.01,
        ge=0.0,
        description=(
            "a polish from a plan this close to the bound is mostly a proof: HiGHS's primal heuristics go off"
        ),
    )
    whole_tol: float = Field(1e-6, ge=0.0, description="an assignment share this close to 1 is a whole catchment")
    direct_max_columns: int = Field(
        12_000,
        ge=0,
        description=(
            "a model of at most this many columns is one direct solve, not staged: HiGHS proves it sooner than the "
            "stages' six passes do; 0 stages every model with whole catchments"
        ),
    )


class RoundingTuning(_Group):
    """Rounding an LP's layout to one type per site (:mod:`planner.solve.rounding`)."""

    load_unit: float = Field(
        25.0,
        gt=0.0,
        description=(
            "pupils the LP sent to a site per unit of weight for keeping it open as a type that fits them; lower "
            "keeps busy sites open more firmly against the LP's values"
        ),
    )
    overload_share: float = Field(
        0.25,
        ge=0.0,
        description=("how far above a type's pupil cap the LP's pupils at a site may lie for the type still to fit it"),
    )


class RepairTuning(_Group):
    """The neighbourhood repair of hot sites (:mod:`planner.solve.repair`)."""

    partners: int = Field(
        3,
        ge=0,
        description=(
            "partner sites freed with each hot site in a first pass (doubled after a pass that improves nothing); "
            "small and quick beats large and slow"
        ),
    )
    max_partners: int = Field(48, ge=0, description="stop after a pass with this many partners brings nothing")
    outlets: int = Field(3, ge=0, description="open sites with room (sports surplus, free land) freed per hot site")
    site_seconds: float = Field(2.0, gt=0.0, description="time limit of each site's MIP")
    site_gap: float = Field(
        5e-4,
        ge=0.0,
        description=("each site's MIP stops within this gap (of the whole objective), whatever the target gap"),
    )
    scan: int = Field(8, ge=1, description="hot sites looked at, in price order, for neighbourhoods that share no site")
    short_tol: float = Field(1e-6, ge=0.0, description="a shortfall above this makes its site hot")


class RegionsTuning(_Group):
    """The regional decomposition of large counties (:mod:`planner.solve.regional`)."""

    decompose_above_pairs: int | None = Field(
        40_000,
        ge=1,
        description=(
            "above this many (village, band, site) pairs the county is solved region by region; null: always one model"
        ),
    )
    region_pairs: int = Field(10_000, ge=1, description="about this many pairs per region when decomposed")
    county_lp_share: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description=(
            "the county's LP relaxation (the bound and the layout to round) may take up to this share of the time"
        ),
    )
    county_lp_method: Literal["ipm", "simplex", "choose"] = Field(
        "ipm",
        description=("HiGHS's method for the county LP; interior point without crossover is the fastest at scale"),
    )
    county_lp_crossover: bool = Field(
        False, description="crossover after the county LP's interior point (a vertex; slower)"
    )
    first_pass_share: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description=(
            "each region's first solve gets this share of its part of the time; the rest goes to the regions still "
            "above the target gap"
        ),
    )
    first_pass_gap: float = Field(
        0.01,
        ge=0.0,
        description=("a region's first solve stops within this gap of its own bound (or the target gap, if looser)"),
    )
    second_pass_min_s: float = Field(
        15.0,
        ge=0.0,
        description=(
            "a region's second pass is skipped with fewer seconds for it (and a share below it raised to it while "
            "that much is left)"
        ),
    )
    county_share: float = Field(
        0.15,
        ge=0.0,
        lt=1.0,
        description=(
            "of the time after the county LP, what the county-level repair and polish keep back from the regions"
        ),
    )
    county_min_s: float = Field(
        30.0,
        ge=0.0,
        description=(
            "the county-level repair and polish are skipped with less time left (passing the county's whole model "
            "costs seconds)"
        ),
    )
    split_over: float = Field(
        1000.0,
        ge=0.0,
        description=(
            "in the village-band split, the weight of a pupil over what the LP sent to a region (against 1 for a "
            "pupil placed where the LP did not send it)"
        ),
    )
    split_km: float = Field(
        1e-3, ge=0.0, description="in the split, the weight of a pupil-km to the nearest site (breaks ties)"
    )
    split_seconds: float = Field(5.0, gt=0.0, description="time limit of the split MIP")
    split_gap: float = Field(1e-4, ge=0.0, description="relative gap at which the split MIP stops")
    row_tol: float = Field(
        1e-5, ge=0.0, description="relative tolerance of a joined plan's rows against the county's model"
    )


class WarmStartTuning(_Group):
    """The greedy and interchange start of the p-median core (:mod:`planner.solve.warmstart`)."""

    max_swaps: int = Field(10_000, ge=0, description="interchange swaps at most; each costs one clients x sites pass")


class TravelTuning(_Group):
    """Shortest paths on the roads layer (:mod:`planner.data.travel`)."""

    chunk_cells: int = Field(
        4_000_000,
        ge=1,
        description=("sources x road nodes per Dijkstra call: bounds the dense distance block (8 bytes a cell)"),
    )


class PhasedTuning(_Group):
    """The phases decided in turn, then the whole phased model (:mod:`planner.solve.phased`)."""

    start_share: float = Field(
        0.7,
        gt=0.0,
        lt=1.0,
        description=(
            "deciding the phases in turn (the plan the whole phased model starts from) gets this share of the run; "
            "less leaves more for HiGHS to move changes between phases, too little leaves it no plan to start from"
        ),
    )
    look_ahead_share: float = Field(
        0.6,
        gt=0.0,
        lt=1.0,
        description=(
            "of that, every phase but the last (each looking ahead, split evenly) gets this share, the last phase "
            "the rest; the first look-ahead also gives the bound the gap is reported against"
        ),
    )
    repair_share: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description=(
            "of the time left after the phases in turn, the hot-site repair of their plan (every phase's catchments "
            "and areas around a site short of a standard, the layout held) gets this share, the whole model the rest"
        ),
    )


class SolveTuning(_Group):
    """Every knob of the solve strategy; ``solver.tuning`` in a scenario."""

    backend: BackendTuning = BackendTuning()
    staged: StagedTuning = StagedTuning()
    rounding: RoundingTuning = RoundingTuning()
    repair: RepairTuning = RepairTuning()
    regions: RegionsTuning = RegionsTuning()
    warm_start: WarmStartTuning = WarmStartTuning()
    diagnosis: DiagnosisTuning = DiagnosisTuning()
    balance: BalanceTuning = BalanceTuning()
    travel: TravelTuning = TravelTuning()
    phased: PhasedTuning = PhasedTuning()
    alternatives: AlternativesTuning = AlternativesTuning()
    groups: GroupsTuning = GroupsTuning()


def describe(tuning: SolveTuning) -> list[str]:
    """One line per knob: ``group.name = value  (description)``, for the README and ``--verbose``."""
    out = []
    for group, model in tuning:
        for name, field in type(model).model_fields.items():
            out.append(f"{group}.{name} = {getattr(model, name)!r}  ({field.description})")
    return out
