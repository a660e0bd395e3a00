"""Request-level input checks shared by every route.

* :class:`GuardMiddleware` refuses control characters (NUL …) in the path
  and query string with a 422 naming the parameter, before routing, and
  turns any unexpected exception into a plain 500 *without* re-raising, so
  the server keeps the keep-alive connection usable.
* :class:`RequestBody` is the base of JSON bodies: every string field is
  checked for control characters (422 naming the field), numbers are strict
  (``"lat": false`` is refused) and must be finite.
* ``SafeStr`` / ``SafeText`` are the same checks for form and query fields.
* :func:`localize` gives naive times the configured zone
  (``GRIDGEO_TIMEZONE``).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AllowInfNan, BaseModel, Strict, ValidationInfo, field_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridgeo.text import control_character, excerpt

log = logging.getLogger("gridgeo.api")

MAX_OFFSET = 2**31 - 1
"""Largest accepted paging offset (the database takes 64-bit, we bound earlier)."""
TIME_HELP = (
    "ISO 8601 date or time; without a zone (2026-01-01, 2026-01-01T08:00) it is "
    "local time in GRIDGEO_TIMEZONE (default Asia/Shanghai)."
)
MAX_SEED = 2**32 - 1
"""Largest accepted random seed."""


def _walk_strings(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        problem = control_character(value, allow_whitespace=True)
        return f"{path}: {problem} is not allowed" if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _walk_strings(str(key), path) or _walk_strings(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _walk_strings(item, f"{path}[{i}]")
            if found:
                return found
    return None


def _safe_str(value: str) -> str:
    problem = control_character(value)
    if problem is not None:
        raise ValueError(f"{problem} is not allowed")
    return value


def _safe_text(value: str) -> str:
    problem = control_character(value, allow_whitespace=True)
    if problem is not None:
        raise ValueError(f"{problem} is not allowed")
    return value


SafeStr = Annotated[str, AfterValidator(_safe_str)]
"""A string without control characters (codes, names, parameters)."""
SafeText = Annotated[str, AfterValidator(_safe_text)]
"""Free text: tab and line breaks allowed, NUL and other controls refused."""
Number = Annotated[float, Strict(), AllowInfNan(False)]
"""A finite JSON number; booleans and numeric strings are refused."""


class RequestBody(BaseModel):
    """Base of JSON request bodies: strict finite numbers, no control characters.

    Numeric fields use :data:`Number` (strict and finite); every string,
    also inside lists and objects, is refused when it holds NUL or another
    control character (tab and line breaks are allowed in free text).
    """

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        problem = _walk_strings(value, info.field_name or "value")
        if problem is not None:
            raise ValueError(problem)
        return value


def localize(value: datetime | None, zone: str) -> datetime | None:
    """Give a naive time the zone ``zone``; aware times are returned unchanged.

    Parameters
    ----------
    value : datetime or None
    zone : str
        IANA zone name, e.g. ``"Asia/Shanghai"``.

    Examples
    --------
    >>> localize(datetime(2026, 1, 1), "Asia/Shanghai").isoformat()
    '2026-01-01T00:00:00+08:00'
    """
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


def _control_in_target(scope: Scope) -> str | None:
    path = scope.get("path", "")
    problem = control_character(path)
    if problem is not None:
        return f"path {excerpt(path)}: {problem} is not allowed"
    raw = scope.get("query_string", b"")
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    for key, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"):
        for part in (key, value):
            problem = control_character(part)
            if problem is not None:
                return f"query parameter {excerpt(key, 40)}: {problem} is not allowed"
    return None


def _json_body(status: int, code: str, message: str) -> bytes:
    return json.dumps({"error": code, "detail": message}, ensure_ascii=False).encode()


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Refuse control characters in the request target; never let an error escape.

    Parameters
    ----------
    app : ASGI application
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _control_in_target(scope)
        if problem is not None:
            await _respond(send, 422, _json_body(422, "invalid_input", problem))
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error on %s", scope.get("path"))
            if started:
                raise
            await _respond(send, 500, _json_body(500, "internal_error", "internal server error"))
