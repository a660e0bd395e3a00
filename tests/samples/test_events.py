"""Tests of the event generator, the taxonomy and its working calendar."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.crs import to_wgs84
from gridgeo.errors import CRSMismatch, InvalidInput, NotFound
from gridgeo.events.calendar import WorkingCalendar
from gridgeo.events.taxonomy import CATEGORIES, get_category
from gridgeo.events.workflow import STATES
from gridgeo.samples.events import (
    EVENT_COLUMNS,
    SOURCES,
    STAGE_COLUMNS,
    STATUSES,
    generate_events,
    metres_per_degree,
    sample_points_in_polygons,
)
from gridgeo.samples.taxonomy import PROFILES, SAMPLE_CALENDAR, profile, weights

LON0, LAT0 = 120.22, 30.13
START = pd.Timestamp("2025-01-01", tz="Asia/Shanghai")
END = pd.Timestamp("2026-01-01", tz="Asia/Shanghai")
N_EVENTS = 30_000


def make_units(nx: int = 20, ny: int = 16, cell: float = 500.0) -> gpd.GeoDataFrame:
    """A district of ``nx`` x ``ny`` square grids, 2x2 grids per community, 4 streets.

    Population peaks 3 km east and 5 km north of the south-west corner.
    """
    mx, my = metres_per_degree(LAT0)
    xs = LON0 + np.arange(nx + 1) * cell / mx
    ys = LAT0 + np.arange(ny + 1) * cell / my

    def box(i0: int, j0: int, i1: int, j1: int) -> shapely.MultiPolygon:
        return shapely.MultiPolygon([shapely.box(xs[i0], ys[j0], xs[i1], ys[j1])])

    rows = [
        dict(
            code="330109",
            parent_code=None,
            level="district",
            name="测试区",
            geometry=box(0, 0, nx, ny),
        )
    ]
    for s, (si, sj) in enumerate(itertools.product(range(2), range(2))):
        rows.append(
            dict(
                code=f"330109{s + 1:03d}",
                parent_code="330109",
                level="street",
                name=f"街道{s + 1}",
                geometry=box(si * nx // 2, sj * ny // 2, (si + 1) * nx // 2, (sj + 1) * ny // 2),
            )
        )
    seq: dict[str, int] = {}
    for ci, cj in itertools.product(range(nx // 2), range(ny // 2)):
        street = f"330109{(ci >= nx // 4) * 2 + (cj >= ny // 4) + 1:03d}"
        seq[street] = seq.get(street, 0) + 1
        community = f"{street}{seq[street]:03d}"
        rows.append(
            dict(
                code=community,
                parent_code=street,
                level="community",
                name=f"社区{community[-3:]}",
                geometry=box(2 * ci, 2 * cj, 2 * ci + 2, 2 * cj + 2),
            )
        )
        for g, (di, dj) in enumerate(((0, 1), (1, 1), (0, 0), (1, 0))):
            i, j = 2 * ci + di, 2 * cj + dj
            rows.append(
                dict(
                    code=f"{community}{g + 1:03d}",
                    parent_code=community,
                    level="grid",
                    name=f"社区{community[-3:]}第{g + 1}网格",
                    geometry=box(i, j, i + 1, j + 1),
                )
            )
    df = pd.DataFrame(rows)
    df["kind"] = "base"
    grid = (df["level"] == "grid").to_numpy()
    centre = shapely.centroid(df.geometry.to_numpy())
    ex = (shapely.get_x(centre) - LON0) * mx
    ny_ = (shapely.get_y(centre) - LAT0) * my
    pop = 200 + 6000 * np.exp(-np.hypot(ex - 3000, ny_ - 5000) / 1500)
    df["population"] = np.where(grid, np.round(pop), 0).astype(np.int64)
    df["households"] = (df["population"] / 2.6).astype(np.int64)
    df["full_time_workers"] = grid.astype(np.int64)
    df["part_time_workers"] = 0
    return gpd.GeoDataFrame(df, geometry="geometry", crs=4490)


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return make_units()


@pytest.fixture(scope="module")
def generated(units: gpd.GeoDataFrame) -> tuple[pd.DataFrame, list[dict]]:
    return generate_events(
        units, np.random.default_rng(2024), n_events=N_EVENTS, start=START, end=END
    )


@pytest.fixture(scope="module")
def events(generated: tuple[pd.DataFrame, list[dict]]) -> pd.DataFrame:
    return generated[0]


@pytest.fixture(scope="module")
def truth(generated: tuple[pd.DataFrame, list[dict]]) -> list[dict]:
    return generated[1]


@pytest.fixture(scope="module")
def wgs84(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lon = np.empty(len(events))
    lat = np.empty(len(events))
    for crs in events["crs"].unique():
        m = (events["crs"] == crs).to_numpy()
        lon[m], lat[m] = to_wgs84(events["lon"].to_numpy()[m], events["lat"].to_numpy()[m], crs)
    return lon, lat


# --- taxonomy and calendar -----------------------------------------------------------


def test_sample_profiles_cover_exactly_the_product_taxonomy() -> None:
    assert list(PROFILES) == [c.code for c in CATEGORIES]
    for p in PROFILES.values():
        assert p.phrases and all(p.phrases) and p.weight > 0
    assert weights().tolist() == [PROFILES[c.code].weight for c in CATEGORIES]
    with pytest.raises(NotFound, match="X9999"):
        profile("X9999")
    with pytest.raises(NotFound, match="X9999"):
        weights(["S0101", "X9999"])


def test_sample_calendar_has_no_holidays_and_skips_lunch_nights_and_weekends() -> None:
    # The committed data were generated on this calendar: a holiday list must not creep in.
    assert WorkingCalendar() == SAMPLE_CALENDAR
    assert not SAMPLE_CALENDAR.holidays and not SAMPLE_CALENDAR.extra_workdays
    local = pd.DatetimeIndex(
        ["2025-03-10 11:30", "2025-03-10 17:00", "2025-03-07 17:00", "2025-03-08 12:00"],
        tz="Asia/Shanghai",
    )
    due = SAMPLE_CALENDAR.add_working_hours(local, [1, 1, 0.5, 2])
    assert due.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2025-03-10 14:00",  # 30 min before lunch, 30 after
        "2025-03-11 09:00",  # 30 min today, 30 tomorrow
        "2025-03-07 17:30",
        "2025-03-10 10:30",  # a Saturday counts from Monday morning
    ]
    # 2025-10-01 (National Day) is a working day here.
    national_day = pd.Timestamp("2025-09-30 17:00", tz="Asia/Shanghai")
    assert SAMPLE_CALENDAR.add_working_hours(national_day, 1) == pd.Timestamp(
        "2025-10-01 09:00", tz="Asia/Shanghai"
    )


# --- events --------------------------------------------------------------------------


def test_count_columns_and_period(events: pd.DataFrame) -> None:
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert len(events) == N_EVENTS
    assert events["reported_at"].dt.tz is not None
    assert events["reported_at"].min() >= START and events["reported_at"].max() < END
    assert events["reported_at"].is_monotonic_increasing
    assert events["event_id"].is_unique
    assert events["event_id"].str.fullmatch(r"E\d{13}").all()
    local_day = events["reported_at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y%m%d")
    assert (events["event_id"].str[1:9] == local_day).all()
    # Every month of the year has events.
    months = events["reported_at"].dt.tz_convert("Asia/Shanghai").dt.month
    assert months.nunique() == 12


def test_categories_come_from_the_taxonomy(events: pd.DataFrame) -> None:
    by_code = {c.code: c for c in CATEGORIES}
    assert set(events["category_code"]) <= set(by_code)
    assert events["category_code"].nunique() >= 30
    sample = events.drop_duplicates("category_code")
    for row in sample.itertuples():
        c = by_code[row.category_code]
        assert (row.category_type, row.category_l1, row.category_l2) == (
            c.type,
            c.l1_name,
            c.l2_name,
        )
        assert row.time_limit_hours == c.time_limit_hours and row.department == c.department
    assert events["description"].str.contains("附近").all()


def test_sources_crs_and_external_ids(events: pd.DataFrame) -> None:
    share = events["source"].value_counts(normalize=True)
    assert set(share.index) == set(SOURCES)
    assert 0.35 < share["patrol"] < 0.65
    assert 0.1 < share["resident"] < 0.35 and 0.1 < share["hotline"] < 0.35
    assert 0.01 < share["higher_level"] < 0.1
    allowed = {
        "patrol": {"wgs84", "cgcs2000"},
        "resident": {"gcj02", "bd09"},
        "hotline": {"gcj02"},
        "higher_level": {"cgcs2000"},
    }
    for source, crs in events.groupby("source")["crs"]:
        assert set(crs) <= allowed[source]
    assert set(events["crs"]) == {"wgs84", "cgcs2000", "gcj02", "bd09"}
    patrol = events["source"] == "patrol"
    assert events.loc[patrol, "external_id"].isna().all()
    assert events.loc[~patrol, "external_id"].notna().all()
    assert events.loc[events["source"] == "hotline", "external_id"].str.startswith("12345-").all()
    assert events["external_id"].dropna().is_unique


def test_patrol_reports_follow_working_days(events: pd.DataFrame) -> None:
    local = events["reported_at"].dt.tz_convert("Asia/Shanghai")
    patrol = events["source"] == "patrol"
    weekend = local.dt.day_of_week >= 5
    assert weekend[patrol].mean() < 0.12
    assert weekend[events["source"] == "resident"].mean() > 0.2
    office = local.dt.hour.between(8, 17)
    assert office[patrol].mean() > 0.9


def test_workflow_stages_are_monotone_and_match_status(events: pd.DataFrame) -> None:
    stages = events[list(STAGE_COLUMNS)]
    reached = stages.notna().to_numpy()
    # Stages are reached in order: a prefix of reported…closed, evaluation only after closure.
    core = reached[:, :8]
    assert np.all(core[:, :-1] >= core[:, 1:])
    assert not np.any(reached[:, 8] & ~reached[:, 7])
    # Strictly increasing times along the reached stages.
    secs = stages.apply(lambda s: s.astype("int64")).to_numpy()
    for a, b in itertools.pairwise(range(len(STAGE_COLUMNS))):
        both = reached[:, a] & reached[:, b]
        assert np.all(secs[both, b] > secs[both, a])
    assert (stages.iloc[:, 1:].max() < END).all()
    # Status is the last stage reached, or cancelled.
    assert set(events["status"]) <= set(STATUSES)
    assert STATES[-1] == "cancelled"
    last = np.asarray(STATES[:-1])[reached.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1)]
    cancelled = events["cancelled"].to_numpy()
    assert np.array_equal(events["status"].to_numpy()[~cancelled], last[~cancelled])
    assert (events.loc[cancelled, "status"] == "cancelled").all()
    assert events.loc[cancelled, "verified_at"].notna().all()
    assert events.loc[cancelled, "registered_at"].isna().all()
    assert 0.02 < cancelled.mean() < 0.1
    closed = events["status"].isin(["closed", "evaluated"]).mean()
    assert closed > 0.85


def test_staff_act_in_working_hours_and_durations_are_realistic(events: pd.DataFrame) -> None:
    for col in ("registered_at", "dispatched_at", "handled_at", "closed_at"):
        local = events[col].dropna().dt.tz_convert("Asia/Shanghai")
        minute = local.dt.hour * 60 + local.dt.minute
        in_hours = (local.dt.day_of_week < 5) & (
            minute.between(510, 720) | minute.between(810, 1050)
        )
        assert in_hours.all(), col
    closed = events.dropna(subset=["closed_at"])
    hours = (closed["closed_at"] - closed["reported_at"]).dt.total_seconds() / 3600
    assert hours.min() > 0.05
    assert 1 < hours.median() < 72
    assert hours.quantile(0.99) > 72  # long cases take days
    verify_min = (events["verified_at"] - events["reported_at"]).dt.total_seconds() / 60
    assert verify_min[events["source"] == "patrol"].median() < 30


def test_due_times_and_overdue(events: pd.DataFrame) -> None:
    registered = events.dropna(subset=["registered_at"])
    factor = np.where(registered["deferred"], 2.0, 1.0)
    expected = SAMPLE_CALENDAR.add_working_hours(
        pd.DatetimeIndex(registered["registered_at"]),
        registered["time_limit_hours"].to_numpy() * factor,
    )
    diff = (pd.DatetimeIndex(registered["due_at"]) - expected).total_seconds()
    assert np.all(np.abs(diff) <= 1)
    assert events.loc[events["registered_at"].isna(), "due_at"].isna().all()
    late = (events["closed_at"] > events["due_at"]) | (
        events["closed_at"].isna() & events["due_at"].notna() & (events["due_at"] < END)
    )
    assert np.array_equal(events["overdue"].to_numpy(), late.to_numpy())
    assert 0.05 <= events["overdue"].mean() <= 0.10
    assert 0.01 < events["deferred"].mean() < 0.08
    assert events["rework_count"].isin([0, 1, 2]).all() and (events["rework_count"] > 0).any()
    # Deferred events are seldom late; reworked ones more often than the rest.
    assert events.loc[events["deferred"], "overdue"].mean() < 0.2
    reworked = events["rework_count"] > 0
    assert events.loc[reworked, "overdue"].mean() > events.loc[~reworked, "overdue"].mean()


def _distance_m(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    mx, my = metres_per_degree(lat0)
    return np.hypot((lon - lon0) * mx, (lat - lat0) * my)


def test_planted_spots_are_recorded(truth: list[dict], units: gpd.GeoDataFrame) -> None:
    kinds = sorted(t["kind"] for t in truth)
    assert kinds == ["cold", "diminishing", "intensifying", "new", "persistent", "persistent"]
    codes = set(units["code"])
    for t in truth:
        assert 300 <= t["radius_m"] <= 800
        assert pd.Timestamp(t["start"]) < pd.Timestamp(t["end"]) <= END
        assert t["grid_code"] in codes and t["n_planted"] > 0
        assert (t["category"] is None) == (t["kind"] == "cold")
        if t["category"]:
            assert get_category(t["category"]).l2_name in t["category_name"]
    for a, b in itertools.combinations(truth, 2):
        d = _distance_m(np.array([a["lon"]]), np.array([a["lat"]]), b["lon"], b["lat"])[0]
        assert d > 2000
    new = next(t for t in truth if t["kind"] == "new")
    assert pd.Timestamp(new["start"]) >= pd.Timestamp("2025-12-01", tz="Asia/Shanghai")


def _monthly_density(
    events: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, spot: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Events per km² per month inside the spot and in a ring 300–1500 m beyond it."""
    d = _distance_m(lon, lat, spot["lon"], spot["lat"])
    r = spot["radius_m"]
    month = events["reported_at"].dt.tz_convert("Asia/Shanghai").dt.month.to_numpy() - 1
    inside = np.bincount(month[d <= r], minlength=12) / (np.pi * r**2 / 1e6)
    ring_mask = (d > r + 300) & (d <= r + 1500)
    ring_area = np.pi * ((r + 1500) ** 2 - (r + 300) ** 2) / 1e6
    return inside, np.bincount(month[ring_mask], minlength=12) / ring_area


