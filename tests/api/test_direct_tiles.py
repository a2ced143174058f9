"""Tiles answered directly by the HTTP protocol of `renewal serve` (no ASGI cycle), on the 0.02 sample.

The same requests are sent the ASGI way too (a percent-encoded path, which the direct path leaves to uvicorn)
and must get the same answer; keep-alive, pipelining, ``Connection: close``, HTTP/1.0, HEAD, 304, the access
log and the requests the direct path declines are checked on a real socket.
"""

from __future__ import annotations

import http.client
import logging
import re
import socket
from collections.abc import Awaitable, Iterator

import pytest
from sqlalchemy import Engine

from app.http_protocol import DirectCycle, Reply
from app.settings import Settings
from tests.api.test_tiles import block_point, tile_of
from tests.conftest import LiveServer
from tests.test_http_protocol import CountingProtocol, CountingTransport


class _Counting(CountingProtocol):
    """The protocol of `renewal serve` on a counting transport, also counting direct answers."""

    direct: list[str] = []

    async def _reply(self, cycle: DirectCycle, answer: Awaitable[Reply], head: bool, url: bytes,
                     http_version: str) -> None:
        _Counting.direct.append(url.decode())
        await super()._reply(cycle, answer, head, url, http_version)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def port(sample_settings: Settings) -> Iterator[int]:
    """The app under uvicorn with the counting protocol and the access log on, in a thread."""
    with LiveServer(sample_settings, http=_Counting, log_level="info", access_log=True) as live:
        yield live.port


@pytest.fixture(scope="module")
def tile(db: Engine) -> str:
    """The path of a z15 parcels tile that holds features."""
    _, lon, lat = block_point(db)
    x, y = tile_of(lon, lat, 15)
    return f"/tiles/parcels/15/{x}/{y}.mvt"


def asgi_way(path: str) -> str:
    """The same path with its dot percent-encoded: uvicorn unquotes it, the direct path leaves it to ASGI."""
    return path.replace(".mvt", "%2Emvt")


def fetch(port: int, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """Status, headers (lower-case names, without ``date``) and body of one request on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders() if k.lower() != "date"}, body
    finally:
        conn.close()


def read_responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Split the bytes of a connection into its responses (bodies by content-length; none for 204 and 304)."""
    out = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", 0)) if status not in (204, 304) else 0
        out.append((status, headers, data[:length]))
        data = data[length:]
    return out


def raw_exchange(port: int, request: bytes) -> tuple[bytes, bool]:
    """Send raw request bytes; everything the server sends until it closes, and whether it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        sock.settimeout(3)
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            return data, False
    return data, True


def test_direct_answer_is_the_asgi_answer(port: int, tile: str) -> None:
    """Plain, gzip, empty, unknown-zoom and HEAD requests: same status, headers and body either way."""
    cases = [("GET", tile, {}), ("GET", tile, {"Accept-Encoding": "gzip"}), ("HEAD", tile, {}),
             ("GET", "/tiles/parcels/15/0/0.mvt", {})]
    for method, path, headers in cases:
        before = len(_Counting.direct)
        direct = fetch(port, method, path, headers)
        assert _Counting.direct[before:] == [path], (method, path)
        via_asgi = fetch(port, method, asgi_way(path), headers)
        assert len(_Counting.direct) == before + 1  # the encoded path went the ASGI way
        assert direct == via_asgi, (method, path, headers)
    status, headers, body = fetch(port, "GET", tile)
    assert status == 200 and headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert int(headers["content-length"]) == len(body) > 0
    assert headers["x-content-type-options"] == "nosniff" and "content-security-policy" in headers
    assert headers["server"] == "uvicorn"  # uvicorn's default headers are written too
    head = fetch(port, "HEAD", tile)
    assert head[0] == 200 and head[2] == b"" and head[1]["content-length"] == str(len(body))
    assert fetch(port, "GET", "/tiles/parcels/15/0/0.mvt")[:1] == (204,)
    gz = fetch(port, "GET", tile, {"Accept-Encoding": "gzip"})
    assert gz[1]["content-encoding"] == "gzip" and gz[2][:2] == b"\x1f\x8b"


def test_kept_alive_connection_one_write_per_tile(port: int, tile: str) -> None:
    """GET and HEAD of tiles on one connection, each answered directly in one socket write (HEAD without body,
    or the next answer on the connection would be garbled)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for method in ("GET", "HEAD", "GET", "HEAD", "GET"):
            before_direct, before_writes = len(_Counting.direct), len(CountingTransport.writes)
            conn.request(method, tile)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200 and int(resp.headers["content-length"]) > 0
            assert len(body) == (int(resp.headers["content-length"]) if method == "GET" else 0)
            assert len(_Counting.direct) == before_direct + 1
            assert len(CountingTransport.writes) == before_writes + 1
            assert CountingTransport.writes[-1] > int(resp.headers["content-length"]) or method == "HEAD"
    finally:
        conn.close()


def test_pipelined_requests_are_answered_in_order(port: int, tile: str) -> None:
    """Tiles (direct) and other requests (ASGI) sent back to back come back in the order asked."""
    alone = {tile: fetch(port, "GET", tile)}
    requests = [tile, "/healthz", tile, "/tiles/nowhere/1/1/1.mvt", tile, "/tiles/parcels/15/0/0.mvt"]
    raw = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in requests[:-1])
    raw += f"GET {requests[-1]} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    records = _Records()
    logging.getLogger("uvicorn.access").addHandler(records)
    try:
        data, closed = raw_exchange(port, raw)
    finally:
        logging.getLogger("uvicorn.access").removeHandler(records)
    assert closed
    assert [line.split('"')[1].split()[1] for line in records.lines] == requests  # each logged with its own path
    answers = read_responses(data)
    assert [a[0] for a in answers] == [200, 200, 200, 404, 200, 204]
    assert answers[0][2] == answers[2][2] == answers[4][2] == alone[tile][2]
    assert b'"status"' in answers[1][2] and b'"layer"' in answers[3][2]
    assert answers[5][1]["connection"] == "close"


