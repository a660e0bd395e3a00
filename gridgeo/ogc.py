"""OGC API – Features vocabulary: collections, CRSs, parameters and links.

Pure functions (no database, no HTTP) behind ``api/routers/ogc.py``:
the collections gridgeo publishes, the parsing of the standard's ``bbox``,
``bbox-crs``, ``crs`` and ``datetime`` parameters, and the links of a page.

Coordinate reference systems (OGC API – Features Part 2)
--------------------------------------------------------
Boundaries are stored in CGCS2000 (EPSG:4490), which agrees with WGS84 to
centimetres, so the supported CRSs differ only in **axis order**: ``CRS84``
is longitude, latitude (the GeoJSON default); ``EPSG:4490`` and
``EPSG:4326`` are latitude, longitude, as their EPSG definitions say.

Examples
--------
>>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/4490").lat_lon
True
>>> parse_bbox("120.1,29.9,120.3,30.1")
(120.1, 29.9, 120.3, 30.1)
>>> parse_bbox("29.9,120.1,30.1,120.3", parse_crs("EPSG:4490"))
(120.1, 29.9, 120.3, 30.1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from gridgeo.errors import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
STORAGE_CRS = EPSG4490
SUPPORTED_CRS = (CRS84, EPSG4490, EPSG4326)

#: The OpenAPI conformance class ``oas30`` is not claimed: ``/openapi.json`` is
#: the OpenAPI 3.1 document FastAPI generates, not a 3.0 one.
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"


@dataclass(frozen=True)
class Collection:
    """One feature collection: the units of one level (and kind) of the active generation.

    Attributes
    ----------
    id : str
        Path segment of the collection (``/collections/{id}``).
    title, description : str
    level : str
        ``district`` … ``microgrid``.
    kind : str or None
        ``special`` restricts to special grids; ``None`` takes every kind.
    """

    id: str
    title: str
    description: str
    level: str
    kind: str | None = None


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection("districts", "Districts (区县)", "District outlines.", "district"),
        Collection("streets", "Streets (街道/乡镇)", "Streets and towns.", "street"),
        Collection(
            "communities", "Communities (社区/村)", "Communities and villages.", "community"
        ),
        Collection("grids", "Grids (网格)", "Every grid, base and special (see `kind`).", "grid"),
        Collection(
            "microgrids", "Micro-grids (微网格)", "Resident-group micro-grids.", "microgrid"
        ),
        Collection(
            "special-grids",
            "Special grids (专属网格)",
            "Campuses, hospitals and industrial parks (grid codes 801–999).",
            "grid",
            "special",
        ),
    )
}


@dataclass(frozen=True)
class CrsChoice:
    """A supported CRS: its URI and whether its axis order is latitude first."""

    uri: str
    lat_lon: bool


_CRS_NAMES = {
    CRS84: CRS84,
    "CRS84": CRS84,
    "OGC:CRS84": CRS84,
    "[OGC:CRS84]": CRS84,
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84h": CRS84,
    EPSG4490: EPSG4490,
    "EPSG:4490": EPSG4490,
    "[EPSG:4490]": EPSG4490,
    "https://www.opengis.net/def/crs/EPSG/0/4490": EPSG4490,
    EPSG4326: EPSG4326,
    "EPSG:4326": EPSG4326,
    "[EPSG:4326]": EPSG4326,
    "https://www.opengis.net/def/crs/EPSG/0/4326": EPSG4326,
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84": CRS84,
}


def parse_crs(value: str | None, parameter: str = "crs") -> CrsChoice:
    """Resolve a ``crs``/``bbox-crs`` value (URI or ``EPSG:n``) to a supported CRS.

    Parameters
    ----------
    value : str or None
        ``None`` or empty means CRS84.
    parameter : str
        Name used in the error message.

    Returns
    -------
    CrsChoice

    Raises
    ------
    InvalidParameter
        A CRS the server does not offer (HTTP 400, as Part 2 requires).

    Examples
    --------
    >>> parse_crs(None).uri.endswith("CRS84")
    True
    >>> parse_crs("EPSG:4326").lat_lon
    True
    """
    if not value:
        return CrsChoice(CRS84, False)
    uri = _CRS_NAMES.get(value.strip())
    if uri is None:
        raise InvalidParameter(
            f"{parameter}: unsupported CRS {value[:80]!r}; use one of " + ", ".join(SUPPORTED_CRS)
        )
    return CrsChoice(uri, uri != CRS84)


def parse_bbox(value: str, crs: CrsChoice | None = None) -> tuple[float, float, float, float]:
    """Parse an OGC ``bbox`` (4 or 6 numbers) into lon/lat ``(xmin, ymin, xmax, ymax)``.

    Parameters
    ----------
    value : str
        Comma-separated numbers in the axis order of ``crs``; with 6 numbers
        the heights (3rd and 6th) are ignored.
    crs : CrsChoice, optional
        The ``bbox-crs``; CRS84 by default.

    Returns
    -------
    tuple of float
        Longitude/latitude bounds.

    Raises
    ------
    InvalidParameter
        Not 4 or 6 finite numbers, latitudes outside ±90, longitudes outside
        ±180, or a minimum above its maximum.
    """
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameter(f"bbox: expected 4 or 6 comma-separated numbers, got {len(parts)}")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameter("bbox: every value must be a number") from None
    if not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter("bbox: values must be finite")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    a, b, c, d = numbers
    xmin, ymin, xmax, ymax = (b, a, d, c) if crs is not None and crs.lat_lon else (a, b, c, d)
    if not (-90 <= ymin <= 90 and -90 <= ymax <= 90):
        raise InvalidParameter("bbox: latitudes must lie within ±90 (check the axis order)")
    if not (-180 <= xmin <= 180 and -180 <= xmax <= 180):
        raise InvalidParameter("bbox: longitudes must lie within ±180")
    if xmin > xmax or ymin > ymax:
        raise InvalidParameter("bbox: each minimum must not exceed its maximum")
    return xmin, ymin, xmax, ymax


def _instant(text: str, *, end: bool) -> datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidParameter(
            f"datetime: {text[:40]!r} is not an RFC 3339 date-time or date"
        ) from None
    if moment.tzinfo is None:
        raise InvalidParameter(f"datetime: {text[:40]!r} needs a time zone (e.g. Z or +08:00)")
    return moment


def parse_datetime(value: str) -> tuple[datetime | None, datetime | None]:
    """Parse an OGC ``datetime``: an instant, a date, or an interval ``start/end``.

    Parameters
    ----------
    value : str
        ``2026-01-01T00:00:00Z``, ``2026-01-01`` (that whole UTC day),
        ``2026-01-01T00:00:00Z/..`` or ``../2026-01-01T00:00:00Z``.

    Returns
    -------
    tuple
        ``(start, end)``; ``None`` stands for an open end.

    Raises
    ------
    InvalidParameter
        Unparseable, zone-less, or start after end.

    Examples
    --------
    >>> parse_datetime("2026-01-01T00:00:00Z/..")[1] is None
    True
    """
    if "/" in value:
        first, _, second = value.partition("/")
        start, stop = _instant(first, end=False), _instant(second, end=True)
        if first.strip() in ("", "..") and second.strip() in ("", ".."):
            raise InvalidParameter("datetime: an interval needs at least one bound")
    else:
        start = _instant(value, end=False)
        stop = _instant(value, end=True) if len(value.strip()) == 10 else start
        if start is None:
            raise InvalidParameter("datetime: empty value")
    if start is not None and stop is not None and start > stop:
        raise InvalidParameter("datetime: the interval starts after it ends")
    return start, stop


def validity_intersects(
    valid_from: datetime | None,
    valid_to: datetime | None,
    start: datetime | None,
    end: datetime | None,
) -> bool:
    """Whether a generation valid over ``[valid_from, valid_to)`` meets ``[start, end]``.

    Examples
    --------
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> validity_intersects(t, None, t - timedelta(days=1), None)
    True
    >>> validity_intersects(t, None, None, t - timedelta(days=1))
    False
    """
    if valid_from is None:  # never published
        return False
    if end is not None and end < valid_from:
        return False
    return not (start is not None and valid_to is not None and start >= valid_to)


def page_links(
    url: str,
    params: dict[str, str],
    *,
    offset: int,
    limit: int,
    matched: int,
    media_type: str = GEOJSON,
) -> list[dict[str, str]]:
    """Build ``self``/``next``/``prev`` links of an offset-paged list.

    Parameters
    ----------
    url : str
        The absolute URL of the list, without a query.
    params : dict
        The request's query parameters (``limit``/``offset`` are replaced).
    offset, limit, matched : int
        This page's offset and size, and the number of items in all pages.
    media_type : str

    Returns
    -------
    list of dict
        OGC/Web links (``href``, ``rel``, ``type``, ``title``).

    Examples
    --------
    >>> [x["rel"] for x in page_links("http://h/i", {}, offset=0, limit=2, matched=5)]
    ['self', 'next']
    """

    def href(at: int) -> str:
        query = {k: v for k, v in params.items() if k not in ("limit", "offset")}
        query.update(limit=str(limit), offset=str(at))
        return f"{url}?{urlencode(query)}"

    links = [{"href": href(offset), "rel": "self", "type": media_type, "title": "this page"}]
    if offset + limit < matched:
        links.append(
            {"href": href(offset + limit), "rel": "next", "type": media_type, "title": "next page"}
        )
    if offset > 0:
        links.append(
            {
                "href": href(max(offset - limit, 0)),
                "rel": "prev",
                "type": media_type,
                "title": "previous page",
            }
        )
    return links