def test_hot_spots_stand_out_in_their_windows(
    events: pd.DataFrame, truth: list[dict], wgs84: tuple[np.ndarray, np.ndarray]
) -> None:
    lon, lat = wgs84
    month = events["reported_at"].dt.tz_convert("Asia/Shanghai").dt.month.to_numpy() - 1
    per_month = np.bincount(month, minlength=12) / 80.0  # per km² over the 80 km² district
    overall = per_month.mean()
    for spot in truth:
        inside, ring = _monthly_density(events, lon, lat, spot)
        kind = spot["kind"]
        if kind == "cold":
            assert inside.sum() < 0.15 * ring.sum()
            assert ring.mean() > 1.5 * overall  # the cold spot sits in the dense core
            continue
        d = _distance_m(lon, lat, spot["lon"], spot["lat"])
        in_disk = d <= spot["radius_m"]
        share = (events.loc[in_disk, "category_code"] == spot["category"]).mean()
        assert share > 0.5, kind
        if kind == "new":
            assert inside[-1] > 5 * max(ring[-1], overall)
            assert np.all(inside[:-1] < 2 * np.maximum(ring[:-1], overall))
            continue
        assert np.all(inside > 2 * np.maximum(ring, overall)), kind
        # Relative to the district's monthly total, so seasonality does not count as trend.
        trend = np.corrcoef(np.arange(12), inside / per_month)[0, 1]
        if kind == "intensifying":
            assert trend > 0.8
        elif kind == "diminishing":
            assert trend < -0.8
        else:
            relative = inside / per_month
            assert abs(trend) < 0.8 and relative.min() > 0.4 * relative.max()


