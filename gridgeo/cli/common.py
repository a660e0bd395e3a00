"""Helpers shared by the CLI commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridgeo.settings import Settings
from gridgeo.store.db import make_engine


@contextmanager
def engine_for(settings: Settings | None = None) -> Iterator[Engine]:
    """Yield an engine for the configured database and dispose it afterwards."""
    engine = make_engine(settings or Settings(), pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """Yield a session in one transaction: committed on success, rolled back on error."""
    with (
        engine_for(settings) as engine,
        Session(engine, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session