@pytest.mark.parametrize("request_line, extra", [("GET {} HTTP/1.1", "Connection: close\r\n"),
                                                  ("GET {} HTTP/1.0", "")])
def test_connection_close_and_http_1_0_close_after_the_tile(port: int, tile: str, request_line: str,
                                                          extra: str) -> None:
    """The answer is whole, says ``connection: close``, and the server closes the socket after it."""
    before = len(_Counting.direct)
    data, closed = raw_exchange(port, f"{request_line.format(tile)}\r\nHost: x\r\n{extra}\r\n".encode())
    assert closed and len(_Counting.direct) == before + 1
    [(status, headers, body)] = read_responses(data)
    assert status == 200 and headers["connection"] == "close" and len(body) == int(headers["content-length"])


def test_etag_and_304(port: int, tile: str) -> None:
    """The tile's ETag (data and rule version) gets a 304 without body when sent back."""
    status, headers, _ = fetch(port, "GET", tile)
    etag = headers["etag"]
    assert re.fullmatch(r'W/"\d+-rules-1"', etag)
    before = len(_Counting.direct)
    again = fetch(port, "GET", tile, {"If-None-Match": etag})
    assert again[0] == 304 and again[2] == b"" and len(_Counting.direct) == before + 1


def test_requests_the_direct_path_declines_are_answered_the_asgi_way(port: int, tile: str) -> None:
    """Proxy headers, a bad token, a bad address and other methods: no direct answer, the usual one instead."""
    before = len(_Counting.direct)
    forwarded = fetch(port, "GET", tile, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"})
    assert forwarded[0] == 200 and forwarded[2] == fetch(port, "GET", asgi_way(tile))[2]
    bad_token = fetch(port, "GET", tile, {"Authorization": "Bearer not-a-token"})
    assert bad_token[0] == 401 and b'"code"' in bad_token[2]
    bad_zoom = fetch(port, "GET", "/tiles/parcels/21/0/0.mvt")
    assert bad_zoom[0] == 400 and b'"field":"z"' in bad_zoom[2].replace(b" ", b"")
    post = fetch(port, "POST", tile)
    assert post[0] == 405
    assert len(_Counting.direct) == before


def test_access_log_line_as_uvicorn_writes_it(port: int, tile: str) -> None:
    """A direct answer is logged in uvicorn's access-log format, like an ASGI answer."""
    records = _Records()
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(records)
    try:
        fetch(port, "GET", tile + "?v=1")
        fetch(port, "GET", "/healthz")
    finally:
        logger.removeHandler(records)
    assert len(records.lines) == 2
    assert re.fullmatch(rf'127\.0\.0\.1:\d+ - "GET {re.escape(tile)}\?v=1 HTTP/1\.1" 200', records.lines[0])
    assert re.fullmatch(r'127\.0\.0\.1:\d+ - "GET /healthz HTTP/1\.1" 200', records.lines[1])


def test_a_failure_outside_the_tile_answer_is_a_500_that_closes(sample_settings: Settings, tile: str) -> None:
    """Without the lifespan there is no tile service: the first request (ASGI, which builds the stack) and the
    next ones (direct, found once the stack is built) are 500 answers, and the direct one closes the connection."""
    with LiveServer(sample_settings, http=_Counting, log_level="critical", lifespan="off") as live:
        number = live.port
        before = len(_Counting.direct)
        assert fetch(number, "GET", tile)[0] == 500
        assert len(_Counting.direct) == before  # the stack did not exist yet
        data, closed = raw_exchange(number, f"GET {tile} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        [(status, headers, body)] = read_responses(data)
        assert (status, body, headers["connection"], closed) == (500, b"Internal Server Error", "close", True)
        assert len(_Counting.direct) == before + 1
