"""Map-ready analytics layers: hot spots, emerging hot spots and coverage gaps.

The API endpoints and the CLI call these functions; they take plain tables and
return GeoDataFrames in EPSG:4490 with one row per location, ready to
serialise as GeoJSON (``to_json()``; the index is the location id, so it
becomes each feature's ``id``) and to draw with
:func:`~gridgeo.heatmaps.maps.hotspot_map`,
:func:`~gridgeo.heatmaps.maps.emerging_map` and
:func:`~gridgeo.heatmaps.maps.coverage_map`.

Inputs
------
``events`` (pandas.DataFrame)
    ``reported_at`` (UTC; naive times are read as UTC), ``category_code``,
    ``category_l1``, ``category_l2``, ``lon``, ``lat``, ``crs`` (the CRS name
    of each point: ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``, …) and
    ``owner_code``, the most specific unit that owned the point when it was
    reported (a micro-grid, grid or special grid; None outside every unit).
    Other columns (``event_id``, ``source``, …) are ignored.
``units`` (geopandas.GeoDataFrame)
    One generation's units in EPSG:4490 (EPSG:4326 is accepted as equal):
    ``code``, ``level`` (``district``, ``street``, ``community``, ``grid``,
    ``microgrid``), ``kind`` (``base``/``special``; missing means base),
    ``name``, ``population`` and the geometry.

Levels
------
``"grid"``, ``"community"``, ``"street"``
    The study area is every *base* unit of that level (special grids are an
    overlay on the base grids and are not locations of their own), with
    queen contiguity neighbours (:func:`~gridgeo.heatmaps.weights.contiguity_neighbours`).
    An event counts for the unit whose code is the prefix of its
    ``owner_code`` (15, 12 or 9 digits: a micro-grid's events roll up to its
    grid, its community and its street). An event whose owner is not a base
    unit of the level (owned by a special grid, at grid level; no owner; or
    an owner code of another generation), or a table without an
    ``owner_code`` column, is placed by its coordinates in the base unit
    containing it: a school inside a grid is still part of that grid's area.
``"h3:<res>"`` (``res`` 5–10)
    Every H3 cell touching the district (units of level ``district``, else
    the base grids; :func:`~gridgeo.heatmaps.aggregate.study_cells`), the
    six adjacent cells as neighbours, events placed by their coordinates.
    H3 cells carry no population, so only counts are analysed.

Values
------
``value="rate"`` analyses events per 1,000 residents (the default for unit
levels, where ``population`` is known), ``"count"`` raw counts (the only
choice, and the default, for H3 cells). Rates leave out units without a
positive population: they keep their row, with NaN statistics and bin 0, and
are nobody's neighbour.

Periods
-------
``start``/``end`` bound the report times, ``[start, end)``; naive values are
China Standard Time (Asia/Shanghai), like the month slices of the emerging
analysis. A filter that leaves no event raises :class:`~gridgeo.errors.InvalidInput`
(an analysis of nothing is almost always a wrong date or category).

Each result's ``attrs`` records what was analysed (``level``, ``value``,
``start``, ``end``, ``category``, ``n_events`` in the study area, …) as
JSON-ready values.

Examples
--------
>>> import geopandas as gpd, numpy as np, pandas as pd, shapely
>>> boxes = [shapely.box(120.2 + 0.01 * i, 30.1 + 0.01 * j, 120.21 + 0.01 * i, 30.11 + 0.01 * j)
...          for i in range(8) for j in range(8)]
>>> units = gpd.GeoDataFrame({"code": [f"330109001001{k:03d}" for k in range(1, 65)],
...     "level": "grid", "kind": "base", "name": [f"第{k}网格" for k in range(1, 65)],
...     "population": 2000}, geometry=boxes, crs=4490)
>>> rng = np.random.default_rng(0)
>>> codes = units["code"].to_numpy()  # a cluster in grids 027-029, the rest uniform
>>> owner = np.where(rng.random(3000) < 0.2, codes[rng.integers(26, 29, 3000)],
...                  codes[rng.integers(0, 64, 3000)])
>>> events = pd.DataFrame({"category_code": "S0101", "category_l1": "市容环境",
...     "category_l2": "暴露垃圾", "owner_code": owner, "lon": np.nan, "lat": np.nan,
...     "crs": "wgs84", "reported_at": pd.Timestamp("2026-03-01", tz="UTC")})
>>> hot = hotspot_layer(events, units, permutations=0)
>>> hot.index[hot["gi_bin"] == 3].tolist(), int(hot.loc["330109001001028", "count"])
(['330109001001028', '330109001001029'], 246)
>>> hot.crs.to_epsg(), parse_level("h3:9")
(4490, ('h3', 9))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgeo.crs import normalize_crs_name, to_wgs84
from gridgeo.errors import CRSMismatch, InvalidInput
from gridgeo.heatmaps.aggregate import (
    count_by_slice,
    h3_cells,
    h3_geometries,
    rates_per_1000,
    study_cells,
)
from gridgeo.heatmaps.coverage import coverage_gaps
from gridgeo.heatmaps.emerging import emerging_hotspots
from gridgeo.heatmaps.gistar import hotspots
from gridgeo.heatmaps.weights import Neighbours, contiguity_neighbours, h3_neighbours
from gridgeo.locate.index import default_tolerance_m

__all__ = [
    "COVERAGE_COLUMNS",
    "EMERGING_COLUMNS",
    "H3_RESOLUTIONS",
    "HOTSPOT_COLUMNS",
    "LOCAL_TZ",
    "UNIT_LEVELS",
    "coverage_layer",
    "emerging_layer",
    "hotspot_layer",
    "parse_level",
]

LevelKind = Literal["grid", "community", "street", "h3"]
Value = Literal["rate", "count"]

UNIT_LEVELS: Final[tuple[str, ...]] = ("grid", "community", "street")
"""Unit levels a layer can be computed for (base units only)."""

H3_RESOLUTIONS: Final[tuple[int, ...]] = (5, 6, 7, 8, 9, 10)
"""H3 resolutions accepted in ``"h3:<res>"`` (about 250 km² down to 0.015 km² a cell)."""

LOCAL_TZ: Final = "Asia/Shanghai"
"""Time zone of naive ``start``/``end`` and of the month slices."""

_CODE_LENGTH: Final[dict[str, int]] = {"street": 9, "community": 12, "grid": 15}

HOTSPOT_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "level",
    "name",
    "count",
    "population",
    "rate_per_1000",
    "value",
    "gi_z",
    "gi_p",
    "gi_p_sim",
    "gi_q",
    "gi_bin",
    "neighbours",
    "geometry",
)
"""Columns of :func:`hotspot_layer`."""

EMERGING_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "level",
    "name",
    "count",
    "population",
    "category",
    "category_name",
    "category_code",
    "trend_z",
    "trend_p",
    "trend_tau",
    "n_hot",
    "n_cold",
    "final_gi_z",
    "final_gi_bin",
    "geometry",
)
"""Columns of :func:`emerging_layer`."""

COVERAGE_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "name",
    "last_visit",
    "coverage",
    "days_since_visit",
    "stale",
    "below_target",
    "gap",
    "status",
    "geometry",
)
"""Columns of :func:`coverage_layer`."""


def parse_level(level: str) -> tuple[LevelKind, int | None]:
    """Split a level name into its kind and, for H3, the resolution.

    Parameters
    ----------
    level : str
        ``"grid"``, ``"community"``, ``"street"`` or ``"h3:<res>"`` with
        ``res`` in :data:`H3_RESOLUTIONS` (surrounding spaces and case are
        ignored).

    Returns
    -------
    tuple
        ``(kind, None)`` for a unit level, ``("h3", res)`` for H3 cells.

    Raises
    ------
    InvalidInput
        For any other value, naming the allowed ones.

    Examples
    --------
    >>> parse_level("grid"), parse_level("H3:9")
    (('grid', None), ('h3', 9))
    """
    allowed = "grid, community, street or h3:<res> with res 5–10 (e.g. h3:9)"
    if not isinstance(level, str):
        raise InvalidInput(f"level must be {allowed}; got {level!r}")
    text = level.strip().lower()
    if text in UNIT_LEVELS:
        return text, None  # type: ignore[return-value]
    head, sep, tail = text.partition(":")
    digits = tail.strip()
    if head == "h3" and sep and len(digits) <= 3 and digits.isascii() and digits.isdigit():
        res = int(digits)
        if res in H3_RESOLUTIONS:
            return "h3", res
    raise InvalidInput(f"level must be {allowed}; got {level[:40]!r}")


def hotspot_layer(
    events: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    level: str = "grid",
    start: Any = None,
    end: Any = None,
    category: str | None = None,
    value: Value | None = None,
    permutations: int = 999,
    seed: int = 0,
    fdr: bool = True,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots of events per unit or H3 cell.

    Parameters
    ----------
    events, units
        See the module docstring.
    level : str, default "grid"
        See :func:`parse_level`.
    start, end : datetime-like, optional
        Report-time window ``[start, end)``; naive means China Standard Time.
    category : str, optional
        Keep only events whose ``category_code``, ``category_l1`` or
        ``category_l2`` equals it (``"S0101"``, ``"市容环境"``, ``"暴露垃圾"``).
    value : {"rate", "count"}, optional
        Events per 1,000 residents or raw counts; default ``"rate"`` for unit
        levels and ``"count"`` for H3 (where ``"rate"`` is refused).
    permutations, seed, fdr
        As for :func:`~gridgeo.heatmaps.gistar.hotspots` (normal inference,
        ArcGIS bins, Benjamini–Hochberg over all locations).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4490, indexed by location id, columns :data:`HOTSPOT_COLUMNS`:
        ``id`` (unit code or H3 cell), ``level`` (as given, normalised),
        ``name`` (None for H3), ``count``, ``population`` and
        ``rate_per_1000`` (NaN for H3), ``value`` (the analysed value), the
        Gi* fields and ``neighbours`` (neighbour count).

    Raises
    ------
    InvalidInput
        For a bad level, value, period or category, no events in the
        selection, missing columns, or fewer than 3 locations.
    CRSMismatch
        If ``units`` are not in EPSG:4490/4326 or an event CRS is unknown.
    """
    kind, res = parse_level(level)
    how = _value(value, kind)
    lo, hi = _period(start, end)
    picked, times = _select(events, lo, hi, category)
    study = _study(units, kind, res)
    loc = _locate(picked, study)
    inside = pd.Series(loc[_require_located(loc, study)], dtype=object)
    counts = inside.value_counts().reindex(study.ids, fill_value=0).to_numpy(np.int64)
    rate = rates_per_1000(counts, study.population)
    y = rate if how == "rate" else counts.astype(np.float64)
    ok = np.isfinite(y)
    result = hotspots(
        y[ok], _subset(study.neighbours, ok), permutations=permutations, seed=seed, fdr=fdr
    )
    stats = result.to_frame().reindex(study.ids)
    frame = pd.DataFrame(
        {
            "id": study.ids,
            "level": study.label,
            "name": study.names,
            "count": counts,
            "population": study.population,
            "rate_per_1000": rate,
            "value": y,
            "gi_z": stats["gi_z"].to_numpy(np.float64),
            "gi_p": stats["gi_p"].to_numpy(np.float64),
            "gi_p_sim": stats["gi_p_sim"].to_numpy(np.float64),
            "gi_q": stats["gi_q"].to_numpy(np.float64),
            "gi_bin": stats["gi_bin"].fillna(0).to_numpy(np.int8),
            "neighbours": stats["neighbours"].fillna(0).to_numpy(np.int64),
        },
        index=pd.Index(study.ids),
    )
    out = gpd.GeoDataFrame(frame, geometry=study.geometry, crs=4490)
    out.attrs.update(
        _attrs(study, how, lo, hi, times, category, int(counts.sum()), len(picked)),
        permutations=int(permutations),
        seed=int(seed),
        fdr=bool(fdr),
    )
    return out


