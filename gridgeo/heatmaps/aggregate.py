"""Events to counts: per H3 cell, per grid unit, per time slice; rates per 1,000 residents.

Hot spot statistics need the whole study area, zeros included: a Gi* over
only the cells that had events has no idea where nothing happened. So
:func:`study_cells` lists every H3 cell of a district (``contain="overlap"``:
every cell that touches it) and :func:`count_by_h3` / :func:`count_by_grid` /
:func:`count_by_slice` return a row for each location of the study area, 0
where no event fell.

H3 cell ids are the usual 15-character hexadecimal strings. Points are
indexed with ``h3.latlng_to_cell`` one at a time (h3 4 has no array version);
about 0.5 µs a point, so a million events take about half a second.

Grid units are matched by code prefix: a grid code starts with its
community's code, which starts with its street's code (DESIGN section 3), so
an event attributed to a 15- or 18-digit unit counts for every coarser level
whose code is its prefix.

Examples
--------
>>> import numpy as np
>>> counts = count_by_h3([120.27, 120.2701, 120.40], [30.17, 30.1701, 30.20], 9)
>>> sorted(counts.tolist())
[1, 2]
>>> rates_per_1000([5, 3, 0], [2500, 0, 100]).tolist()
[2.0, nan, 0.0]
"""

from __future__ import annotations

from itertools import repeat
from typing import Any, Literal

import geopandas as gpd
import h3
import h3.api.basic_int as h3i
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from gridgeo.crs import check_lonlat, normalize_crs_name, to_wgs84
from gridgeo.errors import InvalidInput

__all__ = [
    "apportion_population",
    "count_by_grid",
    "count_by_h3",
    "count_by_slice",
    "h3_cells",
    "h3_geometries",
    "rates_per_1000",
    "study_cells",
]

Containment = Literal["center", "full", "overlap", "bbox_overlap"]


def h3_cells(
    lon: ArrayLike, lat: ArrayLike, res: int, *, crs: str | ArrayLike = "wgs84"
) -> NDArray[np.object_]:
    """The H3 cell (hex string) of each point.

    Parameters
    ----------
    lon, lat : array_like of float
        Point coordinates in degrees of ``crs``.
    res : int
        H3 resolution, 0–15.
    crs : str or array_like of str, default "wgs84"
        One CRS name for all points, or one per point (for example an
        events table's ``crs`` column, mixing ``wgs84`` and ``gcj02``).

    Returns
    -------
    numpy.ndarray of str (object dtype)

    Raises
    ------
    InvalidInput
        For invalid coordinates or resolution; CRSMismatch for unknown CRS names.

    Examples
    --------
    >>> h3_cells([120.27], [30.17], 9).tolist()
    ['89309a45157ffff']
    """
    ints = _cell_ints(lon, lat, res, crs)
    uniq, inverse = np.unique(ints, return_inverse=True)
    names = np.array([h3.int_to_str(int(c)) for c in uniq], dtype=object)
    return names[inverse]


def study_cells(area: Any, res: int, *, contain: Containment = "overlap") -> NDArray[np.object_]:
    """All H3 cells of a study area, sorted.

    Parameters
    ----------
    area : shapely geometry, GeoSeries or GeoDataFrame
        Polygon(s) in longitude/latitude degrees (WGS84 or CGCS2000); a
        GeoSeries/GeoDataFrame is unioned.
    res : int
        H3 resolution.
    contain : {"center", "full", "overlap", "bbox_overlap"}, default "overlap"
        Which cells count as inside (h3's containment modes); ``"overlap"``
        keeps every cell that touches the area, so no event inside is lost.

    Examples
    --------
    >>> import shapely
    >>> box = shapely.box(120.26, 30.16, 120.28, 30.18)
    >>> len(study_cells(box, 9)) > len(study_cells(box, 9, contain="full"))
    True
    """
    _check_res(res)
    geom = _area_geometry(area)
    polys = [
        p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon) and not p.is_empty
    ]
    if not polys:
        raise InvalidInput("the study area has no polygon")
    cells: set[str] = set()
    for poly in polys:
        shape = h3.geo_to_h3shape(shapely.geometry.mapping(poly))
        cells.update(h3.h3shape_to_cells_experimental(shape, res, contain=contain))
    return np.array(sorted(cells), dtype=object)


