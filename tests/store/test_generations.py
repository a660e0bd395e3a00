"""Generations, atomic publish and the never-reuse code registry (real PostGIS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gridgeo.errors import Conflict, NotFound
from gridgeo.store.generations import active_generation, create_generation, publish
from gridgeo.store.units import insert_units, read_units

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def units(*codes: str) -> gpd.GeoDataFrame:
    rows = []
    for i, code in enumerate(codes):
        rows.append(
            {
                "code": code,
                "parent_code": code[:12],
                "level": "grid",
                "kind": "base",
                "name": f"网格{i}",
                "households": 400,
                "geometry": box(120.0 + i * 0.01, 30.0, 120.01 + i * 0.01, 30.01),
            }
        )
    return gpd.GeoDataFrame(rows, crs=4490)


def published(db: Session, label: str, at: datetime, *codes: str) -> int:
    generation = create_generation(db, label)
    insert_units(db, generation.id, units(*codes))
    publish(db, generation, at=at)
    return generation.id


def test_units_round_trip_as_multipolygons(db: Session) -> None:
    generation = create_generation(db, "g")
    assert insert_units(db, generation.id, units("330109001001001", "330109001001002")) == 2
    back = read_units(db, generation.id)
    assert list(back["code"]) == ["330109001001001", "330109001001002"]
    assert set(back.geom_type) == {"MultiPolygon"}
    assert back.crs.to_epsg() == 4490
    assert back.loc[0, "households"] == 400


def test_publish_supersedes_previous_and_keeps_history(db: Session) -> None:
    first = published(db, "g1", T0, "330109001001001")
    second = published(db, "g2", T0 + timedelta(days=30), "330109001001001")
    assert active_generation(db).id == second
    assert active_generation(db, T0 + timedelta(days=1)).id == first
    assert active_generation(db, T0 + timedelta(days=31)).id == second
    with pytest.raises(NotFound):
        active_generation(db, T0 - timedelta(days=1))


def test_empty_or_published_generation_cannot_be_published(db: Session) -> None:
    generation = create_generation(db, "empty")
    with pytest.raises(Conflict, match="no grid units"):
        publish(db, generation, at=T0)
    gid = published(db, "g1", T0, "330109001001001")
    with pytest.raises(Conflict, match="published"):
        publish(db, db.get(type(generation), gid), at=T0 + timedelta(days=1))


def test_retired_code_cannot_be_reused_by_publish(db: Session) -> None:
    published(db, "g1", T0, "330109001001001", "330109001001002")
    published(db, "g2", T0 + timedelta(days=1), "330109001001001")  # 002 retired
    status = db.execute(
        text("SELECT status FROM code_registry WHERE code = '330109001001002'")
    ).scalar()
    assert status == "retired"
    draft = create_generation(db, "g3")
    with pytest.raises(DBAPIError, match="retired"), db.begin_nested():
        insert_units(db, draft.id, units("330109001001002"))


def test_registry_constraint_holds_in_the_database(db: Session) -> None:
    published(db, "g1", T0, "330109001001001", "330109001001002")
    published(db, "g2", T0 + timedelta(days=1), "330109001001001")
    for statement in (
        "UPDATE code_registry SET status = 'active', retired_generation_id = NULL "
        "WHERE code = '330109001001002'",
        "DELETE FROM code_registry WHERE code = '330109001001002'",
    ):
        with pytest.raises(DBAPIError, match="retired|never"), db.begin_nested():
            db.execute(text(statement))


def test_draft_codes_are_not_consumed(db: Session) -> None:
    published(db, "g1", T0, "330109001001001")
    draft = create_generation(db, "discarded")
    insert_units(db, draft.id, units("330109001001001", "330109001001005"))
    db.delete(draft)
    db.flush()
    registered = db.execute(text("SELECT code FROM code_registry ORDER BY code")).scalars().all()
    assert registered == ["330109001001001"]
    published(db, "g2", T0 + timedelta(days=1), "330109001001001", "330109001001005")


def test_only_one_generation_is_published(db: Session) -> None:
    published(db, "g1", T0, "330109001001001")
    create_generation(db, "another")
    with pytest.raises(DBAPIError, match="uq_generations_one_published"), db.begin_nested():
        db.execute(text("UPDATE generations SET status = 'published'"))


def test_grid_unit_constraints(db: Session) -> None:
    generation = create_generation(db, "g")
    bad = units("330109001001001")
    bad.loc[0, "code"] = "33010900100100A"
    with pytest.raises(DBAPIError, match="ck_grid_units_code_digits"), db.begin_nested():
        insert_units(db, generation.id, bad)
    bad = units("330109001001001")
    bad.loc[0, "parent_code"] = "330109001002"
    with pytest.raises(DBAPIError, match="ck_grid_units_prefix"), db.begin_nested():
        insert_units(db, generation.id, bad)
