"""`renewal report map`: a self-contained folium map of a town's blocks that opens offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from sqlalchemy import text


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env={**os.environ, "DATABASE_URL": url},
                          capture_output=True, text=True, timeout=120)


def test_report_map_is_self_contained_and_opens_offline(browser, web_settings, web_db, tmp_path):
    with web_db.connect() as conn:
        town, name, n_blocks = conn.execute(text(
            "SELECT t.code, t.name, count(*) FROM towns t JOIN blocks b ON b.town_id = t.id "
            "GROUP BY t.code, t.name ORDER BY count(*) DESC, t.code LIMIT 1")).one()
    out = tmp_path / "town.html"
    done = run_cli(web_settings.sqlalchemy_url, "report", "map", "--town", town, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{n_blocks} blocks" in done.stderr
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<link[^>]*\bhref=\S*https?:", html)
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    assert "@import" not in html
    # the only absolute addresses left are Leaflet's own attribution link and XML namespaces, not resources
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= {
        "https://leafletjs.com", "http://www.w3.org/2000/svg", "https://bugzilla.mozilla.org/show_bug.cgi?id=888319"}
    assert name in html

    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(out.as_uri())
        page.wait_for_selector("path.leaflet-interactive")
        assert page.locator("path.leaflet-interactive").count() == n_blocks
        assert errors == []
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        assert "实施中" in page.locator(".report-legend").inner_text()
    finally:
        context.close()


def test_report_map_unknown_town(web_settings, tmp_path):
    done = run_cli(web_settings.sqlalchemy_url, "report", "map", "--town", "330282999", "--out",
                   str(tmp_path / "x.html"))
    assert done.returncode == 2
    assert "no town with code '330282999'" in done.stderr
    assert not (tmp_path / "x.html").exists()