def count_by_h3(
    lon: ArrayLike,
    lat: ArrayLike,
    res: int,
    *,
    crs: str | ArrayLike = "wgs84",
    cells: ArrayLike | None = None,
) -> pd.Series:
    """Number of points in each H3 cell.

    Parameters
    ----------
    lon, lat, res, crs
        As for :func:`h3_cells`.
    cells : array_like of str, optional
        The study area's cells (:func:`study_cells`): the result then has
        exactly these cells, in this order, with 0 where no point fell; points
        in other cells are left out. Default: only the cells with points.

    Returns
    -------
    pandas.Series of int64
        Indexed by cell id (index name ``cell``), named ``count``.

    Examples
    --------
    >>> count_by_h3([120.27, 120.27], [30.17, 30.17], 9).to_dict()
    {'89309a45157ffff': 2}
    """
    ints = _cell_ints(lon, lat, res, crs)
    uniq, n = np.unique(ints, return_counts=True)
    names = [h3.int_to_str(int(c)) for c in uniq]
    counts = pd.Series(n.astype(np.int64), index=pd.Index(names, name="cell"), name="count")
    if cells is None:
        return counts
    study = pd.Index(np.asarray(cells, dtype=object), name="cell")
    if study.has_duplicates:
        raise InvalidInput("cells repeat a cell id")
    return counts.reindex(study, fill_value=0).astype(np.int64)


def count_by_grid(
    event_codes: ArrayLike,
    units: pd.DataFrame,
    *,
    code: str = "code",
    population: str | None = "population",
) -> pd.DataFrame:
    """Events per grid unit (any level), with rates per 1,000 residents.

    Parameters
    ----------
    event_codes : array_like of str
        The code of the unit each event was attributed to (any level at or
        below the units'); missing codes are ignored.
    units : pandas.DataFrame or GeoDataFrame
        One row per unit with a ``code`` column (codes may differ in length,
        for example streets and grids together).
    code : str, default "code"
        Name of the code column.
    population : str or None, default "population"
        Column of residents; when present the result gets ``rate_per_1000``
        (NaN where the population is missing or 0).

    Returns
    -------
    Same type as ``units``
        A copy of ``units`` with ``count`` (int64) and, when available,
        ``rate_per_1000``. Events not inside any unit are not counted.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"code": ["330109001", "330109001001"], "population": [4000, 0]})
    >>> out = count_by_grid(["330109001001001", "330109001002003", None], units)
    >>> out["count"].tolist(), out["rate_per_1000"].tolist()
    ([2, 1], [0.5, nan])
    """
    if code not in units.columns:
        raise InvalidInput(f"units have no {code!r} column")
    unit_codes = units[code].astype("string")
    if unit_codes.isna().any():
        raise InvalidInput(f"units have a missing {code!r}")
    if unit_codes.duplicated().any():
        raise InvalidInput(f"unit code {unit_codes[unit_codes.duplicated()].iloc[0]!r} repeats")
    events = pd.Series(np.asarray(event_codes, dtype=object), dtype="string").dropna()
    counts = np.zeros(len(units), dtype=np.int64)
    lengths = unit_codes.str.len().to_numpy()
    for length in np.unique(lengths):
        prefix = events[events.str.len() >= length].str.slice(0, int(length)).value_counts()
        sel = lengths == length
        counts[sel] = prefix.reindex(unit_codes[sel].to_numpy(), fill_value=0).to_numpy()
    out = units.copy()
    out["count"] = counts
    if population is not None and population in units.columns:
        out["rate_per_1000"] = rates_per_1000(counts, units[population])
    return out


def rates_per_1000(counts: ArrayLike, population: ArrayLike) -> NDArray[np.float64]:
    """``1000 * counts / population``; NaN where the population is missing or not positive.

    Examples
    --------
    >>> rates_per_1000([1, 2], [500, None]).tolist()
    [2.0, nan]
    """
    c = np.asarray(counts, dtype=np.float64)
    pop = pd.to_numeric(pd.Series(np.asarray(population, dtype=object)), errors="coerce")
    p = pop.to_numpy(dtype=np.float64, na_value=np.nan)
    if c.shape != p.shape:
        raise InvalidInput(f"{c.size} counts but {p.size} populations")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, 1000.0 * c / p, np.nan)