def test_same_seed_same_events_other_seed_differs(units: gpd.GeoDataFrame) -> None:
    def run(seed: int) -> tuple[pd.DataFrame, list[dict]]:
        return generate_events(
            units, np.random.default_rng(seed), n_events=3000, start=START, end=END
        )

    a, ta = run(5)
    b, tb = run(5)
    pd.testing.assert_frame_equal(a, b)
    assert ta == tb
    c, _ = run(6)
    assert not a["lon"].equals(c["lon"])
    # Input row order does not matter either.
    shuffled = units.sample(frac=1.0, random_state=1)
    d, td = generate_events(shuffled, np.random.default_rng(5), n_events=3000, start=START, end=END)
    pd.testing.assert_frame_equal(a, d)
    assert ta == td


def test_inputs_are_not_mutated(units: gpd.GeoDataFrame) -> None:
    before = units.copy()
    generate_events(units, np.random.default_rng(1), n_events=2000, start=START, end=END)
    pd.testing.assert_frame_equal(units, before)


def test_naive_period_is_local_time(units: gpd.GeoDataFrame) -> None:
    ev, truth = generate_events(
        units,
        np.random.default_rng(1),
        n_events=2000,
        start=pd.Timestamp("2025-01-01"),
        end=pd.Timestamp("2025-04-01"),
    )
    local = ev["reported_at"].dt.tz_convert("Asia/Shanghai")
    assert local.min() >= pd.Timestamp("2025-01-01", tz="Asia/Shanghai")
    assert local.max() < pd.Timestamp("2025-04-01", tz="Asia/Shanghai")
    assert all(t["end"] == "2025-04-01T00:00:00+08:00" for t in truth)


