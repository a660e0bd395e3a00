"""Attribute mapping: source columns of a boundary file → the ``units`` table.

The units table (what the store persists) has one row per polygon with the
columns of :data:`UNIT_COLUMNS`:

========================  ======================================================
column                    meaning
========================  ======================================================
``code``                  digit string (never a number: leading zeros matter)
``parent_code``           code of the parent unit; derived from the code prefix
                          when missing (18 → 15 → 12 → 9 → 6 digits)
``level``                 district / street / community / grid / microgrid;
                          derived from the code length when missing
``kind``                  base / special; derived from the sequence (last three
                          digits ≥ 801 → special) for grids and micro-grids
``name``                  name, or None
``population``            residents (nullable integer)
``households``            households (nullable integer)
``full_time_workers``     full-time grid workers (integer, default 0)
``part_time_workers``     part-time grid workers (integer, default 0)
``geometry``              MultiPolygon
========================  ======================================================

Source columns are found by an explicit ``mapping`` (target → source column)
or, for targets not mapped, by the common names in :data:`ALIASES` (case,
spaces, hyphens and underscores ignored). Shapefile field names are cut to 10
bytes, so a source column that is a unique prefix (≥ 3 characters) of a
Chinese alias also matches (``网格编`` from a UTF-8 ``网格编码``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput

__all__ = [
    "ALIASES",
    "KIND_VALUES",
    "LEVELS",
    "LEVEL_BY_LENGTH",
    "UNIT_COLUMNS",
    "derive_kind",
    "derive_level",
    "derive_parent_code",
    "find_columns",
    "map_attributes",
    "normalize_codes",
]

LEVELS: Final = ("district", "street", "community", "grid", "microgrid")
"""Levels from the top down."""

LEVEL_BY_LENGTH: Final = {6: "district", 9: "street", 12: "community", 15: "grid", 18: "microgrid"}
"""Code length of each level."""

LENGTH_BY_LEVEL: Final = {level: n for n, level in LEVEL_BY_LENGTH.items()}

KIND_VALUES: Final = ("base", "special")

SPECIAL_SEQUENCE_MIN: Final = 801
"""Grids and micro-grids with a sequence of 801–999 are special (专属网格)."""

UNIT_COLUMNS: Final = (
    "code",
    "parent_code",
    "level",
    "kind",
    "name",
    "population",
    "households",
    "full_time_workers",
    "part_time_workers",
)
"""Attribute columns of the units table, in order (then ``geometry``)."""

INT_COLUMNS: Final = ("population", "households", "full_time_workers", "part_time_workers")

ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "code": (
        "code",
        "grid_code",
        "gridcode",
        "unit_code",
        "wgbm",
        "wgdm",
        "bm",
        "编码",
        "网格编码",
        "网格代码",
        "网格编号",
        "微网格编码",
        "代码",
        "区划代码",
        "统计用区划代码",
        "行政区划代码",
    ),
    "parent_code": (
        "parent_code",
        "parentcode",
        "parent",
        "parent_cod",  # cut to 10 characters by a Shapefile export
        "sjbm",
        "上级编码",
        "上级代码",
        "父级编码",
        "所属社区编码",
        "所属社区代码",
        "所属网格编码",
        "所属网格代码",
        "上级网格编码",
        "社区编码",
        "社区代码",
        "所属社区",
        "所属网格",
        "上级",
    ),
    "name": (
        "name",
        "grid_name",
        "gridname",
        "unit_name",
        "wgmc",
        "mc",
        "名称",
        "网格名称",
        "网格名",
        "微网格名称",
    ),
    "level": ("level", "jb", "cj", "级别", "层级", "网格级别", "网格层级"),
    "kind": (
        "kind",
        "grid_type",
        "gridtype",
        "grid_kind",
        "type",
        "wglx",
        "wglb",
        "lx",
        "网格类型",
        "网格类别",
        "网格性质",
        "类型",
        "类别",
    ),
    "population": (
        "population",
        "pop",
        "rk",
        "rks",
        "人口",
        "人口数",
        "常住人口",
        "实有人口",
        "户籍人口",
    ),
    "households": (
        "households",
        "household",
        "hh",
        "hs",
        "户数",
        "住户数",
        "总户数",
        "实有户数",
        "户籍户数",
    ),
    "full_time_workers": (
        "full_time_workers",
        "fulltime_workers",
        "full_time_",  # cut to 10 characters by a Shapefile export
        "zzwgy",
        "专职网格员",
        "专职网格员数",
        "专职网格员人数",
        "专职人数",
    ),
    "part_time_workers": (
        "part_time_workers",
        "parttime_workers",
        "part_time_",  # cut to 10 characters by a Shapefile export
        "jzwgy",
        "兼职网格员",
        "兼职网格员数",
        "兼职网格员人数",
        "兼职人数",
    ),
}
"""Column names recognised for each target, in order of preference."""

_LEVEL_WORDS: Final = {
    "district": ("district", "county", "区", "县", "区县", "区/县", "市辖区", "县级"),
    "street": (
        "street",
        "town",
        "township",
        "subdistrict",
        "街道",
        "乡镇",
        "镇",
        "乡",
        "街道/乡镇",
    ),
    "community": ("community", "village", "社区", "村", "行政村", "社区/村", "居委会", "村委会"),
    "grid": ("grid", "网格", "基础网格", "综合网格", "专属网格"),
    "microgrid": ("microgrid", "micro-grid", "micro_grid", "微网格", "居民小组"),
}

_KIND_WORDS: Final = {
    "base": ("base", "basic", "general", "基础", "基础网格", "综合网格", "一般网格", "普通网格"),
    "special": ("special", "dedicated", "专属", "专属网格", "专项网格", "特殊网格"),
}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def find_columns(
    columns: list[str], mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Choose the source column for each target column.

    Parameters
    ----------
    columns : list of str
        Source column names (without the geometry column).
    mapping : dict, optional
        Explicit ``{target: source}`` choices; they win over the aliases.

    Returns
    -------
    (dict, list of str)
        ``{target: source}`` for every target found, and notes saying which
        columns were detected automatically.

    Raises
    ------
    InvalidInput
        If ``mapping`` names an unknown target or a column the file lacks.

    Examples
    --------
    >>> find_columns(["WGBM", "网格名称", "HS"])[0]
    {'code': 'WGBM', 'name': '网格名称', 'households': 'HS'}
    """
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(UNIT_COLUMNS))
    if unknown:
        raise InvalidInput(
            f"mapping names unknown target column(s) {', '.join(unknown)}; "
            f"targets are {', '.join(UNIT_COLUMNS)}",
            details={"unknown_targets": unknown},
        )
    chosen: dict[str, str] = {}
    for target, source in mapping.items():
        if source not in columns:
            raise InvalidInput(
                f"mapping {target}={source!r}: the file has no column {source!r} "
                f"(columns: {', '.join(map(str, columns))})",
                details={"target": target, "column": source, "columns": list(columns)},
            )
        chosen[target] = source
    used = set(chosen.values())
    notes: list[str] = []
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(_key(col), col)
    for target in UNIT_COLUMNS:
        if target in chosen:
            continue
        found = _match(target, by_key, used)
        if found is not None:
            chosen[target] = found
            used.add(found)
            if found != target:
                notes.append(f"column {found!r} read as {target}")
    ordered: dict[str, str] = {str(t): chosen[t] for t in UNIT_COLUMNS if t in chosen}
    return ordered, notes


