"""Synthetic events (事件/部件问题) for the sample city, with planted hotspots.

:func:`generate_events` draws a year (or any period) of reported problems over
the base grids of a district and returns them with the ground truth of what
was planted.

Background
----------
Background events fall in base grids (``level == "grid"``, ``kind ==
"base"``) with probability proportional to each grid's ``population`` plus a
small share (3 %) proportional to area, uniformly inside the grid, so the
event *rate per resident* is flat apart from the plants. Categories follow the
weights of :mod:`gridgeo.samples.taxonomy` (the categories themselves are
those of :mod:`gridgeo.events.taxonomy`); times follow a mild seasonality
(peak in July, ±12 %), a weekday pattern and an hour-of-day profile that
depend on the source (grid workers report in working hours on working days,
residents also in the evening and at weekends, higher-level referrals only in
office hours).

Planted truth
-------------
Six places at least 2 km apart (3 km when the district allows), each a disk:

=============  ========  ====================================================
kind           radius_m  what is planted
=============  ========  ====================================================
cold           800       the densest part of the city; 98 % of background
                         events inside the disk are removed for the whole period
persistent     500       3.5x the local background added in every month
persistent     400       same, another category
new            400       6x the local monthly background, final month only
                         (from the second day of the last calendar month)
intensifying   600       excess growing linearly from 2x to 5x of the monthly
                         background over the calendar months of the period
diminishing    600       excess falling linearly from 5x to 2x
=============  ========  ====================================================

The excesses are strong enough that the default analyses of
:mod:`gridgeo.heatmaps` (Gi* per base grid on rates per 1,000 residents, FDR,
monthly slices) find every plant in every month of its window: at 2.5x the
400 m persistent plant was significant in only 7 of 12 months and came out
"sporadic".

Months are calendar months in China Standard Time. The local background is
the number of background events inside the disk, but at least twice what the
disk would hold at the district's mean event density, so that plants in
sparse areas still stand out against the district as a whole. Hot plants are
uniform in their disk (points outside the district are redrawn) and carry one
level-2 category each; their sources, hours and weekdays follow the same
profiles as the background, and their monthly counts follow the same
seasonality, so only the plant's own trend changes over time. Hot plants sit in
moderately dense areas (between the 20th and 70th percentile of smoothed
population density) at least 3 km from the cold spot where possible.

Each truth record is JSON-ready: ``{"id", "kind", "lon", "lat", "radius_m",
"start", "end", "category", "category_name", "grid_code", "n_planted"}``,
centre in EPSG:4490 (equal to WGS84), ``start``/``end`` ISO 8601 with a +08:00
offset (``end`` exclusive), ``category`` the level-2 code (``None`` for the cold
spot, which thins every category), ``n_planted`` the number of excess events
(for the cold spot: the number of background events removed).

Events table
------------
One row per event, sorted by ``reported_at``:

``event_id``
    ``"E"`` + local report date ``YYYYMMDD`` + 5-digit daily sequence.
``external_id``
    Ticket number in the source system: ``APP…`` (resident app), ``12345-…``
    (hotline), ``SJJB…`` (higher level); missing for patrol reports.
``category_type``, ``category_l1``, ``category_l2``, ``category_code``
    部件/事件, class name, subclass name, level-2 code from the taxonomy.
``department``
    The department the category is dispatched to.
``source``
    ``patrol``, ``resident``, ``hotline`` or ``higher_level``.
``reported_at`` and the stage columns
    UTC-aware timestamps of whole seconds (``datetime64[s, UTC]``; Parquet
    stores them as milliseconds).
``lon``, ``lat``, ``crs``
    The point as reported, in ``crs``: patrol devices report ``wgs84`` (some
    ``cgcs2000``), residents ``gcj02`` (some ``bd09``), the hotline ``gcj02``,
    higher levels ``cgcs2000``. Reported points carry location error (about
    5 m for patrols, 15 m residents, 30 m higher level, 60 m hotline
    geocoding), rounded to 1e-6 degrees.
``description``
    Short Chinese text: the community's name + ``附近`` + a phrase of the category.
``status``
    State as of ``end``: the last stage reached (``reported``, ``verified``,
    ``registered``, ``dispatched``, ``handled``, ``fed_back``, ``checked``,
    ``closed``, ``evaluated``) or ``cancelled``.
``verified_at`` … ``evaluated_at``
    When each closed-loop stage (核实, 立案, 派遣, 处置, 反馈, 核查, 结案, 评价)
    was reached, NaT if not reached by ``end``. After rework the handled,
    feedback and check columns hold the final pass.
``cancelled``, ``rework_count``, ``deferred``
    Cancelled at verification (不予立案: false report, duplicate), number of
    times the check sent the case back (返工), extension granted (延期).
``time_limit_hours``, ``due_at``
    The category's limit in working hours and the deadline: registration plus
    the limit on :data:`gridgeo.samples.taxonomy.SAMPLE_CALENDAR` (no holidays)
    (twice the limit for deferred events); NaT if never registered.
``overdue``
    Closed after ``due_at``, or still open at ``end`` past ``due_at``.

Stage durations are drawn in working time, so staff act in office hours: a
report at 22:00 is verified the next working morning. Delays run from minutes
(verification, registration) to days (handling under a 72-hour limit);
about 5–10 % of events end overdue.

Examples
--------
>>> import geopandas as gpd, numpy as np, pandas as pd, shapely
>>> xs, ys = 120.2 + 0.01 * np.arange(13), 30.1 + 0.01 * np.arange(11)
>>> boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])
...          for i in range(12) for j in range(10)]
>>> units = gpd.GeoDataFrame({
...     "code": [f"330109001001{k:03d}" for k in range(120)],
...     "parent_code": "330109001001", "level": "grid", "kind": "base",
...     "name": [f"第{k}网格" for k in range(120)],
...     "population": np.arange(120) * 10 + 500, "households": 200,
...     "full_time_workers": 1, "part_time_workers": 0,
...     "geometry": [shapely.MultiPolygon([b]) for b in boxes]}, crs=4490)
>>> events, truth = generate_events(units, np.random.default_rng(1), n_events=3000,
...     start=pd.Timestamp("2025-01-01"), end=pd.Timestamp("2026-01-01"))
>>> len(events), sorted({t["kind"] for t in truth})
(3000, ['cold', 'diminishing', 'intensifying', 'new', 'persistent'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from gridgeo.crs import from_wgs84
from gridgeo.errors import CRSMismatch, InvalidInput
from gridgeo.events.taxonomy import CATEGORIES, get_category
from gridgeo.events.workflow import STAGE_COLUMNS as _WORKFLOW_STAGE_COLUMNS
from gridgeo.events.workflow import STATES
from gridgeo.samples.city import UNIT_COLUMNS
from gridgeo.samples.taxonomy import PROFILES, SAMPLE_CALENDAR, weights

__all__ = [
    "EVENT_COLUMNS",
    "LocalFrame",
    "SOURCES",
    "STAGE_COLUMNS",
    "STATUSES",
    "UNIT_COLUMNS",
    "check_units",
    "generate_events",
    "local_period",
    "metres_per_degree",
    "sample_points_in_polygons",
]

LOCAL_TZ: Final = "Asia/Shanghai"

SOURCES: Final[tuple[str, ...]] = ("patrol", "resident", "hotline", "higher_level")

STAGE_COLUMNS: Final[tuple[str, ...]] = tuple(
    c for c in _WORKFLOW_STAGE_COLUMNS if c != "cancelled_at"
)
"""Closed-loop stage timestamps in workflow order: the columns of
:func:`gridgeo.events.workflow.replay` but ``cancelled_at``."""

STATUSES: Final[tuple[str, ...]] = STATES
"""Event states (:data:`gridgeo.events.workflow.STATES`): the stages in order, then cancelled."""
_STAGE_STATUS: Final[tuple[str, ...]] = tuple(s for s in STATES if s != "cancelled")

EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "event_id",
    "external_id",
    "category_type",
    "category_l1",
    "category_l2",
    "category_code",
    "department",
    "source",
    "reported_at",
    "lon",
    "lat",
    "crs",
    "description",
    "status",
    *STAGE_COLUMNS[1:],
    "cancelled",
    "rework_count",
    "deferred",
    "time_limit_hours",
    "due_at",
    "overdue",
)


@dataclass(frozen=True, slots=True)
class _Plant:
    kind: str
    radius_m: float
    category: str | None


_PLANTS: Final[tuple[_Plant, ...]] = (
    _Plant("cold", 800.0, None),
    _Plant("persistent", 500.0, "S0501"),
    _Plant("persistent", 400.0, "S0101"),
    _Plant("new", 400.0, "S0301"),
    _Plant("intensifying", 600.0, "S0504"),
    _Plant("diminishing", 600.0, "S0201"),
)
_COLD_KEEP: Final = 0.02
_FLOOR_DENSITY: Final = 2.0  # floor of the local background, x the district's mean density
_AREA_SHARE: Final = 0.03
_SEPARATION_M: Final[tuple[float, ...]] = (3000.0, 2000.0)

# Source mix per category type (部件 B, 事件 S) and for hot plants.
_SOURCE_P: Final[dict[str, tuple[float, ...]]] = {
    "B": (0.70, 0.12, 0.15, 0.03),
    "S": (0.45, 0.25, 0.25, 0.05),
    "plant": (0.30, 0.30, 0.35, 0.05),
}
# Monday … Sunday.
_WEEKDAY: Final[dict[str, tuple[float, ...]]] = {
    "patrol": (1, 1, 1, 1, 1, 0.35, 0.2),
    "resident": (1, 1, 1, 1, 1, 1.15, 1.15),
    "hotline": (1, 1, 1, 1, 1, 0.9, 0.85),
    "higher_level": (1, 1, 1, 1, 1, 0.05, 0.05),
}
# Local hours 0 … 23.
_HOURS: Final[dict[str, tuple[float, ...]]] = {
    "patrol": (0.01,) * 7
    + (0.3, 1, 1.3, 1.3, 1.1, 0.4, 0.6, 1.2, 1.3, 1.2, 0.6, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05),
    "resident": (0.05,) * 6
    + (0.2, 0.5, 0.9, 1, 1, 1, 0.9, 0.8, 0.9, 0.9, 0.9, 0.9, 1.1, 1.3, 1.3, 1.0, 0.6, 0.2),
    "hotline": (0.08,) * 6
    + (0.15, 0.4, 1, 1.2, 1.2, 1.2, 0.8, 0.9, 1.1, 1.1, 1.1, 1.1, 0.9, 0.8, 0.7, 0.5, 0.3, 0.15),
    "higher_level": (0.0,) * 8 + (0.3, 1, 1, 1, 0.3, 0.3, 1, 1, 1, 0.3) + (0.0,) * 6,
}
# (crs names, probabilities, location error sigma in metres) per source.
_SOURCE_CRS: Final[dict[str, tuple[tuple[str, ...], tuple[float, ...], float]]] = {
    "patrol": (("wgs84", "cgcs2000"), (0.85, 0.15), 5.0),
    "resident": (("gcj02", "bd09"), (0.8, 0.2), 15.0),
    "hotline": (("gcj02",), (1.0,), 60.0),
    "higher_level": (("cgcs2000",), (1.0,), 30.0),
}
_CANCEL_P: Final[dict[str, float]] = {
    "patrol": 0.02,
    "resident": 0.08,
    "hotline": 0.06,
    "higher_level": 0.01,
}
_EVALUATE_P: Final[dict[str, float]] = {
    "patrol": 0.3,
    "resident": 0.7,
    "hotline": 0.7,
    "higher_level": 0.3,
}
_EXTERNAL_PREFIX: Final[dict[str, tuple[str, int]]] = {
    "resident": ("APP", 5),
    "hotline": ("12345-", 5),
    "higher_level": ("SJJB", 3),
}


# --- shared helpers --------------------------------------------------------------------


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at ``lat`` (WGS84 ellipsoid).

    Accurate to centimetres per degree; used for local east/north offsets of a
    few kilometres.

    Examples
    --------
    >>> mx, my = metres_per_degree(30.0)
    >>> round(mx), round(my)
    (96486, 110852)
    """
    phi = np.radians(lat)
    my = 111132.92 - 559.82 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi) - 0.0023 * np.cos(6 * phi)
    mx = 111412.84 * np.cos(phi) - 93.5 * np.cos(3 * phi) + 0.118 * np.cos(5 * phi)
    return float(mx), float(my)