def emerging_layer(
    events: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    level: str = "grid",
    start: Any = None,
    end: Any = None,
    freq: str = "MS",
    category: str | None = None,
    value: Value | None = None,
    alpha: float = 0.05,
    trend_alpha: float = 0.05,
    fdr: bool = True,
) -> gpd.GeoDataFrame:
    """Emerging hot and cold spots (the 17 ArcGIS categories) per unit or H3 cell.

    Gi* runs in every time slice (as :func:`hotspot_layer`, normal inference,
    FDR within each slice); Mann–Kendall tests the trend of each location's
    z-scores (:func:`~gridgeo.heatmaps.emerging.emerging_hotspots`).

    Parameters
    ----------
    events, units, level, category, value
        As for :func:`hotspot_layer`.
    start, end : datetime-like, optional
        Analysis window ``[start, end)``, naive meaning China Standard Time;
        default from the first to the last selected event. Slices are aligned
        to ``freq`` in China Standard Time.
    freq : str, default "MS"
        Slice length (pandas alias): ``"MS"`` calendar months, ``"W-MON"``
        weeks. At least 3 slices are needed.
    alpha, trend_alpha, fdr
        As for :func:`~gridgeo.heatmaps.emerging.emerging_hotspots`.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4490, indexed by location id, columns :data:`EMERGING_COLUMNS`:
        ``category`` (id such as ``"new_hot_spot"``), ``category_name``
        (ArcGIS display name), ``category_code`` (−8…8), the trend's
        ``trend_z``/``trend_p``/``trend_tau``, the numbers of significant hot
        and cold slices ``n_hot``/``n_cold`` and the last slice's
        ``final_gi_z``/``final_gi_bin``; ``count`` is the number of events
        over all slices. Units left out of a rate analysis get category
        ``"no_pattern"`` and NaN statistics. ``attrs["time_slices"]`` lists
        the slice starts (ISO 8601).

    Raises
    ------
    InvalidInput
        As for :func:`hotspot_layer`, and for an unknown ``freq`` or fewer
        than 3 slices.
    """
    kind, res = parse_level(level)
    how = _value(value, kind)
    lo, hi = _period(start, end)
    picked, times = _select(events, lo, hi, category)
    study = _study(units, kind, res)
    loc = _locate(picked, study)
    has = _require_located(loc, study)
    cube = count_by_slice(
        loc[has],
        times[has],
        freq=freq,
        tz=LOCAL_TZ,
        start=lo,
        end=hi,
        all_locations=study.ids,
    )
    pop = pd.Series(study.population, index=pd.Index(study.ids))
    cube["rate"] = rates_per_1000(cube["count"], pop.reindex(cube["location"]).to_numpy())
    keep = np.ones(len(study.ids), dtype=bool)
    if how == "rate":
        keep = np.isfinite(study.population) & (study.population > 0)
    analysed = cube[cube["location"].isin(study.ids[keep]).to_numpy(bool)]
    result = emerging_hotspots(
        analysed,
        _subset(study.neighbours, keep),
        alpha=alpha,
        trend_alpha=trend_alpha,
        fdr=fdr,
        value=how,
    )
    stats = result.locations.reindex(study.ids)
    totals = cube.groupby("location", sort=False)["count"].sum().reindex(study.ids)
    frame = pd.DataFrame(
        {
            "id": study.ids,
            "level": study.label,
            "name": study.names,
            "count": totals.fillna(0).to_numpy(np.int64),
            "population": study.population,
            "category": stats["category"].fillna("no_pattern").to_numpy(object),
            "category_name": stats["category_name"].fillna("No Pattern Detected").to_numpy(object),
            "category_code": stats["category_code"].fillna(0).to_numpy(np.int8),
            "trend_z": stats["trend_z"].to_numpy(np.float64),
            "trend_p": stats["trend_p"].to_numpy(np.float64),
            "trend_tau": stats["trend_tau"].to_numpy(np.float64),
            "n_hot": stats["n_hot"].fillna(0).to_numpy(np.int64),
            "n_cold": stats["n_cold"].fillna(0).to_numpy(np.int64),
            "final_gi_z": stats["final_gi_z"].to_numpy(np.float64),
            "final_gi_bin": stats["final_gi_bin"].fillna(0).to_numpy(np.int8),
        },
        index=pd.Index(study.ids),
    )
    out = gpd.GeoDataFrame(frame, geometry=study.geometry, crs=4490)
    slices = pd.DatetimeIndex(result.time_slices)
    out.attrs.update(
        _attrs(study, how, lo, hi, times, category, int(frame["count"].sum()), len(picked)),
        freq=freq,
        alpha=float(alpha),
        trend_alpha=float(trend_alpha),
        fdr=bool(fdr),
        time_slices=[t.isoformat() for t in slices],
    )
    return out


