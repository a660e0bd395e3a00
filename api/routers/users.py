"""User administration (admin only)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from api.schemas import NewUserOut, UserOut, errors
from api.validation import RequestBody
from gridgeo.store.users import Principal, add_user, list_users

router = APIRouter(tags=["users"])


class NewUser(RequestBody):
    """Body of ``POST /v1/users``."""

    name: str = Field(..., min_length=1, max_length=200)
    role: Literal["planner", "analyst", "worker", "admin"]
    grids: list[str] = Field(
        default_factory=list, max_length=10_000, description="Grids a worker is bound to."
    )


@router.get("/users", response_model=list[UserOut])
def get_users(
    principal: Principal = Depends(require_role("admin")),
    session: Session = Depends(get_session),
) -> list[dict[str, Any]]:
    """List users (without tokens)."""
    return [
        {"name": u.name, "role": u.role, "grids": list(u.grid_codes or []), "disabled": u.disabled}
        for u in list_users(session)
    ]


@router.post("/users", status_code=201, response_model=NewUserOut, responses=errors(409, 422))
def post_user(
    body: NewUser,
    principal: Principal = Depends(require_role("admin")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Create a user; the token is returned once and stored hashed."""
    user, token = add_user(session, body.name, body.role, body.grids)
    return {"name": user.name, "role": user.role, "grids": list(user.grid_codes), "token": token}
