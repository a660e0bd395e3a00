"""Structure of grid codes: parse, format and validate codes of every level.

A code is a fixed-length string of digits, never a number (leading zeros
matter). Each level's code is its parent's code followed by its own digits:

=============  ======  =====================================================
level          length  structure
=============  ======  =====================================================
``district``   6       GB/T 2260 division code (province 2 + city 2 + county 2)
``street``     9       district code + 3-digit township code (official)
``community``  12      street code + 3-digit village code (official)
``grid``       15      community code + 3-digit sequence
``microgrid``  18      grid code + 3-digit sequence
=============  ======  =====================================================

Sequences of grids and micro-grids tell their kind: ``001``–``799`` are base
units, ``801``–``999`` special units (专属网格: campuses, hospitals, industrial
parks ...); ``000`` and ``800`` are never used. The same ranges hold at the
micro-grid level: a micro-grid is base unless it is itself a special unit laid
over its grid, and the micro-grids that subdivide a special grid are that
grid's base micro-grids (``001``–``799``), so a code such as
``330109001001801001`` reads "first micro-grid of special grid 801". Districts,
streets and communities keep their official statistical codes; whether a
code is in the official 2023 list is checked by :mod:`gridgeo.coding.official`.

Rules (the names appear in error messages and in :class:`CodeProblem`):

``type``       a code is a ``str``
``digits``     only the digits 0–9
``length``     6, 9, 12, 15 or 18 characters, and the length of its level
``prefix``     the code starts with its parent's code
``sequence``   grid/micro-grid sequence within 001–799 or 801–999
``kind``       the sequence range agrees with the declared kind
``official``   district/street/community (or the community a grid lies in)
               is in the official list (a warning in :func:`validate_codes`)
``unique``     no code appears twice in one generation
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from gridgeo.coding.official import is_official
from gridgeo.errors import InvalidCode, InvalidInput

__all__ = [
    "CHILD_LEVEL",
    "CODED_LEVELS",
    "KINDS",
    "LENGTH_LEVELS",
    "LEVELS",
    "LEVEL_LENGTHS",
    "OFFICIAL_LEVELS",
    "PARENT_LEVEL",
    "SEQUENCE_RANGES",
    "CodeParts",
    "CodeProblem",
    "format_code",
    "kind_of_sequence",
    "level_of",
    "parse_code",
    "problems_frame",
    "validate_code",
    "validate_codes",
]

Level = Literal["district", "street", "community", "grid", "microgrid"]
Kind = Literal["base", "special"]

LEVELS: tuple[str, ...] = ("district", "street", "community", "grid", "microgrid")
"""All levels, from the largest to the smallest."""

LEVEL_LENGTHS: dict[str, int] = {
    "district": 6,
    "street": 9,
    "community": 12,
    "grid": 15,
    "microgrid": 18,
}
"""Code length of each level."""

LENGTH_LEVELS: dict[int, str] = {n: level for level, n in LEVEL_LENGTHS.items()}
"""Level of each valid code length."""

PARENT_LEVEL: dict[str, str | None] = {
    "district": None,
    "street": "district",
    "community": "street",
    "grid": "community",
    "microgrid": "grid",
}
"""Level of the parent of each level (``None`` for districts)."""

CHILD_LEVEL: dict[str, str | None] = {
    "district": "street",
    "street": "community",
    "community": "grid",
    "grid": "microgrid",
    "microgrid": None,
}
"""Level of the children of each level (``None`` for micro-grids)."""

OFFICIAL_LEVELS: tuple[str, ...] = ("district", "street", "community")
"""Levels whose codes are official statistical division codes."""

CODED_LEVELS: tuple[str, ...] = ("grid", "microgrid")
"""Levels whose sequences gridgeo assigns (:func:`gridgeo.coding.assign_codes`)."""

KINDS: tuple[str, ...] = ("base", "special")
"""Kinds of grid and micro-grid."""

SEQUENCE_RANGES: dict[str, tuple[int, int]] = {"base": (1, 799), "special": (801, 999)}
"""Inclusive sequence range of each kind, at the grid and micro-grid levels."""


@dataclass(frozen=True, slots=True)
class CodeParts:
    """The parts of a structurally valid code (see :func:`parse_code`).

    Attributes
    ----------
    code : str
        The code itself.
    level : str
        One of :data:`LEVELS`.
    parent : str or None
        The parent's code (the code without its last digits); ``None`` for a
        district.
    sequence : int or None
        The last three digits as an integer (township, village, grid or
        micro-grid number); ``None`` for a district.
    kind : str or None
        ``"base"`` or ``"special"`` for grids and micro-grids, ``None`` for the
        official levels.
    """

    code: str
    level: str
    parent: str | None
    sequence: int | None
    kind: str | None


@dataclass(frozen=True, slots=True)
class CodeProblem:
    """One broken rule found by :func:`validate_codes`.

    Attributes
    ----------
    row : Any
        Index label of the offending row (position for plain sequences).
    code : Any
        The offending value as given.
    rule : str
        Name of the broken rule (see the module docstring).
    severity : str
        ``"error"`` or ``"warning"`` (unknown official codes are warnings).
    message : str
        Human-readable explanation naming the code and the rule.
    """

    row: Any
    code: Any
    rule: str
    severity: str
    message: str


def _fail(code: Any, rule: str, why: str) -> InvalidCode:
    return InvalidCode(
        f"invalid code {code!r}: rule {rule!r} broken: {why}", {"code": code, "rule": rule}
    )


def kind_of_sequence(sequence: int) -> str | None:
    """Kind told by a grid or micro-grid sequence (``None`` if out of range).

    Examples
    --------
    >>> kind_of_sequence(1), kind_of_sequence(801), kind_of_sequence(800)
    ('base', 'special', None)
    """
    for kind, (lo, hi) in SEQUENCE_RANGES.items():
        if lo <= sequence <= hi:
            return kind
    return None


def _range_text(kind: str) -> str:
    lo, hi = SEQUENCE_RANGES[kind]
    return f"{lo:03d}–{hi:03d}"


def level_of(code: str) -> str:
    """Level of a code, from its length.

    Parameters
    ----------
    code : str
        A code of any level.

    Returns
    -------
    str
        One of :data:`LEVELS`.

    Raises
    ------
    InvalidCode
        If the code is not a string of digits of a valid length (rules
        ``type``, ``digits``, ``length``).

    Examples
    --------
    >>> level_of("330109001001"), level_of("330109001001801")
    ('community', 'grid')
    """
    if not isinstance(code, str):
        raise _fail(code, "type", f"codes are strings, got {type(code).__name__}")
    if not code or not (code.isascii() and code.isdigit()):
        raise _fail(code, "digits", "codes contain only the digits 0-9")
    level = LENGTH_LEVELS.get(len(code))
    if level is None:
        raise _fail(
            code,
            "length",
            f"length {len(code)} is none of 6, 9, 12, 15, 18 (district, street, community, "
            "grid, microgrid)",
        )
    return level


def parse_code(code: str) -> CodeParts:
    """Split a code into level, parent, sequence and kind, checking its structure.

    Only structural rules are checked (type, digits, length, sequence range);
    membership in the official list is not (see :func:`validate_code`).

    Parameters
    ----------
    code : str
        A code of any level.

    Returns
    -------
    CodeParts

    Raises
    ------
    InvalidCode
        Naming the broken rule.

    Examples
    --------
    >>> parts = parse_code("330109001001801")
    >>> parts.level, parts.parent, parts.sequence, parts.kind
    ('grid', '330109001001', 801, 'special')
    >>> parse_code("330109").parent is None
    True
    """
    level = level_of(code)
    if level == "district":
        return CodeParts(code, level, None, None, None)
    parent, sequence = code[:-3], int(code[-3:])
    kind: str | None = None
    if level in CODED_LEVELS:
        kind = kind_of_sequence(sequence)
        if kind is None:
            raise _fail(
                code,
                "sequence",
                f"{level} sequence {code[-3:]} is outside 001–799 (base) and 801–999 (special)",
            )
    return CodeParts(code, level, parent, sequence, kind)


def validate_code(
    code: str,
    level: str | None = None,
    parent: str | None = None,
    kind: str | None = None,
    *,
    check_official: bool = True,
) -> CodeParts:
    """Check one code against every rule and return its parts.

    Parameters
    ----------
    code : str
        The code to check.
    level : str, optional
        Expected level; the code's length must match it.
    parent : str, optional
        Expected parent code; the code must start with it and be exactly one
        level below it.
    kind : {"base", "special"}, optional
        Expected kind of a grid or micro-grid; its sequence must lie in the
        kind's range.
    check_official : bool, default True
        Also require that official codes (district, street, community, or the
        community of a grid or micro-grid) are in the official 2023 list.

    Returns
    -------
    CodeParts

    Raises
    ------
    InvalidCode
        With a message naming the code and the broken rule.
    InvalidInput
        If ``level`` or ``kind`` is not a known value.

    Examples
    --------
    >>> validate_code("330109001001001", level="grid", kind="base").sequence
    1
    >>> from gridgeo.errors import InvalidCode
    >>> try:
    ...     validate_code("330109001001850", kind="base")
    ... except InvalidCode as exc:
    ...     print(exc.details["rule"], "|", exc.message.split(": ")[-1])
    kind | sequence 850 is in the special range 801–999, not in the base range 001–799
    """
    if level is not None and level not in LEVEL_LENGTHS:
        raise InvalidInput(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; expected 'base' or 'special'")
    # Length first when a level is expected: "wrong length for a grid" is the
    # clearer message for a 14-digit grid code.
    if level is not None and isinstance(code, str) and len(code) != LEVEL_LENGTHS[level]:
        raise _fail(
            code, "length", f"a {level} code has {LEVEL_LENGTHS[level]} digits, got {len(code)}"
        )
    parts = parse_code(code)
    if parent is not None:
        _check_parent(code, parts, parent)
    if kind is not None:
        if parts.level not in CODED_LEVELS:
            raise _fail(code, "kind", f"a {parts.level} has no kind; only grids and micro-grids do")
        if parts.kind != kind:
            assert parts.kind is not None and parts.sequence is not None
            raise _fail(
                code,
                "kind",
                f"sequence {parts.sequence:03d} is in the {parts.kind} range "
                f"{_range_text(parts.kind)}, not in the {kind} range {_range_text(kind)}",
            )
    if check_official:
        official_level = parts.level if parts.level in OFFICIAL_LEVELS else "community"
        official_code = code[: LEVEL_LENGTHS[official_level]]
        if not bool(is_official([official_code], official_level)[0]):
            subject = (
                f"{official_level} {official_code}"
                if official_code == code
                else f"its community {official_code}"
            )
            raise _fail(
                code, "official", f"{subject} is not in the official 2023 division code list"
            )
    return parts


def _check_parent(code: str, parts: CodeParts, parent: str) -> None:
    if not isinstance(parent, str):
        raise _fail(code, "prefix", f"parent code must be a string, got {type(parent).__name__}")
    expected_parent_level = PARENT_LEVEL[parts.level]
    if expected_parent_level is None:
        raise _fail(code, "prefix", "a district has no parent")
    expected_len = LEVEL_LENGTHS[expected_parent_level]
    if len(parent) != expected_len:
        raise _fail(
            code,
            "prefix",
            f"the parent of a {parts.level} is a {expected_parent_level} ({expected_len} digits); "
            f"parent {parent!r} has {len(parent)}",
        )
    if parts.parent != parent:
        raise _fail(code, "prefix", f"code must start with its parent's code {parent!r}")


def format_code(parent_code: str, sequence: int, kind: str | None = None) -> str:
    """Build a child code from its parent's code and a sequence number.

    Parameters
    ----------
    parent_code : str
        Code of the parent (district, street, community or grid).
    sequence : int
        The child's number: 1–799 for base and 801–999 for special grids and
        micro-grids; 0–999 for streets and communities (official numbers).
    kind : {"base", "special"}, optional
        Kind of a grid or micro-grid; checked against the sequence. ``None``
        accepts whichever kind the sequence tells. Must be ``None`` for
        streets and communities.

    Returns
    -------
    str
        ``parent_code`` followed by the zero-padded 3-digit sequence.

    Raises
    ------
    InvalidCode
        If the parent code is malformed, the sequence is out of range or does
        not match ``kind``.

    Examples
    --------
    >>> format_code("330109001001", 7)
    '330109001001007'
    >>> format_code("330109001001007", 801, "special")
    '330109001001007801'
    """
    level = CHILD_LEVEL[level_of(parent_code)]
    if level is None:
        raise _fail(parent_code, "length", "a micro-grid has no children")
    if isinstance(sequence, bool) or not isinstance(sequence, int | np.integer):
        raise InvalidInput(f"sequence must be an integer, got {sequence!r}")
    seq = int(sequence)
    if not 0 <= seq <= 999:
        raise _fail(f"{parent_code}+{seq}", "sequence", f"sequence {seq} does not fit 3 digits")
    code = f"{parent_code}{seq:03d}"
    if level in CODED_LEVELS:
        parse_code(code)  # sequence range
        if kind is not None:
            validate_code(code, kind=kind, check_official=False)
    elif kind is not None:
        raise _fail(code, "kind", f"a {level} has no kind; only grids and micro-grids do")
    return code


def validate_codes(
    table: pd.DataFrame | pd.Series | Iterable[Any],
    *,
    code_col: str = "code",
    parent_col: str = "parent_code",
    kind_col: str = "kind",
    level_col: str = "level",
    check_official: bool = True,
) -> list[CodeProblem]:
    """Check a whole table of codes (one generation) at once.

    Parameters
    ----------
    table : DataFrame, Series or sequence of str
        A DataFrame with a ``code_col`` column and optionally ``parent_col``,
        ``kind_col`` and ``level_col`` columns (checked when present; missing
        values in them are not checked), or just the codes.
    code_col, parent_col, kind_col, level_col : str
        Column names.
    check_official : bool, default True
        Report official codes (district, street, community, and the
        community prefix of grids and micro-grids) missing from the official
        2023 list, as warnings.

    Returns
    -------
    list of CodeProblem
        Errors for rules ``type``, ``digits``, ``length``, ``prefix``,
        ``sequence``, ``kind`` and ``unique``; warnings for ``official``.
        Ordered by row, then rule. Empty if everything is valid. Rules that
        need a well-formed code are skipped for rows that are not.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"code": ["330109001001001", "330109001001001", "33010900100180"]})
    >>> [(p.row, p.rule) for p in validate_codes(df)]
    [(0, 'unique'), (1, 'unique'), (2, 'length')]
    """
    if isinstance(table, pd.DataFrame):
        if code_col not in table.columns:
            raise InvalidInput(f"table has no {code_col!r} column")
        frame = table
        codes = table[code_col]
    else:
        codes = table if isinstance(table, pd.Series) else pd.Series(list(table), dtype=object)
        frame = pd.DataFrame(index=codes.index)
    index = codes.index
    raw = np.asarray(codes.astype(object), dtype=object)
    n = len(raw)
    found: list[tuple[int, int, CodeProblem]] = []
    rule_rank = {r: i for i, r in enumerate(_RULE_ORDER)}

    def add(mask: np.ndarray, rule: str, why: Any, severity: str = "error") -> None:
        for pos in np.flatnonzero(mask):
            text = why(pos) if callable(why) else why
            value = raw[pos]
            found.append(
                (
                    int(pos),
                    rule_rank[rule],
                    CodeProblem(
                        index[pos],
                        value,
                        rule,
                        severity,
                        f"invalid code {value!r}: rule {rule!r} broken: {text}",
                    ),
                )
            )

    is_str = np.array([isinstance(v, str) for v in raw], dtype=bool)
    add(~is_str, "type", lambda p: f"codes are strings, got {type(raw[p]).__name__}")
    text_codes = pd.Series(np.where(is_str, raw, ""), index=index, dtype=object).astype(str)
    digits = is_str & text_codes.str.fullmatch(r"[0-9]+").fillna(False).to_numpy(dtype=bool)
    add(is_str & ~digits, "digits", "codes contain only the digits 0-9")
    lengths = text_codes.str.len().to_numpy()
    code_level: list[str] = [LENGTH_LEVELS.get(int(k), "") for k in lengths]
    level_arr = np.array(code_level, dtype=object)
    add(
        digits & (level_arr == ""),
        "length",
        lambda p: f"length {lengths[p]} is none of 6, 9, 12, 15, 18",
    )
    ok = digits & (level_arr != "")

    # Expected level.
    if level_col in frame.columns:
        given = frame[level_col].astype(object).to_numpy()
        has = pd.notna(given)
        unknown = has & ~np.isin(given.astype(str), list(LEVELS))
        add(unknown & ok, "length", lambda p: f"unknown level {given[p]!r}")
        mismatch = ok & has & ~unknown & (given.astype(str) != level_arr)
        add(
            mismatch,
            "length",
            lambda p: (
                f"a {given[p]} code has {LEVEL_LENGTHS[str(given[p])]} digits, got {lengths[p]}"
            ),
        )
        ok = ok & ~mismatch

    # Sequence range of grids and micro-grids.
    coded = ok & np.isin(level_arr, list(CODED_LEVELS))
    seq = np.zeros(n, dtype=int)
    if coded.any():
        seq[coded] = text_codes[coded].str[-3:].astype(int).to_numpy()
    seq_kind: list[str | None] = [
        kind_of_sequence(int(s)) if c else None for s, c in zip(seq, coded, strict=True)
    ]
    bad_seq = coded & np.array([k is None for k in seq_kind], dtype=bool)
    add(
        bad_seq,
        "sequence",
        lambda p: (
            f"{code_level[p]} sequence {seq[p]:03d} is outside 001–799 (base) and 801–999 (special)"
        ),
    )

    # Prefix.
    if parent_col in frame.columns:
        parents = frame[parent_col].astype(object).to_numpy()
        has = pd.notna(parents) & ok
        parent_lengths = {
            lv: LEVEL_LENGTHS[pl] if (pl := PARENT_LEVEL[lv]) else -1 for lv in LEVELS
        }
        expected_parent_len = np.array([parent_lengths.get(lv, -1) for lv in code_level])
        parent_text = np.array([p if isinstance(p, str) else "" for p in parents], dtype=object)
        wrong_len = has & (np.array([len(p) for p in parent_text]) != expected_parent_len)
        add(
            wrong_len,
            "prefix",
            lambda p: (
                f"parent {parents[p]!r} is not a {PARENT_LEVEL.get(code_level[p])} code"
                if PARENT_LEVEL.get(code_level[p])
                else "a district has no parent"
            ),
        )
        starts = np.array(
            [c.startswith(pp) for c, pp in zip(text_codes.to_numpy(), parent_text, strict=True)],
            dtype=bool,
        )
        add(
            has & ~wrong_len & ~starts,
            "prefix",
            lambda p: f"code must start with its parent's code {parents[p]!r}",
        )

    # Kind.
    if kind_col in frame.columns:
        kinds = frame[kind_col].astype(object).to_numpy()
        has = pd.notna(kinds) & ok
        unknown = has & ~np.isin(kinds.astype(str), list(KINDS))
        add(unknown, "kind", lambda p: f"unknown kind {kinds[p]!r}; expected 'base' or 'special'")
        official_with_kind = has & ~unknown & ~np.isin(level_arr, list(CODED_LEVELS))
        add(
            official_with_kind & (kinds.astype(str) == "special"),
            "kind",
            lambda p: f"a {code_level[p]} cannot be special; only grids and micro-grids can",
        )
        mismatch = (
            has
            & ~unknown
            & coded
            & ~bad_seq
            & (kinds.astype(str) != np.array(seq_kind, dtype=object))
        )
        add(
            mismatch,
            "kind",
            lambda p: (
                f"sequence {seq[p]:03d} is in the {seq_kind[p]} range "
                f"{_range_text(str(seq_kind[p]))}, not in the {kinds[p]} range "
                f"{_range_text(str(kinds[p]))}"
            ),
        )

    # Uniqueness within the table.
    dup = is_str & text_codes.duplicated(keep=False).to_numpy()
    add(dup, "unique", "code appears more than once in this generation")

    # Official list (warnings).
    if check_official and ok.any():
        off_level = np.where(np.isin(level_arr, list(OFFICIAL_LEVELS)), level_arr, "community")
        for lv in OFFICIAL_LEVELS:
            rows = ok & (off_level == lv)
            if not rows.any():
                continue
            prefix = text_codes[rows].str[: LEVEL_LENGTHS[lv]].to_numpy()
            missing = np.zeros(n, dtype=bool)
            missing[np.flatnonzero(rows)] = ~is_official(prefix, lv)
            add(
                missing,
                "official",
                lambda p, lv=lv: (
                    f"{lv} {text_codes.iloc[p]} is not in the official 2023 division code list"
                    if code_level[p] == lv
                    else f"its community {text_codes.iloc[p][:12]} is not in the official 2023 "
                    "division code list"
                ),
                severity="warning",
            )

    found.sort(key=lambda t: (t[0], t[1]))
    return [p for _, _, p in found]


_RULE_ORDER = ("type", "digits", "length", "sequence", "prefix", "kind", "unique", "official")


def problems_frame(problems: Iterable[CodeProblem]) -> pd.DataFrame:
    """The problems of :func:`validate_codes` as a DataFrame.

    Returns
    -------
    pandas.DataFrame
        Columns ``row``, ``code``, ``rule``, ``severity``, ``message``.

    Examples
    --------
    >>> problems_frame(validate_codes(["12"])).rule.tolist()
    ['length']
    """
    cols = ["row", "code", "rule", "severity", "message"]
    rows: list[Mapping[str, Any]] = [{c: getattr(p, c) for c in cols} for p in problems]
    return pd.DataFrame(rows, columns=cols)
