"""Engine creation, migrations and server introspection."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from gridgeo.errors import Conflict, DatabaseUnavailable, GridgeoError, InvalidInput
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


_DATA_ERRORS = {
    "22001": "a text value is longer than its column allows",
    "22003": "a number is out of range for its column",
    "22007": "a date or time value is not valid",
    "22008": "a date or time value is out of range",
    "22021": "a text value holds characters the database cannot store",
    "22P02": "a value has the wrong type for its column",
    "22P05": "a text value holds characters the database cannot store",
}
_CONSTRAINTS = {
    "uq_grid_units_generation_code": ("code", "a code appears twice in one generation"),
    "ck_grid_units_code_digits": ("code", "a code holds characters other than ASCII digits"),
    "ck_grid_units_code_length": ("code", "a code's length does not match its level"),
    "ck_grid_units_prefix": ("parent_code", "a code does not start with its parent's code"),
    "events_external_id_key": ("external_id", "an event with this external_id already exists"),
    "events_event_id_key": ("event_id", "an event with this event_id already exists"),
}


def translate_error(exc: Exception) -> GridgeoError | None:
    """The :class:`GridgeoError` for a database error caused by input, or None.

    Integrity errors (unique, check, foreign-key and not-null violations)
    become :class:`~gridgeo.errors.Conflict` (409) naming the constraint;
    data errors (values out of range, NUL bytes, wrong types) become
    :class:`~gridgeo.errors.InvalidInput` (422). The SQL text and the
    offending values are never included.

    Parameters
    ----------
    exc : Exception
        Usually a :class:`sqlalchemy.exc.DBAPIError`.

    Returns
    -------
    GridgeoError or None
        None for connection failures and anything else (a server error).
    """
    if not isinstance(exc, DBAPIError) or isinstance(exc, OperationalError):
        return None
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    sqlstate = getattr(orig, "sqlstate", None) or ""
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    column = getattr(diag, "column_name", None) if diag is not None else None
    if isinstance(exc, IntegrityError):
        field, text_ = _CONSTRAINTS.get(constraint or "", (column, None))
        if text_ is None:
            kind = {
                "23505": "unique",
                "23514": "check",
                "23503": "foreign-key",
                "23502": "not-null",
            }.get(sqlstate, "integrity")
            text_ = f"the data violate the {kind} constraint {constraint or column or ''}".strip()
        details = {"constraint": constraint, "field": field}
        if sqlstate == "23505":
            return Conflict(text_, details=details)
        return InvalidInput(text_, details=details)
    if isinstance(exc, DataError):
        message = _DATA_ERRORS.get(sqlstate)
        if message is None:
            raw = str(orig) if orig is not None else ""
            message = (
                "text values must not contain NUL (0x00) bytes"
                if "NUL" in raw
                else "a value cannot be stored (wrong type or out of range)"
            )
        return InvalidInput(message, details={"field": column} if column else None)
    return None
