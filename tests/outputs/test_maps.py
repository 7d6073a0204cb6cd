"""Maps: 300 dpi PNGs that show what they say, vector PDFs, Chinese that renders."""

from __future__ import annotations

import warnings
from dataclasses import replace

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image
from shapely.geometry import Point, box

from planner.outputs import cartography, maps
from planner.outputs.cartography import cjk_font, county_town, label_points
from planner.outputs.labels import ACTION_ZH, BAND_ZH, COST_ZH, STATUS_ZH, TYPE_ZH
from planner.outputs.maps import MAP_NAMES
from tests.appendix_case import run_folder, solved


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return run_folder(str(tmp_path_factory.getbasetemp() / "appendix"))


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return solved(str(tmp_path_factory.getbasetemp() / "appendix"))


def _rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def _has_colour(px: np.ndarray, hex_colour: str, tol: int = 12) -> int:
    c = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(px - c).max(axis=2) <= tol).sum())


def test_every_map_is_a_300_dpi_png_and_a_pdf(folder):
    for name in MAP_NAMES:
        png, pdf = folder / "maps" / f"{name}.png", folder / "maps" / f"{name}.pdf"
        with Image.open(png) as im:
            assert im.info["dpi"] == pytest.approx((300, 300), abs=0.1)
            assert im.width >= 2400 and im.height >= 1800, name
        assert pdf.read_bytes().startswith(b"%PDF"), name


def test_pngs_are_not_blank_and_show_the_symbols(folder):
    before, after = _rgb(folder / "maps" / "layout_before.png"), _rgb(folder / "maps" / "layout_after.png")
    for px in (before, after):
        assert px.std() > 20, "a map is (nearly) one colour"
    # the symbol colours of the types drawn (count of pixels in each colour)
    assert _has_colour(before, cartography.SYMBOL["teaching_point"][1]) > 100  # T1, T2 before
    assert _has_colour(after, cartography.SYMBOL["nine_year"][1]) > 100  # P1 upgraded
    rings = _has_colour(after, cartography.NEW_COLOUR)
    assert rings > 1000  # C1 and C2 ringed as new builds
    assert _has_colour(before, cartography.NEW_COLOUR) < rings / 20, "no new-build ring before the plan"
    inv = _rgb(folder / "maps" / "investments.png")
    for kind, colour in cartography.KIND_COLOUR.items():  # circles at alpha 0.55 over the county's fill
        c = 0.55 * np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) + 0.45 * np.array([0xF6, 0xF3, 0xEC])
        assert _has_colour(inv, "#" + "".join(f"{round(v):02x}" for v in c), tol=6) > 100, kind


def test_pdfs_are_vector(folder):
    for name in MAP_NAMES:
        data = (folder / "maps" / f"{name}.pdf").read_bytes()
        assert b"/Subtype /Image" not in data, f"{name}.pdf embeds a raster image"
        assert b"/Type3" in data or b"/TrueType" in data or b"/CIDFontType" in data, f"{name}.pdf has no text font"
        assert len(data) < 3_000_000


def test_a_cjk_font_is_found_and_has_every_glyph_we_use():
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font

    font = FT2Font(findfont(FontProperties(family=cjk_font()), fallback_to_default=False))
    chars = font.get_charmap()
    words = [
        *TYPE_ZH.values(),
        *ACTION_ZH.values(),
        *BAND_ZH.values(),
        *COST_ZH.values(),
        *STATUS_ZH.values(),
        "图例县城北公里新建学校撤并去向箭头指向并入乡镇界县界服务范围村（居）资料来源坐标系面积m²合计，。：、–·",
    ]
    missing = sorted({ch for w in words for ch in w if ord(ch) not in chars})
    assert missing == []


def test_no_glyph_falls_back_when_drawing(tmp_path, case):
    """matplotlib warns 'Glyph ... missing from font(s)' for each box it draws; none may occur."""
    run = case
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with matplotlib.rc_context(cartography.style()):
            for _, fig in maps.figures(run.problem, run.plan, run.summary):
                fig.savefig(tmp_path / "x.png", dpi=40)
    assert [str(w.message) for w in got if "missing from font" in str(w.message)] == []


def test_a_latin_only_font_would_be_caught(tmp_path):
    """The check above can fail: DejaVu Sans has no Chinese, and drawing Chinese with it warns."""
    fig = Figure()
    fig.text(0.5, 0.5, "教学点")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            fig.savefig(tmp_path / "x.png", dpi=40)
    assert any("missing from font" in str(w.message) for w in got)


def test_missing_cjk_font_fails_loudly_naming_the_package(monkeypatch):
    monkeypatch.setattr(cartography, "CJK_FONTS", ("No Such CJK Font",))
    cartography.cjk_font.cache_clear()
    try:
        with pytest.raises(cartography.MissingFontError, match="fonts-noto-cjk"):
            cjk_font()
    finally:
        monkeypatch.undo()
        cartography.cjk_font.cache_clear()


def test_county_town_is_the_densest_spot_of_the_town_township(case):
    run = case
    v = run.problem.villages.copy()
    v["township"] = ["城关镇" if i == 7 else t for i, t in enumerate(v["township"])]
    x, y, label = county_town(replace(run.problem, villages=v))
    assert (x, y) == (v.iloc[7]["x"], v.iloc[7]["y"]) and label == "县城"


def test_label_points_avoid_schools_and_stay_inside():
    poly = box(0, 0, 10_000, 10_000)
    avoid = np.array([[5000.0, 5000.0]])
    ((x, y),) = label_points([poly], avoid)
    assert poly.contains(Point(x, y))
    assert np.hypot(x - 5000, y - 5000) > 1000, "the name sits on the school in the middle"
