"""Optimistic concurrency: ETag/version on every PATCH-able resource, 428 without If-Match, 412 when stale,
and twenty concurrent editors of one block whose every write either applies or gets 412."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
from sqlalchemy import text

from tests.conftest import LiveServer
from tests.trust.conftest import BLOCK_A, BLOCK_B, Trust


def _etag(trust: Trust, path: str, who: str = "ada") -> str:
    resp = trust.api.get(path, headers=trust.auth(who))
    assert resp.status_code == 200, resp.text
    return resp.headers["etag"]


# ---------------------------------------------------------------- 428 and 412, resource by resource
def test_block_patch_needs_a_current_if_match(trust: Trust) -> None:
    path = f"/api/blocks/{BLOCK_A}"
    editor = trust.auth("edna")
    missing = trust.api.patch(path, json={"industry": "智能家电"}, headers=editor)
    assert missing.status_code == 428 and missing.json()["code"] == "PreconditionRequired"
    etag = _etag(trust, path)
    ok = trust.api.patch(path, json={"industry": "智能家电"}, headers={**editor, "If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] != etag
    stale = trust.api.patch(path, json={"industry": "汽车零部件"}, headers={**editor, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "PreconditionFailed"
    for junk in ('W/"v1"', '"abc"', "v1", '"v1"; DROP TABLE blocks'):
        assert trust.api.patch(path, json={"industry": "x"}, headers={**editor, "If-Match": junk}).status_code == 412
    assert trust.api.get(path).json()["industry"] == "智能家电"


def test_block_patch_roles(trust: Trust) -> None:
    path = f"/api/blocks/{BLOCK_B}"
    body = {"industry": "新材料"}
    assert trust.api.patch(path, json=body, headers={"If-Match": _etag(trust, path)}).status_code == 401
    for who in ("vera", "edna"):  # a viewer; the editor of the other town
        resp = trust.api.patch(path, json=body, headers={**trust.auth(who), "If-Match": _etag(trust, path)})
        assert resp.status_code == 403, (who, resp.text)
    for who in ("eddy", "rex", "ada"):  # the block's town editor, a reviewer, an admin
        resp = trust.api.patch(path, json={"industry": f"新材料 ({who})"},
                               headers={**trust.auth(who), "If-Match": _etag(trust, path)})
        assert resp.status_code == 200, (who, resp.text)
    rows = trust.audit_rows(entity="block", entity_key=BLOCK_B)
    assert [r["actor"] for r in rows][-3:] == ["eddy", "rex", "ada"]
    assert rows[-1]["before"]["version"] + 1 == rows[-1]["after"]["version"]
    history = trust.api.get(f"{path}/history").json()
    assert [h["actor"] for h in history][-3:] == ["eddy", "rex", "ada"]  # the logged-in user, not the body


def test_only_an_admin_reopens_an_accepted_block(trust: Trust) -> None:
    path = f"/api/blocks/{BLOCK_B}"
    for status in ("planned", "in_progress", "accepted"):
        resp = trust.api.patch(path, json={"status": status, "mode": "sorting", "industry": "新材料"},
                               headers={**trust.auth("eddy"), "If-Match": _etag(trust, path)})
        assert resp.status_code == 200, resp.text
    reopen = {"reopen": True, "remark": "验收资料补正"}
    for who in ("eddy", "rex"):
        resp = trust.api.patch(path, json=reopen, headers={**trust.auth(who), "If-Match": _etag(trust, path)})
        assert resp.status_code == 403, (who, resp.text)
    resp = trust.api.patch(path, json=reopen, headers={**trust.auth("ada"), "If-Match": _etag(trust, path)})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "in_progress"
    assert trust.audit_rows(entity="block", entity_key=BLOCK_B, action="reopen")[-1]["actor"] == "ada"


def test_user_patch_needs_a_current_if_match(trust: Trust) -> None:
    admin = trust.auth("ada")
    assert trust.api.patch("/api/users/vera", json={"disabled": False}, headers=admin).status_code == 428
    etag = _etag(trust, "/api/users/vera")
    first = trust.api.patch("/api/users/vera", json={"disabled": False}, headers={**admin, "If-Match": etag})
    assert first.status_code == 200 and first.headers["etag"] != etag
    again = trust.api.patch("/api/users/vera", json={"disabled": True}, headers={**admin, "If-Match": etag})
    assert again.status_code == 412
    assert trust.api.get("/api/users/vera", headers=admin).json()["disabled"] is False
    star = trust.api.patch("/api/users/vera", json={"disabled": False}, headers={**admin, "If-Match": "*"})
    assert star.status_code == 200  # "*": whatever the current version is


def test_far_exemption_writes_need_a_current_if_match(trust: Trust) -> None:
    path = f"/api/blocks/{BLOCK_B}/far-exemption"
    rex = trust.auth("rex")
    assert trust.api.put(path, json={"min_far": 1.0, "reason": "x"}, headers={**rex, "If-Match": '"v1"'}
                         ).status_code == 412  # nothing to match yet
    created = trust.api.put(path, json={"min_far": 1.0, "reason": "首次认定"}, headers=rex)
    assert created.status_code == 201
    assert trust.api.put(path, json={"min_far": 1.3, "reason": "复核"}, headers=rex).status_code == 428
    assert trust.api.delete(path, params={"reason": "x"}, headers=rex).status_code == 428
    assert trust.api.put(path, json={"min_far": 1.3, "reason": "复核"}, headers={**rex, "If-Match": '"v9"'}
                         ).status_code == 412
    etag = created.headers["etag"]
    assert trust.api.put(path, json={"min_far": 1.3, "reason": "复核"}, headers={**rex, "If-Match": etag}
                         ).status_code == 200
    assert trust.api.delete(path, params={"reason": "x"}, headers={**rex, "If-Match": etag}).status_code == 412
    assert trust.api.get(path).json()["min_far"] == 1.3
    assert trust.api.delete(path, params={"reason": "撤销"}, headers={**rex, "If-Match": _etag(trust, path)}
                            ).status_code == 204


# ---------------------------------------------------------------- twenty editors at once
WRITERS = 20
ROUNDS = 3


def test_twenty_concurrent_editors_lose_no_update(trust: Trust) -> None:
    """Twenty writers at once, each making three changes to the same block: read the ETag, PATCH with it, and on
    412 read again and retry. Every attempt either applies (200) or is refused as stale (412); all 60 changes
    apply in the end; the version moves by exactly the number applied, each applied version is seen once, the
    history and the audit trail hold one row per applied change, and the block holds the last one applied."""
    path = f"/api/blocks/{BLOCK_A}"

    def history_rows() -> int:
        with trust.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM block_status_history h JOIN blocks b ON "
                                         "b.id = h.block_id WHERE b.code = :c"), {"c": BLOCK_A}).scalar_one())

    start_version = trust.api.get(path).json()["version"]
    start_history = history_rows()
    start_audit = len(trust.audit_rows(entity="block", entity_key=BLOCK_A))
    outcomes: list[tuple[int, int, str]] = []  # (status, version after, industry sent)
    lock = threading.Lock()
    barrier = threading.Barrier(WRITERS)
    editors = ["edna", "rex", "ada"]  # the town's editor, a reviewer, an admin

    with LiveServer(trust.settings) as server:
        def writer(i: int) -> None:
            headers = trust.auth(editors[i % len(editors)])
            with httpx.Client(base_url=server.url, timeout=60) as http:
                barrier.wait()
                for r in range(ROUNDS):
                    industry = f"writer {i:02d} change {r}"
                    for _attempt in range(500):
                        etag = http.get(path).headers["etag"]
                        resp = http.patch(path, json={"industry": industry}, headers={**headers, "If-Match": etag})
                        version = resp.json().get("version", -1) if resp.status_code == 200 else -1
                        with lock:
                            outcomes.append((resp.status_code, version, industry))
                        if resp.status_code != 412:
                            break

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)

    statuses = Counter(status for status, _, _ in outcomes)
    assert set(statuses) <= {200, 412}, statuses  # nothing else: no 5xx, no silent overwrite
    applied = statuses[200]
    assert applied == WRITERS * ROUNDS  # every change applied in the end, none lost
    final = trust.api.get(path).json()
    assert final["version"] == start_version + applied
    versions = sorted(v for status, v, _ in outcomes if status == 200)
    assert versions == list(range(start_version + 1, start_version + applied + 1))  # each version exactly once
    last = max((o for o in outcomes if o[0] == 200), key=lambda o: o[1])
    assert final["industry"] == last[2]
    assert history_rows() == start_history + applied
    assert len(trust.audit_rows(entity="block", entity_key=BLOCK_A)) == start_audit + applied
    print(f"\n{WRITERS} writers x {ROUNDS} changes: {len(outcomes)} attempts, {applied} applied, "
          f"{statuses[412]} refused as stale (412), final version {final['version']}")