@dataclass(frozen=True)
class LocalFrame:
    """Local east/north metres around (``lon0``, ``lat0``), with ``mx``/``my`` metres per degree.

    Examples
    --------
    >>> frame = LocalFrame.around([shapely.box(120.0, 30.0, 120.2, 30.2)])
    >>> x, y = frame.to_m(np.array([120.2]), np.array([30.1]))
    >>> round(float(x[0])), round(float(y[0]))
    (9639, 0)
    >>> [round(float(v[0]), 6) for v in frame.to_deg(x, y)]
    [120.2, 30.1]
    """

    lon0: float
    lat0: float
    mx: float
    my: float

    @classmethod
    def around(cls, geoms: ArrayLike) -> LocalFrame:
        """The frame centred on the bounding box of ``geoms`` (lon/lat)."""
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        lat0 = (miny + maxy) / 2
        return cls((minx + maxx) / 2, lat0, *metres_per_degree(lat0))

    def to_m(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        """Longitudes/latitudes (numbers or arrays) → east/north metres."""
        return (lon - self.lon0) * self.mx, (lat - self.lat0) * self.my

    def to_deg(self, x: Any, y: Any) -> tuple[Any, Any]:
        """East/north metres (numbers or arrays) → longitudes/latitudes."""
        return self.lon0 + x / self.mx, self.lat0 + y / self.my


def check_units(units: gpd.GeoDataFrame) -> None:
    """Check that ``units`` is a sample-city unit table in EPSG:4490.

    Raises
    ------
    InvalidInput
        If it is not a GeoDataFrame or lacks a column of :data:`UNIT_COLUMNS`.
    CRSMismatch
        If its CRS is not EPSG:4490.
    """
    if not isinstance(units, gpd.GeoDataFrame):
        raise InvalidInput("units must be a GeoDataFrame")
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing:
        raise InvalidInput(f"units lack the columns {missing}")
    if units.crs is None or units.crs.to_epsg() != 4490:
        raise CRSMismatch(f"units must be in EPSG:4490 (CGCS2000), got {units.crs}")


def local_period(start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return ``start`` and ``end`` in China Standard Time.

    Naive timestamps are read as local time (Asia/Shanghai).

    Raises
    ------
    InvalidInput
        If ``end`` is not after ``start``.
    """
    out = []
    for name, ts in (("start", start), ("end", end)):
        try:
            t = pd.Timestamp(ts)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{name} is not a timestamp: {ts!r}") from exc
        if t is pd.NaT:
            raise InvalidInput(f"{name} must not be NaT")
        out.append(t.tz_localize(LOCAL_TZ) if t.tz is None else t.tz_convert(LOCAL_TZ))
    if out[1] <= out[0]:
        raise InvalidInput(f"end ({out[1]}) must be after start ({out[0]})")
    return out[0], out[1]


def sample_points_in_polygons(
    polygons: ArrayLike,
    counts: ArrayLike,
    rng: np.random.Generator,
    *,
    max_rounds: int = 200,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Draw ``counts[i]`` uniform points inside each polygon ``i``.

    Candidates are drawn in each polygon's bounding box and kept when
    :func:`shapely.contains_xy` accepts them, in vectorised rounds. Uniform in
    the coordinates of the polygons (for lon/lat over a district, uniform in
    area to within the change of cos(latitude)).

    Parameters
    ----------
    polygons : array_like of shapely geometries
    counts : array_like of int
        Non-negative, one per polygon.
    rng : numpy.random.Generator

    Returns
    -------
    x, y : numpy.ndarray of float64
    owner : numpy.ndarray of int64
        Index of the polygon of each point; points are grouped by owner in
        polygon order.

    Raises
    ------
    InvalidInput
        If a polygon with a positive count is empty or so thin that no point
        can be drawn inside it.

    Examples
    --------
    >>> x, y, owner = sample_points_in_polygons(
    ...     [shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 7)], [3, 2],
    ...     np.random.default_rng(0))
    >>> owner.tolist(), bool(np.all(x[3:] >= 5))
    ([0, 0, 0, 1, 1], True)
    """
    geoms = np.asarray(polygons, dtype=object)
    need = np.asarray(counts, dtype=np.int64).copy()
    if geoms.shape != need.shape or geoms.ndim != 1:
        raise InvalidInput("polygons and counts must be 1-d and of equal length")
    if np.any(need < 0):
        raise InvalidInput("point counts must not be negative")
    bounds = shapely.bounds(geoms)
    width = bounds[:, 2] - bounds[:, 0]
    height = bounds[:, 3] - bounds[:, 1]
    box_area = width * height
    area = shapely.area(geoms)
    bad = (need > 0) & ~(area > 0)
    if np.any(bad):
        raise InvalidInput(f"cannot draw points in empty polygon(s) at index {np.flatnonzero(bad)}")
    accept = np.where(box_area > 0, area / np.where(box_area > 0, box_area, 1.0), 1.0)
    shapely.prepare(geoms)
    xs, ys, owners = [], [], []
    for _ in range(max_rounds):
        if not need.any():
            break
        draw = np.where(need > 0, np.ceil(need / np.maximum(accept, 0.05) * 1.2) + 2, 0).astype(
            np.int64
        )
        owner = np.repeat(np.arange(len(geoms)), draw)
        x = bounds[owner, 0] + rng.random(owner.size) * width[owner]
        y = bounds[owner, 1] + rng.random(owner.size) * height[owner]
        ok = shapely.contains_xy(geoms[owner], x, y)
        owner, x, y = owner[ok], x[ok], y[ok]
        first = np.searchsorted(owner, np.arange(len(geoms)))
        rank = np.arange(owner.size) - first[owner]
        keep = rank < need[owner]
        xs.append(x[keep])
        ys.append(y[keep])
        owners.append(owner[keep])
        need -= np.bincount(owner[keep], minlength=len(geoms))
    if need.any():
        raise InvalidInput(
            f"could not draw points inside polygon(s) at index {np.flatnonzero(need)}"
        )
    x_all = np.concatenate(xs) if xs else np.empty(0)
    y_all = np.concatenate(ys) if ys else np.empty(0)
    o_all = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
    order = np.argsort(o_all, kind="stable")
    return x_all[order], y_all[order], o_all[order].astype(np.int64)


# --- generation ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """Local days of the period and month slices."""

    day_start_s: NDArray[np.int64]  # UTC epoch seconds of local midnight of each day
    dow: NDArray[np.int64]
    season: NDArray[np.float64]
    month: NDArray[np.int64]  # month slice index of each day
    month_start: list[pd.Timestamp]


def _calendar(start: pd.Timestamp, end: pd.Timestamp) -> _Calendar:
    days = pd.date_range(start.floor("D"), end, freq="D", inclusive="left")
    if len(days) == 0 or days[0] > start:
        days = pd.date_range(start.floor("D"), end.ceil("D"), freq="D", inclusive="left")
    day_start_s = days.tz_convert("UTC").as_unit("s").asi8.astype(np.int64)
    doy = days.day_of_year.to_numpy().astype(np.float64)
    season = 1.0 + 0.12 * np.cos(2 * np.pi * (doy - 196.0) / 365.25)
    ym = days.year.to_numpy() * 12 + days.month.to_numpy() - 1
    month = (ym - ym[0]).astype(np.int64)
    month_start = [
        max(start, pd.Timestamp(year=int(v // 12), month=int(v % 12) + 1, day=1, tz=LOCAL_TZ))
        for v in range(int(ym[0]), int(ym[-1]) + 1)
    ]
    return _Calendar(
        day_start_s, days.day_of_week.to_numpy().astype(np.int64), season, month, month_start
    )


def _normalise(w: NDArray[np.float64]) -> NDArray[np.float64]:
    total = w.sum()
    if not total > 0:
        raise InvalidInput("the period has no time in which events can be reported")
    return w / total


def _sample_times(
    rng: np.random.Generator,
    sources: NDArray[np.int64],
    cal: _Calendar,
    day_factor: NDArray[np.float64],
    lo_s: int,
    hi_s: int,
) -> NDArray[np.int64]:
    """UTC epoch seconds in [lo_s, hi_s) for events of the given source indices."""
    out = np.empty(sources.size, dtype=np.int64)
    for s, name in enumerate(SOURCES):
        idx = np.flatnonzero(sources == s)
        if idx.size == 0:
            continue
        weekday = np.asarray(_WEEKDAY[name])[cal.dow]
        hours = np.asarray(_HOURS[name], dtype=np.float64)
        # Day weights include the share of each day's hour profile inside [lo, hi).
        hour_start = cal.day_start_s[:, None] + 3600 * np.arange(24)[None, :]
        inside = (hour_start >= lo_s - 3599) & (hour_start < hi_s)
        day_w = _normalise(cal.season * weekday * day_factor * (inside * hours).sum(axis=1))
        todo = idx
        while todo.size:
            day = rng.choice(day_w.size, size=todo.size, p=day_w)
            hour = rng.choice(24, size=todo.size, p=hours / hours.sum())
            t = cal.day_start_s[day] + hour * 3600 + rng.integers(0, 3600, size=todo.size)
            ok = (t >= lo_s) & (t < hi_s)
            out[todo[ok]] = t[ok]
            todo = todo[~ok]
    return out


def _month_weights(kind: str, n_months: int) -> NDArray[np.float64]:
    """Relative excess per month slice (only the ratios between months matter)."""
    ramp = np.linspace(2.0, 5.0, n_months) if n_months > 1 else np.ones(1)
    if kind == "intensifying":
        w = ramp
    elif kind == "diminishing":
        w = ramp[::-1].copy()
    elif kind == "new":
        w = np.zeros(n_months)
        w[-1] = 1.0
    else:
        w = np.ones(n_months)
    return w


_EXCESS_MULT: Final[dict[str, float]] = {
    # total excess over the active window, in units of the local background of that window
    "persistent": 3.5,
    "intensifying": 3.5,
    "diminishing": 3.5,
    "new": 6.0,
}


def _place_plants(
    grids: gpd.GeoDataFrame, frame: LocalFrame, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], shapely.Geometry]:
    """Centres (local metres), centre-grid index of each plant and the district (metres)."""
    geoms_m = shapely.transform(
        grids.geometry.to_numpy(), lambda c: np.column_stack(frame.to_m(c[:, 0], c[:, 1]))
    )
    # Snapping to 0.5 m closes float-noise gaps between grids that should share edges.
    domain = shapely.union_all(geoms_m, grid_size=0.5)
    boundary = shapely.boundary(domain)
    reps = shapely.point_on_surface(geoms_m)
    px, py = shapely.get_x(reps), shapely.get_y(reps)
    clearance = shapely.distance(reps, boundary)
    pop = grids["population"].to_numpy(dtype=np.float64)
    tree = shapely.STRtree(reps)
    pairs = tree.query(reps, predicate="dwithin", distance=1000.0)
    smooth = np.bincount(pairs[0], weights=pop[pairs[1]], minlength=len(pop))
    populated = smooth[smooth > 0]
    lo, hi = np.quantile(populated, [0.2, 0.7]) if populated.size else (0.0, 0.0)
    chosen: list[int] = []
    for plant in _PLANTS:
        fits = clearance >= plant.radius_m + 100.0
        if plant.kind == "cold":
            if not fits.any():
                raise InvalidInput("the district is too small to place a cold spot of 800 m")
            chosen.append(int(np.flatnonzero(fits & (smooth == smooth[fits].max()))[0]))
            continue
        pick = -1
        band = fits & (smooth >= lo) & (smooth <= hi)
        for sep in _SEPARATION_M:
            gap_ok = np.ones(len(px), dtype=bool)
            for c in chosen:
                gap_ok &= np.hypot(px - px[c], py - py[c]) > sep
            for pool in (band & gap_ok, fits & gap_ok):
                idx = np.flatnonzero(pool)
                if idx.size:
                    pick = int(idx[rng.integers(idx.size)])
                    break
            if pick >= 0:
                break
        if pick < 0:
            raise InvalidInput(
                f"the district is too small to place {len(_PLANTS)} hotspots 2 km apart"
            )
        chosen.append(pick)
    idx = np.asarray(chosen, dtype=np.int64)
    return px[idx], py[idx], idx, domain


def _workflow(
    rng: np.random.Generator,
    reported_s: NDArray[np.int64],
    sources: NDArray[np.int64],
    limit_h: NDArray[np.float64],
    end: pd.Timestamp,
) -> dict[str, Any]:
    n = reported_s.size
    rep = pd.DatetimeIndex(pd.to_datetime(reported_s, unit="s", utc=True))
    src = np.asarray(SOURCES, dtype=object)[sources]

    def ln(median: float | NDArray[np.float64], sigma: float) -> NDArray[np.float64]:
        return np.asarray(median) * np.exp(sigma * rng.standard_normal(n))

    patrol = sources == 0
    limit_m = limit_h * 60.0
    verify = np.maximum(np.where(patrol, ln(3.0, 0.6), ln(25.0, 0.8)), 1.0)
    register = np.maximum(ln(10.0, 0.7), 1.0)
    cancel_p = np.vectorize(_CANCEL_P.__getitem__, otypes=[float])(src)
    cancelled = rng.random(n) < cancel_p
    deferred = ~cancelled & (rng.random(n) < 0.04)
    rework = np.where(rng.random(n) < 0.10, 1, 0) + np.where(rng.random(n) < 0.015, 1, 0)
    rework = np.where(deferred | cancelled, 0, rework)
    total = np.where(deferred, ln(1.25, 0.3), ln(0.42, 0.55)) * limit_m
    parts = rng.dirichlet([1.5, 6.0, 1.0, 2.0, 1.0], size=n) * total[:, None]
    parts = np.maximum(parts, 1.0)
    extra = np.zeros(n)
    for r in (1, 2):
        extra += np.where(rework >= r, np.maximum(ln(0.25, 0.5) * limit_m, 3.0), 0.0)
    eval_p = np.vectorize(_EVALUATE_P.__getitem__, otypes=[float])(src)
    evaluated = ~cancelled & (rng.random(n) < eval_p)
    evaluate = np.maximum(ln(240.0, 1.0), 1.0)

    # Working minutes from the report to each later stage.
    m_verify = verify
    m_register = m_verify + register
    m_dispatch = m_register + parts[:, 0]
    m_handle = m_dispatch + parts[:, 1] + extra
    m_feedback = m_handle + parts[:, 2]
    m_check = m_feedback + parts[:, 3]
    m_close = m_check + parts[:, 4]
    m_eval = m_close + evaluate

    def after(minutes: NDArray[np.float64]) -> pd.DatetimeIndex:
        reached = SAMPLE_CALENDAR.add_working_hours(rep, minutes / 60.0)
        return pd.DatetimeIndex(reached).tz_convert("UTC").round("s")

    end_utc = end.tz_convert("UTC")
    stages: dict[str, Any] = {"reported_at": rep}
    later = (m_register, m_dispatch, m_handle, m_feedback, m_check, m_close, m_eval)
    stages["verified_at"] = after(m_verify)
    for name, m in zip(STAGE_COLUMNS[2:], later, strict=True):
        stages[name] = after(np.where(cancelled, np.nan, m))
    stages["evaluated_at"] = stages["evaluated_at"].where(evaluated)
    for name in STAGE_COLUMNS[1:]:
        stages[name] = stages[name].where(stages[name] < end_utc)
    reached = np.column_stack([~stages[name].isna() for name in STAGE_COLUMNS])
    last = reached.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1)
    status = np.asarray(_STAGE_STATUS, dtype=object)[last]
    cancelled = cancelled & reached[:, 1]
    status = np.where(cancelled, "cancelled", status)
    registered = reached[:, 2]
    deferred = deferred & reached[:, 3]
    due = SAMPLE_CALENDAR.add_working_hours(
        stages["registered_at"], np.where(deferred, 2.0, 1.0) * limit_h
    )
    due = pd.DatetimeIndex(due).tz_convert("UTC").round("s")
    closed = stages["closed_at"]
    closed_late = reached[:, 7] & np.asarray(closed > due)
    open_late = registered & ~reached[:, 7] & np.asarray(due < end_utc)
    return {
        **{k: v for k, v in stages.items() if k != "reported_at"},
        "status": status,
        "cancelled": cancelled,
        "rework_count": np.where(reached[:, 6], rework, 0).astype(np.int8),
        "deferred": deferred,
        "due_at": due,
        "overdue": (closed_late | open_late) & registered,
    }


def _external_ids(sources: NDArray[np.int64], local_date: NDArray[np.str_]) -> NDArray[np.object_]:
    out = np.full(sources.size, None, dtype=object)
    frame = pd.DataFrame({"s": sources, "d": local_date})
    seq = frame.groupby(["s", "d"], sort=False).cumcount().to_numpy() + 1
    for s, name in enumerate(SOURCES):
        if name not in _EXTERNAL_PREFIX:
            continue
        prefix, width = _EXTERNAL_PREFIX[name]
        idx = np.flatnonzero(sources == s)
        nums = pd.Series(seq[idx]).astype(str).str.zfill(width)
        dates = pd.Series(local_date[idx])
        sep = "-" if prefix.endswith("-") else ""
        out[idx] = (prefix + dates + sep + nums).to_numpy(dtype=object)
    return out


def generate_events(
    units: gpd.GeoDataFrame,
    rng: np.random.Generator,
    *,
    n_events: int,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Generate ``n_events`` events over the base grids of ``units`` in [start, end).

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Sample-city units in EPSG:4490 with :data:`UNIT_COLUMNS`; events fall
        in the rows with ``level == "grid"`` and ``kind == "base"``.
    rng : numpy.random.Generator
        The only source of randomness: the same seed gives identical output.
    n_events : int
        Exact number of events (background plus planted).
    start, end : pandas.Timestamp
        Period, ``end`` exclusive; naive values are China Standard Time.

    Returns
    -------
    events : pandas.DataFrame
        Columns :data:`EVENT_COLUMNS` (described in the module docstring).
    truth : list of dict
        One record per planted hot or cold spot (module docstring).

    Raises
    ------
    InvalidInput
        Bad arguments, no populated base grids, or a district too small for
        the planted spots.
    CRSMismatch
        If ``units`` is not in EPSG:4490.
    """
    check_units(units)
    if isinstance(n_events, bool) or not isinstance(n_events, int | np.integer) or n_events < 1:
        raise InvalidInput(f"n_events must be a positive integer, got {n_events!r}")
    n_events = int(n_events)
    t0, t1 = local_period(start, end)
    grids = units[(units["level"] == "grid") & (units["kind"] == "base")]
    grids = grids.sort_values("code", kind="stable").reset_index(drop=True)
    if len(grids) == 0:
        raise InvalidInput("units contain no base grids (level 'grid', kind 'base')")
    pop = pd.to_numeric(grids["population"], errors="coerce").fillna(0).to_numpy(np.float64)
    pop = np.maximum(pop, 0.0)
    if not pop.sum() > 0:
        raise InvalidInput("no base grid has a positive population")
    geoms = grids.geometry.to_numpy()
    frame = LocalFrame.around(geoms)
    areas = shapely.area(geoms)
    weight = pop / pop.sum() * (1 - _AREA_SHARE) + areas / areas.sum() * _AREA_SHARE

    cx, cy, centre_grid, domain_m = _place_plants(grids, frame, rng)
    shapely.prepare(domain_m)
    cal = _calendar(t0, t1)
    lo_s = int(t0.tz_convert("UTC").timestamp())
    hi_s = int(t1.tz_convert("UTC").timestamp())

    # Background candidates, thinned in the cold spot.
    cold = [k for k, p in enumerate(_PLANTS) if p.kind == "cold"]
    bx_parts, by_parts, bg_parts = [], [], []
    have = 0
    removed = 0
    while have < n_events:
        n_cand = int((n_events - have) * 1.1) + 100
        cnt = np.bincount(rng.choice(len(grids), size=n_cand, p=weight), minlength=len(grids))
        x, y, owner = sample_points_in_polygons(geoms, cnt, rng)
        perm = rng.permutation(x.size)
        x, y, owner = x[perm], y[perm], owner[perm]
        xm, ym = frame.to_m(x, y)
        keep = np.ones(x.size, dtype=bool)
        for k in cold:
            inside = np.hypot(xm - cx[k], ym - cy[k]) <= _PLANTS[k].radius_m
            drop = inside & (rng.random(x.size) >= _COLD_KEEP)
            keep &= ~drop
        removed += int((~keep).sum())
        bx_parts.append(x[keep])
        by_parts.append(y[keep])
        bg_parts.append(owner[keep])
        have += int(keep.sum())
    bx, by = np.concatenate(bx_parts), np.concatenate(by_parts)
    bgrid = np.concatenate(bg_parts)
    bxm, bym = frame.to_m(bx, by)

    # Excess sizes relative to the local background.
    hot = [k for k, p in enumerate(_PLANTS) if p.kind != "cold"]
    n_months = len(cal.month_start)
    share = np.array(
        [np.mean(np.hypot(bxm - cx[k], bym - cy[k]) <= _PLANTS[k].radius_m) for k in hot]
    )
    window_share = np.array([(1.0 / n_months if _PLANTS[k].kind == "new" else 1.0) for k in hot])
    mult = np.array([_EXCESS_MULT[_PLANTS[k].kind] for k in hot])
    disk_share = np.array([np.pi * _PLANTS[k].radius_m ** 2 for k in hot]) / shapely.area(domain_m)
    floor = _FLOOR_DENSITY * n_events * disk_share
    n_bg = float(n_events)
    for _ in range(20):
        base = np.maximum(share * n_bg, floor) * window_share
        n_bg = n_events - float(np.sum(mult * base))
    excess = np.floor(mult * base).astype(np.int64)
    n_bg_int = n_events - int(excess.sum())
    if n_bg_int < n_events // 2:
        raise InvalidInput("n_events is too small for the planted hotspots")
    # Removed count scaled to the background actually kept.
    removed = int(round(removed * n_bg_int / have))
    bx, by, bgrid = bx[:n_bg_int], by[:n_bg_int], bgrid[:n_bg_int]

    cat_codes = np.array([c.code for c in CATEGORIES], dtype=object)
    cat_w = weights()
    bcat = rng.choice(len(CATEGORIES), size=n_bg_int, p=cat_w / cat_w.sum())
    btype = np.array([c.code[0] for c in CATEGORIES])[bcat]
    bsrc = np.empty(n_bg_int, dtype=np.int64)
    for letter in ("B", "S"):
        idx = np.flatnonzero(btype == letter)
        bsrc[idx] = rng.choice(len(SOURCES), size=idx.size, p=_SOURCE_P[letter])
    btime = _sample_times(rng, bsrc, cal, np.ones(cal.season.size), lo_s, hi_s)

    # Hot plants.
    xs, ys, grid_idx, cats, srcs, times = [bx], [by], [bgrid], [bcat], [bsrc], [btime]
    code_index = {c.code: i for i, c in enumerate(CATEGORIES)}
    truth: list[dict[str, Any]] = []
    for j, k in enumerate(hot):
        plant = _PLANTS[k]
        m = int(excess[j])
        px = np.empty(0)
        py = np.empty(0)
        while px.size < m:
            r = plant.radius_m * np.sqrt(rng.random(2 * (m - px.size) + 10))
            a = 2 * np.pi * rng.random(r.size)
            ex, ny = cx[k] + r * np.cos(a), cy[k] + r * np.sin(a)
            lon, lat = frame.to_deg(ex, ny)
            ok = shapely.contains_xy(domain_m, ex, ny)
            px = np.concatenate([px, lon[ok]])[:m]
            py = np.concatenate([py, lat[ok]])[:m]
        src = rng.choice(len(SOURCES), size=m, p=_SOURCE_P["plant"])
        month_w = _month_weights(plant.kind, n_months)
        if plant.kind == "new":
            w_start = cal.month_start[-1] + pd.Timedelta(days=1)
            if w_start >= t1:
                w_start = cal.month_start[-1]
        else:
            w_start = t0
        w_lo = int(w_start.tz_convert("UTC").timestamp())
        times.append(_sample_times(rng, src, cal, month_w[cal.month], w_lo, hi_s))
        xs.append(px)
        ys.append(py)
        grid_idx.append(np.full(m, centre_grid[k]))
        cats.append(np.full(m, code_index[str(plant.category)]))
        srcs.append(src)
        cat = get_category(str(plant.category))
        truth.append(_truth_record(plant, k, cx, cy, frame, grids, centre_grid, w_start, t1, m))
        truth[-1]["category"] = cat.code
        truth[-1]["category_name"] = f"{cat.type}/{cat.l1_name}/{cat.l2_name}"
    for k in cold:
        rec = _truth_record(_PLANTS[k], k, cx, cy, frame, grids, centre_grid, t0, t1, removed)
        truth.insert(0, rec)

    x = np.concatenate(xs)
    y = np.concatenate(ys)
    gidx = np.concatenate(grid_idx)
    cat_i = np.concatenate(cats).astype(np.int64)
    src_i = np.concatenate(srcs)
    t = np.concatenate(times)

    # Reported locations: location error, then the source's CRS.
    n = x.size
    crs = np.empty(n, dtype=object)
    sigma = np.empty(n)
    for s, name in enumerate(SOURCES):
        idx = np.flatnonzero(src_i == s)
        names, probs, sig = _SOURCE_CRS[name]
        crs[idx] = np.asarray(names, dtype=object)[rng.choice(len(names), size=idx.size, p=probs)]
        sigma[idx] = sig
    x = x + sigma * rng.standard_normal(n) / frame.mx
    y = y + sigma * rng.standard_normal(n) / frame.my
    lon = np.empty(n)
    lat = np.empty(n)
    for name in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        idx = np.flatnonzero(crs == name)
        lon[idx], lat[idx] = from_wgs84(x[idx], y[idx], name)
    lon, lat = np.round(lon, 6), np.round(lat, 6)

    # Order by time (ties by generation order), then ids and workflow.
    order = np.lexsort((np.arange(n), t))
    x, y, gidx, cat_i, src_i, t = (
        x[order],
        y[order],
        gidx[order],
        cat_i[order],
        src_i[order],
        t[order],
    )
    lon, lat, crs = lon[order], lat[order], crs[order]
    limit = np.array([c.time_limit_hours for c in CATEGORIES], dtype=np.float64)[cat_i]
    flow = _workflow(rng, t, src_i, limit, t1)

    reported = pd.DatetimeIndex(pd.to_datetime(t, unit="s", utc=True)).as_unit("s")
    local_date = reported.tz_convert(LOCAL_TZ).strftime("%Y%m%d").to_numpy(dtype=str)
    day_seq = pd.Series(local_date).groupby(local_date, sort=False).cumcount().to_numpy() + 1
    event_id = "E" + pd.Series(local_date) + pd.Series(day_seq).astype(str).str.zfill(5)

    phrases = [PROFILES[c.code].phrases for c in CATEGORIES]
    phrase_flat = np.array([p for ps in phrases for p in ps], dtype=object)
    phrase_n = np.array([len(ps) for ps in phrases], dtype=np.int64)
    phrase_first = np.concatenate([[0], np.cumsum(phrase_n)[:-1]])
    pick = np.floor(rng.random(n) * phrase_n[cat_i]).astype(np.int64)
    phrase = phrase_flat[phrase_first[cat_i] + pick]
    unit_names = pd.Series(units["name"].astype(str).to_numpy(), index=units["code"].astype(str))
    unit_names = unit_names[~unit_names.index.duplicated()]
    parent = grids["parent_code"].astype(str)
    place = parent.map(unit_names).fillna(grids["name"].astype(str)).to_numpy(dtype=object)
    description = pd.Series(place[gidx]) + "附近" + pd.Series(phrase)

    cats_arr = CATEGORIES
    out = pd.DataFrame(
        {
            "event_id": event_id.to_numpy(dtype=object),
            "external_id": _external_ids(src_i, local_date),
            "category_type": np.array([c.type for c in cats_arr], dtype=object)[cat_i],
            "category_l1": np.array([c.l1_name for c in cats_arr], dtype=object)[cat_i],
            "category_l2": np.array([c.l2_name for c in cats_arr], dtype=object)[cat_i],
            "category_code": cat_codes[cat_i],
            "department": np.array([c.department for c in cats_arr], dtype=object)[cat_i],
            "source": np.asarray(SOURCES, dtype=object)[src_i],
            "reported_at": reported,
            "lon": lon,
            "lat": lat,
            "crs": crs,
            "description": description.to_numpy(dtype=object),
            "status": flow["status"],
        }
    )
    for name in STAGE_COLUMNS[1:]:
        out[name] = flow[name].as_unit("s")
    out["cancelled"] = flow["cancelled"]
    out["rework_count"] = flow["rework_count"]
    out["deferred"] = flow["deferred"]
    out["time_limit_hours"] = limit.astype(np.int16)
    out["due_at"] = flow["due_at"].as_unit("s")
    out["overdue"] = flow["overdue"]
    for col in ("event_id", "category_type", "category_l1", "category_l2", "category_code"):
        out[col] = out[col].astype("str")
    for col in ("department", "source", "crs", "description", "status"):
        out[col] = out[col].astype("str")
    out["external_id"] = out["external_id"].astype("str")
    return out[list(EVENT_COLUMNS)], truth


def _truth_record(
    plant: _Plant,
    k: int,
    cx: NDArray[np.float64],
    cy: NDArray[np.float64],
    frame: LocalFrame,
    grids: gpd.GeoDataFrame,
    centre_grid: NDArray[np.int64],
    start: pd.Timestamp,
    end: pd.Timestamp,
    n: int,
) -> dict[str, Any]:
    lon, lat = frame.to_deg(cx[k], cy[k])
    return {
        "id": f"H{k + 1}",
        "kind": plant.kind,
        "lon": round(float(lon), 6),
        "lat": round(float(lat), 6),
        "radius_m": float(plant.radius_m),
        "start": start.tz_convert(LOCAL_TZ).isoformat(),
        "end": end.tz_convert(LOCAL_TZ).isoformat(),
        "category": None,
        "category_name": None,
        "grid_code": str(grids["code"].iloc[int(centre_grid[k])]),
        "n_planted": int(n),
    }
