"""Accounts and roles: logging in, tokens, and each role's allowed and refused actions (401 vs 403)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import geopandas as gpd
import jwt
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import text

from app.api import create_app
from app.auth import tokens
from tests.conftest import TEST_PASSWORD, create_user
from tests.trust.conftest import BLOCK_A, BLOCK_B, OWNER_A, PARCEL_A, TOWN_A, X0, Y0, Trust, login

ROLES = ["ada", "vera", "rex", "edna", "eddy"]  # admin, viewer, reviewer, editor of A, editor of B


def _who(trust: Trust, name: str | None) -> dict[str, str]:
    return trust.auth(name)


# ---------------------------------------------------------------- logging in
def test_login_gives_a_short_lived_bearer_token(trust: Trust) -> None:
    resp = trust.api.post("/api/auth/token", data={"username": "Vera", "password": TEST_PASSWORD})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == trust.settings.token_ttl_s
    assert resp.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "vera" and claims["role"] == "viewer" and claims["exp"] - claims["iat"] == 3600
    me = trust.api.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "vera" and me.json()["role"] == "viewer" and "password_hash" not in me.json()


@pytest.mark.parametrize(("username", "password"), [("vera", "wrong password"), ("nobody", TEST_PASSWORD),
                                                     ("vera", ""), ("x" * 300, "y" * 300)])
def test_wrong_credentials_are_401(trust: Trust, username: str, password: str) -> None:
    resp = trust.api.post("/api/auth/token", data={"username": username, "password": password})
    assert resp.status_code in (401, 400)  # 400: an empty password fails validation
    if resp.status_code == 401:
        assert resp.json() == {"code": "Unauthorized", "detail": "wrong user name or password",
                               "field": "Authorization",
                               "messages": {"en": "wrong user name or password", "zh": "用户名或密码错误"}}
        assert resp.headers["www-authenticate"].startswith("Bearer")


def test_passwords_are_stored_as_argon2id(trust: Trust) -> None:
    with trust.engine.connect() as conn:
        hashes = conn.execute(text("SELECT password_hash FROM users")).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(TEST_PASSWORD in h for h in hashes)


def test_login_attempts_are_rate_limited(trust: Trust) -> None:
    create_user(trust.engine, "lockme", "viewer")
    limit = trust.settings.login_max_failures
    for _ in range(limit):
        assert trust.api.post("/api/auth/token", data={"username": "lockme", "password": "nope nope"}
                              ).status_code == 401
    refused = trust.api.post("/api/auth/token", data={"username": "lockme", "password": TEST_PASSWORD})
    assert refused.status_code == 429  # even with the right password: not checked while locked
    assert refused.json()["code"] == "TooManyRequests"
    assert 1 <= int(refused.headers["retry-after"]) <= trust.settings.login_window_s
    # other accounts are not locked by it
    assert trust.api.post("/api/auth/token", data={"username": "vera", "password": TEST_PASSWORD}).status_code == 200
    # once the window has passed, the account logs in again
    with trust.engine.begin() as conn:
        conn.execute(text("UPDATE login_failures SET at = at - interval '1 day' WHERE key = 'user:lockme'"))
    assert trust.api.post("/api/auth/token", data={"username": "lockme", "password": TEST_PASSWORD}
                          ).status_code == 200


def test_rate_limit_per_address(trust_settings) -> None:
    settings = trust_settings.model_copy(update={"login_max_failures_per_ip": 3})
    with TestClient(create_app(settings), client=("203.0.113.9", 4000)) as api:
        for i in range(3):
            assert api.post("/api/auth/token", data={"username": f"ghost{i}", "password": "x" * 8}).status_code == 401
        assert api.post("/api/auth/token", data={"username": "vera", "password": TEST_PASSWORD}).status_code == 429
    with TestClient(create_app(settings), client=("203.0.113.10", 4000)) as other:
        assert other.post("/api/auth/token", data={"username": "vera", "password": TEST_PASSWORD}).status_code == 200


def test_disabled_account_cannot_log_in_or_write(trust: Trust) -> None:
    create_user(trust.engine, "dora", "admin")
    token = login(trust.api, "dora")
    headers = {"Authorization": f"Bearer {token}"}
    assert trust.api.get("/api/users", headers=headers).status_code == 200
    etag = trust.api.get("/api/users/dora", headers=trust.auth("ada")).headers["etag"]
    assert trust.api.patch("/api/users/dora", json={"disabled": True},
                           headers={**trust.auth("ada"), "If-Match": etag}).status_code == 200
    assert trust.api.get("/api/users", headers=headers).status_code == 401  # at once, token or not
    resp = trust.api.post("/api/auth/token", data={"username": "dora", "password": TEST_PASSWORD})
    assert resp.status_code == 401 and resp.json()["messages"] == {"en": "the account is disabled", "zh": "账号已停用"}


@pytest.mark.parametrize("header", [
    "Bearer not-a-token",
    "Basic dmVyYTpwYXNzd29yZA==",
    "Bearer ",
    "Bearer " + jwt.encode({"sub": "ada", "role": "admin", "iat": 1, "exp": 4102444800, "iss": "renewal",
                            "aud": "renewal-api"}, "a-forged-key-that-is-long-enough-to-sign", algorithm="HS256"),
    "Bearer " + jwt.encode({"sub": "ada", "role": "admin"}, "", algorithm="none"),
])
def test_bad_tokens_are_401_everywhere(trust: Trust, header: str) -> None:
    for method, path in [("GET", "/api/auth/me"), ("GET", "/api/users"), ("GET", "/api/audit"),
                         ("GET", f"/api/parcels/{PARCEL_A}/metrics"), ("GET", "/ogc/collections"),
                         ("GET", "/tiles/blocks/14/13733/6710.mvt"), ("POST", "/api/import")]:
        resp = trust.api.request(method, path, headers={"Authorization": header})
        assert resp.status_code == 401, (path, resp.text)
        assert resp.json()["code"] == "Unauthorized"
        assert 'error="invalid_token"' in resp.headers["www-authenticate"]


def test_expired_token_is_401(trust: Trust) -> None:
    token, _ = tokens.issue(trust.settings, tokens.Principal("ada", "admin", None), ttl_s=-60)
    resp = trust.api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and "expired" in resp.json()["detail"]


# ---------------------------------------------------------------- who may do what
def _expect(resp, allowed: bool, name: str | None) -> None:
    if name is None:
        assert resp.status_code == 401, resp.text
    elif allowed:
        assert resp.status_code not in (401, 403), (name, resp.status_code, resp.text)
    else:
        assert resp.status_code == 403, (name, resp.status_code, resp.text)
        assert resp.json()["code"] == "Forbidden"


@pytest.mark.parametrize("name", [None, *ROLES])
def test_accounts_are_managed_by_admins(trust: Trust, name: str | None) -> None:
    allowed = name == "ada"
    headers = _who(trust, name)
    _expect(trust.api.get("/api/users", headers=headers), allowed, name)
    _expect(trust.api.get("/api/users/vera", headers=headers), allowed, name)
    _expect(trust.api.post("/api/users", headers=headers,
                           json={"username": f"new-{name}", "password": TEST_PASSWORD, "role": "viewer"}),
            allowed, name)
    _expect(trust.api.patch("/api/users/vera", headers={**headers, "If-Match": '"v999"'}, json={"disabled": False}),
            allowed, name)


@pytest.mark.parametrize("name", [None, *ROLES])
def test_audit_is_read_by_admins_and_reviewers(trust: Trust, name: str | None) -> None:
    _expect(trust.api.get("/api/audit", headers=_who(trust, name)), name in ("ada", "rex"), name)


@pytest.mark.parametrize("name", [None, *ROLES])
def test_joint_developments_are_saved_by_reviewers_and_admins(trust: Trust, name: str | None) -> None:
    body = {"parcels": [PARCEL_A, "no-such-parcel"], "members": [{"owner": OWNER_A, "share_pct": 100}]}
    resp = trust.api.post("/api/joint-developments", json=body, headers=_who(trust, name))
    _expect(resp, name in ("ada", "rex"), name)
    # the preview writes nothing: open (reading is open by default), for everyone
    assert trust.api.post("/api/joint-developments/preview", json=body, headers=_who(trust, name)
                          ).status_code not in (401, 403)


@pytest.mark.parametrize("name", [None, *ROLES])
def test_far_exemptions_are_recorded_by_reviewers(trust: Trust, name: str | None) -> None:
    headers = _who(trust, name)
    resp = trust.api.put(f"/api/blocks/{BLOCK_B}/far-exemption", headers=headers,
                         json={"min_far": 1.2, "reason": "历史风貌保护"})
    _expect(resp, name == "rex", name)
    resp = trust.api.delete(f"/api/blocks/{BLOCK_B}/far-exemption", params={"reason": "规划调整"},
                            headers={**headers, "If-Match": resp.headers.get("etag", '"v1"')})
    _expect(resp, name == "rex", name)
    assert trust.api.get(f"/api/blocks/{BLOCK_B}/far-exemption").status_code == 404  # none left behind


def _parcel_file(tmp_path: Path, code: str, block: str, x: float, name: str = "p.gpkg") -> Path:
    gdf = gpd.GeoDataFrame({"code": [code], "block_code": [block], "owner": ["慈溪市新厂"], "tax": [10_000.0]},
                           geometry=[box(x, Y0 + 210, x + 50, Y0 + 260)], crs=4549)
    path = tmp_path / name
    gdf.to_file(path, driver="GPKG")
    return path


def _import(trust: Trust, name: str | None, path: Path, mode: str = "append", layer: str = "parcels"):
    with path.open("rb") as fh:
        return trust.api.post("/api/import", headers=_who(trust, name),
                              files={"file": (path.name, fh, "application/geopackage+sqlite3")},
                              data={"layer": layer, "mode": mode})


@pytest.mark.parametrize("name", [None, "vera", "rex"])
def test_imports_refused_to_readers_and_reviewers(trust: Trust, tmp_path: Path, name: str | None) -> None:
    _expect(_import(trust, name, _parcel_file(tmp_path, "330282107001GB09001", BLOCK_A, X0 + 310)), False, name)


def test_town_editor_imports_into_its_own_town_only(trust: Trust, tmp_path: Path) -> None:
    own = _parcel_file(tmp_path, "330282107001GB09002", BLOCK_A, X0 + 310, "own.gpkg")
    other = _parcel_file(tmp_path, "330282001001GB09002", BLOCK_B, X0 + 1310, "other.gpkg")
    resp = _import(trust, "edna", other)
    assert resp.status_code == 403 and resp.json()["field"] == "file"
    assert "330282001" in resp.json()["detail"]
    assert _import(trust, "edna", own, mode="replace").status_code == 403  # replace needs an admin
    assert _import(trust, "edna", own, layer="towns").status_code == 403
    assert _import(trust, "edna", own).status_code == 200
    assert _import(trust, "eddy", other).status_code == 200
    # the same code, upserted by the other town's editor: refused (the row is in town A now)
    moved = _parcel_file(tmp_path, "330282107001GB09002", BLOCK_B, X0 + 1360, "moved.gpkg")
    assert _import(trust, "eddy", moved, mode="upsert").status_code == 403
    with trust.engine.connect() as conn:
        town = conn.execute(text("SELECT t.code FROM parcels p JOIN blocks b ON b.id = p.block_id "
                                 "JOIN towns t ON t.id = b.town_id WHERE p.code = '330282107001GB09002'")).scalar()
    assert town == TOWN_A


def test_admin_imports_anything(trust: Trust, tmp_path: Path) -> None:
    path = _parcel_file(tmp_path, "330282001001GB09003", BLOCK_B, X0 + 1310)
    resp = _import(trust, "ada", path)
    assert resp.status_code == 200, resp.text


# ---------------------------------------------------------------- money figures
def test_money_figures_only_for_logged_in_readers(trust: Trust) -> None:
    anon = trust.api.get(f"/api/parcels/{PARCEL_A}/metrics").json()
    seen = trust.api.get(f"/api/parcels/{PARCEL_A}/metrics", headers=trust.auth("vera")).json()
    for key in ("tax_yuan", "output_yuan", "invest_yuan", "tax_per_mu", "tax_per_mu_wan", "output_per_mu",
                "invest_per_mu_wan"):
        assert anon[key] is None and seen[key] is not None, key
    assert seen["tax_yuan"] == 1_500_000
    for key in ("land_area_m2", "land_area_mu", "far", "floor_area_m2", "building_density"):
        assert anon[key] == seen[key], key  # areas and FAR stay public
    block = trust.api.get(f"/api/blocks/{BLOCK_A}/metrics").json()
    tax_rules = [r for r in block["rules"] if r["rule"] in ("old_block", "target_tax_per_mu")]
    assert tax_rules and all(r["value"] is None and r["shortfall"] is None and "hidden" in r["explanation"]
                             for r in tax_rules)
    town = trust.api.get(f"/api/towns/{TOWN_A}/metrics").json()
    assert town["tax_per_mu"] is None and all(b["tax_yuan"] is None for b in town["blocks"])
    card = trust.api.get(f"/api/blocks/{BLOCK_A}/card").json()
    assert card["tax"] is None and card["tax_per_mu_wan"] is None and card["far"] is not None
    assert trust.api.get(f"/api/blocks/{BLOCK_A}/card", headers=trust.auth("vera")).json()["tax"] >= 2_140_000
    assert trust.api.get(f"/api/parcels/{PARCEL_A}/card").json()["tax"] is None
    assert trust.api.get("/api/map/totals").json()["tax_per_mu_wan"] is None
    assert trust.api.get("/api/compliance", params={"rule": "target_tax_per_mu"}).status_code == 401
    assert trust.api.get("/api/compliance", params={"rule": "target_tax_per_mu"},
                         headers=trust.auth("vera")).status_code == 200
    assert trust.api.get("/api/compliance", params={"rule": "far_min"}).status_code == 200


def test_ogc_hides_money_fields_from_anonymous_readers(trust: Trust) -> None:
    url = "/ogc/collections/parcels/items"
    anon = trust.api.get(url).json()["features"][0]["properties"]
    seen = trust.api.get(url, headers=trust.auth("vera")).json()["features"][0]["properties"]
    assert not {"tax", "output", "invest"} & set(anon) and {"tax", "output", "invest"} <= set(seen)
    assert anon["owner"] == seen["owner"]
    one = trust.api.get(f"{url}/{PARCEL_A}").json()["properties"]
    assert "tax" not in one
    queryables = trust.api.get("/ogc/collections/parcels/queryables").json()["properties"]
    assert "tax" not in queryables and "supp_m2" in queryables
    for params in ({"tax": "1500000"}, {"filter": "tax > 1000000"}, {"sortby": "-tax"}, {"properties": "code,tax"}):
        assert trust.api.get(url, params=params).status_code == 400, params  # cannot even be probed
        assert trust.api.get(url, params=params, headers=trust.auth("vera")).status_code == 200, params
    html = trust.api.get(url, params={"f": "html"}).text
    assert "年税收" not in html


def test_exports_with_money_need_a_login(trust: Trust) -> None:
    for layer in ("parcels", "blocks", "enterprises"):
        fmt = "csv" if layer == "enterprises" else "geojson"
        assert trust.api.get("/api/export", params={"layer": layer, "format": fmt}).status_code == 401
        assert trust.api.get("/api/export", params={"layer": layer, "format": fmt},
                             headers=trust.auth("vera")).status_code == 200
    assert trust.api.get("/api/export", params={"layer": "towns", "format": "geojson"}).status_code == 200


# ---------------------------------------------------------------- reading behind a login
def test_reading_can_require_a_login(trust_settings, trust: Trust) -> None:
    settings = trust_settings.model_copy(update={"read_requires_login": True})
    reads = ["/ogc", "/ogc/collections", "/ogc/collections/blocks/items", f"/ogc/collections/parcels/items/{PARCEL_A}",
             "/tiles/blocks/14/13733/6710.mvt", "/tiles/blocks.json", "/tiles", f"/api/blocks/{BLOCK_A}/card",
             f"/api/parcels/{PARCEL_A}/metrics", "/api/map/totals", "/api/search?q=QK",
             f"/api/blocks/{BLOCK_A}/far-exemption", "/api/joint-developments"]
    with TestClient(create_app(settings)) as api:
        for path in reads:
            resp = api.get(path)
            assert resp.status_code == 401, path
            assert resp.json()["code"] == "Unauthorized"
            assert api.get(path, headers=trust.auth("vera")).status_code in (200, 204, 404), path
        assert api.post("/api/joint-developments/preview", json={"parcels": [], "members": []}).status_code == 401
        for path in ["/", "/static/map.js", "/static/auth.js", "/config.json", "/healthz", "/openapi.json", "/docs"]:
            assert api.get(path).status_code == 200, path
        token = api.post("/api/auth/token", data={"username": "vera", "password": TEST_PASSWORD}).json()
        assert api.get("/ogc/collections", headers={"Authorization": f"Bearer {token['access_token']}"}
                       ).status_code == 200


def test_reading_is_open_by_default(trust: Trust) -> None:
    for path in ["/ogc/collections", "/tiles/blocks/14/13733/6710.mvt", f"/api/blocks/{BLOCK_A}/card"]:
        assert trust.api.get(path).status_code in (200, 204), path


def test_token_claims_and_tampering(trust: Trust) -> None:
    token = trust.tokens["vera"]
    head, body, sig = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged_body = jwt.utils.base64url_encode(
        jwt.api_jws.json.dumps({**claims, "role": "admin"}).encode()).decode()
    forged = f"{head}.{forged_body}.{sig}"
    assert trust.api.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert dt.datetime.fromtimestamp(claims["exp"], dt.UTC) > dt.datetime.now(dt.UTC)
    assert claims["exp"] - time.time() <= trust.settings.token_ttl_s + 5


def test_unknown_towns_and_roles_refused(trust: Trust) -> None:
    admin = trust.auth("ada")
    for body in ({"username": "t1", "password": TEST_PASSWORD, "role": "town_editor"},
                 {"username": "t2", "password": TEST_PASSWORD, "role": "town_editor", "town_code": "999999999"},
                 {"username": "t3", "password": TEST_PASSWORD, "role": "viewer", "town_code": TOWN_A},
                 {"username": "t4", "password": TEST_PASSWORD, "role": "root"},
                 {"username": "t5", "password": "short", "role": "viewer"},
                 {"username": "Bad Name", "password": TEST_PASSWORD, "role": "viewer"}):
        resp = trust.api.post("/api/users", json=body, headers=admin)
        assert resp.status_code == 400, (body, resp.text)
    assert trust.api.post("/api/users", json={"username": "vera", "password": TEST_PASSWORD, "role": "viewer"},
                          headers=admin).status_code == 409
