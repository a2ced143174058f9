"""``ReadGate``: the ASGI middleware that checks bearer tokens before routing, for every path at once.

The OGC API and the JSON API pass through it; tiles are answered in front of it by ``TileFastPath``, which
applies the same rule and sends on what it would refuse. A request that carries a token has it decoded once
(401 when it is invalid or expired) and the principal left in the request state for the routes. With
``RENEWAL_READ_REQUIRES_LOGIN`` on, a request without a token gets 401, except for what a browser needs to
show the login: the page and its assets, the map configuration, the login itself, the health check and the
API documentation.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from app.auth import tokens
from app.auth.deps import STATE_KEY
from app.errors import Unauthorized
from app.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/", "/dashboard", "/config.json", "/healthz", "/api/auth/token", "/openapi.json", "/docs",
                        "/docs/oauth2-redirect", "/redoc", "/favicon.ico"})
"""Paths answered without a token even when reading requires a login."""
OPEN_PREFIXES = ("/static/",)


def is_open(path: str) -> bool:
    """Whether ``path`` is answered without a token whatever the configuration."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


async def send_error(send: Send, err: Unauthorized) -> None:
    """The API's JSON error body for ``err``, sent from ASGI."""
    body = json.dumps(err.body(), ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items())]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
            await send_error(send, err)
            return
        scope.setdefault("state", {})[STATE_KEY] = principal
        await self.app(scope, receive, send)
