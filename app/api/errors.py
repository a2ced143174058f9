"""The API's one JSON error body ``{"code", "detail", "field"}``: domain errors, validation, database, the rest.

Handlers registered on the application translate domain errors (:class:`app.errors.RenewalError`, which
carry their status and code), FastAPI's validation errors, HTTP errors and database errors; the
:class:`ErrorGuard` middleware answers any other exception as a 500 with an incident id (logged with its
traceback, never shown), inside the security headers. Under ``/ogc``, where resources also come as HTML,
a request for HTML (``f=html``, or a browser's ``Accept``) gets the same error as an HTML page.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.ogc import html as ogc_html
from app.errors import RenewalError, error_body

log = logging.getLogger("renewal")

UNAVAILABLE_DETAIL = "the database does not answer; try again shortly"


def error_response(status: int, code: str, detail: str, field: str | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON error body as a response."""
    return JSONResponse(error_body(code, detail, field), status_code=status, headers=dict(headers or {}))


_OGC = "/ogc"


def _ogc_html(request: Request) -> bool:
    """Whether the request is for an OGC API resource as HTML (whose errors are pages too)."""
    path, root = request.scope.get("path", ""), request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    if path != _OGC and not path.startswith(_OGC + "/"):
        return False
    return ogc_html.wants_html(request.query_params.get("f"), request.headers.get("accept", ""))


def answer(request: Request, status: int, code: str, detail: str, field: str | None = None,
           headers: Mapping[str, str] | None = None) -> Response:
    """The error as the request reads it: an HTML page for the OGC API's HTML, else the JSON error body."""
    if _ogc_html(request):
        home = str(request.base_url).rstrip("/") + _OGC
        return HTMLResponse(ogc_html.error_page(status, code, detail, home), status_code=status,
                            headers=dict(headers or {}))
    return error_response(status, code, detail, field, headers)


def incident(message: str, err: BaseException, *, traceback: bool = False) -> JSONResponse:
    """A 500 whose details are logged under a new incident id that the answer names."""
    tag = uuid.uuid4().hex[:12]
    log.error("%s %s: %s", message, tag, err, exc_info=err if traceback else None)
    return error_response(500, "InternalError", f"internal error, incident {tag}")


async def send_error(send: Send, status: int, code: str, detail: str, field: str | None = None,
                     headers: Mapping[str, str] | None = None) -> None:
    """Send the JSON error body from ASGI middleware (which answers before any route)."""
    body = json.dumps(error_body(code, detail, field), ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def install_error_handlers(app: FastAPI) -> None:
    """Translate domain, validation, HTTP and database errors into the JSON error body."""

    @app.exception_handler(RenewalError)
    async def domain_error(request: Request, err: RenewalError) -> Response:
        return answer(request, err.status, err.code, err.detail, err.field, getattr(err, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(err.status_code, "HTTPError")
        detail = "no such resource" if err.status_code == 404 else str(err.detail)
        return answer(request, err.status_code, code, detail, None, err.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> Response:
        first = err.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body")]
        return answer(request, 400, "InvalidParameterValue", f"{'.'.join(loc) or 'request'}: {first.get('msg')}",
                      loc[-1] if loc else None)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_down(_: Request, err: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", str(err).splitlines()[0])
        return error_response(503, "DatabaseUnavailable", UNAVAILABLE_DETAIL)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(asyncpg.PostgresError)
    async def database_error(_: Request, err: Exception) -> JSONResponse:
        return incident("database error", err)


class ErrorGuard:
    """Pure ASGI middleware: an exception no handler took becomes the JSON 500 with an incident id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the application; answer a 500 if it fails before its response started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as err:
            if started:
                raise
            response = incident("unexpected error", err, traceback=True)
            await response(scope, receive, send)
