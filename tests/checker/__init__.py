"""An independent checker: re-derive every hard constraint from a run folder.

It reads only the run folder (summary.json, schools.csv, assignments.csv,
manifest.json with the resolved scenario) and the input layers named in the
manifest, with pyogrio and pandas (geopandas for the CRS, scipy for shortest
paths). It imports nothing from ``planner`` and
knows no model variable, so a bug in the model, the decoder or the writer
shows up here as a violated rule.

What it re-derives:

- the pupils of a projected run: its own cohort projection of the villages'
  base-year grades and the births file to the year planned;
- a phased run, phase by phase: the pupils of each phase's year placed, the
  caps, trips and floor areas of each phase (areas counted from the phase
  they were added in), each site's type changed at most once and never back,
  each phase's spending within its budget, the end state as schools.csv says;

- placement: every child placed once, whole catchments whole, at an open
  school that teaches the band, within the trip limit (km and minutes), the
  boarding flag against the walking limit;
- distances: the straight line x detour, the OD matrix's row, or its own
  shortest road paths (vertices to the millimetre, a straight hop at both ends,
  ``length_m`` spread over a road's segments, Dijkstra);
- schools: class caps, school caps, site classes, boarders, living area, site room;
- types, fixed decisions, targets, the budget (with the projects built, each fixed one built) and the counts;
- resources after the plan (stock + moved in - moved out + hired, trained,
  bought, added), the seven indicators per school and the county's
  pupil-weighted values and CVs in summary.json (``nine_year_split`` honoured);
- the teacher and equipment pools, closures, the staff quota and hires;
- campuses (一校两区: type kept, host open and near and teaching its levels, the
  pair within the host's cap, counted once) and school groups (members by
  today's standard or place, cores passing, reach, group sizes, the teachers
  exchanged and backbone sent by the rounding rules within each core's, no
  member alone beside a core with room);
- every planned standard (areas, the five planned indicators, the staffing
  norm, music and art rooms): below it only where shortfalls are allowed and
  summary.json lists the gap at the cost to close it.

``check_run(folder)`` returns a list of violations (empty when the plan holds).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.checker.common import TEACHES, _ids, _layer, _read_schools_csv, _sites
from tests.checker.layout import (
    _check_assignments,
    _check_budget,
    _check_distances,
    _check_nearest_zone,
    _check_projects,
    _check_schools,
    _check_types,
)
from tests.checker.organisation import check_campuses, check_groups, counted
from tests.checker.phases import check_phases
from tests.checker.projection import check_projection_files, projected_span
from tests.checker.standards import (
    _check_indicators,
    _check_operating,
    _check_pools,
    _check_staff_quota,
    _check_standards,
    _resources,
)

# --- the run ---------------------------------------------------------------------------------------------------------


def check_run(folder: str | Path) -> list[str]:
    """Every violated hard constraint of the run folder's plan (empty if none)."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    scen = manifest["scenario"]
    schools = _read_schools_csv(folder)
    assign = pd.read_csv(folder / "assignments.csv", dtype={"village_id": str, "school_id": str})
    assign["boards"] = assign["boards"].astype(str).str.lower() == "true"
    villages = _layer(manifest, "villages")
    villages["village_id"] = _ids(villages["village_id"])
    sites = _sites(manifest)
    base_villages = villages
    projected = summary.get("pupils_projected") or {}
    year = projected.get("year") or scen["target_year"]
    years = projected.get("years") or [year, year]
    villages = projected_span(manifest, villages, sites, years)
    out: list[str] = []
    if scen.get("projection"):
        check_projection_files(folder, villages, years, out)
    if scen.get("phases"):
        check_phases(folder, manifest, summary, base_villages, sites, schools, out)
    _check_assignments(scen, villages, schools, assign, out)
    _check_distances(manifest, scen, villages, sites, assign, out)
    _check_nearest_zone(manifest, scen, villages, sites, schools, assign, summary, out)
    _check_schools(scen, sites, schools, assign, out)
    _check_types(scen, sites, schools, out)
    _check_budget(scen, sites, schools, summary, out, _check_projects(folder, scen, out))
    res = _resources(sites, schools)
    _check_indicators(scen, sites, schools, summary, res, out)
    _check_pools(scen, sites, schools, out)
    _check_staff_quota(scen, sites, schools, res, out)
    _check_standards(scen, schools, summary, res, out)
    _check_operating(scen, schools, summary, out)
    check_campuses(scen, sites, schools, summary, out)
    check_groups(folder, scen, villages, sites, schools, summary, out)
    counts = counted(schools)["type_after"].value_counts()
    for t in TEACHES:
        if summary["counts_after"][t] != int(counts.get(t, 0)):
            out.append(f"summary: counts_after {t} {summary['counts_after'][t]} != schools.csv {int(counts.get(t, 0))}")
    return out
