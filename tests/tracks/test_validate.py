"""validate_fixes: row-level reasons, the keep-good-rows policy, all-or-nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridgeo.crs import wgs84_to_gcj02
from gridgeo.errors import InvalidInput
from gridgeo.tracks import REJECT_COLUMNS, as_wgs84, read_fixes, validate_fixes

CSV = (
    b"worker_id,t,lon,lat,crs,accuracy_m\n"
    b"W1,2026-10-01T00:00:00Z,120.27,30.17,wgs84,5\n"  # 0 good
    b"W1,,120.27,30.17,wgs84,5\n"  # 1 missing time
    b"W1,2026-10-01T00:00:00Z,200.0,30.17,wgs84,5\n"  # 2 longitude
    b"W1,2026-10-01T00:00:00Z,120.27,-91,wgs84,5\n"  # 3 latitude
    b"W1,2026-10-01T00:00:00Z,0,0,wgs84,5\n"  # 4 null island
    b"W9,2026-10-01T00:00:00Z,120.27,30.17,wgs84,5\n"  # 5 unknown worker
    b",2026-10-01T00:00:00Z,120.27,30.17,wgs84,5\n"  # 6 missing worker
    b"W2,2026-10-01T00:00:00Z,120.27,30.17,utm50,5\n"  # 7 unknown crs
    b"W2,2026-10-01T00:00:00Z,120.27,30.17,gcj02,-1\n"  # 8 negative accuracy
    b"W2,2030-01-01T00:00:00Z,120.27,30.17,gcj02,\n"  # 9 future
    b"W2,garbage,x,30.17,bd09,\n"  # 10 two problems
    b"W2,2026-10-01T00:05:00Z,120.27,30.17,BD-09,\n"  # 11 good, alias
)


def test_row_level_reasons() -> None:
    raw = read_fixes(CSV, filename="batch.csv")
    good, rejects = validate_fixes(raw, ["W1", "W2"], now="2026-10-02")
    assert list(rejects.columns) == list(REJECT_COLUMNS)
    assert good.index.tolist() == [0, 11]
    assert good["crs"].tolist() == ["wgs84", "bd09"]
    got = {(r.row, r.field): r.reason for r in rejects.itertuples()}
    assert got == {
        (1, "t"): "missing or unparseable time",
        (2, "lon"): "longitude 200.0 outside [-180, 180]",
        (3, "lat"): "latitude -91.0 outside [-90, 90]",
        (4, "lon"): "coordinates (0, 0): a device default, not a fix",
        (5, "worker_id"): "unknown worker 'W9'",
        (6, "worker_id"): "missing worker_id",
        (7, "crs"): "unknown crs 'utm50'",
        (8, "accuracy_m"): "negative accuracy",
        (9, "t"): "time in the future",
        (10, "t"): "missing or unparseable time",
        (10, "lon"): "missing or non-numeric coordinates",
    }
    assert rejects["row"].is_monotonic_increasing


def test_every_row_is_either_kept_or_rejected() -> None:
    raw = read_fixes(CSV, filename="batch.csv")
    good, rejects = validate_fixes(raw, ["W1", "W2"], now="2026-10-02")
    assert set(good.index) | set(rejects["row"]) == set(raw.index)
    assert not set(good.index) & set(rejects["row"])


def test_without_roster_or_now_those_checks_are_skipped() -> None:
    raw = read_fixes(CSV, filename="batch.csv")
    good, rejects = validate_fixes(raw)
    assert 5 in good.index and 9 in good.index
    assert "unknown worker" not in " ".join(rejects["reason"])


def test_all_or_nothing_refuses_the_batch() -> None:
    raw = read_fixes(CSV, filename="batch.csv")
    with pytest.raises(InvalidInput, match="refused as a whole") as err:
        validate_fixes(raw, ["W1", "W2"], all_or_nothing=True)
    assert err.value.details["rows"] == 9
    assert err.value.details["rejects"][0] == {
        "row": 1,
        "field": "t",
        "reason": "missing or unparseable time",
    }
    clean = raw.loc[[0, 11]]
    good, rejects = validate_fixes(clean, ["W1", "W2"], all_or_nothing=True)
    assert len(good) == 2 and rejects.empty


def test_raw_frames_are_normalised_and_keep_their_index() -> None:
    raw = pd.DataFrame(
        {
            "worker": ["W1", "W1"],
            "time": ["2026-10-01T00:00Z", "bad"],
            "lng": [120.27, 120.28],
            "lat": [30.17, 30.18],
        },
        index=[10, 20],
    )
    good, rejects = validate_fixes(raw)
    assert good.index.tolist() == [10] and rejects["row"].tolist() == [20]
    assert good["crs"].tolist() == ["wgs84"]


def test_as_wgs84_converts_and_keeps_device_crs() -> None:
    lon, lat = wgs84_to_gcj02([120.27, 120.30], [30.17, 30.20])
    fixes = pd.DataFrame(
        {
            "worker_id": "W1",
            "t": pd.Timestamp("2026-10-01", tz="UTC"),
            "lon": np.r_[lon[0], 120.30],
            "lat": np.r_[lat[0], 30.20],
            "crs": ["gcj02", "wgs84"],
            "accuracy_m": 5.0,
        }
    )
    out = as_wgs84(fixes)
    assert np.allclose(out["lon"], [120.27, 120.30], atol=1e-9)
    assert np.allclose(out["lat"], [30.17, 30.20], atol=1e-9)
    assert out["crs"].tolist() == ["wgs84", "wgs84"]
    assert out["device_crs"].tolist() == ["gcj02", "wgs84"]
    assert fixes["crs"].tolist() == ["gcj02", "wgs84"]  # input untouched
    again = as_wgs84(out)
    assert np.array_equal(again["lon"], out["lon"]) and again["device_crs"].tolist() == [
        "gcj02",
        "wgs84",
    ]
