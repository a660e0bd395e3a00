"""The one place where errors become HTTP responses.

gridgeo errors map to their ``status_code``; request validation to 422;
database connection failures to 503; constraint and data errors to 409 /
422 naming the constraint (never the SQL); anything else to a bare 500 that never
echoes the exception.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridgeo.errors import GridgeoError
from gridgeo.store.db import translate_error
from gridgeo.text import bounded

log = logging.getLogger("gridgeo.api")

DATABASE_DOWN = (
    "the database is unavailable; check that PostGIS is running "
    "(`gridgeo db up`) or GRIDGEO_DATABASE_URL"
)


MAX_MESSAGE_CHARS = 2000
"""Longest ``detail`` sent; inputs are quoted as bounded excerpts well below this."""


def error_body(status: int, code: str, message: str, details: object = None) -> dict[str, object]:
    """Build the JSON body of an error response."""
    body: dict[str, object] = {"error": code, "detail": bounded(message, MAX_MESSAGE_CHARS)}
    if details is not None:
        body["details"] = bounded(jsonable_encoder(details))
    return body


async def _gridgeo_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridgeoError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if exc.status_code >= 500 and exc.status_code != 503:
        log.error("gridgeo error on %s: %s", request.url.path, exc.message)
        return JSONResponse(error_body(500, "internal_error", "internal server error"), 500)
    return JSONResponse(
        error_body(exc.status_code, exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    message = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)
    return JSONResponse(error_body(422, "invalid_input", message, problems), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(exc.status_code, code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _is_connection_failure(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError) or exc.connection_invalidated


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if _is_connection_failure(exc):
        log.warning("database unavailable on %s", request.url.path)
        return JSONResponse(error_body(503, "database_unavailable", DATABASE_DOWN), 503)
    mapped = translate_error(exc)
    if mapped is not None:
        return JSONResponse(
            error_body(mapped.status_code, mapped.code, mapped.message, mapped.details),
            status_code=mapped.status_code,
        )
    log.exception("database error on %s", request.url.path)
    return JSONResponse(error_body(500, "internal_error", "internal server error"), 500)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return JSONResponse(error_body(500, "internal_error", "internal server error"), 500)


def install_error_handlers(app: FastAPI) -> None:
    """Register every exception handler of the API on ``app``."""
    app.add_exception_handler(GridgeoError, _gridgeo_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
