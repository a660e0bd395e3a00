"""Row-level validation of a batch of fixes, and conversion to WGS84.

Policy
------
**Good rows are kept, bad rows are reported.** :func:`validate_fixes` never
refuses a batch because some rows are bad: it returns the good rows and a
``rejects`` table with one line per problem (a row can have several).
A GPS batch is a stream of independent measurements, and dropping a whole
day of a worker's patrols because one fix lacks a time would lose far more
than it protects. Callers that need all-or-nothing (an import whose source
must be fixed first) pass ``all_or_nothing=True`` and get
:class:`~gridgeo.errors.InvalidInput` with the rejects in ``details`` when
any row is bad; nothing is returned then.

Checks, in order (``field`` — ``reason``):

* ``worker_id`` — ``missing worker_id``; ``unknown worker 'W9'`` when
  ``known_workers`` is given and does not list it;
* ``t`` — ``missing or unparseable time``; ``time in the future`` when
  ``now`` is given and the fix is more than ``future_tolerance`` after it;
* ``lon``/``lat`` — ``missing or non-numeric coordinates``; ``longitude
  190.0 outside [-180, 180]`` / ``latitude ... outside [-90, 90]``;
  ``coordinates (0, 0): a device default, not a fix`` (the "null island"
  that GPS chips report before their first fix);
* ``crs`` — ``unknown crs 'xyz'``;
* ``accuracy_m`` — ``negative accuracy``. Missing accuracy is allowed
  (unknown, not bad).

A fix far from any grid is *not* rejected here: it is a valid measurement
and the authenticity checks report it (``outside``, ``teleport``).
Duplicates are not rejects either; cleaning removes them
(:func:`gridgeo.tracks.clean.clean_fixes`).

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"worker_id": ["W1", "W2", None], "t": ["2026-10-01T08:00Z"] * 3,
...                     "lon": [120.27, 120.27, 0.0], "lat": [30.17, 95.0, 0.0]})
>>> good, rejects = validate_fixes(raw, known_workers=["W1", "W2"])
>>> good.index.tolist()
[0]
>>> rejects.to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
[{'row': 1, 'field': 'lat', 'reason': 'latitude 95.0 outside [-90, 90]'},
 {'row': 2, 'field': 'worker_id', 'reason': 'missing worker_id'},
 {'row': 2, 'field': 'lon', 'reason': 'coordinates (0, 0): a device default, not a fix'}]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.tracks._geo import (
    FIX_COLUMNS,
    WGS84_NAMES,
    canonical_crs,
    utc_timestamp,
    wgs84_lonlat,
)
from gridgeo.tracks.io import normalise_fixes

__all__ = ["REJECT_COLUMNS", "as_wgs84", "validate_fixes"]

REJECT_COLUMNS: Final[tuple[str, ...]] = ("row", "field", "reason")
"""Columns of the rejects table: the row's index label, the field, the reason."""

_MAX_LISTED = 1000


