"""Checks on text that reaches the database, and bounded excerpts for messages.

PostgreSQL refuses NUL bytes in text, and lone UTF-16 surrogates cannot be
encoded at all; other control characters are accepted by the database but
are never meaningful in codes, names or parameters. These helpers find them
before SQL does, so that the caller can answer with a message naming the
field (HTTP 422, or a CLI error) instead of a database error.

Messages never echo more than :data:`EXCERPT_CHARS` characters of an input
(:func:`excerpt`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd

from gridgeo.errors import InvalidInput

EXCERPT_CHARS: Final = 80
"""Most characters of an input that a message quotes."""

_CONTROL_STRICT: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_TEXT: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ASCII_DIGITS: Final = re.compile(r"[0-9]+")


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """Quote at most ``limit`` characters of ``value`` (``repr`` style).

    Parameters
    ----------
    value : object
        Anything; non-strings are converted with ``str``.
    limit : int
        Most characters of the value shown.

    Returns
    -------
    str
        The quoted excerpt, with ``…(N chars)`` when it was cut.

    Examples
    --------
    >>> excerpt("S0101")
    "'S0101'"
    >>> excerpt("x" * 1000, 5)
    "'xxxxx'…(1000 chars)"
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}…({len(text)} chars)"


def control_character(text: str, *, allow_whitespace: bool = False) -> str | None:
    """Describe the first control character of ``text``, or None when it has none.

    Parameters
    ----------
    text : str
    allow_whitespace : bool
        Accept tab, line feed and carriage return (free text such as
        descriptions); NUL and the other C0/C1 controls and lone surrogates
        are always refused.

    Returns
    -------
    str or None
        E.g. ``"control character U+0000 at position 3"``.

    Examples
    --------
    >>> control_character("ab\\x00c")
    'control character U+0000 at position 2'
    >>> control_character("line\\nbreak", allow_whitespace=True) is None
    True
    """
    pattern = _CONTROL_TEXT if allow_whitespace else _CONTROL_STRICT
    found = pattern.search(text)
    if found is None:
        return None
    return f"control character U+{ord(found.group()):04X} at position {found.start()}"


def check_text(value: str, field: str, *, allow_whitespace: bool = False) -> str:
    """Return ``value`` unchanged, or raise naming ``field`` if it holds a control character.

    Raises
    ------
    InvalidInput
        The message names the field and the character, never the whole value.

    Examples
    --------
    >>> check_text("330109", "code")
    '330109'
    """
    problem = control_character(value, allow_whitespace=allow_whitespace)
    if problem is not None:
        raise InvalidInput(f"{field}: {problem} is not allowed", details={"field": field})
    return value


def is_ascii_digits(value: str) -> bool:
    """True when ``value`` is one or more ASCII digits (``"²"`` and ``"３"`` are not).

    Examples
    --------
    >>> is_ascii_digits("330109"), is_ascii_digits("²"), is_ascii_digits("")
    (True, False, False)
    """
    return _ASCII_DIGITS.fullmatch(value) is not None


def check_frame_text(
    frame: pd.DataFrame, source: str, columns: Iterable[str] | None = None
) -> None:
    """Refuse control characters in the text columns of a table read from a file.

    Tab, line feed and carriage return are accepted (multi-line descriptions).

    Parameters
    ----------
    frame : pandas.DataFrame
    source : str
        File name for the message.
    columns : iterable of str, optional
        Columns to check (default: every object or string column).

    Raises
    ------
    InvalidInput
        Naming the column and the first rows; ``details`` holds
        ``{"column", "rows"}`` (at most 1000 rows).
    """
    names = list(columns) if columns is not None else list(frame.columns)
    for column in names:
        if column not in frame.columns:
            continue
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        bad = [
            i
            for i, v in enumerate(values.tolist())
            if isinstance(v, str) and _CONTROL_TEXT.search(v) is not None
        ]
        if bad:
            shown = ", ".join(str(r) for r in bad[:5])
            raise InvalidInput(
                f"{source}: column {str(column)[:EXCERPT_CHARS]!r} holds control characters "
                f"(NUL or similar) in row(s) {shown}" + (" …" if len(bad) > 5 else ""),
                details={"column": str(column), "rows": bad[:1000]},
            )


def bounded(value: Any, limit: int = 200) -> Any:
    """Cut every string inside ``value`` (nested lists/dicts) to ``limit`` characters.

    Examples
    --------
    >>> bounded({"a": "x" * 300}, 3)
    {'a': 'xxx…'}
    """
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if isinstance(value, dict):
        return {bounded(k, limit): bounded(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v, limit) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
