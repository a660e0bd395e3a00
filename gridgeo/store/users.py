"""API users and their bearer tokens (only SHA-256 hashes are stored)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridgeo.errors import Conflict, Forbidden, InvalidInput
from gridgeo.store.models import ROLES, User
from gridgeo.text import is_ascii_digits


def hash_token(token: str) -> str:
    """Return the stored form of a token (hex SHA-256; tokens are 256-bit random)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request.

    Attributes
    ----------
    name : str
    role : str
        One of planner, analyst, worker, admin.
    grid_codes : tuple of str
        For workers: the grids (and their micro-grids) they may write to.
    """

    name: str
    role: str
    grid_codes: tuple[str, ...] = field(default_factory=tuple)

    def require_grid(self, code: str) -> None:
        """Check that the caller may write to grid ``code``.

        Admins and planners may write anywhere; a worker only inside the grids
        bound to the token (a micro-grid belongs to the grid that prefixes it).

        Raises
        ------
        Forbidden
            When a worker writes outside their grids.
        """
        if self.role != "worker":
            return
        if not any(code.startswith(own) for own in self.grid_codes):
            raise Forbidden(
                f"worker {self.name!r} is bound to grids {', '.join(self.grid_codes) or '(none)'}"
                f" and may not write to grid {code}"
            )


def add_user(
    session: Session, name: str, role: str, grid_codes: list[str] | None = None
) -> tuple[User, str]:
    """Create a user and return it with its token (shown once, stored hashed).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    name : str
        Unique user name.
    role : str
        planner, analyst, worker or admin.
    grid_codes : list of str, optional
        Grids a worker is bound to (required for workers).

    Returns
    -------
    (User, str)
        The new row and the clear-text token.

    Raises
    ------
    InvalidInput
        Unknown role, empty name, or a worker without grids.
    Conflict
        A user of that name exists.
    """
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not name.strip():
        raise InvalidInput("user name must not be empty")
    codes = list(grid_codes or [])
    if role == "worker" and not codes:
        raise InvalidInput("a worker must be bound to at least one grid (--grid CODE)")
    bad = [c for c in codes if not is_ascii_digits(c) or len(c) not in (15, 18)]
    if bad:
        raise InvalidInput(f"grid codes must be 15 or 18 digits: {', '.join(bad)}")
    token = "ggt_" + secrets.token_urlsafe(32)
    user = User(name=name, role=role, token_hash=hash_token(token), grid_codes=codes)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise Conflict(f"a user named {name!r} already exists") from exc
    return user, token


def principal_for_token(session: Session, token: str) -> Principal | None:
    """Return the caller a token belongs to, or ``None`` for an unknown token."""
    user = session.scalar(
        select(User).where(User.token_hash == hash_token(token), User.disabled.is_(False))
    )
    if user is None:
        return None
    return Principal(name=user.name, role=user.role, grid_codes=tuple(user.grid_codes or ()))


def list_users(session: Session) -> list[User]:
    """Return all users ordered by name."""
    return list(session.scalars(select(User).order_by(User.name)))
