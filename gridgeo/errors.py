"""Error hierarchy of gridgeo.

Every error a user can cause derives from :class:`GridgeoError` and carries
the HTTP status it maps to; the API translates them in one place
(:mod:`api.errors`) and the CLI prints their message and exits non-zero.
Messages name the problem (the field, row, code or rule) and never contain
tracebacks or internals.
"""

from __future__ import annotations

from typing import Any


class GridgeoError(Exception):
    """Base class for errors caused by input or state, with an HTTP status.

    Parameters
    ----------
    message : str
        Human-readable explanation naming what is wrong.
    details : Any, optional
        Machine-readable details (for example a list of offending rows).
    """

    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(GridgeoError):
    """Input that is malformed or violates a rule (HTTP 422)."""

    status_code = 422
    code = "invalid_input"


class CRSMismatch(InvalidInput):
    """Coordinates or geometries in an unexpected or unknown CRS (HTTP 422)."""

    code = "crs_mismatch"


class InvalidCode(InvalidInput):
    """A grid code that breaks a coding rule (HTTP 422)."""

    code = "invalid_code"


class NotFound(GridgeoError):
    """A requested object does not exist (HTTP 404)."""

    status_code = 404
    code = "not_found"


class Conflict(GridgeoError):
    """The request conflicts with the current state (HTTP 409)."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(GridgeoError):
    """An upload or batch above the configured limit (HTTP 413)."""

    status_code = 413
    code = "payload_too_large"


class Unauthorized(GridgeoError):
    """Missing or unknown bearer token (HTTP 401)."""

    status_code = 401
    code = "unauthorized"


class Forbidden(GridgeoError):
    """Authenticated, but the role or grid scope does not allow this (HTTP 403)."""

    status_code = 403
    code = "forbidden"


class DatabaseUnavailable(GridgeoError):
    """The database cannot be reached (HTTP 503)."""

    status_code = 503
    code = "database_unavailable"


class LocalDatabaseError(GridgeoError):
    """The project-local PostgreSQL cluster cannot be created or started."""

    status_code = 500
    code = "local_database"


class InvalidParameter(InvalidInput):
    """A query parameter that a web standard requires to answer 400 (OGC API bbox, crs, ...)."""

    status_code = 400
    code = "invalid_parameter"
