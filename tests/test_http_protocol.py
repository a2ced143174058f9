"""The coalescing HTTP protocol `renewal serve` runs: one socket write per small response, bodies intact."""

from __future__ import annotations

import asyncio
import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.http_protocol import CoalescingHttpToolsProtocol
from app.settings import Settings
from tests.conftest import LiveServer

WEB = Path(__file__).resolve().parent.parent / "web"


class CountingTransport:
    """The real transport, counting the writes that reach it."""

    writes: list[int] = []

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        CountingTransport.writes.append(len(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CountingProtocol(CoalescingHttpToolsProtocol):
    """The protocol of `renewal serve` on a :class:`CountingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CountingTransport(transport))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def port(settings: Settings) -> Iterator[int]:
    """The app under uvicorn with the counting protocol, in a thread."""
    with LiveServer(settings, http=CountingProtocol) as live:
        yield live.port


def test_one_write_per_small_response_on_a_kept_alive_connection(port: int) -> None:
    """Status line, headers and body of each answer reach the socket in one write; keep-alive still works."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for path in ("/healthz", "/config.json", "/nowhere"):
            before = len(CountingTransport.writes)
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status in (200, 404)
            assert len(body) == int(resp.headers["content-length"]) > 0
            assert len(CountingTransport.writes) - before == 1, path
            assert CountingTransport.writes[-1] > len(body)  # the headers went with it
    finally:
        conn.close()


def test_streamed_and_head_responses_arrive_whole(port: int) -> None:
    """A file streamed in chunks arrives byte for byte; HEAD carries headers only."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/static/map.js")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == (WEB / "map.js").read_bytes()
        conn.request("HEAD", "/static/map.js")
        head = conn.getresponse()
        assert head.status == 200 and head.read() == b""
        assert int(head.headers["content-length"]) == (WEB / "map.js").stat().st_size
    finally:
        conn.close()


def test_connection_close_flushes_before_closing(port: int) -> None:
    """With ``Connection: close`` the whole answer is sent before the server closes the socket."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 ")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    assert len(body) == length > 0
