"""Reports: HTML with the figures, a real PDF from Chromium turned into text and into an image, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.programme import data
from tests.programme.data import BA, BC, TOWN


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def ink(pdf: Path, tmp_path: Path) -> float:
    """Share of dark pixels on page 1, rendered as a PNG (checked) and a grey map (counted)."""
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-singlefile", str(pdf), str(tmp_path / "page")], check=True,
                   timeout=60)
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    subprocess.run(["pdftoppm", "-gray", "-r", "40", "-singlefile", str(pdf), str(tmp_path / "page")], check=True,
                   timeout=60)
    raw = (tmp_path / "page.pgm").read_bytes()
    magic, size, maxval, pixels = raw.split(b"\n", 3)
    assert magic == b"P5" and maxval == b"255"
    width, height = (int(v) for v in size.split())
    pixels = pixels[:width * height]
    return sum(1 for p in pixels if p < 160) / len(pixels)


def test_town_report_html(site):
    resp = site.client.get(f"/api/programme/towns/{TOWN}/report.html", params={"as_of": "2026-11-27"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    page = resp.text
    assert "胜山镇 老旧工业区块改造提升进度报告" in page
    assert "202.50" in page and "4.21" in page  # renovated 亩; 亩均税收 3 000 000 ÷ 71.25 亩 = 4.21 万元/亩
    assert '<b data-failing-total>5</b>' in page  # A4b, A4a, A2, B1, A3 below their FAR floor
    assert "QK113-004 空区块" in page and "<svg" in page and "http" not in page.split("<svg", 1)[1].split("</svg>")[0] \
        .replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in page  # self-contained, nothing to fetch


def test_town_report_pdf_has_the_town_and_its_figures(site, tmp_path):
    resp = site.client.get(f"/api/programme/towns/{TOWN}/report.pdf", params={"as_of": "2026-11-27"})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF-")
    pdf = tmp_path / "town.pdf"
    pdf.write_bytes(resp.content)
    text = pdf_text(pdf)
    assert "胜山镇" in text and "202.50" in text and "4.21" in text and "10,000" in text
    assert "QK113-003" in text and "330282113001GB00005" in text  # an overdue block, the worst FAR failure
    assert ink(pdf, tmp_path) > 0.01  # the page is drawn, not blank


def test_city_report(site, tmp_path):
    page = site.client.get("/api/programme/report.html", params={"as_of": "2026-11-27"}).text
    assert "慈溪市老旧工业区块改造提升进度报告" in page and "胜山镇" in page and "观海卫镇" in page
    resp = site.client.get("/api/programme/report.pdf", params={"as_of": "2026-11-27"})
    pdf = tmp_path / "city.pdf"
    pdf.write_bytes(resp.content)
    assert "202.50" in pdf_text(pdf)


def test_dossier_is_one_page(site, tmp_path):
    html = site.client.get(f"/api/blocks/{BA}/dossier.html", params={"as_of": "2026-11-27"}).text
    assert "胜山工业区块 <small>QK113-001</small> 地块档案" in html
    resp = site.client.get(f"/api/blocks/{BA}/dossier.pdf", params={"as_of": "2026-11-27"})
    pdf = tmp_path / "dossier.pdf"
    pdf.write_bytes(resp.content)
    assert pdf_pages(pdf) == 1
    text = pdf_text(pdf)
    for expected in ("QK113-001", "全部拆除式改造", "已验收", "2024-05-20", "十化", "330282113001GB00004", "腾退",
                     "157.50 亩 < 200 亩"):
        assert expected in text, expected
    assert ink(pdf, tmp_path) > 0.01


def test_unknown_town_and_format(site):
    assert site.client.get("/api/programme/towns/330282999/report.html").status_code == 404
    assert site.client.get(f"/api/programme/towns/{TOWN}/report.docx").status_code == 400


def test_pdf_without_chromium_is_a_clear_503(site, databases, base_settings):
    from fastapi.testclient import TestClient

    from app.api import create_app

    settings = site.settings.model_copy(update={"report_chromium": "no-such-chromium"})
    with TestClient(create_app(settings)) as client:
        resp = client.get(f"/api/blocks/{BA}/dossier.pdf")
    assert resp.status_code == 503 and resp.json()["code"] == "PdfUnavailable"
    assert "RENEWAL_REPORT_CHROMIUM" in resp.json()["detail"]


# ---------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def env(databases, base_settings, tmp_path_factory):
    from app.db.engine import make_engine

    url = databases.create()
    engine = make_engine(base_settings, url)
    data.load(engine, tmp_path_factory.mktemp("cli"))
    engine.dispose()
    return {**os.environ, "DATABASE_URL": url, "COLUMNS": "200"}


def renewal(env, *args):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def test_cli_reports(env, tmp_path):
    run = renewal(env, "report", "town", "--town", TOWN, "--out", str(tmp_path / "t.pdf"), "--as-of", "2026-11-27")
    assert run.returncode == 0, run.stderr
    assert "胜山镇" in pdf_text(tmp_path / "t.pdf")
    run = renewal(env, "report", "dossier", "--block", BA, "--out", str(tmp_path / "d.html"))
    assert run.returncode == 0 and "地块档案" in (tmp_path / "d.html").read_text(encoding="utf-8")
    run = renewal(env, "report", "progress", "--as-of", "2026-11-27", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["city"]["renovated_area_mu"] == pytest.approx(202.5)
    table = renewal(env, "report", "progress", "--as-of", "2026-11-27")
    assert "胜山镇" in table.stdout and "202.5" in table.stdout


def test_cli_block_commands(env):
    skip = renewal(env, "block", "status", BC, "listed", "--actor", "a")
    assert skip.returncode == 2 and "go back more than one step" in skip.stderr
    ok = renewal(env, "block", "status", BC, "accepted", "--actor", "验收组", "--remark", "验收通过")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "accepted"
    locked = renewal(env, "block", "set", BC, "--industry", "模具")
    assert locked.returncode == 2 and "cannot change unless an administrator reopens it" in locked.stderr
    reopened = renewal(env, "block", "reopen", BC, "--remark", "整改")
    assert reopened.returncode == 0, reopened.stderr
    shown = json.loads(renewal(env, "block", "show", BC).stdout)
    assert [h["event"] for h in shown["history"]][-2:] == ["advance", "reopen"]
    assert shown["history"][-1]["actor"].startswith("cli:")
    accepted_by = shown["history"][-2]["actor"]  # the OS user, and whom they named
    assert accepted_by.startswith("cli:") and accepted_by.endswith(" for 验收组")
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        audited = conn.execute(text("SELECT action FROM audit_log WHERE entity = 'block' AND entity_key = :c "
                                    "ORDER BY id"), {"c": BC}).scalars().all()
    engine.dispose()
    assert audited == ["update", "reopen"]
    overdue = renewal(env, "block", "overdue", "--as-of", "2026-11-27")
    assert overdue.returncode == 1 and "QK113-004" in overdue.stdout


def test_money_is_hidden_from_anonymous_readers(site):
    from fastapi.testclient import TestClient

    from app.api import create_app

    with TestClient(create_app(site.settings)) as anonymous:
        firm = anonymous.get(f"/api/blocks/{BA}/classes").json()["parcels"][0]["firms"][0]
        page = anonymous.get(f"/api/blocks/{BA}/dossier.html", params={"as_of": "2026-11-27"}).text
    assert firm["revenue_yuan"] is None and firm["tax_per_mu_wan"] is None and firm["score_terms"] == []
    assert firm["class_used"] in ("A", "B", "C", "D")  # the class itself stays public
    logged_in = site.client.get(f"/api/blocks/{BA}/classes").json()["parcels"][0]["firms"][0]
    assert logged_in["revenue_yuan"] is not None and logged_in["score_terms"]
    full = site.client.get(f"/api/blocks/{BA}/dossier.html", params={"as_of": "2026-11-27"}).text
    # the block's 亩均税收 row: a number for a logged-in reader, a dash for an anonymous one
    assert "<th>亩均税收</th><td>— 万元/亩" in page
    assert "<th>亩均税收</th><td>— 万元/亩" not in full


def test_dossier_colours_are_the_legend(site, monkeypatch):
    """The dossier's key and the reports' bars and failing marks take their colours from app/planning/legend.py:
    the template holds no colour of its own, and a changed legend changes the page."""
    import dataclasses
    import re

    from app.planning import legend
    from app.programme.reports import TEMPLATES

    assert re.findall(r"#[0-9a-fA-F]{3,8}\b", (TEMPLATES / "dossier.html").read_text(encoding="utf-8")) == []
    page = site.client.get(f"/api/blocks/{BA}/dossier.html", params={"as_of": "2026-11-27"}).text
    key = page.split('<div class="note legend">', 1)[1].split("</div>", 1)[0]
    assert set(re.findall(r"#[0-9a-fA-F]{6}", key)) == {legend.PASS.colour, legend.FAIL.colour,
                                                       *legend.FLAG_COLOURS.values()}
    monkeypatch.setattr(legend, "PASS", dataclasses.replace(legend.PASS, colour="#123456"))
    monkeypatch.setattr(legend, "FLAG_COLOURS", {**legend.FLAG_COLOURS, "exit": "#654321"})
    monkeypatch.setattr(legend, "CHARTS", {**legend.CHARTS, "renovated": "#abcdef"})
    changed = site.client.get(f"/api/blocks/{BA}/dossier.html", params={"as_of": "2026-11-27"}).text
    key = changed.split('<div class="note legend">', 1)[1].split("</div>", 1)[0]
    assert "background:#123456" in key and "solid #654321" in key
    assert "background: #abcdef" in changed  # the target bars (base.html)