def validate_fixes(
    frame: pd.DataFrame,
    known_workers: Iterable[str] | None = None,
    *,
    now: Any = None,
    future_tolerance: pd.Timedelta = pd.Timedelta(minutes=5),
    all_or_nothing: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a batch of fixes into good rows and row-level rejects.

    Parameters
    ----------
    frame : pandas.DataFrame
        Fixes, normalised by :func:`gridgeo.tracks.io.read_fixes` or raw with
        aliased columns (they are normalised first, which keeps the index).
    known_workers : iterable of str, optional
        The roster's worker ids; fixes of other workers are rejected.
    now : datetime-like, optional
        Reference time for the future check (naive means UTC); no check without it.
    future_tolerance : pandas.Timedelta, default 5 minutes
        Device clocks drift; fixes up to this far ahead of ``now`` pass.
    all_or_nothing : bool, default False
        Raise instead of returning when any row is bad (module docstring).

    Returns
    -------
    good : pandas.DataFrame
        The rows without problems, normalised, original index labels kept.
    rejects : pandas.DataFrame
        Columns :data:`REJECT_COLUMNS`, one line per problem, sorted by row.

    Raises
    ------
    InvalidInput
        With ``all_or_nothing`` and any bad row (``details["rejects"]`` lists
        up to 1,000 problems, ``details["rows"]`` counts the bad rows); or
        when required columns are missing.
    """
    fixes = _normalised(frame)
    n = len(fixes)
    problems: list[tuple[np.ndarray, str, Any]] = []

    def add(mask: Any, field: str, reason: Any) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            problems.append((np.flatnonzero(mask), field, reason))

    worker = fixes["worker_id"]
    missing_worker = worker.isna().to_numpy() | (worker.astype("str").str.strip() == "").to_numpy()
    add(missing_worker, "worker_id", "missing worker_id")
    if known_workers is not None:
        known = pd.Index(pd.Series(list(known_workers), dtype="str").unique())
        unknown = ~missing_worker & ~worker.isin(known).to_numpy()
        add(unknown, "worker_id", lambda i: f"unknown worker {worker.iloc[i]!r}")

    t = fixes["t"]
    add(t.isna().to_numpy(), "t", "missing or unparseable time")
    if now is not None:
        limit = utc_timestamp(now, "now") + pd.Timedelta(future_tolerance)
        add((t > limit).fillna(False).to_numpy(dtype=bool), "t", "time in the future")

    lon = fixes["lon"].to_numpy(dtype=np.float64)
    lat = fixes["lat"].to_numpy(dtype=np.float64)
    finite = np.isfinite(lon) & np.isfinite(lat)
    add(~finite, "lon", "missing or non-numeric coordinates")
    with np.errstate(invalid="ignore"):
        add(
            finite & (np.abs(lon) > 180),
            "lon",
            lambda i: f"longitude {lon[i]} outside [-180, 180]",
        )
        add(finite & (np.abs(lat) > 90), "lat", lambda i: f"latitude {lat[i]} outside [-90, 90]")
    add(finite & (lon == 0) & (lat == 0), "lon", "coordinates (0, 0): a device default, not a fix")

    names, unknown_crs = canonical_crs(fixes["crs"])
    add(unknown_crs.to_numpy(), "crs", lambda i: f"unknown crs {names.iloc[i]!r}")

    acc = fixes["accuracy_m"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        add(acc < 0, "accuracy_m", "negative accuracy")

    bad = np.zeros(n, dtype=bool)
    rows: list[np.ndarray] = []
    fields: list[np.ndarray] = []
    reasons: list[np.ndarray] = []
    order: list[np.ndarray] = []
    for k, (pos, field, reason) in enumerate(problems):
        bad[pos] = True
        rows.append(pos)
        fields.append(np.full(pos.size, field, dtype=object))
        if callable(reason):
            reasons.append(np.array([reason(int(i)) for i in pos], dtype=object))
        else:
            reasons.append(np.full(pos.size, reason, dtype=object))
        order.append(np.full(pos.size, k))
    if rows:
        pos_all = np.concatenate(rows)
        sort = np.lexsort((np.concatenate(order), pos_all))
        rejects = pd.DataFrame(
            {
                "row": fixes.index.to_numpy()[pos_all[sort]],
                "field": pd.array(np.concatenate(fields)[sort], dtype="str"),
                "reason": pd.array(np.concatenate(reasons)[sort], dtype="str"),
            }
        )
    else:
        rejects = pd.DataFrame(
            {
                "row": pd.Series(dtype=fixes.index.dtype),
                "field": pd.Series(dtype="str"),
                "reason": pd.Series(dtype="str"),
            }
        )
    if all_or_nothing and bad.any():
        first = rejects.iloc[0]
        raise InvalidInput(
            f"{int(bad.sum())} of {n} fixes are invalid (first: row {first['row']}, "
            f"{first['field']}: {first['reason']}); the batch was refused as a whole",
            details={
                "rows": int(bad.sum()),
                "rejects": rejects.head(_MAX_LISTED).to_dict("records"),
            },
        )
    good = fixes.loc[~bad].copy()
    good["crs"] = names[~bad].astype("str")
    return good, rejects


def as_wgs84(fixes: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``fixes`` with ``lon``/``lat`` in WGS84 and the device CRS kept.

    ``crs`` becomes ``"wgs84"``; ``device_crs`` holds the original label (an
    existing ``device_crs`` column is kept, so the call is idempotent). The
    original coordinates are recovered exactly with
    :func:`gridgeo.crs.from_wgs84` (to about a micrometre).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"worker_id": ["W1"], "t": [pd.Timestamp("2026-10-01", tz="UTC")],
    ...                   "lon": [120.274461], "lat": [30.167548], "crs": ["gcj02"],
    ...                   "accuracy_m": [5.0]})
    >>> w = as_wgs84(f)
    >>> round(float(w["lon"].iloc[0]), 4), w["crs"].iloc[0], w["device_crs"].iloc[0]
    (120.27, 'wgs84', 'gcj02')
    """
    if "crs" not in fixes.columns:
        out = fixes.copy()
        out["crs"] = "wgs84"
        if "device_crs" not in out.columns:
            out["device_crs"] = "wgs84"
        return out
    names, unknown = canonical_crs(fixes["crs"])
    if unknown.any():
        raise InvalidInput(
            f"unknown crs {names[unknown].iloc[0]!r} in the fixes (run validate_fixes first)"
        )
    out = fixes.copy()
    out["crs"] = names.astype("str")
    if not set(pd.unique(out["crs"].to_numpy())) <= WGS84_NAMES:
        out["lon"], out["lat"] = wgs84_lonlat(out)
    if "device_crs" not in out.columns:
        out["device_crs"] = out["crs"]
    out["crs"] = "wgs84"
    return out


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"fixes must be a pandas DataFrame, not {type(frame).__name__}")
    ok = all(c in frame.columns for c in FIX_COLUMNS) and isinstance(
        frame["t"].dtype, pd.DatetimeTZDtype
    )
    if ok:
        return frame
    index = frame.index
    out = normalise_fixes(frame)
    out.index = index
    return out
