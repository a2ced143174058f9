"""Joint development (联合开发) on the map, in Debian's Chromium on the 0.02 sample.

Two neighbouring parcels of different holders are picked by clicking on the map, previewed (the merged outline
is drawn and the figures shown are the API's), saved by a reviewer who logs in on the way (in the page's one
login box: the header then shows the reviewer), and the project then shows on the joint-developments layer with
its card. Refusals by the API (shares not 100%, a parcel already in a project, a wrong password) are shown in
the UI's language: a headline by the API's error code and what it concerns in Chinese, the API's own words in
English. Screenshots go to tests/artifacts/joint.png and joint-tablet.png for review.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from app.auth import users
from tests.web.conftest import LiveServer, Recorder, open_map
from tests.web.test_map import fmt, go, pixel_alpha, point_on_page

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PREVIEW = "/api/joint-developments/preview"
SAVE = "/api/joint-developments"
REVIEWER, PASSWORD = "jd-reviewer", "bureau-checks-2025"  # saving needs a reviewer or admin (issue 8)


@dataclass(frozen=True)
class Parcel:
    code: str
    owner: str
    term_end: dt.date
    land_m2: float
    lat: float
    lon: float


# Pairs of free parcels (in no project) with different holders and terms that share at least 40 m of boundary
# (the API's adjacency asks for 2 m), each parcel with its most interior point (CRS84) to click on.
PAIRS_SQL = text("""
WITH free AS (
    SELECT p.id, p.code, p.owner, p.term_end, p.geom, ST_Area(p.geom) AS land_m2,
           ST_Transform((ST_MaximumInscribedCircle(p.geom)).center, 4326) AS pt
    FROM parcels p
    WHERE ST_Area(p.geom) > 4000
      AND NOT EXISTS (SELECT 1 FROM joint_development_parcels jp WHERE jp.parcel_id = p.id AND jp.active)
)
SELECT a.code AS a_code, a.owner AS a_owner, a.term_end AS a_term, a.land_m2 AS a_m2,
       ST_Y(a.pt) AS a_lat, ST_X(a.pt) AS a_lon,
       b.code AS b_code, b.owner AS b_owner, b.term_end AS b_term, b.land_m2 AS b_m2,
       ST_Y(b.pt) AS b_lat, ST_X(b.pt) AS b_lon
FROM free a JOIN free b ON a.id < b.id AND ST_DWithin(a.geom, b.geom, 0.5)
WHERE a.owner <> b.owner AND a.term_end <> b.term_end
  AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Buffer(b.geom, 0.5))) >= 40
ORDER BY ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Buffer(b.geom, 0.5))) DESC, a.code
""")


@pytest.fixture(scope="module")
def reviewer(web_db) -> str:
    """A reviewer's account in the sample database; its user name."""
    with web_db.begin() as conn:
        users.create(conn, actor="test", username=REVIEWER, password=PASSWORD, role="reviewer")
    return REVIEWER


@pytest.fixture(scope="module")
def pairs(web_db) -> list[tuple[Parcel, Parcel]]:
    """Four pairs of neighbouring parcels of the sample, no parcel in two pairs."""
    out: list[tuple[Parcel, Parcel]] = []
    used: set[str] = set()
    with web_db.connect() as conn:
        for r in conn.execute(PAIRS_SQL):
            if {r.a_code, r.b_code} & used:
                continue
            used |= {r.a_code, r.b_code}
            out.append((Parcel(r.a_code, r.a_owner, r.a_term, r.a_m2, r.a_lat, r.a_lon),
                        Parcel(r.b_code, r.b_owner, r.b_term, r.b_m2, r.b_lat, r.b_lon)))
            if len(out) == 4:
                break
    assert len(out) == 4
    return out


def show_pair(page: Page, a: Parcel, b: Parcel) -> None:
    """Centre the map on two parcels at zoom 17 (parcels are clickable from 14)."""
    go(page, (a.lat + b.lat) / 2, (a.lon + b.lon) / 2, 17)


def pick(page: Page, *parcels: Parcel) -> None:
    """Click parcels on the map in the joint-development mode and wait until each shows its holder."""
    for p in parcels:
        page.mouse.click(*point_on_page(page, p.lat, p.lon))
        page.wait_for_selector(f"#j-parcels tr[data-code='{p.code}'] .holder:text-is('{p.owner}')")


def field(page: Page, scope: str, name: str) -> str:
    return page.locator(f"{scope} tr[data-field='{name}'] td").inner_text()


