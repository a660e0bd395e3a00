"""Application factory: ``create_app(settings)`` builds the FastAPI app.

The lifespan owns the database engine (created at start-up, disposed at
shut-down); routers are thin and call gridgeo and the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

import gridgeo
from api.access import check_rules, enforce_access
from api.errors import install_error_handlers
from api.indexes import IndexRegistry
from api.routers import (
    analytics,
    baseline,
    codes,
    events,
    flags,
    generations,
    grids,
    health,
    locate,
    maps,
    ogc,
    tiles,
    tracks,
    users,
)
from api.schemas import install_contract
from api.validation import GuardMiddleware
from api.web import install_web_conventions
from gridgeo.heatmaps import STATIC_DIR
from gridgeo.settings import Settings
from gridgeo.store.db import make_engine
from gridgeo.tempdirs import remove_stale_temp_dirs
from gridgeo.workflows.analytics import AnalyticsData

log = logging.getLogger("gridgeo.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create the gridgeo API.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to settings read from the environment.

    Returns
    -------
    fastapi.FastAPI
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        removed = await asyncio.to_thread(remove_stale_temp_dirs)
        if removed:
            log.info("removed %d stale gridgeo temporary directories", len(removed))
        app.state.engine = make_engine(settings)
        app.state.indexes = IndexRegistry(app.state.engine)
        app.state.analytics = AnalyticsData(app.state.engine)
        try:
            await asyncio.to_thread(app.state.indexes.refresh)
        except Exception:  # noqa: BLE001 - the API starts even when the database is down
            log.warning("locate index not built at start-up", exc_info=True)
        poller = asyncio.create_task(app.state.indexes.poll(settings.index_refresh_seconds))
        try:
            yield
        finally:
            poller.cancel()
            app.state.engine.dispose()

    app = FastAPI(
        title="gridgeo",
        version=gridgeo.__version__,
        description="Grid boundaries, ownership lookup and analytics for "
        "grid-based community service management (网格化服务管理).",
        lifespan=lifespan,
        dependencies=[Depends(enforce_access)],
    )
    app.state.settings = settings
    app.state.tile_cache = tiles.TileCache(settings.tile_cache_size)
    install_error_handlers(app)
    install_web_conventions(app, settings)
    app.add_middleware(GuardMiddleware)
    app.include_router(health.router)
    app.include_router(locate.router, prefix="/v1")
    app.include_router(grids.router, prefix="/v1")
    app.include_router(codes.router, prefix="/v1")
    app.include_router(generations.router, prefix="/v1")
    app.include_router(events.router, prefix="/v1")
    app.include_router(analytics.router, prefix="/v1")
    app.include_router(flags.router, prefix="/v1")
    app.include_router(tracks.router, prefix="/v1")
    app.include_router(maps.router)
    app.include_router(flags.maps_router)
    app.mount("/maps/static", StaticFiles(directory=STATIC_DIR), name="map-assets")
    app.include_router(users.router, prefix="/v1")
    app.include_router(ogc.router)
    app.include_router(tiles.router)
    if settings.baseline_endpoints:
        app.include_router(baseline.router)
    check_rules(app)
    install_contract(app)
    return app
