"""Indicators on a hand-built table; every expected number is worked out in the comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridgeo.errors import InvalidInput
from gridgeo.events.indicators import INDICATOR_COLUMNS, indicators, overdue_list

TZ = "Asia/Shanghai"
G1, G2, G3 = "330109001001001", "330109001002001", "330109002001001"
MARCH = {
    "period_start": pd.Timestamp("2026-03-01", tz=TZ),
    "period_end": pd.Timestamp("2026-04-01", tz=TZ),
}
NOW = pd.Timestamp("2026-04-10 12:00", tz=TZ)


def sh(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ) if text else pd.NaT


# id, grid, department, reported, registered, closed, due, deferred, status
ROWS = [
    # G1
    ("e1", G1, "城管", "03-02 09:00", "03-02 09:00", "03-02 11:00", "03-02 14:00", False, "closed"),
    ("e2", G1, "城管", "03-02 09:00", "03-02 09:00", "03-03 10:00", "03-02 14:00", False, "closed"),
    ("e3", G1, "环卫", "03-30 09:00", "03-30 09:00", None, "04-02 09:00", False, "dispatched"),
    (
        "e4",
        G1,
        "环卫",
        "02-25 09:00",
        "02-25 09:00",
        "03-05 09:00",
        "03-06 09:00",
        True,
        "evaluated",
    ),
    # G2
    ("e5", G2, "城管", "03-10 09:00", "03-10 09:00", None, "03-12 09:00", False, "handled"),
    ("e6", G2, "城管", "03-10 09:00", "03-10 09:00", "03-12 09:00", "03-12 09:00", False, "closed"),
    ("e7", G2, "城管", "03-15 09:00", "03-15 09:00", None, "03-16 09:00", False, "cancelled"),
    ("e8", G2, "环卫", "03-20 09:00", None, None, None, False, "reported"),
    # G3
    ("e9", G3, "园林", "02-02 09:00", "02-02 09:00", None, "02-10 09:00", False, "dispatched"),
    (
        "e10",
        G3,
        "园林",
        "03-25 09:00",
        "03-25 09:00",
        "04-03 09:00",
        "03-31 09:00",
        False,
        "closed",
    ),
    ("e11", G3, "园林", "03-16 09:00", "03-16 09:00", "03-19 09:00", "03-18 09:00", True, "closed"),
]


def events() -> pd.DataFrame:
    def ts(v: str | None) -> pd.Timestamp:
        return sh(f"2026-{v}") if v else pd.NaT

    return pd.DataFrame(
        {
            "event_id": [r[0] for r in ROWS],
            "grid_code": [r[1] for r in ROWS],
            "department": [r[2] for r in ROWS],
            "reported_at": pd.DatetimeIndex([ts(r[3]) for r in ROWS]).tz_convert("UTC"),
            "registered_at": pd.DatetimeIndex([ts(r[4]) for r in ROWS]),
            "closed_at": pd.DatetimeIndex([ts(r[5]) for r in ROWS]),
            "due_at": pd.DatetimeIndex([ts(r[6]) for r in ROWS]),
            "deferred": [r[7] for r in ROWS],
            "status": [r[8] for r in ROWS],
        }
    )


# Working hours 立案 → 结案 of the events closed in March (calendar 08:30–12:00, 13:30–17:30):
#   e1: Mon 2 Mar 09:00 → 11:00                                   =  2.0
#   e2: Mon 2 Mar 09:00 → 17:30 (3 + 4) + Tue 08:30 → 10:00       =  8.5
#   e4: Wed 25 Feb 09:00 → 17:30 (7) + Thu 26, Fri 27, Sat 28 Feb (调休 make-up day),
#       Mon 2, Tue 3, Wed 4 Mar (6 × 7.5 = 45) + Thu 5 Mar 08:30 → 09:00 (0.5) = 52.5
#   e6: Tue 10 Mar 09:00 → 17:30 (7) + Wed 11 (7.5) + Thu 12 08:30 → 09:00 (0.5) = 15.0
#   e11: Mon 16 Mar 09:00 (7) + Tue 17, Wed 18 (15) + Thu 19 08:30 → 09:00 (0.5) = 22.5
#
# Per grid for March, now = 10 April (as_of = 1 April):
#   G1: reported e1 e2 e3 (e4 in Feb) = 3; registered e1 e2 e3 = 3; closed e1 e2 e4 = 3;
#       due: e1 (closed 2 Mar before due), e2 (due 2 Mar, closed late), e4 (closed 5 Mar
#       before due) = 3; e3 falls due 2 April → not due in March; deferred e4 = 1;
#       closed on time e1 = 1 (e4 is deferred, so out of both terms); due_closed 3;
#       overdue e2 = 1; overdue_open 0 (e3 not yet due on 1 April);
#       on-time rate 1 / (3 − 1) = 0.5; closure rate 3 / 3 = 1; mean (2 + 8.5 + 52.5) / 3 = 21
#   G2: reported e5 e6 e7 e8 = 4; registered e5 e6 e7 = 3; cancelled e7 = 1; closed e6 = 1;
#       due e5 (open past 12 Mar), e6 (closed exactly at due) = 2; deferred 0;
#       on time e6 = 1; due_closed 1; overdue e5 = 1; overdue_open e5 = 1;
#       rates 1 / 2 and 1 / 2; mean 15
#   G3: reported e10 e11 = 2; registered 2; closed e11 = 1 (e10 closed 3 April);
#       due e10 (due 31 Mar), e11 (due 18 Mar) = 2; deferred e11 = 1; on time 0;
#       due_closed e11 = 1 (e10 still open on 1 April); overdue e10 e11 = 2;
#       overdue_open e9 (due in February, still open) + e10 = 2;
#       on-time rate 0 / (2 − 1) = 0; closure rate 1 / 2; mean 22.5
EXPECTED_BY_GRID = pd.DataFrame(
    {
        "grid_code": [G1, G2, G3],
        "reported": [3, 4, 2],
        "registered": [3, 3, 2],
        "cancelled": [0, 1, 0],
        "closed": [3, 1, 1],
        "due": [3, 2, 2],
        "deferred": [1, 0, 1],
        "closed_on_time": [1, 1, 0],
        "due_closed": [3, 1, 1],
        "overdue": [1, 1, 2],
        "overdue_open": [0, 1, 2],
        "on_time_closure_rate": [0.5, 0.5, 0.0],
        "closure_rate": [1.0, 0.5, 0.5],
        "mean_handling_hours": [21.0, 15.0, 22.5],
    }
)


def test_indicators_per_grid() -> None:
    ev = events()
    before = ev.copy()
    got = indicators(ev, by="grid_code", now=NOW, **MARCH)
    pd.testing.assert_frame_equal(ev, before)
    assert list(got.columns) == ["grid_code", *INDICATOR_COLUMNS]
    pd.testing.assert_frame_equal(got, EXPECTED_BY_GRID, check_dtype=False)
    assert all(got[c].dtype == np.int64 for c in INDICATOR_COLUMNS[:10])


def test_indicators_per_street_derived_from_grid_codes() -> None:
    got = indicators(events(), by="street_code", now=NOW, **MARCH).set_index("street_code")
    assert got.index.tolist() == ["330109001", "330109002"]
    s1 = got.loc["330109001"]
    # G1 + G2
    assert (s1["reported"], s1["registered"], s1["closed"], s1["due"], s1["deferred"]) == (
        7, 6, 4, 5, 1,
    )  # fmt: skip
    assert s1["closed_on_time"] == 2 and s1["overdue_open"] == 1
    assert s1["on_time_closure_rate"] == pytest.approx(2 / (5 - 1))
    assert s1["closure_rate"] == pytest.approx(4 / 5)
    assert s1["mean_handling_hours"] == pytest.approx((2 + 8.5 + 52.5 + 15) / 4)


def test_indicators_per_department_and_overall() -> None:
    got = indicators(events(), by="department", now=NOW, **MARCH).set_index("department")
    # 城管: e1 e2 e5 e6 e7; due e1 e2 e5 e6, on time e1 e6 → 2 / 4
    assert got.loc["城管", "due"] == 4
    assert got.loc["城管", "on_time_closure_rate"] == 0.5
    # 环卫: e3 e4 e8; due e4 only, and it is deferred → rate undefined
    assert got.loc["环卫", "due"] == 1 and got.loc["环卫", "deferred"] == 1
    assert np.isnan(got.loc["环卫", "on_time_closure_rate"])
    total = indicators(events(), by=None, now=NOW, **MARCH)
    assert list(total.columns) == list(INDICATOR_COLUMNS)
    row = total.iloc[0]
    assert (row["reported"], row["due"], row["deferred"], row["closed_on_time"]) == (9, 7, 2, 2)
    assert row["overdue_open"] == 3
    assert row["on_time_closure_rate"] == pytest.approx(2 / 5)
    assert row["mean_handling_hours"] == pytest.approx((2 + 8.5 + 52.5 + 15 + 22.5) / 5)


def test_period_cut_at_now() -> None:
    # now = Thu 12 March 08:00: e5 and e6 are due at 09:00, later than now
    now = pd.Timestamp("2026-03-12 08:00", tz=TZ)
    got = indicators(events(), by="grid_code", now=now, **MARCH).set_index("grid_code")
    g2 = got.loc[G2]
    assert (g2["reported"], g2["registered"], g2["closed"], g2["due"], g2["overdue_open"]) == (
        2, 2, 0, 0, 0,
    )  # fmt: skip
    assert np.isnan(g2["on_time_closure_rate"]) and np.isnan(g2["closure_rate"])
    assert np.isnan(g2["mean_handling_hours"])
    # G1 by then: e1 e2 closed, e4 closed 5 March; e9-like stock: none
    assert got.loc[G1, "due"] == 3


def test_due_counts_add_up_over_consecutive_periods() -> None:
    ev = events()
    bounds = pd.date_range("2026-01-01", "2026-06-01", freq="MS", tz=TZ)
    monthly = sum(
        indicators(ev, by=None, period_start=a, period_end=b, now=NOW).iloc[0]["due"]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    )
    whole = indicators(ev, by=None, period_start=bounds[0], period_end=bounds[-1], now=NOW)
    # all live events with a deadline: every row but e7 (cancelled) and e8 (not registered)
    assert monthly == whole.iloc[0]["due"] == 9


def test_missing_group_values_form_their_own_row() -> None:
    ev = events()
    ev.loc[ev["event_id"] == "e5", "department"] = None
    got = indicators(ev, by="department", now=NOW, **MARCH)
    assert got["department"].isna().sum() == 1
    assert got["reported"].sum() == 9


def test_alternative_columns() -> None:
    ev = events().drop(columns=["deferred", "status"])
    ev["deferred_hours"] = np.where(events()["deferred"], 7.5, 0.0)
    ev["cancelled"] = events()["status"] == "cancelled"
    got = indicators(ev, by="grid_code", now=NOW, **MARCH)
    pd.testing.assert_frame_equal(got, EXPECTED_BY_GRID, check_dtype=False)


def test_invalid_inputs() -> None:
    with pytest.raises(InvalidInput, match="lacks column.*due_at"):
        indicators(events().drop(columns="due_at"), by="grid_code", now=NOW, **MARCH)
    with pytest.raises(InvalidInput, match="cannot group by 'team'"):
        indicators(events(), by="team", now=NOW, **MARCH)
    with pytest.raises(InvalidInput, match="ends"):
        indicators(events(), by="grid_code", now=NOW, period_start=NOW, period_end=NOW)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        indicators(
            events(), by="grid_code", now=NOW, period_start=pd.Timestamp("2026-03-01"),
            period_end=MARCH["period_end"],
        )  # fmt: skip
    naive = events()
    naive["closed_at"] = naive["closed_at"].dt.tz_localize(None)
    with pytest.raises(InvalidInput, match="closed_at must hold timezone-aware"):
        indicators(naive, by="grid_code", now=NOW, **MARCH)


def test_overdue_list() -> None:
    ev = events()
    got = overdue_list(ev, NOW)
    # open and past due on 10 April 12:00: e9 (due 10 Feb), e5 (12 Mar), e3 (2 Apr);
    # e10 closed on 3 April, e7 cancelled.
    assert got["event_id"].tolist() == ["e9", "e5", "e3"]
    assert list(got.columns) == [*ev.columns, "overdue_hours"]
    # e3: Thu 2 Apr 09:00 → 17:30 (7) + Fri 3 (7.5) + 清明 4–6 Apr off + Tue 7, Wed 8,
    #     Thu 9 (22.5) + Fri 10 08:30 → 12:00 (3.5) = 40.5
    # e5: Thu 12 Mar 09:00 (7) + Fri 13 (7.5) + 15 days 16 Mar – 3 Apr (112.5)
    #     + 7–9 Apr (22.5) + 3.5 = 153
    # e9: Tue 10 Feb 09:00 (7) + 11–13 Feb (22.5) + Sat 14 Feb make-up (7.5) + 春节 off
    #     + 24–27 Feb (30) + Sat 28 Feb make-up (7.5) + 2–6 Mar (37.5) + 9–11 Mar (22.5)
    #     + 12 Mar to 09:00 (0.5) = 135 to e5's deadline, + 153 = 288
    assert got["overdue_hours"].tolist() == [288.0, 153.0, 40.5]
    assert got.index.tolist() == [0, 1, 2]
    # at e5's deadline exactly it is not yet overdue
    at_due = overdue_list(ev, pd.Timestamp("2026-03-12 09:00", tz=TZ))
    assert at_due["event_id"].tolist() == ["e9"]
    assert overdue_list(ev, pd.Timestamp("2026-01-01", tz=TZ)).empty
