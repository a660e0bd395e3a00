"""Tests of the patrol-track generator and its planted fakes."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.crs import to_wgs84
from gridgeo.errors import CRSMismatch, InvalidInput
from gridgeo.samples.events import metres_per_degree
from gridgeo.samples.tracks import FAKE_KINDS, TRACK_COLUMNS, generate_tracks

LON0, LAT0 = 120.25, 30.15
START = pd.Timestamp("2025-03-03", tz="Asia/Shanghai")  # a Monday
DAYS = 14
MX, MY = metres_per_degree(LAT0)
VILLAGES = {"330109001001003", "330109001003004", "330109001010002"}
"""Grids staffed by one part-time worker only."""


def make_units(nx: int = 8, ny: int = 6, cell: float = 500.0) -> gpd.GeoDataFrame:
    """Square grids, 2x2 per community, two micro-grids in some grids, one special grid."""
    xs = LON0 + np.arange(nx + 1) * cell / MX
    ys = LAT0 + np.arange(ny + 1) * cell / MY

    def poly(x0: float, y0: float, x1: float, y1: float) -> shapely.MultiPolygon:
        return shapely.MultiPolygon([shapely.box(x0, y0, x1, y1)])

    rows = [("330109", None, "district", "base", poly(xs[0], ys[0], xs[-1], ys[-1]))]
    rows.append(("330109001", "330109", "street", "base", poly(xs[0], ys[0], xs[-1], ys[-1])))
    for k, (ci, cj) in enumerate(itertools.product(range(nx // 2), range(ny // 2))):
        community = f"330109001{k + 1:03d}"
        rows.append(
            (
                community,
                "330109001",
                "community",
                "base",
                poly(xs[2 * ci], ys[2 * cj], xs[2 * ci + 2], ys[2 * cj + 2]),
            )
        )
        for g, (di, dj) in enumerate(((0, 1), (1, 1), (0, 0), (1, 0))):
            i, j = 2 * ci + di, 2 * cj + dj
            code = f"{community}{g + 1:03d}"
            rows.append((code, community, "grid", "base", poly(xs[i], ys[j], xs[i + 1], ys[j + 1])))
            if (i + j) % 5 == 0:
                xm = (xs[i] + xs[i + 1]) / 2
                rows.append(
                    (f"{code}001", code, "microgrid", "base", poly(xs[i], ys[j], xm, ys[j + 1]))
                )
                rows.append(
                    (f"{code}002", code, "microgrid", "base", poly(xm, ys[j], xs[i + 1], ys[j + 1]))
                )
    # A school inside the first grid of community 005.
    host = next(r for r in rows if r[0] == "330109001005001")
    x0, y0, x1, y1 = host[4].bounds
    rows.append(
        (
            "330109001005801",
            "330109001005",
            "grid",
            "special",
            poly(
                x0 + (x1 - x0) * 0.3,
                y0 + (y1 - y0) * 0.3,
                x0 + (x1 - x0) * 0.6,
                y0 + (y1 - y0) * 0.6,
            ),
        )
    )
    df = pd.DataFrame(rows, columns=["code", "parent_code", "level", "kind", "geometry"])
    df["name"] = "单元" + df["code"].str[-3:]
    df["population"] = np.where(df["level"] == "grid", 1200, 0)
    df["households"] = df["population"] // 3
    df["full_time_workers"] = 0
    df["part_time_workers"] = 0
    return gpd.GeoDataFrame(df, geometry="geometry", crs=4490)


def make_roster(units: gpd.GeoDataFrame) -> pd.DataFrame:
    rows = []
    grids = units[units["level"] == "grid"].sort_values("code")
    for k, code in enumerate(grids["code"]):
        if code in VILLAGES:
            rows.append(("part_time", code))
            continue
        rows.append(("full_time", code))
        if k % 6 == 0:
            rows.append(("full_time", code))
    for code in units.loc[units["level"] == "microgrid", "code"].sort_values():
        rows.append(("part_time", code))
    return pd.DataFrame(
        {
            "worker_id": [f"W{k + 1:04d}" for k in range(len(rows))],
            "name": [f"员工{k}" for k in range(len(rows))],
            "employment": [r[0] for r in rows],
            "grid_code": [r[1] for r in rows],
        }
    )


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return make_units()


@pytest.fixture(scope="module")
def roster(units: gpd.GeoDataFrame) -> pd.DataFrame:
    return make_roster(units)


@pytest.fixture(scope="module")
def generated(units: gpd.GeoDataFrame, roster: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    return generate_tracks(units, roster, np.random.default_rng(7), start=START, days=DAYS)


@pytest.fixture(scope="module")
def fixes(generated: tuple[pd.DataFrame, dict]) -> pd.DataFrame:
    """The fixes with WGS84 positions (``x``, ``y``) added."""
    df = generated[0].copy()
    x = np.empty(len(df))
    y = np.empty(len(df))
    for crs in df["crs"].unique():
        m = (df["crs"] == crs).to_numpy()
        x[m], y[m] = to_wgs84(df["lon"].to_numpy()[m], df["lat"].to_numpy()[m], crs)
    df["x"], df["y"] = x, y
    return df


@pytest.fixture(scope="module")
def truth(generated: tuple[pd.DataFrame, dict]) -> dict:
    return generated[1]


@pytest.fixture(scope="module")
def honest(fixes: pd.DataFrame, truth: dict) -> pd.DataFrame:
    fake = {f["patrol_id"] for f in truth["fake_tracks"]}
    return fixes[~fixes["patrol_id"].isin(fake)]


def _metres(a: pd.DataFrame | np.ndarray, b: pd.DataFrame | np.ndarray) -> np.ndarray:
    return np.hypot((a[0] - b[0]) * MX, (a[1] - b[1]) * MY)


def _geom(units: gpd.GeoDataFrame, code: str) -> shapely.Geometry:
    return units.loc[units["code"] == code].geometry.iloc[0]


def test_columns_order_and_period(generated: tuple[pd.DataFrame, dict]) -> None:
    df = generated[0]
    assert list(df.columns) == list(TRACK_COLUMNS)
    assert str(df["t"].dtype) == "datetime64[s, UTC]"
    assert df["lon"].dtype == np.float64 and df["accuracy_m"].dtype == np.float64
    assert df["patrol_id"].dtype == np.int64
    order = df.sort_values(["worker_id", "t"], kind="stable").index
    assert (order == df.index).all()
    assert df["t"].min() >= START and df["t"].max() < START + pd.Timedelta(days=DAYS)
    local = df["t"].dt.tz_convert("Asia/Shanghai")
    assert local.dt.hour.between(8, 18).all()
    assert (local.dt.day_of_week < 5).all()
    assert df.groupby("patrol_id")["worker_id"].nunique().max() == 1
    # At most one patrol per worker and day.
    day = local.dt.date
    assert df.groupby(["worker_id", day])["patrol_id"].nunique().max() == 1


def test_devices_and_who_patrols(
    generated: tuple[pd.DataFrame, dict], roster: pd.DataFrame
) -> None:
    df = generated[0]
    assert set(df["crs"]) == {"wgs84", "gcj02"}
    assert df.groupby("worker_id")["crs"].nunique().max() == 1
    emp = roster.set_index("worker_id")
    micro = emp.index[emp["grid_code"].str.len() == 18]
    assert not df["worker_id"].isin(micro).any()
    patrols = df.groupby("worker_id")["patrol_id"].nunique()
    village = emp.index[emp["grid_code"].isin(VILLAGES)]
    full = emp.index[emp["employment"] == "full_time"].intersection(patrols.index)
    assert patrols.reindex(village).fillna(0).mean() < 0.6 * patrols[full].mean()
    assert patrols[full].median() >= 8  # ten working days, a few absences


def test_fix_intervals_duplicates_and_accuracy(fixes: pd.DataFrame) -> None:
    gap = fixes.groupby("patrol_id")["t"].diff().dt.total_seconds().dropna()
    zero = gap == 0
    # Phones sample every 10-60 s (OS-jittered); indoor dropouts leave rarer,
    # longer gaps of a few minutes (gridgeo.samples.gps_error).
    moving = gap[~zero]
    assert moving.between(10, 60).mean() > 0.95
    assert moving.between(10, 15 * 60).all()
    assert 0 < zero.mean() < 0.01
    dup_rows = fixes.loc[zero[zero].index]
    prev_rows = fixes.shift(1).loc[zero[zero].index]
    cols = ["worker_id", "patrol_id", "t", "lon", "lat", "accuracy_m"]
    assert (dup_rows[cols].to_numpy() == prev_rows[cols].to_numpy()).all()
    # Devices differ in their interval; intervals are not perfectly regular.
    per_patrol = gap[~zero].groupby(fixes.loc[gap[~zero].index, "patrol_id"])
    assert per_patrol.median().nunique() > 3
    assert (per_patrol.std() > 0).mean() > 0.95
    acc = fixes["accuracy_m"]
    assert acc.min() >= 1 and acc.max() <= 200
    assert 3 <= acc.median() <= 10
    assert 0.002 < (acc >= 50).mean() < 0.03


def test_gps_error_matches_accuracy(honest: pd.DataFrame) -> None:
    # Step lengths between good fixes are mostly walking/riding distances, never zero
    # (noise), and poor fixes jump further.
    good = honest[honest["accuracy_m"] < 20]
    steps = good.groupby("patrol_id")[["x", "y"]].diff().dropna()
    d = np.hypot(steps["x"] * MX, steps["y"] * MY)
    assert (d > 0).mean() > 0.99
    dt = good.groupby("patrol_id")["t"].diff().dt.total_seconds().loc[steps.index]
    speed = d[dt > 0] / dt[dt > 0]
    assert speed.quantile(0.5) < 5.5
    assert speed.quantile(0.999) < 10


def test_honest_patrols_move_and_stay_home(
    honest: pd.DataFrame, units: gpd.GeoDataFrame, roster: pd.DataFrame
) -> None:
    home = roster.set_index("worker_id")["grid_code"]
    geoms = units.set_index("code").geometry
    g = honest.groupby("patrol_id")
    dur = (g["t"].max() - g["t"].min()).dt.total_seconds() / 60
    assert dur.between(24, 46).all()
    spread = g.apply(lambda p: _metres((p["x"], p["y"]), (p["x"].median(), p["y"].median())).max())
    assert spread.min() > 50  # even in the small special grid
    assert spread.median() > 150
    code = home.loc[honest["worker_id"]].to_numpy()
    inside = shapely.contains_xy(geoms.loc[code].to_numpy(), honest["x"], honest["y"])
    share = pd.Series(inside, index=honest.index).groupby(honest["patrol_id"]).mean()
    assert share.min() > 0.7 and share.mean() > 0.9
    # No jump of kilometres in an honest patrol (poor fixes stay within a few hundred metres).
    step = g[["x", "y"]].diff().dropna()
    assert np.hypot(step["x"] * MX, step["y"] * MY).max() < 1500


def test_each_fake_kind_is_planted(truth: dict) -> None:
    kinds = [f["kind"] for f in truth["fake_tracks"]]
    for kind in FAKE_KINDS:
        assert kinds.count(kind) >= 3, kind
    for f in truth["fake_tracks"]:
        assert pd.Timestamp(f["start"]) <= pd.Timestamp(f["end"])
        assert pd.Timestamp(f["start"]) >= START
    planted = [f for f in truth["fake_tracks"] if f.get("note") is None]
    assert len({f["worker_id"] for f in planted}) == len(planted)


def test_teleports_jump_and_return_within_a_minute(fixes: pd.DataFrame, truth: dict) -> None:
    for f in (f for f in truth["fake_tracks"] if f["kind"] == "teleport"):
        p = fixes[fixes["patrol_id"] == f["patrol_id"]].reset_index(drop=True)
        assert (p["worker_id"] == f["worker_id"]).all()
        i = int(np.flatnonzero(p["t"] == pd.Timestamp(f["start"]))[0])
        xy = (p["x"].to_numpy(), p["y"].to_numpy())
        before = _metres((xy[0][i], xy[1][i]), (xy[0][i - 1], xy[1][i - 1]))
        after = _metres((xy[0][i], xy[1][i]), (xy[0][i + 1], xy[1][i + 1]))
        assert before > 5000 and after > 5000
        assert abs(before - f["distance_m"]) < 500  # measured from the true position
        assert p["t"][i + 1] == pd.Timestamp(f["end"])
        assert (p["t"][i + 1] - p["t"][i]).total_seconds() <= 60
        assert _metres((f["jump_lon"], f["jump_lat"]), (xy[0][i], xy[1][i])) < 100


def test_replays_repeat_an_earlier_patrol(fixes: pd.DataFrame, truth: dict) -> None:
    replays = [f for f in truth["fake_tracks"] if f["kind"] == "replay"]
    assert any(f["offset_m"] == 0 for f in replays) and any(f["offset_m"] > 0 for f in replays)
    for f in replays:
        copy = fixes[fixes["patrol_id"] == f["patrol_id"]]
        src = fixes[fixes["patrol_id"] == f["source_patrol_id"]]
        src = src[~src.duplicated(["t"])]  # the copy carries no duplicated uploads
        assert (src["worker_id"] == f["worker_id"]).all()
        assert len(copy) == len(src) > 10
        assert src["t"].max() < copy["t"].min()
        shift = copy["t"].to_numpy() - src["t"].to_numpy()
        assert (shift == shift[0]).all()
        d = _metres(
            (copy["x"].to_numpy(), copy["y"].to_numpy()), (src["x"].to_numpy(), src["y"].to_numpy())
        )
        assert d.max() <= f["offset_m"] + 0.2
        assert (copy["accuracy_m"].to_numpy() == src["accuracy_m"].to_numpy()).all()


def test_honest_patrols_never_repeat_positions(honest: pd.DataFrame) -> None:
    unique_rows = honest.drop_duplicates(["patrol_id", "lon", "lat"])
    shared = unique_rows.groupby(["lon", "lat"])["patrol_id"].nunique()
    assert (shared > 1).sum() < 5


def test_stationary_patrols_stay_on_one_spot(fixes: pd.DataFrame, truth: dict) -> None:
    for f in (f for f in truth["fake_tracks"] if f["kind"] == "stationary"):
        p = fixes[fixes["patrol_id"] == f["patrol_id"]]
        assert (p["t"].max() - p["t"].min()).total_seconds() >= 55 * 60
        d = _metres((p["x"].to_numpy(), p["y"].to_numpy()), (f["lon"], f["lat"]))
        assert d.max() <= 15
        assert len(p) > 50


def test_outside_patrols_spend_most_time_next_door(
    fixes: pd.DataFrame, truth: dict, units: gpd.GeoDataFrame
) -> None:
    outside = [f for f in truth["fake_tracks"] if f["kind"] == "outside"]
    assert sum(1 for f in outside if "note" not in f) >= 3
    for f in outside:
        p = fixes[fixes["patrol_id"] == f["patrol_id"]]
        own, other = _geom(units, f["grid_code"]), _geom(units, f["visited_grid"])
        assert shapely.intersects(own, other) and f["visited_grid"] != f["grid_code"]
        assert shapely.contains_xy(other, p["x"], p["y"]).mean() > 0.6
        assert shapely.contains_xy(own, p["x"], p["y"]).mean() < 0.3


def test_unvisited_grids_have_no_fix(
    fixes: pd.DataFrame, truth: dict, units: gpd.GeoDataFrame, roster: pd.DataFrame
) -> None:
    reasons = truth["unvisited_reasons"]
    assert sorted(reasons) == truth["unvisited_grids"]
    planted = [c for c, r in reasons.items() if r.startswith("planted")]
    assert len(planted) >= 4
    assert sum(r == "planted: worker patrols elsewhere" for r in reasons.values()) == 1
    for code in truth["unvisited_grids"]:
        geom = _geom(units, code)
        assert not shapely.contains_xy(geom, fixes["x"], fixes["y"]).any(), code
    for code in planted:
        assert (roster["grid_code"] == code).any()
        assert not shapely.intersects(_geom(units, code), _geom(units, "330109001005801")) or (
            shapely.area(shapely.intersection(_geom(units, code), _geom(units, "330109001005801")))
            == 0
        )
    # Every grid of the fixture has a tracked worker, so only the planted ones are unvisited.
    assert set(units.loc[units["level"] == "grid", "code"]) <= set(roster["grid_code"])
    assert set(truth["unvisited_grids"]) == set(planted)


def test_same_seed_same_tracks_other_seed_differs(
    units: gpd.GeoDataFrame, roster: pd.DataFrame, generated: tuple[pd.DataFrame, dict]
) -> None:
    again = generate_tracks(units, roster, np.random.default_rng(7), start=START, days=DAYS)
    pd.testing.assert_frame_equal(again[0], generated[0])
    assert again[1] == generated[1]
    shuffled = generate_tracks(
        units.sample(frac=1.0, random_state=3),
        roster.sample(frac=1.0, random_state=4),
        np.random.default_rng(7),
        start=START,
        days=DAYS,
    )
    pd.testing.assert_frame_equal(shuffled[0], generated[0])
    other = generate_tracks(units, roster, np.random.default_rng(8), start=START, days=5)
    assert len(other[0]) != len(generated[0]) or not other[0]["lon"].equals(generated[0]["lon"])


def test_inputs_are_not_mutated(units: gpd.GeoDataFrame, roster: pd.DataFrame) -> None:
    u, r = units.copy(), roster.copy()
    generate_tracks(units, roster, np.random.default_rng(1), start=START, days=7)
    pd.testing.assert_frame_equal(units, u)
    pd.testing.assert_frame_equal(roster, r)


def test_bad_inputs_raise(units: gpd.GeoDataFrame, roster: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(CRSMismatch):
        generate_tracks(units.to_crs(3857), roster, rng, start=START, days=7)
    with pytest.raises(InvalidInput, match="grid_code"):
        generate_tracks(units, roster.drop(columns="grid_code"), rng, start=START, days=7)
    bad = roster.copy()
    bad.loc[0, "grid_code"] = "330109999999999"
    with pytest.raises(InvalidInput, match="330109999999999"):
        generate_tracks(units, bad, rng, start=START, days=7)
    with pytest.raises(InvalidInput, match="duplicate worker_id"):
        generate_tracks(units, pd.concat([roster, roster.iloc[:1]]), rng, start=START, days=7)
    with pytest.raises(InvalidInput, match="days"):
        generate_tracks(units, roster, rng, start=START, days=0)
    with pytest.raises(InvalidInput, match=r"need \d+"):
        generate_tracks(units, roster.iloc[:12], rng, start=START, days=7)
