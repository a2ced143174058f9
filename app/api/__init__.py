"""The FastAPI application factory: one router per capability, the engine opened in the lifespan."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import xstatic.pkg.leaflet
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__, security
from app.api import audit, auth, exemptions, health, io, joint, metrics, ogc, programme, tiles, users, web
from app.db.engine import make_engine
from app.errors import RenewalError
from app.settings import PROJECT_ROOT, Settings, get_settings

log = logging.getLogger("renewal")


def _error(status: int, code: str, detail: str, field: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    """The one JSON error body of the API."""
    return JSONResponse({"code": code, "detail": detail, "field": field}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Translate domain, validation and database errors into the JSON error body."""

    @app.exception_handler(RenewalError)
    async def domain_error(_: Request, err: RenewalError) -> JSONResponse:
        return _error(err.status, err.code, err.detail, err.field, getattr(err, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(err.status_code, "HTTPError")
        detail = "no such resource" if err.status_code == 404 else str(err.detail)
        return _error(err.status_code, code, detail, None, dict(err.headers) if err.headers else None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body")]
        return _error(400, "InvalidParameterValue", f"{'.'.join(loc) or 'request'}: {first.get('msg')}",
                      loc[-1] if loc else None)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_down(_: Request, err: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", str(err).splitlines()[0])
        return _error(503, "DatabaseUnavailable", "the database does not answer; try again shortly")

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, err: DBAPIError) -> JSONResponse:
        incident = uuid.uuid4().hex[:12]
        log.error("database error %s: %s", incident, err)
        return _error(500, "InternalError", f"internal error, incident {incident}")

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, err: Exception) -> JSONResponse:
        incident = uuid.uuid4().hex[:12]
        log.exception("unexpected error %s", incident, exc_info=err)
        return _error(500, "InternalError", f"internal error, incident {incident}")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (default: the environment's)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings)
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="renewal: 老旧工业区块改造提升 spatial planning",
        version=__version__,
        description="Parcels, blocks and towns of Cixi's old industrial block renovation programme. "
        f"Areas in m² (planar, storage CRS EPSG:{settings.srid}) and 亩 (m² × 15 / 10000).",
        lifespan=lifespan,
        telemetry=None if settings.otel else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(ogc.router)
    app.include_router(io.router)
    app.include_router(web.router)
    app.include_router(tiles.router)
    app.include_router(joint.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(audit.router)
    app.include_router(exemptions.router)
    app.include_router(programme.router)
    # read gate, body limits, CORS and headers, with the tile fast path in front of them all
    security.install(app, settings, front=lambda stack: tiles.TileFastPath(stack, settings, app.state))
    app.mount("/static/leaflet", StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "web"), name="web")
    return app
