"""Which minimum 容积率 applies (issue 14, docs/rules.md §9.3): land-use codes in both schemes, the national minimum
by industry outside the programme's blocks, the warehouse floor, no floor; the Python twin against the SQL fragment,
and what the API, the card, the list, the OGC items, exports and the entry check say, with hand-worked numbers.

The hand-made city: town 330282113, block QK113-001 in the programme and QK113-009 outside it (in_programme false);
every parcel 100 × 100 m = 10,000 m² (15 亩) with one building of 4 m storeys, so 容积率 = floor area ÷ 10,000.

| parcel | block | land use | firms' codes | floor area | 容积率 | floor (basis) | outcome |
|---|---|---|---|---|---|---|---|
| N1 | outside | M2 | C2438 | 9,000 | 0.90 | 1.0 (national_industry: division 24) | fail, 1,000 m² short |
| N2 | outside | 100102 | 2511 | 5,500 | 0.55 | 0.5 (national_industry: division 25) | pass |
| N3 | outside | 工业用地 | (none) | 5,000 | 0.50 | none | not_applicable, pass null |
| N4 | outside | 1001 | C2438, C2511 | 9,000 | 0.90 | 0.5 (the lower of 1.0 and 0.5) | pass |
| W1 | programme | W1 | C2438 | 3,000 | 0.30 | none (warehouse, no floor set) | not_applicable |
| P1 | programme | 工业用地 | C2511 | 9,000 | 0.90 | 2.0 (programme) | fail, 11,000 m² short |
| O1 | programme | 商业用地 | | 3,000 | 0.30 | none (other land) | not_applicable |
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.api import create_app
from app.db.engine import make_engine
from app.planning import entry, far_basis, metrics, sql
from app.planning.config import PlanningRules
from app.planning.rule_sql import land_use_class_sql
from tests.conftest import login_as

X0, Y0 = 640000.0, 3346000.0
TOWN, IN, OUT = "330282113", "QK113-001", "QK113-009"
PARCELS = {  # code: (block, land use, firms' codes, floor area m²)
    "N1": (OUT, "M2", ["C2438"], 9_000.0),
    "N2": (OUT, "100102", ["2511"], 5_500.0),
    "N3": (OUT, "工业用地", [None], 5_000.0),
    "N4": (OUT, "1001", ["C2438", "C2511"], 9_000.0),
    "W1": (IN, "W1", ["C2438"], 3_000.0),
    "P1": (IN, "工业用地", ["C2511"], 9_000.0),
    "O1": (IN, "商业用地", [], 3_000.0),
}
RULES = PlanningRules()


def code(short: str) -> str:
    return f"330282113{'001' if PARCELS[short][0] == IN else '009'}GB0000{list(PARCELS).index(short) + 1}"


def _box(i: int) -> str:
    x, y = X0 + 150 * i, Y0
    return f"SRID=4549;MULTIPOLYGON((({x} {y},{x + 100} {y},{x + 100} {y + 100},{x} {y + 100},{x} {y})))"


def load(engine: Engine) -> None:
    """The hand-made city of the module docstring."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO towns (code, name, geom) VALUES (:c, '胜山镇', ST_GeomFromEWKT(:g))"),
                     {"c": TOWN, "g": f"SRID=4549;MULTIPOLYGON((({X0 - 50} {Y0 - 50},{X0 + 1200} {Y0 - 50},"
                                      f"{X0 + 1200} {Y0 + 200},{X0 - 50} {Y0 + 200},{X0 - 50} {Y0 - 50})))"})
        for block, in_programme in ((IN, True), (OUT, False)):
            conn.execute(text("INSERT INTO blocks (code, name, town_id, in_programme, geom) "
                              "SELECT :c, :n, id, :p, geom FROM towns"),
                         {"c": block, "n": f"区块 {block}", "p": in_programme})
        firm = 0
        for i, (short, (block, use, codes, floor_area)) in enumerate(PARCELS.items()):
            pid = conn.execute(text(
                "INSERT INTO parcels (code, block_id, land_use, geom) SELECT :c, id, :u, ST_GeomFromEWKT(:g) "
                "FROM blocks WHERE code = :b RETURNING id"),
                {"c": code(short), "u": use, "g": _box(i), "b": block}).scalar_one()
            x, y = X0 + 150 * i, Y0
            conn.execute(text(
                "INSERT INTO buildings (code, parcel_id, floors, floor_h, floor_area, geom) "
                "VALUES (:c, :p, 1, 4.0, :a, ST_GeomFromEWKT(:g))"),
                {"c": code(short) + "F0001", "p": pid, "a": floor_area,
                 "g": f"SRID=4549;MULTIPOLYGON((({x} {y},{x + 10} {y},{x + 10} {y + 10},{x} {y + 10},{x} {y})))"})
            for industry in codes:
                firm += 1
                conn.execute(text("INSERT INTO enterprises (credit_code, name, parcel_id, industry_code) "
                                  "VALUES (:cc, :n, :p, :i)"),
                             {"cc": f"91330282MA{firm:08d}", "n": f"企业{firm}", "p": pid, "i": industry})


