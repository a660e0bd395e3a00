"""Vector tiles of the published generation: ``/tiles/{z}/{x}/{y}.mvt`` and ``/tiles.json``.

Tiles are rendered by PostGIS (``ST_AsMVT``) and kept in a per-process LRU
cache keyed by generation and tile address; a publish changes the
generation, which empties the cache on the next request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import get_session
from api.schemas import TileJSON, errors
from api.web import cache_headers, generation_etag, not_modified
from gridgeo.errors import NotFound
from gridgeo.store.features import extents_by_level
from gridgeo.store.models import Generation
from gridgeo.store.tiles import MAX_ZOOM, TILE_LAYERS, mvt_tile

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"


class TileCache:
    """A thread-safe LRU of tiles of one generation.

    Parameters
    ----------
    size : int
        Most tiles kept (0 disables the cache).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._generation: int | None = None
        self._tiles: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, generation: int, key: tuple[int, int, int]) -> bytes | None:
        """Return a cached tile, emptying the cache when the generation changed."""
        with self._lock:
            if generation != self._generation:
                self._tiles.clear()
                self._generation = generation
            tile = self._tiles.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._tiles.move_to_end(key)
            self.hits += 1
            return tile

    def put(self, generation: int, key: tuple[int, int, int], tile: bytes) -> None:
        """Keep a tile of ``generation`` (ignored if another generation is current)."""
        with self._lock:
            if generation != self._generation or self.size == 0:
                return
            self._tiles[key] = tile
            while len(self._tiles) > self.size:
                self._tiles.popitem(last=False)

    def __len__(self) -> int:
        return len(self._tiles)


def _published_id(session: Session) -> int:
    found = session.scalar(select(Generation.id).where(Generation.status == "published"))
    if found is None:
        raise NotFound("no generation has been published yet")
    return int(found)


@router.get(
    "/tiles/{z}/{x}/{y}.mvt",
    summary="Vector tile of the published generation",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}, "description": "A Mapbox vector tile."},
        204: {"description": "No unit in this tile."},
        **errors(404, 422),
    },
)
def tile(
    request: Request,
    z: int = Path(..., ge=0, le=MAX_ZOOM, description=f"Zoom 0–{MAX_ZOOM}."),
    x: int = Path(..., ge=0, le=2**MAX_ZOOM, description="Column, 0 … 2^z − 1."),
    y: int = Path(..., ge=0, le=2**MAX_ZOOM, description="Row from the north, 0 … 2^z − 1."),
    session: Session = Depends(get_session),
) -> Response:
    """A Mapbox vector tile (layers per level; attributes code, name, level, kind).

    204 when no unit touches the tile; 404 when x or y lie outside zoom z.
    """
    if x >= 2**z or y >= 2**z:
        raise NotFound(f"tile {z}/{x}/{y} does not exist: x and y must be below {2**z} at zoom {z}")
    generation = _published_id(session)
    etag = generation_etag(request, generation)
    cached = not_modified(request, etag)
    if cached is not None:
        return cached
    cache: TileCache = request.app.state.tile_cache
    data = cache.get(generation, (z, x, y))
    if data is None:
        data = mvt_tile(session, generation, z, x, y)
        cache.put(generation, (z, x, y), data)
    headers = cache_headers(request, etag)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


@router.get(
    "/tiles.json",
    summary="TileJSON of the vector tiles",
    response_model=TileJSON,
    responses=errors(404),
)
def tilejson(request: Request, session: Session = Depends(get_session)) -> dict[str, Any]:
    """TileJSON 3.0.0: the tile URL template, zooms, bounds and layers."""
    generation = _published_id(session)
    boxes = [box for _, box in extents_by_level(session, generation).values()]
    base = str(request.base_url).rstrip("/")
    fields = {"code": "String", "name": "String", "level": "String", "kind": "String"}
    body: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": "gridgeo",
        "version": str(generation),
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "vector_layers": [
            {"id": name, "fields": fields, "minzoom": minzoom, "maxzoom": MAX_ZOOM}
            for name, _, minzoom in TILE_LAYERS
        ],
    }
    if boxes:
        body["bounds"] = [
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ]
    return body
