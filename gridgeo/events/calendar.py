"""Working calendar: working hours between instants and due times in working hours.

Event time limits (办理时限) count *working* time only. A
:class:`WorkingCalendar` says which local days are working days and which
hours of a working day count:

- ``workdays``: weekdays that are normally worked (Python ``date.weekday()``
  numbers, Monday = 0; default Monday–Friday);
- ``periods``: the working periods of a working day in local wall-clock time
  (default 08:30–12:00 and 13:30–17:30, 7.5 hours a day — the usual office
  day of a city management command centre, and the calendar the sample data
  of :mod:`gridgeo.samples` uses);
- ``holidays``: dates that are not worked although their weekday is;
- ``extra_workdays``: make-up working days (调休) on dates whose weekday is
  normally free, worked with the same periods;
- ``timezone``: the zone whose wall clock the periods are read in (default
  ``Asia/Shanghai``, UTC+8 without daylight saving).

How it is computed
------------------
Every instant maps to a *working-time counter* (microseconds of working time
since a fixed epoch, Monday 1969-12-29 local time): the number of working days
before the instant's local date times the length of a working day, plus the
working time already elapsed on that date. The number of working days before
a date has a closed form (full weeks times the weekly count, plus the weekdays
of the partial week) corrected by the holidays and make-up days before it,
found with ``searchsorted`` on the sorted date lists, so the counter is
computed for any number of instants without a Python loop. Outside working
time the counter stands still.

:func:`WorkingCalendar.add_working_hours` inverts the counter: for the target
counter value it finds the working day with one ``searchsorted`` over a
precomputed cumulative working-day index covering just the dates needed, and
the time of day from the periods. The result is the *earliest* instant at
which the counter reaches the target, so a limit that runs out exactly at the
end of a period ends there (12:00, not 13:30 after lunch). Adding zero hours
returns the start unchanged. Starts outside working time count from the next
working period.

Holidays
--------
:data:`CN_HOLIDAYS` lists the mainland Chinese public holidays of 2025 and
2026 with their make-up working days, and :data:`DEFAULT_CALENDAR` uses them.
**These lists were transcribed by hand from the State Council General Office
notices (国务院办公厅关于部分节假日安排的通知) and must be checked against the
published notice before they are relied on; later years must be added each
year.** A deployment configures its own calendar with
:meth:`WorkingCalendar.from_dict` (for example from a JSON file).

Examples
--------
>>> cal = DEFAULT_CALENDAR
>>> t = pd.Timestamp("2026-01-30 16:30", tz="Asia/Shanghai")  # a Friday
>>> cal.add_working_hours(t, 2)                              # 1 h Friday, 1 h Monday
Timestamp('2026-02-02 09:30:00+0800', tz='Asia/Shanghai')
>>> cal.working_hours_between(t, pd.Timestamp("2026-02-02 09:30", tz="Asia/Shanghai"))
2.0
>>> cal.add_working_hours(pd.Timestamp("2026-02-13 17:00", tz="Asia/Shanghai"), 1)
Timestamp('2026-02-14 09:00:00+0800', tz='Asia/Shanghai')
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from gridgeo.errors import InvalidInput

__all__ = [
    "CN_HOLIDAYS",
    "DEFAULT_CALENDAR",
    "DEFAULT_PERIODS",
    "WEEKDAY_NAMES",
    "HolidayBlock",
    "WorkingCalendar",
    "add_working_hours",
    "china_calendar",
    "working_hours_between",
]

_US_PER_MINUTE: Final = 60_000_000
_US_PER_HOUR: Final = 3_600_000_000
_US_PER_DAY: Final = 86_400_000_000
_DAY0_WEEKDAY: Final = 3  # 1970-01-01 was a Thursday
_MAX_HOURS: Final = 1e6  # far above any time limit; keeps microsecond arithmetic in int64

WEEKDAY_NAMES: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names used by :meth:`WorkingCalendar.from_dict`, Monday first."""

DEFAULT_PERIODS: Final[tuple[tuple[dt.time, dt.time], ...]] = (
    (dt.time(8, 30), dt.time(12, 0)),
    (dt.time(13, 30), dt.time(17, 30)),
)
"""08:30–12:00 and 13:30–17:30: 7.5 working hours a day."""


