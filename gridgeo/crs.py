"""Conversions between WGS84, CGCS2000, GCJ-02 and BD-09 longitude/latitude.

PROJ knows WGS84 (EPSG:4326) and CGCS2000 (EPSG:4490) but not the Chinese
offset systems, so they are implemented here in vectorised numpy.

Systems
-------
``wgs84``
    GPS coordinates, EPSG:4326.
``cgcs2000``
    China Geodetic Coordinate System 2000, EPSG:4490, the storage CRS. Its
    realisation agrees with WGS84 to centimetres, so every conversion between
    the two is the identity.
``gcj02``
    The obfuscated "Mars" system required for maps published in China (Amap,
    Tencent, Apple and Google maps inside China). Computed with the widely
    published formula (Krasovsky ellipsoid, ``a = 6378245``,
    ``ee = 0.00669342162296594323``); offsets are a few hundred metres.
``bd09``
    Baidu's longitude/latitude system (``bd09ll``), defined on top of GCJ-02
    by the published formula with ``x_pi = pi * 3000 / 180``. Baidu's
    Mercator metres (``bd09mc``) are not supported.

Out-of-China rule
-----------------
A WGS84 point is *out of China* when ``lon < 72.004`` or ``lon > 137.8347`` or
``lat < 0.8293`` or ``lat > 55.8271`` (a point exactly on an edge is in China;
the bounds are :data:`CHINA_LON_MIN`, :data:`CHINA_LON_MAX`, :data:`CHINA_LAT_MIN`,
:data:`CHINA_LAT_MAX`). This is the rough bounding box used by the
common open-source implementations (coordtransform, eviltransform);
:func:`out_of_china` evaluates it. Out-of-China points are returned unchanged
by :func:`wgs84_to_gcj02`.

:func:`gcj02_to_wgs84` is the exact inverse of that forward rule: for a GCJ-02
point it iterates to the WGS84 point whose forward transform reproduces it and
accepts the result only if that WGS84 point is in China; otherwise the input is
returned unchanged. So ``gcj02_to_wgs84(wgs84_to_gcj02(p)) == p`` (to about a
micrometre) for every in-China point, and out-of-China points are unchanged
both ways. The forward rule is discontinuous at the box edges, so within 0.011
degrees (at most about 1.2 km) of them, where there is no Chinese land, a GCJ-02 point
can have two WGS84 preimages (the in-China one is returned) or none (the input
is returned, and ``wgs84_to_gcj02`` of it does not reproduce it).

BD-09 is applied everywhere, without an out-of-China rule, as the common
implementations do; :func:`bd09_to_gcj02` is likewise an exact iterative
inverse of :func:`gcj02_to_bd09` (the usual closed-form inverse is off by up to
about 2e-6 degrees, some 20 cm).

Values and shapes
-----------------
Every conversion takes scalars, sequences or numpy arrays of any shape (``lon``
and ``lat`` are broadcast together) and returns a pair of new float64 numpy
arrays of the broadcast shape; scalar input gives 0-d arrays (use ``float()``).
Inputs are never modified. NaN propagates as NaN: call :func:`check_lonlat`
first to reject non-finite or out-of-range coordinates with a message naming
the row.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)
>>> round(float(lon), 9), round(float(lat), 9)
(121.531541859, 31.175303984)
>>> lon2, lat2 = convert(lon, lat, "GCJ-02", "EPSG:4326")
>>> abs(float(lon2) - 121.5272106) < 1e-9 and abs(float(lat2) - 31.1774276) < 1e-9
True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from gridgeo.errors import CRSMismatch, InvalidInput

__all__ = [
    "CHINA_LAT_MAX",
    "CHINA_LAT_MIN",
    "CHINA_LON_MAX",
    "CHINA_LON_MIN",
    "CRS_EPSG",
    "CRS_NAMES",
    "CRSSpec",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_lonlat",
    "convert",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "normalize_crs_name",
    "out_of_china",
    "parse_crs",
    "point_to_wgs84",
    "to_wgs84",
    "transform_geometries",
    "validate_lonlat",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = NDArray[np.float64]
LonLat = tuple[FloatArray, FloatArray]

CRS_NAMES: Final[tuple[str, ...]] = ("wgs84", "cgcs2000", "gcj02", "bd09")
"""Canonical names of the supported coordinate systems."""

CRS_EPSG: Final[dict[str, int | None]] = {
    "wgs84": 4326,
    "cgcs2000": 4490,
    "gcj02": None,
    "bd09": None,
}
"""EPSG code of each system; ``None`` for the systems PROJ does not know."""

# Aliases, keyed after _alias_key (lower case, without spaces, "-" and "_").
_ALIASES: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "wgs84",
            "wgs1984",
            "epsg:4326",
            "4326",
            "crs84",
            "ogc:crs84",
            "urn:ogc:def:crs:ogc:1.3:crs84",
            "urn:ogc:def:crs:epsg::4326",
            "gps",
        ),
        "wgs84",
    ),
    **dict.fromkeys(
        (
            "cgcs2000",
            "cgcs",
            "epsg:4490",
            "4490",
            "urn:ogc:def:crs:epsg::4490",
            "chinageodeticcoordinatesystem2000",
        ),
        "cgcs2000",
    ),
    **dict.fromkeys(("gcj02", "gcj", "gcj2", "mars", "amap", "gaode"), "gcj02"),
    **dict.fromkeys(("bd09", "bd09ll", "bd", "baidu"), "bd09"),
}

_PROJ_IDENTICAL: Final[frozenset[str]] = frozenset({"wgs84", "cgcs2000"})

# Out-of-China bounding box (see module docstring).
CHINA_LON_MIN: Final = 72.004
CHINA_LON_MAX: Final = 137.8347
CHINA_LAT_MIN: Final = 0.8293
CHINA_LAT_MAX: Final = 55.8271

# GCJ-02 constants: Krasovsky 1940 semi-major axis and eccentricity squared.
_GCJ_A: Final = 6378245.0
_GCJ_EE: Final = 0.00669342162296594323
# BD-09 constant.
_X_PI: Final = np.pi * 3000.0 / 180.0

# Iterative inverses: stop when every residual is below _TOL degrees (about
# 0.1 micrometre); both maps are contractions with factor < 0.01, so a handful
# of iterations suffices and _MAX_ITER is only a safety net.
_TOL: Final = 1e-12
_MAX_ITER: Final = 30
# GCJ-02 offsets are below 0.02 degrees; GCJ-02 points farther than this from
# the China box cannot have an in-China WGS84 preimage.
_INVERSE_MARGIN: Final = 0.1


# --------------------------------------------------------------------------- names


def _alias_key(name: str) -> str:
    return "".join(name.strip().lower().split()).replace("-", "").replace("_", "")


def normalize_crs_name(name: str) -> str:
    """Return the canonical name (one of :data:`CRS_NAMES`) for a CRS name or alias.

    Matching ignores case, surrounding and inner spaces, hyphens and
    underscores. Accepted aliases include ``EPSG:4326``, ``4326``, ``CRS84``
    and ``WGS 84`` (wgs84); ``EPSG:4490`` and ``4490`` (cgcs2000); ``GCJ-02``,
    ``gcj``, ``mars``, ``amap``, ``gaode`` (gcj02); ``BD-09``, ``bd09ll``,
    ``baidu`` (bd09).

    Parameters
    ----------
    name : str
        The name to normalise.

    Returns
    -------
    str
        One of ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"``.

    Raises
    ------
    CRSMismatch
        If the name is not a string or is unknown; the message names the
        allowed names.

    Examples
    --------
    >>> normalize_crs_name("EPSG:4490"), normalize_crs_name("BD-09"), normalize_crs_name("gcj_02")
    ('cgcs2000', 'bd09', 'gcj02')
    """
    if isinstance(name, str):
        canonical = _ALIASES.get(_alias_key(name))
        if canonical is not None:
            return canonical
    allowed = ", ".join(CRS_NAMES)
    hint = ""
    if isinstance(name, str) and _alias_key(name) in {"bd09mc", "bdmc", "baidumercator"}:
        hint = " (Baidu Mercator metres are not supported; use bd09 longitude/latitude)"
    raise CRSMismatch(
        f"unknown CRS {name!r}{hint}; use one of {allowed} "
        "(aliases such as EPSG:4326, EPSG:4490, gcj-02, bd-09, bd09ll are accepted)",
        details={"crs": str(name), "allowed": list(CRS_NAMES)},
    )


_EPSG_PATTERN: Final = re.compile(r"(?:epsg:?|urn:ogc:def:crs:epsg::)?([0-9]{4,6})")


@dataclass(frozen=True)
class CRSSpec:
    """A parsed ``crs=`` value: a named system or an EPSG code PROJ knows.

    Attributes
    ----------
    name : str
        ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``, or ``EPSG:<code>``.
    epsg : int or None
        The EPSG code (None for GCJ-02 and BD-09).
    projected : bool
        True when coordinates are x/y metres (e.g. Gauss–Krüger zones).
    """

    name: str
    epsg: int | None
    projected: bool = False

    @property
    def named(self) -> bool:
        """True for the four named systems (:data:`CRS_NAMES`)."""
        return self.name in CRS_NAMES


CRS_HELP: Final = (
    "wgs84 (EPSG:4326, 4326), cgcs2000 (EPSG:4490), gcj02 (gcj-02, amap), bd09 (bd-09, baidu), "
    "or the EPSG code of another CRS, e.g. EPSG:4549 (CGCS2000 Gauss–Krüger CM 120°E, "
    "x/y in metres)"
)
"""One-line description of what :func:`parse_crs` accepts (for help texts)."""


@functools.lru_cache(maxsize=256)
def _epsg_spec(code: int) -> CRSSpec | None:
    import pyproj  # deferred: only EPSG codes need PROJ

    try:
        crs = pyproj.CRS.from_epsg(code)
    except pyproj.exceptions.CRSError:
        return None
    if not (crs.is_projected or crs.is_geographic):
        return None
    return CRSSpec(f"EPSG:{code}", code, projected=bool(crs.is_projected))


def parse_crs(name: str) -> CRSSpec:
    """Parse a ``crs=`` value of the API or the CLI (one parser for both).

    Accepts every alias of :func:`normalize_crs_name` (``wgs84``,
    ``EPSG:4326``, ``4326``, ``gcj-02``, ``bd-09``, ``EPSG:4490`` …) and the
    EPSG code of any geographic or projected CRS PROJ knows, such as the
    CGCS2000 Gauss–Krüger zones (``EPSG:4549``); with a projected CRS the
    coordinates are x/y metres.

    Raises
    ------
    CRSMismatch
        Unknown name or code (the message lists what is accepted and quotes
        at most 40 characters of the input).

    Examples
    --------
    >>> parse_crs("EPSG:4326").name, parse_crs("gcj-02").name, parse_crs("4549")
    ('wgs84', 'gcj02', CRSSpec(name='EPSG:4549', epsg=4549, projected=True))
    """
    if isinstance(name, str) and len(name) <= 100:
        canonical = _ALIASES.get(_alias_key(name))
        if canonical is not None:
            return CRSSpec(canonical, CRS_EPSG[canonical])
        found = _EPSG_PATTERN.fullmatch(_alias_key(name))
        if found is not None:
            spec = _epsg_spec(int(found.group(1)))
            if spec is not None:
                return spec
    shown = repr(name[:40]) + ("…" if len(name) > 40 else "") if isinstance(name, str) else "?"
    raise CRSMismatch(
        f"unknown CRS {shown}; use {CRS_HELP}",
        details={"crs": shown, "allowed": list(CRS_NAMES) + ["EPSG:<code>"]},
    )


@functools.lru_cache(maxsize=64)
def _transformer(epsg: int) -> Any:
    import pyproj

    return pyproj.Transformer.from_crs(epsg, 4490, always_xy=True)


def point_to_wgs84(x: ArrayLike, y: ArrayLike, crs: str | CRSSpec) -> LonLat:
    """Convert coordinates in any :func:`parse_crs` CRS to WGS84/CGCS2000 lon/lat.

    Projected coordinates must be finite (NaN or infinity raise); the result
    is then checked like any lon/lat (call :func:`check_lonlat` on it).

    Examples
    --------
    >>> lon, lat = point_to_wgs84(500000.0, 3320000.0, "EPSG:4549")
    >>> round(float(lon), 6), round(float(lat), 3)
    (120.0, 29.999)
    """
    spec = crs if isinstance(crs, CRSSpec) else parse_crs(crs)
    if spec.named:
        return to_wgs84(x, y, spec.name)
    assert spec.epsg is not None
    xs, ys = _as_pair(x, y)
    bad = np.flatnonzero(~(np.isfinite(xs) & np.isfinite(ys)).ravel())
    if bad.size:
        raise InvalidInput(
            f"row {int(bad[0])}: coordinates in {spec.name} are not finite",
            details={"rows": bad.tolist()[:1000], "count": int(bad.size)},
        )
    lon, lat = _transformer(spec.epsg).transform(xs, ys, errcheck=False)
    return _result(lon, lat)


# --------------------------------------------------------------------------- arrays


def _as_pair(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Broadcast ``lon`` and ``lat`` to new float64 arrays of one shape."""
    try:
        lon_a = np.asarray(lon, dtype=np.float64)
        lat_a = np.asarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"coordinates must be numbers: {exc}") from None
    try:
        lon_b, lat_b = np.broadcast_arrays(lon_a, lat_a)
    except ValueError:
        raise InvalidInput(
            f"lon and lat have incompatible shapes {lon_a.shape} and {lat_a.shape}"
        ) from None
    # np.array copies, so results never alias the caller's arrays.
    return np.array(lon_b, dtype=np.float64), np.array(lat_b, dtype=np.float64)


