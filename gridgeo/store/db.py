"""Engine creation, migrations and server introspection."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from gridgeo.errors import DatabaseUnavailable
from gridgeo.settings import Settings
from gridgeo.store import localdb

MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(settings: Settings) -> str:
    """Return the SQLAlchemy URL gridgeo connects to.

    Parameters
    ----------
    settings : Settings
        ``database_url`` when set, else the project-local cluster's URL.

    Returns
    -------
    str
    """
    if settings.database_url:
        return settings.database_url
    return localdb.cluster_for(settings.home).url


def make_engine(settings: Settings, **kwargs: object) -> Engine:
    """Create the engine for the configured database (no connection is made).

    Parameters
    ----------
    settings : Settings
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    sqlalchemy.Engine
    """
    options: dict[str, object] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    options.update(kwargs)
    return create_engine(database_url(settings), **options)


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """Build the Alembic configuration of gridgeo's migrations.

    Parameters
    ----------
    url : str, optional
        Database URL, used when no connection is given.
    connection : sqlalchemy.Connection, optional
        Run the migrations on this connection (inside its transaction).

    Returns
    -------
    alembic.config.Config
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the migrations up to ``revision`` in one transaction.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    revision : str
        Target revision, ``head`` by default.

    Returns
    -------
    str or None
        The revision the database is at afterwards.
    """
    try:
        with engine.begin() as conn:
            # Serialise concurrent upgrades of the same database.
            conn.execute(text("SELECT pg_advisory_xact_lock(7243001)"))
            command.upgrade(alembic_config(connection=conn), revision)
            return current_revision(conn)
    except DBAPIError as exc:
        if exc.connection_invalidated or "connect" in str(exc.orig).lower():
            raise DatabaseUnavailable(
                "cannot connect to the database; start it with `gridgeo db up` "
                "or set GRIDGEO_DATABASE_URL"
            ) from exc
        raise


def current_revision(conn: Connection) -> str | None:
    """Return the Alembic revision recorded in the database, if any."""
    exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
    if exists is None:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def server_versions(conn: Connection) -> dict[str, str | None]:
    """Report the PostgreSQL and PostGIS versions of a connection's server.

    Parameters
    ----------
    conn : sqlalchemy.Connection

    Returns
    -------
    dict
        ``postgresql``, ``postgis`` (``None`` when the extension is missing)
        and ``schema_revision``.
    """
    postgresql = conn.execute(text("SHOW server_version")).scalar()
    has_postgis = conn.execute(
        text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
    ).scalar()
    postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar() if has_postgis else None
    return {
        "postgresql": str(postgresql),
        "postgis": postgis,
        "schema_revision": current_revision(conn),
    }
