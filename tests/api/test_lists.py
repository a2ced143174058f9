"""The compliance list as files the bureau can use (issue 17, item 5): CSV (UTF-8 with BOM, Chinese headers) and
XLSX (number formats, frozen header) from ``GET /api/compliance`` and ``renewal check``, on the hand-built cases.

Hand-checked rows (town 330282113 胜山镇, the 容积率 floor 2.0 unless the block's exemption says otherwise):
- A4b 100 m × 100 m = 10 000 m² = 15 亩, no buildings: 容积率 0, shortfall 2.0 × 10 000 = 20 000 m²
- A2 7 500 m² (a 50 × 50 hole) = 11.25 亩: 40 × 20 × 3 + 20 × 15 × 2 = 3 000 m², 容积率 0.40, shortfall 12 000 m²
- B1 in QK113-002, whose exemption lowers the floor to 1.5: 100 × 50 × 1 = 5 000 m² on 10 000 m², 容积率 0.50,
  shortfall 1.5 × 10 000 − 5 000 = 10 000 m², basis ``exemption``
- A3 8 000 m²: 6 000 m² (surveyed dormitory) + 16 × 80 × 1 × 2 (9 m storeys count twice) = 8 560 m², 容积率 1.07
- A1 passes at exactly 2.0; C1's block is exempt from the rule
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.api import create_app
from app.db.engine import make_engine
from tests.conftest import bearer
from tests.planning import cases

P = cases.P
OWNER_A2 = "宁波市“新华”五金厂（普通合伙）"
HEADER = ["宗地编号 (parcel code)", "土地权属人 (owner)", "镇街 (town)", "镇街代码 (town code)", "区块编号 (block)",
          "区块名称 (block name)", "用地面积 m² (land area, m²)", "用地面积 亩 (land area, mu)", "容积率 (FAR)",
          "容积率下限 (FAR floor applied)", "结果 (outcome)", "缺口 m² (shortfall, counted floor area)",
          "依据 (rule basis)", "豁免理由 (exemption reason)"]


@pytest.fixture(scope="module")
def db_url(databases, tmp_path_factory):
    url = databases.create()
    engine = make_engine(databases.settings, url)
    cases.load(engine, tmp_path_factory.mktemp("lists"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE parcels SET owner = :o WHERE code = :c"), {"o": OWNER_A2, "c": P["A2"]})
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def api(db_url, base_settings):
    with TestClient(create_app(base_settings.model_copy(update={"database_url": db_url}))) as client:
        yield client  # anonymous: the parcel lists carry no money figures


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_download_has_a_bom_chinese_headers_and_the_json_rows(api):
    query = {"rule": "far_min", "town": cases.TOWN}
    total = api.get("/api/compliance", params=query).json()["total"]
    resp = api.get("/api/compliance", params={**query, "format": "csv"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    assert resp.headers["content-disposition"] == 'attachment; filename="compliance_far_min_330282113.csv"'
    header, *rows = read_csv(resp.content)
    assert header == HEADER
    assert len(rows) == total == 5 and resp.headers["x-row-count"] == "5"
    assert [r[0] for r in rows] == [P["A4b"], P["A4a"], P["A2"], P["B1"], P["A3"]]  # worst first, as the JSON
    by_code = {r[0]: r for r in rows}
    assert by_code[P["A2"]] == [P["A2"], OWNER_A2, "胜山镇", cases.TOWN, cases.BA, "胜山工业区块", "7500.00", "11.25",
                                "0.40", "2.00", "未达标 (fail)", "12000.00", "programme", ""]
    assert by_code[P["A4b"]][6:12] == ["10000.00", "15.00", "0.00", "2.00", "未达标 (fail)", "20000.00"]
    assert by_code[P["B1"]][5:] == ["西二区块", "10000.00", "15.00", "0.50", "1.50", "未达标 (fail)", "10000.00",
                                    "exemption", cases.EXEMPTION_B]
    assert by_code[P["A3"]][8] == "1.07"  # 8 560 ÷ 8 000 = 1.07


@pytest.mark.parametrize(("outcome", "codes"), [
    ("pass", [P["A1"]]),
    ("all", [P["A4b"], P["A4a"], P["A2"], P["B1"], P["A3"], P["A1"], P["C1"]]),
])
def test_outcome_filters(api, outcome, codes):
    resp = api.get("/api/compliance", params={"rule": "far_min", "town": cases.TOWN, "outcome": outcome,
                                              "format": "csv"})
    assert resp.headers["content-disposition"].endswith(f'filename="compliance_far_min_330282113_{outcome}.csv"')
    _, *rows = read_csv(resp.content)
    assert [r[0] for r in rows] == codes
    outcomes = {r[0]: r[10] for r in rows}
    assert outcomes[P["A1"]] == "达标 (pass)"
    if outcome == "all":
        assert outcomes[P["C1"]] == "豁免 (exempt)"
        assert [r[9] for r in rows if r[0] == P["C1"]] == [""]  # no floor: the rule is lifted
    page = api.get("/api/compliance", params={"rule": "far_min", "town": cases.TOWN, "outcome": outcome}).json()
    assert page["total"] == len(codes) and [i["code"] for i in page["items"]] == codes


def test_xlsx_download_has_number_formats_and_a_frozen_header(api):
    resp = api.get("/api/compliance", params={"rule": "far_min", "block": cases.BA, "format": "xlsx"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert resp.headers["content-disposition"] == 'attachment; filename="compliance_far_min_QK113-001.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(resp.content))
    sheet = book["far_min"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert [r[0] for r in rows[1:]] == [P["A4b"], P["A4a"], P["A2"], P["A3"]]  # B1 lies in another block
    a2 = next(cells for cells in sheet.iter_rows(min_row=2) if cells[0].value == P["A2"])
    assert [c.value for c in a2[6:12]] == [7500.0, 11.25, 0.4, 2.0, "未达标 (fail)", 12000.0]
    assert (a2[6].number_format, a2[8].number_format) == ("#,##0.00", "#,##0.00")
    notes = {r[0]: r[1] for r in book["说明 far_min"].iter_rows(values_only=True)}
    assert notes["范围 (scope)"] == cases.BA and notes["行数 (rows)"] == 4
    assert notes["容积率下限设置 (setting)"] == "RENEWAL_RULE_FAR_MIN = 2"


def test_percentages_for_share_rules(api):
    _, *rows = read_csv(api.get("/api/compliance", params={"rule": "building_coefficient_min", "town": cases.TOWN,
                                                          "format": "csv"}).content)
    # C1: one 40 m × 40 m building on 10 000 m²: 16.00 % against a 30.00 % floor; 1 400 m² more footprint needed
    c1 = next(r for r in rows if r[0] == P["C1"])
    assert c1[8:13] == ["16.00", "30.00", "未达标 (fail)", "1400.00", "national"]


def test_money_lists_stay_behind_the_login(api):
    query = {"rule": "target_tax_per_mu", "format": "csv"}
    assert api.get("/api/compliance", params=query).status_code == 401
    resp = api.get("/api/compliance", params=query, headers=bearer(api.app.state.settings))
    assert resp.status_code == 200
    header, *rows = read_csv(resp.content)
    assert header[0] == "区块编号 (block code)" and "土地权属人 (owner)" not in header
    assert rows == [[cases.BA, "胜山镇", cases.TOWN, "胜山工业区块", "45500.00", "68.25", "3.20", "15.00",
                     "未达标 (fail)", "6637500", "programme", ""]]


@pytest.mark.parametrize(("query", "status", "detail"), [
    ({"format": "pdf"}, 400, "format: Input should be 'json', 'csv' or 'xlsx'"),
    ({"outcome": "maybe"}, 400, "outcome: Input should be 'fail', 'pass' or 'all'"),
    ({"format": "csv", "town": "330282999"}, 404, "no town with code '330282999'"),
])
def test_bad_parameters(api, query, status, detail):
    resp = api.get("/api/compliance", params=query)
    assert resp.status_code == status and resp.json()["detail"] == detail


# ---------------------------------------------------------------- the same lists from the command line
def check(db_url, *args):
    env = {**os.environ, "DATABASE_URL": db_url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "app.cli", "check", *args], env=env, capture_output=True,
                          timeout=120)


def test_cli_csv_is_the_api_file(api, db_url, tmp_path):
    out = tmp_path / "list.csv"
    run = check(db_url, "far_min", "--town", cases.TOWN, "--format", "csv", "--out", str(out))
    assert run.returncode == 1, run.stderr  # parcels fail
    assert out.read_bytes() == api.get("/api/compliance", params={"rule": "far_min", "town": cases.TOWN,
                                                                  "format": "csv"}).content
    assert "wrote 5 rows (far_min)" in run.stderr.decode()
    piped = check(db_url, "far_min", "--town", cases.TOWN, "--format", "csv", "--outcome", "pass")
    assert piped.returncode == 0  # nothing listed fails
    assert [r[0] for r in read_csv(piped.stdout)[1:]] == [P["A1"]]


def test_cli_xlsx_has_a_sheet_per_rule(db_url, tmp_path):
    out = tmp_path / "all.xlsx"
    run = check(db_url, "--town", cases.TOWN, "--format", "xlsx", "--out", str(out))
    assert run.returncode == 1, run.stderr
    book = openpyxl.load_workbook(out)
    counts = {name: book[name].max_row - 1 for name in book.sheetnames if not name.startswith("说明")}
    # building coefficient: A2, A4a, A4b in QK113-001 and C1 (1 600 / 10 000 = 16 %) in QK113-003
    assert counts == {"far_min": 5, "supporting_floor_max": 2, "supporting_land_max": 1,
                      "building_coefficient_min": 4, "green_ratio_max": 2, "old_block": 1, "target_tax_per_mu": 1}


@pytest.mark.parametrize(("args", "message"), [
    (("far_min", "--format", "xlsx"), "xlsx is a file: give --out PATH"),
    (("--format", "csv"), "a csv list holds one rule: name it"),
    (("far_min", "--outcome", "maybe"), "unknown outcome 'maybe'; outcomes: fail, pass, all"),
])
def test_cli_list_errors_exit_2(db_url, args, message):
    run = check(db_url, *args)
    assert run.returncode == 2
    assert message in " ".join(run.stderr.decode().split())
