"""The FastAPI application factory: one router per capability; the engine, the read pool and the tile service
are opened in the lifespan and kept in ``app.state`` with the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import xstatic.pkg.leaflet
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api import (
    audit,
    auth,
    docs,
    entry,
    exemptions,
    health,
    io,
    joint,
    metrics,
    middleware,
    ogc,
    programme,
    tiles,
    users,
    web,
)
from app.api.errors import install_error_handlers
from app.db.engine import make_engine
from app.db.pool import close_read_pool, create_read_pool
from app.ogc.collections import FeatureLayers
from app.settings import PROJECT_ROOT, Settings, get_settings
from app.tiles.service import TileService


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (default: the environment's)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings)
        app.state.pool = pool = await create_read_pool(settings)
        app.state.tiles = TileService(pool, settings.tiles, settings.rules, settings.srid)
        app.state.layers = FeatureLayers(pool)
        yield
        await close_read_pool(pool)
        app.state.engine.dispose()

    app = FastAPI(
        title="renewal: 老旧工业区块改造提升 spatial planning",
        version=__version__,
        description="Parcels, blocks and towns of Cixi's old industrial block renovation programme. "
        f"Areas in m² (planar, storage CRS EPSG:{settings.srid}) and 亩 (m² × 15 / 10000).",
        lifespan=lifespan,
        docs_url=None,  # served by app.api.docs with local assets
        redoc_url=None,
        telemetry=None if settings.otel else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_error_handlers(app)
    tiles.add_tile_route(app)  # first: routes are tried in order, and tiles are the most asked
    app.include_router(tiles.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(ogc.router)
    app.include_router(io.router)
    app.include_router(web.router)
    app.include_router(docs.router)
    app.include_router(joint.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(audit.router)
    app.include_router(exemptions.router)
    app.include_router(programme.router)
    app.include_router(entry.router)
    middleware.install(app, settings)
    app.mount("/static/leaflet", StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "web"), name="web")
    return app
