"""Splitting each worker's fixes into patrols at time gaps.

A *patrol* is a maximal run of one worker's fixes without a gap longer than
``gap_minutes`` (default 15: patrol apps record every 10–60 s, and a quarter
of an hour without a fix means the app was closed or the worker stopped).
When the app reports its own patrol session (``session`` column, for example
``patrol_id``), a new patrol also starts where the session changes.

``patrol_key`` names a patrol as ``"<worker_id>@<start>"`` with the start
in UTC, ``YYYYMMDDTHHMMSSZ``: stable when the same fixes are processed again
and readable in a report.

Examples
--------
>>> import pandas as pd
>>> t = pd.to_datetime(["2026-10-01 01:00", "2026-10-01 01:01", "2026-10-01 02:00"], utc=True)
>>> fixes = pd.DataFrame({"worker_id": "W1", "t": t, "lon": 120.27, "lat": 30.17})
>>> split_patrols(fixes)["patrol_key"].tolist()
['W1@20261001T010000Z', 'W1@20261001T010000Z', 'W1@20261001T020000Z']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.tracks._geo import distance_m, epoch_seconds, first_of_group, require_columns

__all__ = ["patrol_keys", "patrol_summary", "split_patrols"]


def split_patrols(
    fixes: pd.DataFrame, *, gap_minutes: float = 15, session: str | None = None
) -> pd.DataFrame:
    """Add ``patrol_key`` to each fix, starting a new patrol at each gap.

    Parameters
    ----------
    fixes : pandas.DataFrame
        Cleaned fixes with ``worker_id`` and ``t`` (timezone-aware). Not modified.
    gap_minutes : float, default 15
        A new patrol starts after a gap longer than this.
    session : str, optional
        Column holding the app's patrol session; a change also starts a patrol.

    Returns
    -------
    pandas.DataFrame
        The fixes sorted by ``worker_id`` and ``t`` (original index labels
        kept) with a ``patrol_key`` column (str).

    Raises
    ------
    InvalidInput
        Missing columns or a non-positive ``gap_minutes``.
    """
    require_columns(fixes, ["worker_id", "t", *([session] if session else [])], "fixes")
    if not (np.isfinite(gap_minutes) and gap_minutes > 0):
        raise InvalidInput(f"gap_minutes must be a positive number, not {gap_minutes!r}")
    t = epoch_seconds(fixes["t"])
    if np.isnan(t).any():
        raise InvalidInput("fixes have missing times; run validate_fixes first")
    worker = fixes["worker_id"].to_numpy(dtype=object)
    rank = pd.factorize(worker, sort=True)[0]
    order = np.lexsort((np.arange(len(fixes)), t, rank))
    out = fixes.iloc[order].copy()
    w, ts = worker[order], t[order]
    start = first_of_group(rank[order])
    if len(ts) > 1:
        start[1:] |= np.diff(ts) > gap_minutes * 60.0
        if session is not None:
            s = out[session].to_numpy(dtype=object)
            start[1:] |= s[1:] != s[:-1]
    out["patrol_key"] = patrol_keys(w, ts, start)
    return out


def patrol_keys(worker: np.ndarray, t: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Keys ``"<worker>@<UTC start>"`` for sorted fixes, given the patrol-start flags."""
    first = np.flatnonzero(start)
    stamps = pd.to_datetime(np.round(t[first] * 1000).astype(np.int64), unit="ms", utc=True)
    names = pd.Series(worker[first], dtype="str") + "@" + stamps.strftime("%Y%m%dT%H%M%SZ")
    counts = np.diff(np.append(first, len(t)))
    out: np.ndarray = np.repeat(names.to_numpy(dtype=object), counts)
    return out


def patrol_summary(fixes: pd.DataFrame) -> pd.DataFrame:
    """One row per patrol: start, end, fix count, duration and distance walked.

    ``distance_m`` sums the legs between consecutive fixes (local plane, see
    :mod:`gridgeo.tracks._geo`); coordinates must be WGS84 (cleaned fixes).

    Returns
    -------
    pandas.DataFrame
        Columns ``patrol_key, worker_id, start, end, n_fixes, duration_s,
        distance_m``, sorted by ``worker_id`` and ``start``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2026-10-01 01:00", "2026-10-01 01:01"], utc=True)
    >>> f = split_patrols(pd.DataFrame({"worker_id": "W1", "t": t, "lon": [120.27, 120.271],
    ...                                 "lat": 30.17}))
    >>> patrol_summary(f)[["n_fixes", "duration_s", "distance_m"]].round(1).values.tolist()
    [[2.0, 60.0, 96.3]]
    """
    require_columns(fixes, ["worker_id", "t", "lon", "lat", "patrol_key"], "fixes")
    key = fixes["patrol_key"].to_numpy(dtype=object)
    lon = fixes["lon"].to_numpy(dtype=np.float64)
    lat = fixes["lat"].to_numpy(dtype=np.float64)
    leg = np.zeros(len(fixes))
    if len(fixes) > 1:
        same = key[1:] == key[:-1]
        d = distance_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
        leg[1:] = np.where(same, d, 0.0)
    frame = pd.DataFrame(
        {
            "patrol_key": key,
            "worker_id": fixes["worker_id"].to_numpy(dtype=object),
            "t": fixes["t"].reset_index(drop=True),
            "leg": leg,
        }
    )
    g = frame.groupby("patrol_key", sort=False)
    out = pd.DataFrame(
        {
            "worker_id": g["worker_id"].first(),
            "start": g["t"].min(),
            "end": g["t"].max(),
            "n_fixes": g.size(),
            "distance_m": g["leg"].sum(),
        }
    )
    out["duration_s"] = (out["end"] - out["start"]).dt.total_seconds()
    out = out.reset_index()[
        ["patrol_key", "worker_id", "start", "end", "n_fixes", "duration_s", "distance_m"]
    ]
    return out.sort_values(["worker_id", "start"], kind="stable").reset_index(drop=True)
