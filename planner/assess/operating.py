"""Annual running costs of a layout (``operating:``; seeds 000 and 004).

Per open school and year: public funds (公用经费) at the level's rate per
pupil, a village primary or teaching point under ``min_funded_pupils``
funded as that many (seed 000: ``floor``, a cost of keeping tiny schools);
teacher salaries by the staffing norms (``indicators.pupils_per_teacher``,
whole teachers per level at each school); boarding per boarder. The plan's
schools after against today's schools teaching the same pupils (each
village-band at its school today); today's boarders are not in the
inputs, so the two are compared on funds and salaries, and boarding is the
plan's alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.config.scenario import Scenario

LEVEL_BANDS = {"primary": ("g1_3", "g4_6"), "junior": ("g7_9",)}
KINDS = ("funds", "floor", "salaries", "boarding")
"""Running cost kinds (``floor``: the part of ``funds`` paid for pupils a small school lacks)."""


def running_costs(scen: Scenario, types: pd.Series, pupils: pd.DataFrame, boarders: pd.Series) -> pd.DataFrame:
    """Per school (the rows of ``types``; closed ones cost nothing), 10k yuan a
    year: ``funds`` (``floor`` included), ``floor``, ``salaries``, ``boarding``
    and ``total`` (funds, salaries and boarding). ``pupils``: columns
    ``pupils_<band>``, row for row with ``types``; ``boarders``: per school."""
    op = scen.operating
    assert op is not None
    level = {
        lv: pupils[[f"pupils_{b}" for b in bands]].sum(axis=1).to_numpy(float) for lv, bands in LEVEL_BANDS.items()
    }
    lacking = np.maximum(0.0, op.min_funded_pupils - level["primary"] - level["junior"])
    floor = np.where(types.isin(op.floored_types).to_numpy(), lacking, 0.0) * op.funds_yuan_per_pupil["primary"]
    funds = sum(level[lv] * op.funds_yuan_per_pupil[lv] for lv in LEVEL_BANDS) + floor
    norm = scen.indicators.pupils_per_teacher
    teachers = sum(np.ceil(level[lv] / norm[lv] - 1e-9) for lv in LEVEL_BANDS)
    out = pd.DataFrame(
        {
            "funds": funds / 1e4,
            "floor": floor / 1e4,
            "salaries": teachers * op.salary_10k_yuan_per_teacher,
            "boarding": boarders.to_numpy(float) * op.boarding_yuan_per_boarder / 1e4,
        },
        index=types.index,
    )
    out.loc[(types == "closed").to_numpy()] = 0.0
    out["total"] = out["funds"] + out["salaries"] + out["boarding"]
    return out


def operating_summary(scen: Scenario, plan: pd.DataFrame, today: pd.DataFrame) -> dict:
    """summary.json's ``operating``: the plan's and today's running costs a year
    (10k yuan) by kind, and funds and salaries over the horizon."""
    op = scen.operating
    assert op is not None
    years = op.horizon_years

    def sums(t: pd.DataFrame) -> dict[str, float]:
        return {k: round(float(t[k].sum()), 4) for k in (*KINDS, "total")}

    after, now = sums(plan), sums(today)
    now["total"] = round(now["funds"] + now["salaries"], 4)
    now.pop("boarding")
    return {
        "horizon_years": years,
        "per_year_10k_yuan": after,
        "today_per_year_10k_yuan": now,
        "funds_and_salaries_over_horizon_10k_yuan": round((after["funds"] + after["salaries"]) * years, 4),
        "today_funds_and_salaries_over_horizon_10k_yuan": round(now["total"] * years, 4),
        "in_objective": op.in_objective,
    }
