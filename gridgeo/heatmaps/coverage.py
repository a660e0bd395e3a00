"""Patrol coverage gaps: places not visited within N days, grids below a coverage target.

The tracks work computes, per H3 cell or grid, when a worker was last there
and (for grids) the share of the grid's cells visited within a window;
:func:`coverage_gaps` turns those into flags an analyst can map.

Examples
--------
>>> import pandas as pd
>>> visits = pd.DataFrame({
...     "location": ["g1", "g2", "g3"],
...     "last_visit": pd.to_datetime(["2025-06-29", "2025-06-01", None], utc=True),
...     "coverage": [0.95, 0.90, 0.0]})
>>> gaps = coverage_gaps(visits, now=pd.Timestamp("2025-06-30", tz="UTC"), days=7, target=0.9)
>>> gaps["days_since_visit"].tolist()
[1.0, 29.0, nan]
>>> gaps[["stale", "below_target", "gap"]].to_numpy().tolist()
[[False, False, False], [True, False, True], [True, True, True]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from gridgeo.errors import InvalidInput

__all__ = ["coverage_gaps"]


def coverage_gaps(
    visits: pd.DataFrame,
    *,
    now: Any,
    days: float,
    target: float | None = None,
    locations: ArrayLike | None = None,
    location: str = "location",
    last_visit: str = "last_visit",
    coverage: str = "coverage",
) -> pd.DataFrame:
    """Flag locations not visited within ``days`` and grids below a coverage ``target``.

    Parameters
    ----------
    visits : pandas.DataFrame
        One row per location (H3 cell or grid code) with the time of the
        last visit (NaT: never visited) and, for the target check, a
        ``coverage`` share in ``[0, 1]``.
    now : datetime-like
        Reference time (naive means UTC).
    days : float
        A location whose last visit is more than ``days`` before ``now``,
        or that was never visited, is *stale*.
    target : float, optional
        Coverage target in ``[0, 1]`` (for example 0.8 = 80 % of a grid's
        cells visited); ``below_target`` is set where ``coverage < target``
        (a missing coverage counts as 0). Without a target it is all False.
    locations : array_like, optional
        The whole study area: locations missing from ``visits`` are added as
        never visited (coverage 0).
    location, last_visit, coverage : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per location, in input order (added locations last), with
        ``location``, ``last_visit``, ``coverage`` (when given),
        ``days_since_visit`` (float, NaN if never), ``stale``,
        ``below_target`` and ``gap`` (stale or below target).

    Raises
    ------
    InvalidInput
        For missing columns (``coverage`` is required with a target),
        repeated locations, a negative ``days`` or a target or coverage
        outside ``[0, 1]``.
    """
    for col in (location, last_visit):
        if col not in visits.columns:
            raise InvalidInput(f"visits have no {col!r} column")
    if not np.isfinite(days) or days < 0:
        raise InvalidInput(f"days must be a non-negative number, got {days}")
    if target is not None and not 0 <= target <= 1:
        raise InvalidInput(f"target must be a share in [0, 1], got {target}")
    if target is not None and coverage not in visits.columns:
        raise InvalidInput(f"a coverage target needs a {coverage!r} column in visits")
    if visits[location].duplicated().any():
        dup = visits.loc[visits[location].duplicated(), location].iloc[0]
        raise InvalidInput(f"location {dup!r} appears twice in visits")
    cols = [location, last_visit] + ([coverage] if coverage in visits.columns else [])
    out = visits[cols].rename(
        columns={location: "location", last_visit: "last_visit", coverage: "coverage"}
    )
    out = out.reset_index(drop=True)
    if locations is not None:
        extra = pd.Index(np.asarray(locations, dtype=object)).difference(
            out["location"], sort=False
        )
        if len(extra):
            out = pd.concat([out, pd.DataFrame({"location": extra})], ignore_index=True)
    try:
        seen = pd.to_datetime(out["last_visit"], utc=True)
    except (TypeError, ValueError):
        raise InvalidInput(f"{last_visit!r} must hold datetimes") from None
    ref = pd.Timestamp(now)
    ref = ref.tz_localize("UTC") if ref.tz is None else ref
    out["last_visit"] = seen
    out["days_since_visit"] = (ref - seen).dt.total_seconds() / 86400.0
    out["stale"] = ~(out["days_since_visit"] <= days)
    if "coverage" in out.columns:
        share = pd.to_numeric(out["coverage"])
        valid = share.dropna()
        if ((valid < 0) | (valid > 1)).any():
            raise InvalidInput("coverage must be a share in [0, 1]")
        out["coverage"] = share.fillna(0.0)
    out["below_target"] = (
        out["coverage"] < target if target is not None else pd.Series(False, index=out.index)
    )
    out["gap"] = out["stale"] | out["below_target"]
    return out
