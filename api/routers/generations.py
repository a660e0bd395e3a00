"""Generations of boundaries (list for everyone, create drafts for planners)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from gridgeo.store.generations import create_generation, list_generations
from gridgeo.store.models import Generation
from gridgeo.store.users import Principal

router = APIRouter(tags=["generations"])


def generation_json(generation: Generation) -> dict[str, Any]:
    """Render a generation row as JSON."""
    return {
        "id": str(generation.id),
        "label": generation.label,
        "status": generation.status,
        "created_at": generation.created_at,
        "valid_from": generation.valid_from,
        "valid_to": generation.valid_to,
        "parent": str(generation.parent_id) if generation.parent_id else None,
        "note": generation.note,
        "forced_reason": generation.forced_reason,
    }


class DraftRequest(BaseModel):
    """Body of ``POST /v1/generations``."""

    label: str | None = Field(None, min_length=1, max_length=200)
    note: str | None = Field(None, max_length=2000)


@router.get("/generations")
def get_generations(session: Session = Depends(get_session)) -> list[dict[str, Any]]:
    """List all generations, newest first."""
    return [generation_json(g) for g in list_generations(session)]


@router.post("/generations", status_code=201)
def post_generation(
    body: DraftRequest,
    principal: Principal = Depends(require_role("planner")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Create an empty draft generation (planner)."""
    generation = create_generation(session, body.label, note=body.note)
    session.refresh(generation)
    return generation_json(generation)
