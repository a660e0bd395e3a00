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

#: ``oas30``: the OGC resources are described by the OpenAPI 3.0 document of
#: :func:`openapi_document` (``/api``); ``/openapi.json`` is FastAPI's 3.1
#: document of the whole HTTP API.
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


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


def _parameter(
    name: str, description: str, schema: dict[str, object], *, path: bool = False
) -> dict[str, object]:
    parameter: dict[str, object] = {
        "name": name,
        "in": "path" if path else "query",
        "description": description,
        "required": path,
        "schema": schema,
    }
    if not path:
        parameter.update(style="form", explode=False)
    return parameter


def openapi_document(base: str, *, default_limit: int, page_max: int) -> dict[str, object]:
    """The OpenAPI 3.0 definition of the OGC API – Features resources (``/api``).

    QGIS and GDAL look for a ``service-desc`` of type
    :data:`OPENAPI` (OpenAPI 3.0) on the landing page and read the ``limit``
    parameter's default and maximum from it.

    Parameters
    ----------
    base : str
        The server's URL (``servers[0].url``).
    default_limit, page_max : int
        Default and largest page size of ``/collections/{collectionId}/items``.

    Returns
    -------
    dict
        The OpenAPI 3.0.3 document.

    Examples
    --------
    >>> doc = openapi_document("http://h", default_limit=100, page_max=10000)
    >>> doc["components"]["parameters"]["limit"]["schema"]["maximum"]
    10000
    """
    ref = "#/components/parameters/"
    json_object: dict[str, object] = {"type": "object"}

    def ok(media_type: str, description: str) -> dict[str, object]:
        return {
            "200": {"description": description, "content": {media_type: {"schema": json_object}}},
            "400": {"description": "A bad parameter (bbox, crs, datetime)."},
            "404": {"description": "Unknown collection or feature, or nothing published."},
        }

    def get(summary: str, parameters: list[str], media_type: str) -> dict[str, object]:
        return {
            "get": {
                "summary": summary,
                "parameters": [{"$ref": ref + p} for p in parameters],
                "responses": ok(media_type, summary),
            }
        }

    crs_schema: dict[str, object] = {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridgeo OGC API – Features",
            "version": "1.0.0",
            "description": "Grid boundaries of the published generation; the whole HTTP "
            "API is described at /openapi.json.",
        },
        "servers": [{"url": base}],
        "paths": {
            "/": get("Landing page", [], JSON),
            "/api": get("This API definition", [], OPENAPI),
            "/conformance": get("Conformance classes", [], JSON),
            "/collections": get("Feature collections", [], JSON),
            "/collections/{collectionId}": get("A feature collection", ["collectionId"], JSON),
            "/collections/{collectionId}/items": get(
                "Features of a collection",
                ["collectionId", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime"],
                GEOJSON,
            ),
            "/collections/{collectionId}/items/{featureId}": get(
                "One feature", ["collectionId", "featureId", "crs"], GEOJSON
            ),
        },
        "components": {
            "parameters": {
                "collectionId": _parameter(
                    "collectionId",
                    "A collection: " + ", ".join(COLLECTIONS),
                    {"type": "string", "enum": list(COLLECTIONS)},
                    path=True,
                ),
                "featureId": _parameter(
                    "featureId", "A unit's code.", {"type": "string"}, path=True
                ),
                "limit": _parameter(
                    "limit",
                    f"Page size; larger values are cut to {page_max}.",
                    {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": page_max,
                        "default": default_limit,
                    },
                ),
                "offset": _parameter(
                    "offset",
                    "Features to skip (follow the `next` link instead of computing it).",
                    {"type": "integer", "minimum": 0, "default": 0},
                ),
                "bbox": _parameter(
                    "bbox",
                    "xmin,ymin,xmax,ymax in `bbox-crs` (CRS84 by default).",
                    {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                ),
                "bbox-crs": _parameter("bbox-crs", "CRS of `bbox`.", crs_schema),
                "crs": _parameter("crs", "CRS of the response geometries.", crs_schema),
                "datetime": _parameter(
                    "datetime",
                    "Instant or interval; features whose generation was valid then.",
                    {"type": "string"},
                ),
            }
        },
    }
