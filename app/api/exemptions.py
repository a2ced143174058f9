"""A block's FAR exemption (容积率豁免): read it, record or change it, remove it (reviewers), each write audited.

The exemption lowers or lifts the 容积率 floor for one block (the rules live in
:mod:`app.programme.exemptions`). Its row version is the ETag: changing or removing an
existing exemption needs ``If-Match`` (428 without, 412 when stale), so two reviewers cannot silently
overwrite each other; recording a first one needs none (``If-Match`` on a block without one is 412).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy import Engine

from app.api.deps import ReviewerUser, get_engine
from app.api.schemas import FarExemptionIn, FarExemptionOut, errors
from app.programme import exemptions
from app.programme.lifecycle import etag

router = APIRouter(prefix="/api/blocks", tags=["FAR exemptions 容积率豁免"])
EngineDep = Annotated[Engine, Depends(get_engine)]
BlockCode = Annotated[str, Path(min_length=1, max_length=32, description="区块编号 (block code), e.g. QK107-001.")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The exemption's ETag from GET, e.g. \"v2\".")]

@router.get("/{code}/far-exemption", response_model=FarExemptionOut, summary="A block's FAR exemption",
            responses=errors(401, 404))
def get_exemption(engine: EngineDep, code: BlockCode, response: Response) -> FarExemptionOut:
    """The exemption (floor, reason, approval) with its ETag; 404 when the block has none."""
    with engine.connect() as conn:
        found = exemptions.get(conn, code)
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
        after, created = exemptions.put(conn, actor=reviewer.username, code=code, min_far=body.min_far,
                                        reason=body.reason, document=body.document, if_match=if_match_header)
    if created:
        response.status_code = 201
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
        exemptions.delete(conn, actor=reviewer.username, code=code, reason=reason, if_match=if_match_header)
    return Response(status_code=204)