def apportion_population(
    targets: Any, units: gpd.GeoDataFrame, *, population: str = "population"
) -> NDArray[np.float64]:
    """Residents of each target polygon (H3 cells, say) by areal weighting of ``units``.

    Each unit's population is spread evenly over its area and summed into
    the targets by overlap area, so the total over targets covering the units
    equals the units' total. Pass units of one level (for example base
    grids): overlapping units would be counted twice.

    Parameters
    ----------
    targets : GeoSeries, GeoDataFrame or array_like of polygons
        Target polygons, lon/lat degrees.
    units : geopandas.GeoDataFrame
        Polygons with a ``population`` column (missing counts as 0), same CRS.
    population : str, default "population"

    Returns
    -------
    numpy.ndarray of float64
        One population per target.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> units = gpd.GeoDataFrame({"population": [1000]}, geometry=[shapely.box(0, 0, 2, 1)])
    >>> apportion_population([shapely.box(0, 0, 1, 1), shapely.box(1.5, 0, 3, 1)], units).tolist()
    [500.0, 250.0]
    """
    if population not in units.columns:
        raise InvalidInput(f"units have no {population!r} column")
    if isinstance(targets, gpd.GeoDataFrame):
        tgeoms = np.asarray(targets.geometry, dtype=object)
    else:
        tgeoms = np.asarray(targets, dtype=object)
    ugeoms = np.asarray(units.geometry, dtype=object)
    pop = pd.to_numeric(units[population], errors="coerce").fillna(0.0).to_numpy(np.float64)
    if (pop < 0).any():
        raise InvalidInput("population must not be negative")
    ui, ti = shapely.STRtree(tgeoms).query(ugeoms, predicate="intersects")
    uarea = shapely.area(ugeoms)
    inter = shapely.area(shapely.intersection(ugeoms[ui], tgeoms[ti]))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(uarea[ui] > 0, inter / uarea[ui], 0.0)
    return np.bincount(ti, weights=pop[ui] * share, minlength=len(tgeoms)).astype(np.float64)


def count_by_slice(
    locations: ArrayLike,
    times: ArrayLike,
    *,
    freq: str = "MS",
    tz: str = "Asia/Shanghai",
    start: Any = None,
    end: Any = None,
    all_locations: ArrayLike | None = None,
) -> pd.DataFrame:
    """A complete space-time cube of counts: every location × every time slice.

    Parameters
    ----------
    locations : array_like
        The location (cell id or unit code) of each event.
    times : array_like of datetime
        When each event happened; naive times are taken as UTC.
    freq : str, default "MS"
        Slice length as a pandas offset alias (``"MS"`` calendar months,
        ``"W-MON"`` weeks starting Monday, ``"D"`` days).
    tz : str, default "Asia/Shanghai"
        Time zone in which slices start (calendar months in China Standard
        Time by default).
    start, end : datetime-like, optional
        Analysis window ``[start, end)``; default from the first to the last
        event. Slices are aligned to ``freq`` from ``start``; events outside
        are dropped.
    all_locations : array_like, optional
        The study area's locations, so that locations without events get
        rows of 0 (events elsewhere are dropped). Default: locations seen.

    Returns
    -------
    pandas.DataFrame
        Columns ``location``, ``time_slice`` (slice start, tz-aware) and
        ``count`` (int64), sorted by location then slice.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime(["2025-01-05", "2025-02-10", "2025-02-11"], utc=True)
    >>> cube = count_by_slice(["a", "a", "b"], t, all_locations=["a", "b", "c"])
    >>> cube["count"].tolist()
    [1, 1, 0, 1, 0, 0]
    """
    loc = np.asarray(locations, dtype=object)
    try:
        raw = (
            times
            if isinstance(times, pd.Series | pd.Index)
            else pd.Series(np.asarray(times).tolist())
        )
        ts = pd.DatetimeIndex(pd.to_datetime(raw))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"times must be datetimes: {exc}") from None
    if len(loc) != len(ts):
        raise InvalidInput(f"{len(loc)} locations but {len(ts)} times")
    if ts.isna().any():
        raise InvalidInput(f"time of event {int(np.flatnonzero(ts.isna())[0])} is missing")
    ts = ts.tz_localize("UTC") if ts.tz is None else ts
    local = ts.tz_convert(tz).as_unit("ns")
    if (start is None or end is None) and len(local) == 0:
        raise InvalidInput("no events: give start and end for the analysis window")
    lo = _as_local(start, tz) if start is not None else local.min()
    hi = _as_local(end, tz) if end is not None else None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        raise InvalidInput(f"unknown slice frequency {freq!r}") from None
    first = offset.rollback(lo.normalize())
    edges = pd.date_range(first, hi if hi is not None else local.max(), freq=offset)
    if hi is not None:
        edges = edges[edges < hi].append(pd.DatetimeIndex([hi]))
    else:
        edges = edges.append(pd.DatetimeIndex([edges[-1] + offset]))
    if len(edges) < 2:
        raise InvalidInput("the analysis window holds no time slice")
    edges = edges.as_unit("ns")
    slot = np.searchsorted(edges.asi8, local.asi8, side="right") - 1
    inside = (local >= lo) & (local < edges[-1]) & (slot >= 0)
    if all_locations is None:
        study = pd.Index(pd.unique(loc[inside]))
    else:
        study = pd.Index(np.asarray(all_locations, dtype=object))
        if study.has_duplicates:
            raise InvalidInput("all_locations repeats a location")
    li = study.get_indexer(loc)
    keep = inside & (li >= 0)
    n_slices = len(edges) - 1
    flat = np.bincount(li[keep] * n_slices + slot[keep], minlength=len(study) * n_slices)
    order = np.argsort(study.to_numpy(dtype=object).astype(str), kind="stable")
    grid = flat.reshape(len(study), n_slices)[order]
    return pd.DataFrame(
        {
            "location": np.repeat(study.to_numpy(dtype=object)[order], n_slices),
            "time_slice": np.tile(edges[:-1], len(study)),
            "count": grid.ravel().astype(np.int64),
        }
    )