def coverage_layer(
    coverage: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    now: Any,
    days: float = 7.0,
    target: float | None = None,
) -> gpd.GeoDataFrame:
    """Patrol coverage gaps per base grid, ready for :func:`~gridgeo.heatmaps.maps.coverage_map`.

    Parameters
    ----------
    coverage : pandas.DataFrame
        The patrol coverage per grid, as the track analysis produces it
        (:func:`gridgeo.tracks.grid_coverage`, whose ``code`` column is taken
        as ``grid_code`` when there is none): at least ``grid_code``,
        ``last_visit`` (datetime, NaT or missing = never visited) and, for a
        target, ``coverage_share`` (share of the grid's area or cells visited
        in the window, 0–1); other columns are ignored. Rows of codes that
        are not base grids of ``units`` (special grids, micro-grids) are left
        out (counted in ``attrs["ignored_rows"]``); base grids without a row
        count as never visited.
    units : geopandas.GeoDataFrame
        As in the module docstring; the study area is its base grids.
    now : datetime-like
        Reference time; naive means UTC.
    days : float, default 7
        A grid not visited in the last ``days`` days is *stale*.
    target : float, optional
        Coverage target (0–1); grids with ``coverage_share`` below it are
        *below target*.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4490, one row per base grid in code order, indexed by grid code,
        columns :data:`COVERAGE_COLUMNS`: ``last_visit`` (ISO 8601 text in
        China Standard Time, so the frame serialises as is; None if never),
        ``coverage`` (the share, 0 where missing; NaN for every grid when the
        table has no ``coverage_share``), ``days_since_visit`` (NaN if
        never), ``stale``, ``below_target``, ``gap`` and ``status``
        (``"never"``, ``"stale"``, ``"below_target"`` or ``"ok"``, the classes
        of the coverage map).

    Raises
    ------
    InvalidInput
        For missing columns, repeated grid codes, a negative ``days`` or a
        share outside [0, 1].

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> units = gpd.GeoDataFrame({"code": ["330109001001001", "330109001001002"],
    ...     "level": "grid", "kind": "base", "name": ["一网格", "二网格"]},
    ...     geometry=[shapely.box(120.2, 30.1, 120.21, 30.11),
    ...               shapely.box(120.21, 30.1, 120.22, 30.11)], crs=4490)
    >>> cov = pd.DataFrame({"grid_code": ["330109001001001"], "coverage_share": [0.6],
    ...     "last_visit": [pd.Timestamp("2026-10-30", tz="UTC")]})
    >>> gaps = coverage_layer(cov, units, now="2026-10-31", days=7, target=0.8)
    >>> gaps["status"].tolist()
    ['below_target', 'never']
    """
    if not isinstance(coverage, pd.DataFrame):
        raise InvalidInput("coverage must be a DataFrame with grid_code and last_visit")
    if "grid_code" not in coverage.columns and "code" in coverage.columns:
        coverage = coverage.rename(columns={"code": "grid_code"})
    for col in ("grid_code", "last_visit"):
        if col not in coverage.columns:
            raise InvalidInput(f"coverage has no {col!r} column")
    if target is not None and "coverage_share" not in coverage.columns:
        raise InvalidInput("a coverage target needs a 'coverage_share' column")
    base = _base_units(units, "grid")
    codes = base["code"].to_numpy(object)
    code_col = coverage["grid_code"].astype("string")
    mine = code_col.isin(codes).to_numpy(bool)
    cols = ["grid_code", "last_visit"] + (
        ["coverage_share"] if "coverage_share" in coverage.columns else []
    )
    visits = coverage.loc[mine, cols].assign(grid_code=code_col[mine].astype(object))
    gaps = coverage_gaps(
        visits,
        now=now,
        days=days,
        target=target,
        locations=codes,
        location="grid_code",
        coverage="coverage_share",
    ).set_index("location")
    gaps = gaps.reindex(pd.Index(codes))
    never = gaps["days_since_visit"].isna().to_numpy()
    stale = gaps["stale"].to_numpy(bool)
    below = gaps["below_target"].to_numpy(bool)
    frame = pd.DataFrame(
        {
            "id": codes,
            "name": _names(base),
            "last_visit": gaps["last_visit"].to_numpy(),
            "coverage": (
                gaps["coverage"].to_numpy(np.float64)
                if "coverage" in gaps.columns
                else np.full(len(codes), np.nan)
            ),
            "days_since_visit": gaps["days_since_visit"].to_numpy(np.float64),
            "stale": stale,
            "below_target": below,
            "gap": gaps["gap"].to_numpy(bool),
            "status": np.select(
                [never, stale, below], ["never", "stale", "below_target"], default="ok"
            ).astype(object),
        },
        index=pd.Index(codes),
    )
    seen = pd.DatetimeIndex(pd.to_datetime(frame["last_visit"], utc=True)).tz_convert(LOCAL_TZ)
    frame["last_visit"] = np.array(
        [None if t is pd.NaT else t.isoformat() for t in seen], dtype=object
    )
    out = gpd.GeoDataFrame(frame, geometry=base.geometry.to_numpy(), crs=4490)
    out.attrs.update(
        level="grid",
        now=_iso(pd.Timestamp(now)),
        days=float(days),
        target=None if target is None else float(target),
        ignored_rows=int((~mine).sum()),
        n_gaps=int(frame["gap"].sum()),
    )
    return out


