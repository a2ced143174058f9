"""The audit trail: one row per write (API or CLI), in the writer's own transaction.

``record`` inserts into ``audit_log`` on the caller's connection, so the row commits with the change it
describes or not at all: a write that fails leaves no audit row, and no change is committed without one.
The table is append-only in the database (migration 0006: a trigger refuses UPDATE, DELETE and TRUNCATE);
this module, like the rest of the service, only inserts and reads.

Before and after values are JSON: numbers, text, dates (ISO 8601) and nested objects; geometry is not
copied, only its MD5 (``geom_md5``) where a caller gives it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

_INSERT = text("""
INSERT INTO audit_log (actor, action, entity, entity_key, before, after)
VALUES (:actor, :action, :entity, :entity_key, CAST(:before AS jsonb), CAST(:after AS jsonb))
RETURNING id
""")

# Filters are all bound; the sort key is looked up in ``SORTS`` (never pasted from the request).
_WHERE = """
WHERE (CAST(:actor AS text) IS NULL OR actor = :actor)
  AND (CAST(:action AS text) IS NULL OR action = :action)
  AND (CAST(:entity AS text) IS NULL OR entity = :entity)
  AND (CAST(:entity_key AS text) IS NULL OR entity_key = :entity_key)
  AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR at < :until)
"""
_PAGE = "SELECT id, at, actor, action, entity, entity_key, before, after, txid FROM audit_log {where} " \
        "ORDER BY {order} LIMIT :limit OFFSET :offset"
_COUNT = text(f"SELECT count(*) FROM audit_log {_WHERE}")  # noqa: S608 (a module constant)
SORTS: dict[str, str] = {
    "-id": "id DESC", "id": "id ASC", "-at": "at DESC, id DESC", "at": "at ASC, id ASC",
    "actor": "actor ASC, id DESC", "-actor": "actor DESC, id DESC",
    "entity": "entity ASC, entity_key ASC, id DESC", "-entity": "entity DESC, entity_key DESC, id DESC",
}
"""Accepted ``sort`` values of the audit list and their ORDER BY."""
_PAGES = {key: text(_PAGE.format(where=_WHERE, order=order)) for key, order in SORTS.items()}


def cli_actor() -> str:
    """The actor of a command-line write: ``cli:<os user>``."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        name = "unknown"
    return f"cli:{name}"


def _default(value: Any) -> Any:
    """JSON for what ``json`` does not know: decimals as numbers, dates as ISO 8601, the rest as text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID | bytes):
        return value.hex() if isinstance(value, bytes) else str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def to_json(value: Any) -> str | None:
    """``value`` as JSON text for a jsonb column (None stays SQL NULL)."""
    if value is None:
        return None
    return json.dumps(value, default=_default, ensure_ascii=False, sort_keys=True)


def record(conn: Connection, *, actor: str, action: str, entity: str, entity_key: str | int | None,
           before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> int:
    """Write one audit row in the caller's transaction; returns its id.

    ``actor`` is a user name or ``cli:<os user>``; ``action`` a verb (``create``, ``update``, ``delete``,
    ``import``...); ``entity`` and ``entity_key`` say what was written; ``before`` is None for a creation and
    ``after`` None for a deletion.
    """
    if not conn.in_transaction():
        raise RuntimeError("audit.record needs the writer's transaction")
    return int(conn.execute(_INSERT, {
        "actor": actor, "action": action, "entity": entity,
        "entity_key": None if entity_key is None else str(entity_key),
        "before": to_json(before), "after": to_json(after),
    }).scalar_one())


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What ``GET /api/audit`` selects: exact matches, a time window [since, until) and a page."""

    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_key: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    sort: str = "-id"
    limit: int = 100
    offset: int = 0


def entries(conn: Connection, flt: AuditFilter) -> tuple[int, list[dict[str, Any]]]:
    """(total matching, one page of rows as dicts), newest first unless ``flt.sort`` says otherwise."""
    params: dict[str, Any] = {"actor": flt.actor, "action": flt.action, "entity": flt.entity,
                              "entity_key": flt.entity_key, "since": flt.since, "until": flt.until}
    total = int(conn.execute(_COUNT, params).scalar_one())
    page = _PAGES[flt.sort]  # callers validate the key: a KeyError here is a bug, not input
    rows = conn.execute(page, {**params, "limit": flt.limit, "offset": flt.offset}).mappings().all()
    return total, [dict(r) for r in rows]
