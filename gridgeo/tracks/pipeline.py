"""The whole track analysis in one call: validate, clean, split, join, cover, flag.

:func:`analyse_tracks` runs the steps of :mod:`gridgeo.tracks` in their
documented order and returns every intermediate product, so the API and the
command line can store or show what they need.

Examples
--------
>>> import geopandas as gpd, pandas as pd, shapely
>>> units = gpd.GeoDataFrame({"code": ["330109", "330109001", "330109001001",
...     "330109001001001"], "parent_code": [None, "330109", "330109001", "330109001001"],
...     "level": ["district", "street", "community", "grid"], "kind": "base", "name": "x"},
...     geometry=[shapely.box(120.0, 30.0, 120.01, 30.01)] * 4, crs=4490)
>>> roster = pd.DataFrame({"worker_id": ["W1"], "grid_code": ["330109001001001"]})
>>> t = pd.date_range("2026-10-01 01:00", periods=30, freq="30s", tz="UTC")
>>> raw = pd.DataFrame({"worker_id": "W1", "t": t, "lon": 120.001 + 0.0002 * t.minute,
...                     "lat": 30.005, "crs": "wgs84", "accuracy_m": 5.0})
>>> result = analyse_tracks(raw, roster, units)
>>> len(result.fixes), result.coverage["visits"].tolist(), len(result.flags)
(30, [1], 0)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.locate import LocateIndex
from gridgeo.tracks.authenticity import Thresholds, authenticity_flags
from gridgeo.tracks.clean import clean_fixes
from gridgeo.tracks.coverage import grid_coverage, worker_coverage
from gridgeo.tracks.join import join_to_grids
from gridgeo.tracks.patrols import patrol_summary, split_patrols
from gridgeo.tracks.validate import validate_fixes

__all__ = ["TrackAnalysis", "analyse_tracks", "build_indexes"]


@dataclass(frozen=True)
class TrackAnalysis:
    """Everything :func:`analyse_tracks` computed.

    Attributes
    ----------
    fixes : pandas.DataFrame
        Cleaned fixes in WGS84 with ``patrol_key`` and the join columns.
    rejects : pandas.DataFrame
        Row-level validation problems (``row, field, reason``).
    dropped : pandas.DataFrame
        Rows removed by cleaning, with ``reason``.
    patrols : pandas.DataFrame
        :func:`~gridgeo.tracks.patrols.patrol_summary`.
    grid_time : pandas.DataFrame
        Time and distance per patrol and grid.
    coverage : pandas.DataFrame
        :func:`~gridgeo.tracks.coverage.grid_coverage`.
    worker_coverage : pandas.DataFrame
        :func:`~gridgeo.tracks.coverage.worker_coverage`.
    flags : pandas.DataFrame
        :func:`~gridgeo.tracks.authenticity.authenticity_flags`.
    """

    fixes: pd.DataFrame
    rejects: pd.DataFrame
    dropped: pd.DataFrame
    patrols: pd.DataFrame
    grid_time: pd.DataFrame
    coverage: pd.DataFrame
    worker_coverage: pd.DataFrame
    flags: pd.DataFrame


def build_indexes(units: gpd.GeoDataFrame) -> tuple[LocateIndex, LocateIndex]:
    """The locate index over all units and the one over base units only."""
    if not isinstance(units, gpd.GeoDataFrame) or "kind" not in units.columns:
        raise InvalidInput("units must be a GeoDataFrame with a 'kind' column")
    return LocateIndex.build(units), LocateIndex.build(units[units["kind"] == "base"])


def analyse_tracks(
    frame: pd.DataFrame,
    roster: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    index: LocateIndex | None = None,
    base_index: LocateIndex | None = None,
    window: tuple[Any, Any] | None = None,
    now: Any = None,
    h3_res: int = 10,
    gap_minutes: float = 15,
    max_accuracy_m: float = 50.0,
    max_speed_mps: float = 40.0,
    thresholds: Thresholds | None = None,
    all_or_nothing: bool = False,
) -> TrackAnalysis:
    """Validate, clean, split, join, compute coverage and flag a batch of fixes.

    Parameters
    ----------
    frame : pandas.DataFrame
        Fixes as read by :func:`~gridgeo.tracks.io.read_fixes`.
    roster : pandas.DataFrame
        ``worker_id, grid_code``: fixes of other workers are rejected.
    units : geopandas.GeoDataFrame
        The generation's units (EPSG:4490).
    index, base_index : LocateIndex, optional
        Prebuilt indexes (:func:`build_indexes`); built here when missing.
    window, now, h3_res : see :func:`~gridgeo.tracks.coverage.grid_coverage`.
    gap_minutes : float, default 15
        Patrol split gap.
    max_accuracy_m, max_speed_mps : see :func:`~gridgeo.tracks.clean.clean_fixes`.
    thresholds : Thresholds, optional
        Authenticity thresholds; ``gap_minutes`` of it is set to ``gap_minutes``.
    all_or_nothing : bool, default False
        Refuse the batch when any row is bad (see :mod:`gridgeo.tracks.validate`).

    Returns
    -------
    TrackAnalysis
    """
    if index is None or base_index is None:
        built = build_indexes(units)
        index = index or built[0]
        base_index = base_index or built[1]
    th = thresholds or Thresholds()
    if th.gap_minutes != gap_minutes:
        th = replace(th, gap_minutes=gap_minutes)
    good, rejects = validate_fixes(
        frame, roster["worker_id"].astype("str"), now=now, all_or_nothing=all_or_nothing
    )
    cleaned = clean_fixes(good, max_accuracy_m=max_accuracy_m, max_speed_mps=max_speed_mps)
    split = split_patrols(cleaned.fixes, gap_minutes=gap_minutes)
    joined = join_to_grids(split, index, base_index=base_index, gap_minutes=gap_minutes)
    fixes = joined.fixes
    coverage = grid_coverage(
        fixes, units, h3_res=h3_res, window=window, now=now, gap_minutes=gap_minutes
    )
    per_worker = worker_coverage(
        fixes, roster, units, h3_res=h3_res, window=window, now=now, gap_minutes=gap_minutes
    )
    flags = authenticity_flags(
        fixes, roster, index, base_index=base_index, dropped=cleaned.dropped, thresholds=th
    )
    return TrackAnalysis(
        fixes=fixes,
        rejects=rejects,
        dropped=cleaned.dropped,
        patrols=patrol_summary(fixes),
        grid_time=joined.grid_time,
        coverage=coverage,
        worker_coverage=per_worker,
        flags=flags,
    )
