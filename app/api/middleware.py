"""The ASGI middleware every request passes, all of it plain ASGI (no response buffering, cheap for tiles).

``install(app, settings)`` adds, from the outside in:

1. :class:`SecurityHeaders`: on every response (errors, tiles and static files included) a Content Security
   Policy that allows only the service itself plus the configured basemap's origin for images, and
   ``nosniff``, ``DENY`` framing, ``no-referrer``, a closed permissions policy, and HSTS over https; ``Vary:
   Authorization`` on answers that depend on the token.
2. :class:`app.api.errors.ErrorGuard`: an exception no handler took becomes the JSON 500 with an incident id
   (inside the headers, so even a 500 carries them).
3. CORS, only when ``RENEWAL_CORS_ORIGINS`` names origins: closed by default (no ``Access-Control-*``).
4. :class:`BodyGuard`: request bodies over ``RENEWAL_MAX_BODY_BYTES`` get 413 (``POST /api/import`` has its
   own, larger limit and streams to disk); NUL characters, which PostgreSQL text cannot hold, are refused
   with 400 in paths, query strings and JSON or form bodies.
5. :class:`ReadGate`: bearer tokens decoded once (401 when invalid or expired) and the principal left in the
   request state for the routes; with ``RENEWAL_READ_REQUIRES_LOGIN`` on, a request without a token gets 401,
   except for what a browser needs to show the login (the pages and their assets, the map configuration,
   the login itself, the health check and the API documentation).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import STATE_KEY
from app.api.errors import ErrorGuard, send_error
from app.auth import tokens
from app.errors import Unauthorized
from app.settings import Settings

DOCS_PATHS = ("/docs", "/redoc")
"""The API documentation pages: their CSP also allows the inline script that starts Swagger UI and ReDoc."""
BODY_LIMIT_EXEMPT = frozenset({"/api/import"})
"""Paths whose body limit is their own (the import streams to disk and stops at its configured size)."""
VARY_PREFIXES = ("/api/", "/ogc")
"""Paths whose answers depend on the token (money figures hidden from anonymous readers)."""
EXPOSED_HEADERS = ["ETag", "Retry-After", "Content-Crs", "X-Feature-Count", "X-Crs", "X-Truncated-Values"]


def basemap_source(url: str | None) -> str | None:
    """The CSP source of a basemap URL template: ``https://{s}.tile.example.org/{z}/{x}/{y}.png`` →
    ``https://*.tile.example.org``; a scheme alone when the host cannot be expressed; None without one."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    if "*" in host.lstrip("*"):
        return f"{parts.scheme}:"
    if host.startswith("*") and not host.startswith("*."):
        return f"{parts.scheme}:"
    if not re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+(:\d+)?", host):
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{host}"


def content_security_policy(settings: Settings, *, docs: bool = False) -> str:
    """The CSP of the service: its own origin only, images also from the basemap."""
    img = ["'self'", "data:", "blob:"]
    basemap = basemap_source(settings.basemap_url)
    if basemap:
        img.append(basemap)
    script, style = ["'self'"], ["'self'", "'unsafe-inline'"]  # inline styles: Leaflet and the OGC HTML pages
    if docs:
        script.append("'unsafe-inline'")
    return "; ".join([
        "default-src 'self'", f"script-src {' '.join(script)}", f"style-src {' '.join(style)}",
        f"img-src {' '.join(img)}", "connect-src 'self'", "font-src 'self'", "worker-src 'self' blob:",
        "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
    ])