def h3_geometries(cells: ArrayLike) -> gpd.GeoSeries:
    """Hexagon polygons of H3 cells (EPSG:4326), indexed by cell id.

    Examples
    --------
    >>> g = h3_geometries(["89309a45157ffff"])
    >>> g.geom_type.tolist(), len(g.iloc[0].exterior.coords)
    (['Polygon'], 7)
    """
    ids = np.asarray(cells, dtype=object)
    polys = []
    for c in ids:
        if not h3.is_valid_cell(c):
            raise InvalidInput(f"invalid H3 cell id {c!r}")
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(c)]
        polys.append(shapely.Polygon(ring))
    return gpd.GeoSeries(polys, index=pd.Index(ids, name="cell"), crs="EPSG:4326")


def _cell_ints(
    lon: ArrayLike, lat: ArrayLike, res: int, crs: str | ArrayLike
) -> NDArray[np.uint64]:
    _check_res(res)
    x, y = check_lonlat(lon, lat)
    x, y = x.ravel(), y.ravel()
    if isinstance(crs, str):
        x, y = to_wgs84(x, y, crs)
    else:
        names = np.asarray(crs, dtype=object).ravel()
        if names.shape != x.shape:
            raise InvalidInput(f"{names.size} crs names for {x.size} points")
        x, y = x.copy(), y.copy()
        for name in pd.unique(names):
            sel = names == name
            x[sel], y[sel] = to_wgs84(x[sel], y[sel], normalize_crs_name(str(name)))
    return np.fromiter(
        map(h3i.latlng_to_cell, y.tolist(), x.tolist(), repeat(res)),
        dtype=np.uint64,
        count=x.size,
    )


def _check_res(res: int) -> None:
    if not isinstance(res, int | np.integer) or not 0 <= int(res) <= 15:
        raise InvalidInput(f"H3 resolution must be an integer 0–15, got {res!r}")


def _area_geometry(area: Any) -> shapely.Geometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is not None and not area.crs.is_geographic:
            raise InvalidInput("the study area must be in longitude/latitude degrees")
        geoms = np.asarray(area.geometry if isinstance(area, gpd.GeoDataFrame) else area)
        return shapely.union_all(geoms)
    if isinstance(area, shapely.Geometry):
        return area
    raise InvalidInput("the study area must be a shapely geometry, GeoSeries or GeoDataFrame")


def _as_local(value: Any, tz: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize(tz) if ts.tz is None else ts.tz_convert(tz)