def _result(x: Any, y: Any) -> LonLat:
    # Arithmetic on 0-d arrays yields numpy scalars; always hand back arrays.
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where a point lies outside the rough China bounding box.

    The box is lon 72.004–137.8347, lat 0.8293–55.8271, edges included in
    China. NaN coordinates count as in China (and convert to NaN).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees, broadcast together.

    Returns
    -------
    numpy.ndarray of bool
        Of the broadcast shape.

    Examples
    --------
    >>> out_of_china([116.39, 2.35], [39.91, 48.86]).tolist()
    [False, True]
    """
    x, y = _as_pair(lon, lat)
    return np.asarray(
        (x < CHINA_LON_MIN) | (x > CHINA_LON_MAX) | (y < CHINA_LAT_MIN) | (y > CHINA_LAT_MAX)
    )


def _near_china(x: FloatArray, y: FloatArray, margin: float) -> NDArray[np.bool_]:
    return np.asarray(
        (x >= CHINA_LON_MIN - margin)
        & (x <= CHINA_LON_MAX + margin)
        & (y >= CHINA_LAT_MIN - margin)
        & (y <= CHINA_LAT_MAX + margin)
    )


# --------------------------------------------------------------------------- GCJ-02


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> LonLat:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 points, without the box rule."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    shared = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += shared
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += shared
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _converged(*residuals: FloatArray) -> bool:
    # NaN residuals (NaN input) never converge; they are ignored here.
    return all(not np.any(np.abs(r) > _TOL) for r in residuals)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert WGS84 (or CGCS2000) longitude/latitude to GCJ-02.

    Points out of China (see :func:`out_of_china`) are returned unchanged.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees, broadcast together.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        GCJ-02 degrees, of the broadcast shape (0-d for scalars).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([113.912316, 2.35], [22.543847, 48.86])
    >>> lon.round(9).tolist(), lat.round(9).tolist()
    ([113.917176481, 2.35], [22.540796132, 48.86])
    """
    x, y = _as_pair(lon, lat)
    inside = ~out_of_china(x, y)
    dlon, dlat = _gcj_offset(x, y)
    return np.where(inside, x + dlon, x), np.where(inside, y + dlat, y)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert GCJ-02 longitude/latitude to WGS84 with an exact iterative inverse.

    Iterates ``w <- w - (gcj(w) - g)`` until every residual is below 1e-12
    degrees (at most 30 iterations; typically 4). A result outside the China
    box means the GCJ-02 point has no in-China preimage, and the input is
    returned unchanged (see the module docstring).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees, broadcast together.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        WGS84 degrees, of the broadcast shape (0-d for scalars).

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.38404722455657, 39.91334545536069)
    >>> round(float(lon), 9), round(float(lat), 9)
    (116.377817, 39.911954)
    """
    gx, gy = _as_pair(lon, lat)
    shape = gx.shape
    gx, gy = gx.ravel(), gy.ravel()
    out_x, out_y = gx.copy(), gy.copy()
    near = _near_china(gx, gy, _INVERSE_MARGIN) | np.isnan(gx) | np.isnan(gy)
    if near.any():
        tx, ty = gx[near], gy[near]
        dlon, dlat = _gcj_offset(tx, ty)
        wx, wy = tx - dlon, ty - dlat
        for _ in range(_MAX_ITER):
            dlon, dlat = _gcj_offset(wx, wy)
            rx = wx + dlon - tx
            ry = wy + dlat - ty
            wx -= rx
            wy -= ry
            if _converged(rx, ry):
                break
        # A tolerance of 1e-9 degrees keeps points exactly on a box edge in China.
        accept = _near_china(wx, wy, 1e-9)
        idx = np.flatnonzero(near)[accept]
        out_x[idx] = wx[accept]
        out_y[idx] = wy[accept]
    return out_x.reshape(shape), out_y.reshape(shape)


# --------------------------------------------------------------------------- BD-09


def _bd_forward(x: FloatArray, y: FloatArray) -> LonLat:
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu ``bd09ll``).

    Applied everywhere (no out-of-China rule), as in the common
    implementations.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees, broadcast together.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        BD-09 degrees, of the broadcast shape (0-d for scalars).

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.38404722455657, 39.91334545536069)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.390455, 39.919576)
    """
    x, y = _as_pair(lon, lat)
    bx, by = _bd_forward(x, y)
    return _result(bx, by)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert BD-09 longitude/latitude to GCJ-02 with an exact iterative inverse.

    Starts from the usual closed-form approximation and refines it with
    ``g <- g - (bd(g) - b)`` until every residual is below 1e-12 degrees (at
    most 30 iterations), so ``gcj02_to_bd09`` of the result reproduces the
    input.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees, broadcast together.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        GCJ-02 degrees, of the broadcast shape (0-d for scalars).

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(123.0, 45.0)
    >>> round(float(lon), 7), round(float(lat), 7)
    (122.9936337, 44.9936536)
    >>> lon2, lat2 = gcj02_to_bd09(lon, lat)
    >>> abs(float(lon2) - 123.0) < 1e-12 and abs(float(lat2) - 45.0) < 1e-12
    True
    """
    bx, by = _as_pair(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = z * np.cos(theta), z * np.sin(theta)
    for _ in range(_MAX_ITER):
        fx, fy = _bd_forward(gx, gy)
        rx, ry = fx - bx, fy - by
        gx -= rx
        gy -= ry
        if _converged(rx, ry):
            break
    return _result(gx, gy)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert WGS84 longitude/latitude to BD-09 (via GCJ-02).

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09(116.377817, 39.911954)
    >>> lon2, lat2 = bd09_to_wgs84(lon, lat)
    >>> abs(float(lon2) - 116.377817) < 1e-9 and abs(float(lat2) - 39.911954) < 1e-9
    True
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert BD-09 longitude/latitude to WGS84 (via GCJ-02), exact inverse.

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(123.0, 45.0)
    >>> round(float(lon), 4), round(float(lat), 4)
    (122.9876, 44.9917)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# --------------------------------------------------------------------------- dispatch

_TO_WGS84: Final[dict[str, Callable[[ArrayLike, ArrayLike], LonLat]]] = {
    "wgs84": _as_pair,
    "cgcs2000": _as_pair,
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
_FROM_WGS84: Final[dict[str, Callable[[ArrayLike, ArrayLike], LonLat]]] = {
    "wgs84": _as_pair,
    "cgcs2000": _as_pair,
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> LonLat:
    """Convert coordinates in ``crs`` (any name :func:`normalize_crs_name` accepts) to WGS84.

    CGCS2000 is treated as identical to WGS84. Returns new float64 arrays.

    Examples
    --------
    >>> lon, lat = to_wgs84([120.26, 120.27], [30.18, 30.19], "EPSG:4490")
    >>> lon.tolist(), lat.tolist()
    ([120.26, 120.27], [30.18, 30.19])
    """
    return _TO_WGS84[normalize_crs_name(crs)](lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> LonLat:
    """Convert WGS84 coordinates to ``crs`` (any name :func:`normalize_crs_name` accepts).

    Examples
    --------
    >>> lon, lat = from_wgs84(121.5272106, 31.1774276, "gcj-02")
    >>> round(float(lon), 6), round(float(lat), 6)
    (121.531542, 31.175304)
    """
    return _FROM_WGS84[normalize_crs_name(crs)](lon, lat)


def convert(lon: ArrayLike, lat: ArrayLike, src: str, dst: str) -> LonLat:
    """Convert longitude/latitude from ``src`` to ``dst``.

    Both names go through :func:`normalize_crs_name`. WGS84 and CGCS2000 are
    identical; GCJ-02 and BD-09 convert directly to each other, everything else
    goes through WGS84.

    Parameters
    ----------
    lon, lat : array_like
        Degrees in ``src``, broadcast together.
    src, dst : str
        Source and destination CRS names.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        Degrees in ``dst``, new arrays of the broadcast shape.

    Raises
    ------
    CRSMismatch
        If either name is unknown.

    Examples
    --------
    >>> lon, lat = convert(123.0, 45.0, "bd09ll", "GCJ-02")
    >>> round(float(lon), 6), round(float(lat), 6)
    (122.993634, 44.993654)
    """
    s, d = normalize_crs_name(src), normalize_crs_name(dst)
    if s == d or {s, d} <= _PROJ_IDENTICAL:
        return _as_pair(lon, lat)
    if (s, d) == ("gcj02", "bd09"):
        return gcj02_to_bd09(lon, lat)
    if (s, d) == ("bd09", "gcj02"):
        return bd09_to_gcj02(lon, lat)
    return _FROM_WGS84[d](*_TO_WGS84[s](lon, lat))


# --------------------------------------------------------------------------- validation


def validate_lonlat(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where a coordinate is finite with ``|lon| <= 180`` and ``|lat| <= 90``.

    Examples
    --------
    >>> validate_lonlat([120.0, float("nan"), 200.0], [30.0, 30.0, 30.0]).tolist()
    [True, False, False]
    """
    x, y = _as_pair(lon, lat)
    return np.asarray(np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0))


