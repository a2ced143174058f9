"""uvicorn's httptools protocol with one socket write per response instead of two.

uvicorn writes a response's status line and headers as soon as the application starts the response, then
the body when it comes; with uvloop each ``transport.write`` is a ``write(2)`` and, with ``TCP_NODELAY``, a
TCP segment of its own. For small answers such as vector tiles (1–6 KiB) that second system call and packet
are a measurable share of the work on both ends (bench/bench_tiles.py: about 4% more tiles per second at
z17). Here the writes of one event-loop turn are gathered and handed to the transport together at the end
of that turn; a close flushes first. Nothing else of uvicorn changes: parsing, keep-alive, flow control.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` on a :class:`CoalescingTransport` (``uvicorn --http app.http_protocol:...``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport, then set up as uvicorn does."""
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]


PROTOCOL = f"{__name__}:{CoalescingHttpToolsProtocol.__name__}"
"""The import string uvicorn's ``--http`` option takes."""