@pytest.fixture(scope="module")
def engine(databases, base_settings) -> Iterator[Engine]:
    url = databases.create()
    eng = make_engine(base_settings, url)
    load(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def api(engine, base_settings) -> Iterator[TestClient]:
    settings = base_settings.model_copy(update={"database_url": engine.url.render_as_string(hide_password=False)})
    with TestClient(create_app(settings)) as client:
        yield login_as(client, "viewer")


# ---------------------------------------------------------------- pure
@pytest.mark.parametrize(("land_use", "cls"), [
    ("1001", "industrial"), ("100102", "industrial"), ("M2", "industrial"), ("m 2", "industrial"),
    ("Ｍ２", "industrial"), ("二类工业用地（M2）", "industrial"), ("W1", "warehouse"), ("1101", "warehouse"),
    ("110102", "warehouse"), ("1102", "warehouse"), ("物流仓储用地", "warehouse"), ("", "unrecorded"),
    (None, "unrecorded"), ("  ", "unrecorded"), ("商业用地", "other"), ("0701", "other"), ("R2", "other"),
    ("10", "other"), ("1002", "other"), ("XYZ", "other"),
])
def test_land_use_codes_map_to_classes(land_use, cls):
    assert far_basis.land_use_class(land_use) == cls


def test_industry_codes_take_the_national_minimum_of_their_division():
    table = far_basis.floor_table(RULES)
    assert far_basis.national_floor("C2438", table) == 1.0  # division 24 文教、工美、体育和娱乐用品
    assert far_basis.national_floor("2511", table) == 0.5  # 25 石油加工
    assert far_basis.national_floor("24", table) == 1.0 and far_basis.national_floor("C", table) is None
    assert far_basis.national_floor(None, table) is None
    # 2017 divisions read through the concordance to 2002: 39 computers/electronics was 2002's 40 (1.0), 30
    # non-metallic minerals was 31 (0.7), 29 rubber (291: 0.8) and plastics (292: 1.0), 43 repairs has no row
    assert far_basis.national_floor("C3981", table) == 1.0 and far_basis.national_floor("C3091", table) == 0.7
    assert far_basis.national_floor("C2913", table) == 0.8 and far_basis.national_floor("C2927", table) == 1.0
    assert far_basis.national_floor("C29", table) == 0.8 and far_basis.national_floor("C4320", table) is None
    as_2002 = far_basis.floor_table(PlanningRules(industry_code_edition="2002"))
    assert far_basis.national_floor("3981", as_2002) == 0.7 and far_basis.national_floor("3091", as_2002) == 1.0
    assert far_basis.industry_floor(["C2438", "C2511", None], table) == 0.5
    assert far_basis.industry_floor([None], table) is None


def test_applicable_floor_by_case():
    f = far_basis.applicable_floor
    assert f("M2", True, [], RULES) == far_basis.FarBasis("programme", 2.0, "industrial")
    assert f(None, True, [], RULES) == far_basis.FarBasis("programme", 2.0, "unrecorded")
    assert f("M2", True, [], RULES, exemption=True, exemption_min_far=1.5).floor == 1.5
    assert f("M2", True, [], RULES, exemption=True) == far_basis.FarBasis("exemption", None, "industrial")
    assert f("M2", False, ["C2438"], RULES) == far_basis.FarBasis("national_industry", 1.0, "industrial")
    assert f("M2", False, [], RULES) == far_basis.FarBasis("none", None, "industrial")
    assert f("W1", True, ["C2438"], RULES) == far_basis.FarBasis("none", None, "warehouse")
    assert f("W1", False, [], PlanningRules(warehouse_far_min=0.8)) == far_basis.FarBasis("warehouse", 0.8,
                                                                                          "warehouse")
    assert f("商业用地", True, ["C2438"], RULES) == far_basis.FarBasis("none", None, "other")


def test_settings_change_the_version_and_refuse_bad_tables():
    assert PlanningRules(warehouse_far_min=1.0).rule_version != "rules-1"
    assert PlanningRules(national_far_min={**RULES.national_far_min, "25": 0.6}).rule_version != "rules-1"
    with pytest.raises(ValueError, match="two-digit"):
        PlanningRules(national_far_min={"C25": 0.5})


# ---------------------------------------------------------------- SQL twin
def test_land_use_class_sql_is_the_twin(engine):
    values = ["1001", "100101", "100102", "100103", "M", "M1", "M2", "M3", "m2", "Ｍ２", " M 2 ", "11", "1101",
              "1102", "110101", "110102", "110103", "W", "W1", "W2", "W3", "ｗ１", "仓储用地", "物流仓储用地",
              "储备库用地", "工业用地", "一类工业用地", "二类工业用地（M2）", "工矿用地", "10", "1002", "商业用地",
              "0701", "R2", "XYZ", "", "  ", None]
    statement = text(f"SELECT p.land_use, {land_use_class_sql('p')} FROM unnest(CAST(:v AS text[])) "  # noqa: S608
                     "AS p(land_use)")
    with engine.connect() as conn:
        got = dict(conn.execute(statement, {"v": values}).all())
    assert got == {v: far_basis.land_use_class(v) for v in values}


@pytest.mark.parametrize("rules", [RULES, PlanningRules(warehouse_far_min=0.5, far_min=1.8),
                                   PlanningRules(industry_code_edition="2002")], ids=["defaults", "warehouse", "2002"])
def test_figures_basis_is_the_twin(engine, rules):
    """Every parcel's far_basis and far_floor from the planning statement equal far_basis.applicable_floor of its
    raw data; also for random land uses and codes written over the city."""
    rng = random.Random(14)
    uses = ["1001", "M2", "W1", "110101", "商业用地", None, "工业用地", "仓储用地"]
    codes = ["C2438", "2511", "C3981", "C2927", "C2913", "C4320", "C", None, "C1713", "C3091"]
    with engine.connect() as conn:
        trans = conn.begin()
        for short in PARCELS:
            conn.execute(text("UPDATE parcels SET land_use = :u WHERE code = :c"),
                         {"u": rng.choice(uses), "c": code(short)})
        for firm_id in range(1, 8):
            conn.execute(text("UPDATE enterprises SET industry_code = :i WHERE id = :id"),
                         {"i": rng.choice(codes), "id": firm_id})
        rows = conn.execute(text(
            "SELECT p.code, p.land_use, b.in_programme, ARRAY(SELECT e.industry_code FROM enterprises e "
            "WHERE e.parcel_id = p.id) FROM parcels p JOIN blocks b ON b.id = p.block_id")).all()
        figures = {f.parcel_code: f for f in metrics.parcel_figures(conn, rules)}
        trans.rollback()
    assert len(figures) == len(PARCELS)
    for parcel, use, in_programme, firm_codes in rows:
        twin = far_basis.applicable_floor(use, in_programme, firm_codes, rules)
        fig = figures[parcel]
        assert (fig.far_basis, fig.far_floor, fig.land_use_class) == (twin.basis, twin.floor, twin.land_use_class)
        assert fig.industry_codes == sorted(c for c in firm_codes if c is not None)


# ---------------------------------------------------------------- hand-worked through the engine
def _far(conn, short: str, rules: PlanningRules = RULES):
    m = metrics.parcel_metrics(conn, code(short), rules)
    return next(r for r in m.rules if r.rule == "far_min")


def test_hand_worked_results(engine):
    with engine.connect() as conn:
        n1, n2, n3, n4 = (_far(conn, s) for s in ("N1", "N2", "N3", "N4"))
        w1, p1, o1 = (_far(conn, s) for s in ("W1", "P1", "O1"))
        w1_set = _far(conn, "W1", PlanningRules(warehouse_far_min=0.5))
    # N1: 9,000 ÷ 10,000 = 0.9 < 1.0 (C2438: division 24); 1.0 × 10,000 − 9,000 = 1,000 m² short
    assert (n1.rule_basis, n1.outcome, n1.threshold, n1.value) == ("national_industry", "fail", 1.0, 0.9)
    assert n1.shortfall == pytest.approx(1_000.0) and n1.relative_gap == pytest.approx(0.1)
    assert "C2438" in n1.explanation and "national minimum 1" in n1.explanation
    # N2: 0.55 ≥ 0.5 (2511: division 25)
    assert (n2.rule_basis, n2.outcome, n2.threshold, n2.shortfall) == ("national_industry", "pass", 0.5, 0.0)
    # N3: no industry code outside the programme: no floor claimed
    assert (n3.rule_basis, n3.outcome, n3.passed, n3.threshold, n3.shortfall) == ("none", "not_applicable", None,
                                                                                  None, None)
    # N4: firms of divisions 24 (1.0) and 25 (0.5): the lower, 0.9 ≥ 0.5
    assert (n4.rule_basis, n4.outcome, n4.threshold) == ("national_industry", "pass", 0.5)
    # W1: warehouse land, no floor configured (reported only); with RENEWAL_RULE_WAREHOUSE_FAR_MIN=0.5: 0.3 < 0.5,
    # 0.5 × 10,000 − 3,000 = 2,000 m² short
    assert (w1.rule_basis, w1.outcome, w1.value) == ("none", "not_applicable", pytest.approx(0.3))
    assert "warehouse" in w1.explanation
    assert (w1_set.rule_basis, w1_set.outcome, w1_set.threshold) == ("warehouse", "fail", 0.5)
    assert w1_set.shortfall == pytest.approx(2_000.0)
    # P1: industrial land in a programme block: 2.0, whatever the firm's industry; 2.0 × 10,000 − 9,000 = 11,000
    assert (p1.rule_basis, p1.outcome, p1.threshold) == ("programme", "fail", 2.0)
    assert p1.shortfall == pytest.approx(11_000.0)
    assert (o1.rule_basis, o1.outcome) == ("none", "not_applicable")


def test_compliance_sql_pages_the_failures_by_basis(engine):
    with engine.connect() as conn:
        every = metrics.compliance(conn, RULES, "far_min", limit=50)
        national = metrics.compliance(conn, RULES, "far_min", basis="national_industry")
        programme = metrics.compliance(conn, RULES, "far_min", basis="programme")
        none = metrics.compliance(conn, RULES, "far_min", basis="none")
    assert [i.code for i in every.items] == [code("P1"), code("N1")]  # worst first: gap 0.55, then 0.1
    assert [(i.code, i.rule_basis) for i in national.items] == [(code("N1"), "national_industry")]
    assert [i.code for i in programme.items] == [code("P1")] and none.total == 0
    assert sql.PARCEL_CHECKS["far_min"].basis == "f.far_basis"


# ---------------------------------------------------------------- the API, the card, files
def test_api_compliance_list_filtered_by_basis(api):
    body = api.get("/api/compliance", params={"rule": "far_min", "basis": "national_industry"}).json()
    assert body["basis"] == "national_industry" and body["total"] == 1
    item = body["items"][0]
    assert (item["code"], item["rule_basis"], item["threshold"]) == (code("N1"), "national_industry", 1.0)
    assert item["shortfall"] == pytest.approx(1_000.0)
    none = api.get("/api/compliance", params={"rule": "far_min", "basis": "none", "outcome": "all"}).json()
    assert sorted(i["code"] for i in none["items"]) == sorted(code(s) for s in ("N3", "W1", "O1"))
    assert {i["outcome"] for i in none["items"]} == {"not_applicable"}
    assert api.get("/api/compliance", params={"basis": "nonsense"}).status_code in (400, 422)
    csv = api.get("/api/compliance", params={"rule": "far_min", "format": "csv", "outcome": "all",
                                             "basis": "national_industry"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 3 and all(line.split(",")[-2] == "national_industry" for line in lines[1:])


def test_card_shows_the_basis(api):
    n1 = api.get(f"/api/parcels/{code('N1')}/card").json()
    assert (n1["rule_basis"], n1["far_min"], n1["pass"], n1["industry_codes"]) == (
        "national_industry", 1.0, False, ["C2438"])
    assert n1["shortfall_m2"] == pytest.approx(1_000.0)
    n3 = api.get(f"/api/parcels/{code('N3')}/card").json()
    assert (n3["rule_basis"], n3["far_min"], n3["pass"], n3["shortfall_m2"]) == ("none", None, None, 0)
    p1 = api.get(f"/api/parcels/{code('P1')}/card").json()
    assert (p1["rule_basis"], p1["far_min"], p1["pass"]) == ("programme", 2.0, False)
    block = api.get(f"/api/blocks/{OUT}/card").json()
    assert (block["in_programme"], block["far_min"], block["parcels_failing"]) == (False, None, 1)


def test_ogc_items_carry_the_basis(api):
    props = api.get(f"/ogc/collections/parcels/items/{code('N1')}").json()["properties"]
    assert (props["rule_basis"], props["far_floor"], props["pass"]) == ("national_industry", 1.0, False)
    n3 = api.get(f"/ogc/collections/parcels/items/{code('N3')}").json()["properties"]
    assert (n3["rule_basis"], n3.get("far_floor"), n3.get("pass")) == ("none", None, None)
    found = api.get("/ogc/collections/parcels/items", params={"rule_basis": "national_industry"}).json()
    assert sorted(f["id"] for f in found["features"]) == sorted(code(s) for s in ("N1", "N2", "N4"))


def test_export_field_read_back(api, tmp_path: Path):
    resp = api.get("/api/export", params={"layer": "parcels", "format": "gpkg", "town": TOWN})
    assert resp.status_code == 200, resp.text
    path = tmp_path / "parcels.gpkg"
    path.write_bytes(resp.content)
    df = pyogrio.read_dataframe(path).set_index("code")
    assert (df.loc[code("N1"), "rule_basis"], df.loc[code("N1"), "far_min"]) == ("national_industry", 1.0)
    assert (df.loc[code("P1"), "rule_basis"], df.loc[code("P1"), "far_min"]) == ("programme", 2.0)
    assert df.loc[code("W1"), "rule_basis"] == "none" and df["far_min"].isna()[code("W1")]


# ---------------------------------------------------------------- the entry check
def test_entry_check_takes_the_floor_from_the_rule(api):
    def far_of(parcel: str, industry: str | None, floor_area: float) -> dict:
        project = {"invest_yuan": 1e7, "floor_area_m2": floor_area, "storeys": 1, "footprint_m2": 4_000,
                   "tax_yuan": 1e6, "output_yuan": 1e7, "industry_code": industry}
        body = api.post(f"/api/parcels/{code(parcel)}/entry-check", json=project).json()
        return next(t for t in body["thresholds"] if t["id"] == "far_min")
    # outside the programme: 5,500 m² on 10,000 m² = 0.55 ≥ 0.5 for C2511; < 1.0 for C2438 (4,500 m² short)
    assert (r := far_of("N3", "C2511", 5_500))["outcome"] == "pass" and r["threshold"] == 0.5
    assert r["rule_basis"] == "national_industry" and "国土资发〔2008〕24号" in r["source"]
    assert (r := far_of("N3", "C2438", 5_500))["outcome"] == "fail" and r["shortfall"] == pytest.approx(4_500.0)
    assert (r := far_of("N3", None, 5_500))["outcome"] == "not_checked" and r["rule_basis"] == "none"
    # a programme block: 2.0 whatever the industry
    assert (r := far_of("P1", "C2511", 5_500))["threshold"] == 2.0 and r["rule_basis"] == "programme"
    # warehouse land: no floor (reported only)
    assert far_of("W1", "C2511", 5_500)["outcome"] == "not_checked"


def test_check_entry_pure():
    site = entry.EntrySite(parcel_code="X", block_code=OUT, land_area_m2=10_000, land_use="M2", in_programme=False)
    project = entry.ProjectInput(invest_yuan=1e7, floor_area_m2=9_000, storeys=1, footprint_m2=4_000, tax_yuan=1e6,
                                 output_yuan=1e7, industry_code="C2438")
    far = next(r for r in entry.check_entry(project, site, RULES).thresholds if r.id == "far_min")
    assert (far.outcome, far.threshold, far.rule_basis) == ("fail", 1.0, "national_industry")
    assert far.shortfall == pytest.approx(1_000.0)


# ---------------------------------------------------------------- the command line
def test_cli_check_filters_by_basis(engine):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False), "COLUMNS": "200"}

    def check(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.cli", "check", "far_min", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    run = check("--basis", "national_industry", "--format", "json")
    assert run.returncode == 1, run.stderr  # N1 fails its national minimum
    (page,) = json.loads(run.stdout)
    assert page["basis"] == "national_industry"
    assert [(i["code"], i["rule_basis"], i["threshold"]) for i in page["items"]] == [(code("N1"), "national_industry",
                                                                                       1.0)]
    run = check("--basis", "none", "--outcome", "all", "--format", "json")
    assert run.returncode == 0, run.stderr  # nothing fails where no floor is claimed
    assert {i["outcome"] for i in json.loads(run.stdout)[0]["items"]} == {"not_applicable"}
    table = check("--basis", "programme")
    assert "programme" in table.stdout and code("P1") in table.stdout
    assert check("--basis", "nonsense").returncode == 2
