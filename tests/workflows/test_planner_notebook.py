"""The planner walk-through notebook runs end to end on a private copy of the sample city.

The notebook commits for real (drafts, a publish), so it gets its own database
(``fresh_city_url``); the kernel inherits ``GRIDGEO_DATABASE_URL`` from this
process. Besides the markers the notebook prints, the database is checked
afterwards: the split draft is published, the split grid's code is retired
and its lineage recorded.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = NOTEBOOKS / "planner.ipynb"


def run_notebook(path: Path) -> str:
    """Execute a notebook with cwd = its folder; return the text it printed or displayed."""
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError (with the traceback) if a cell fails
    chunks = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                chunks.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                chunks.append(output.data.get("text/plain", ""))
    return "\n".join(chunks)


def test_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_planner_notebook_runs_the_workflow(
    fresh_city_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", fresh_city_url)
    monkeypatch.chdir(NOTEBOOKS)
    out = run_notebook(NOTEBOOK)

    # The QGIS edit (overlap + gap) is caught; the draft cannot be published.
    rules = re.search(r"^VALIDATION_ERRORS rules: (.+)$", out, re.MULTILINE)
    assert rules is not None, out
    found = {rule.strip() for rule in rules.group(1).split(",")}
    assert {"overlap", "gap"} <= found
    assert re.search(r"^ERROR\s+overlap: \d{15} and \d{15} overlap", out, re.MULTILINE)
    assert re.search(r"^ERROR\s+gap: gap of [\d,.]+ m² in \d{12} ", out, re.MULTILINE)
    assert "publish refused:" in out and "validation error" in out
    # After the fix the re-imported draft validates.
    assert "FIXED_DRAFT_ERRORS 0 status validated" in out
    # The split makes two new grids out of one.
    split = re.search(r"^SPLIT (\d{15}) created (\d+) grid codes: (\d{15}), (\d{15})$", out, re.M)
    assert split is not None, out
    old_code, count, *new_codes = split.groups()
    assert count == "2" and old_code not in new_codes
    assert all(code[:12] == old_code[:12] for code in new_codes)
    assert re.search(rf"^grids removed: \['{old_code}'\]$", out, re.MULTILINE)
    published = re.search(r"^PUBLISHED generation (\d+) ", out, re.MULTILINE)
    assert published is not None, out
    generation = int(published.group(1))
    assert f"RETIRED {old_code} status retired in generation {generation}" in out

    engine = create_engine(fresh_city_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            statuses = dict(conn.execute(text("SELECT id, status FROM generations")).all())
            registry = dict(conn.execute(text("SELECT code, status FROM code_registry")).all())
            lineage = conn.execute(
                text(
                    "SELECT code, relation FROM code_lineage "
                    "WHERE generation_id = :g AND related_code = :c ORDER BY code"
                ),
                {"g": generation, "c": old_code},
            ).all()
            in_active = set(
                conn.execute(
                    text("SELECT code FROM grid_units WHERE generation_id = :g AND level = 'grid'"),
                    {"g": generation},
                ).scalars()
            )
    finally:
        engine.dispose()
    assert statuses[generation] == "published"
    assert statuses[1] == "superseded"
    assert list(statuses.values()).count("published") == 1
    assert registry[old_code] == "retired"
    assert all(registry[code] == "active" for code in new_codes)
    assert [tuple(row) for row in lineage] == [(code, "split_from") for code in sorted(new_codes)]
    assert old_code not in in_active and set(new_codes) <= in_active
