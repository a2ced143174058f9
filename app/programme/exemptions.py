"""A block's FAR exemption (容积率豁免): read, record, change and remove it, each write audited.

The exemption lowers or lifts the 容积率 floor for one block; the planning figures, tiles and compliance
lists read it from ``far_exemptions``. Its row ``version`` is what ``If-Match`` names: changing or removing an
existing exemption must name the current version (the API answers 428 without it, 412 when stale).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from app.db import audit
from app.errors import NotFound, PreconditionFailed
from app.programme.lifecycle import etag
from app.programme.lifecycle import if_match as named_version

_BLOCK = text("SELECT id FROM blocks WHERE code = :code")
_GET = text("""
SELECT b.code AS block_code, e.min_far::float8 AS min_far, e.reason, e.document, e.created_at, e.version
FROM far_exemptions e JOIN blocks b ON b.id = e.block_id
WHERE b.code = :code
""")
_LOCK = text("SELECT version FROM far_exemptions WHERE block_id = :block_id FOR UPDATE")
_INSERT = text("""
INSERT INTO far_exemptions (block_id, min_far, reason, document) VALUES (:block_id, :min_far, :reason, :document)
ON CONFLICT (block_id) DO NOTHING
RETURNING version
""")
_UPDATE = text("""
UPDATE far_exemptions SET min_far = :min_far, reason = :reason, document = :document WHERE block_id = :block_id
""")
_DELETE = text("DELETE FROM far_exemptions WHERE block_id = :block_id")


def current(conn: Connection, code: str) -> dict[str, Any] | None:
    """The block's exemption (block_code, min_far, reason, document, created_at, version), or None."""
    row = conn.execute(_GET, {"code": code}).mappings().first()
    return dict(row) if row is not None else None


def get(conn: Connection, code: str) -> dict[str, Any]:
    """The block's exemption; 404 when the block is unknown or has none."""
    found = current(conn, code)
    if found is None:
        _block_id(conn, code)
        raise NotFound(f"block {code} has no FAR exemption",
                       zh=f"区块 {code} 没有容积率豁免", field="code")
    return found


def _block_id(conn: Connection, code: str) -> int:
    """The block's id, or 404."""
    found = conn.execute(_BLOCK, {"code": code}).scalar()
    if found is None:
        raise NotFound(f"no block with code {code!r}",
                       zh=f"没有编号为 {code!r} 的区块", field="code")
    return int(found)


def stale(code: str, version: int | None) -> PreconditionFailed:
    """The 412 of a stale or pointless If-Match (``version``: the current one, None when there is none)."""
    now = f"it is now at {etag(version)}" if version is not None else "it has none"
    return PreconditionFailed(f"the FAR exemption of block {code} has changed since it was read: {now}; "
                              "read it again",
                              zh=f"区块 {code} 的容积率豁免在读取后已被修改：{now}；请重新读取", field="If-Match")


def put(conn: Connection, *, actor: str, code: str, min_far: float | None, reason: str, document: str | None,
        if_match: str | None) -> tuple[dict[str, Any], bool]:
    """Record or change the block's floor (None lifts the rule) inside the caller's transaction; audited.

    ``if_match`` names the version the caller read (``If-Match``): required to change an existing exemption,
    absent to record a first one. Returns the exemption and whether it was created.
    """
    block_id = _block_id(conn, code)
    version = conn.execute(_LOCK, {"block_id": block_id}).scalar()
    values = {"block_id": block_id, "min_far": min_far, "reason": reason.strip(), "document": document}
    before = None
    if version is None:
        if if_match is not None and if_match.strip() != "":
            raise stale(code, None)
        if conn.execute(_INSERT, values).scalar() is None:  # another reviewer recorded one meanwhile
            raise stale(code, conn.execute(_LOCK, {"block_id": block_id}).scalar())
    else:
        expected = named_version(if_match, "FAR exemption")
        if expected is not None and expected != version:
            raise stale(code, version)
        before = current(conn, code)
        conn.execute(_UPDATE, values)
    after = current(conn, code)
    assert after is not None
    audit.record(conn, actor=actor, action="create" if before is None else "update", entity="far_exemption",
                 entity_key=code, before=before, after=after)
    return after, before is None


def delete(conn: Connection, *, actor: str, code: str, reason: str, if_match: str | None) -> None:
    """Remove the block's exemption (it falls back to the configured floor); the reason goes to the audit.

    ``if_match`` must name the current version (428 without it, 412 when stale).
    """
    block_id = _block_id(conn, code)
    version = conn.execute(_LOCK, {"block_id": block_id}).scalar()
    if version is None:
        raise NotFound(f"block {code} has no FAR exemption",
                       zh=f"区块 {code} 没有容积率豁免", field="code")
    expected = named_version(if_match, "FAR exemption")
    if expected is not None and expected != version:
        raise stale(code, version)
    before = current(conn, code)
    conn.execute(_DELETE, {"block_id": block_id})
    audit.record(conn, actor=actor, action="delete", entity="far_exemption", entity_key=code,
                 before=before, after={"removed": True, "reason": reason.strip()})