def _match(target: str, by_key: dict[str, str], used: set[str]) -> str | None:
    for alias in ALIASES[target]:
        col = by_key.get(_key(alias))
        if col is not None and col not in used:
            return col
    # Truncated shapefile field names: a unique >= 3 character prefix of a CJK alias.
    for key, col in by_key.items():
        if col in used or len(key) < 3 or not re.search(r"[\u4e00-\u9fff]", key):
            continue
        targets = {t for t, aliases in ALIASES.items() for a in aliases if _key(a).startswith(key)}
        if targets == {target}:
            return col
    return None


def normalize_codes(values: pd.Series, column: str = "code") -> pd.Series:
    """Codes as digit strings (object dtype, None for missing).

    Text is stripped of surrounding whitespace. Integers are written in
    decimal; integral floats below 2**53 likewise; any other number is
    rejected because the code can no longer be recovered exactly.

    Parameters
    ----------
    values : pandas.Series
        Raw code values as read from a file.
    column : str
        Source column name, for messages.

    Returns
    -------
    pandas.Series
        Object dtype: str or None, same index.

    Raises
    ------
    InvalidInput
        For codes stored as non-integral or too large floating-point numbers.

    Examples
    --------
    >>> normalize_codes(pd.Series([" 330109001001001", 330109001001002, None])).tolist()
    ['330109001001001', '330109001001002', None]
    """
    out: list[str | None] = []
    for pos, value in enumerate(values.tolist()):
        out.append(_code_text(value, column, pos))
    return pd.Series(out, index=values.index, dtype=object)


