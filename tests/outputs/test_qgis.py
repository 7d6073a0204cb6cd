"""plan.gpkg opened in a real QGIS (Debian's python3-qgis, headless): each
layer comes with its default style from the GeoPackage, and the schools layer
renders to a picture showing the maps' symbols."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from planner.outputs.cartography import CLOSED_COLOUR, SYMBOL
from tests.appendix_case import run_folder

QGIS_PYTHON = "/usr/bin/python3"
"""Debian's python3-qgis lives in the system Python, not the project's virtual environment."""

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from qgis.core import QgsApplication, QgsMapRendererSequentialJob, QgsMapSettings, QgsVectorLayer
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    gpkg, png = sys.argv[1], sys.argv[2]
    out, layers = {}, {}
    for name in ("schools", "assignments", "catchments"):
        lyr = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        r = lyr.renderer()
        info = {"valid": lyr.isValid(), "renderer": r.type(), "labels": lyr.labelsEnabled()}
        if r.type() == "categorizedSymbol":
            info["attr"] = r.classAttribute()
            info["categories"] = {c.value(): [c.label(), c.symbol().color().name()] for c in r.categories()}
        if r.type() == "RuleRenderer":
            info["rules"] = [[ru.filterExpression(), ru.active(), ru.label()] for ru in r.rootRule().children()]
        if lyr.labelsEnabled():
            info["label_field"] = lyr.labeling().settings().fieldName
        out[name], layers[name] = info, lyr
    s = QgsMapSettings()
    s.setLayers([layers["schools"]])
    s.setDestinationCrs(layers["schools"].crs())
    s.setExtent(layers["schools"].extent().buffered(1000.0))
    s.setOutputSize(QSize(600, 600))
    s.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(s)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(png)
    print("QGIS-JSON " + json.dumps(out, ensure_ascii=False), flush=True)
    os._exit(0)  # QGIS's own exit can crash headless, after the work is done
    """
)


def _qgis_ready() -> bool:
    if not Path(QGIS_PYTHON).exists():
        return False
    return subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    if not _qgis_ready():
        pytest.skip("QGIS not installed (Debian: python3-qgis qgis-providers; make test installs them with apt-get)")
    folder = run_folder(str(tmp_path_factory.getbasetemp() / "appendix"))
    tmp = tmp_path_factory.mktemp("qgis")
    script, png = tmp / "open.py", tmp / "schools.png"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp)}
    res = subprocess.run(
        [QGIS_PYTHON, str(script), str(folder / "plan.gpkg"), str(png)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("QGIS-JSON ")), None)
    assert res.returncode == 0 and line is not None, res.stdout + res.stderr
    return json.loads(line.removeprefix("QGIS-JSON ")), png


def test_qgis_applies_the_default_style_of_every_layer(opened):
    layers, _ = opened
    assert all(v["valid"] for v in layers.values())
    schools = layers["schools"]
    assert schools["renderer"] == "categorizedSymbol" and schools["attr"] == "type_after"
    assert schools["labels"] and schools["label_field"] == "name"
    cats = schools["categories"]
    for t, (_, colour, _) in SYMBOL.items():  # the PNG maps' colour of each type
        assert cats[t][1] == colour
    assert cats["primary"][0] == "完全小学" and cats["closed"][1] == CLOSED_COLOUR
    assert layers["assignments"]["attr"] == "band" and len(layers["assignments"]["categories"]) == 3
    rules = layers["catchments"]["rules"]
    assert [r[1] for r in rules] == [True, False, False] and "g1_3" in rules[0][0] and "服务范围" in rules[0][2]


def test_the_schools_layer_renders_with_its_symbols(opened):
    _, png = opened
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    ink = (img < 235).any(axis=2)
    assert ink.mean() > 0.002, "the rendered schools layer is blank"
    primary = np.array([int(SYMBOL["primary"][1][i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(img - primary).sum(axis=2) < 30).sum() > 10  # primaries drawn in the maps' blue
