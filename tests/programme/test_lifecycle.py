"""Block lifecycle: one step at a time, accepted blocks locked unless an admin reopens them, history, ETags."""

from __future__ import annotations

import datetime as dt

import pytest

from app.errors import Forbidden, InvalidChange, PreconditionFailed, TransitionNotAllowed
from app.programme import lifecycle
from app.programme.config import ProgrammeRules
from tests.conftest import login_as
from tests.programme.conftest import EDITOR
from tests.programme.data import BA, BB, BC, BD

TODAY = dt.date(2026, 11, 27)


# ---------------------------------------------------------------- pure rules
def test_allowed_next():
    assert lifecycle.allowed_next("listed") == ("surveyed",)
    assert lifecycle.allowed_next("planned") == ("in_progress", "surveyed")
    assert lifecycle.allowed_next("in_progress") == ("accepted", "planned")
    assert lifecycle.allowed_next("accepted") == ()


def test_no_jump_from_listed_to_accepted():
    with pytest.raises(TransitionNotAllowed) as info:
        lifecycle.transition("QK1", "listed", "accepted", reopen=False, is_admin=True, remark="x")
    assert info.value.status == 409 and info.value.field == "status"
    assert info.value.detail == ("block QK1 cannot go from listed (已列入) to accepted (已验收): a block cannot skip "
                                 "steps; allowed next: surveyed (已排查)")


@pytest.mark.parametrize(("current", "target", "event"), [
    ("listed", "surveyed", "advance"), ("in_progress", "accepted", "advance"), ("planned", None, "update"),
    ("planned", "planned", "update"),
])
def test_allowed_transitions(current, target, event):
    assert lifecycle.transition("QK1", current, target, reopen=False, is_admin=False, remark=None) == event


def test_correction_needs_a_remark():
    with pytest.raises(InvalidChange, match="correction and needs a remark"):
        lifecycle.transition("QK1", "planned", "surveyed", reopen=False, is_admin=False, remark=" ")
    assert lifecycle.transition("QK1", "planned", "surveyed", reopen=False, is_admin=False, remark="plan withdrawn") \
        == "correct"
    with pytest.raises(TransitionNotAllowed, match="cannot go back more than one step"):
        lifecycle.transition("QK1", "in_progress", "listed", reopen=False, is_admin=False, remark="x")


def test_accepted_block_is_locked_unless_an_admin_reopens_it():
    with pytest.raises(TransitionNotAllowed, match="accepted .已验收.: it cannot change unless an administrator"):
        lifecycle.transition("QK1", "accepted", None, reopen=False, is_admin=True, remark="x")
    with pytest.raises(TransitionNotAllowed):
        lifecycle.transition("QK1", "accepted", "in_progress", reopen=False, is_admin=True, remark="x")
    with pytest.raises(Forbidden) as info:
        lifecycle.transition("QK1", "accepted", None, reopen=True, is_admin=False, remark="x")
    assert info.value.status == 403
    with pytest.raises(InvalidChange, match="needs a remark"):
        lifecycle.transition("QK1", "accepted", None, reopen=True, is_admin=True, remark=None)
    assert lifecycle.transition("QK1", "accepted", None, reopen=True, is_admin=True, remark="defects") == "reopen"
    with pytest.raises(TransitionNotAllowed, match="only an accepted block can be reopened"):
        lifecycle.transition("QK1", "planned", None, reopen=True, is_admin=True, remark="x")


def test_overdue_steps_on_and_after_the_deadline():
    rules = ProgrammeRules()
    assert lifecycle.overdue_steps("listed", False, dt.date(2022, 4, 30), rules) == []  # the deadline day is on time
    late = lifecycle.overdue_steps("listed", False, dt.date(2022, 5, 1), rules)
    assert [(s.step, s.days_overdue) for s in late] == [("surveyed", 1)]
    assert [s.step for s in lifecycle.overdue_steps("surveyed", False, dt.date(2022, 7, 1), rules)] == ["planned"]
    assert [s.step for s in lifecycle.overdue_steps("in_progress", False, dt.date(2026, 10, 1), rules)] == ["works"]
    assert lifecycle.overdue_steps("in_progress", True, dt.date(2026, 10, 1), rules) == []
    assert [s.step for s in lifecycle.overdue_steps("in_progress", True, dt.date(2027, 1, 1), rules)] == ["accepted"]
    assert lifecycle.overdue_steps("accepted", False, dt.date(2027, 1, 1), rules) == []