@dataclass(frozen=True, slots=True)
class HolidayBlock:
    """One public holiday: its days off and its make-up working days (调休).

    Attributes
    ----------
    name : str
        Chinese name, e.g. ``"春节"``.
    first, last : datetime.date
        First and last day off (inclusive).
    make_up_workdays : tuple of datetime.date
        Weekend days worked instead.
    """

    name: str
    first: dt.date
    last: dt.date
    make_up_workdays: tuple[dt.date, ...] = ()

    def days_off(self) -> list[dt.date]:
        """Every date from ``first`` to ``last``."""
        n = (self.last - self.first).days + 1
        return [self.first + dt.timedelta(days=i) for i in range(n)]


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _block(name: str, first: str, last: str, *make_up: str) -> HolidayBlock:
    return HolidayBlock(name, _d(first), _d(last), tuple(_d(m) for m in make_up))


CN_HOLIDAYS: Final[tuple[HolidayBlock, ...]] = (
    # 2025 (国办发明电〔2024〕12号) — check against the published notice.
    _block("元旦", "2025-01-01", "2025-01-01"),
    _block("春节", "2025-01-28", "2025-02-04", "2025-01-26", "2025-02-08"),
    _block("清明节", "2025-04-04", "2025-04-06"),
    _block("劳动节", "2025-05-01", "2025-05-05", "2025-04-27"),
    _block("端午节", "2025-05-31", "2025-06-02"),
    _block("国庆节、中秋节", "2025-10-01", "2025-10-08", "2025-09-28", "2025-10-11"),
    # 2026 — check against the published notice.
    _block("元旦", "2026-01-01", "2026-01-03", "2026-01-04"),
    _block("春节", "2026-02-15", "2026-02-23", "2026-02-14", "2026-02-28"),
    _block("清明节", "2026-04-04", "2026-04-06"),
    _block("劳动节", "2026-05-01", "2026-05-05", "2026-05-09"),
    _block("端午节", "2026-06-19", "2026-06-21"),
    _block("中秋节", "2026-09-25", "2026-09-27"),
    _block("国庆节", "2026-10-01", "2026-10-07", "2026-09-20", "2026-10-10"),
)
"""Mainland Chinese public holidays 2025–2026 with make-up working days.

Transcribed by hand; verify against the State Council notice and configure
your own calendar for production use.
"""


