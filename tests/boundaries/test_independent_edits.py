"""Property tests: realistic planner edits through the public planner workflow.

For each edit kind (see :mod:`tests.boundaries.independent.edits`), on the
second district (imported from its EPSG:4548 GeoPackage and published) and on
the sample city (its published generation exported), the edited file is
imported as a draft, then

* validated: ``validate_generation`` never raises, a clean edit gives no
  error, a planted defect gives its error (and nothing unrelated);
* diffed against the published generation: added/removed codes per level,
  area moved and households per level, and events re-attributed (owner
  changes under DESIGN.md section 4) equal the independent geopandas oracle
  of :mod:`tests.boundaries.independent.oracle` within its stated tolerances.

Every example runs in a transaction that is rolled back. District examples are
few, derandomized and never shrunk; the sample-city checks (``slow``: ~10 s of
product time each) run one deterministic edit per kind
(:func:`~tests.boundaries.independent.edits.first_edit`).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from gridgeo.store.generations import active_generation
from gridgeo.workflows import planner
from tests.boundaries.independent.district import cached_district, write_district
from tests.boundaries.independent.edits import EDIT_KINDS, edits, first_edit
from tests.boundaries.independent.harness import (
    create_database,
    drop_database,
    export_units,
    run_edit,
)
from tests.conftest import rolled_back_session

KINDS = tuple(EDIT_KINDS)
FEW = settings(
    max_examples=2,
    derandomize=True,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: every example is DB-heavy
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Bench:
    """A database holding a published baseline generation."""

    engine: Engine
    baseline_id: int
    baseline: gpd.GeoDataFrame  # exported baseline (EPSG:4490)
    editable: gpd.GeoDataFrame  # what the planner edits (file CRS)


@pytest.fixture(scope="module")
def district_bench(database_url_for_tests: str) -> Iterator[Bench]:
    """The second district imported from its GK file and published (forced if needed)."""
    url = create_database(database_url_for_tests, "dist" + secrets.token_hex(3))
    engine = create_engine(url, poolclass=NullPool)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = write_district(Path(tmp) / "luyang.gpkg")
            with Session(engine) as session, session.begin():
                gen = planner.import_boundaries(session, path, filename=path.name).generation_id
            with Session(engine) as session, session.begin():
                report = planner.validate_generation(session, gen)
                reason = None if report.ok else "baseline for the independent edit tests"
                planner.publish_generation(session, gen, force_reason=reason)
        with Session(engine) as session:
            baseline = export_units(session, gen)
        yield Bench(engine, gen, baseline, cached_district().units)
    finally:
        engine.dispose()
        drop_database(url)


@pytest.fixture(scope="module")
def city_bench(database_url_for_tests: str, city_template: str) -> Iterator[Bench]:
    """A private copy of the sample city (published generation 1)."""
    url = create_database(
        database_url_for_tests, "icity" + secrets.token_hex(3), template=city_template
    )
    engine = create_engine(url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            gen = active_generation(session).id
            baseline = export_units(session, gen)
        yield Bench(engine, gen, baseline, baseline)
    finally:
        engine.dispose()
        drop_database(url)


def _check(bench: Bench, data: st.DataObject, kind: str, *, validate: bool, diff: bool) -> None:
    edit = data.draw(edits(bench.editable, (kind,)), label="edit")
    with tempfile.TemporaryDirectory() as tmp, rolled_back_session(bench.engine) as session:
        outcome = run_edit(
            session,
            bench.baseline_id,
            bench.baseline,
            edit,
            Path(tmp),
            check_validate=validate,
            check_diff=diff,
            seed=len(edit.units),
        )
    assert outcome.problems == [], "\n".join([f"{kind} {edit.details}", *outcome.problems])


PER_LEVEL_EVENTS = (
    "issue 13 open: per-level events re-attributed when a unit is dropped differ between "
    "the product (the owner's parent chain, as locate answers) and this oracle (the "
    "lowest-code unit of each level covering the point)"
)
JITTER_AREA = "issue 13 open: on the city, jitter's area moved is ~0.9 % above this oracle"


def _known(kinds: dict[str, str]) -> list[object]:
    """KINDS with the known disagreements marked (non-strict) expected failures."""
    return [
        pytest.param(k, marks=pytest.mark.xfail(reason=kinds[k], strict=False)) if k in kinds else k
        for k in KINDS
    ]


@pytest.mark.parametrize("kind", KINDS)
@FEW
@given(data=st.data())
def test_district_edit_validates_as_planted(
    district_bench: Bench, kind: str, data: st.DataObject
) -> None:
    _check(district_bench, data, kind, validate=True, diff=False)


@pytest.mark.parametrize("kind", _known({"drop_microgrid": PER_LEVEL_EVENTS}))
@FEW
@given(data=st.data())
def test_district_edit_diff_matches_oracle(
    district_bench: Bench, kind: str, data: st.DataObject
) -> None:
    _check(district_bench, data, kind, validate=False, diff=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind",
    _known(
        {
            "drop_microgrid": PER_LEVEL_EVENTS,
            "drop_grid": PER_LEVEL_EVENTS,
            "jitter": JITTER_AREA,
        }
    ),
)
def test_city_edit_validates_and_diffs_as_oracle(city_bench: Bench, kind: str) -> None:
    """One deterministic edit per kind on the sample city (each run costs ~10 s of product)."""
    edit = first_edit(city_bench.editable, kind)
    with tempfile.TemporaryDirectory() as tmp, rolled_back_session(city_bench.engine) as session:
        outcome = run_edit(
            session, city_bench.baseline_id, city_bench.baseline, edit, Path(tmp), seed=13
        )
    assert outcome.problems == [], "\n".join([f"{kind} {edit.details}", *outcome.problems])
