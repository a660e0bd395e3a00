"""In-memory locate indexes per generation, shared by the API's requests.

The active generation's index is built at start-up and rebuilt when another
generation is published: the new index is built completely and then swapped
in with one reference assignment, so no reader ever sees a half-built index.
Other processes notice a publish within ``refresh_seconds`` (a background
task polls the published generation's id); the publishing process swaps at
once. Indexes of older generations (for ``at=`` queries) are built on demand
and kept in a small LRU cache.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gridgeo.errors import InvalidInput, NotFound
from gridgeo.locate import LocateIndex
from gridgeo.store.generations import active_generation
from gridgeo.store.models import Generation
from gridgeo.workflows.planner import index_for_generation

log = logging.getLogger("gridgeo.api.indexes")


class IndexRegistry:
    """Locate indexes keyed by generation id, with the active one pinned.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    cache_size : int
        How many non-active generations' indexes to keep.
    """

    def __init__(self, engine: Engine, cache_size: int = 3) -> None:
        self._engine = engine
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._others: OrderedDict[int, LocateIndex] = OrderedDict()
        self._active: tuple[int, LocateIndex] | None = None
        self._failing = False
        self._failed: tuple[int, str] | None = None

    def _build(self, session: Session, generation_id: int) -> LocateIndex:
        index = index_for_generation(session, generation_id)
        log.info(
            "locate index for generation %s: %d units, %.1f MB",
            generation_id,
            len(index),
            index.memory_bytes() / 1e6,
        )
        return index

    def stage(self, generation_id: int, index: LocateIndex) -> None:
        """Keep an index built elsewhere (by a publish) for the next :meth:`refresh`."""
        with self._lock:
            self._remember(generation_id, index)

    def refresh(self, session: Session | None = None) -> int | None:
        """Make the published generation's index the active one (build if needed).

        A generation whose index cannot be built is tried once, logged, and
        reported by :meth:`failure`; the last good index keeps serving (and
        ``/healthz`` reports the mismatch as degraded).

        Returns
        -------
        int or None
            The active generation id, ``None`` when nothing is published.
        """
        if session is None:
            with Session(self._engine) as own:
                return self.refresh(own)
        published = session.scalar(select(Generation.id).where(Generation.status == "published"))
        if published is None:
            self._active = None
            return None
        current = self._active
        if current is not None and current[0] == published:
            return published
        failed = self._failed
        if failed is not None and failed[0] == published:
            return current[0] if current is not None else None
        with self._lock:
            index = self._others.pop(published, None)
            if index is None:
                try:
                    index = self._build(session, published)
                except InvalidInput as exc:
                    self._failed = (published, str(exc))
                    log.error("no locate index for published generation %s: %s", published, exc)
                    return current[0] if current is not None else None
            if current is not None:
                self._remember(*current)
            self._active = (published, index)  # the atomic swap
            self._failed = None
        return published

    def failure(self) -> tuple[int, str] | None:
        """The published generation whose index could not be built, and why."""
        return self._failed

    def active_id(self) -> int | None:
        """Id of the generation the active index serves (no database access)."""
        current = self._active
        return None if current is None else current[0]

    def _remember(self, generation_id: int, index: LocateIndex) -> None:
        self._others[generation_id] = index
        self._others.move_to_end(generation_id)
        while len(self._others) > self._cache_size:
            self._others.popitem(last=False)

    def loaded_active(self) -> LocateIndex | None:
        """The active generation's index if it is built (no database access)."""
        current = self._active
        return None if current is None else current[1]

    def active(self, session: Session) -> LocateIndex:
        """Return the active generation's index.

        Raises
        ------
        NotFound
            Nothing is published.
        """
        current = self._active
        if current is None:
            self.refresh(session)
            current = self._active
        if current is None:
            raise NotFound("no generation has been published yet")
        return current[1]

    def at(self, session: Session, when: datetime) -> LocateIndex:
        """Return the index of the generation that was active at ``when``."""
        generation = active_generation(session, when)
        current = self._active
        if current is not None and current[0] == generation.id:
            return current[1]
        with self._lock:
            index = self._others.get(generation.id)
            if index is None:
                index = self._build(session, generation.id)
                self._remember(generation.id, index)
            else:
                self._others.move_to_end(generation.id)
        return index

    async def poll(self, every_seconds: float) -> None:
        """Refresh forever (run as a background task of the app's lifespan).

        A failure (typically the database being down) is logged once, as one
        warning line without a traceback, and its end once ("recovered"); the
        last good index keeps serving in between.
        """
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as exc:  # noqa: BLE001 - keep serving the last good index
                if not self._failing:
                    log.warning(
                        "could not refresh the locate index (%s); serving the last index "
                        "until the database answers again",
                        type(exc).__name__,
                    )
                self._failing = True
            else:
                if self._failing:
                    log.warning("locate index refresh recovered; the database answers again")
                self._failing = False
