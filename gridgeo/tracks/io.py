"""Read GPS fix files (CSV, GPX, GeoJSON, Parquet) into a normalised fixes table.

:func:`read_fixes` returns the columns :data:`FIX_COLUMNS`:

==============  ==============================================================
``worker_id``   str; from the file, else the ``worker_id`` argument
``t``           ``datetime64[ns, UTC]``; NaT where the value is missing or
                unparseable
``lon, lat``    float64 in the device CRS; NaN where missing or not a number
``crs``         the canonical CRS name (:func:`gridgeo.crs.normalize_crs_name`)
                where known, the given text where not
``accuracy_m``  float64 68 % error radius in metres, NaN where unknown
==============  ==============================================================

Optional phone fields (:data:`OPTIONAL_COLUMNS`), in any format (GPX: child
or extension elements of the point; aliases in parentheses): ``speed_mps``
(``speed``), ``bearing_deg`` (``bearing``, ``course``, ``heading``),
``altitude_m`` (``altitude``, ``ele``), ``provider`` (``gps``, ``network``,
``fused``; lower-cased text), ``is_mock`` (``mock``, ``mock_location``: a
nullable boolean from true/false/1/0/yes/no) and ``satellites`` (``sats``,
``sat``). They are added only when the file has them — an absent field stays
absent, and never causes a flag on its own; a bad value becomes NaN/NA.
Other columns of a CSV or Parquet file (for example the app's ``patrol_id``)
are kept. Reading is lenient on purpose: bad values become NaT/NaN and the row
stays, so that :func:`gridgeo.tracks.validate.validate_fixes` can report
every bad row with its reason instead of one parse error for the whole file.
The index is a ``RangeIndex``: row ``i`` is the ``i``-th data row (0-based,
header excluded; for GPX the ``i``-th track point of the file).

Formats
-------
CSV
    Header with ``worker_id``, ``t`` (or ``time``/``timestamp``), ``lon`` (or
    ``lng``/``longitude``/``x``), ``lat`` (or ``latitude``/``y``), and
    optionally ``crs`` and ``accuracy_m`` (or ``accuracy``). UTF-8 (a BOM is
    accepted).
GPX
    1.0 or 1.1 track points (``trk/trkseg/trkpt``, or route points when there
    is no track), WGS84 by definition. ``<time>`` is ISO 8601; an
    ``accuracy`` / ``accuracy_m`` element anywhere under the point (apps put
    it in ``<extensions>``) is read, otherwise accuracy is unknown. GPX has no
    worker: pass ``worker_id``.
GeoJSON
    A FeatureCollection of Point features with properties ``worker_id``,
    ``t`` (or ``time``), ``accuracy_m`` (or ``accuracy``) and optionally
    ``crs``; RFC 7946 makes coordinates WGS84. Non-point features become rows
    with NaN coordinates (reported by validation).
Parquet
    Like CSV; ``t`` may already be a datetime column.

Times
-----
ISO 8601 text with an offset or ``Z`` is converted to UTC; naive text is read
in ``naive_tz`` (default UTC). Numbers are Unix epoch seconds, or
milliseconds when above 1e11 (the year 5138 in seconds).

Examples
--------
>>> csv = b"worker_id,time,lng,lat,accuracy\\nW1,2026-10-01T08:00:00+08:00,120.27,30.17,5\\n"
>>> read_fixes(csv, filename="day.csv")[["worker_id", "t", "lon", "crs", "accuracy_m"]]
  worker_id                         t     lon    crs  accuracy_m
0        W1 2026-10-01 00:00:00+00:00  120.27  wgs84         5.0
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput
from gridgeo.text import check_frame_text
from gridgeo.tracks._geo import FIX_COLUMNS, canonical_crs

__all__ = ["FIX_COLUMNS", "FORMATS", "OPTIONAL_COLUMNS", "normalise_fixes", "read_fixes"]

FORMATS: Final[dict[str, str]] = {
    ".csv": "csv",
    ".txt": "csv",
    ".gpx": "gpx",
    ".geojson": "geojson",
    ".json": "geojson",
    ".parquet": "parquet",
}
"""File name suffix to format."""

_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "worker_id": ("worker_id", "worker", "workerid", "user_id"),
    "t": ("t", "time", "timestamp", "datetime"),
    "lon": ("lon", "lng", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "crs": ("crs", "coord_type", "coordtype"),
    "accuracy_m": ("accuracy_m", "accuracy", "acc"),
    "speed_mps": ("speed_mps", "speed"),
    "bearing_deg": ("bearing_deg", "bearing", "course", "heading"),
    "altitude_m": ("altitude_m", "altitude", "alt", "ele", "elevation"),
    "provider": ("provider", "location_provider"),
    "is_mock": ("is_mock", "mock", "ismock", "mock_location", "is_from_mock_provider"),
    "satellites": ("satellites", "sats", "sat", "num_satellites"),
}
OPTIONAL_COLUMNS: Final[tuple[str, ...]] = (
    "speed_mps",
    "bearing_deg",
    "altitude_m",
    "provider",
    "is_mock",
    "satellites",
)
"""Optional phone fields, kept (normalised) when the file has them, absent otherwise."""
_TRUE: Final = frozenset({"true", "1", "yes", "y", "t"})
_FALSE: Final = frozenset({"false", "0", "no", "n", "f"})
_EPOCH_MS_ABOVE: Final = 1e11


def read_fixes(
    path_or_bytes: str | Path | bytes | IO[bytes],
    *,
    filename: str | None = None,
    crs: str | None = None,
    worker_id: str | None = None,
    naive_tz: str = "UTC",
) -> pd.DataFrame:
    """Read a fix file into the normalised fixes table (module docstring).

    Parameters
    ----------
    path_or_bytes : str, Path, bytes or binary file object
        The file, or its content.
    filename : str, optional
        Name whose suffix picks the format (``.csv``, ``.gpx``, ``.geojson``,
        ``.json``, ``.parquet``); defaults to the path's name. Required for
        bytes and file objects.
    crs : str, optional
        Device CRS of rows that do not name one (any alias of
        :func:`gridgeo.crs.normalize_crs_name`); default ``wgs84``. GPX and
        GeoJSON are WGS84 by definition, but a wrong-labelled export can be
        corrected with this argument.
    worker_id : str, optional
        Worker of rows that do not name one; required for GPX.
    naive_tz : str, default "UTC"
        Time zone of times without an offset (for example ``Asia/Shanghai``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FIX_COLUMNS` first, then any extra columns.

    Raises
    ------
    InvalidInput
        Unknown format, unreadable or malformed file, missing required
        columns, or a GPX file without ``worker_id``.
    """
    name = filename
    if name is None and isinstance(path_or_bytes, str | Path):
        name = Path(path_or_bytes).name
    if not name:
        raise InvalidInput("filename is required to tell the format of the fix data")
    fmt = FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"unsupported fix file {name!r}: use one of {sorted(FORMATS)}",
            details={"filename": name},
        )
    data = _read_bytes(path_or_bytes)
    if fmt == "csv":
        frame = _read_csv(data, name)
    elif fmt == "parquet":
        frame = _read_parquet(data, name)
    elif fmt == "gpx":
        if worker_id is None:
            raise InvalidInput(f"{name}: GPX files carry no worker id; pass worker_id")
        frame = _read_gpx(data, name)
    else:
        frame = _read_geojson(data, name)
    check_frame_text(frame, name)
    return normalise_fixes(frame, crs=crs, worker_id=worker_id, naive_tz=naive_tz, source=name)


def normalise_fixes(
    frame: pd.DataFrame,
    *,
    crs: str | None = None,
    worker_id: str | None = None,
    naive_tz: str = "UTC",
    source: str = "fixes",
) -> pd.DataFrame:
    """Rename aliased columns and coerce types as :func:`read_fixes` does.

    For tables that arrive another way (a JSON request body, a database
    query). The input is not modified.

    Examples
    --------
    >>> raw = pd.DataFrame({"worker": ["W1"], "timestamp": [1790812800], "lng": ["120.27"],
    ...                     "lat": [30.17], "coord_type": ["GCJ-02"]})
    >>> row = normalise_fixes(raw).iloc[0]
    >>> str(row["t"]), row["lon"], row["crs"]
    ('2026-10-01 00:00:00+00:00', np.float64(120.27), 'gcj02')
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"{source}: fixes must be a DataFrame")
    lower = {str(c).strip().lower(): c for c in frame.columns}
    rename: dict[Any, str] = {}
    for target, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in lower and lower[alias] not in rename:
                rename[lower[alias]] = target
                break
    out = frame.rename(columns=rename)
    if out.columns.duplicated().any():
        dup = out.columns[out.columns.duplicated()].tolist()
        raise InvalidInput(f"{source}: columns {dup} are given twice (under aliases)")
    needed = ["t", "lon", "lat"] + ([] if worker_id is not None else ["worker_id"])
    missing = [c for c in needed if c not in out.columns]
    if missing:
        raise InvalidInput(
            f"{source}: missing columns {missing}; expected worker_id, t, lon, lat "
            "[, crs, accuracy_m]",
            details={"missing": missing},
        )
    n = len(out)
    result = pd.DataFrame(index=pd.RangeIndex(n))
    workers = _text(out["worker_id"] if "worker_id" in out.columns else None, n, worker_id)
    result["worker_id"] = pd.array(workers, dtype="str")
    result["t"] = _parse_times(out["t"].set_axis(result.index), naive_tz)
    for col in ("lon", "lat"):
        result[col] = pd.to_numeric(out[col].set_axis(result.index), errors="coerce").astype(
            np.float64
        )
    default_crs = crs if crs is not None else "wgs84"
    names = _text(out["crs"] if "crs" in out.columns else None, n, default_crs)
    result["crs"] = canonical_crs(pd.Series(names, index=result.index))[0].astype("str")
    acc = out["accuracy_m"] if "accuracy_m" in out.columns else pd.Series(np.nan, index=range(n))
    result["accuracy_m"] = pd.to_numeric(acc.set_axis(result.index), errors="coerce").astype(
        np.float64
    )
    for col in out.columns:
        if col in OPTIONAL_COLUMNS:
            result[col] = _optional(col, out[col].set_axis(result.index))
        elif col not in FIX_COLUMNS:
            result[col] = out[col].set_axis(result.index)
    return result


def _optional(col: str, values: pd.Series) -> pd.Series:
    """An optional phone field normalised: numbers (NaN when bad), text, or nullable booleans."""
    if col == "provider":
        text = values.astype("string").str.strip().str.lower()
        return text.where(text != "", pd.NA)
    if col == "is_mock":
        if values.dtype == bool:
            return values.astype("boolean")
        text = values.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
        out[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
        return out
    return pd.to_numeric(values, errors="coerce").astype(np.float64)


def _text(values: pd.Series | None, n: int, default: str | None) -> np.ndarray:
    """Stripped strings (object array); blanks become ``default`` (None: missing)."""
    if values is None:
        return np.full(n, default, dtype=object)
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    cleaned = np.array(
        [str(u).strip() or default for u in uniques.tolist()] + [default], dtype=object
    )
    out: np.ndarray = cleaned[codes]  # code -1 (missing) picks the appended default
    return out


# --------------------------------------------------------------------------- readers


def _read_bytes(src: str | Path | bytes | IO[bytes]) -> bytes:
    if isinstance(src, bytes | bytearray | memoryview):
        return bytes(src)
    if isinstance(src, str | Path):
        try:
            return Path(src).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {str(src)!r}: {exc.strerror}") from exc
    if hasattr(src, "read"):
        data = src.read()
        if isinstance(data, str):
            return data.encode("utf-8")
        return bytes(data)
    raise InvalidInput(f"cannot read fixes from a {type(src).__name__}")


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{name}: not a readable CSV file ({exc})") from exc


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{name}: not a readable Parquet file ({exc})") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_gpx(data: bytes, name: str) -> pd.DataFrame:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InvalidInput(f"{name}: not a well-formed GPX file ({exc})") from exc
    if _local(root.tag) != "gpx":
        raise InvalidInput(f"{name}: the root element is <{_local(root.tag)}>, not <gpx>")
    points = [el for el in root.iter() if _local(el.tag) == "trkpt"]
    if not points:
        points = [el for el in root.iter() if _local(el.tag) == "rtept"]
    rows: dict[str, list[Any]] = {"t": [], "lon": [], "lat": [], "accuracy_m": []}
    extra: dict[str, list[Any]] = {}
    gpx_names = {a: c for c, aliases in _ALIASES.items() if c in OPTIONAL_COLUMNS for a in aliases}
    for k, pt in enumerate(points):
        rows["lon"].append(pt.get("lon"))
        rows["lat"].append(pt.get("lat"))
        t = acc = None
        for child in pt.iter():
            tag = _local(child.tag)
            if tag == "time" and t is None:
                t = (child.text or "").strip()
            elif tag in ("accuracy", "accuracy_m") and acc is None:
                acc = (child.text or "").strip()
            elif tag.lower() in gpx_names:
                col = extra.setdefault(gpx_names[tag.lower()], [None] * len(points))
                if col[k] is None:
                    col[k] = (child.text or "").strip()
        rows["t"].append(t)
        rows["accuracy_m"].append(acc)
    rows.update(extra)
    frame = pd.DataFrame(rows, dtype=object)
    frame["crs"] = "wgs84"
    return frame


def _read_geojson(data: bytes, name: str) -> pd.DataFrame:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{name}: not a readable GeoJSON file ({exc})") from exc
    features: Any
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise InvalidInput(f"{name}: FeatureCollection without a features list")
    else:
        raise InvalidInput(f"{name}: expected a GeoJSON FeatureCollection of Point features")
    records: list[dict[str, Any]] = []
    for feature in features:
        props = feature.get("properties") if isinstance(feature, dict) else None
        rec: dict[str, Any] = dict(props) if isinstance(props, dict) else {}
        geom = feature.get("geometry") if isinstance(feature, dict) else None
        lon = lat = None
        if isinstance(geom, dict) and geom.get("type") == "Point":
            coords = geom.get("coordinates")
            if isinstance(coords, list | tuple) and len(coords) >= 2:
                lon, lat = coords[0], coords[1]
        rec["lon"], rec["lat"] = lon, lat
        rec.setdefault("crs", "wgs84")
        records.append(rec)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    for col in ("t", "lon", "lat", "crs"):
        if col not in frame.columns and not (col == "t" and "time" in frame.columns):
            frame[col] = pd.Series(dtype=object)
    return frame


# --------------------------------------------------------------------------- times


def _parse_times(values: pd.Series, naive_tz: str) -> pd.Series:
    """UTC datetimes; NaT for missing or unparseable values."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("ns")
    if values.dtype.kind == "M":
        return values.dt.tz_localize(naive_tz).dt.tz_convert("UTC").dt.as_unit("ns")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    obj = values.astype(object)
    num = pd.to_numeric(obj, errors="coerce")
    is_num = num.notna().to_numpy()
    if is_num.any():
        secs = num[is_num].to_numpy(dtype=np.float64)
        secs = np.where(np.abs(secs) > _EPOCH_MS_ABOVE, secs / 1000.0, secs)
        ok = np.abs(secs) < 1e10
        stamps = pd.Series(pd.NaT, index=values.index[is_num], dtype="datetime64[ns, UTC]")
        stamps[ok] = pd.to_datetime(np.round(secs[ok] * 1e9).astype(np.int64), unit="ns", utc=True)
        out[is_num] = stamps
    text = ~is_num & obj.notna().to_numpy()
    if text.any():
        strings = obj[text].astype(str).str.strip()
        out[text] = _parse_text_times(strings, naive_tz)
    return out


def _parse_text_times(strings: pd.Series, naive_tz: str) -> pd.Series:
    # Offsets decide per value: parse each value, then localise the naive ones.
    aware = strings.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    out = pd.Series(pd.NaT, index=strings.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        parsed = pd.to_datetime(strings[aware], errors="coerce", utc=True, format="ISO8601")
        out[aware] = parsed.dt.as_unit("ns")
    naive = ~aware
    if naive.any():
        parsed = pd.to_datetime(strings[naive], errors="coerce", format="ISO8601")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):  # pragma: no cover - defensive
            out[naive] = parsed.dt.tz_convert("UTC")
        else:
            localised = parsed.dt.tz_localize(naive_tz, ambiguous="NaT", nonexistent="NaT")
            out[naive] = localised.dt.tz_convert("UTC").dt.as_unit("ns")
    return out
