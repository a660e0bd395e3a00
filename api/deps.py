"""Request dependencies: database sessions, settings and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from gridgeo.errors import Forbidden, Unauthorized
from gridgeo.settings import Settings
from gridgeo.store.users import Principal, principal_for_token

bearer = HTTPBearer(auto_error=False)


def get_settings(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Yield a session that commits when the request succeeds and rolls back otherwise."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_principal(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    session: Session = Depends(get_session),
) -> Principal:
    """Authenticate the caller from ``Authorization: Bearer <token>``.

    Raises
    ------
    Unauthorized
        Missing, malformed or unknown token.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("this endpoint requires `Authorization: Bearer <token>`")
    principal = principal_for_token(session, credentials.credentials)
    if principal is None:
        raise Unauthorized("unknown or disabled token")
    return principal


def require_role(*roles: str) -> Callable[..., Principal]:
    """Build a dependency admitting callers with one of ``roles`` (admins always).

    Parameters
    ----------
    *roles : str
        Allowed roles.

    Returns
    -------
    callable
        A FastAPI dependency returning the :class:`Principal`.
    """

    def dependency(principal: Principal = Depends(get_principal)) -> Principal:
        if principal.role != "admin" and principal.role not in roles:
            raise Forbidden(
                f"role {principal.role!r} may not do this; it needs one of: "
                + ", ".join(sorted({*roles, "admin"}))
            )
        return principal

    return dependency
