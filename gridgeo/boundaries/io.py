"""Read boundary files into the units table (EPSG:4490, MultiPolygons).

Formats (by extension, else by content):

==========================  ==============================================
``.geojson`` / ``.json``    GeoJSON (RFC 7946, or with a legacy ``crs`` member)
``.gpkg``                   GeoPackage (``layer=`` when it has several
                            polygon layers)
``.zip``                    zipped Shapefile, possibly in a sub-folder
                            (``layer=`` names the ``.shp`` when there are
                            several); a GeoPackage or GeoJSON inside a zip
                            is read too
``.shp``                    Shapefile next to its ``.dbf``/``.shx``/``.prj``
``.parquet``/``.geoparquet``  GeoParquet (``geopandas.read_parquet``)
==========================  ==============================================

Shapefile attribute encoding: ``encoding=`` wins; else the ``.cpg`` (read by
GDAL); without a ``.cpg`` UTF-8 is tried, then GBK (the usual encoding of
Chinese desktop GIS exports). A ``.cpg`` that says UTF-8 over GBK bytes
falls back to GBK too. The encoding used is recorded (see below).

Coordinate systems:

* The file's own CRS is used and the geometries reprojected to EPSG:4490
  (any CRS PROJ knows, e.g. the CGCS2000 3-degree Gauss–Krüger zones
  EPSG:4513–4554).
* ``crs=`` declares the CRS when the file has none or a wrong one (it wins
  over the file's, with a note). ``"gcj02"`` and ``"bd09"`` declare
  longitude/latitude in those offset systems; they are converted with
  :func:`gridgeo.crs.transform_geometries` (vertices move, edges stay
  straight: millimetre-accurate for edges up to a few km).
* A file without CRS and without ``crs=`` is rejected with
  :class:`~gridgeo.errors.CRSMismatch`, even if its coordinates look like
  lon/lat in China: such files are as often GCJ-02 (exported from Amap-based
  tools) as CGCS2000, and guessing wrong shifts everything by hundreds of
  metres without any error.
* Coordinates that contradict the CRS (metres in a lon/lat CRS, degrees in a
  projected CRS, or values a projected CRS cannot invert, such as a missing
  or extra Gauss–Krüger zone prefix) raise CRSMismatch with a hint.

GeoJSON files always have a CRS for GDAL: without a ``crs`` member they are
WGS84 lon/lat by RFC 7946. So a GeoJSON in metres without a ``crs`` member
needs ``crs="EPSG:…"``; one in GCJ-02 needs ``crs="gcj02"``.

The result's ``attrs["import"]`` records what was done: ``format``,
``layer``, ``encoding`` (shapefiles), ``source_crs``, ``declared_crs``,
``columns`` (target → source column) and ``notes`` (human-readable lines,
e.g. "no .cpg: attributes read as GBK").

Limits on file size are the caller's job.
"""

from __future__ import annotations

import codecs
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Final

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import shapely

from gridgeo import STORAGE_EPSG
from gridgeo.boundaries.mapping import find_columns, map_attributes
from gridgeo.boundaries.validate import polygon_parts
from gridgeo.crs import normalize_crs_name, transform_geometries
from gridgeo.errors import CRSMismatch, InvalidInput, PayloadTooLarge
from gridgeo.tempdirs import temp_dir
from gridgeo.text import check_frame_text, excerpt

__all__ = ["FORMATS", "read_boundaries", "to_multipolygons"]

FORMATS: Final = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "zip",
    ".shp": "shapefile",
    ".parquet": "geoparquet",
    ".geoparquet": "geoparquet",
}
"""File extension → format name."""

ZIP_MAX_MEMBERS: Final = 1000
"""Most members in an uploaded zip."""
ZIP_MAX_BYTES: Final = 1 << 30
"""Most decompressed bytes of the members read from a zip (each and in total)."""
ZIP_MAX_RATIO: Final = 500
"""Highest compression ratio of a member larger than :data:`ZIP_RATIO_FLOOR`."""
ZIP_RATIO_FLOOR: Final = 1 << 20

