"""Coverage gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridgeo.errors import InvalidInput
from gridgeo.heatmaps.coverage import coverage_gaps

NOW = pd.Timestamp("2025-07-01T00:00:00Z")


def visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "grid": ["g1", "g2", "g3", "g4"],
            "seen": pd.to_datetime(
                ["2025-06-30T12:00Z", "2025-06-24T00:00Z", "2025-06-23T23:59Z", None], utc=True
            ),
            "share": [0.95, 0.50, np.nan, 0.99],
        }
    )


def test_flags_stale_and_below_target() -> None:
    out = coverage_gaps(
        visits(), now=NOW, days=7, target=0.8, location="grid", last_visit="seen", coverage="share"
    )
    assert out["location"].tolist() == ["g1", "g2", "g3", "g4"]
    np.testing.assert_allclose(out["days_since_visit"], [0.5, 7.0, 7 + 1 / 1440, np.nan])
    assert out["stale"].tolist() == [False, False, True, True]  # exactly 7 days is within
    assert out["below_target"].tolist() == [False, True, True, False]  # missing share = 0
    assert out["gap"].tolist() == [False, True, True, True]


def test_study_area_locations_never_visited_are_added() -> None:
    v = visits().rename(columns={"grid": "location", "seen": "last_visit"})[
        ["location", "last_visit"]
    ]
    out = coverage_gaps(v, now=NOW, days=30, locations=["g1", "g9"])
    assert out["location"].tolist() == ["g1", "g2", "g3", "g4", "g9"]
    assert out.set_index("location").loc["g9", "stale"]
    assert not out["below_target"].any()


def test_naive_now_is_utc() -> None:
    v = pd.DataFrame({"location": ["a"], "last_visit": [pd.Timestamp("2025-06-30T00:00Z")]})
    out = coverage_gaps(v, now="2025-07-01 00:00", days=1)
    assert out["days_since_visit"].iloc[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": -1}, "days"),
        ({"days": 7, "target": 1.5}, "target"),
        ({"days": 7, "target": 0.5}, "coverage"),
    ],
)
def test_validation(kwargs: dict[str, float], message: str) -> None:
    v = pd.DataFrame({"location": ["a"], "last_visit": [NOW]})
    with pytest.raises(InvalidInput, match=message):
        coverage_gaps(v, now=NOW, **kwargs)
