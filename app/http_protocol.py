"""uvicorn's httptools protocol with one socket write per response, and direct answers for vector tiles.

One write: uvicorn writes a response's status line and headers as soon as the application starts the
response, then the body when it comes; with uvloop each ``transport.write`` is a ``write(2)`` and, with
``TCP_NODELAY``, a TCP segment of its own. For small answers such as vector tiles (1–6 KiB) that second
system call and packet are a measurable share of the work on both ends (bench/bench_tiles.py: about 4% more
tiles per second at z17). Here the writes of one event-loop turn are gathered and handed to the transport
together at the end of that turn; a close flushes first.

Direct answers: a request that a layer of the application's ASGI chain offers to answer through its
``direct(method, path, headers, scheme)`` method (the tile fast path, :class:`app.api.tiles.TileFastPath`)
is answered without the ASGI request cycle: no scope, no message dicts, no send and receive callables, one
task. At z17 that cycle is about a quarter of the server's CPU per tile. Everything the protocol owes the
client stays as uvicorn does it: default headers (``server``, ``date``), keep-alive and ``Connection:
close``, pipelined requests answered in order, flow control, the access log, graceful shutdown. Requests
the direct path does not take (other methods, percent-encoded paths, ``Expect``, proxy headers, upgrades, a
concurrency limit) go the usual ASGI way, where the same layer answers them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("renewal.http")

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
"""Status, headers (lower-case names) and body of a direct answer; the body is dropped for HEAD."""
DirectRoute = Callable[[str, str, Iterable[tuple[bytes, bytes]], str], Awaitable[Reply] | None]
"""``direct(method, path, headers, scheme)``: the answer to a request, or None when it goes the ASGI way."""

_MAX_CHAIN = 16


class CoalescingTransport:
    """A transport whose writes within one loop turn go out as one write of the wrapped transport."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        """Queue ``data``; the first write of a turn schedules the flush."""
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def write_whole(self, data: bytes) -> None:
        """Write ``data``, a whole response, now: after anything queued, without waiting for the turn's end."""
        if self._pending is not None:
            self._pending.append(data)
            self.flush()
        elif not self._transport.is_closing():
            self._transport.write(data)

    def flush(self) -> None:
        """Hand what is queued to the transport (nothing once it is closing)."""
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        """Flush, then close."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        """Everything else (``is_closing``, ``get_extra_info``, reading and flow control) as the transport does."""
        return getattr(self._transport, name)


def direct_route(app: object) -> DirectRoute | None:
    """The ``direct`` method of the first layer of an ASGI chain that has one (following ``app`` and, into a
    Starlette application, its built ``middleware_stack``), or None."""
    for _ in range(_MAX_CHAIN):
        if app is None:
            return None
        route = getattr(app, "direct", None)
        if route is not None:
            return route
        app = getattr(app, "app", None) or getattr(app, "middleware_stack", None)
    return None


class _Unwatched:
    """Stands for the message event of uvicorn's request cycle: a directly answered request reads no body."""

    __slots__ = ()

    def set(self) -> None:
        """Nothing waits for the request body."""


_UNWATCHED = _Unwatched()


class DirectCycle:
    """The state of a directly answered request, with the attributes uvicorn's protocol reads from a cycle."""

    __slots__ = ("body", "disconnected", "keep_alive", "message_event", "more_body", "response_complete")

    def __init__(self, keep_alive: bool) -> None:
        self.keep_alive = keep_alive  # cleared by a graceful shutdown
        self.response_complete = False
        self.disconnected = False
        self.more_body = True
        self.body = b""
        self.message_event = _UNWATCHED


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` on a :class:`CoalescingTransport`, answering direct routes itself
    (``uvicorn --http app.http_protocol:...``)."""

    _direct: DirectRoute | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport, then set up as uvicorn does."""
        self._out = CoalescingTransport(transport, self.loop)
        super().connection_made(self._out)  # type: ignore[arg-type]

    def on_headers_complete(self) -> None:
        """Answer the request directly when its route offers to, else start the ASGI cycle as uvicorn does."""
        if not self._answer_directly():
            super().on_headers_complete()

    def _answer_directly(self) -> bool:
        """Start the direct answer of the request just parsed; False when it must go the ASGI way."""
        route = self._direct
        if route is None:
            route = self._direct = direct_route(self.app)  # the stack is built at startup (or first request)
            if route is None:
                return False
        cycle = self.cycle
        parser = self.parser
        if (cycle is not None and not cycle.response_complete) or self.pipeline or self.expect_100_continue \
                or self.limit_concurrency is not None or parser.should_upgrade():
            return False  # pipelined behind an answer in progress, or a case uvicorn's cycle handles
        method = parser.get_method()
        if method != b"GET" and method != b"HEAD":
            return False
        path = httptools.parse_url(self.url).path
        if b"%" in path or (self.config.proxy_headers and any(
                name == b"forwarded" or name.startswith(b"x-forwarded-") for name, _ in self.headers)):
            return False  # unquoting and proxy headers are ASGI-side work
        answer = route(method.decode("ascii"), path.decode("ascii"), self.headers, self.scheme or "http")
        if answer is None:
            return False
        http_version = parser.get_http_version()
        self.cycle = direct = DirectCycle(http_version != "1.0" and parser.should_keep_alive())  # type: ignore[assignment]
        task = self.loop.create_task(self._reply(direct, answer, method == b"HEAD", self.url, http_version))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)
        return True

    async def _reply(self, cycle: DirectCycle, answer: Awaitable[Reply], head: bool, url: bytes,
                     http_version: str) -> None:
        """Await the answer and write it in one piece, then go on as uvicorn does after a response.

        ``url`` and ``http_version`` are the request's: by now the parser may be on the next request.
        """
        target = url.decode("latin-1")
        try:
            status, headers, body = await answer
        except Exception:  # the route answers its own errors; this is a bug, answered as uvicorn would
            log.exception("direct answer to %s failed", target)
            status, headers, body = 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"
            headers.append((b"content-length", b"21"))
            cycle.keep_alive = False
        if self.flow.write_paused and not cycle.disconnected:
            await self.flow.drain()
        if cycle.disconnected:
            return
        content = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            content += (name, b": ", value, b"\r\n")
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content.append(b"\r\n")
        if not head:
            content.append(body)
        if self.access_log:
            client = f"{self.client[0]}:{self.client[1]}" if self.client else ""
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', client, "HEAD" if head else "GET", target,
                                    http_version, status)
        self._out.write_whole(b"".join(content))
        cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()


PROTOCOL = f"{__name__}:{CoalescingHttpToolsProtocol.__name__}"
"""The import string uvicorn's ``--http`` option takes."""