# Chromium's hint after several getImageData calls: those are the test's own pixel reads (pixel_alpha).
READBACK_HINT = "Canvas2D: Multiple readback operations using getImageData"


def browser_errors(rec: Recorder, live_server: LiveServer) -> dict[str, list]:
    """Page errors, console errors and warnings, and requests that left the app's origin."""
    return {"errors": rec.errors,
            "console": [m for m in rec.console if m[0] in ("error", "warning") and not m[1].startswith(READBACK_HINT)],
            "foreign": [u for u in rec.requests if not u.startswith(live_server.url + "/")]}


def test_pick_preview_save_and_see_the_project_on_its_layer(browser, live_server, pairs, reviewer):
    a, b = pairs[0]
    land_mu = (a.land_m2 + b.land_m2) * 15 / 10000  # 1 亩 = 10000/15 m² exactly
    shorter = min(a, b, key=lambda p: p.term_end)
    page, rec = open_map(browser, live_server.url)
    try:
        show_pair(page, a, b)
        xa, ya = point_on_page(page, a.lat, a.lon)
        page.click("#j-mode")
        assert page.locator("#j-mode").inner_text() == "退出"
        pick(page, a, b)
        assert sorted(page.evaluate("[...renewalMap.layers.parcels.markedKeys]")) == sorted([a.code, b.code])
        assert page.locator("#card").inner_text() == "点击区块或宗地查看详情"  # picking opened no card
        owners = page.locator("#j-members tr[data-owner]")
        assert [owners.nth(i).get_attribute("data-owner") for i in range(owners.count())] == [a.owner, b.owner]
        assert page.locator("#j-members input.share").evaluate_all("els => els.map((e) => e.value)") == ["50", "50"]
        assert page.locator("#j-sum").inner_text() == "份额合计 100.00%"
        assert page.is_disabled("#j-save")

        page.fill("#j-name", "测试联合开发")
        page.fill("#j-p50", "136000")
        page.fill("#j-date", "2025-01-01")
        page.fill("#j-planned", str(round(2.2 * (a.land_m2 + b.land_m2))))
        assert pixel_alpha(page, "joint", xa, ya) == 0
        with page.expect_response(lambda r: r.url.endswith(PREVIEW)) as answer:
            page.click("#j-preview")
        assert answer.value.status == 200
        sent = answer.value.request.post_data_json
        assert sent["parcels"] == [a.code, b.code]
        assert sent["members"] == [{"owner": a.owner, "share_pct": 50, "planned_floor_area_m2": None},
                                   {"owner": b.owner, "share_pct": 50, "planned_floor_area_m2": None}]
        assert (sent["p50_yuan_per_mu"], sent["valuation_date"]) == (136000, "2025-01-01")
        d = answer.value.json()
        page.wait_for_selector("#j-result tr[data-field='land_area']")

        # the figures shown are the API's, and the API's agree with the parcels in the database
        assert d["land_area_mu"] == pytest.approx(land_mu)
        assert d["term_end"] == max(a.term_end, b.term_end).isoformat()
        assert field(page, "#j-result", "land_area") == (f"{fmt(d['land_area_mu'], 2)} 亩 "
                                                         f"({fmt(d['land_area_m2'], 0)} m²)")
        assert field(page, "#j-result", "term_end") == d["term_end"]
        assert field(page, "#j-result", "counted") == f"{fmt(d['far_floor_area_m2'], 0)} m²"
        assert field(page, "#j-result", "far").startswith(fmt(d["far"], 2))
        assert field(page, "#j-result", "needed").startswith(f"{fmt(d['floor_area_for_target_m2'], 0)} m²")
        assert field(page, "#j-result", "planned_far").startswith(fmt(d["planned_far"], 2))
        assert page.locator("#j-result tr[data-field='one_case']").count() == 0  # 一事一议 is not for consortia
        [top_up] = d["top_ups"]
        assert (top_up["code"], top_up["owner"]) == (shorter.code, shorter.owner)
        row = page.locator(f"#j-result .top-ups tr[data-code='{shorter.code}']")
        assert row.locator(".years").inner_text() == f"{fmt(top_up['years_made_up'], 1)} 年"
        assert row.locator(".wan").inner_text() == fmt(top_up["top_up_yuan"] / 10000, 2)
        for s in d["split"]:
            assert page.locator(f"#j-result .split tr[data-owner='{s['owner']}'] .m2").inner_text() == fmt(
                s["floor_area_m2"], 0)
        assert pixel_alpha(page, "joint", xa, ya) > 0  # the merged outline is drawn
        assert page.is_enabled("#j-save")

        # a change after the preview disables Save until the next preview
        page.fill("#j-name", "改过的名称")
        assert page.is_disabled("#j-save")
        assert page.locator("#j-result .stale-note").is_visible()
        page.fill("#j-name", "测试联合开发")
        assert page.is_enabled("#j-save")
        assert not page.locator("#j-result .stale-note").is_visible()

        page.evaluate("document.querySelector('#j-form .buttons').scrollIntoView({block: 'start'})")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "joint.png"))

        page.click("#j-save")  # without a token, Save first opens the page's login box (no request)
        assert page.locator("#auth-form").is_visible()
        assert page.locator("#auth-note").inner_text() == "保存需要评审员或管理员账号登录"
        page.fill("#auth-username", reviewer)
        page.fill("#auth-password", PASSWORD)
        with page.expect_response(lambda r: r.url.endswith(SAVE) and r.request.method == "POST") as answer:
            page.click("#auth-submit")
        assert answer.value.request.headers["authorization"].startswith("Bearer ")
        assert answer.value.status == 201
        # one login state: the box closed, the header shows the reviewer, no reload
        assert page.locator("#auth-form").is_hidden()
        assert page.locator("#auth-user").inner_text() == reviewer
        assert page.locator("#auth-button").inner_text() == "退出"
        saved = answer.value.json()
        page.wait_for_selector(f"#card .card-code:text-is('#{saved['id']}')")
        assert page.locator("#card .card-title").get_attribute("data-kind") == "joint"
        expect(page.locator("#card .card-title")).to_be_in_viewport()  # the panel scrolled back to the card
        assert page.locator("#card .card-title").inner_text().startswith("测试联合开发")
        assert field(page, "#card", "j_parcels").split() == [a.code, a.owner, b.code, b.owner]
        assert field(page, "#card", "land_area").startswith(f"{fmt(d['land_area_mu'], 2)} 亩")
        assert field(page, "#card", "j_far_now").startswith(fmt(d["far"], 2))
        assert field(page, "#card", "j_term_end") == d["term_end"]
        assert page.locator("#card .links a").first.get_attribute("href") == f"api/joint-developments/{saved['id']}"
        assert page.is_hidden("#j-form")
        assert page.evaluate("renewalMap.layers.parcels.markedKeys.size") == 0

        # the layer was reloaded from the OGC collection and holds the project
        loads = [u for u in rec.requests if "/ogc/collections/joint_developments/items?limit=1000" in u]
        assert len(loads) == 2
        props = page.evaluate("(id) => renewalMap.joint.features.find((f) => f.properties.code === id)?.properties",
                              saved["id"])
        assert props["name"] == "测试联合开发"
        assert props["parcels"] == ",".join(sorted([a.code, b.code]))
        assert props["area_mu"] == pytest.approx(land_mu)
        assert props["term_end"] == d["term_end"]
        assert pixel_alpha(page, "joint", xa, ya) > 0

        # out of the mode, a click inside the project opens its card
        page.evaluate("(code) => renewalMap.openCard('parcel', code)", a.code)
        page.wait_for_selector(f"#card .card-code:text-is('{a.code}')")
        page.mouse.click(xa, ya)
        page.wait_for_selector(f"#card .card-code:text-is('#{saved['id']}')")
        page.click(f"#card a.open-card[data-code='{b.code}']")
        page.wait_for_selector(f"#card .card-code:text-is('{b.code}')")

        assert browser_errors(rec, live_server) == {"errors": [], "console": [], "foreign": []}
    finally:
        page.context.close()


