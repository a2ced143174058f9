"""The audit trail: a row per write (API and CLI) in the write's own transaction; append-only; read-only API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.db.audit import cli_actor
from tests.conftest import TEST_PASSWORD
from tests.trust.conftest import (
    BLOCK_A,
    BLOCK_B,
    OWNER_A,
    OWNER_A2,
    PARCEL_A,
    PARCEL_A2,
    TOWN_A,
    TOWN_B,
    X0,
    Y0,
    Trust,
    login,
)


def _cli(trust: Trust, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": trust.settings.sqlalchemy_url}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


def _last(trust: Trust, **where: str) -> dict:
    rows = trust.audit_rows(**where)
    assert rows, f"no audit row for {where}"
    return rows[-1]


def _count(trust: Trust) -> int:
    with trust.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


# ---------------------------------------------------------------- a row per write kind
def test_user_changes_through_the_api_are_audited(trust: Trust) -> None:
    admin = trust.auth("ada")
    created = trust.api.post("/api/users", headers=admin,
                             json={"username": "Audrey", "password": TEST_PASSWORD, "role": "viewer"})
    assert created.status_code == 201 and created.headers["etag"] == '"v1"'
    row = _last(trust, entity="user", entity_key="audrey")
    assert (row["actor"], row["action"], row["before"]) == ("ada", "create", None)
    assert row["after"]["role"] == "viewer" and "password_hash" not in row["after"]
    changed = trust.api.patch("/api/users/audrey", headers={**admin, "If-Match": '"v1"'},
                              json={"role": "town_editor", "town_code": TOWN_B, "password": "another secret"})
    assert changed.status_code == 200 and changed.headers["etag"] == '"v2"'
    row = _last(trust, entity="user", entity_key="audrey")
    assert (row["actor"], row["action"]) == ("ada", "update")
    assert row["before"]["role"] == "viewer" and row["before"]["version"] == 1
    assert row["after"]["role"] == "town_editor" and row["after"]["town_code"] == TOWN_B
    assert row["after"]["password_changed"] is True and "another secret" not in str(row)
    assert row["at"] is not None and row["txid"] > 0


def test_user_changes_through_the_cli_are_audited(trust: Trust) -> None:
    actor = cli_actor()
    out = _cli(trust, "user", "add", "clio", "--role", "reviewer", "--password-stdin", stdin=TEST_PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    row = _last(trust, entity="user", entity_key="clio")
    assert (row["actor"], row["action"], row["after"]["role"]) == (actor, "create", "reviewer")
    assert actor.startswith("cli:")
    assert trust.api.post("/api/auth/token", data={"username": "clio", "password": TEST_PASSWORD}).status_code == 200

    out = _cli(trust, "user", "set-role", "clio", "town_editor", "--town", TOWN_B)
    assert out.returncode == 0, out.stderr
    row = _last(trust, entity="user", entity_key="clio")
    assert row["before"]["role"] == "reviewer" and row["after"]["role"] == "town_editor"
    assert row["after"]["town_code"] == TOWN_B and row["actor"] == actor

    out = _cli(trust, "user", "disable", "clio")
    assert out.returncode == 0, out.stderr
    row = _last(trust, entity="user", entity_key="clio")
    assert row["before"]["disabled"] is False and row["after"]["disabled"] is True
    assert trust.api.post("/api/auth/token", data={"username": "clio", "password": TEST_PASSWORD}).status_code == 401

    assert _cli(trust, "user", "enable", "clio").returncode == 0
    assert _cli(trust, "user", "passwd", "clio", "--password-stdin", stdin="a new passphrase\n").returncode == 0
    row = _last(trust, entity="user", entity_key="clio")
    assert row["after"]["password_changed"] is True and "a new passphrase" not in str(row)
    assert trust.api.post("/api/auth/token", data={"username": "clio", "password": "a new passphrase"}
                          ).status_code == 200

    listed = _cli(trust, "user", "list", "--json")
    assert listed.returncode == 0 and '"clio"' in listed.stdout and "argon2" not in listed.stdout
    before = _count(trust)
    bad = _cli(trust, "user", "set-role", "clio", "emperor")
    assert bad.returncode != 0 and "unknown role" in bad.stderr
    assert _count(trust) == before  # a refused change leaves no row


def test_imports_are_audited_through_the_api_and_the_cli(trust: Trust, tmp_path: Path) -> None:
    path = tmp_path / "parcels.gpkg"
    gpd.GeoDataFrame({"code": ["330282107001GB07001"], "block_code": [BLOCK_A], "tax": [5_000.0]},
                     geometry=[box(X0 + 320, Y0 + 270, X0 + 340, Y0 + 290)], crs=4549).to_file(path)
    with path.open("rb") as fh:
        resp = trust.api.post("/api/import", headers=trust.auth("edna"), data={"layer": "parcels"},
                              files={"file": ("parcels.gpkg", fh, "application/geopackage+sqlite3")})
    assert resp.status_code == 200, resp.text
    row = _last(trust, action="import", entity="parcels", actor="edna")
    assert row["entity_key"] == "parcels.gpkg"
    assert row["after"]["report"]["inserted"] == 1 and row["after"]["rows"] == row["before"]["rows"] + 1
    assert row["after"]["written"][0]["code"] == "330282107001GB07001" and "geom_md5" in row["after"]["written"][0]

    # the CLI: an upsert changing the tax; the row before and after are both kept
    gpd.GeoDataFrame({"code": ["330282107001GB07001"], "block_code": [BLOCK_A], "tax": [7_500.0]},
                     geometry=[box(X0 + 320, Y0 + 270, X0 + 340, Y0 + 290)], crs=4549).to_file(path)
    out = _cli(trust, "import", str(path), "--layer", "parcels", "--mode", "upsert")
    assert out.returncode == 0, out.stderr
    row = _last(trust, action="import", entity="parcels")
    assert row["actor"] == cli_actor()
    assert row["before"]["updated"][0]["tax"] == 5000 and row["after"]["written"][0]["tax"] == 7500


def test_a_refused_import_leaves_no_audit_row(trust: Trust, tmp_path: Path) -> None:
    path = tmp_path / "bad.gpkg"
    gpd.GeoDataFrame({"code": ["330282107001GB07002"], "block_code": ["NO-SUCH-BLOCK"]},
                     geometry=[box(X0 + 320, Y0 + 240, X0 + 340, Y0 + 260)], crs=4549).to_file(path)
    before = _count(trust)
    with path.open("rb") as fh:
        resp = trust.api.post("/api/import", headers=trust.auth("ada"), data={"layer": "parcels"},
                              files={"file": ("bad.gpkg", fh, "application/geopackage+sqlite3")})
    assert resp.status_code == 422
    assert _count(trust) == before


def test_joint_development_saves_are_audited(trust: Trust) -> None:
    body = {"name": "甬兴长河联合开发", "parcels": [PARCEL_A, PARCEL_A2],
            "members": [{"owner": OWNER_A, "share_pct": 60}, {"owner": OWNER_A2, "share_pct": 40}]}
    resp = trust.api.post("/api/joint-developments", json=body, headers=trust.auth("rex"))
    assert resp.status_code == 201, resp.text
    jd = resp.json()
    row = _last(trust, entity="joint_development", entity_key=str(jd["id"]))
    assert (row["actor"], row["action"], row["before"]) == ("rex", "create", None)
    assert row["after"]["name"] == "甬兴长河联合开发" and "geometry" not in row["after"]
    # a second save of the same parcels is refused: no row
    before = _count(trust)
    assert trust.api.post("/api/joint-developments", json=body, headers=trust.auth("ada")).status_code == 409
    assert _count(trust) == before


def test_far_exemption_writes_are_audited(trust: Trust) -> None:
    rex = trust.auth("rex")
    put = trust.api.put(f"/api/blocks/{BLOCK_A}/far-exemption", headers=rex,
                        json={"min_far": 1.5, "reason": "历史风貌保护区", "document": "慈规〔2024〕12号"})
    assert put.status_code == 201 and put.headers["etag"] == '"v1"'
    row = _last(trust, entity="far_exemption", entity_key=BLOCK_A)
    assert (row["action"], row["before"], row["after"]["min_far"]) == ("create", None, 1.5)
    # the planning figures use it at once
    fail = trust.api.get(f"/api/blocks/{BLOCK_A}/metrics").json()
    assert fail["far_exemption_min_far"] == 1.5
    upd = trust.api.put(f"/api/blocks/{BLOCK_A}/far-exemption", headers={**rex, "If-Match": '"v1"'},
                        json={"min_far": None, "reason": "市政府专题会议纪要：取消容积率下限"})
    assert upd.status_code == 200 and upd.headers["etag"] == '"v2"'
    row = _last(trust, entity="far_exemption", entity_key=BLOCK_A)
    assert row["action"] == "update" and row["before"]["min_far"] == 1.5 and row["after"]["min_far"] is None
    gone = trust.api.delete(f"/api/blocks/{BLOCK_A}/far-exemption", headers={**rex, "If-Match": '"v2"'},
                            params={"reason": "规划调整"})
    assert gone.status_code == 204
    row = _last(trust, entity="far_exemption", entity_key=BLOCK_A)
    assert row["action"] == "delete" and row["before"]["version"] == 2
    assert row["after"] == {"removed": True, "reason": "规划调整"}
    audit = trust.api.get("/api/audit", headers=rex, params={"entity": "far_exemption", "entity_key": BLOCK_A,
                                                             "sort": "id"}).json()
    assert [i["action"] for i in audit["items"]] == ["create", "update", "delete"] and audit["total"] == 3


def test_failed_write_leaves_no_audit_row(trust: Trust) -> None:
    rex = trust.auth("rex")
    before = _count(trust)
    assert trust.api.put("/api/blocks/NO-SUCH/far-exemption", headers=rex,
                         json={"min_far": 1, "reason": "x"}).status_code == 404
    assert trust.api.put(f"/api/blocks/{BLOCK_B}/far-exemption", headers=rex,
                         json={"min_far": 1, "reason": "   "}).status_code == 400
    assert trust.api.post("/api/users", headers=trust.auth("ada"),
                          json={"username": "vera", "password": TEST_PASSWORD, "role": "viewer"}).status_code == 409
    assert trust.api.patch("/api/users/vera", headers={**trust.auth("ada"), "If-Match": '"v99"'},
                           json={"role": "reviewer"}).status_code == 412
    assert _count(trust) == before


def test_audit_row_and_change_commit_together(trust: Trust, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the audit insert fails, the change it describes is rolled back with it."""
    from app.db import audit

    def broken(*_a: object, **_k: object) -> int:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", broken)
    resp = trust.api.put(f"/api/blocks/{BLOCK_B}/far-exemption", headers=trust.auth("rex"),
                         json={"min_far": 1.1, "reason": "测试"})
    monkeypatch.undo()
    assert resp.status_code == 500 and resp.json()["code"] == "InternalError"  # the error is logged, not shown
    assert "audit store" not in resp.text
    assert trust.api.get(f"/api/blocks/{BLOCK_B}/far-exemption").status_code == 404


