"""plan.gpkg read back with pyogrio: layers, geometry types, and catchments that tile the county."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from planner.domain import BANDS
from planner.outputs.gpkg import LAYERS, main_school
from tests.appendix_case import run_folder, solved


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return str(tmp_path_factory.getbasetemp() / "appendix")


@pytest.fixture(scope="module")
def gpkg(base):
    return run_folder(base) / "plan.gpkg"


def test_layers_and_types(gpkg):
    layers = dict(pyogrio.list_layers(gpkg))
    assert list(layers) == [*LAYERS, "layer_styles"]
    assert layers == {
        "schools": "Point",
        "assignments": "LineString",
        "catchments": "MultiPolygon",
        "layer_styles": None,
    }
    assert pyogrio.read_info(gpkg, layer="schools")["crs"] == "EPSG:4547"


def test_schools_layer_matches_schools_csv(gpkg, base):
    g = pyogrio.read_dataframe(gpkg, layer="schools")
    s = pd.read_csv(run_folder(base) / "schools.csv", dtype={"merged_into": str}, keep_default_na=False)
    assert list(g["school_id"]) == list(s["school_id"])
    assert np.allclose(g.geometry.x, s["x"]) and np.allclose(g.geometry.y, s["y"])
    t2 = g.set_index("school_id").loc["T2"]
    assert (
        t2["action_zh"] == "撤并" and t2["merged_into_name"] == s.set_index("school_id").at[t2["merged_into"], "name"]
    )


def test_assignment_lines_run_from_village_to_school(gpkg, base):
    run = solved(base)
    g = pyogrio.read_dataframe(gpkg, layer="assignments")
    assert len(g) == len(run.plan.assignments)
    start = np.array([ln.coords[0] for ln in g.geometry])
    end = np.array([ln.coords[-1] for ln in g.geometry])
    assert np.allclose(start, run.problem.villages.loc[g["village_id"], ["x", "y"]].to_numpy())
    assert np.allclose(end, run.problem.sites.loc[g["school_id"], ["x", "y"]].to_numpy())
    # detour factor 1.0: the line is the trip
    assert np.allclose(g.geometry.length / 1000.0, g["distance_km"], atol=1e-3)


def test_catchments_tile_the_county_and_hold_their_villages(gpkg, base):
    run = solved(base)
    g = pyogrio.read_dataframe(gpkg, layer="catchments")
    county = run.problem.boundary.geometry.union_all()
    main = main_school(run.plan.assignments)
    for band in BANDS:
        c = g[g["band"] == band]
        assert set(c["school_id"]) == set(main.loc[main["band"] == band, "school_id"])
        # no gaps, no overlaps: the areas add up to the county's
        assert c.geometry.area.sum() == pytest.approx(county.area, rel=1e-6)
        assert shapely.union_all(c.geometry.to_numpy()).area == pytest.approx(county.area, rel=1e-6)
        # every village lies in the catchment of the school it attends
        poly = c.set_index("school_id").geometry
        for vid, sid in main.loc[main["band"] == band, ["village_id", "school_id"]].itertuples(index=False):
            x, y = run.problem.villages.loc[vid, ["x", "y"]]
            assert poly[sid].covers(shapely.Point(x, y)), (band, vid, sid)
        assert c["pupils"].sum() == pytest.approx(run.summary["pupils"][band], abs=1e-3)
