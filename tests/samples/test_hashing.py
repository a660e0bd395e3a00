"""Content hashes: equal for equal content, different for any change."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.errors import InvalidInput
from gridgeo.samples.hashing import content_hash, directory_content_hashes, json_hash


@pytest.fixture
def frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["330109001001001", "330109001001002", None],
            "population": np.array([10, 20, 30], dtype=np.int64),
            "share": [0.1, np.nan, 0.3],
            "t": pd.to_datetime(["2026-10-01 08:00", "2026-10-01 09:00", None], utc=True),
        },
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), None],
        crs=4490,
    )


def test_hash_ignores_column_order_and_storage_details(frame):
    h = content_hash(frame)
    assert h.startswith("sha256:") and len(h) == 7 + 64
    assert content_hash(frame[["t", "share", "geometry", "code", "population"]]) == h
    # Another starting vertex / orientation of the same polygon.
    rotated = frame.copy()
    rotated.loc[0, "geometry"] = shapely.Polygon([(1, 1), (1, 0), (0, 0), (0, 1)])
    assert content_hash(rotated) == h
    # Other time units, other string dtypes, another NaN payload.
    other = frame.copy()
    other["t"] = other["t"].dt.as_unit("us").dt.tz_convert("Asia/Shanghai")
    other["code"] = other["code"].astype("category")
    other["share"] = np.array([0.1, -np.nan, 0.3])
    assert content_hash(other) == h


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(share=[0.1, np.nan, 0.3 + 1e-16]),
        lambda f: f.assign(population=[10, 20, 31]),
        lambda f: f.assign(code=["330109001001001", "330109001001002", ""]),
        lambda f: f.iloc[::-1],
        lambda f: f.rename(columns={"share": "ratio"}),
        lambda f: f.set_geometry(
            [shapely.box(0, 0, 1, 1 + 1e-9), shapely.box(1, 0, 2, 1), None], crs=4490
        ),
        lambda f: f.to_crs(4326),
    ],
)
def test_any_change_changes_the_hash(frame, change):
    assert content_hash(change(frame)) != content_hash(frame)


def test_files_hash_their_content_not_their_bytes(tmp_path, frame):
    frame.to_parquet(tmp_path / "a.parquet", compression="zstd")
    frame.to_parquet(tmp_path / "b.parquet", compression="snappy", row_group_size=1)
    pd.DataFrame({"x": ["01", "2"]}).to_csv(tmp_path / "c.csv", index=False)
    (tmp_path / "d.json").write_text('{"b": 1, "a": [1.5]}')
    (tmp_path / "README.md").write_text("not data")
    hashes = directory_content_hashes(tmp_path)
    assert sorted(hashes) == ["a.parquet", "b.parquet", "c.csv", "d.json"]
    assert hashes["a.parquet"] == hashes["b.parquet"] == content_hash(frame)
    assert hashes["c.csv"] == content_hash(pd.DataFrame({"x": ["01", "2"]}))  # "01" stays text
    assert hashes["d.json"] == json_hash({"a": [1.5], "b": 1})


def test_non_frames_are_refused():
    with pytest.raises(InvalidInput):
        content_hash([1, 2])  # type: ignore[arg-type]
