"""Shared helpers of the tracks package: columns, times, WGS84 and local metres.

Distances between fixes are computed on a local tangent plane: longitude and
latitude differences times the metres per degree at the points' latitude
(WGS84 ellipsoid). Over the few hundred metres between consecutive fixes the
error is far below GPS noise; over a whole district (tens of km, one
reference latitude, :func:`local_xy`) it stays below 0.2 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from gridgeo.crs import normalize_crs_name, to_wgs84
from gridgeo.errors import CRSMismatch, InvalidInput

FIX_COLUMNS: Final[tuple[str, ...]] = ("worker_id", "t", "lon", "lat", "crs", "accuracy_m")
"""The normalised columns of a fixes table (extra columns are carried along)."""

WGS84_NAMES: Final[frozenset[str]] = frozenset({"wgs84", "cgcs2000"})

FloatArray = NDArray[np.float64]


def require_columns(frame: Any, columns: Iterable[str], what: str) -> None:
    """Raise InvalidInput naming the missing columns of ``frame``."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"{what} must be a pandas DataFrame, not {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{what} lack the columns {missing}", details={"missing": missing})


def metres_per_degree(lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Metres per degree of longitude and of latitude at ``lat`` (WGS84 ellipsoid).

    Examples
    --------
    >>> mx, my = metres_per_degree(30.0)
    >>> round(float(mx)), round(float(my))
    (96486, 110852)
    """
    c = np.cos(np.radians(np.asarray(lat, dtype=np.float64)))
    # cos(k phi) from cos(phi) (Chebyshev polynomials): one trigonometric call.
    c2 = c * c
    cos2 = 2 * c2 - 1
    cos4 = 2 * cos2 * cos2 - 1
    cos6 = cos2 * (2 * cos4 - 1)
    cos3 = c * (4 * c2 - 3)
    cos5 = c * (16 * c2 * c2 - 20 * c2 + 5)
    my = 111132.92 - 559.82 * cos2 + 1.175 * cos4 - 0.0023 * cos6
    mx = 111412.84 * c - 93.5 * cos3 + 0.118 * cos5
    return np.asarray(mx, dtype=np.float64), np.asarray(my, dtype=np.float64)


def local_xy(
    lon: ArrayLike, lat: ArrayLike, origin: tuple[float, float] | None = None
) -> tuple[FloatArray, FloatArray]:
    """East/north metres from ``origin`` (default: the middle of the points' extent)."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if origin is None:
        if x.size == 0:
            return x.copy(), y.copy()
        origin = (
            float((np.nanmin(x) + np.nanmax(x)) / 2),
            float((np.nanmin(y) + np.nanmax(y)) / 2),
        )
    mx, my = metres_per_degree(origin[1])
    return (x - origin[0]) * mx, (y - origin[1]) * my


def distance_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> FloatArray:
    """Local-plane distance in metres between point pairs (accurate for a few km).

    Examples
    --------
    >>> round(float(distance_m(120.0, 30.0, 120.001, 30.0)), 1)
    96.5
    """
    a_lon, a_lat = np.asarray(lon1, dtype=np.float64), np.asarray(lat1, dtype=np.float64)
    b_lon, b_lat = np.asarray(lon2, dtype=np.float64), np.asarray(lat2, dtype=np.float64)
    mx, my = metres_per_degree((a_lat + b_lat) / 2)
    return np.asarray(np.hypot((b_lon - a_lon) * mx, (b_lat - a_lat) * my), dtype=np.float64)


def epoch_seconds(t: pd.Series) -> FloatArray:
    """Seconds since 1970 (UTC) of a timezone-aware datetime Series, as float64."""
    if not isinstance(t.dtype, pd.DatetimeTZDtype):
        raise InvalidInput("column 't' must hold timezone-aware datetimes (run validate_fixes)")
    ns = t.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").astype(np.int64)
    out: FloatArray = ns.astype(np.float64) / 1e9
    if t.isna().any():
        out[t.isna().to_numpy()] = np.nan
    return out


def utc_timestamp(value: Any, name: str) -> pd.Timestamp:
    """A UTC timestamp from any datetime-like; naive values are read as UTC."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} is not a timestamp: {value!r}") from exc
    if ts is pd.NaT:
        raise InvalidInput(f"{name} must not be NaT")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def wgs84_lonlat(fixes: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Longitude/latitude of ``fixes`` in WGS84, converting rows whose ``crs`` differs.

    Without a ``crs`` column the coordinates are taken as WGS84.
    """
    lon = fixes["lon"].to_numpy(dtype=np.float64, copy=True)
    lat = fixes["lat"].to_numpy(dtype=np.float64, copy=True)
    if "crs" not in fixes.columns:
        return lon, lat
    names = fixes["crs"].astype("str").to_numpy(dtype=object)
    for name in pd.unique(names):
        canonical = normalize_crs_name(str(name)) if name is not None else "wgs84"
        if canonical in WGS84_NAMES:
            continue
        sel = names == name
        lon[sel], lat[sel] = to_wgs84(lon[sel], lat[sel], canonical)
    return lon, lat


def canonical_crs(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Canonical CRS names of ``values`` and a mask of unknown names (left as given)."""
    raw = values.astype("object")
    out = raw.copy()
    bad = pd.Series(False, index=values.index)
    for name in pd.unique(raw.dropna().to_numpy()):
        sel = raw == name
        try:
            out[sel] = normalize_crs_name(str(name))
        except CRSMismatch:
            bad |= sel
    return out, bad


def first_of_group(keys: NDArray[Any]) -> NDArray[np.bool_]:
    """True where ``keys[i]`` differs from ``keys[i - 1]`` (and at 0)."""
    out = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        out[1:] = keys[1:] != keys[:-1]
    return out


def group_ids(first: NDArray[np.bool_]) -> NDArray[np.int64]:
    """0, 0, 1, 1, 1, 2 … for group-start flags of sorted rows."""
    out: NDArray[np.int64] = np.cumsum(first).astype(np.int64) - 1
    return out