@pytest.mark.parametrize(("header", "version"), [('"v3"', 3), ('W/"v3"', -1), ('"x", "v7"', 7), ("*", None),
                                                 ('"3"', -1)])
def test_if_match_parsing(header, version):
    assert lifecycle.parse_if_match(header) == version


# ---------------------------------------------------------------- domain functions on the database
def test_change_records_history_and_moves_the_version(fresh_site):
    with fresh_site.engine.begin() as conn:
        before = lifecycle.get_block(conn, BD)
        after = lifecycle.apply_change(conn, BD, "surveyed", actor="张三", remark="排查完成",
                                       changed_on=dt.date(2026, 11, 2), expected_version=before.version, today=TODAY)
    assert (after.status, after.version, after.allowed_next) == ("surveyed", before.version + 1, ["planned", "listed"])
    with fresh_site.engine.connect() as conn:
        [entry] = lifecycle.history(conn, BD)
    assert (entry.event, entry.from_status, entry.to_status, entry.changed_on, entry.actor, entry.remark,
            entry.block_version) == ("advance", "listed", "surveyed", dt.date(2026, 11, 2), "张三", "排查完成",
                                     after.version)


def test_plan_approval_records_mode_and_industry(fresh_site):
    with fresh_site.engine.begin() as conn:
        lifecycle.apply_change(conn, BD, "surveyed", actor="a", changed_on=dt.date(2026, 11, 1), today=TODAY)
    with fresh_site.engine.begin() as conn, pytest.raises(InvalidChange, match="give mode and industry"):
        lifecycle.apply_change(conn, BD, "planned", actor="a", today=TODAY)
    with fresh_site.engine.begin() as conn:
        record = lifecycle.apply_change(conn, BD, "planned", actor="a", mode="sorting", industry="智能家电",
                                        today=TODAY)
    assert (record.status, record.mode, record.industry) == ("planned", "sorting", "智能家电")
    with fresh_site.engine.connect() as conn:
        last = lifecycle.history(conn, BD)[-1]
    assert last.changes == {"mode": [None, "sorting"], "industry": [None, "智能家电"]}


def test_dates_cannot_go_backwards_or_into_the_future(fresh_site):
    before_last = "before the block's last recorded change on 2024-01-01"
    with fresh_site.engine.begin() as conn, pytest.raises(InvalidChange, match=before_last):
        lifecycle.apply_change(conn, BC, "accepted", actor="a", changed_on=dt.date(2023, 12, 1), today=TODAY)
    with fresh_site.engine.begin() as conn, pytest.raises(InvalidChange, match="in the future"):
        lifecycle.apply_change(conn, BC, "accepted", actor="a", changed_on=dt.date(2027, 1, 1), today=TODAY)


def test_accepted_block_needs_admin_reopen(fresh_site):
    with fresh_site.engine.begin() as conn, pytest.raises(TransitionNotAllowed):
        lifecycle.apply_change(conn, BA, actor="a", industry="新材料", today=TODAY)
    with fresh_site.engine.begin() as conn, pytest.raises(Forbidden):
        lifecycle.apply_change(conn, BA, actor="a", remark="defects", reopen=True, today=TODAY)
    with fresh_site.engine.begin() as conn:
        record = lifecycle.apply_change(conn, BA, actor="admin", remark="验收后发现消防问题", reopen=True,
                                        is_admin=True, today=TODAY)
    assert record.status == "in_progress"
    with fresh_site.engine.connect() as conn:
        last = lifecycle.history(conn, BA)[-1]
    assert (last.event, last.from_status, last.to_status, last.actor) == ("reopen", "accepted", "in_progress", "admin")


def test_stale_version_is_refused(fresh_site):
    with fresh_site.engine.begin() as conn:
        version = lifecycle.get_block(conn, BC).version
        lifecycle.apply_change(conn, BC, actor="a", industry="新材料", expected_version=version, today=TODAY)
    with fresh_site.engine.begin() as conn, pytest.raises(PreconditionFailed) as info:
        lifecycle.apply_change(conn, BC, actor="b", industry="模具", expected_version=version, today=TODAY)
    assert info.value.status == 412 and f'"v{version + 1}"' in info.value.detail