class SecurityHeaders:
    """Add the security headers to every response."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.extra: dict[tuple[bool, bool], list[tuple[bytes, bytes]]] = {}  # (docs page, https) → headers
        for docs in (False, True):
            for https in (False, True):
                self.extra[docs, https] = [
                    (b"content-security-policy", content_security_policy(settings, docs=docs).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"permissions-policy", b"geolocation=(), camera=(), microphone=(), payment=(), usb=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    *([(b"strict-transport-security", b"max-age=31536000")] if https else []),
                ]

    def with_headers(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """``headers`` with the security headers added (those the application set itself are kept)."""
        path: str = scope.get("path", "")
        have = {k.lower() for k, _ in headers}
        extra = self.extra[path in DOCS_PATHS, scope.get("scheme") == "https"]
        out = headers + [(k, v) for k, v in extra if k not in have]
        if path.startswith(VARY_PREFIXES):  # these answers depend on the token (money figures): caches key on it
            vary = [i for i, (k, _) in enumerate(out) if k.lower() == b"vary"]
            if vary:
                k, v = out[vary[0]]
                if b"authorization" not in v.lower():
                    out[vary[0]] = (k, v + b", Authorization")
            else:
                out.append((b"vary", b"Authorization"))
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the application, adding headers to its response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self.with_headers(scope, list(message.get("headers", ())))}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Refused(Exception):
    """The request body broke a rule; the guard answers instead of the application."""


_JSON_NUL = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")
_FORM_NUL = re.compile(rb"%00")


class BodyGuard:
    """413 for request bodies over the limit; 400 for NUL characters in the path, query or a JSON/form body."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: frozenset[str] = BODY_LIMIT_EXEMPT) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check what can be checked up front, then watch the body as the application reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope.get("path", "") or b"\x00" in query or _FORM_NUL.search(query):
            await self._answer(send, 400, "InvalidParameterValue", "NUL characters are not accepted in the URL")
            return
        if scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        declared, kind, chunked = None, b"", False
        for key, value in scope["headers"]:
            if key == b"content-length":
                declared = value
            elif key == b"content-type":
                kind = value.split(b";")[0].strip().lower()
            elif key == b"transfer-encoding":
                chunked = True
        if declared in (None, b"0") and not chunked:  # no body to watch (tiles, every GET)
            await self.app(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        pattern = _JSON_NUL if kind.endswith(b"json") else _FORM_NUL if kind.endswith(b"x-www-form-urlencoded") \
            else None
        problem: str | None = None
        seen = 0
        tail = b""

        async def guarded_receive() -> Message:
            nonlocal problem, seen, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk: bytes = message.get("body", b"")
                seen += len(chunk)
                if seen > self.max_bytes:
                    problem = "too_large"
                    raise _Refused
                if pattern is not None and chunk:
                    if pattern.search(tail + chunk):
                        problem = "nul"
                        raise _Refused
                    tail = (tail + chunk)[-64:]
            return message

        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if problem is not None:
                if not started and message["type"] == "http.response.start":
                    started = True
                    await self._replace_problem(send, problem)
                return  # the application's own answer to the cut-off body is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except _Refused:
            if not started:
                await self._replace_problem(send, problem)
            return
        except Exception:
            if problem is not None and not started:
                await self._replace_problem(send, problem)
                return
            raise

    async def _replace_problem(self, send: Send, problem: str | None) -> None:
        """413 or 400 for what the body broke, instead of the application's response."""
        if problem == "too_large":
            await self._too_large(send)
        else:
            await self._answer(send, 400, "InvalidParameterValue", "NUL characters are not accepted in the body")

    async def _too_large(self, send: Send) -> None:
        """The 413 answer."""
        await self._answer(send, 413, "PayloadTooLarge",
                           f"the request body is larger than the limit of {self.max_bytes} bytes")

    @staticmethod
    async def _answer(send: Send, status: int, code: str, detail: str) -> None:
        """Send a JSON error."""
        await send_error(send, status, code, detail)


OPEN_PATHS = frozenset({"/", "/dashboard", "/config.json", "/healthz", "/api/auth/token", "/openapi.json", "/docs",
                        "/docs/oauth2-redirect", "/redoc", "/favicon.ico"})
"""Paths answered without a token even when reading requires a login."""
OPEN_PREFIXES = ("/static/",)


def is_open(path: str) -> bool:
    """Whether ``path`` is answered without a token whatever the configuration."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class ReadGate:
    """Decode bearer tokens once; with reading behind a login, refuse requests that have none."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its principal, or answer 401."""
        if scope["type"] != "http" or is_open(scope.get("path", "")) or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        authorization = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            token = tokens.bearer_token(authorization)
            principal = tokens.decode(self.settings, token) if token is not None else None
            if principal is None and self.settings.read_requires_login:
                raise Unauthorized("log in to read: this service requires an account (POST /api/auth/token)")
        except Unauthorized as err:
            await send_error(send, err.status, err.code, err.detail, err.field, err.headers)
            return
        scope.setdefault("state", {})[STATE_KEY] = principal
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the middleware of this module around the application's routes (the last added is the outermost)."""
    app.add_middleware(ReadGate, settings=settings)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match"],
                           expose_headers=EXPOSED_HEADERS, allow_credentials=False, max_age=600)
    app.add_middleware(ErrorGuard)
    app.add_middleware(SecurityHeaders, settings=settings)
