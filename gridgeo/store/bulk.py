"""Bulk loading through PostgreSQL ``COPY`` (millions of rows in seconds)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session


def point_ewkb_hex(lon: np.ndarray, lat: np.ndarray, srid: int = 4490) -> np.ndarray:
    """Encode points as hex EWKB, PostGIS's text input format for geometries.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Coordinates in the target CRS.
    srid : int

    Returns
    -------
    numpy.ndarray of str
    """
    points = shapely.set_srid(shapely.points(lon, lat), srid)
    return np.asarray(shapely.to_wkb(points, hex=True, include_srid=True))


def copy_frame(session: Session, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> int:
    """COPY a DataFrame's columns into a table within the session's transaction.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    table : str
        Target table (trusted identifier).
    frame : pandas.DataFrame
        Values; missing values become NULL, timestamps must be timezone-aware.
    columns : sequence of str
        Columns to copy, in this order.

    Returns
    -------
    int
        Rows copied.
    """
    if frame.empty:
        return 0
    buffer = io.StringIO()
    frame.loc[:, list(columns)].to_csv(
        buffer, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%dT%H:%M:%S.%f%z"
    )
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[attr-defined]
        copy.write(buffer.getvalue())
    return len(frame)


def ensure_monthly_partitions(session: Session, table: str, start: date, end: date) -> list[str]:
    """Create the monthly range partitions of ``table`` covering ``[start, end]``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    table : str
        A table partitioned ``BY RANGE`` on a timestamptz column.
    start, end : datetime.date

    Returns
    -------
    list of str
        Names of the partitions (existing or created).
    """
    names = []
    month = date(start.year, start.month, 1)
    while month <= end:
        following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        name = f"{table}_{month:%Y%m}"
        exists = session.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
        if exists is None:
            session.execute(
                text(
                    f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM "
                    f"('{month.isoformat()} 00:00+00') TO ('{following.isoformat()} 00:00+00')"
                )
            )
        names.append(name)
        month = following
    return names
