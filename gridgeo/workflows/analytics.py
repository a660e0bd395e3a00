"""Analytics on stored data: hot spots, emerging hot spots and patrol coverage.

:class:`AnalyticsData` reads the active generation's units, the events and
the GPS fixes from PostGIS and caches them (units per generation, events
until their count or newest id changes, coverage per window), so repeated
map and API requests only pay for the statistics. The API keeps one per
process; the CLI makes one per command.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gridgeo.errors import NotFound
from gridgeo.heatmaps.layers import coverage_layer, emerging_layer, hotspot_layer
from gridgeo.store.generations import active_generation
from gridgeo.store.units import read_units
from gridgeo.tracks.pipeline import TrackAnalysis, analyse_tracks

EVENTS_SQL = (
    "SELECT event_id, category_code, category_l1, category_l2, source, reported_at, "
    "ST_X(geom) AS lon, ST_Y(geom) AS lat, 'cgcs2000' AS crs, owner_code FROM events"
)
FIXES_SQL = (
    "SELECT worker_id, patrol_id, t, ST_X(geom) AS lon, ST_Y(geom) AS lat, "
    "'cgcs2000' AS crs, accuracy_m, speed_mps, bearing_deg, altitude_m, provider, is_mock, "
    "satellites, received_at FROM track_fixes WHERE t >= :start AND t < :end "
    "ORDER BY worker_id, t"
)


class AnalyticsData:
    """Cached inputs of the analytics, read from the database.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._units: tuple[int, gpd.GeoDataFrame] | None = None
        self._events: tuple[tuple[int, int], pd.DataFrame] | None = None
        self._tracks: dict[tuple[Any, ...], TrackAnalysis] = {}

    def units(self) -> tuple[int, gpd.GeoDataFrame]:
        """The active generation's id and units."""
        with Session(self._engine) as session:
            generation = active_generation(session).id
            cached = self._units
            if cached is None or cached[0] != generation:
                cached = (generation, read_units(session, generation))
                self._units = cached
        return cached

    def events(self) -> pd.DataFrame:
        """All events (storage lon/lat, owner code at report time)."""
        with Session(self._engine) as session:
            key_row = session.execute(
                text("SELECT count(*), coalesce(max(id), 0) FROM events")
            ).one()
            key = (int(key_row[0]), int(key_row[1]))
            cached = self._events
            if cached is None or cached[0] != key:
                frame = pd.read_sql(text(EVENTS_SQL), session.connection())
                frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
                cached = (key, frame)
                self._events = cached
        if cached[1].empty:
            raise NotFound("no events are stored yet")
        return cached[1]

    def fix_window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The 30 days ending at the newest stored fix."""
        with Session(self._engine) as session:
            newest = session.execute(text("SELECT max(t) FROM track_fixes")).scalar()
        if newest is None:
            raise NotFound("no GPS fixes are stored yet")
        end = pd.Timestamp(newest).ceil("D")
        return end - pd.Timedelta(days=30), end

    def tracks(self, start: datetime | None, end: datetime | None, h3_res: int = 10
               ) -> tuple[TrackAnalysis, pd.Timestamp]:
        """Track analysis over ``[start, end)`` (default: the last 30 days of fixes)."""
        if start is None or end is None:
            default_start, default_end = self.fix_window()
            start, end = start or default_start, end or default_end
        generation, units = self.units()
        key = (generation, pd.Timestamp(start), pd.Timestamp(end), h3_res)
        with self._lock:
            if key not in self._tracks:
                with Session(self._engine) as session:
                    fixes = pd.read_sql(text(FIXES_SQL), session.connection(),
                                        params={"start": start, "end": end})
                    roster = pd.read_sql(text("SELECT * FROM workers"), session.connection())
                if fixes.empty:
                    raise NotFound(f"no GPS fixes between {start} and {end}")
                fixes["t"] = pd.to_datetime(fixes["t"], utc=True)
                self._tracks = {key: analyse_tracks(
                    fixes, roster, units, window=(start, end), h3_res=h3_res)}
        return self._tracks[key], pd.Timestamp(end)


def hotspots(data: AnalyticsData, **options: Any) -> gpd.GeoDataFrame:
    """Gi* hot spots of the stored events (options of :func:`hotspot_layer`)."""
    _, units = data.units()
    return hotspot_layer(data.events(), units, **options)


def emerging(data: AnalyticsData, **options: Any) -> gpd.GeoDataFrame:
    """Emerging hot spots of the stored events (options of :func:`emerging_layer`)."""
    _, units = data.units()
    return emerging_layer(data.events(), units, **options)


def coverage(
    data: AnalyticsData, *, start: datetime | None = None, end: datetime | None = None,
    days: float = 7, target: float | None = 0.6, h3_res: int = 10,
) -> gpd.GeoDataFrame:
    """Coverage gaps per grid: not visited within ``days``, or below ``target``."""
    analysis, now = data.tracks(start, end, h3_res)
    _, units = data.units()
    return coverage_layer(analysis.coverage, units, now=now, days=days, target=target)
