"""Due times from category limits, extensions, and overdue detection at exact boundaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridgeo.errors import InvalidInput
from gridgeo.events.calendar import WorkingCalendar
from gridgeo.events.deadlines import due_at, is_overdue
from gridgeo.events.taxonomy import Category

TZ = "Asia/Shanghai"


def sh(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


def test_due_at_uses_the_category_limit_and_extensions() -> None:
    # S0401 道路积水: 2 h; S0501 占道经营: 4 h; B0103 路灯: 24 h
    assert due_at(sh("2026-03-02 16:30"), "S0401") == sh("2026-03-03 09:30")
    assert due_at(sh("2026-04-30 16:00"), "S0501") == sh("2026-05-06 11:00")  # 劳动节
    # 24 h from Monday 09:00: 7 + 7.5 + 7.5 + 2 → Thursday 10:30
    assert due_at(sh("2026-03-02 09:00"), "B0103") == sh("2026-03-05 10:30")
    # an approved extension of 7.5 h moves it one working day
    assert due_at(sh("2026-03-02 09:00"), "B0103", deferred_hours=7.5) == sh("2026-03-06 10:30")


def test_due_at_vectorised_with_missing_registration() -> None:
    registered = pd.Series(
        [sh("2026-02-13 16:00"), pd.NaT, sh("2026-03-02 09:00")], index=[5, 6, 7]
    )
    due = due_at(registered, ["S0401", "S0401", "S0101"], deferred_hours=[0, 0, np.nan])
    assert due.index.tolist() == [5, 6, 7]
    assert due.iloc[0] == sh("2026-02-14 09:00")  # 1.5 h Friday, make-up Saturday
    assert pd.isna(due.iloc[1])
    assert due.iloc[2] == sh("2026-03-03 09:30")  # 8 h: 7 h Monday + 1 h


def test_due_at_with_a_custom_taxonomy_and_calendar() -> None:
    cats = [Category("S9901", "测试", "测试类", 3, "测试部门")]
    cal = WorkingCalendar.from_dict({"periods": [["09:00", "17:00"]]})
    assert due_at(sh("2026-03-06 16:00"), "S9901", cal, categories=cats) == sh("2026-03-09 11:00")


def test_due_at_rejects_bad_input() -> None:
    with pytest.raises(InvalidInput, match="unknown event category code.*X0000"):
        due_at(sh("2026-03-02 09:00"), "X0000")
    with pytest.raises(InvalidInput, match="negative"):
        due_at(sh("2026-03-02 09:00"), "S0101", deferred_hours=-1)


@pytest.mark.parametrize(
    ("closed", "now", "expected"),
    [
        ("2026-03-02 12:00:00", None, False),  # closed exactly at the deadline: on time
        ("2026-03-02 11:59:59", None, False),
        ("2026-03-02 12:00:01", None, True),
        (None, "2026-03-02 12:00:00", False),  # open, deadline this instant: not yet
        (None, "2026-03-02 12:00:01", True),
        (None, "2026-03-02 11:00:00", False),
        # closed on time, judged later: still on time
        ("2026-03-02 11:00:00", "2026-03-09 12:00:00", False),
    ],
)
def test_overdue_at_exact_boundaries(closed: str | None, now: str | None, expected: bool) -> None:
    due = sh("2026-03-02 12:00")
    got = is_overdue(due, sh(closed) if closed else None, now=sh(now) if now else None)
    assert got is expected


def test_overdue_vectorised() -> None:
    due = pd.Series(
        [sh("2026-03-02 12:00")] * 4 + [pd.NaT],
        index=list("abcde"),
    )
    closed = pd.Series(
        [sh("2026-03-02 12:00"), sh("2026-03-02 12:00:00.000001"), pd.NaT, pd.NaT, pd.NaT],
        index=list("abcde"),
    )
    now = sh("2026-03-02 12:00:00.5").tz_convert("UTC")
    got = is_overdue(due, closed, now=now)
    assert got.index.tolist() == list("abcde")
    assert got.tolist() == [False, True, True, True, False]
    # no now needed when every event with a deadline is closed
    assert is_overdue(due.iloc[:2], closed.iloc[:2]).tolist() == [False, True]
    with pytest.raises(InvalidInput, match="now is needed"):
        is_overdue(due, closed)
