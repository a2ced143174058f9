"""Fixtures of the trust tests: two towns with a block each, an account per role, their tokens, the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.api import create_app
from app.db.engine import make_engine
from app.settings import Settings
from tests.conftest import TEST_PASSWORD, create_user

TOWN_A, TOWN_B = "330282107", "330282001"
BLOCK_A, BLOCK_B = "QK107-001", "QK001-001"
PARCEL_A, PARCEL_A2, PARCEL_B = "330282107001GB00001", "330282107001GB00002", "330282001001GB00001"
OWNER_A, OWNER_A2 = "慈溪市甬兴电器有限公司", "慈溪市长河轴承有限公司"
X0, Y0 = 620000.0, 3342900.0

# Two towns side by side, a block in each; in town A two adjacent parcels of different holders (a joint
# development can merge them), in town B one; each parcel with tax, output, investment and one building.
_TOWN = text("INSERT INTO towns (code, name, geom) "
             "VALUES (:code, :name, ST_Multi(ST_MakeEnvelope(:x, :y, :x + 1000, :y + 1000, 4549)))")
_BLOCK = text("INSERT INTO blocks (code, name, town_id, status, geom) "
              "SELECT :code, :name, id, 'surveyed', ST_Multi(ST_MakeEnvelope(:x, :y, :x + 300, :y + 200, 4549)) "
              "FROM towns WHERE code = :town")
_PARCEL = text("INSERT INTO parcels (code, block_id, land_use, owner, term_end, invest, output, tax, geom) "
               "SELECT :code, id, '工业用地', :owner, DATE '2050-12-31', :invest, :output, :tax, "
               "ST_Multi(ST_MakeEnvelope(:x, :y, :x + 100, :y + 100, 4549)) FROM blocks WHERE code = :block")
_BUILDINGS = text("INSERT INTO buildings (code, parcel_id, floors, floor_h, use, geom) "
                  "SELECT code || 'F0001', id, 3, 4.5, 'production', "
                  "ST_Multi(ST_Buffer(ST_Centroid(geom), 20, 'quad_segs=1')) FROM parcels")
SEED = [
    (_TOWN, {"code": TOWN_A, "name": "观海卫镇", "x": X0, "y": Y0}),
    (_TOWN, {"code": TOWN_B, "name": "浒山街道", "x": X0 + 1000, "y": Y0}),
    (_BLOCK, {"code": BLOCK_A, "name": "双湖村工业区块", "town": TOWN_A, "x": X0 + 100, "y": Y0 + 100}),
    (_BLOCK, {"code": BLOCK_B, "name": "浒山工业区块", "town": TOWN_B, "x": X0 + 1100, "y": Y0 + 100}),
    (_PARCEL, {"code": PARCEL_A, "block": BLOCK_A, "owner": OWNER_A, "invest": 12_000_000,
               "output": 50_000_000, "tax": 1_500_000, "x": X0 + 100, "y": Y0 + 100}),
    (_PARCEL, {"code": PARCEL_A2, "block": BLOCK_A, "owner": OWNER_A2, "invest": 8_000_000,
               "output": 21_000_000, "tax": 640_000, "x": X0 + 200, "y": Y0 + 100}),
    (_PARCEL, {"code": PARCEL_B, "block": BLOCK_B, "owner": "慈溪市浒山五金厂", "invest": 3_500_000,
               "output": 9_000_000, "tax": 120_000, "x": X0 + 1100, "y": Y0 + 100}),
    (_BUILDINGS, {}),
]

USERS = {  # name: (role, town)
    "ada": ("admin", None),
    "vera": ("viewer", None),
    "rex": ("reviewer", None),
    "edna": ("town_editor", TOWN_A),
    "eddy": ("town_editor", TOWN_B),
}
"""One account per role (two town editors, of towns A and B), all with TEST_PASSWORD."""


def seed(engine: Engine) -> None:
    """The two towns with their blocks, parcels and buildings, and the accounts."""
    with engine.begin() as conn:
        for statement, params in SEED:
            conn.execute(statement, params)
    for name, (role, town) in USERS.items():
        create_user(engine, name, role, town)


@dataclass
class Trust:
    """A seeded database and the API on it, with a token per account."""

    settings: Settings
    engine: Engine
    api: TestClient
    tokens: dict[str, str]

    def auth(self, name: str | None) -> dict[str, str]:
        """The Authorization header of account ``name`` (none for None)."""
        return {"Authorization": f"Bearer {self.tokens[name]}"} if name else {}

    def audit_rows(self, **where: str) -> list[dict]:
        """Audit rows matching exact column values, oldest first."""
        clause = " AND ".join(f"{k} = :{k}" for k in where) or "TRUE"
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(
                f"SELECT * FROM audit_log WHERE {clause} ORDER BY id"), where).mappings()]  # noqa: S608


def login(api: TestClient, name: str, password: str = TEST_PASSWORD) -> str:
    """Log in through the API; the access token."""
    resp = api.post("/api/auth/token", data={"username": name, "password": password})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


@pytest.fixture(scope="session")
def trust_settings(databases, base_settings: Settings) -> Settings:
    """Settings on a seeded throwaway database. Every TestClient comes from one address ("testclient"), and
    the tests fail many logins on purpose: the per-address limit is raised here (its own test lowers it)."""
    url = databases.create()
    engine = make_engine(base_settings, url)
    try:
        seed(engine)
    finally:
        engine.dispose()
    return base_settings.model_copy(update={"database_url": url, "login_max_failures_per_ip": 10_000})


@pytest.fixture(scope="session")
def trust(trust_settings: Settings) -> Iterator[Trust]:
    """The API on the seeded database, with a token per account (obtained by logging in)."""
    engine = make_engine(trust_settings)
    with TestClient(create_app(trust_settings)) as api:
        tokens = {name: login(api, name) for name in USERS}
        yield Trust(trust_settings, engine, api, tokens)
    engine.dispose()
