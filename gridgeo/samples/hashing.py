"""Content hashes of tables and of the sample-city directory.

File bytes are not reproducible across machines (Parquet and GeoPackage
embed library versions and timestamps), so the sample city is compared by a
hash of its *content*: :func:`content_hash` feeds SHA-256 with a canonical
encoding of a (Geo)DataFrame that depends only on the values.

Canonical encoding
------------------
- The row count, the CRS of a GeoDataFrame (``EPSG:4490``), then the
  columns in sorted order of their names; rows in their given order (the
  generator's order is deterministic).
- Each column is tagged by the kind of its values, not its dtype name (which
  differs between pandas versions): ``g`` geometry, ``f`` float, ``i``
  integer, ``b`` boolean, ``t`` datetime, ``d`` timedelta, ``s`` anything else.
- Geometries: :func:`shapely.normalize`, then little-endian 2D WKB
  (missing geometries as an empty marker).
- Floats: the exact IEEE-754 float64 bytes (little-endian), every NaN as one
  bit pattern. Integers and booleans: int64 bytes; nullable integer and
  boolean columns with missing values are encoded as strings.
- Datetimes: nanoseconds since the epoch in UTC (naive values read as UTC),
  NaT as the minimum int64; timedeltas as nanoseconds.
- Everything else: the distinct values in order of first appearance, each
  value's ``str`` in UTF-8 with a length prefix, then each row's position in
  that list (-1 for missing values: None, NaN, NA).

JSON files are hashed from their canonical dump (sorted keys, no spaces).

Examples
--------
>>> import pandas as pd
>>> a = pd.DataFrame({"x": [1, 2], "y": ["a", None]})
>>> content_hash(a) == content_hash(a[["y", "x"]])
True
>>> content_hash(a) == content_hash(a.assign(x=[1, 3]))
False
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from gridgeo.errors import InvalidInput

_MISSING = b"\xff\xfe"
_NAN = np.frombuffer(np.float64(np.nan).tobytes(), dtype=np.uint64)[0]


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the canonical content of a DataFrame or GeoDataFrame.

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame

    Returns
    -------
    str
        ``"sha256:"`` + 64 hex digits.

    Raises
    ------
    InvalidInput
        Not a DataFrame, or duplicate column names.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"content_hash needs a DataFrame, got {type(frame).__name__}")
    if frame.columns.duplicated().any():
        raise InvalidInput("content_hash needs unique column names")
    digest = hashlib.sha256()
    digest.update(f"rows={len(frame)};".encode())
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None:
        digest.update(f"crs={frame.crs.to_string()};".encode())
    for name in sorted(frame.columns, key=str):
        tag, payload = _encode_column(frame[name])
        digest.update(_framed(str(name).encode("utf-8")))
        digest.update(tag.encode())
        digest.update(hashlib.sha256(payload).digest())
    return "sha256:" + digest.hexdigest()


def json_hash(obj: Any) -> str:
    """SHA-256 of the canonical JSON dump of ``obj`` (sorted keys, compact).

    Examples
    --------
    >>> json_hash({"b": 1, "a": [1.5]}) == json_hash({"a": [1.5], "b": 1})
    True
    """
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_content_hash(path: Path) -> str:
    """Content hash of one sample-city file (``.parquet``, ``.csv``, ``.gpkg`` or ``.json``).

    Parquet files with GeoParquet metadata are read as GeoDataFrames; CSV
    files are read with every column as text, so the hash does not depend on
    type inference.

    Raises
    ------
    InvalidInput
        Unsupported file type.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        metadata = pq.read_schema(path).metadata or {}
        if b"geo" in metadata:
            return content_hash(gpd.read_parquet(path))
        return content_hash(pd.read_parquet(path))
    if suffix == ".csv":
        return content_hash(pd.read_csv(path, dtype=str, keep_default_na=False))
    if suffix == ".gpkg":
        return content_hash(gpd.read_file(path))
    if suffix == ".json":
        return json_hash(json.loads(path.read_text(encoding="utf-8")))
    raise InvalidInput(f"no content hash for {path.name}: unsupported file type {suffix!r}")


def directory_content_hashes(
    directory: Path, *, exclude: tuple[str, ...] = ("manifest.json",)
) -> dict[str, str]:
    """Content hashes of the data files directly inside ``directory``.

    Parameters
    ----------
    directory : pathlib.Path
    exclude : tuple of str
        File names to skip (the manifest that records the hashes).

    Returns
    -------
    dict
        ``{file name: hash}`` for every ``.parquet``, ``.csv``, ``.gpkg`` and
        ``.json`` file, sorted by name.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a directory")
    return {
        path.name: file_content_hash(path)
        for path in sorted(folder.iterdir())
        if path.is_file()
        and path.suffix.lower() in (".parquet", ".csv", ".gpkg", ".json")
        and path.name not in exclude
    }


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(8, "little") + data


def _encode_column(column: pd.Series) -> tuple[str, bytes]:
    if isinstance(column, gpd.GeoSeries) or isinstance(column.dtype, gpd.array.GeometryDtype):
        return "g", _encode_geometry(np.asarray(column.array, dtype=object))
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) and not column.isna().any():
        return "b", column.to_numpy(dtype=np.int64).astype("<i8").tobytes()
    if pd.api.types.is_integer_dtype(dtype) and not column.isna().any():
        return "i", column.to_numpy(dtype=np.int64).astype("<i8").tobytes()
    if pd.api.types.is_float_dtype(dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan).astype("<f8")
        bits = values.view("<u8").copy()
        bits[np.isnan(values)] = _NAN
        return "f", bits.tobytes()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.to_datetime(column, utc=True).dt.as_unit("ns")
        return "t", stamps.to_numpy(dtype="datetime64[ns]").view("<i8").tobytes()
    if pd.api.types.is_timedelta64_dtype(dtype):
        deltas = column.dt.as_unit("ns")
        return "d", deltas.to_numpy(dtype="timedelta64[ns]").view("<i8").tobytes()
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts): encode value by value
        return "s", b"".join(_encode_value(v) for v in column.tolist())
    # Factorisation numbers values by first appearance, so equal content gives
    # equal codes and uniques whatever the dtype (object, str, category).
    table = b"".join(_encode_value(v) for v in list(uniques))
    return "s", _framed(table) + codes.astype("<i8").tobytes()


def _encode_value(value: Any) -> bytes:
    if value is None or (not isinstance(value, str | bytes) and _is_missing(value)):
        return _MISSING
    return _framed(str(value).encode("utf-8"))


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _encode_geometry(geoms: np.ndarray) -> bytes:
    present = ~shapely.is_missing(geoms)
    wkb = np.full(len(geoms), None, dtype=object)
    if present.any():
        normal = shapely.normalize(geoms[present])
        wkb[present] = shapely.to_wkb(normal, output_dimension=2, byte_order=1, include_srid=False)
    return b"".join(_MISSING if w is None else _framed(w) for w in wkb)