def _code_text(value: Any, column: str, pos: int) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        raise InvalidInput(f"column {column!r} row {pos}: code {value!r} is not a digit string")
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not float(value).is_integer() or abs(float(value)) >= 2**53:
            raise InvalidInput(
                f"column {column!r} row {pos}: code {value!r} is stored as a floating-point "
                "number and cannot be recovered exactly; store codes as text",
                details={"column": column, "row": pos},
            )
        return str(int(value))
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def derive_level(codes: pd.Series) -> pd.Series:
    """Level from the code length (None when the length matches no level).

    Examples
    --------
    >>> derive_level(pd.Series(["330109001", "330109001001001", "12"])).tolist()
    ['street', 'grid', None]
    """
    return pd.Series(
        [LEVEL_BY_LENGTH.get(len(c)) if isinstance(c, str) else None for c in codes],
        index=codes.index,
        dtype=object,
    )


def derive_parent_code(codes: pd.Series, levels: pd.Series | None = None) -> pd.Series:
    """Parent code from the code prefix (None for districts and unknown lengths).

    Examples
    --------
    >>> derive_parent_code(pd.Series(["330109001001001", "330109001", "330109"])).tolist()
    ['330109001001', '330109', None]
    """
    if levels is None:
        levels = derive_level(codes)
    out: list[str | None] = []
    for code, level in zip(codes, levels, strict=True):
        idx = LEVELS.index(level) if level in LEVELS else -1
        if not isinstance(code, str) or idx <= 0:
            out.append(None)
            continue
        n = LENGTH_BY_LEVEL[LEVELS[idx - 1]]
        out.append(code[:n] if len(code) > n else None)
    return pd.Series(out, index=codes.index, dtype=object)


def derive_kind(codes: pd.Series, levels: pd.Series) -> pd.Series:
    """``special`` for grids/micro-grids with sequence ≥ 801, else ``base``.

    Examples
    --------
    >>> derive_kind(pd.Series(["330109001001801", "330109001001001"]),
    ...             pd.Series(["grid", "grid"])).tolist()
    ['special', 'base']
    """
    out = []
    for code, level in zip(codes, levels, strict=True):
        seq = code[-3:] if isinstance(code, str) else ""
        special = (
            level in ("grid", "microgrid") and seq.isdigit() and int(seq) >= SPECIAL_SEQUENCE_MIN
        )
        out.append("special" if special else "base")
    return pd.Series(out, index=codes.index, dtype=object)


def _words(values: pd.Series, table: Mapping[str, tuple[str, ...]], column: str) -> pd.Series:
    lookup = {_key(w): target for target, words in table.items() for w in words}
    out: list[str | None] = []
    bad: list[str] = []
    for value in values.tolist():
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            out.append(None)
            continue
        target = lookup.get(_key(str(value)))
        if target is None:
            bad.append(str(value))
        out.append(target)
    if bad:
        allowed = ", ".join(table)
        shown = ", ".join(sorted(set(bad))[:5])
        raise InvalidInput(
            f"column {column!r} has unknown value(s) {shown}; expected one of {allowed} "
            "(or their Chinese names)",
            details={"column": column, "values": sorted(set(bad))},
        )
    return pd.Series(out, index=values.index, dtype=object)


def _all_words(values: pd.Series, table: Mapping[str, tuple[str, ...]]) -> bool:
    """True when every non-empty value is one of the words of ``table``."""
    lookup = {_key(w) for words in table.values() for w in words}
    present = [v for v in values.dropna().tolist() if str(v).strip()]
    return bool(present) and all(_key(str(v)) in lookup for v in present)


def _holds_codes(values: pd.Series) -> bool:
    """True when the non-empty values are digit codes (numbers or digit strings)."""
    for value in values.dropna().tolist()[:1000]:
        if isinstance(value, int | np.integer | float | np.floating):
            continue
        text = str(value).strip()
        digits = text.isdigit() or (text.endswith(".0") and text[:-2].isdigit())
        if text and not (text.isascii() and digits):
            return False
    return True


MAX_COUNT = 2**31 - 1
"""Largest population, household or worker count (the database column is 32-bit)."""


def _ints(values: pd.Series, column: str) -> pd.Series:
    raw = values.copy()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        raw = raw.map(lambda v: v.strip().replace(",", "") if isinstance(v, str) else v)
        raw = raw.replace("", None)
    nums = pd.to_numeric(raw, errors="coerce")
    bad = nums.isna() & raw.notna()
    frac = nums.notna() & ((nums % 1) != 0)
    neg = nums.notna() & (nums < 0)
    big = nums.notna() & (nums > MAX_COUNT)
    problem = bad | frac | neg | big
    if problem.any():
        rows = np.flatnonzero(problem.to_numpy())
        shown = ", ".join(f"row {r}: {str(values.iloc[r])[:40]!r}" for r in rows[:5])
        raise InvalidInput(
            f"column {column!r} must hold non-negative whole numbers up to {MAX_COUNT} ({shown})",
            details={"column": column, "rows": rows.tolist()},
        )
    return nums.astype("Int64")


