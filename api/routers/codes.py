"""``/v1/codes/{code}/history``: a code's appearances and lineage across generations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from api.deps import get_session
from api.schemas import CodeHistory, errors
from gridgeo.store.codes import code_history

router = APIRouter(tags=["codes"])


@router.get("/codes/{code}/history", response_model=CodeHistory, responses=errors(404, 422))
def get_code_history(
    code: str = Path(..., pattern=r"^[0-9]{6}([0-9]{3}){0,4}$", description="6–18 digit code."),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Registry state, generations holding the code, and split/merge lineage."""
    return code_history(session, code)
