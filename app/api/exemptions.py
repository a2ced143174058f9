"""A block's FAR exemption (容积率豁免): read it, record or change it, remove it (reviewers), each write audited.

The exemption lowers or lifts the 容积率 ≥ 2.0 floor for one block (DOMAIN.md §1); the planning figures, tiles
and compliance lists read it from ``far_exemptions``. Its row version is the ETag: changing or removing an
existing exemption needs ``If-Match`` (428 without, 412 when stale), so two reviewers cannot silently
overwrite each other; recording a first one needs none (``If-Match`` on a block without one is 412).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy import Connection, Engine, text

from app import audit
from app.api.deps import get_engine
from app.auth.deps import ReviewerUser
from app.auth.etags import etag, if_match
from app.auth.schemas import FarExemptionIn, FarExemptionOut, errors
from app.errors import NotFound, PreconditionFailed

router = APIRouter(prefix="/api/blocks", tags=["FAR exemptions 容积率豁免"])
EngineDep = Annotated[Engine, Depends(get_engine)]
BlockCode = Annotated[str, Path(min_length=1, max_length=32, description="区块编号 (block code), e.g. QK107-001.")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The exemption's ETag from GET, e.g. \"v2\".")]

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


def _current(conn: Connection, code: str) -> dict[str, Any] | None:
    """The block's exemption as JSON-ready data, or None."""
    row = conn.execute(_GET, {"code": code}).mappings().first()
    return dict(row) if row is not None else None


def _block_id(conn: Connection, code: str) -> int:
    """The block's id, or 404."""
    found = conn.execute(_BLOCK, {"code": code}).scalar()
    if found is None:
        raise NotFound(f"no block with code {code!r}", field="code")
    return int(found)


def _stale(code: str, version: int | None) -> PreconditionFailed:
    """The 412 of a stale or pointless If-Match."""
    now = f"it is now at {etag(version)}" if version is not None else "it has none"
    return PreconditionFailed(f"the FAR exemption of block {code} has changed since it was read: {now}; "
                              "read it again", field="If-Match")


@router.get("/{code}/far-exemption", response_model=FarExemptionOut, summary="A block's FAR exemption",
            responses=errors(401, 404))
def get_exemption(engine: EngineDep, code: BlockCode, response: Response) -> FarExemptionOut:
    """The exemption (floor, reason, approval) with its ETag; 404 when the block has none."""
    with engine.connect() as conn:
        found = _current(conn, code)
        if found is None:
            _block_id(conn, code)
            raise NotFound(f"block {code} has no FAR exemption", field="code")
    response.headers["ETag"] = etag(found["version"])
    return FarExemptionOut(**found)


@router.put("/{code}/far-exemption", response_model=FarExemptionOut,
            summary="Record or change a block's FAR exemption (reviewers)",
            responses={201: {"model": FarExemptionOut, "description": "Recorded (the block had none)"},
                       **errors(400, 401, 403, 404, 412, 428)})
def put_exemption(reviewer: ReviewerUser, engine: EngineDep, code: BlockCode, body: FarExemptionIn,
                  response: Response, if_match_header: IfMatch = None) -> FarExemptionOut:
    """Set the block's 容积率 floor (null lifts the rule) with its reason; audited. Changing an existing
    exemption needs ``If-Match``."""
    with engine.begin() as conn:
        block_id = _block_id(conn, code)
        version = conn.execute(_LOCK, {"block_id": block_id}).scalar()
        values = {"block_id": block_id, "min_far": body.min_far, "reason": body.reason.strip(),
                  "document": body.document}
        before = None
        if version is None:
            if if_match_header is not None and if_match_header.strip() != "":
                raise _stale(code, None)
            if conn.execute(_INSERT, values).scalar() is None:  # another reviewer recorded one meanwhile
                raise _stale(code, conn.execute(_LOCK, {"block_id": block_id}).scalar())
            response.status_code = 201
        else:
            expected = if_match(if_match_header, "FAR exemption")
            if expected is not None and expected != version:
                raise _stale(code, version)
            before = _current(conn, code)
            conn.execute(_UPDATE, values)
        after = _current(conn, code)
        assert after is not None
        audit.record(conn, actor=reviewer.username, action="create" if before is None else "update",
                     entity="far_exemption", entity_key=code, before=before, after=after)
    response.headers["ETag"] = etag(after["version"])
    return FarExemptionOut(**after)


@router.delete("/{code}/far-exemption", status_code=204, response_class=Response,
               summary="Remove a block's FAR exemption (reviewers; If-Match required)",
               responses=errors(400, 401, 403, 404, 412, 428))
def delete_exemption(
    reviewer: ReviewerUser,
    engine: EngineDep,
    code: BlockCode,
    reason: Annotated[str, Query(min_length=1, max_length=2000, pattern=r"\S",
                                 description="Why the exemption is removed (kept in the audit trail).")],
    if_match_header: IfMatch = None,
) -> Response:
    """The block falls back to the configured 容积率 floor; the reason is kept in the audit trail."""
    with engine.begin() as conn:
        block_id = _block_id(conn, code)
        version = conn.execute(_LOCK, {"block_id": block_id}).scalar()
        if version is None:
            raise NotFound(f"block {code} has no FAR exemption", field="code")
        expected = if_match(if_match_header, "FAR exemption")
        if expected is not None and expected != version:
            raise _stale(code, version)
        before = _current(conn, code)
        conn.execute(_DELETE, {"block_id": block_id})
        audit.record(conn, actor=reviewer.username, action="delete", entity="far_exemption", entity_key=code,
                     before=before, after={"removed": True, "reason": reason.strip()})
    return Response(status_code=204)
