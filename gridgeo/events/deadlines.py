"""Due times and overdue flags.

Which clock
-----------
The handling limit of a category (:mod:`gridgeo.events.taxonomy`) runs in
working hours from **registration (立案, ``registered_at``) to closure (结案,
``closed_at``)**: the case is the city's from the moment it is accepted,
through dispatch, handling, feedback and the check, until the centre closes
it. An approved extension (延期) adds its working hours to the limit.
Verification before registration is timed separately by the per-stage limits.

So ``due_at = registered_at + (limit + deferred hours)`` on the working
calendar (:class:`~gridgeo.events.calendar.WorkingCalendar`).

Boundaries
----------
``due_at`` is the last on-time instant: an event closed exactly at
``due_at`` is on time; an open event becomes overdue at the first instant
after it. Events never registered (or cancelled before) have no due time
(NaT) and are never overdue.

Examples
--------
>>> tz = "Asia/Shanghai"
>>> d = due_at(pd.Timestamp("2026-04-30 16:00", tz=tz), "S0501")  # 4 working hours
>>> d                               # 1.5 h Thursday, then 劳动节 1–5 May
Timestamp('2026-05-06 11:00:00+0800', tz='Asia/Shanghai')
>>> is_overdue(d, closed_at=d), is_overdue(d, now=d + pd.Timedelta(seconds=1))
(False, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from gridgeo.errors import InvalidInput
from gridgeo.events.calendar import DEFAULT_CALENDAR, WorkingCalendar
from gridgeo.events.taxonomy import Category, time_limits

__all__ = ["due_at", "is_overdue"]


def due_at(
    registered_at: Any,
    category: str | ArrayLike,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
    deferred_hours: float | ArrayLike = 0.0,
    *,
    categories: Iterable[Category] | None = None,
) -> Any:
    """Deadline of each event: registration plus its limit (and extension) in working hours.

    Parameters
    ----------
    registered_at : timezone-aware datetime, or array_like / Series of them
        When the clock starts (立案). NaT (not registered) gives NaT.
    category : str or array_like of str
        Level-2 category code(s), broadcast against ``registered_at``.
    calendar : WorkingCalendar
        Default :data:`~gridgeo.events.calendar.DEFAULT_CALENDAR`.
    deferred_hours : float or array_like
        Working hours granted by extensions (延期); NaN counts as 0.
    categories : iterable of Category, optional
        Taxonomy to take limits from (default the built-in one).

    Returns
    -------
    pandas.Timestamp, DatetimeIndex or Series
        Like :meth:`WorkingCalendar.add_working_hours`, in the calendar's zone.

    Raises
    ------
    InvalidInput
        On an unknown category code, a negative extension or naive times.

    Examples
    --------
    >>> t = pd.Series(pd.DatetimeIndex(["2026-03-06 17:00", "2026-03-06 17:00"],
    ...                                tz="Asia/Shanghai"))
    >>> due_at(t, ["S0401", "S0401"], deferred_hours=[0, 7.5]).dt.strftime("%a %d %H:%M").tolist()
    ['Mon 09 10:00', 'Tue 10 10:00']
    """
    limits = time_limits(category, categories)
    extra = np.asarray(deferred_hours, dtype=np.float64)
    if np.any(extra[~np.isnan(extra)] < 0):
        raise InvalidInput("deferred hours must not be negative")
    total = limits + np.nan_to_num(extra, nan=0.0)
    if np.ndim(category) == 0 and np.ndim(deferred_hours) == 0:
        total = total.reshape(())
    return calendar.add_working_hours(registered_at, total)


def _times(values: Any, what: str) -> pd.DatetimeIndex:
    try:
        if isinstance(values, pd.Series):
            return pd.DatetimeIndex(values)
        return pd.DatetimeIndex(np.atleast_1d(np.asarray(values, dtype=object)))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot read {what} as times: {exc}") from None


def is_overdue(due_at: Any, closed_at: Any = None, now: Any = None) -> Any:
    """Whether each event missed its deadline.

    A closed event is overdue when ``closed_at > due_at``; an open one
    (``closed_at`` missing) when ``now > due_at``. No deadline (NaT) means not
    overdue.

    Parameters
    ----------
    due_at : datetime or array_like / Series of datetimes
    closed_at : datetime or array_like / Series, optional
        Closure times, NaT for open events; omitted means all are open.
    now : datetime, optional
        The instant open events are judged at; required if any is open.

    Returns
    -------
    bool, numpy.ndarray of bool or pandas.Series
        A bool for a scalar ``due_at``, a Series on ``due_at``'s index for a
        Series, else an array.

    Raises
    ------
    InvalidInput
        If open events need ``now`` and it is missing, or times mix naive and
        timezone-aware values.

    Examples
    --------
    >>> due = pd.Series(pd.DatetimeIndex(["2026-03-02 12:00"] * 3 + [None], tz="Asia/Shanghai"))
    >>> closed = pd.Series(pd.DatetimeIndex(["2026-03-02 12:00", "2026-03-02 12:01", None, None],
    ...                                     tz="Asia/Shanghai"))
    >>> is_overdue(due, closed, now=pd.Timestamp("2026-03-02 13:00", tz="Asia/Shanghai")).tolist()
    [False, True, True, False]
    """
    due = _times(due_at, "due_at")
    closed = (
        pd.DatetimeIndex(np.full(len(due), np.datetime64("NaT", "ns")), tz=due.tz)
        if closed_at is None
        else _times(closed_at, "closed_at")
    )
    if len(closed) != len(due):
        if len(closed) == 1:
            closed = closed[np.zeros(len(due), dtype=np.intp)]
        else:
            raise InvalidInput(
                f"due_at and closed_at have different lengths ({len(due)} and {len(closed)})"
            )
    has_due = np.asarray(due.notna())
    is_closed = np.asarray(closed.notna())
    try:
        late_closed = np.asarray(closed > due) & is_closed
        open_with_due = has_due & ~is_closed
        if now is None:
            if open_with_due.any():
                raise InvalidInput("now is needed to judge events that are still open")
            late_open = np.zeros(len(due), dtype=bool)
        else:
            late_open = np.asarray(due < pd.Timestamp(now)) & open_with_due
    except TypeError as exc:
        raise InvalidInput(f"cannot compare times: {exc}") from None
    result = has_due & (late_closed | late_open)
    if isinstance(due_at, pd.Series):
        return pd.Series(result, index=due_at.index, name="overdue")
    if np.ndim(due_at) == 0:
        return bool(result[0])
    return result