_POLYGON_TYPES: Final = {"Polygon", "MultiPolygon", "Polygon Z", "MultiPolygon Z"}
_FALLBACK_ENCODINGS: Final = ("UTF-8", "GBK")
_CHINA_BOX: Final = (73.0, 3.0, 136.0, 54.0)

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


def read_boundaries(
    path_or_bytes: Source,
    *,
    filename: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary file into the units table.

    Parameters
    ----------
    path_or_bytes : path, bytes or binary file object
        The file. For bytes, ``filename`` (or the content) tells the format.
    filename : str, optional
        Original file name, used for the format and in messages.
    crs : str, optional
        Declared CRS: ``"gcj02"``, ``"bd09"``, ``"wgs84"``, ``"cgcs2000"`` or
        anything PROJ accepts (``"EPSG:4549"``). Needed when the file has no
        CRS; wins over the file's CRS.
    layer : str, optional
        Layer of a GeoPackage, or the ``.shp`` inside a zip with several.
    encoding : str, optional
        Attribute encoding of a shapefile (overrides ``.cpg`` and detection).
    mapping : dict, optional
        ``{target: source column}``, e.g. ``{"code": "WGBM", "name": "WGMC"}``;
        unmapped targets are detected from common names (see
        :mod:`gridgeo.boundaries.mapping`).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`~gridgeo.boundaries.mapping.UNIT_COLUMNS` and
        ``geometry`` (MultiPolygon), CRS EPSG:4490, index 0..n-1, and
        ``attrs["import"]`` describing what was done. Geometries are not
        repaired: run :func:`~gridgeo.boundaries.validate_units`.

    Raises
    ------
    InvalidInput
        Unreadable or empty file, unsupported format, non-polygon or missing
        geometries, no code column, bad attribute values.
    CRSMismatch
        No CRS and none declared, unknown CRS name, coordinates that
        contradict the CRS.

    Examples
    --------
    >>> import json
    >>> fc = {"type": "FeatureCollection", "features": [{"type": "Feature",
    ...     "properties": {"网格编码": "330109001001001", "户数": 350},
    ...     "geometry": {"type": "Polygon", "coordinates":
    ...         [[[120.26, 30.18], [120.27, 30.18], [120.27, 30.19], [120.26, 30.18]]]}}]}
    >>> units = read_boundaries(json.dumps(fc).encode(), filename="grids.geojson")
    >>> units.loc[0, ["code", "level", "parent_code"]].tolist()
    ['330109001001001', 'grid', '330109001001']
    >>> units.crs.to_epsg(), units.geom_type[0]
    (4490, 'MultiPolygon')
    """
    if encoding is not None:
        _check_encoding(encoding)
    if isinstance(path_or_bytes, bytes | bytearray | memoryview) or hasattr(path_or_bytes, "read"):
        data = _read_bytes(path_or_bytes)
        name = filename or "upload"
        fmt = _format_of(name, data[:16])
        if fmt == "shapefile":
            raise InvalidInput(
                f"{name}: a shapefile is several files; upload them zipped "
                "(.shp with its .dbf, .shx, .prj and .cpg)"
            )
        with temp_dir("import") as tmp:
            suffix = next(ext for ext, f in FORMATS.items() if f == fmt)
            path = tmp / f"upload{suffix}"
            path.write_bytes(data)
            return _read_path(path, fmt, name, crs, layer, encoding, mapping)
    path = Path(os.fspath(path_or_bytes))
    name = filename or path.name
    if not path.is_file():
        raise InvalidInput(f"{name}: file not found")
    with path.open("rb") as fh:
        head = fh.read(16)
    fmt = _format_of(filename or path.name, head)
    return _read_path(path, fmt, name, crs, layer, encoding, mapping)


def _check_encoding(encoding: str) -> None:
    if not _known_codec(encoding):
        raise InvalidInput(
            f"encoding: unknown encoding {excerpt(encoding, 40)}; use e.g. UTF-8, GBK or GB18030",
            details={"field": "encoding"},
        )


def _known_codec(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except (LookupError, ValueError, TypeError):
        return False
    return True


def _check_finite(geoms: np.ndarray, name: str, codes: list[Any]) -> None:
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = np.unique(owner[~np.isfinite(coords).all(axis=1)])
    if bad.size:
        shown = ", ".join(
            f"row {int(i)}" + (f" (code {codes[int(i)]})" if codes[int(i)] else "") for i in bad[:5]
        )
        raise InvalidInput(
            f"{name}: {bad.size} feature(s) have coordinates that are not finite "
            f"(NaN or infinity): {shown}",
            details={"rows": bad.tolist()[:1000]},
        )


def _read_bytes(obj: Any) -> bytes:
    if hasattr(obj, "read"):
        data = obj.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return bytes(data)
    return bytes(obj)


def _format_of(name: str, head: bytes) -> str:
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"SQLite format 3"):
        return "gpkg"
    if head.startswith(b"PAR1"):
        return "geoparquet"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "geojson"
    if not head:
        raise InvalidInput(f"{name}: the file is empty")
    raise InvalidInput(
        f"{name}: unsupported file type {suffix or '(no extension)'}; use GeoJSON, "
        "GeoPackage (.gpkg), a zipped Shapefile (.zip) or GeoParquet (.parquet)"
    )


def _read_path(
    path: Path,
    fmt: str,
    name: str,
    crs: str | None,
    layer: str | None,
    encoding: str | None,
    mapping: Mapping[str, str] | None,
) -> gpd.GeoDataFrame:
    info: dict[str, Any] = {"format": fmt, "filename": name, "layer": None, "encoding": None}
    notes: list[str] = []
    if fmt == "geoparquet":
        raw = _read_parquet(path, name)
    elif fmt == "zip":
        raw = _read_zip(path, name, layer, encoding, info, notes)
    elif fmt == "shapefile":
        parts = _shapefile_parts(path)
        cpg_text = (
            parts[".cpg"]().decode("ascii", errors="replace").strip() if ".cpg" in parts else None
        )
        raw = _read_shapefile(str(path), name, parts, cpg_text, encoding, info, notes)
    else:
        raw = _read_ogr(str(path), name, layer, encoding, info)
    if len(raw) == 0:
        raise InvalidInput(f"{name}: no features")
    columns = [c for c in raw.columns if c != raw.geometry.name]
    units, mapping_notes = map_attributes(raw, mapping)
    info["columns"] = dict(units.attrs.get("columns") or find_columns(columns, mapping)[0])
    info["unused_columns"] = list(units.attrs.get("unused_columns", []))
    notes.extend(mapping_notes)
    if info["unused_columns"]:
        notes.append("columns not used: " + ", ".join(info["unused_columns"]))
    check_frame_text(units.drop(columns=units.geometry.name), name)
    geoms = to_multipolygons(units.geometry.values, name, units["code"].tolist())
    _check_finite(geoms, name, units["code"].tolist())
    geoms, crs_info = _to_storage_crs(geoms, raw.crs, crs, name, notes)
    info.update(crs_info)
    info["notes"] = notes
    out = gpd.GeoDataFrame(
        units.drop(columns=units.geometry.name).reset_index(drop=True),
        geometry=gpd.GeoSeries(geoms, crs=STORAGE_EPSG).values,
        crs=STORAGE_EPSG,
    )
    out.attrs["import"] = info
    return out


# --------------------------------------------------------------------------- readers


def _ogr_error(name: str, exc: Exception, *paths: str) -> InvalidInput:
    text = str(exc)
    for p in paths:
        text = text.replace(p, name)
    text = re.sub(r"\S*gridgeo-(?:import|shp)-[^/\s:']+/\w+\.\w+", name, text)
    text = text.split("; It might help to specify the correct driver")[0]
    return InvalidInput(f"{name}: cannot read the file ({text.strip() or type(exc).__name__})")


def _read_parquet(path: Path, name: str) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(path)
    except ValueError as exc:
        if "missing geo metadata" in str(exc).lower():
            raise InvalidInput(
                f"{name}: not a GeoParquet file (no 'geo' metadata naming a geometry column)"
            ) from None
        raise _ogr_error(name, exc, str(path)) from None
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise _ogr_error(name, exc, str(path)) from None


def _read_ogr(
    target: str, name: str, layer: str | None, encoding: str | None, info: dict[str, Any]
) -> gpd.GeoDataFrame:
    try:
        layers = pyogrio.list_layers(target)
    except Exception as exc:
        raise _ogr_error(name, exc, target) from None
    all_names = [str(n) for n, _ in layers]
    if layer is not None:
        if layer not in all_names:
            raise InvalidInput(
                f"{name}: no layer {layer!r} (layers: {', '.join(all_names) or 'none'})"
            )
    elif len(layers) > 1:
        polygon = [str(n) for n, g in layers if g is not None and str(g) in _POLYGON_TYPES]
        if len(polygon) != 1:
            raise InvalidInput(
                f"{name}: has {len(layers)} layers ({', '.join(all_names)}); pass layer=",
                details={"layers": all_names},
            )
        layer = polygon[0]
    elif layers.size:
        layer = all_names[0]
    info["layer"] = layer
    kwargs: dict[str, Any] = {"layer": layer}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return pyogrio.read_dataframe(target, **kwargs)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{name}: attributes are not valid {exc.encoding}; pass encoding="
        ) from None
    except Exception as exc:
        raise _ogr_error(name, exc, target) from None


def _codec(label: str) -> str:
    text = label.strip().upper().replace("ANSI ", "").replace("CP", "")
    if text in {"936", "GBK", "GB2312", "EUC-CN"}:
        return "GBK"
    if text in {"UTF-8", "UTF8", "65001"}:
        return "UTF-8"
    if text in {"54936", "GB18030"}:
        return "GB18030"
    return label.strip()


Loader = Callable[[], bytes]


def _shapefile_parts(shp: Path) -> dict[str, Loader]:
    """Sibling files of a .shp on disk, by lower-case extension."""
    parts: dict[str, Loader] = {}
    for sibling in shp.parent.iterdir():
        if sibling.is_file() and sibling.stem == shp.stem:
            parts[sibling.suffix.lower()] = sibling.read_bytes
    return parts


def _patch_field_names(dbf: bytes, encoding: str) -> bytes | None:
    """Repair DBF field names cut mid-character by the 10-byte limit.

    Desktop GIS tools truncate field names to 10 bytes, which can split a
    multi-byte character (``网格编码`` in UTF-8 becomes ``网格编`` plus one
    stray byte). Returns the DBF with such trailing fragments zeroed, or
    None when every name decodes.
    """
    if len(dbf) < 32:
        return None
    header_len = int.from_bytes(dbf[8:10], "little")
    out = bytearray(dbf)
    changed = False
    for start in range(32, min(header_len, len(dbf)) - 31, 32):
        if dbf[start] == 0x0D:
            break
        raw = dbf[start : start + 11].split(b"\x00", 1)[0]
        try:
            raw.decode(encoding)
            continue
        except (UnicodeDecodeError, LookupError):
            pass
        for cut in (1, 2, 3):
            try:
                raw[:-cut].decode(encoding)
            except UnicodeDecodeError:
                continue
            if cut >= len(raw):
                break
            out[start + len(raw) - cut : start + 11] = bytes(11 - len(raw) + cut)
            changed = True
            break
    return bytes(out) if changed else None


def _read_shapefile(
    target: str,
    name: str,
    parts: dict[str, Loader],
    cpg: str | None,
    encoding: str | None,
    info: dict[str, Any],
    notes: list[str],
) -> gpd.GeoDataFrame:
    if encoding:
        candidates = [encoding]
    elif cpg:
        first = _codec(cpg)
        candidates = [first] + [e for e in _FALLBACK_ENCODINGS if e != first]
    else:
        candidates = list(_FALLBACK_ENCODINGS)
    known = [e for e in candidates if _known_codec(e)]
    if cpg and not encoding and known != candidates:
        notes.append(f"the .cpg names an unknown encoding {excerpt(cpg, 40)}; ignored")
    candidates = known or list(_FALLBACK_ENCODINGS)
    dbf = parts[".dbf"]() if ".dbf" in parts else b""
    last: UnicodeDecodeError | None = None
    for enc in candidates:
        patched = _patch_field_names(dbf, enc)
        try:
            if patched is None:
                frame = _ogr_read_shapefile(target, enc)
            else:
                with temp_dir("shp") as tmp:
                    for ext, load in parts.items():
                        data = patched if ext == ".dbf" else load()
                        Path(tmp, "layer" + ext).write_bytes(data)
                    frame = _ogr_read_shapefile(str(Path(tmp, "layer.shp")), enc)
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except Exception as exc:
            raise _ogr_error(name, exc, target) from None
        info["encoding"] = enc
        if encoding:
            notes.append(f"attributes read as {enc} (as requested)")
        elif cpg and enc == candidates[0]:
            notes.append(f"attributes read as {enc} (from the .cpg file)")
        elif cpg:
            notes.append(f"the .cpg says {cpg} but the attributes are not; read as {enc}")
        else:
            notes.append(f"no .cpg file: attributes read as {enc}")
        if patched is not None:
            notes.append("field names cut mid-character by the 10-byte limit were shortened")
        return frame
    raise InvalidInput(
        f"{name}: attributes cannot be decoded as {', '.join(candidates)}; pass encoding= ({last})"
    )


def _ogr_read_shapefile(target: str, encoding: str) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return pyogrio.read_dataframe(target, encoding=encoding)


def _check_zip(infos: list[zipfile.ZipInfo], name: str) -> None:
    """Refuse zip bombs from the central directory, before anything is extracted."""
    if len(infos) > ZIP_MAX_MEMBERS:
        raise PayloadTooLarge(
            f"{name}: the zip holds {len(infos)} members; at most {ZIP_MAX_MEMBERS} are accepted"
        )
    for info in infos:
        if info.file_size > ZIP_MAX_BYTES:
            raise PayloadTooLarge(
                f"{name}: member {excerpt(info.filename, 60)} expands to {info.file_size} bytes; "
                f"at most {ZIP_MAX_BYTES} are accepted"
            )
        if info.file_size > ZIP_RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise PayloadTooLarge(
                f"{name}: member {excerpt(info.filename, 60)} is compressed "
                f"{info.file_size // max(info.compress_size, 1)}:1; at most {ZIP_MAX_RATIO}:1 "
                "is accepted (zip bomb?)"
            )


class _Extractor:
    """Extract zip members to a directory, counting the bytes actually written."""

    def __init__(self, zf: zipfile.ZipFile, directory: Path, name: str) -> None:
        self.zf, self.directory, self.name, self.total = zf, directory, name, 0

    def extract(self, member: str, target: str) -> Path:
        info = self.zf.getinfo(member)
        budget = min(ZIP_MAX_BYTES - self.total, info.file_size)
        path = self.directory / target
        written = 0
        with self.zf.open(info) as src, path.open("wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > budget:
                    raise PayloadTooLarge(
                        f"{self.name}: the zip expands to more than its header says or more "
                        f"than {ZIP_MAX_BYTES} bytes in total"
                    )
                dst.write(chunk)
        self.total += written
        return path


def _read_zip(
    path: Path,
    name: str,
    layer: str | None,
    encoding: str | None,
    info: dict[str, Any],
    notes: list[str],
) -> gpd.GeoDataFrame:
    try:
        with zipfile.ZipFile(path) as zf, temp_dir("zip") as tmp:
            _check_zip(zf.infolist(), name)
            extractor = _Extractor(zf, tmp, name)
            return _read_zip_members(zf, extractor, name, layer, encoding, info, notes)
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{name}: not a valid zip file ({excerpt(str(exc), 80)})") from None


def _read_zip_members(
    zf: zipfile.ZipFile,
    extractor: _Extractor,
    name: str,
    layer: str | None,
    encoding: str | None,
    info: dict[str, Any],
    notes: list[str],
) -> gpd.GeoDataFrame:
    members = [
        m
        for m in zf.namelist()
        if not m.endswith("/")
        and "__MACOSX/" not in m
        and not PurePosixPath(m).name.startswith(".")
    ]
    shps = [m for m in members if m.lower().endswith(".shp")]
    if layer is not None:
        wanted = [m for m in shps if m == layer or PurePosixPath(m).stem == layer]
        if not wanted:
            stems = ", ".join(PurePosixPath(m).stem for m in shps) or "none"
            raise InvalidInput(f"{name}: no shapefile {excerpt(layer, 60)} in the zip ({stems})")
        shps = wanted[:1]
    if not shps:
        inner = [
            m
            for m in members
            if FORMATS.get(PurePosixPath(m).suffix.lower()) in ("gpkg", "geojson")
        ]
        if len(inner) == 1:
            suffix = PurePosixPath(inner[0]).suffix.lower()
            info["format"] = "zip/" + FORMATS[suffix]
            local = extractor.extract(inner[0], "inner" + suffix)
            return _read_ogr(str(local), name, None, encoding, info)
        raise InvalidInput(
            f"{name}: the zip holds no shapefile (.shp with .dbf and .shx)"
            + (f"; found {excerpt(', '.join(members[:10]), 200)}" if members else "; it is empty")
        )
    if len(shps) > 1:
        layer_names = [PurePosixPath(m).stem for m in shps]
        raise InvalidInput(
            f"{name}: the zip holds {len(shps)} shapefiles "
            f"({excerpt(', '.join(layer_names), 200)}); pass layer=",
            details={"layers": layer_names},
        )
    shp = shps[0]
    stem = shp[: -len(".shp")]
    siblings = {m[len(stem) :].lower(): m for m in members if m.startswith(stem + ".")}
    missing = [ext for ext in (".dbf", ".shx") if ext not in siblings]
    if missing:
        raise InvalidInput(
            f"{name}: {PurePosixPath(shp).name} lacks its {' and '.join(missing)} file in the zip"
        )
    info["layer"] = PurePosixPath(shp).stem
    # Extract the shapefile's parts under plain names (bounded, streamed to disk):
    # non-ASCII member names are decoded differently by zipfile and GDAL.
    for ext, member in siblings.items():
        if re.fullmatch(r"\.[a-z0-9.]{1,10}", ext):
            extractor.extract(member, "layer" + ext)
    local = extractor.directory / "layer.shp"
    parts = _shapefile_parts(local)
    cpg = parts[".cpg"]().decode("ascii", errors="replace").strip() if ".cpg" in parts else None
    return _read_shapefile(str(local), name, parts, cpg, encoding, info, notes)


# --------------------------------------------------------------------------- geometry


def to_multipolygons(
    geoms: np.ndarray | gpd.array.GeometryArray,
    name: str = "input",
    codes: list[Any] | None = None,
) -> np.ndarray:
    """2-D MultiPolygons from polygonal geometries (invalid ones kept as they are).

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Polygons, MultiPolygons, or collections of polygons.
    name : str
        File name for messages.
    codes : list, optional
        Codes of the rows, for messages.

    Returns
    -------
    numpy.ndarray
        MultiPolygons (new objects).

    Raises
    ------
    InvalidInput
        Missing or empty geometries, or non-polygonal ones.

    Examples
    --------
    >>> from shapely import box
    >>> to_multipolygons([box(0, 0, 1, 1)])[0].geom_type
    'MultiPolygon'
    """
    arr = shapely.force_2d(np.asarray(geoms, dtype=object))
    n = len(arr)

    def label(i: int) -> str:
        code = codes[i] if codes is not None and i < len(codes) else None
        return f"row {i}" + (f" (code {code})" if code else "")

    missing = np.flatnonzero(shapely.is_missing(arr) | shapely.is_empty(arr))
    if missing.size:
        shown = ", ".join(label(int(i)) for i in missing[:5])
        raise InvalidInput(
            f"{name}: {missing.size} feature(s) without geometry: {shown}",
            details={"rows": missing.tolist()},
        )
    parts, owner = shapely.get_parts(arr, return_index=True)
    # Collections may hold multi-geometries: flatten once more.
    nested = np.isin(shapely.get_type_id(parts), [4, 5, 6, 7])
    if nested.any():
        sub, sub_owner = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        owner = np.concatenate([owner[~nested], owner[nested][sub_owner]])
    types = shapely.get_type_id(parts)
    bad = np.unique(owner[types != 3])
    if bad.size:
        geom_types = sorted({arr[i].geom_type for i in bad})
        shown = ", ".join(label(int(i)) for i in bad[:5])
        raise InvalidInput(
            f"{name}: boundaries must be polygons; {bad.size} feature(s) are "
            f"{'/'.join(geom_types)}: {shown}",
            details={"rows": bad.tolist()},
        )
    keep = ~shapely.is_empty(parts)
    order = np.argsort(owner[keep], kind="stable")
    out = np.full(n, None, dtype=object)
    shapely.multipolygons(parts[keep][order], indices=owner[keep][order], out=out)
    return out


# --------------------------------------------------------------------------- CRS


def _degree_like(bounds: np.ndarray) -> bool:
    xmin, ymin, xmax, ymax = bounds
    return bool(max(abs(xmin), abs(xmax)) <= 180 and max(abs(ymin), abs(ymax)) <= 90)


def _gk_hint(bounds: np.ndarray) -> str:
    x = float((bounds[0] + bounds[2]) / 2)
    if 25e6 <= x < 46e6:
        zone = int(x // 1e6)
        return (
            f"; x values carry Gauss–Krüger zone prefix {zone}: "
            f"try crs='EPSG:{4513 + zone - 25}' (CGCS2000 3-degree zone {zone})"
        )
    if 0 < x < 1e6:
        return (
            "; x values look like Gauss–Krüger eastings without zone prefix: try the "
            "CGCS2000 3-degree 'CM' CRS of the central meridian, EPSG:4534–4554 "
            "(e.g. EPSG:4549 for 120°E)"
        )
    return ""


def _declared(crs: str) -> tuple[str | None, pyproj.CRS]:
    """(offset system name or None, CRS of the declared coordinates)."""
    try:
        canonical = normalize_crs_name(crs)
    except CRSMismatch:
        canonical = None
    if canonical in ("gcj02", "bd09"):
        return canonical, pyproj.CRS.from_epsg(STORAGE_EPSG)
    if canonical == "wgs84":
        return None, pyproj.CRS.from_epsg(4326)
    if canonical == "cgcs2000":
        return None, pyproj.CRS.from_epsg(STORAGE_EPSG)
    try:
        return None, pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CRSMismatch(
            f"unknown CRS {crs!r}; use wgs84, cgcs2000, gcj02, bd09 or an EPSG code "
            "such as EPSG:4549"
        ) from None


def _restore_validity(
    before: np.ndarray, after: np.ndarray, label: str, notes: list[str], info: dict[str, Any]
) -> np.ndarray:
    """Polygons valid in the file's CRS that the conversion made invalid are made valid again.

    A reprojection moves vertices by different amounts, so a very thin part
    (or a vertex a fraction of a millimetre from an edge) can cross itself in
    EPSG:4490 although the drawing was valid. Only those polygons are repaired
    (``make_valid(method="structure")``); invalid input stays as it is, for
    validation to report.
    """
    if before is after or not len(after):
        return after
    broken = np.asarray(shapely.is_valid(before) & ~shapely.is_valid(after), dtype=bool)
    if not broken.any():
        return after
    out = after.copy()
    fixed = shapely.make_valid(after[broken], method="structure", keep_collapsed=False)
    parts, owner = polygon_parts(fixed)
    rebuilt = np.array([shapely.MultiPolygon() for _ in range(len(fixed))], dtype=object)
    if len(parts):
        order = np.argsort(owner, kind="stable")
        shapely.multipolygons(parts[order], indices=owner[order], out=rebuilt)
    out[broken] = rebuilt
    count = int(broken.sum())
    notes.append(
        f"{count} polygon(s) valid in {label} became invalid in the conversion to EPSG:4490 "
        "(sub-millimetre self-intersections) and were made valid again"
    )
    info["made_valid_after_conversion"] = np.flatnonzero(broken).tolist()
    return out


def _to_storage_crs(
    geoms: np.ndarray,
    file_crs: pyproj.CRS | None,
    crs: str | None,
    name: str,
    notes: list[str],
) -> tuple[np.ndarray, dict[str, Any]]:
    info: dict[str, Any] = {
        "source_crs": file_crs.to_string() if file_crs is not None else None,
        "declared_crs": crs,
    }
    bounds = shapely.total_bounds(geoms)
    offset: str | None = None
    if crs is not None:
        offset, effective = _declared(crs)
        if offset is not None and file_crs is not None and file_crs.is_projected:
            raise CRSMismatch(
                f"{name}: the file is in projected {file_crs.to_string()} but crs={crs!r} "
                "declares longitude/latitude; drop crs= or export the file in lon/lat"
            )
        if (
            file_crs is not None
            and offset is None
            and not file_crs.equals(effective, ignore_axis_order=True)
        ):
            notes.append(
                f"the file says {file_crs.to_string()}; using the declared {crs} as requested"
            )
        if offset is not None:
            notes.append(f"coordinates declared {offset}: converted to CGCS2000")
    elif file_crs is None:
        hint = (
            "coordinates look like longitude/latitude: pass crs='cgcs2000' (or 'wgs84'), "
            "or crs='gcj02' / 'bd09' for Amap/Tencent or Baidu coordinates"
            if _degree_like(bounds)
            else "coordinates are in metres: pass the projected CRS, e.g. crs='EPSG:4549'"
            + _gk_hint(bounds)
        )
        raise CRSMismatch(f"{name} has no CRS; pass crs=… ({hint})")
    else:
        effective = file_crs
    label = crs if crs is not None else effective.to_string()
    if effective.is_geographic:
        if not _degree_like(bounds):
            raise CRSMismatch(
                f"{name}: coordinates reach ({bounds[2]:.0f}, {bounds[3]:.0f}), which are not "
                f"degrees, but the CRS is {label} (longitude/latitude); pass the projected "
                "CRS with crs=…" + _gk_hint(bounds)
            )
        if offset is not None:
            out = np.asarray(transform_geometries(geoms, offset, "cgcs2000"), dtype=object)
        elif effective.to_epsg() in (STORAGE_EPSG, 4326):
            out = geoms.copy()
        else:
            out = np.asarray(
                gpd.GeoSeries(geoms, crs=effective).to_crs(STORAGE_EPSG).values, dtype=object
            )
    else:
        if _degree_like(bounds):
            raise CRSMismatch(
                f"{name}: coordinates look like longitude/latitude degrees but the CRS is "
                f"projected {label}; pass crs='cgcs2000' (or gcj02/bd09)"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.asarray(
                gpd.GeoSeries(geoms, crs=effective).to_crs(STORAGE_EPSG).values, dtype=object
            )
        new_bounds = shapely.total_bounds(out)
        if not (np.all(np.isfinite(new_bounds)) and _degree_like(new_bounds)):
            raise CRSMismatch(
                f"{name}: coordinates do not fit {label} (they cannot be converted to "
                "longitude/latitude)" + _gk_hint(bounds)
            )
        area = effective.area_of_use
        if area is not None:
            cx = (new_bounds[0] + new_bounds[2]) / 2
            cy = (new_bounds[1] + new_bounds[3]) / 2
            w, s, e, n = area.bounds
            if not (w - 1 <= cx <= e + 1 and s - 1 <= cy <= n + 1):
                notes.append(
                    f"the data lie at ({cx:.3f}, {cy:.3f}), outside the area of use of "
                    f"{label} ({area.name}); check the CRS"
                )
    out = _restore_validity(geoms, out, label, notes, info)
    final = shapely.total_bounds(out)
    x0, y0, x1, y1 = _CHINA_BOX
    if final[2] < x0 or final[0] > x1 or final[3] < y0 or final[1] > y1:
        notes.append("the data lie outside China; check the CRS")
    return out, info