# ---------------------------------------------------------------- append-only, read-only
@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'mallory'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "UPDATE audit_log SET after = NULL WHERE id = (SELECT max(id) FROM audit_log)",
])
def test_the_database_refuses_to_change_audit_rows(trust: Trust, statement: str) -> None:
    before = _count(trust)
    with pytest.raises(DBAPIError) as info, trust.engine.begin() as conn:
        conn.execute(text(statement))
    assert "append-only" in str(info.value.orig)
    assert _count(trust) == before


def test_no_route_edits_the_audit(trust: Trust) -> None:
    paths = trust.api.get("/openapi.json").json()["paths"]
    audit_paths = {p: set(ops) for p, ops in paths.items() if "audit" in p}
    assert audit_paths == {"/api/audit": {"get"}}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert trust.api.request(method, "/api/audit", headers=trust.auth("ada")).status_code == 405
        assert trust.api.request(method, "/api/audit/1", headers=trust.auth("ada")).status_code in (404, 405)


def test_audit_filters_and_pages(trust: Trust) -> None:
    admin = trust.auth("ada")
    page = trust.api.get("/api/audit", headers=admin, params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["total"] >= 5
    assert page["items"][0]["id"] > page["items"][1]["id"]  # newest first
    second = trust.api.get("/api/audit", headers=admin, params={"limit": 2, "offset": 2}).json()
    assert second["items"][0]["id"] < page["items"][1]["id"]
    by_actor = trust.api.get("/api/audit", headers=admin, params={"actor": "test", "entity": "user"}).json()
    assert by_actor["total"] >= 5 and {i["actor"] for i in by_actor["items"]} == {"test"}
    window = trust.api.get("/api/audit", headers=admin, params={"since": "2000-01-01T00:00:00Z",
                                                                "until": "2000-01-02T00:00:00Z"}).json()
    assert window == {"total": 0, "limit": 100, "offset": 0, "items": []}
    assert trust.api.get("/api/audit", headers=admin, params={"sort": "at; DROP TABLE audit_log"}).status_code == 400
    assert trust.api.get("/api/audit", headers=admin, params={"since": "2000-01-01T00:00:00"}).status_code == 400


def test_block_checklist_and_plan_writes_are_audited(trust: Trust) -> None:
    editor = trust.auth("eddy")  # town B's editor, on a block of town B
    path = f"/api/blocks/{BLOCK_B}"
    etag = trust.api.get(path).headers["etag"]
    body = {"items": [{"item": "site_standard", "state": "met", "evidence": "现场照片"}]}
    resp = trust.api.put(f"{path}/checklist", json=body, headers={**editor, "If-Match": etag})
    assert resp.status_code == 200, resp.text
    row = _last(trust, entity="block_checklist", entity_key=BLOCK_B)
    assert row["actor"] == "eddy" and row["before"] != row["after"]
    assert trust.api.put(f"/api/blocks/{BLOCK_A}/checklist", json=body,
                         headers={**editor, "If-Match": trust.api.get(f"/api/blocks/{BLOCK_A}").headers["etag"]}
                         ).status_code == 403  # the other town's block
    etag = trust.api.get(path).headers["etag"]
    resp = trust.api.post(f"{path}/plan", json={"industry": "新材料", "planned_floor_area_m2": 30_000},
                          headers={**editor, "If-Match": etag})
    assert resp.status_code == 201, resp.text
    row = _last(trust, entity="block_plan", entity_key=BLOCK_B)
    assert row["actor"] == "eddy" and row["action"] == "create" and row["after"] is not None


def test_require_town_editor_for(trust_settings) -> None:
    from fastapi import Depends
    from fastapi.testclient import TestClient

    from app.api import create_app
    from app.api.deps import require_town_editor_for

    app = create_app(trust_settings)
    app.add_api_route("/probe/{town}", lambda town: {"town": town},
                      dependencies=[Depends(require_town_editor_for("town"))])
    with TestClient(app) as api:
        tokens = {name: login(api, name) for name in ("ada", "edna", "rex")}

        def status(name: str | None, town: str) -> int:
            headers = {"Authorization": f"Bearer {tokens[name]}"} if name else {}
            return api.get(f"/probe/{town}", headers=headers).status_code

        assert status(None, TOWN_A) == 401
        assert status("edna", TOWN_A) == 200 and status("edna", TOWN_B) == 403
        assert status("ada", TOWN_B) == 200 and status("rex", TOWN_A) == 403


def test_cli_sample_and_joint_developments_are_audited(databases, base_settings) -> None:
    from app.db.engine import make_engine
    from tests.trust.conftest import seed

    url = databases.create()
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run([sys.executable, "-m", "app.cli", "sample", "--scale", "0.005"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    engine = make_engine(base_settings, url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT actor, action, entity, after FROM audit_log WHERE entity = 'sample'")
                               ).one()
        assert row.actor == cli_actor() and row.action == "load" and row.after["rows"]["towns"] > 0

        url2 = databases.create()
        engine2 = make_engine(base_settings, url2)
        seed(engine2)
        out = subprocess.run([sys.executable, "-m", "app.cli", "joint", "create", "-p", PARCEL_A, "-p", PARCEL_A2,
                              "-m", f"{OWNER_A}:50", "-m", f"{OWNER_A2}:50", "--name", "命令行联合开发"],
                             env={**os.environ, "DATABASE_URL": url2}, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        with engine2.connect() as conn:
            row = conn.execute(text("SELECT actor, after FROM audit_log WHERE entity = 'joint_development'")).one()
        engine2.dispose()
        assert row.actor == cli_actor() and row.after["name"] == "命令行联合开发"
    finally:
        engine.dispose()
