"""/healthz: ok with the PostGIS version; 503 fast while the database is unreachable; recovers by itself."""

from __future__ import annotations

import socket
import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.api import create_app


def test_healthz_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")


class Relay:
    """A TCP relay to the database that can be switched off and on, to play an unreachable server."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener: socket.socket | None = None
        self.port = 0
        self.conns: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        assert self.listener is not None
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        self.listener.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_healthz_503_then_recovers(settings):
    url = make_url(settings.sqlalchemy_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    relayed = url.set(port=relay.port).render_as_string(hide_password=False)
    app = create_app(settings.model_copy(update={"database_url": relayed, "db_connect_timeout_s": 2}))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        relay.stop()
        started = time.monotonic()
        resp = client.get("/healthz")
        assert resp.status_code == 503
        assert resp.json() == {"code": "DatabaseUnavailable",
                               "detail": "the database does not answer; try again shortly", "field": None,
                               "messages": {"en": "the database does not answer; try again shortly",
                                            "zh": "数据库没有响应，请稍后再试"}}
        assert time.monotonic() - started < 5
        relay.start()  # same port again
        assert client.get("/healthz").status_code == 200
