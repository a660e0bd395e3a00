"""Code registry and lineage queries: the history of one code across generations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgeo.errors import NotFound


def record_lineage(session: Session, generation_id: int, lineage: list[dict[str, str]]) -> int:
    """Store lineage records of a generation.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    generation_id : int
    lineage : list of dict
        Items with ``code``, ``related_code`` and ``relation`` (split_from,
        merged_into, replaced_by).

    Returns
    -------
    int
        Records written.
    """
    if lineage:
        session.execute(
            text(
                "INSERT INTO code_lineage (generation_id, code, related_code, relation) "
                "VALUES (:g, :code, :related_code, :relation)"
            ),
            [{"g": generation_id, **item} for item in lineage],
        )
    return len(lineage)


def code_history(session: Session, code: str) -> dict[str, Any]:
    """Return where a code appeared, its registry state and its lineage.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    code : str

    Returns
    -------
    dict
        ``code``, ``registry`` (status, first and retired generation or
        ``None``), ``generations`` (each generation holding the code, oldest
        first, with name and validity), ``lineage`` (records naming the code
        on either side).

    Raises
    ------
    NotFound
        The code never appeared in any generation.
    """
    appearances = [
        {
            "generation": str(row.id),
            "label": row.label,
            "status": row.status,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "name": row.name,
            "level": row.level,
            "kind": row.kind,
        }
        for row in session.execute(
            text(
                "SELECT g.id, g.label, g.status, g.valid_from, g.valid_to, u.name, u.level, "
                "u.kind FROM grid_units u JOIN generations g ON g.id = u.generation_id "
                "WHERE u.code = :c ORDER BY g.id"
            ),
            {"c": code},
        )
    ]
    registry_row = session.execute(
        text(
            "SELECT status, first_generation_id, retired_generation_id, retired_at "
            "FROM code_registry WHERE code = :c"
        ),
        {"c": code},
    ).first()
    lineage = [
        {
            "generation": str(row.generation_id),
            "code": row.code,
            "relation": row.relation,
            "related_code": row.related_code,
        }
        for row in session.execute(
            text(
                "SELECT generation_id, code, relation, related_code FROM code_lineage "
                "WHERE code = :c OR related_code = :c ORDER BY generation_id, id"
            ),
            {"c": code},
        )
    ]
    if not appearances and registry_row is None:
        raise NotFound(f"code {code} has never been used")
    registry = None
    if registry_row is not None:
        registry = {
            "status": registry_row.status,
            "first_generation": str(registry_row.first_generation_id),
            "retired_generation": (
                str(registry_row.retired_generation_id)
                if registry_row.retired_generation_id
                else None
            ),
            "retired_at": registry_row.retired_at,
        }
    return {"code": code, "registry": registry, "generations": appearances, "lineage": lineage}