def test_refusals_are_shown_with_the_apis_words(browser, live_server, pairs, reviewer):
    (c, d), (e, f) = pairs[1], pairs[2]
    page, rec = open_map(browser, live_server.url)
    try:
        token = page.request.post(live_server.url + "/api/auth/token",
                                  form={"username": reviewer, "password": PASSWORD}).json()["access_token"]
        taken = page.request.post(live_server.url + SAVE, headers={"Authorization": f"Bearer {token}"}, data={
            "name": "已有项目", "parcels": [c.code, d.code],
            "members": [{"owner": c.owner, "share_pct": 50}, {"owner": d.owner, "share_pct": 50}]})
        assert taken.status == 201, taken.text()
        taken_id = taken.json()["id"]

        show_pair(page, e, f)
        page.click("#j-mode")
        pick(page, e, f)
        page.fill("#j-members input.share[data-i='0']", "40")
        assert page.locator("#j-sum").inner_text() == "份额合计 90.00%"
        with page.expect_response(lambda r: r.url.endswith(PREVIEW)) as answer:
            page.click("#j-preview")
        assert answer.value.status == 400
        assert answer.value.headers["content-language"] == "zh-CN"  # the page asks in its language
        assert answer.value.json()["messages"] == {"en": "members: shares sum to 90.0000%, not 100% (±0.01%)",
                                                   "zh": "members：份额合计 90.0000%，不是 100%（±0.01%）"}
        page.wait_for_selector("#j-result .j-error")
        assert page.locator("#j-result .j-error b").inner_text() == "输入有误"
        assert page.locator("#j-result .j-error .detail").inner_text() == answer.value.json()["messages"]["zh"]
        assert page.is_disabled("#j-save")
        assert pixel_alpha(page, "joint", *point_on_page(page, e.lat, e.lon)) == 0

        # with the shares mended the preview passes; a wrong password is refused in the login box
        page.fill("#j-members input.share[data-i='0']", "50")
        page.click("#j-preview")
        page.wait_for_selector("#j-result tr[data-field='land_area']")
        page.click("#j-save")
        page.fill("#auth-username", reviewer)
        page.fill("#auth-password", "not-the-password")
        with page.expect_response(lambda r: r.url.endswith("/api/auth/token")) as answer:
            page.click("#auth-submit")
        assert answer.value.status == 401
        assert answer.value.json()["code"] == "Unauthorized"
        page.wait_for_selector("#auth-error:text-is('登录失败：用户名或密码错误')")  # not the API's English
        assert page.evaluate("sessionStorage.getItem('renewal.token')") is None
        page.click("#auth-cancel")
        assert page.locator("#auth-form").is_hidden()

        page.click("#j-clear")
        assert page.locator("#j-parcels").inner_text() == "尚未选择宗地"
        assert page.locator("#j-result").inner_text() == ""
        show_pair(page, c, d)
        pick(page, c, d)
        with page.expect_response(lambda r: r.url.endswith(PREVIEW)) as answer:
            page.click("#j-preview")
        assert answer.value.status == 409
        messages = answer.value.json()["messages"]
        assert messages["en"] == (f"parcels: {min(c.code, d.code)} already belongs to active joint development "
                                  f"{taken_id} (已有项目)")
        assert messages["zh"] == f"parcels：{min(c.code, d.code)} 已属于进行中的联合开发 {taken_id}（已有项目）"
        page.wait_for_selector("#j-result .j-error")
        assert page.locator("#j-result .j-error b").inner_text() == "宗地已属于其他联合开发项目"
        assert page.locator("#j-result .j-error .detail").inner_text() == messages["zh"]
        assert page.is_disabled("#j-save")

        page.click("#lang")
        assert page.locator("#j-result .j-error b").inner_text() == "A parcel already belongs to a joint development"
        assert page.locator("#j-result .j-error .detail").inner_text() == messages["en"]
        assert page.locator("#j-mode").inner_text() == "Exit"
        assert page.locator("#j-preview").inner_text() == "Preview"

        # the browser itself reports the three refused requests; nothing else may go wrong
        problems = browser_errors(rec, live_server)
        refused = [m for m in problems["console"] if m[1].startswith("Failed to load resource: the server "
                                                                     "responded with a status of 4")]
        assert len(refused) == 3
        assert problems == {"errors": [], "console": refused, "foreign": []}
    finally:
        page.context.close()


def test_tablet_width(browser, live_server, pairs):
    g, h = pairs[3]
    page, rec = open_map(browser, live_server.url, width=820, height=1180)
    try:
        show_pair(page, g, h)
        panel = page.locator("#panel")
        page.click("#panel-toggle")
        page.click("#j-mode")
        page.click("#panel-toggle")
        page.wait_for_function("() => document.querySelector('#panel').getBoundingClientRect().left >= 820")
        pick(page, g, h)
        page.click("#panel-toggle")
        page.wait_for_function("() => document.querySelector('#panel').getBoundingClientRect().right <= 820")
        page.click("#j-preview")
        page.wait_for_selector("#j-result tr[data-field='land_area']")
        page.locator("#j-result .split").scroll_into_view_if_needed()
        assert panel.evaluate("el => el.scrollWidth <= el.clientWidth")
        box = page.locator("#j-result").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 820
        assert page.is_enabled("#j-save")
        page.screenshot(path=str(ARTIFACTS / "joint-tablet.png"))
        assert browser_errors(rec, live_server) == {"errors": [], "console": [], "foreign": []}
    finally:
        page.context.close()
