"""Synthetic programme history for the sample data (示例数据，非真实), deterministic and idempotent.

The sample generator (``renewal sample``) gives each block a current status but no history, and each firm
an above-scale flag but no baseline year. ``seed(conn)`` fills both, only where they are missing:

- **Status history**: for each block without any history, one row per step up to its current status. Dates
  come from the MD5 of the block code (so they depend only on the data): surveyed between 2022-03-01 and
  2022-05-14 (some after the 2022-04-30 deadline), plans approved 2022-05-20 to 2022-07-18, works started in
  the block's plan year (or from 2022-07), accepted 300–700 days later; works finished 20–60 days before
  acceptance, and for some blocks still in progress. No date is after ``today``. Actor ``sample``, remark
  "示例数据，非真实 (synthetic)".
- **Baselines**: each above-scale firm without a baseline row gets ``above_scl_since`` = 2012 + (first byte
  of the MD5 of its credit code mod 14), i.e. 2012–2025, source "sample (synthetic)"; about 2 in 7 are
  therefore "new" (after 2021).

It writes history rows directly (back-dated), not through the lifecycle's checks: it is data set-up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import Connection, text

from app.programme.lifecycle import STATUS_SEQ, STATUSES

ACTOR = "sample"
REMARK = "示例数据，非真实 (synthetic)"

_BLOCKS = text("""
SELECT b.id, b.code, b.status, b.plan_year::int AS plan_year, b.works_completed_on
FROM blocks b
WHERE NOT EXISTS (SELECT 1 FROM block_status_history h WHERE h.block_id = b.id)
ORDER BY b.code
""")
_INSERT = text("""
INSERT INTO block_status_history (block_id, event, from_status, to_status, changed_on, actor, remark, changes,
                                  block_version)
VALUES (:block_id, 'advance', :from_status, :to_status, :changed_on, :actor, :remark, CAST(:changes AS jsonb),
        (SELECT version FROM blocks WHERE id = :block_id))
""")
_WORKS = text("UPDATE blocks SET works_completed_on = :day WHERE id = :id")
_BASELINES = text("""
INSERT INTO enterprise_baselines (credit_code, above_scl_since, source)
SELECT e.credit_code, 2012 + get_byte(decode(md5(e.credit_code), 'hex'), 0) % 14, 'sample (synthetic)'
FROM enterprises e
WHERE e.above_scl AND NOT EXISTS (SELECT 1 FROM enterprise_baselines eb WHERE eb.credit_code = e.credit_code)
""")


def _numbers(code: str) -> list[int]:
    """Eight deterministic numbers 0..65535 from the MD5 of ``code``."""
    digest = hashlib.md5(code.encode(), usedforsecurity=False).digest()
    return [int.from_bytes(digest[i:i + 2], "big") for i in range(0, 16, 2)]


def step_dates(code: str, status: str, plan_year: int | None, today: dt.date) -> tuple[list[dt.date], dt.date | None]:
    """The synthetic dates of a block's steps up to ``status`` (surveyed, planned, ...) and its works end (pure)."""
    n = _numbers(code)
    reached = STATUS_SEQ[status]
    dates: list[dt.date] = []
    surveyed = dt.date(2022, 3, 1) + dt.timedelta(days=n[0] % 75)
    planned = max(dt.date(2022, 5, 20) + dt.timedelta(days=n[1] % 60), surveyed + dt.timedelta(days=1))
    start = dt.date(plan_year, 3, 1) if plan_year else dt.date(2022, 7, 1)
    started = max(start + dt.timedelta(days=n[2] % 120), planned + dt.timedelta(days=1))
    accepted = started + dt.timedelta(days=300 + n[3] % 400)
    for day in (surveyed, planned, started, accepted)[:reached]:
        dates.append(min(day, today))
    works: dt.date | None = None
    if reached == STATUS_SEQ["accepted"]:
        works = min(dates[-1] - dt.timedelta(days=20 + n[4] % 40), today)
        works = max(works, dates[-2])
    elif reached == STATUS_SEQ["in_progress"] and n[5] % 3 == 0 and accepted - dt.timedelta(days=60) < today:
        works = max(min(accepted - dt.timedelta(days=60), today), dates[-1])
    return dates, works


def seed(conn: Connection, today: dt.date | None = None) -> dict[str, int]:
    """Fill missing block histories and firm baselines (in the caller's transaction); returns what was added."""
    today = today or dt.date.today()
    rows = conn.execute(_BLOCKS).mappings().all()
    histories = 0
    for r in rows:
        dates, works = step_dates(r["code"], r["status"], r["plan_year"], today)
        if works is not None and r["works_completed_on"] is None:
            conn.execute(_WORKS, {"day": works, "id": r["id"]})
        for i, day in enumerate(dates):
            conn.execute(_INSERT, {"block_id": r["id"], "from_status": STATUSES[i], "to_status": STATUSES[i + 1],
                                   "changed_on": day, "actor": ACTOR, "remark": REMARK,
                                   "changes": json.dumps({"synthetic": True})})
            histories += 1
    baselines = conn.execute(_BASELINES).rowcount
    return {"blocks": len(rows), "history_rows": histories, "baselines": baselines}
