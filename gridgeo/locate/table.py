"""Validate the units GeoDataFrame and turn it into plain arrays for the index.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> units = gpd.GeoDataFrame(
...     {"code": ["330109"], "parent_code": [None], "level": ["district"],
...      "kind": ["base"], "name": ["Xiaoshan"]},
...     geometry=[box(120.0, 30.0, 120.1, 30.1)], crs="EPSG:4490")
>>> table = unit_table(units)
>>> table.codes.tolist(), table.parents
(['330109'], [None])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgeo.errors import CRSMismatch, InvalidInput
from gridgeo.locate.rules import KINDS, LEVELS

REQUIRED_COLUMNS: Final[tuple[str, ...]] = ("code", "parent_code", "level", "kind", "name")
ACCEPTED_EPSG: Final[frozenset[int]] = frozenset({4490, 4326})
_SHOWN: Final = 5


@dataclass(frozen=True)
class UnitTable:
    """Validated units as arrays, one entry per unit, in input row order.

    Attributes
    ----------
    codes, levels, kinds, names : numpy.ndarray of str (object)
    parents : list of str or None
    geoms : numpy.ndarray of shapely (Multi)Polygons
        New 2-D geometry objects (the input's objects are never touched, so
        preparing them for fast predicates does not alter the input).
    """

    codes: NDArray[np.object_]
    parents: list[str | None]
    levels: NDArray[np.object_]
    kinds: NDArray[np.object_]
    names: NDArray[np.object_]
    geoms: NDArray[np.object_]


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _rows_message(what: str, rows: list[Any]) -> str:
    shown = ", ".join(str(r) for r in rows[:_SHOWN])
    more = ", ..." if len(rows) > _SHOWN else ""
    return f"{len(rows)} unit(s) {what}: {shown}{more}"


def check_crs(crs: Any) -> None:
    """Raise :class:`~gridgeo.errors.CRSMismatch` unless ``crs`` is EPSG:4490 or WGS84.

    WGS84 is accepted as EPSG:4326 or OGC:CRS84 (treated as identical to
    CGCS2000, see DESIGN section 5).

    Examples
    --------
    >>> check_crs("EPSG:4490")
    >>> check_crs("EPSG:3857")
    Traceback (most recent call last):
    ...
    gridgeo.errors.CRSMismatch: units are in EPSG:3857; the locate index needs EPSG:4490 \
(CGCS2000) or EPSG:4326 longitude/latitude
    """
    if crs is None:
        raise CRSMismatch("units have no CRS; the locate index needs EPSG:4490 (CGCS2000)")
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    if parsed.to_authority() == ("OGC", "CRS84"):  # WGS84 in lon/lat order, as GeoJSON
        return
    epsg = parsed.to_epsg()
    if epsg not in ACCEPTED_EPSG:
        name = f"EPSG:{epsg}" if epsg is not None else parsed.name
        raise CRSMismatch(
            f"units are in {name}; the locate index needs EPSG:4490 (CGCS2000) "
            "or EPSG:4326 longitude/latitude",
            details={"crs": name, "expected": ["EPSG:4490", "EPSG:4326"]},
        )


def unit_table(units: Any) -> UnitTable:
    """Validate ``units`` and return them as a :class:`UnitTable`.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        Columns ``code, parent_code, level, kind, name`` and a (Multi)Polygon
        geometry, CRS EPSG:4490 (or EPSG:4326, treated as identical).

    Raises
    ------
    CRSMismatch
        If the CRS is missing or not EPSG:4490/4326.
    InvalidInput
        For a missing column, missing or duplicate codes, unknown levels or
        kinds, dangling parent codes, or null, empty, non-polygonal or invalid
        geometries. The message names the offending codes.
    """
    import geopandas as gpd

    if not isinstance(units, gpd.GeoDataFrame):
        raise InvalidInput(f"units must be a GeoDataFrame, not {type(units).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in units.columns]
    if missing or units.geometry.name not in units.columns:
        missing = missing or ["geometry"]
        raise InvalidInput(
            f"units lack column(s) {', '.join(missing)}", details={"missing_columns": missing}
        )
    check_crs(units.crs)

    raw_codes = units["code"].tolist()
    bad = [i for i, c in enumerate(raw_codes) if not isinstance(c, str) or not c]
    if bad:
        raise InvalidInput(
            _rows_message("have a missing or non-string code, at rows", bad),
            details={"rows": bad},
        )
    codes = np.asarray(raw_codes, dtype=object)
    counts = pd.Series(raw_codes).value_counts()
    dups = sorted(counts.index[counts > 1].tolist())
    if dups:
        raise InvalidInput(
            _rows_message("share a code, codes", dups), details={"duplicate_codes": dups}
        )

    parents: list[str | None] = []
    for code, parent in zip(raw_codes, units["parent_code"].tolist(), strict=True):
        if _is_null(parent) or parent == "":
            parents.append(None)
        elif not isinstance(parent, str):
            raise InvalidInput(f"unit {code} has a non-string parent_code {parent!r}")
        else:
            parents.append(parent)

    levels = np.asarray(units["level"].tolist(), dtype=object)
    bad_codes = [c for c, lv in zip(raw_codes, levels, strict=True) if lv not in LEVELS]
    if bad_codes:
        raise InvalidInput(
            _rows_message(f"have a level outside {', '.join(LEVELS)}; codes", bad_codes),
            details={"codes": bad_codes},
        )
    kinds = np.asarray(units["kind"].tolist(), dtype=object)
    bad_codes = [c for c, k in zip(raw_codes, kinds, strict=True) if k not in KINDS]
    if bad_codes:
        raise InvalidInput(
            _rows_message(f"have a kind outside {', '.join(KINDS)}; codes", bad_codes),
            details={"codes": bad_codes},
        )
    names = np.asarray(
        ["" if _is_null(n) else str(n) for n in units["name"].tolist()], dtype=object
    )

    geoms = np.asarray(units.geometry.array, dtype=object)
    null = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    type_ids = shapely.get_type_id(geoms)
    polygonal = np.isin(type_ids, [3, 6])  # Polygon, MultiPolygon
    problems = (
        ("have no geometry", null),
        ("are not Polygon/MultiPolygon", ~null & ~polygonal),
    )
    for what, mask in problems:
        if mask.any():
            bad_codes = codes[mask].tolist()
            raise InvalidInput(_rows_message(f"{what}; codes", bad_codes), {"codes": bad_codes})
    # force_2d returns new geometry objects: the caller's geometries are never prepared.
    geoms = shapely.force_2d(geoms)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        bad_codes = codes[invalid].tolist()
        reasons = shapely.is_valid_reason(geoms[invalid]).tolist()
        raise InvalidInput(
            _rows_message("have an invalid geometry; codes", bad_codes)
            + f" ({bad_codes[0]}: {reasons[0]})",
            details={"codes": bad_codes, "reasons": reasons},
        )
    return UnitTable(
        codes=codes, parents=parents, levels=levels, kinds=kinds, names=names, geoms=geoms
    )
