"""The notebooks in ``notebooks/`` run top to bottom on the committed sample city.

Each notebook is executed with nbclient in a fresh kernel (the ``python3``
kernel of this environment, from ipykernel), from its own folder, as an
analyst would open it; an error in any cell fails the test with the cell's
traceback.
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _outputs(nb: nbformat.NotebookNode) -> tuple[str, list[str]]:
    """All printed text, and the HTML of every rich output."""
    text, html = [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                text.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                html.append(out.data.get("text/html", ""))
            assert out.output_type != "error", f"{out.ename}: {out.evalue}"
    return "".join(text), html


def test_analyst_notebook():
    path = NOTEBOOKS / "analyst.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    NotebookClient(
        nb,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()
    text, html = _outputs(nb)

    hot = re.search(r"Significant hot grids \(99 %\): (\d+)", text)
    assert hot and int(hot.group(1)) >= 10, text
    assert "Planted hot spots found at 99 %: 5 of 5" in text, text
    assert "12 monthly slices" in text
    assert "Coverage gaps:" in text or "coverage gaps are skipped" in text

    frames = re.findall(r'<iframe srcdoc="([^"]*)"', "".join(html))
    assert len(frames) >= 3
    for frame in frames:
        page = html_lib.unescape(frame)
        # Leaflet is inlined: no script or stylesheet is fetched from anywhere.
        assert "L.map(" in page and "<script>" in page
        assert not re.search(r"<script[^>]*\ssrc=|<link[^>]*stylesheet", page)
