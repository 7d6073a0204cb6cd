"""report.html: self-contained, and read in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from planner.outputs.maps import MAP_NAMES
from planner.outputs.report import MAP_CAPTIONS
from tests.appendix_case import run_folder

CHROMIUM, CHROMEDRIVER = (
    shutil.which("chromium") or "/usr/bin/chromium",
    shutil.which("chromedriver") or "/usr/bin/chromedriver",
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return run_folder(str(tmp_path_factory.getbasetemp() / "appendix"))


@pytest.fixture(scope="module")
def page(folder):
    return (folder / "report.html").read_text(encoding="utf-8")


def test_self_contained(page):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "the page links to the network"
    assert "<script" not in page and "@import" not in page and "url(" not in page
    imgs = re.findall(r"<img src='([^']*)'", page)
    assert len(imgs) == len(MAP_NAMES) and all(s.startswith("data:image/png;base64,") for s in imgs)


def test_headline_figures_table_and_captions(page, folder):
    s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert f"{s['cost_10k_yuan']['total']:,.0f}" in page
    assert "学校布局规划表" in page and "T2学校" in page and "撤并" in page and "新建" in page
    for name, cap in MAP_CAPTIONS.items():
        assert (cap in page) == (name not in ("phases", "groups")), name  # phases, groups: only where a plan has them
    assert page.count("小计</td>") == 2 and "全县合计" in page


def _browser(tmp: Path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium/chromedriver not installed (Debian: chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    for a in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp}",
        "--window-size=1400,1800",
    ):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def test_report_in_headless_chromium(folder):
    with tempfile.TemporaryDirectory() as profile:
        driver = _browser(Path(profile))
        try:
            driver.get((folder / "report.html").resolve().as_uri())
            severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert severe == []
            sizes = driver.execute_script(
                "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
            )
            assert len(sizes) == len(MAP_NAMES)
            assert all(ok and w > 1000 and h > 500 for ok, w, h in sizes), sizes
            assert driver.title.startswith("甲乙县学校布局规划")
            driver.execute_script("document.images[1].scrollIntoView()")
            shot = np.asarray(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")).astype(int)
        finally:
            driver.quit()
    assert shot.std() > 20, "the screenshot is blank"
    # the map is on screen: the county's fill colour covers a good part of it
    fill = (np.abs(shot - np.array([0xF6, 0xF3, 0xEC])).max(axis=2) <= 3).mean()
    assert fill > 0.05, fill
