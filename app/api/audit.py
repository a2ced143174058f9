"""The audit trail, read-only: ``GET /api/audit`` for admins and reviewers. No route edits or deletes it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from app.api.deps import ReviewerOrAdmin, get_engine
from app.api.schemas import AuditEntryOut, AuditPage, errors
from app.db import audit
from app.errors import InvalidParameter

router = APIRouter(prefix="/api/audit", tags=["audit"])

Sort = Literal["-id", "id", "-at", "at", "actor", "-actor", "entity", "-entity"]


@router.get("", response_model=AuditPage, summary="The audit trail (admins and reviewers)",
            responses=errors(400, 401, 403))
def audit_list(
    _reader: ReviewerOrAdmin,
    engine: Annotated[Engine, Depends(get_engine)],
    actor: Annotated[str | None, Query(min_length=1, max_length=200,
                                       description="Only this actor: a user name or cli:<os user>.")] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=32,
                                        description="Only this action: create, update, delete, import...")] = None,
    entity: Annotated[str | None, Query(min_length=1, max_length=40,
                                        description="Only this entity: user, block, far_exemption, "
                                                    "joint_development, or a layer (imports).")] = None,
    entity_key: Annotated[str | None, Query(min_length=1, max_length=200,
                                            description="Only this code, id, name or file.")] = None,
    since: Annotated[dt.datetime | None, Query(description="From this instant on (RFC 3339, inclusive).")] = None,
    until: Annotated[dt.datetime | None, Query(description="Before this instant (RFC 3339, exclusive).")] = None,
    sort: Annotated[Sort, Query(description="-id (newest first, default), id, -at, at, actor, -actor, entity, "
                                            "-entity.")] = "-id",
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows per page.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0,
) -> AuditPage:
    """Who wrote what, when, with the values before and after; exact-match filters, a time window, pages."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidParameter(f"{name} needs a time zone, e.g. 2026-01-31T08:00:00+08:00",
                                   zh=f"{name} 需要带时区，例如 2026-01-31T08:00:00+08:00", field=name)
    flt = audit.AuditFilter(actor=actor, action=action, entity=entity, entity_key=entity_key, since=since,
                            until=until, sort=sort, limit=limit, offset=offset)
    with engine.connect() as conn:
        total, rows = audit.entries(conn, flt)
    return AuditPage(total=total, limit=limit, offset=offset, items=[AuditEntryOut(**r) for r in rows])
