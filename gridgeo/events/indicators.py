"""Closed-loop indicators per grid, street or department over a period, and the overdue list.

Input
-----
A table with one row per event (pure pandas; times timezone-aware):

=================  ===========================================================
column             meaning
=================  ===========================================================
``event_id``       identifier (needed by :func:`overdue_list`)
``reported_at``    上报 time
``registered_at``  立案 time, NaT if never registered; the clock starts here
``closed_at``      结案 time, NaT while open
``due_at``         deadline including extensions (:func:`~.deadlines.due_at`)
``status``         workflow state; ``"cancelled"`` events are left out of
                   every count but ``reported``, ``registered`` and
                   ``cancelled`` (a ``cancelled`` bool column also works)
``deferred``       bool, an extension (延期) was granted; or ``deferred_hours``
                   (> 0 means deferred); neither means no event was deferred
grouping column    ``grid_code``, ``street_code`` or ``department`` (any column
                   name works); ``street_code`` is derived as
                   ``grid_code[:9]`` when absent
=================  ===========================================================

Other columns (``category_code``, ``dispatched_at``, ``handled_at`` …) are
ignored here and kept by :func:`overdue_list`.

Definitions
-----------
The period is half-open, ``[period_start, period_end)``, and is cut at
``now``: ``as_of = min(period_end, now)``. "In the period" means in
``[period_start, as_of)``. A *live* event is registered, not cancelled and has
a due time.

``reported``, ``registered``, ``closed``
    Events whose 上报, 立案 or 结案 time is in the period (``closed`` is 结案数).
``cancelled``
    Events reported in the period that are cancelled.
``due`` (应结案数)
    Live events whose **first of closure and deadline** — ``min(closed_at,
    due_at)`` — is in the period: events closed in the period before their
    deadline, and events whose deadline passed in the period (closed late or
    still open). Every live event is thus due in exactly one period, the one
    in which it was closed on time or fell due, so periods add up.
``deferred`` (延期数)
    Due events with an extension.
``closed_on_time`` (按期结案数)
    Due events without an extension closed at or before ``due_at``.
``on_time_closure_rate`` (按期结案率)
    ``closed_on_time / (due − deferred)``: deferred events leave both the
    numerator and the denominator (the extension is an approved exception),
    so the rate stays in [0, 1]. NaN when the denominator is 0.
``due_closed``, ``closure_rate`` (结案率)
    Due events closed before ``as_of``, and ``due_closed / due``.
``overdue``
    Due events not closed by their deadline (closed late or still open at
    ``as_of``), deferred ones included.
``overdue_open`` (超期未结案)
    A stock, not a flow: live events registered before ``as_of``, not closed
    before ``as_of``, whose deadline is before ``as_of`` — whenever they fell due.
``mean_handling_hours``
    Mean working hours from 立案 to 结案 of the events closed in the period.

Examples
--------
>>> tz = "Asia/Shanghai"
>>> T = lambda s: pd.Timestamp(s, tz=tz) if s else pd.NaT
>>> ev = pd.DataFrame({
...     "event_id": ["a", "b", "c"], "department": ["城管", "城管", "环卫"],
...     "reported_at": [T("2026-03-02 09:00")] * 3,
...     "registered_at": [T("2026-03-02 09:00")] * 3,
...     "closed_at": [T("2026-03-02 11:00"), T("2026-03-03 11:00"), None],
...     "due_at": [T("2026-03-02 14:00")] * 3,
...     "status": ["closed", "closed", "dispatched"]})
>>> out = indicators(ev, by="department", period_start=T("2026-03-01"),
...                  period_end=T("2026-04-01"), now=T("2026-03-10"))
>>> out[["department", "due", "closed_on_time", "on_time_closure_rate", "overdue_open"]]
  department  due  closed_on_time  on_time_closure_rate  overdue_open
0         城管    2               1                   0.5             0
1         环卫    1               0                   0.0             1
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.events.calendar import DEFAULT_CALENDAR, WorkingCalendar

__all__ = ["INDICATOR_COLUMNS", "indicators", "overdue_list"]

INDICATOR_COLUMNS: Final[tuple[str, ...]] = (
    "reported",
    "registered",
    "cancelled",
    "closed",
    "due",
    "deferred",
    "closed_on_time",
    "due_closed",
    "overdue",
    "overdue_open",
    "on_time_closure_rate",
    "closure_rate",
    "mean_handling_hours",
)
"""Columns of :func:`indicators` after the grouping column, in order."""

_TIME_COLUMNS: Final = ("reported_at", "registered_at", "closed_at", "due_at")


def _instant(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} is not a time: {value!r}") from None
    if ts is pd.NaT or ts.tzinfo is None:
        raise InvalidInput(f"{name} must be a timezone-aware time, got {value!r}")
    return ts


def _times(events: pd.DataFrame, column: str) -> pd.DatetimeIndex:
    try:
        idx = pd.DatetimeIndex(events[column])
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"column {column} does not hold times: {exc}") from None
    if idx.tz is None and idx.notna().any():
        raise InvalidInput(f"column {column} must hold timezone-aware times")
    return idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")


def _require(events: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise InvalidInput(f"the events table lacks column(s) {', '.join(missing)}")


def _cancelled(events: pd.DataFrame) -> np.ndarray:
    if "status" in events.columns:
        return np.asarray(events["status"].astype(object) == "cancelled", dtype=bool)
    if "cancelled" in events.columns:
        return np.asarray(events["cancelled"].fillna(False).astype(bool))
    raise InvalidInput("the events table needs a status (or cancelled) column")


def _deferred(events: pd.DataFrame) -> np.ndarray:
    if "deferred" in events.columns:
        return np.asarray(events["deferred"].fillna(False).astype(bool))
    if "deferred_hours" in events.columns:
        return np.asarray(events["deferred_hours"].fillna(0).astype(float) > 0)
    return np.zeros(len(events), dtype=bool)


def _group_key(events: pd.DataFrame, by: str) -> pd.Series:
    if by in events.columns:
        return events[by].reset_index(drop=True)
    if by == "street_code" and "grid_code" in events.columns:
        return events["grid_code"].astype("string").str[:9].reset_index(drop=True).rename(by)
    raise InvalidInput(
        f"cannot group by {by!r}: no such column"
        + (
            " (street_code is derived from grid_code when that exists)"
            if by == "street_code"
            else ""
        )
    )


def indicators(
    events: pd.DataFrame,
    *,
    by: str | None,
    period_start: Any,
    period_end: Any,
    now: Any,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> pd.DataFrame:
    """Counts and rates of the closed loop per group over ``[period_start, period_end)``.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event; columns in the module docstring. Not modified.
    by : str or None
        Grouping column (``"grid_code"``, ``"street_code"``, ``"department"``
        …); ``None`` gives one row for all events, without a key column.
    period_start, period_end : timezone-aware datetime
        The period, half-open.
    now : timezone-aware datetime
        The instant the data describe; the period is cut there.
    calendar : WorkingCalendar
        For ``mean_handling_hours``.

    Returns
    -------
    pandas.DataFrame
        One row per group value present in ``events`` (missing values form
        their own row), sorted by it: the grouping column, then
        :data:`INDICATOR_COLUMNS` (counts as int64, rates and hours as float,
        NaN when undefined).

    Raises
    ------
    InvalidInput
        On a missing column, naive times, or an empty period.

    Examples
    --------
    See the module docstring.
    """
    start = _instant(period_start, "period_start")
    end = _instant(period_end, "period_end")
    at = _instant(now, "now")
    if not start < end:
        raise InvalidInput(f"the period ends ({end}) before or when it starts ({start})")
    _require(events, _TIME_COLUMNS)
    as_of = min(end, at)
    reported, registered, closed, due = (_times(events, c) for c in _TIME_COLUMNS)
    cancelled = _cancelled(events)
    deferred = _deferred(events)

    def in_period(t: pd.DatetimeIndex) -> np.ndarray:
        return np.asarray((t >= start) & (t < as_of), dtype=bool)

    try:
        has_closed = np.asarray(closed.notna())
        on_time = has_closed & np.asarray(closed <= due)
        falls = due.where(~on_time, closed)  # min(closed_at, due_at) for live events
        live = np.asarray(registered.notna() & due.notna()) & ~cancelled
        is_due = live & in_period(falls)
        closed_in = in_period(closed)
        open_at_end = ~has_closed | np.asarray(closed >= as_of)
        flags = {
            "reported": in_period(reported),
            "registered": in_period(registered),
            "cancelled": in_period(reported) & cancelled,
            "closed": closed_in,
            "due": is_due,
            "deferred": is_due & deferred,
            "closed_on_time": is_due & ~deferred & on_time,
            "due_closed": is_due & has_closed & np.asarray(closed < as_of),
            "overdue": is_due & ~on_time,
            "overdue_open": live
            & np.asarray(registered < as_of)
            & open_at_end
            & np.asarray(due < as_of),
        }
    except TypeError as exc:
        raise InvalidInput(f"cannot compare the event times with the period: {exc}") from None

    handled = closed_in & np.asarray(registered.notna())
    hours = np.full(len(events), np.nan)
    if handled.any():
        hours[handled] = calendar.working_hours_between(registered[handled], closed[handled])

    table = pd.DataFrame({name: values.astype(np.int64) for name, values in flags.items()})
    table["mean_handling_hours"] = hours
    key_name = by if by is not None else "_all"
    key = _group_key(events, by) if by is not None else pd.Series(np.zeros(len(events)))
    table.insert(0, key_name, key.to_numpy())
    grouped = table.groupby(key_name, dropna=False, sort=True)
    counts = grouped[list(flags)].sum()
    counts["mean_handling_hours"] = grouped["mean_handling_hours"].mean()
    if by is None and counts.empty:
        counts = pd.DataFrame({name: [0] for name in flags}, index=pd.Index([0.0], name=key_name))
        counts["mean_handling_hours"] = np.nan
    counts["on_time_closure_rate"] = _ratio(
        counts["closed_on_time"], counts["due"] - counts["deferred"]
    )
    counts["closure_rate"] = _ratio(counts["due_closed"], counts["due"])
    out = counts.reset_index()[[key_name, *INDICATOR_COLUMNS]]
    return out.drop(columns=key_name) if by is None else out


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    num = numerator.to_numpy(dtype=np.float64)
    den = denominator.to_numpy(dtype=np.float64)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return pd.Series(out, index=numerator.index)


def overdue_list(
    events: pd.DataFrame, now: Any, *, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> pd.DataFrame:
    """Open events past their deadline at ``now`` (超期未结案清单), most overdue first.

    An event is listed when it is registered, not cancelled, not closed
    before ``now`` and ``due_at < now`` (the same rule as ``overdue_open`` in
    :func:`indicators`).

    Parameters
    ----------
    events : pandas.DataFrame
        ``event_id``, ``registered_at``, ``closed_at``, ``due_at`` and
        ``status`` (or ``cancelled``); other columns are kept. Not modified.
    now : timezone-aware datetime
    calendar : WorkingCalendar
        For ``overdue_hours``.

    Returns
    -------
    pandas.DataFrame
        The listed rows with all their columns plus ``overdue_hours`` (working
        hours from ``due_at`` to ``now``), sorted by ``overdue_hours``
        descending then ``event_id``; a fresh 0…n−1 index.

    Examples
    --------
    >>> tz = "Asia/Shanghai"
    >>> ev = pd.DataFrame({"event_id": ["a", "b", "c"], "status": ["dispatched"] * 3,
    ...     "registered_at": pd.DatetimeIndex(["2026-03-02 09:00"] * 3, tz=tz),
    ...     "closed_at": pd.DatetimeIndex([None, None, "2026-03-02 11:00"], tz=tz),
    ...     "due_at": pd.DatetimeIndex(["2026-03-02 10:00", "2026-03-02 16:00",
    ...                                 "2026-03-02 10:00"], tz=tz)})
    >>> overdue_list(ev, pd.Timestamp("2026-03-02 17:00", tz=tz))[["event_id", "overdue_hours"]]
      event_id  overdue_hours
    0        a            5.5
    1        b            1.0
    """
    at = _instant(now, "now")
    _require(events, ("event_id", "registered_at", "closed_at", "due_at"))
    registered, closed, due = (_times(events, c) for c in ("registered_at", "closed_at", "due_at"))
    try:
        listed = (
            np.asarray(registered.notna() & (registered < at))
            & ~_cancelled(events)
            & np.asarray(closed.isna() | (closed >= at))
            & np.asarray(due < at)
        )
    except TypeError as exc:
        raise InvalidInput(f"cannot compare the event times with now: {exc}") from None
    out = events.loc[listed].copy()
    out["overdue_hours"] = (
        calendar.working_hours_between(due[listed], at) if listed.any() else np.zeros(0)
    )
    return out.sort_values(
        ["overdue_hours", "event_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
