"""Working calendar: hours across lunch, evenings, weekends, holidays and make-up days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgeo.errors import InvalidInput
from gridgeo.events.calendar import (
    CN_HOLIDAYS,
    DEFAULT_CALENDAR,
    WorkingCalendar,
    add_working_hours,
    china_calendar,
    working_hours_between,
)

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)


def sh(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


# --- an independent reference: walk the days, intersect with the periods ---------------


def reference_hours(cal: WorkingCalendar, a: dt.datetime, b: dt.datetime) -> float:
    """Working hours in [a, b] by walking local days (slow, obvious)."""
    sign = 1.0
    if b < a:
        a, b, sign = b, a, -1.0
    tz = ZoneInfo(cal.timezone)
    a_l = a.astimezone(tz).replace(tzinfo=None)
    b_l = b.astimezone(tz).replace(tzinfo=None)
    total = dt.timedelta(0)
    day = a_l.date()
    while day <= b_l.date():
        worked = (day.weekday() in cal.workdays and day not in cal.holidays) or (
            day in cal.extra_workdays
        )
        if worked:
            for p0, p1 in cal.periods:
                s = max(a_l, dt.datetime.combine(day, p0))
                e = min(b_l, dt.datetime.combine(day, p1))
                if e > s:
                    total += e - s
        day += dt.timedelta(days=1)
    return sign * total / dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # within the morning, to the end of a period, across lunch
        ("2026-03-02 09:00", 2, "2026-03-02 11:00"),
        ("2026-03-02 11:00", 1, "2026-03-02 12:00"),
        ("2026-03-02 11:30", 1, "2026-03-02 14:00"),
        ("2026-03-02 12:45", 1, "2026-03-02 14:30"),  # start in lunch counts from 13:30
        # across the evening and the night
        ("2026-03-02 17:00", 1, "2026-03-03 09:00"),
        ("2026-03-02 20:00", 1, "2026-03-03 09:30"),
        ("2026-03-03 06:00", 7.5, "2026-03-03 17:30"),
        # across a weekend, from a weekend
        ("2026-03-06 17:00", 1, "2026-03-09 09:00"),
        ("2026-03-07 10:00", 4, "2026-03-09 14:00"),
        ("2026-03-06 09:00", 72, "2026-03-19 15:00"),  # 7 h Fri, 8 full days, 5 h
        # 春节 2026: Fri 13th, make-up Sat 14th, off 15th–23rd, back Tue 24th
        ("2026-02-13 17:00", 1, "2026-02-14 09:00"),
        ("2026-02-13 17:00", 8, "2026-02-14 17:30"),
        ("2026-02-13 17:00", 8.5, "2026-02-24 09:00"),
        ("2026-02-18 10:00", 2, "2026-02-24 10:30"),
        # 国庆 2026: off Oct 1–7, back Thu 8th, make-up Sat 10th
        ("2026-09-30 17:00", 1, "2026-10-08 09:00"),
        ("2026-10-09 17:00", 1, "2026-10-10 09:00"),
        ("2026-10-09 17:00", 9, "2026-10-12 09:30"),  # 0.5 Fri, 7.5 Sat, 1 Mon
        # make-up Sunday 2026-01-04 after 元旦 Jan 1–3
        ("2025-12-31 17:00", 1, "2026-01-04 09:00"),
        # 2025: 元旦 a single day; 劳动节 make-up Sunday 27 April
        ("2024-12-31 17:00", 1, "2025-01-02 09:00"),
        ("2025-04-25 17:00", 1, "2025-04-27 09:00"),
        ("2025-04-30 17:00", 1, "2025-05-06 09:00"),
    ],
)
def test_add_working_hours_known_cases(start: str, hours: float, due: str) -> None:
    got = DEFAULT_CALENDAR.add_working_hours(sh(start), hours)
    assert got == sh(due)
    assert got.tz is not None and str(got.tz) == TZ
    # the inverse gives the hours back, and the reference agrees
    assert DEFAULT_CALENDAR.working_hours_between(sh(start), got) == pytest.approx(hours, abs=1e-9)
    assert reference_hours(DEFAULT_CALENDAR, sh(start), got) == pytest.approx(hours, abs=1e-9)


def test_zero_hours_returns_the_start_even_outside_working_time() -> None:
    for s in ("2026-03-07 10:00", "2026-03-02 12:30", "2026-03-02 17:30", "2026-03-02 09:00"):
        assert DEFAULT_CALENDAR.add_working_hours(sh(s), 0) == sh(s)


def test_time_zone_of_the_input_does_not_matter() -> None:
    local = sh("2026-03-06 16:00")
    utc = local.tz_convert("UTC")
    assert DEFAULT_CALENDAR.add_working_hours(utc, 3) == DEFAULT_CALENDAR.add_working_hours(
        local, 3
    )
    assert DEFAULT_CALENDAR.add_working_hours(utc, 3) == sh("2026-03-09 10:00")


def test_vectorised_forms_and_missing_values() -> None:
    starts = pd.Series(
        [sh("2026-02-13 16:00"), pd.NaT, sh("2026-09-30 17:00"), sh("2026-03-02 09:00")],
        index=[10, 11, 12, 13],
        name="registered_at",
    )
    hours = np.array([2.0, 1.0, 1.0, np.nan])
    due = DEFAULT_CALENDAR.add_working_hours(starts, hours)
    assert isinstance(due, pd.Series)
    assert due.index.tolist() == [10, 11, 12, 13]
    assert due.iloc[0] == sh("2026-02-14 09:00")
    assert pd.isna(due.iloc[1]) and pd.isna(due.iloc[3])
    assert due.iloc[2] == sh("2026-10-08 09:00")
    back = DEFAULT_CALENDAR.working_hours_between(starts, due)
    assert isinstance(back, pd.Series)
    np.testing.assert_allclose(back.to_numpy(), [2.0, np.nan, 1.0, np.nan])
    # one start, many hours
    idx = add_working_hours(sh("2026-03-02 11:00"), [1, 1.5, 7.5])
    assert list(idx) == [sh("2026-03-02 12:00"), sh("2026-03-02 14:00"), sh("2026-03-03 11:00")]
    # plain lists of strings with offsets
    got = add_working_hours(["2026-03-02T09:00+08:00", "2026-03-02T01:00Z"], 1)
    assert list(got) == [sh("2026-03-02 10:00"), sh("2026-03-02 10:00")]
    # a Series in the sample data's storage dtype
    stored = starts.dt.tz_convert("UTC").astype("datetime64[s, UTC]")
    assert DEFAULT_CALENDAR.add_working_hours(stored, 2).iloc[0] == sh("2026-02-14 09:00")


def test_many_events_match_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    n = 400
    seconds = rng.integers(1_733_000_000, 1_800_000_000, n)
    starts = pd.DatetimeIndex(pd.to_datetime(seconds, unit="s", utc=True))
    hours = rng.choice([2, 4, 8, 24, 72, 0.25], n)
    bulk = DEFAULT_CALENDAR.add_working_hours(starts, hours)
    for s, h, b in zip(starts[:60], hours[:60], bulk[:60], strict=True):
        assert DEFAULT_CALENDAR.add_working_hours(s, h) == b
    back = DEFAULT_CALENDAR.working_hours_between(starts, bulk)
    np.testing.assert_allclose(back, hours, atol=1e-9)


def test_invalid_inputs() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        DEFAULT_CALENDAR.add_working_hours(pd.Timestamp("2026-03-02 09:00"), 1)
    with pytest.raises(InvalidInput, match="between 0 and"):
        DEFAULT_CALENDAR.add_working_hours(sh("2026-03-02 09:00"), -1)
    with pytest.raises(InvalidInput, match="different lengths"):
        DEFAULT_CALENDAR.add_working_hours([sh("2026-03-02 09:00")] * 3, [1, 2])
    with pytest.raises(InvalidInput, match="different lengths"):
        working_hours_between([sh("2026-03-02 09:00")] * 3, [sh("2026-03-02 09:00")] * 2)


# --- days, holidays and configuration ---------------------------------------------------


def test_is_workday_with_holidays_and_make_up_days() -> None:
    cal = DEFAULT_CALENDAR
    days = [
        "2026-02-13", "2026-02-14", "2026-02-15", "2026-02-23", "2026-02-24", "2026-02-28",
        "2026-03-01", "2026-10-07", "2026-10-08", "2026-10-10", "2026-10-11", "2026-01-04",
    ]  # fmt: skip
    expected = [True, True, False, False, True, True, False, False, True, True, False, True]
    assert cal.is_workday(days).tolist() == expected


def test_holiday_table_is_consistent() -> None:
    for block in CN_HOLIDAYS:
        assert block.first <= block.last
        for d in block.make_up_workdays:
            assert d.weekday() >= 5, f"{block.name} make-up day {d} is not a weekend day"
            assert abs((d - block.first).days) <= 14
    # the 2026 notice: 元旦 3 days, 春节 9, 清明 3, 劳动节 5, 端午 3, 中秋 3, 国庆 7
    lengths = [len(b.days_off()) for b in CN_HOLIDAYS if b.first.year == 2026]
    assert lengths == [3, 9, 3, 5, 3, 3, 7]
    cal = china_calendar([2026])
    assert len(cal.holidays) == 33
    assert sorted(d.isoformat() for d in cal.extra_workdays) == [
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    ]  # fmt: skip


def test_calendar_from_dict_round_trip_and_validation() -> None:
    config = {
        "timezone": "Asia/Shanghai",
        "workdays": ["Mon", "tue", "wed", "thu", "fri", "sat"],
        "periods": [["09:00", "12:00"], ["13:00", "18:00"]],
        "holidays": ["2026-10-01/2026-10-03", "2026-12-25"],
        "extra_workdays": ["2026-10-11"],
    }
    cal = WorkingCalendar.from_dict(config)
    assert cal.hours_per_day == 8.0
    assert cal.workdays == frozenset(range(6))
    assert len(cal.holidays) == 4
    assert WorkingCalendar.from_dict(cal.to_dict()) == cal
    # Saturday is worked, the make-up Sunday too, the holiday block is not
    assert cal.add_working_hours(sh("2026-09-30 17:00"), 2) == sh("2026-10-05 10:00")
    assert cal.add_working_hours(sh("2026-10-10 17:00"), 2) == sh("2026-10-11 10:00")

    with pytest.raises(InvalidInput, match="unknown calendar setting"):
        WorkingCalendar.from_dict({"weekdays": ["mon"]})
    with pytest.raises(InvalidInput, match="unknown weekday"):
        WorkingCalendar.from_dict({"workdays": ["monday", "funday"]})
    with pytest.raises(InvalidInput, match="overlap"):
        WorkingCalendar.from_dict({"periods": [["09:00", "12:00"], ["11:00", "13:00"]]})
    with pytest.raises(InvalidInput, match="ends before it starts"):
        WorkingCalendar.from_dict({"periods": [["12:00", "09:00"]]})
    with pytest.raises(InvalidInput, match="both holidays and make-up workdays: 2026-10-01"):
        WorkingCalendar.from_dict({"holidays": ["2026-10-01"], "extra_workdays": ["2026-10-01"]})
    with pytest.raises(InvalidInput, match="non-empty"):
        WorkingCalendar(workdays=frozenset())
    with pytest.raises(InvalidInput, match="time zone"):
        WorkingCalendar(timezone="Mars/Olympus")
    with pytest.raises(InvalidInput, match="date such as"):
        WorkingCalendar.from_dict({"holidays": ["1 May"]})


def test_a_round_the_clock_calendar_is_plain_time() -> None:
    cal = WorkingCalendar.from_dict(
        {
            "workdays": list(("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
            "periods": [["00:00", "24:00"]],
            "timezone": "UTC",
        }  # fmt: skip
    )
    assert cal.hours_per_day == 24.0
    start = pd.Timestamp("2026-03-07 22:15", tz="UTC")
    assert cal.add_working_hours(start, 50) == start + pd.Timedelta(hours=50)


# --- properties ---------------------------------------------------------------------------

BASE = pd.Timestamp("2024-12-20 00:00", tz=TZ)
SPAN_MINUTES = 800 * 24 * 60  # into 2027, through both listed years

instants = st.integers(0, SPAN_MINUTES).map(lambda m: BASE + pd.Timedelta(minutes=m))
custom = WorkingCalendar(
    workdays=frozenset({0, 1, 2, 3, 5}),
    periods=(
        (dt.time(7, 0), dt.time(11, 0)),
        (dt.time(14, 0), dt.time(16, 0)),
        (dt.time(19, 0), dt.time(21, 30)),
    ),  # fmt: skip
    holidays=frozenset({dt.date(2025, 3, 4), dt.date(2025, 3, 5), dt.date(2025, 3, 8)}),
    extra_workdays=frozenset({dt.date(2025, 3, 6), dt.date(2025, 3, 9)}),
)
calendars = st.sampled_from([DEFAULT_CALENDAR, custom])


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=instants, minutes=st.integers(0, 80 * 60))
def test_adding_then_measuring_gives_the_hours_back(
    cal: WorkingCalendar, start: pd.Timestamp, minutes: int
) -> None:
    hours = minutes / 60
    due = cal.add_working_hours(start, hours)
    assert due >= start
    assert cal.working_hours_between(start, due) == pytest.approx(hours, abs=1e-9)
    if minutes:
        # earliest such instant: one second earlier is short of the hours
        assert cal.working_hours_between(start, due - pd.Timedelta(seconds=1)) < hours
        # and it is inside a working period or at its end
        local = due.tz_convert(cal.timezone)
        assert bool(cal.is_workday([local.date()])[0])
        tod = local.time()
        assert any(p0 < tod <= p1 or (p1 == dt.time.max) for p0, p1 in cal.periods)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, a=instants, b=instants)
def test_working_hours_between_matches_the_reference(
    cal: WorkingCalendar, a: pd.Timestamp, b: pd.Timestamp
) -> None:
    got = cal.working_hours_between(a, b)
    assert got == pytest.approx(reference_hours(cal, a, b), abs=1e-9)
    assert cal.working_hours_between(b, a) == -got


@settings(max_examples=100, deadline=None)
@given(cal=calendars, a=instants, b=instants, c=instants)
def test_working_hours_are_additive(
    cal: WorkingCalendar, a: pd.Timestamp, b: pd.Timestamp, c: pd.Timestamp
) -> None:
    ab = cal.working_hours_between(a, b)
    bc = cal.working_hours_between(b, c)
    assert cal.working_hours_between(a, c) == pytest.approx(ab + bc, abs=1e-9)
