"""Settings of gridgeo, read from ``GRIDGEO_*`` environment variables.

``GRIDGEO_DATABASE_URL`` selects a PostgreSQL/PostGIS server; without it
gridgeo uses its project-local cluster (see :mod:`gridgeo.store.localdb`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """Return the directory holding gridgeo's local state (database cluster).

    A source checkout (the package sits next to ``pyproject.toml``) keeps its
    state in ``<checkout>/.gridgeo`` so that two clones never share a cluster;
    an installed package uses ``~/.local/share/gridgeo``.

    Returns
    -------
    pathlib.Path
        The state directory (not created here).
    """
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout / ".gridgeo"
    return Path.home() / ".local" / "share" / "gridgeo"


def normalize_database_url(url: str) -> str:
    """Normalise a ``postgresql://`` URL to SQLAlchemy's psycopg 3 driver.

    Parameters
    ----------
    url : str
        A libpq-style ``postgresql://`` / ``postgres://`` URL or a full
        SQLAlchemy URL.

    Returns
    -------
    str
        The URL with the ``postgresql+psycopg`` scheme when no driver was named.

    Examples
    --------
    >>> normalize_database_url("postgresql://u@localhost/db")
    'postgresql+psycopg://u@localhost/db'
    >>> normalize_database_url("postgresql+psycopg://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Runtime configuration (environment variables with the ``GRIDGEO_`` prefix).

    Attributes
    ----------
    database_url : str or None
        Server to use; ``None`` means the project-local cluster.
    home : pathlib.Path
        Directory for local state (the local cluster lives in ``home/pg``).
    batch_limit : int
        Most points accepted by one ``POST /v1/locate``.
    upload_limit_bytes : int
        Largest accepted upload.
    open_reads : bool
        Whether reads of boundaries, locate and maps need no token.
    index_refresh_seconds : float
        How often each API process checks for a newly published generation.
    baseline_endpoints : bool
        Serve the benchmark baselines (``/bench/...``), off by default.
    cors_origins : str
        Comma-separated origins allowed by CORS (``*``: any origin, the
        default; empty: no CORS headers). Credentials (cookies) are never
        allowed; bearer tokens travel in the ``Authorization`` header.
    page_max : int
        Largest page of ``/v1/grids`` and OGC API items (a larger ``limit``
        is cut to it).
    tile_cache_size : int
        Vector tiles kept in memory per API process.
    timezone : str
        IANA zone of times given without one (``at=2026-01-01``,
        ``start=2026-01-01T08:00``); ``GRIDGEO_TIMEZONE``, default Asia/Shanghai.
    boundary_tolerance_m : float
        Locate: a point within this many metres of a boundary is on it (it
        follows the lowest-code rule and reports ``on_boundary``); 1 mm by
        default. Read by :func:`gridgeo.locate.default_tolerance_m`.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDGEO_", extra="ignore")

    database_url: str | None = None
    home: Path = default_home()
    batch_limit: int = 100_000
    upload_limit_bytes: int = 200 * 1024 * 1024
    open_reads: bool = True
    index_refresh_seconds: float = 2.0
    baseline_endpoints: bool = False
    cors_origins: str = "*"
    page_max: Annotated[int, Field(ge=1)] = 10_000
    tile_cache_size: Annotated[int, Field(ge=0)] = 2048
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"GRIDGEO_TIMEZONE: unknown time zone {value[:60]!r}") from exc
        return value
    boundary_tolerance_m: float = 0.001

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else None