def map_attributes(
    frame: gpd.GeoDataFrame, mapping: Mapping[str, str] | None = None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Build the units table's attribute columns from a raw boundary frame.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        As read from a file (any columns). Not modified.
    mapping : dict, optional
        ``{target: source column}``, e.g. ``{"code": "WGBM", "households": "HS"}``;
        other targets are found by :data:`ALIASES`.

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        A new frame with exactly :data:`UNIT_COLUMNS` and ``geometry`` (the
        geometry is passed through unchanged), and notes on what was detected
        or derived.

    Raises
    ------
    InvalidInput
        If no code column is found, or a value cannot be interpreted.

    Examples
    --------
    >>> from shapely import box
    >>> raw = gpd.GeoDataFrame({"WGBM": ["330109001001801"], "户数": ["320"]},
    ...                        geometry=[box(0, 0, 1, 1)], crs=4490)
    >>> units, _ = map_attributes(raw)
    >>> units.loc[0, ["code", "parent_code", "level", "kind"]].tolist()
    ['330109001001801', '330109001001', 'grid', 'special']
    >>> int(units.loc[0, "households"])
    320
    """
    columns = [c for c in frame.columns if c != frame.geometry.name]
    chosen, notes = find_columns(columns, mapping)
    if "code" not in chosen:
        raise InvalidInput(
            "no code column found; pass mapping={'code': '<column>'} "
            f"(columns: {', '.join(map(str, columns)) or 'none'}; recognised names include "
            "code, WGBM, 编码, 网格编码)",
            details={"columns": list(map(str, columns))},
        )
    index = frame.index
    out = pd.DataFrame(index=index)
    codes = normalize_codes(frame[chosen["code"]], chosen["code"])
    out["code"] = codes
    if (
        "kind" in chosen
        and "level" not in chosen
        and (mapping is None or "kind" not in mapping)
        and not _all_words(frame[chosen["kind"]], _KIND_WORDS)
        and _all_words(frame[chosen["kind"]], _LEVEL_WORDS)
    ):
        notes.append(f"column {chosen['kind']!r} holds levels (社区, 网格 …): read as level")
        chosen["level"] = chosen.pop("kind")
    if "level" in chosen:
        level = _words(frame[chosen["level"]], _LEVEL_WORDS, chosen["level"])
        derived = derive_level(codes)
        level = level.where(level.notna(), derived)
    else:
        level = derive_level(codes)
        notes.append("level derived from code length")
    if "parent_code" in chosen and not _holds_codes(frame[chosen["parent_code"]]):
        notes.append(
            f"column {chosen['parent_code']!r} holds names, not codes: not used; "
            "parent_code derived from code prefix"
        )
        del chosen["parent_code"]
    if "parent_code" in chosen:
        parent = normalize_codes(frame[chosen["parent_code"]], chosen["parent_code"])
        parent = parent.where(parent.notna(), derive_parent_code(codes, level))
    else:
        parent = derive_parent_code(codes, level)
        notes.append("parent_code derived from code prefix")
    if "kind" in chosen:
        kind = _words(frame[chosen["kind"]], _KIND_WORDS, chosen["kind"])
        kind = kind.where(kind.notna(), derive_kind(codes, level))
    else:
        kind = derive_kind(codes, level)
    out["parent_code"] = parent
    out["level"] = level
    out["kind"] = kind
    if "name" in chosen:
        names = frame[chosen["name"]].map(
            lambda v: (str(v).strip() or None) if v is not None and not pd.isna(v) else None
        )
        out["name"] = pd.Series(names.tolist(), index=index, dtype=object)
    else:
        out["name"] = pd.Series([None] * len(index), index=index, dtype=object)
    for col in INT_COLUMNS:
        if col in chosen:
            values = _ints(frame[chosen[col]], chosen[col])
        else:
            values = pd.Series(pd.NA, index=index, dtype="Int64")
        if col.endswith("_workers"):
            values = values.fillna(0)
        out[col] = values
    result = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=frame.crs)
    result.index = index
    used = set(chosen.values())
    result.attrs["columns"] = dict(chosen)
    result.attrs["unused_columns"] = [str(c) for c in columns if c not in used]
    return result, notes
