"""Synthetic programme history for the sample data (示例数据，非真实), deterministic and idempotent.

The sample generator (``renewal sample``) gives each block a current status (at the end of 2026 most are accepted,
some in progress, a few behind) but no history, and each firm an above-scale flag but no baseline year.
``seed(conn)`` fills both, only where they are missing, so that the progress dashboard tells the programme's story:

- **Status history**: for each block without any history, one row per step up to its current status. Dates come
  from the MD5 of the block code, its plan year and its mode (so they depend only on the data): surveyed between
  2022-03-01 and 2022-05-14 (some after the 2022-04-30 deadline), plans approved 2022-05-20 to 2022-07-18, works
  started in the block's plan year (March to June; from 2022-07 at the earliest), finished after
  :data:`WORKS_DAYS` of its mode (management quickest, demolition slowest), accepted 20–60 days later. An
  accepted block whose works would run past :data:`STORY_END` is accepted in the 2026 acceptance window
  (October–November) instead. A block in progress has finished its works (and awaits acceptance) when they end by
  :data:`STORY_END`; otherwise it is behind the works deadline. So acceptances spread from late 2022 to 2026. No
  date is after :data:`STORY_END` nor after ``today``. Actor ``sample``, remark "示例数据，非真实 (synthetic)".
- **Baselines**: each above-scale firm without a baseline row gets ``above_scl_since``, source "sample
  (synthetic)". A firm of an accepted block that the renovation lifted above scale (its revenue divided by the
  block's renovation uplift, :func:`geodata.sample.renovation_uplift`, is under the 2000万元 line) became above
  scale in the year of the acceptance or the next (at most ``today``'s year and 2026): these are the programme's
  new above-scale firms. Every other firm: 2006 + (first byte of the MD5 of its credit code mod 18), i.e.
  2006–2023, so about 1 in 9 of them is "new" (after 2021) without any renovation.

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
SOURCE = "sample (synthetic)"
STORY_END = dt.date(2026, 11, 30)
"""The synthetic history's last day: the sample tells the programme's story up to the end of November 2026."""
ACCEPTANCE_WINDOW = dt.date(2026, 10, 1)
"""Blocks whose works would run past STORY_END are accepted from this day (the plan's acceptance window)."""
WORKS_DAYS: dict[str | None, tuple[int, int]] = {"management": (120, 180), "sorting": (210, 210),
                                                 "demolition": (300, 240), None: (210, 270)}
"""Duration of the works by renovation mode: the first number of days and up to the second more (management 4–10
months, sorting 7–14, demolition and rebuilding 10–18)."""

_BLOCKS = text("""
SELECT b.id, b.code, b.status, b.mode, b.plan_year::int AS plan_year, b.works_completed_on
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
# Accepted blocks (first acceptance in the history) with their mode and plan year: their uplift is computed here.
_ACCEPTED = text("""
SELECT b.code, b.status, b.mode, b.plan_year::int AS plan_year
FROM blocks b
WHERE EXISTS (SELECT 1 FROM block_status_history h WHERE h.block_id = b.id AND h.to_status = 'accepted')
""")
_BASELINES = text("""
INSERT INTO enterprise_baselines (credit_code, above_scl_since, source)
SELECT e.credit_code,
       LEAST(CASE WHEN acc.day IS NOT NULL AND e.revenue < :threshold * u.uplift
                  THEN EXTRACT(year FROM acc.day)::int + get_byte(m.h, 1) % 2
                  ELSE 2006 + get_byte(m.h, 0) % 18 END, :this_year),
       :source
FROM enterprises e
JOIN parcels p ON p.id = e.parcel_id
JOIN blocks b ON b.id = p.block_id
CROSS JOIN LATERAL (SELECT decode(md5(e.credit_code), 'hex') AS h) m
LEFT JOIN LATERAL (
    SELECT min(h.changed_on) AS day FROM block_status_history h WHERE h.block_id = b.id AND h.to_status = 'accepted'
) acc ON TRUE
LEFT JOIN unnest(CAST(:codes AS text[]), CAST(:uplifts AS float8[])) AS u(code, uplift) ON u.code = b.code
WHERE e.above_scl AND NOT EXISTS (SELECT 1 FROM enterprise_baselines eb WHERE eb.credit_code = e.credit_code)
""")


def _numbers(code: str) -> list[int]:
    """Eight deterministic numbers 0..65535 from the MD5 of ``code``."""
    digest = hashlib.md5(code.encode(), usedforsecurity=False).digest()
    return [int.from_bytes(digest[i:i + 2], "big") for i in range(0, 16, 2)]


def step_dates(code: str, status: str, plan_year: int | None, today: dt.date, mode: str | None = None
               ) -> tuple[list[dt.date], dt.date | None]:
    """The synthetic dates of a block's steps up to ``status`` (surveyed, planned, ...) and its works end (pure).

    Works end: for an accepted block, before its acceptance; for a block in progress, when they end by STORY_END
    (else None: still under way); otherwise None.
    """
    n = _numbers(code)
    reached = STATUS_SEQ[status]
    day = dt.timedelta(days=1)
    surveyed = dt.date(2022, 3, 1) + dt.timedelta(days=n[0] % 75)
    planned = max(dt.date(2022, 5, 20) + dt.timedelta(days=n[1] % 60), surveyed + day)
    start = dt.date(plan_year, 3, 1) if plan_year else dt.date(2022, 7, 1)
    started = max(start + dt.timedelta(days=n[2] % 120), planned + day)
    least, spread = WORKS_DAYS.get(mode, WORKS_DAYS[None])
    finished = started + dt.timedelta(days=least + n[3] % spread)
    lag = dt.timedelta(days=20 + n[4] % 40)  # from the works' end to the acceptance
    accepted = finished + lag
    if reached == STATUS_SEQ["accepted"] and accepted > STORY_END:  # accepted in the 2026 window instead
        accepted = max(ACCEPTANCE_WINDOW + dt.timedelta(days=n[5] % 60), started + 2 * day)
        finished = max(accepted - lag, started + day)
    end = min(STORY_END, today)
    dates = [min(d, end) for d in (surveyed, planned, started, accepted)[:reached]]
    works: dt.date | None = None
    if reached == STATUS_SEQ["accepted"]:
        works = max(min(finished, dates[-1] - day), dates[-2])
    elif reached == STATUS_SEQ["in_progress"] and finished <= end:
        works = max(finished, dates[-1])
    return dates, works


def seed(conn: Connection, today: dt.date | None = None) -> dict[str, int]:
    """Fill missing block histories and firm baselines (in the caller's transaction); returns what was added."""
    from geodata.sample import ABOVE_SCALE_REVENUE, renovation_uplift  # the generator's definitions

    today = today or dt.date.today()
    rows = conn.execute(_BLOCKS).mappings().all()
    histories = 0
    for r in rows:
        dates, works = step_dates(r["code"], r["status"], r["plan_year"], today, r["mode"])
        if works is not None and r["works_completed_on"] is None:
            conn.execute(_WORKS, {"day": works, "id": r["id"]})
        for i, day in enumerate(dates):
            conn.execute(_INSERT, {"block_id": r["id"], "from_status": STATUSES[i], "to_status": STATUSES[i + 1],
                                   "changed_on": day, "actor": ACTOR, "remark": REMARK,
                                   "changes": json.dumps({"synthetic": True})})
            histories += 1
    accepted = conn.execute(_ACCEPTED).mappings().all()
    uplifts = [renovation_uplift(a["status"], a["mode"], a["plan_year"]) for a in accepted]
    this_year = min(today.year, STORY_END.year)
    baselines = conn.execute(_BASELINES, {"threshold": ABOVE_SCALE_REVENUE, "this_year": this_year,
                                          "source": SOURCE, "codes": [a["code"] for a in accepted],
                                          "uplifts": uplifts}).rowcount
    return {"blocks": len(rows), "history_rows": histories, "baselines": baselines}