def _day_number(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _minutes_us(t: dt.time) -> int:
    return (t.hour * 60 + t.minute) * _US_PER_MINUTE + (t.second * 1_000_000 + t.microsecond)


def _as_time(value: Any, what: str) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        if value in ("24:00", "24:00:00"):
            return dt.time.max
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput(f"{what} must be a time such as '08:30', got {value!r}")


def _as_date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput(f"{what} must be a date such as '2026-10-01', got {value!r}")


def _dates(values: Iterable[Any], what: str) -> frozenset[dt.date]:
    """Dates from dates or ISO strings; ``"first/last"`` is an inclusive range."""
    out: set[dt.date] = set()
    for value in values:
        if isinstance(value, str) and "/" in value:
            a, _, b = value.partition("/")
            first, last = _as_date(a.strip(), what), _as_date(b.strip(), what)
            if last < first:
                raise InvalidInput(f"{what} range {value!r} ends before it starts")
            out.update(HolidayBlock("", first, last).days_off())
        else:
            out.add(_as_date(value, what))
    return frozenset(out)


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and hours in one time zone.

    Parameters
    ----------
    workdays : iterable of int
        Normally worked weekdays, ``date.weekday()`` numbers (Monday = 0).
    periods : sequence of (datetime.time, datetime.time)
        Working periods of a working day, local wall clock, sorted and not
        overlapping; ``datetime.time.max`` stands for 24:00.
    holidays : iterable of datetime.date
        Dates not worked. A holiday on a weekday that is not worked anyway
        changes nothing.
    extra_workdays : iterable of datetime.date
        Make-up working days (调休) on normally free weekdays.
    timezone : str
        IANA zone of the wall clock, default ``"Asia/Shanghai"``.

    Raises
    ------
    InvalidInput
        If no weekday is worked, a period is empty, overlaps or is out of
        order, a date is both a holiday and a make-up day, or the zone is
        unknown.

    Examples
    --------
    >>> cal = WorkingCalendar(holidays={dt.date(2026, 5, 1)})
    >>> cal.hours_per_day
    7.5
    >>> cal.is_workday(["2026-04-30", "2026-05-01", "2026-05-02"]).tolist()
    [True, False, False]
    """

    workdays: frozenset[int] = frozenset(range(5))
    periods: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_PERIODS
    holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    timezone: str = "Asia/Shanghai"
    _period_us: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    _base_work: NDArray[np.bool_] = field(init=False, repr=False, compare=False)
    _cum_before: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _holiday_days: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _extra_days: NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        workdays = frozenset(int(w) for w in self.workdays)
        if not workdays or not workdays <= set(range(7)):
            raise InvalidInput(
                f"workdays must be a non-empty set of weekday numbers 0–6, got {sorted(workdays)}"
            )
        periods = tuple(
            (_as_time(a, "period start"), _as_time(b, "period end")) for a, b in self.periods
        )
        if not periods:
            raise InvalidInput("a working calendar needs at least one working period")
        bounds = np.array(
            [
                (_minutes_us(a), _US_PER_DAY if b == dt.time.max else _minutes_us(b))
                for a, b in periods
            ],
            dtype=np.int64,
        )
        for (a, b), (ta, tb) in zip(bounds, periods, strict=True):
            if b <= a:
                raise InvalidInput(f"working period {ta}–{tb} ends before it starts")
        if np.any(bounds[1:, 0] < bounds[:-1, 1]):
            raise InvalidInput("working periods must be sorted and must not overlap")
        holidays = frozenset(_as_date(d, "holiday") for d in self.holidays)
        extra = frozenset(_as_date(d, "make-up workday") for d in self.extra_workdays)
        both = sorted(holidays & extra)
        if both:
            raise InvalidInput(
                "dates cannot be both holidays and make-up workdays: "
                + ", ".join(d.isoformat() for d in both)
            )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {self.timezone!r}") from None

        base_work = np.array([w in workdays for w in range(7)], dtype=bool)
        set_ = object.__setattr__
        set_(self, "workdays", workdays)
        set_(self, "periods", periods)
        set_(self, "holidays", holidays)
        set_(self, "extra_workdays", extra)
        set_(self, "_period_us", bounds)
        set_(self, "_day_us", int((bounds[:, 1] - bounds[:, 0]).sum()))
        set_(self, "_base_work", base_work)
        set_(self, "_cum_before", np.concatenate([[0], np.cumsum(base_work)]).astype(np.int64))
        # Only dates that change something: holidays on worked weekdays, make-up
        # days on free weekdays.
        set_(
            self,
            "_holiday_days",
            np.array(
                sorted(_day_number(d) for d in holidays if d.weekday() in workdays), dtype=np.int64
            ),
        )
        set_(
            self,
            "_extra_days",
            np.array(
                sorted(_day_number(d) for d in extra if d.weekday() not in workdays), dtype=np.int64
            ),
        )

    # --- configuration ---------------------------------------------------------------

    @property
    def hours_per_day(self) -> float:
        """Working hours of one working day."""
        return self._day_us / _US_PER_HOUR

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> WorkingCalendar:
        """Build a calendar from a JSON-style mapping.

        Keys (all optional): ``timezone`` (str), ``workdays`` (weekday names
        from :data:`WEEKDAY_NAMES`), ``periods`` (list of ``["HH:MM", "HH:MM"]``),
        ``holidays`` and ``extra_workdays`` (ISO dates, or inclusive ranges
        ``"2026-10-01/2026-10-07"``).

        Raises
        ------
        InvalidInput
            On an unknown key, weekday name, malformed time or date.

        Examples
        --------
        >>> cal = WorkingCalendar.from_dict({
        ...     "workdays": ["mon", "tue", "wed", "thu", "fri"],
        ...     "periods": [["09:00", "12:00"], ["13:00", "18:00"]],
        ...     "holidays": ["2026-10-01/2026-10-07"], "extra_workdays": ["2026-10-10"]})
        >>> cal.hours_per_day, len(cal.holidays)
        (8.0, 7)
        >>> WorkingCalendar.from_dict(cal.to_dict()) == cal
        True
        """
        known = {"timezone", "workdays", "periods", "holidays", "extra_workdays"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise InvalidInput(
                f"unknown calendar setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        kwargs: dict[str, Any] = {}
        if "timezone" in config:
            kwargs["timezone"] = str(config["timezone"])
        if "workdays" in config:
            days = []
            for name in config["workdays"]:
                key = str(name).strip().lower()[:3]
                if key not in WEEKDAY_NAMES:
                    raise InvalidInput(
                        f"unknown weekday {name!r}; use one of {', '.join(WEEKDAY_NAMES)}"
                    )
                days.append(WEEKDAY_NAMES.index(key))
            kwargs["workdays"] = frozenset(days)
        if "periods" in config:
            periods = []
            for pair in config["periods"]:
                if len(pair) != 2:
                    raise InvalidInput(f"a working period is [start, end], got {pair!r}")
                periods.append((_as_time(pair[0], "period start"), _as_time(pair[1], "period end")))
            kwargs["periods"] = tuple(periods)
        if "holidays" in config:
            kwargs["holidays"] = _dates(config["holidays"], "holiday")
        if "extra_workdays" in config:
            kwargs["extra_workdays"] = _dates(config["extra_workdays"], "make-up workday")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready mapping :meth:`from_dict` reads (dates sorted, one per entry)."""

        def hhmm(t: dt.time) -> str:
            return "24:00" if t == dt.time.max else t.isoformat(timespec="minutes")

        return {
            "timezone": self.timezone,
            "workdays": [WEEKDAY_NAMES[w] for w in sorted(self.workdays)],
            "periods": [[hhmm(a), hhmm(b)] for a, b in self.periods],
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
            "extra_workdays": [d.isoformat() for d in sorted(self.extra_workdays)],
        }

    # --- days ------------------------------------------------------------------------

    def _workdays_before(self, day: NDArray[np.int64]) -> NDArray[np.int64]:
        """Number of working days in [epoch, day) for day numbers since 1970-01-01."""
        shifted = day + _DAY0_WEEKDAY
        week, dow = np.divmod(shifted, 7)
        base = week * int(self._cum_before[-1]) + self._cum_before[dow]
        return (
            base
            - np.searchsorted(self._holiday_days, day, side="left")
            + np.searchsorted(self._extra_days, day, side="left")
        )

    def _is_workday(self, day: NDArray[np.int64]) -> NDArray[np.bool_]:
        dow = (day + _DAY0_WEEKDAY) % 7
        return (self._base_work[dow] & ~np.isin(day, self._holiday_days)) | np.isin(
            day, self._extra_days
        )

    def is_workday(self, dates: ArrayLike) -> NDArray[np.bool_]:
        """Whether each local calendar date is a working day.

        Parameters
        ----------
        dates : array_like of dates, ISO strings or naive timestamps
            Read as local calendar dates (a time of day is ignored).

        Examples
        --------
        >>> DEFAULT_CALENDAR.is_workday(["2026-02-13", "2026-02-14", "2026-02-16"]).tolist()
        [True, True, False]
        """
        idx = pd.DatetimeIndex(np.atleast_1d(np.asarray(dates, dtype=object)))
        if idx.tz is not None:
            idx = idx.tz_convert(self.timezone).tz_localize(None)
        if idx.hasnans:
            raise InvalidInput("dates must not be missing")
        days = idx.as_unit("us").asi8 // _US_PER_DAY
        return self._is_workday(days)

    # --- working-time counter --------------------------------------------------------

    def _local_us(self, times: pd.DatetimeIndex) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        if times.tz is None:
            raise InvalidInput(
                "times must be timezone-aware (for example 2026-03-02T09:00+08:00); "
                "naive times are ambiguous"
            )
        missing = np.asarray(times.isna())
        local = times.tz_convert(self.timezone).tz_localize(None).as_unit("us").asi8.copy()
        local[missing] = 0
        return local, missing

    def _counter(self, times: pd.DatetimeIndex) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Working microseconds since the epoch for each instant, and the NaT mask."""
        local, missing = self._local_us(times)
        day, tod = np.divmod(local, _US_PER_DAY)
        in_day = np.zeros_like(tod)
        for a, b in self._period_us:
            in_day += np.clip(tod - a, 0, b - a)
        counter = self._workdays_before(day) * self._day_us + np.where(
            self._is_workday(day), in_day, 0
        )
        return counter, missing

    def _instant(self, counter: NDArray[np.int64], missing: NDArray[np.bool_]) -> pd.DatetimeIndex:
        """Earliest instant at which the counter reaches each value (1-d, local zone)."""
        if counter.size == 0 or missing.all():
            nat = np.full(counter.size, np.datetime64("NaT", "us"))
            return pd.DatetimeIndex(nat).tz_localize(self.timezone)
        counter = np.where(missing, counter[~missing][0], counter)
        day_index, within = np.divmod(counter - 1, self._day_us)
        within += 1  # in (0, day length]
        # Cumulative working-day index over just the dates needed: from a
        # closed-form estimate that ignores holidays, widened by one week per
        # listed holiday or make-up day (each shifts the answer by at most that).
        n_week = int(self._cum_before[-1])
        weekly = np.flatnonzero(self._base_work)
        k_lo, k_hi = int(day_index.min()), int(day_index.max())
        est_lo = (k_lo // n_week) * 7 + int(weekly[k_lo % n_week]) - _DAY0_WEEKDAY
        est_hi = (k_hi // n_week) * 7 + int(weekly[k_hi % n_week]) - _DAY0_WEEKDAY
        lo = est_lo - 7 * (self._extra_days.size + 2)
        hi = est_hi + 7 * (self._holiday_days.size + 2)
        span = np.arange(lo, hi + 1, dtype=np.int64)
        worked_through = self._workdays_before(span + 1)  # working days up to and incl. each
        pos = np.searchsorted(worked_through, day_index + 1, side="left")
        if pos.max() >= span.size:  # pragma: no cover - the bounds above are generous
            raise AssertionError("working-day index too short")
        day = span[pos]
        tod = np.zeros_like(within)
        done = np.zeros(within.shape, dtype=bool)
        before = 0
        for a, b in self._period_us:
            length = int(b - a)
            here = ~done & (within <= before + length)
            tod = np.where(here, a + within - before, tod)
            done |= here
            before += length
        naive = pd.DatetimeIndex((day * _US_PER_DAY + tod).astype("datetime64[us]"))
        aware = naive.tz_localize(
            self.timezone, ambiguous=np.ones(naive.size, dtype=bool), nonexistent="shift_forward"
        )
        return aware.where(~missing)

    def working_hours_between(self, start: Any, end: Any) -> Any:
        """Working hours from ``start`` to ``end`` (negative if ``end`` is earlier).

        Parameters
        ----------
        start, end : timezone-aware datetime, or array_like / Series of them
            Broadcast against each other. Missing values give NaN.

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            A float for two scalars, a Series (on the index of the first Series
            argument) if either is a Series, else an array.

        Raises
        ------
        InvalidInput
            If a time is naive.

        Examples
        --------
        >>> tz = "Asia/Shanghai"
        >>> DEFAULT_CALENDAR.working_hours_between(
        ...     pd.Timestamp("2026-09-30 11:00", tz=tz), pd.Timestamp("2026-10-08 09:00", tz=tz))
        5.5
        """
        a_idx, a_kind = _as_index(start)
        b_idx, b_kind = _as_index(end)
        ca, ma = self._counter(a_idx)
        cb, mb = self._counter(b_idx)
        try:
            diff = (cb - ca).astype(np.float64) / _US_PER_HOUR
        except ValueError:
            raise InvalidInput(
                f"start and end have different lengths ({ca.size} and {cb.size})"
            ) from None
        diff[ma | mb] = np.nan
        if a_kind == b_kind == "scalar":
            return float(diff[0])
        for kind, original in ((a_kind, start), (b_kind, end)):
            if kind == "series" and len(original) == diff.size:
                return pd.Series(diff, index=original.index)
        return diff

    def add_working_hours(self, start: Any, hours: ArrayLike) -> Any:
        """The instant ``hours`` working hours after ``start``.

        Parameters
        ----------
        start : timezone-aware datetime, or array_like / Series of them
        hours : float or array_like of float
            Non-negative working hours, broadcast against ``start``. NaN gives NaT.

        Returns
        -------
        pandas.Timestamp, pandas.DatetimeIndex or pandas.Series
            In the calendar's zone; same kind as ``start`` (a Series keeps its
            index). The earliest instant whose working time since ``start`` is
            ``hours``: counting starts at the next working period when ``start``
            is outside working time, and a limit ending at a period's end ends
            there. Zero hours returns ``start``.

        Raises
        ------
        InvalidInput
            If a time is naive or ``hours`` is negative or not finite.

        Examples
        --------
        >>> tz = "Asia/Shanghai"
        >>> cal = WorkingCalendar()
        >>> cal.add_working_hours(pd.Timestamp("2026-03-02 11:00", tz=tz), [1, 1.5, 7.5]).strftime(
        ...     "%a %H:%M").tolist()
        ['Mon 12:00', 'Mon 14:00', 'Tue 11:00']
        >>> cal.add_working_hours(pd.Timestamp("2026-03-07 03:00", tz=tz), 0.5)  # a Saturday
        Timestamp('2026-03-09 09:00:00+0800', tz='Asia/Shanghai')
        """
        idx, kind = _as_index(start)
        h = np.asarray(hours, dtype=np.float64)
        finite = np.isfinite(h)
        if (
            h.ndim > 1
            or np.any(h[finite] < 0)
            or np.any(np.isinf(h))
            or np.any(h[finite] > _MAX_HOURS)
        ):
            raise InvalidInput(
                f"working hours to add must be between 0 and {_MAX_HOURS:g}, got {hours!r}"
            )
        counter, missing = self._counter(idx)
        h_us = np.rint(np.where(finite, h, 0.0) * _US_PER_HOUR).astype(np.int64)
        try:
            target = counter + h_us
        except ValueError:
            raise InvalidInput(
                f"start and hours have different lengths ({counter.size} and {h_us.size})"
            ) from None
        miss = np.broadcast_to(missing, target.shape) | np.broadcast_to(~finite, target.shape)
        result = self._instant(target, miss)
        starts = idx.tz_convert(self.timezone).as_unit("us")
        if starts.size != target.size:  # one start, many hours
            starts = starts[np.zeros(target.size, dtype=np.intp)]
        zero = np.broadcast_to((h_us == 0) & finite, target.shape)
        result = result.as_unit("us").where(~zero, starts)
        if kind == "scalar" and h.ndim == 0:
            return result[0]
        if kind == "series" and len(start) == result.size:
            return pd.Series(result, index=start.index, name=start.name)
        return result


def _as_index(times: Any) -> tuple[pd.DatetimeIndex, str]:
    """Times as a DatetimeIndex and the kind of container they came in."""
    try:
        if isinstance(times, pd.Series):
            return pd.DatetimeIndex(times), "series"
        if isinstance(times, pd.DatetimeIndex):
            return times, "index"
        if isinstance(times, (str, dt.datetime, np.datetime64)) or np.ndim(times) == 0:
            ts = pd.Timestamp(times)
            return pd.DatetimeIndex([ts]), "scalar"
        values = times if isinstance(times, np.ndarray) else list(times)
        try:
            return pd.DatetimeIndex(values), "array"
        except ValueError:
            # Aware times in several zones: bring each to UTC (naive ones stay naive
            # and are rejected later).
            stamps = [pd.Timestamp(v) for v in values]
            if any(s is not pd.NaT and s.tzinfo is None for s in stamps):
                raise InvalidInput("times mix naive and timezone-aware values") from None
            return pd.DatetimeIndex([s.tz_convert("UTC") for s in stamps]), "array"
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot read times: {exc}") from None


def china_calendar(
    years: Iterable[int] | None = None, *, timezone: str = "Asia/Shanghai"
) -> WorkingCalendar:
    """Monday–Friday 08:30–12:00, 13:30–17:30 with the holidays of :data:`CN_HOLIDAYS`.

    Parameters
    ----------
    years : iterable of int, optional
        Only the holiday blocks of these years (default: all listed).
    timezone : str
        Zone of the wall clock.

    Examples
    --------
    >>> cal = china_calendar([2026])
    >>> sorted(d.isoformat() for d in cal.extra_workdays)[:3]
    ['2026-01-04', '2026-02-14', '2026-02-28']
    """
    wanted = None if years is None else set(years)
    blocks = [b for b in CN_HOLIDAYS if wanted is None or b.first.year in wanted]
    return WorkingCalendar(
        holidays=frozenset(d for b in blocks for d in b.days_off()),
        extra_workdays=frozenset(d for b in blocks for d in b.make_up_workdays),
        timezone=timezone,
    )


DEFAULT_CALENDAR: Final[WorkingCalendar] = china_calendar()
"""Monday–Friday 08:30–12:00 and 13:30–17:30, Asia/Shanghai, with 2025–2026 holidays."""


def add_working_hours(
    start: Any, hours: ArrayLike, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> Any:
    """:meth:`WorkingCalendar.add_working_hours` on ``calendar`` (default the Chinese one).

    Examples
    --------
    >>> add_working_hours(pd.Timestamp("2026-10-09 17:00", tz="Asia/Shanghai"), 1)  # Fri → Sat 调休
    Timestamp('2026-10-10 09:00:00+0800', tz='Asia/Shanghai')
    """
    return calendar.add_working_hours(start, hours)


def working_hours_between(
    start: Any, end: Any, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> Any:
    """:meth:`WorkingCalendar.working_hours_between` on ``calendar`` (default the Chinese one).

    Examples
    --------
    >>> tz = "Asia/Shanghai"
    >>> working_hours_between(pd.Timestamp("2026-02-13 12:00", tz=tz),
    ...                       pd.Timestamp("2026-02-24 12:00", tz=tz))  # 13th pm, Sat 14th, 24th am
    15.0
    """
    return calendar.working_hours_between(start, end)
