"""notebooks/compare_scenarios.ipynb runs from top to bottom (nbclient) and shows a map."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "compare_scenarios.ipynb"


@pytest.mark.slow
def test_notebook_runs_and_shows_a_map(monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.delenv("PLANNER_NOTEBOOK_DEMO", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the map and the chart are shown"
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "small-base" in text and "small-no-new" in text and "schools decided differently" in text
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("人·公里合计" in t for t in tables), "the KPI table is shown"
