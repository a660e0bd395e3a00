"""Shared fixtures: one throwaway PostGIS database per test run, per-test rollback.

The database server is ``GRIDGEO_DATABASE_URL`` when set, else the project's
local cluster (started on demand). Each run creates ``gridgeo_test_<random>``,
migrates it, and drops it at the end; each test runs inside a transaction
that is rolled back.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api.app import create_app
from api.deps import get_session
from gridgeo.settings import Settings
from gridgeo.store import localdb
from gridgeo.store.db import database_url, upgrade
from gridgeo.store.users import add_user


def _server_url() -> str:
    settings = Settings()
    if not settings.database_url:
        localdb.up(settings.home)
    return database_url(settings)


@pytest.fixture(scope="session")
def database_url_for_tests() -> Iterator[str]:
    """Create a throwaway, migrated database and drop it after the run."""
    server = make_url(_server_url())
    name = f"gridgeo_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url_for_tests: str) -> Iterator[Engine]:
    """Engine on the test database."""
    engine = create_engine(database_url_for_tests)
    yield engine
    engine.dispose()


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back at the end.

    The code under test may commit: with ``create_savepoint`` its commits
    only release savepoints of the outer transaction.
    """
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with rolled_back_session(engine) as session:
        yield session


@pytest.fixture
def settings(database_url_for_tests: str) -> Settings:
    """Settings pointing at the test database."""
    return Settings(database_url=database_url_for_tests)


@pytest.fixture
def client(settings: Settings, db: Session) -> Iterator[TestClient]:
    """An HTTP test client whose requests share the test's rolled-back transaction."""
    app = create_app(settings)

    def shared_session() -> Iterator[Session]:
        yield db
        db.flush()

    app.dependency_overrides[get_session] = shared_session
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def tokens(db: Session) -> dict[str, str]:
    """One bearer token per role (the worker is bound to grid 330109001001001)."""
    result = {}
    for role in ("planner", "analyst", "admin"):
        _, result[role] = add_user(db, f"test-{role}", role)
    _, result["worker"] = add_user(db, "test-worker", "worker", ["330109001001001"])
    return result


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _create_database(server_url: str, name: str, template: str | None = None) -> str:
    server = make_url(server_url)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def city_template(database_url_for_tests: str) -> Iterator[str]:
    """A database holding the sample city's published boundaries, used only as a template."""
    from gridgeo.workflows.samples import load_sample_city

    name = str(make_url(database_url_for_tests).database) + "_city_tpl"
    url = _create_database(database_url_for_tests, name)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    with Session(engine) as session, session.begin():
        load_sample_city(session, SAMPLES, events=False, tracks=False)
    engine.dispose()
    try:
        yield name
    finally:
        _drop_database(url)


@pytest.fixture(scope="session")
def city_url(database_url_for_tests: str, city_template: str) -> Iterator[str]:
    """A throwaway copy of the sample city shared by the tests that only read it."""
    name = str(make_url(database_url_for_tests).database) + "_city"
    url = _create_database(database_url_for_tests, name, template=city_template)
    try:
        yield url
    finally:
        _drop_database(url)


@pytest.fixture
def fresh_city_url(database_url_for_tests: str, city_template: str) -> Iterator[str]:
    """A private copy of the sample city for a test that commits (dropped afterwards)."""
    name = str(make_url(database_url_for_tests).database) + "_c" + secrets.token_hex(3)
    url = _create_database(database_url_for_tests, name, template=city_template)
    try:
        yield url
    finally:
        _drop_database(url)


@pytest.fixture(scope="session")
def city_engine(city_url: str) -> Iterator[Engine]:
    """Engine on the sample-city database."""
    engine = create_engine(city_url)
    yield engine
    engine.dispose()


@pytest.fixture
def city_db(city_engine: Engine) -> Iterator[Session]:
    """A rolled-back session on the sample-city database."""
    with rolled_back_session(city_engine) as session:
        yield session


@pytest.fixture
def city_client(city_url: str, city_db: Session) -> Iterator[TestClient]:
    """HTTP test client on the sample city; requests share the test's transaction."""
    app = create_app(
        Settings(database_url=city_url, index_refresh_seconds=3600, batch_limit=50_000)
    )

    def shared_session() -> Iterator[Session]:
        yield city_db
        city_db.flush()

    app.dependency_overrides[get_session] = shared_session
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def activity_city_url(database_url_for_tests: str, city_template: str) -> Iterator[str]:
    """The sample city with its events and the first week of its patrol tracks."""
    import pandas as pd

    from gridgeo.store.activity import insert_events, insert_fixes
    from gridgeo.workflows.samples import owners_of

    name = str(make_url(database_url_for_tests).database) + "_activity"
    url = _create_database(database_url_for_tests, name, template=city_template)
    engine = create_engine(url, poolclass=NullPool)
    with Session(engine) as session, session.begin():
        from gridgeo.locate import LocateIndex
        from gridgeo.store.units import read_units

        index = LocateIndex.build(read_units(session, 1), generation="1")
        events = pd.read_parquet(SAMPLES / "events.parquet")
        events["owner_code"] = owners_of(index, events)
        events["owner_generation_id"] = 1
        insert_events(session, events)
        fixes = pd.read_parquet(SAMPLES / "tracks.parquet")
        week = fixes["t"] < fixes["t"].min().normalize() + pd.Timedelta(days=7)
        fixes = fixes[week].assign(patrol_id=lambda f: f["patrol_id"].astype(str))
        insert_fixes(session, fixes)
    engine.dispose()
    try:
        yield url
    finally:
        _drop_database(url)
