"""Hostile input: injection attempts harmless, oversized requests refused, NUL refused, CORS closed by default,
security headers on every response."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.api import create_app
from app.api.middleware import basemap_source, content_security_policy
from app.io.safety import IOLimits
from tests.trust.conftest import BLOCK_A, PARCEL_A, TOWN_A, Trust

INJECTIONS = [
    "'; DROP TABLE parcels; --",
    "' OR '1'='1",
    "1) OR (1=1",
    "\" OR 1=1 --",
    "code; DELETE FROM blocks",
    "$1",
    ":code",
    "%' OR 1=1 --",
    "\\'; SELECT pg_sleep(5); --",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "QK107-001' UNION SELECT password_hash FROM users --",
    "𠀀" * 50,
]


def _counts(trust: Trust) -> dict[str, int]:
    with trust.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                for t in ("towns", "blocks", "parcels", "buildings", "users", "audit_log")}


@pytest.fixture()
def unchanged(trust: Trust) -> Iterator[None]:
    """The test must leave every table as it found it."""
    before = _counts(trust)
    yield
    assert _counts(trust) == before


@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_in_filters_codes_and_sort_keys_is_harmless(trust: Trust, unchanged: None, evil: str) -> None:
    api, viewer, admin = trust.api, trust.auth("vera"), trust.auth("ada")
    q = quote(evil, safe="")
    requests = [
        ("GET", f"/api/parcels/{q}/metrics", {}),
        ("GET", f"/api/blocks/{q}/metrics", {}),
        ("GET", f"/api/towns/{q}/metrics", {}),
        ("GET", f"/api/blocks/{q}/card", {}),
        ("GET", f"/api/parcels/{q}/card", {}),
        ("GET", f"/api/blocks/{q}/far-exemption", {}),
        ("GET", f"/ogc/collections/parcels/items/{q}", {}),
        ("GET", f"/ogc/collections/{q}/items", {}),
        ("GET", f"/tiles/{q}/14/13733/6710.mvt", {}),
        ("GET", f"/tiles/{q}.json", {}),
        ("GET", f"/api/users/{q}", {"who": admin}),
        ("GET", "/api/compliance", {"params": {"town": evil}}),
        ("GET", "/api/compliance", {"params": {"block": evil, "rule": evil}}),
        ("GET", "/api/search", {"params": {"q": evil[:100]}}),
        ("GET", "/api/map/totals", {"params": {"town": evil, "status": evil, "mode": evil}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"owner": evil}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"code": evil, "block_code": evil}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"sortby": evil}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"properties": evil}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"filter": evil}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"filter": f"owner = '{evil}'"}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"filter": f"owner LIKE '{evil}'"}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"bbox": evil, "crs": evil}}),
        ("GET", "/ogc/collections/parcels/items", {"params": {"datetime": evil}}),
        ("GET", "/api/export", {"params": {"layer": "towns", "format": "geojson", "town": evil}}),
        ("GET", "/api/export", {"params": {"layer": evil, "format": evil}}),
        ("GET", "/api/audit", {"params": {"actor": evil[:200], "entity": evil[:40], "sort": evil}, "who": admin}),
        ("GET", "/api/audit", {"params": {"entity_key": evil[:200], "action": evil[:32]}, "who": admin}),
        ("POST", "/api/auth/token", {"data": {"username": evil, "password": evil}}),
        ("POST", "/api/joint-developments/preview", {"json": {"parcels": [evil, PARCEL_A],
                                                              "members": [{"owner": evil, "share_pct": 100}]}}),
    ]
    for method, path, options in requests:
        who = options.pop("who", viewer)
        resp = api.request(method, path, headers=who, **options)
        assert resp.status_code < 500, (path, options, resp.status_code, resp.text)
        if resp.headers.get("content-type", "").startswith("application/json") and resp.status_code >= 400:
            assert set(resp.json()) == {"code", "detail", "field", "messages"}, (path, resp.text)
            assert not any(leak in resp.text.lower() for leak in ("psycopg", "syntax error", "traceback",
                                                                  "$argon2"))
    # the evil code is stored and read back verbatim (bound, not interpreted)
    with trust.engine.begin() as conn:
        trans = conn.begin_nested()
        conn.execute(text("UPDATE parcels SET owner = :evil WHERE code = :code"), {"evil": evil, "code": PARCEL_A})
        found = conn.execute(text("SELECT count(*) FROM parcels WHERE owner = :evil"), {"evil": evil}).scalar_one()
        trans.rollback()
    assert found == 1


def test_sql_in_a_cql2_filter_is_refused_as_syntax(trust: Trust) -> None:
    resp = trust.api.get("/ogc/collections/blocks/items", params={"filter": "code = 'x' OR 1=1; DROP TABLE blocks"})
    assert resp.status_code == 400 and resp.json()["field"] == "filter"
    ok = trust.api.get("/ogc/collections/blocks/items", params={"filter": "code = 'x'' OR ''1''=''1'"})
    assert ok.status_code == 200 and ok.json()["numberMatched"] == 0


# ---------------------------------------------------------------- sizes and NUL
def test_oversized_bodies_are_refused(trust_settings) -> None:
    settings = trust_settings.model_copy(update={"max_body_bytes": 4096})
    app = create_app(settings)
    with TestClient(app) as api:
        big = {"parcels": ["x" * 100] * 100, "members": []}
        resp = api.post("/api/joint-developments/preview", json=big)
        assert resp.status_code == 413
        assert {k: v for k, v in resp.json().items() if k != "messages"} == {
            "code": "PayloadTooLarge", "detail": "the request body is larger than the limit of 4096 bytes",
            "field": None}

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield b'{"parcels": ['
            for _ in range(500):
                yield b'"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",'
            yield b'"x"], "members": []}'

        resp = api.post("/api/joint-developments/preview", content=chunks(),
                        headers={"Content-Type": "application/json"})
        assert resp.status_code == 413 and resp.json()["code"] == "PayloadTooLarge"
        resp = api.post("/api/auth/token", data={"username": "x" * 5000, "password": "y"})
        assert resp.status_code == 413
        assert api.post("/api/joint-developments/preview", json={"parcels": [], "members": []}).status_code == 400


def test_oversized_imports_are_refused(trust: Trust) -> None:
    small = trust.settings.model_copy(update={"limits": IOLimits(max_upload_mb=0.01)})
    with TestClient(create_app(small)) as api:
        resp = api.post("/api/import", headers=trust.auth("ada"), data={"layer": "parcels"},
                        files={"file": ("big.geojson", b"{" + b" " * 100_000 + b"}", "application/geo+json")})
    assert resp.status_code == 413 and resp.json()["code"] == "PayloadTooLarge"


def test_nul_characters_are_refused(trust: Trust, unchanged: None) -> None:
    api = trust.api
    assert api.get("/api/blocks/QK%00/card").status_code == 400
    assert api.get("/api/search", params={"q": "QK\x00"}).status_code == 400
    assert api.get("/ogc/collections/parcels/items", params={"owner": "a\x00b"}).status_code == 400
    resp = api.post("/api/joint-developments/preview", json={"name": "a\u0000b", "parcels": [], "members": []})
    assert resp.status_code == 400 and "NUL" in resp.json()["detail"]
    assert api.post("/api/auth/token", data={"username": "a\x00", "password": "b"}).status_code == 400
    # an escaped backslash followed by "u0000" is text, not NUL
    assert api.post("/api/joint-developments/preview",
                    json={"name": "a\\u0000b", "parcels": [], "members": []}).status_code == 400  # empty parcels
    assert "NUL" not in api.post("/api/joint-developments/preview",
                                 json={"name": "a\\u0000b", "parcels": [], "members": []}).json()["detail"]


# ---------------------------------------------------------------- CORS
def test_cors_is_closed_by_default(trust: Trust) -> None:
    resp = trust.api.get("/ogc/collections", headers={"Origin": "https://evil.example"})
    assert resp.status_code == 200 and "access-control-allow-origin" not in resp.headers
    pre = trust.api.options("/api/users", headers={"Origin": "https://evil.example",
                                                   "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "authorization"})
    assert "access-control-allow-origin" not in pre.headers and pre.status_code >= 400


def test_cors_opens_to_configured_origins_only(trust_settings) -> None:
    settings = trust_settings.model_copy(update={"cors_origins": ["https://gis.cixi.example"]})
    with TestClient(create_app(settings)) as api:
        ok = api.get("/ogc/collections", headers={"Origin": "https://gis.cixi.example"})
        assert ok.headers["access-control-allow-origin"] == "https://gis.cixi.example"
        assert "ETag" in ok.headers["access-control-expose-headers"]
        assert "access-control-allow-origin" not in api.get("/ogc/collections",
                                                            headers={"Origin": "https://evil.example"}).headers
        # tiles are answered in front of the middleware stack: a cross-origin tile still gets CORS headers
        tile = api.get("/tiles/blocks/14/13733/6710.mvt", headers={"Origin": "https://gis.cixi.example"})
        assert tile.status_code in (200, 204)
        assert tile.headers["access-control-allow-origin"] == "https://gis.cixi.example"
        assert tile.headers["x-content-type-options"] == "nosniff"
        pre = api.options("/api/users", headers={"Origin": "https://gis.cixi.example",
                                                 "Access-Control-Request-Method": "PATCH",
                                                 "Access-Control-Request-Headers": "authorization, if-match"})
        assert pre.status_code == 200 and "PATCH" in pre.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in pre.headers
        bad = api.options("/api/users", headers={"Origin": "https://evil.example",
                                                 "Access-Control-Request-Method": "PATCH"})
        assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers


# ---------------------------------------------------------------- security headers
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy",
                    "permissions-policy", "cross-origin-opener-policy")


def _secured(resp) -> None:
    for header in SECURITY_HEADERS:
        assert header in resp.headers, (resp.request.url, resp.status_code, header)
    assert resp.headers["x-content-type-options"] == "nosniff" and resp.headers["x-frame-options"] == "DENY"
    csp = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


def test_security_headers_on_every_response(trust_settings, trust: Trust) -> None:
    settings = trust_settings.model_copy(update={"max_body_bytes": 2048})
    app = create_app(settings)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as api:
        cases = [
            api.get("/"), api.get("/static/map.js"), api.get("/static/leaflet/leaflet.js"), api.get("/healthz"),
            api.get("/config.json"), api.get(f"/api/blocks/{BLOCK_A}/card"), api.get("/api/blocks/NOPE/card"),
            api.get("/api/users"), api.get("/api/users", headers={"Authorization": "Bearer junk"}),
            api.get("/tiles/blocks/14/13733/6710.mvt"), api.get("/tiles/blocks/0/0/0.mvt"),
            api.get("/tiles/nope/1/1/1.mvt"), api.get("/ogc/collections/blocks/items", params={"f": "html"}),
            api.get("/ogc/collections/blocks/items"), api.get("/docs"), api.get("/openapi.json"),
            api.post("/api/joint-developments/preview", json={"parcels": ["x" * 4000], "members": []}),
            api.get("/api/search", params={"q": "a\x00"}), api.delete("/api/audit"), api.get("/nowhere"),
            api.get("/boom"), api.get(f"/api/towns/{TOWN_A}/metrics"),
        ]
        statuses = {r.status_code for r in cases}
        assert {200, 204, 400, 401, 404, 405, 413, 500} <= statuses
        for resp in cases:
            _secured(resp)
        boom_resp = cases[-2]
        assert boom_resp.status_code == 500 and "a bug" not in boom_resp.text
        docs = cases[14]
        assert "script-src 'self' 'unsafe-inline';" in docs.headers["content-security-policy"]  # Swagger's start
        assert "script-src 'self';" in cases[0].headers["content-security-policy"]
        assert all("https:" not in r.headers["content-security-policy"] for r in cases)  # no CDN anywhere
        assert "Authorization" in cases[5].headers["vary"]


def test_csp_allows_only_self_and_the_basemap(trust_settings) -> None:
    settings = trust_settings.model_copy(update={"basemap_url": "https://{s}.tiles.example.org/{z}/{x}/{y}.png"})
    csp = content_security_policy(settings)
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "https://*.tiles.example.org" in directives["img-src"]
    assert "example" not in directives["script-src"] + directives["connect-src"] + directives["style-src"]
    assert "example" not in content_security_policy(trust_settings)
    assert basemap_source("http://10.1.2.3:8080/wmts/{z}/{x}/{y}.png") == "http://10.1.2.3:8080"
    assert basemap_source("https://t{s}.tianditu.gov.cn/vec_w/{z}/{x}/{y}") == "https:"
    assert basemap_source("javascript:alert(1)") is None and basemap_source(None) is None
    with TestClient(create_app(settings)) as api:
        assert "https://*.tiles.example.org" in api.get("/").headers["content-security-policy"]