def test_bad_inputs_raise(units: gpd.GeoDataFrame) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(CRSMismatch, match="4490"):
        generate_events(units.to_crs(3857), rng, n_events=10, start=START, end=END)
    with pytest.raises(InvalidInput, match="population"):
        generate_events(units.drop(columns="population"), rng, n_events=10, start=START, end=END)
    with pytest.raises(InvalidInput, match="n_events"):
        generate_events(units, rng, n_events=0, start=START, end=END)
    with pytest.raises(InvalidInput, match="after start"):
        generate_events(units, rng, n_events=10, start=END, end=START)
    with pytest.raises(InvalidInput, match="too small"):
        generate_events(make_units(4, 4), rng, n_events=1000, start=START, end=END)
    with pytest.raises(InvalidInput, match="base grids"):
        generate_events(units[units["level"] != "grid"], rng, n_events=10, start=START, end=END)


def test_sample_points_in_polygons() -> None:
    tri = shapely.Polygon([(0, 0), (10, 0), (0, 10)])
    ring = shapely.box(0, 0, 10, 10).difference(shapely.box(2, 2, 8, 8))
    x, y, owner = sample_points_in_polygons([tri, ring], [500, 300], np.random.default_rng(0))
    assert np.bincount(owner).tolist() == [500, 300]
    assert shapely.contains_xy(tri, x[:500], y[:500]).all()
    assert shapely.contains_xy(ring, x[500:], y[500:]).all()
    # Roughly uniform: half the triangle lies below x + y = 10 / sqrt(2).
    assert 0.4 < np.mean(x[:500] + y[:500] < 10 / np.sqrt(2)) < 0.6
    with pytest.raises(InvalidInput, match="empty"):
        sample_points_in_polygons([shapely.Polygon()], [1], np.random.default_rng(0))