# ---------------------------------------------------------------- the API
def _get(client, code):
    resp = client.get(f"/api/blocks/{code}")
    assert resp.status_code == 200
    return resp


def test_get_block_has_an_etag(site):
    resp = _get(site.client, BB)
    body = resp.json()
    assert resp.headers["etag"] == f'"v{body["version"]}"'
    assert (body["status"], body["status_zh"], body["allowed_next"], body["block_area_mu"]) == (
        "accepted", "已验收", [], pytest.approx(45.0))
    assert site.client.get("/api/blocks/QK999-999").json() == {
        "code": "NotFound", "detail": "no block with code 'QK999-999'", "field": "code",
        "messages": {"en": "no block with code 'QK999-999'", "zh": "没有编号为 'QK999-999' 的区块"}}


def test_patch_needs_if_match(fresh_site):
    resp = fresh_site.client.patch(f"/api/blocks/{BD}", json={"actor": "a", "status": "surveyed"})
    assert resp.status_code == 428 and resp.json()["code"] == "PreconditionRequired"
    assert resp.json()["field"] == "If-Match"


def test_patch_flow(fresh_site):
    client = fresh_site.client
    etag = _get(client, BD).headers["etag"]
    jump = client.patch(f"/api/blocks/{BD}", json={"actor": "a", "status": "accepted"}, headers={"If-Match": etag})
    assert jump.status_code == 409 and {k: v for k, v in jump.json().items() if k != "messages"} == {
        "code": "TransitionNotAllowed", "field": "status",
        "detail": f"block {BD} cannot go from listed (已列入) to accepted (已验收): a block cannot skip steps; "
                  "allowed next: surveyed (已排查)"}
    assert jump.json()["messages"]["zh"] == f"区块 {BD} 不能从已列入改为已验收：区块不能跳过步骤；下一步可为：已排查"
    ok = client.patch(f"/api/blocks/{BD}", json={"actor": "王五", "status": "surveyed", "remark": "现场排查"},
                      headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["status"] == "surveyed" and ok.headers["etag"] != etag
    stale = client.patch(f"/api/blocks/{BD}", json={"actor": "b", "industry": "模具"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "PreconditionFailed"
    cleared = client.patch(f"/api/blocks/{BD}", json={"actor": "b", "industry": "模具", "plan_year": 2026},
                           headers={"If-Match": ok.headers["etag"]})
    assert cleared.status_code == 200 and cleared.json()["industry"] == "模具"
    history = client.get(f"/api/blocks/{BD}/history").json()
    # the logged-in user is recorded, whatever the body says (issue 8)
    assert [(h["event"], h["to_status"], h["actor"], h["remark"]) for h in history] == [
        ("advance", "surveyed", EDITOR, "现场排查"), ("update", "surveyed", EDITOR, None)]
    assert history[1]["changes"] == {"industry": [None, "模具"], "plan_year": [None, 2026]}


def test_patch_accepted_block_and_reopen_over_the_api(fresh_site):
    client = fresh_site.client
    etag = _get(client, BA).headers["etag"]
    locked = client.patch(f"/api/blocks/{BA}", json={"actor": "a", "mode": "sorting"}, headers={"If-Match": etag})
    assert locked.status_code == 409 and "cannot change unless an administrator reopens it" in locked.json()["detail"]
    reopen = client.patch(f"/api/blocks/{BA}", json={"actor": "a", "reopen": True, "remark": "x"},
                          headers={"If-Match": etag})
    assert reopen.status_code == 403 and reopen.json()["code"] == "Forbidden"  # a town editor is no admin
    bad = client.patch(f"/api/blocks/{BA}", json={"actor": "a", "status": "done"}, headers={"If-Match": etag})
    assert bad.status_code == 400 and bad.json()["field"] == "status"
    assert client.get(f"/api/blocks/{BA}").headers["etag"] == etag  # nothing written
    login_as(client, "admin")
    reopened = client.patch(f"/api/blocks/{BA}", json={"reopen": True, "remark": "验收后整改"},
                            headers={"If-Match": etag})
    assert reopened.status_code == 200 and reopened.json()["status"] == "in_progress"
    last = client.get(f"/api/blocks/{BA}/history").json()[-1]
    assert (last["event"], last["actor"], last["remark"]) == ("reopen", "test-admin", "验收后整改")


def test_works_completion_only_in_progress(fresh_site):
    client = fresh_site.client
    etag = _get(client, BD).headers["etag"]
    resp = client.patch(f"/api/blocks/{BD}", json={"actor": "a", "works_completed_on": "2026-09-01"},
                        headers={"If-Match": etag})
    assert resp.status_code == 422 and resp.json()["field"] == "works_completed_on"
    etag = _get(client, BC).headers["etag"]
    resp = client.patch(f"/api/blocks/{BC}", json={"actor": "a", "works_completed_on": "2026-09-01"},
                        headers={"If-Match": etag})
    assert resp.status_code == 200 and resp.json()["works_completed_on"] == "2026-09-01"


# ---------------------------------------------------------------- the acceptance window (验收 2026-10 to 2026-12)
WINDOW = ProgrammeRules()


def test_acceptance_before_the_window_is_refused():
    # 2026-09-30 is the day before the window opens on 2026-10-01 (the plan's 验收 2026年10月至12月)
    with pytest.raises(TransitionNotAllowed) as info:
        lifecycle.acceptance_exception("QK1", dt.date(2026, 9, 30), WINDOW, exception=False, is_admin=True,
                                       remark="x")
    assert info.value.status == 409 and info.value.field == "changed_on"
    assert info.value.detail.startswith("block QK1 cannot be accepted (已验收) on 2026-09-30: acceptance happens in "
                                        "the acceptance window 2026-10-01 to 2026-12-31")
    assert "an administrator may record an exception (acceptance_exception) with a remark" in info.value.detail
    # the first day of the window, its last day and a late acceptance need no exception
    for day in (dt.date(2026, 10, 1), dt.date(2026, 12, 31), dt.date(2027, 2, 1)):
        assert lifecycle.acceptance_exception("QK1", day, WINDOW, exception=False, is_admin=False, remark=None) \
            is False


def test_early_acceptance_is_an_administrators_exception_with_a_remark():
    early = dt.date(2025, 6, 1)
    with pytest.raises(Forbidden) as info:
        lifecycle.acceptance_exception("QK1", early, WINDOW, exception=True, is_admin=False, remark="试点先行验收")
    assert info.value.status == 403 and info.value.field == "acceptance_exception"
    with pytest.raises(InvalidChange, match="is an exception and needs a remark") as bare:
        lifecycle.acceptance_exception("QK1", early, WINDOW, exception=True, is_admin=True, remark=" ")
    assert bare.value.field == "remark"
    assert lifecycle.acceptance_exception("QK1", early, WINDOW, exception=True, is_admin=True,
                                          remark="试点先行验收") is True
    with pytest.raises(InvalidChange, match="within the acceptance window .from 2026-10-01.: there is no exception"):
        lifecycle.acceptance_exception("QK1", dt.date(2026, 10, 2), WINDOW, exception=True, is_admin=True,
                                       remark="x")


def test_the_window_is_configurable():
    moved = ProgrammeRules(works_deadline=dt.date(2025, 9, 30), acceptance_opens=dt.date(2025, 10, 1),
                           acceptance_deadline=dt.date(2025, 12, 31))
    assert lifecycle.acceptance_exception("QK1", dt.date(2025, 10, 1), moved, exception=False, is_admin=False,
                                          remark=None) is False
    with pytest.raises(TransitionNotAllowed, match="window 2025-10-01 to 2025-12-31"):
        lifecycle.acceptance_exception("QK1", dt.date(2025, 9, 30), moved, exception=False, is_admin=False,
                                       remark=None)


def test_early_acceptance_on_the_database(fresh_site):
    # BC is in progress since 2024-01-01
    with fresh_site.engine.begin() as conn, pytest.raises(TransitionNotAllowed, match="acceptance window"):
        lifecycle.apply_change(conn, BC, "accepted", actor="a", remark="验收", changed_on=dt.date(2026, 9, 30),
                               today=TODAY, prules=WINDOW)
    with fresh_site.engine.begin() as conn, pytest.raises(InvalidChange, match="applies only to a change of status"):
        lifecycle.apply_change(conn, BC, actor="a", industry="模具", acceptance_exception=True, is_admin=True,
                               remark="x", today=TODAY, prules=WINDOW)
    with fresh_site.engine.begin() as conn:
        record = lifecycle.apply_change(conn, BC, "accepted", actor="admin", remark="省级试点，提前验收",
                                        changed_on=dt.date(2025, 6, 1), acceptance_exception=True, is_admin=True,
                                        today=TODAY, prules=WINDOW)
    assert record.status == "accepted"
    with fresh_site.engine.connect() as conn:
        last = lifecycle.history(conn, BC)[-1]
    assert (last.event, last.to_status, last.changed_on, last.remark, last.changes) == (
        "advance", "accepted", dt.date(2025, 6, 1), "省级试点，提前验收", {"acceptance_exception": [False, True]})


def test_acceptance_in_the_window_on_the_database(fresh_site):
    with fresh_site.engine.begin() as conn:
        record = lifecycle.apply_change(conn, BC, "accepted", actor="a", changed_on=dt.date(2026, 10, 1),
                                        today=TODAY, prules=WINDOW)
    assert record.status == "accepted"
    with fresh_site.engine.connect() as conn:
        assert lifecycle.history(conn, BC)[-1].changes == {}


def test_early_acceptance_over_the_api(fresh_site):
    client = fresh_site.client
    etag = _get(client, BC).headers["etag"]
    early = {"status": "accepted", "changed_on": "2026-09-30", "remark": "验收"}
    refused = client.patch(f"/api/blocks/{BC}", json=early, headers={"If-Match": etag})
    assert refused.status_code == 409 and refused.json()["code"] == "TransitionNotAllowed"
    assert refused.json()["field"] == "changed_on"
    assert refused.json()["detail"].startswith(f"block {BC} cannot be accepted (已验收) on 2026-09-30: acceptance "
                                               "happens in the acceptance window 2026-10-01 to 2026-12-31")
    by_editor = client.patch(f"/api/blocks/{BC}", json={**early, "acceptance_exception": True},
                             headers={"If-Match": etag})
    assert by_editor.status_code == 403 and by_editor.json()["field"] == "acceptance_exception"
    assert _get(client, BC).headers["etag"] == etag  # nothing written
    login_as(client, "admin")
    no_remark = client.patch(f"/api/blocks/{BC}", json={**early, "remark": None, "acceptance_exception": True},
                             headers={"If-Match": etag})
    assert no_remark.status_code == 422 and no_remark.json()["field"] == "remark"
    ok = client.patch(f"/api/blocks/{BC}", json={**early, "remark": "市里批准提前验收", "acceptance_exception": True},
                      headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    last = client.get(f"/api/blocks/{BC}/history").json()[-1]
    assert (last["to_status"], last["changed_on"], last["actor"], last["remark"], last["changes"]) == (
        "accepted", "2026-09-30", "test-admin", "市里批准提前验收", {"acceptance_exception": [False, True]})
    audit = client.get("/api/audit", params={"entity": "block"}).json()
    assert any(a["action"] == "acceptance_exception" and a["entity_key"] == BC for a in audit["items"])


def test_early_acceptance_on_the_cli(fresh_site):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": str(fresh_site.settings.database_url), "COLUMNS": "200"}

    def renewal(*args):
        return subprocess.run([sys.executable, "-m", "app.cli", "block", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    refused = renewal("status", BC, "accepted", "--date", "2026-09-30", "--remark", "验收")
    assert refused.returncode == 2
    assert (f"block {BC} cannot be accepted (已验收) on 2026-09-30: acceptance happens in the acceptance window "
            "2026-10-01 to 2026-12-31") in " ".join(refused.stderr.split())
    bare = renewal("status", BC, "accepted", "--date", "2026-09-30", "--acceptance-exception")
    assert bare.returncode == 2 and "needs a remark" in " ".join(bare.stderr.split())
    ok = renewal("status", BC, "accepted", "--date", "2026-09-30", "--acceptance-exception", "--remark",
                 "市里批准提前验收")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "accepted"
    with fresh_site.engine.connect() as conn:
        last = lifecycle.history(conn, BC)[-1]
    assert (last.changed_on, last.remark, last.changes) == (dt.date(2026, 9, 30), "市里批准提前验收",
                                                            {"acceptance_exception": [False, True]})