# --- internals -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Study:
    """The locations of an analysis: ids, names, residents, polygons and neighbours."""

    kind: LevelKind
    label: str
    ids: NDArray[np.object_]
    names: NDArray[np.object_]
    population: NDArray[np.float64]
    geometry: NDArray[np.object_]
    neighbours: Neighbours
    base: gpd.GeoDataFrame | None
    res: int | None


def _value(value: str | None, kind: LevelKind) -> Value:
    if value is None:
        return "count" if kind == "h3" else "rate"
    if value not in ("rate", "count"):
        raise InvalidInput(f"value must be 'rate' or 'count'; got {value!r}")
    if value == "rate" and kind == "h3":
        raise InvalidInput("H3 cells have no population: use value='count' for h3 levels")
    return value  # type: ignore[return-value]


def _local(value: Any, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} is not a date or time: {value!r}") from None
    if ts is pd.NaT:
        raise InvalidInput(f"{name} must not be empty")
    return ts.tz_localize(LOCAL_TZ) if ts.tz is None else ts.tz_convert(LOCAL_TZ)


def _period(start: Any, end: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    lo, hi = _local(start, "start"), _local(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise InvalidInput(f"end ({hi.isoformat()}) must be after start ({lo.isoformat()})")
    return lo, hi


def _select(
    events: pd.DataFrame, lo: pd.Timestamp | None, hi: pd.Timestamp | None, category: str | None
) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """The selected events (a new frame) and their report times (UTC)."""
    if not isinstance(events, pd.DataFrame):
        raise InvalidInput("events must be a DataFrame")
    if "reported_at" not in events.columns:
        raise InvalidInput("events have no 'reported_at' column")
    try:
        times = pd.DatetimeIndex(pd.to_datetime(events["reported_at"], utc=True))
    except (TypeError, ValueError):
        raise InvalidInput("reported_at must hold date-times") from None
    if times.isna().any():
        row = int(np.flatnonzero(times.isna())[0])
        raise InvalidInput(f"reported_at of event {row} is missing")
    mask = np.ones(len(events), dtype=bool)
    if category is not None:
        mask &= _category_mask(events, category)
    if lo is not None:
        mask &= np.asarray(times >= lo)
    if hi is not None:
        mask &= np.asarray(times < hi)
    if not mask.any():
        what = f" of category {category!r}" if category is not None else ""
        since = f" from {lo.isoformat()}" if lo is not None else ""
        until = f" before {hi.isoformat()}" if hi is not None else ""
        raise InvalidInput(f"no events{what}{since}{until}: the period is empty")
    return events.loc[mask], times[mask]


def _category_mask(events: pd.DataFrame, category: str) -> NDArray[np.bool_]:
    cols = [c for c in ("category_code", "category_l1", "category_l2") if c in events.columns]
    if not cols:
        raise InvalidInput("events have no category_code, category_l1 or category_l2 column")
    if not isinstance(category, str) or not category.strip():
        raise InvalidInput(f"category must be a non-empty string; got {category!r}")
    wanted = category.strip()
    mask = np.zeros(len(events), dtype=bool)
    for col in cols:
        mask |= (events[col].astype("string") == wanted).fillna(False).to_numpy(bool)
    if mask.any():
        return mask
    frequent = events[cols[0]].dropna().astype(str).value_counts()
    examples = frequent.index[:6].tolist()
    if "category_l2" in events.columns and cols[0] == "category_code":
        names = events.drop_duplicates("category_code").set_index("category_code")["category_l2"]
        examples = [f"{c} {names.get(c, '')}".strip() for c in examples]
    more = f" and {len(frequent) - len(examples)} more" if len(frequent) > len(examples) else ""
    raise InvalidInput(
        f"unknown category {category!r}: no event has it as category_code, category_l1 or "
        f"category_l2; the most frequent are {', '.join(examples)}{more}",
        details={"known": sorted(frequent.index)},
    )


def _check_units(units: gpd.GeoDataFrame) -> None:
    if not isinstance(units, gpd.GeoDataFrame):
        raise InvalidInput("units must be a GeoDataFrame")
    for col in ("code", "level"):
        if col not in units.columns:
            raise InvalidInput(f"units have no {col!r} column")
    if units.crs is None or units.crs.to_epsg() not in (4490, 4326):
        raise CRSMismatch(f"units must be in EPSG:4490 (CGCS2000); got {units.crs}")


def _base_units(units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """Base units of ``level``, sorted by code, with a fresh index."""
    _check_units(units)
    kind = (
        units["kind"].astype("string").fillna("base")
        if "kind" in units.columns
        else pd.Series("base", index=units.index)
    )
    sel = (units["level"].astype("string") == level).fillna(False) & (kind != "special")
    base = units.loc[sel.to_numpy(bool)]
    if base.empty:
        levels = sorted(set(units["level"].dropna().astype(str)))
        raise InvalidInput(f"units have no base units of level {level!r} (levels: {levels})")
    codes = base["code"].astype("string")
    if codes.isna().any():
        raise InvalidInput(f"a {level} unit has no code")
    if codes.duplicated().any():
        raise InvalidInput(f"{level} code {codes[codes.duplicated()].iloc[0]!r} repeats")
    length = _CODE_LENGTH[level]
    bad = codes[codes.str.len() != length]
    if len(bad):
        raise InvalidInput(f"{level} code {bad.iloc[0]!r} does not have {length} digits")
    out = base.assign(code=codes.astype(object)).sort_values("code", kind="stable")
    return out.reset_index(drop=True)


def _names(base: gpd.GeoDataFrame) -> NDArray[np.object_]:
    if "name" not in base.columns:
        return np.full(len(base), None, dtype=object)
    return np.asarray([None if pd.isna(v) else str(v) for v in base["name"]], dtype=object)


def _population(base: gpd.GeoDataFrame) -> NDArray[np.float64]:
    if "population" not in base.columns:
        return np.full(len(base), np.nan)
    pop = pd.to_numeric(base["population"], errors="coerce")
    return pop.to_numpy(dtype=np.float64, na_value=np.nan)


def _study(units: gpd.GeoDataFrame, kind: LevelKind, res: int | None) -> _Study:
    if kind != "h3":
        base = _base_units(units, kind)
        ids = base["code"].to_numpy(object)
        geoms = np.asarray(base.geometry.to_numpy(), dtype=object)
        return _Study(
            kind=kind,
            label=kind,
            ids=ids,
            names=_names(base),
            population=_population(base),
            geometry=geoms,
            neighbours=contiguity_neighbours(geoms, ids=ids),
            base=base,
            res=None,
        )
    assert res is not None
    _check_units(units)
    district = units[(units["level"].astype("string") == "district").fillna(False).to_numpy(bool)]
    area = district if len(district) else _base_units(units, "grid")
    cells = study_cells(shapely.union_all(np.asarray(area.geometry.to_numpy())), res)
    if len(cells) < 3:
        raise InvalidInput(
            f"the district holds only {len(cells)} H3 cells at resolution {res}: use a finer one"
        )
    return _Study(
        kind="h3",
        label=f"h3:{res}",
        ids=cells,
        names=np.full(len(cells), None, dtype=object),
        population=np.full(len(cells), np.nan),
        geometry=np.asarray(h3_geometries(cells).to_numpy(), dtype=object),
        neighbours=h3_neighbours(cells),
        base=None,
        res=res,
    )


def _wgs84_points(events: pd.DataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Event coordinates in WGS84, NaN where missing."""
    for col in ("lon", "lat", "crs"):
        if col not in events.columns:
            raise InvalidInput(f"events have no {col!r} column (needed to place events)")
    try:
        x = pd.to_numeric(events["lon"]).to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        y = pd.to_numeric(events["lat"]).to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    except (TypeError, ValueError):
        raise InvalidInput("lon and lat must be numbers") from None
    crs = events["crs"].astype("string").fillna("").to_numpy(object)
    ok = np.isfinite(x) & np.isfinite(y)
    for name in pd.unique(crs[ok]):
        if not name:
            raise InvalidInput("an event with coordinates has no crs")
        sel = ok & (crs == name)
        x[sel], y[sel] = to_wgs84(x[sel], y[sel], normalize_crs_name(str(name)))
    return x, y


def _locate(events: pd.DataFrame, study: _Study) -> NDArray[np.object_]:
    """The location id of each event (None outside the study area)."""
    out = np.full(len(events), None, dtype=object)
    if study.kind == "h3":
        assert study.res is not None
        x, y = _wgs84_points(events)
        ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if len(ok):
            cells = h3_cells(x[ok], y[ok], study.res)
            known = pd.Index(study.ids).get_indexer(cells) >= 0
            out[ok[known]] = cells[known]
        return out
    rest = np.ones(len(events), dtype=bool)
    has_points = {"lon", "lat", "crs"} <= set(events.columns)
    if "owner_code" in events.columns:
        prefix = events["owner_code"].astype("string").str.slice(0, _CODE_LENGTH[study.kind])
        owned = prefix.isin(study.ids).fillna(False).to_numpy(bool)
        out[owned] = prefix.to_numpy(object)[owned]
        rest = ~owned
    elif not has_points:
        raise InvalidInput("events need an owner_code column or lon, lat and crs columns")
    if rest.any() and has_points:
        idx = np.flatnonzero(rest)
        x, y = _wgs84_points(events.iloc[idx])
        valid = np.isfinite(x) & np.isfinite(y)
        pts = shapely.points(x[valid], y[valid])
        # The locate rule among siblings: a point within the boundary tolerance of
        # several polygons belongs to the lowest code (degrees of longitude are
        # shorter than of latitude, so the tolerance is taken along longitude).
        lat = float(np.nanmean(y[valid])) if valid.any() else 0.0
        tol_deg = default_tolerance_m() / (111_320.0 * max(np.cos(np.radians(lat)), 0.1))
        pi, ui = shapely.STRtree(study.geometry).query(pts, predicate="dwithin", distance=tol_deg)
        codes = np.asarray(study.ids[ui], dtype=str)
        order = np.lexsort((codes, pi))
        pi, ui = pi[order], ui[order]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, dtype=bool)
        out[idx[valid][pi[first]]] = study.ids[ui[first]]
    return out


def _require_located(loc: NDArray[np.object_], study: _Study) -> NDArray[np.bool_]:
    """Which events have a location; InvalidInput if none has."""
    has = np.asarray(pd.notna(loc), dtype=bool)
    if not has.any():
        raise InvalidInput(
            f"none of the {len(loc)} selected events lies in the study area "
            f"({len(study.ids)} {study.label} locations)"
        )
    return has


def _subset(nb: Neighbours, keep: NDArray[np.bool_]) -> Neighbours:
    """Neighbours among the kept locations only."""
    if keep.all():
        return nb
    new_pos = np.cumsum(keep) - 1
    rows = np.repeat(np.arange(nb.n), nb.cardinalities)
    both = keep[rows] & keep[nb.indices]
    return Neighbours.from_pairs(nb.ids[keep], new_pos[rows[both]], new_pos[nb.indices[both]])


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.isoformat()


def _attrs(
    study: _Study,
    how: str,
    lo: pd.Timestamp | None,
    hi: pd.Timestamp | None,
    times: pd.DatetimeIndex,
    category: str | None,
    n_inside: int,
    n_selected: int,
) -> dict[str, Any]:
    return {
        "level": study.label,
        "value": how,
        "start": _iso(lo),
        "end": _iso(hi),
        "first_event": _iso(times.min().tz_convert(LOCAL_TZ)),
        "last_event": _iso(times.max().tz_convert(LOCAL_TZ)),
        "category": category,
        "n_events": n_inside,
        "n_outside": n_selected - n_inside,
        "n_locations": len(study.ids),
    }