def _describe(x: float, y: float) -> str:
    problems = []
    if not np.isfinite(x):
        problems.append(f"lon is {x}")
    elif abs(x) > 180.0:
        problems.append(f"lon {x} is outside [-180, 180]")
    if not np.isfinite(y):
        problems.append(f"lat is {y}")
    elif abs(y) > 90.0:
        problems.append(f"lat {y} is outside [-90, 90]")
    return "; ".join(problems)


_MAX_DETAIL_ROWS: Final = 100


def check_lonlat(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Validate coordinates and return them as new float64 arrays.

    Rows are the 0-based positions in the flattened (C-order) broadcast arrays,
    which for the usual 1-d input are the input rows.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees, broadcast together.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        The coordinates, of the broadcast shape.

    Raises
    ------
    InvalidInput
        If a value is not a number, the shapes do not broadcast, or any point
        is NaN, infinite, or has ``|lon| > 180`` or ``|lat| > 90``. The message
        starts with ``"row {i}: "`` for the first bad row; ``details`` holds
        ``{"rows": [...], "count": n, "errors": [{"row", "lon", "lat",
        "problem"}, ...]}`` (``rows`` lists every bad row, ``errors`` the first
        100).

    Examples
    --------
    >>> check_lonlat([120.0, 121.0], [30.0, 95.0])
    Traceback (most recent call last):
    ...
    gridgeo.errors.InvalidInput: row 1: lat 95.0 is outside [-90, 90]
    """
    x, y = _as_pair(lon, lat)
    bad = np.flatnonzero(~validate_lonlat(x, y))
    if bad.size == 0:
        return x, y
    fx, fy = x.ravel(), y.ravel()
    rows = [int(i) for i in bad]
    errors = [
        {
            "row": i,
            "lon": float(fx[i]) if np.isfinite(fx[i]) else None,
            "lat": float(fy[i]) if np.isfinite(fy[i]) else None,
            "problem": _describe(float(fx[i]), float(fy[i])),
        }
        for i in rows[:_MAX_DETAIL_ROWS]
    ]
    message = f"row {rows[0]}: {errors[0]['problem']}"
    if len(rows) > 1:
        shown = ", ".join(str(i) for i in rows[1:6])
        more = ", ..." if len(rows) > 6 else ""
        message += f" (and {len(rows) - 1} more bad rows: {shown}{more})"
    raise InvalidInput(message, details={"rows": rows, "count": len(rows), "errors": errors})


# --------------------------------------------------------------------------- geometries


def _geographic_crs_check(crs: Any, src: str) -> None:
    if crs is None:
        return
    is_geographic = getattr(crs, "is_geographic", None)
    if is_geographic is False:
        raise CRSMismatch(
            f"geometries are in projected CRS {crs.to_string()}, "
            f"but src={src!r} expects longitude/latitude degrees; reproject with "
            "geopandas to_crs(4490) first"
        )


def transform_geometries(geoms: Any, src: str, dst: str) -> Any:
    """Convert the coordinates of shapely geometries from ``src`` to ``dst``.

    Uses :func:`shapely.transform` (one vectorised call over all vertices);
    z values are kept. Useful for boundary files declared in GCJ-02 or BD-09.
    Note that only vertices move: edges between them stay straight in the
    destination system, which is accurate to millimetres for edges up to a few
    kilometres (the offsets vary slowly).

    Parameters
    ----------
    geoms : shapely geometry, array_like of geometries, GeoSeries or GeoDataFrame
        Geometries in longitude/latitude degrees of ``src``. ``None`` entries
        are kept.
    src, dst : str
        Source and destination CRS names (see :func:`normalize_crs_name`).

    Returns
    -------
    Same kind as ``geoms``
        New geometries (a new numpy array for array input, a new GeoSeries /
        GeoDataFrame with the same index for pandas input). A GeoSeries or
        GeoDataFrame gets ``crs`` EPSG:4326 or EPSG:4490 when ``dst`` is wgs84 or
        cgcs2000; for gcj02 and bd09 it keeps the input's ``crs`` label.

    Raises
    ------
    CRSMismatch
        If a name is unknown, a GeoSeries/GeoDataFrame has a projected CRS, or
        any vertex is outside ``|lon| <= 180, |lat| <= 90`` (not degrees).

    Examples
    --------
    >>> from shapely import Polygon
    >>> square = Polygon([(120.0, 30.0), (120.01, 30.0), (120.01, 30.01), (120.0, 30.01)])
    >>> out = transform_geometries(square, "gcj02", "wgs84")
    >>> [round(v, 5) for v in out.bounds]
    [119.99535, 30.00245, 120.00533, 30.01248]
    """
    s, d = normalize_crs_name(src), normalize_crs_name(dst)

    def _convert(coords: FloatArray) -> FloatArray:
        valid = validate_lonlat(coords[:, 0], coords[:, 1])
        if not bool(valid.all()):
            x, y = coords[int(np.argmin(valid)), :2]
            raise CRSMismatch(
                f"geometries declared in {s} have a vertex ({x}, {y}) that is not "
                "longitude/latitude degrees (|lon| > 180, |lat| > 90 or not finite)"
            )
        out = np.array(coords, dtype=np.float64)
        out[:, 0], out[:, 1] = convert(coords[:, 0], coords[:, 1], s, d)
        return out

    import geopandas as gpd  # deferred: only geometry conversions need it

    if isinstance(geoms, gpd.GeoDataFrame):
        series = transform_geometries(geoms.geometry, s, d)
        frame = geoms.copy()
        frame[geoms.geometry.name] = series.values
        return frame if series.crs is None else frame.set_crs(series.crs, allow_override=True)

    if isinstance(geoms, gpd.GeoSeries):
        _geographic_crs_check(geoms.crs, s)
        array = np.asarray(geoms.values, dtype=object)
        values = shapely.transform(array, _convert, include_z=None)
        epsg = CRS_EPSG[d]
        crs = geoms.crs if epsg is None or s == d else f"EPSG:{epsg}"
        return gpd.GeoSeries(values, index=geoms.index.copy(), crs=crs, name=geoms.name)

    if isinstance(geoms, shapely.Geometry):
        return shapely.transform(geoms, _convert, include_z=None)
    return shapely.transform(np.asarray(geoms, dtype=object), _convert, include_z=None)
