"""The API's one JSON error body ``{"code", "detail", "field", "messages"}``: domain errors, validation,
database, the rest, each in the language the request asks for.

Handlers registered on the application translate domain errors (:class:`app.errors.RenewalError`, which
carry their status and code), FastAPI's validation errors, HTTP errors and database errors; the
:class:`ErrorGuard` middleware answers any other exception as a 500 with an incident id (logged with its
traceback, never shown), inside the security headers. Under ``/ogc``, where resources also come as HTML,
a request for HTML (``f=html``, or a browser's ``Accept``) gets the same error as an HTML page.

``detail`` is in the language of the request's ``Accept-Language`` (:func:`negotiate`: Chinese or English,
English by default), said by ``Content-Language`` (with ``Vary: Accept-Language``); ``messages`` holds the
sentence in both, ``{"zh": …, "en": …}``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.messages import validation_zh
from app.api.ogc import html as ogc_html
from app.errors import CONTENT_LANGUAGE, Language, RenewalError, error_body

log = logging.getLogger("renewal")

UNAVAILABLE = ("the database does not answer; try again shortly", "数据库没有响应，请稍后再试")
"""The 503 of an unreachable database: English, Chinese."""

DEFAULT_LANGUAGE: Language = "en"
"""The language of an answer to a request whose Accept-Language names neither Chinese nor English (or is
missing): machine clients read English; the web UI always asks for its own language."""


def negotiate(accept_language: str | None) -> Language:
    """The language of the answer (RFC 9110 §12.5.4): the ``Accept-Language`` entry of highest q (the first
    of equal ones) that is Chinese (``zh``, ``zh-CN``, ``zh-Hans``…) or English (``en``…); ``*`` and no such
    entry mean :data:`DEFAULT_LANGUAGE`; an entry of q=0 is refused, a malformed q is ignored."""
    ranked: list[tuple[float, int, str]] = []
    for n, entry in enumerate((accept_language or "").split(",")):
        tag, *params = (p.strip() for p in entry.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1.0
        if tag and 0 < q <= 1:
            ranked.append((-q, n, tag.lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in ("zh", "en"):
            return "zh" if primary == "zh" else "en"
        if tag == "*":
            return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def scope_language(scope: Scope) -> Language:
    """The language an ASGI request asks for (:func:`negotiate` on its ``Accept-Language``)."""
    for key, value in scope.get("headers", ()):
        if key == b"accept-language":
            return negotiate(value.decode("latin-1"))
    return DEFAULT_LANGUAGE


def language_headers(lang: Language, zh: str | None) -> dict[str, str]:
    """``Content-Language`` of an error answer (English when the Chinese sentence is missing) and ``Vary``."""
    return {"Content-Language": CONTENT_LANGUAGE[lang if zh else "en"], "Vary": "Accept-Language"}


def error_response(status: int, code: str, detail: str, field: str | None = None,
                   headers: Mapping[str, str] | None = None, *, zh: str | None = None, lang: Language = "en",
                   extra: Mapping[str, Any] | None = None) -> JSONResponse:
    """The JSON error body in ``lang`` (with ``extra`` keys, e.g. an import's report) as a response."""
    return JSONResponse({**error_body(code, detail, field, zh=zh, lang=lang), **(extra or {})}, status_code=status,
                        headers={**(headers or {}), **language_headers(lang, zh)})


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
           headers: Mapping[str, str] | None = None, *, zh: str | None = None) -> Response:
    """The error as the request reads it, in its language: an HTML page for the OGC API's HTML, else the JSON
    error body."""
    lang = scope_language(request.scope)
    if _ogc_html(request):
        home = str(request.base_url).rstrip("/") + _OGC
        text = zh if lang == "zh" and zh else detail
        return HTMLResponse(ogc_html.error_page(status, code, text, home), status_code=status,
                            headers={**(headers or {}), **language_headers(lang, zh)})
    return error_response(status, code, detail, field, headers, zh=zh, lang=lang)


def incident(message: str, err: BaseException, lang: Language, *, traceback: bool = False) -> JSONResponse:
    """A 500 whose details are logged under a new incident id that the answer names."""
    tag = uuid.uuid4().hex[:12]
    log.error("%s %s: %s", message, tag, err, exc_info=err if traceback else None)
    return error_response(500, "InternalError", f"internal error, incident {tag}", zh=f"内部错误，事件编号 {tag}",
                          lang=lang)


async def send_error(send: Send, status: int, code: str, detail: str, field: str | None = None,
                     headers: Mapping[str, str] | None = None, *, zh: str | None = None,
                     scope: Scope | None = None) -> None:
    """Send the JSON error body from ASGI middleware (which answers before any route), in the language the
    request in ``scope`` asks for (English without it; ``zh`` is the Chinese sentence)."""
    lang = scope_language(scope) if scope is not None else DEFAULT_LANGUAGE
    body = json.dumps(error_body(code, detail, field, zh=zh, lang=lang), ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           *((k.lower().encode("latin-1"), v.encode("latin-1"))
             for k, v in {**(headers or {}), **language_headers(lang, zh)}.items())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


_HTTP = {404: ("NotFound", "no such resource", "没有这个资源"),
         405: ("MethodNotAllowed", "method not allowed", "不支持该请求方法")}
"""Starlette's HTTP errors: code, English, Chinese."""


def install_error_handlers(app: FastAPI) -> None:
    """Translate domain, validation, HTTP and database errors into the JSON error body."""

    @app.exception_handler(RenewalError)
    async def domain_error(request: Request, err: RenewalError) -> Response:
        return answer(request, err.status, err.code, err.detail, err.field, getattr(err, "headers", None),
                      zh=err.zh)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        code, detail, zh = _HTTP.get(err.status_code, ("HTTPError", str(err.detail), None))
        return answer(request, err.status_code, code, detail, None, err.headers, zh=zh)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> Response:
        first = err.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body", "header", "cookie")]
        name = ".".join(loc)
        return answer(request, 400, "InvalidParameterValue", f"{name or 'request'}: {first.get('msg')}",
                      loc[-1] if loc else None, zh=validation_zh(first, name))

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_down(request: Request, err: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", str(err).splitlines()[0])
        return error_response(503, "DatabaseUnavailable", UNAVAILABLE[0], zh=UNAVAILABLE[1],
                              lang=scope_language(request.scope))

    @app.exception_handler(DBAPIError)
    @app.exception_handler(asyncpg.PostgresError)
    async def database_error(request: Request, err: Exception) -> JSONResponse:
        return incident("database error", err, scope_language(request.scope))


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
            response = incident("unexpected error", err, scope_language(scope), traceback=True)
            await response(scope, receive, send)
