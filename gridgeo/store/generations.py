"""Generations: draft → validated → published → superseded, and the code registry.

Publishing is one transaction that takes a database-wide advisory lock, so two
concurrent publishes are serialised and a failure leaves nothing half done.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridgeo.errors import Conflict, InvalidInput, NotFound
from gridgeo.store.models import CodeRegistry, Generation, GridUnit
from gridgeo.text import check_text, excerpt, is_ascii_digits

PUBLISH_LOCK = 7243002


def create_generation(
    session: Session,
    label: str | None = None,
    *,
    note: str | None = None,
    parent_id: int | None = None,
) -> Generation:
    """Create an empty draft generation.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    label : str, optional
        Unique human-readable label; defaults to ``draft-<id>``.
    note : str, optional
    parent_id : int, optional
        The generation this draft was derived from.

    Returns
    -------
    Generation
    """
    generation = Generation(
        label=label or f"pending-{datetime.now(UTC).timestamp()}",
        status="draft",
        note=note,
        parent_id=parent_id,
    )
    try:
        with session.begin_nested():
            session.add(generation)
    except IntegrityError as exc:
        raise Conflict(f"a generation labelled {label!r} already exists") from exc
    if label is None:
        generation.label = f"draft-{generation.id}"
        session.flush()
    return generation


_MAX_ID = 2**31 - 1


def get_generation(session: Session, ref: str | int) -> Generation:
    """Find a generation by id or label.

    Raises
    ------
    NotFound
    """
    generation = None
    text_ref = str(ref)
    check_text(text_ref, "generation")
    if isinstance(ref, int) or (len(text_ref) <= 12 and is_ascii_digits(text_ref)):
        number = int(ref)
        if 0 < number <= _MAX_ID:
            generation = session.get(Generation, number)
    if generation is None:
        generation = session.scalar(select(Generation).where(Generation.label == text_ref))
    if generation is None:
        raise NotFound(f"generation {excerpt(text_ref)} does not exist")
    return generation


def active_generation(session: Session, at: datetime | None = None) -> Generation:
    """Return the published generation, or the one that was active at ``at``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    at : datetime, optional
        Timezone-aware instant; ``None`` means now (the published generation).

    Raises
    ------
    NotFound
        Nothing was published (at that time).
    """
    if at is None:
        generation = session.scalar(select(Generation).where(Generation.status == "published"))
        if generation is None:
            raise NotFound("no generation has been published yet")
        return generation
    if at.tzinfo is None:
        raise InvalidInput("`at` must carry a timezone (e.g. 2026-01-01T00:00:00+08:00)")
    generation = session.scalar(
        select(Generation).where(
            Generation.valid_from <= at,
            (Generation.valid_to.is_(None)) | (Generation.valid_to > at),
        )
    )
    if generation is None:
        raise NotFound(f"no generation was active at {at.isoformat()}")
    return generation


def published_generation_id(session: Session) -> int | None:
    """Id of the published generation, None when nothing is published."""
    found: int | None = session.scalar(
        select(Generation.id).where(Generation.status == "published")
    )
    return found


def list_generations(session: Session) -> list[Generation]:
    """Return all generations, newest first."""
    return list(session.scalars(select(Generation).order_by(Generation.id.desc())))


def publish(
    session: Session,
    generation: Generation,
    *,
    at: datetime | None = None,
    forced_reason: str | None = None,
) -> Generation:
    """Publish a draft or validated generation atomically.

    The previous published generation becomes superseded with ``valid_to`` =
    the new ``valid_from``; codes of the new generation are registered, codes
    that disappear are retired (and can never be reused: the registry's
    triggers refuse it).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The caller commits (or rolls back) the transaction.
    generation : Generation
    at : datetime, optional
        Start of validity; now by default.
    forced_reason : str, optional
        Recorded when a planner publishes despite validation errors.

    Raises
    ------
    Conflict
        The generation is not a draft/validated one, is empty, or reuses a
        retired code.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUBLISH_LOCK})
    session.refresh(generation)
    if generation.status not in ("draft", "validated"):
        raise Conflict(f"generation {generation.label} is {generation.status}; cannot publish")
    count = session.scalar(
        select(func.count()).select_from(GridUnit).where(GridUnit.generation_id == generation.id)
    )
    if not count:
        raise Conflict(f"generation {generation.label} has no grid units")
    # clock_timestamp, not now(): a publish that waited for the lock is later in time
    now: datetime = at or session.execute(select(func.clock_timestamp())).scalar_one()
    previous = session.scalar(select(Generation).where(Generation.status == "published"))
    if previous is not None:
        if previous.valid_from is not None and now <= previous.valid_from:
            raise Conflict("a publish must be later than the current generation's valid_from")
        previous.status = "superseded"
        previous.valid_to = now
        session.flush()
    generation.status = "published"
    generation.valid_from = now
    generation.forced_reason = forced_reason
    session.flush()
    _register_codes(session, generation)
    return generation


def _register_codes(session: Session, generation: Generation) -> None:
    params = {"g": generation.id}
    retired = (
        session.execute(
            text(
                "SELECT u.code FROM grid_units u JOIN code_registry r USING (code) "
                "WHERE u.generation_id = :g AND r.status = 'retired' ORDER BY u.code LIMIT 5"
            ),
            params,
        )
        .scalars()
        .all()
    )
    if retired:
        raise Conflict(f"retired codes can never be reused: {', '.join(retired)}")
    session.execute(
        text(
            "INSERT INTO code_registry (code, level, kind, status, first_generation_id) "
            "SELECT code, level, kind, 'active', :g FROM grid_units WHERE generation_id = :g "
            "ON CONFLICT (code) DO NOTHING"
        ),
        params,
    )
    session.execute(
        update(CodeRegistry)
        .where(
            CodeRegistry.status == "active",
            ~CodeRegistry.code.in_(
                select(GridUnit.code).where(GridUnit.generation_id == generation.id)
            ),
        )
        .values(
            status="retired", retired_generation_id=generation.id, retired_at=generation.valid_from
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
