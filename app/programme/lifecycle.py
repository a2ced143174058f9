"""Block lifecycle (实施步骤): status changes with date, who and remark, kept as history; deadlines checked.

Steps ([plan] 慈溪市老旧工业区块改造提升攻坚行动计划（2022-2026） 实施步骤): listed 已列入 → surveyed 已排查 → planned
方案已批 → in_progress 实施中 → accepted 已验收. A block moves one step forward at a time (no skipping), or one
step back as a correction with a remark. An accepted block cannot change at all unless an administrator reopens
it (back to in_progress, with a remark). Moving to ``planned`` records the renovation mode and the industry
positioning.

Acceptance (验收) happens in the plan's acceptance window (``ProgrammeRules.acceptance_opens`` to
``acceptance_deadline``, 2026-10-01 to 2026-12-31 by default): a change to ``accepted`` dated before the window
opens is refused (409), unless an administrator records an exception (``acceptance_exception``) with a remark
saying why; the exception is kept in the history's ``changes``. An acceptance after the window closes is late,
not refused: the block shows as overdue until then (:func:`overdue`).

Every write takes the block's row lock, checks the caller's expected ``version`` (optimistic concurrency:
the ETag of ``/api/blocks/{code}``; a trigger bumps it on every update) and records a history row with the
actor and the remark. ``actor`` comes from the request body until accounts exist (issue 8), then from the
logged-in user; ``is_admin`` is False on the API until then.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection, RowMapping, text

from app.errors import (
    Forbidden,
    InvalidChange,
    InvalidParameter,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    TransitionNotAllowed,
)
from app.models import BLOCK_STATUSES, RENOVATION_MODES
from app.programme.config import PLAN, ProgrammeRules

STATUSES = tuple(code for code, _, _ in BLOCK_STATUSES)
STATUS_SEQ = {code: i for i, code in enumerate(STATUSES)}
STATUS_ZH = {code: zh for code, zh, _ in BLOCK_STATUSES}
MODES = tuple(code for code, _, _ in RENOVATION_MODES)
MODE_ZH = {code: zh for code, zh, _ in RENOVATION_MODES}
ATTRIBUTES = ("mode", "industry", "plan_year", "works_completed_on")
"""Block attributes a change may set besides the status."""


def _named(status: str) -> str:
    """``listed (已列入)``."""
    return f"{status} ({STATUS_ZH.get(status, '?')})"


# ---------------------------------------------------------------- pure rules
def acceptance_exception(code: str, day: dt.date, prules: ProgrammeRules, *, exception: bool, is_admin: bool,
                         remark: str | None) -> bool:
    """Whether accepting block ``code`` on ``day`` records an exception to the acceptance window, or the error
    refusing it.

    On or after ``acceptance_opens``: no exception (asking for one is an error: there is nothing to except). Before
    it: refused (409) unless ``exception`` is asked for by an administrator (else 403) with a remark (else 422).
    """
    opens, closes = prules.acceptance_opens, prules.acceptance_deadline
    if day >= opens:
        if exception:
            raise InvalidChange(f"accepting block {code} on {day} is within the acceptance window (from {opens}): "
                                "there is no exception to record",
                                zh=f"在 {day} 验收区块 {code} 已在验收期内（{opens} 起），无需记录例外",
                                field="acceptance_exception")
        return False
    if not exception:
        raise TransitionNotAllowed(
            f"block {code} cannot be accepted (已验收) on {day}: acceptance happens in the acceptance window "
            f"{opens} to {closes} ([plan] {PLAN} 实施步骤: 验收); an administrator may record an exception "
            "(acceptance_exception) with a remark saying why",
            zh=f"区块 {code} 不能在 {day} 验收（已验收）：验收在验收期 {opens} 至 {closes} 内进行（〔方案〕{PLAN} 实"
               "施步骤：验收）；管理员可记录例外（acceptance_exception）并附说明理由", field="changed_on")
    if not is_admin:
        raise Forbidden(f"accepting block {code} on {day}, before the acceptance window opens on {opens}, is an "
                        "exception only an administrator records",
                        zh=f"在验收期（{opens} 开始）之前于 {day} 验收区块 {code} 属于例外，只能由管理员记录",
                        field="acceptance_exception")
    if not (remark or "").strip():
        raise InvalidChange(f"accepting block {code} before the acceptance window opens on {opens} is an exception "
                            "and needs a remark saying why",
                            zh=f"在验收期（{opens} 开始）之前验收区块 {code} 属于例外，需要附说明理由的备注",
                            field="remark")
    return True


def allowed_next(status: str) -> tuple[str, ...]:
    """Statuses a block in ``status`` may move to: the next step, or the previous one as a correction.

    An accepted block may not move at all (only an administrator's reopen takes it back to in_progress).
    """
    if status not in STATUS_SEQ:
        raise InvalidParameter(f"unknown status {status!r}; statuses: {', '.join(STATUSES)}",
                               zh=f"未知的实施状态 {status!r}；可选：{'、'.join(STATUSES)}", field="status")
    if status == "accepted":
        return ()
    i = STATUS_SEQ[status]
    return tuple(STATUSES[j] for j in (i + 1, i - 1) if 0 <= j < len(STATUSES))


def transition(code: str, current: str, target: str | None, *, reopen: bool, is_admin: bool,
               remark: str | None) -> str:
    """The kind of change (``advance``, ``correct``, ``reopen``, ``update``) or the error refusing it.

    ``target`` None or equal to ``current`` means no status change (attributes only).
    """
    if target is not None and target not in STATUS_SEQ:
        raise InvalidParameter(f"unknown status {target!r}; statuses: {', '.join(STATUSES)}",
                               zh=f"未知的实施状态 {target!r}；可选：{'、'.join(STATUSES)}", field="status")
    if reopen:
        if current != "accepted":
            raise TransitionNotAllowed(f"block {code} is {_named(current)}: only an accepted block can be reopened",
                                       zh=f"区块 {code} 为{STATUS_ZH.get(current, current)}：只有已验收的区块可以重新"
                                          "打开",
                                       field="reopen")
        if not is_admin:
            raise Forbidden(f"block {code} is accepted (已验收): reopening it needs an administrator",
                            zh=f"区块 {code} 已验收：重新打开需要管理员", field="reopen")
        if target not in (None, "in_progress"):
            raise TransitionNotAllowed(f"reopening block {code} takes it back to {_named('in_progress')}, "
                                       f"not to {_named(target or '')}",
                                       zh=f"重新打开区块 {code} 会回到{STATUS_ZH['in_progress']}，而不是"
                                          f"{STATUS_ZH.get(target or '', target)}", field="status")
        if not (remark or "").strip():
            raise InvalidChange("reopening an accepted block needs a remark saying why",
                                zh="重新打开已验收的区块需要附说明理由的备注", field="remark")
        return "reopen"
    if current == "accepted":
        raise TransitionNotAllowed(f"block {code} is accepted (已验收): it cannot change unless an administrator "
                                   "reopens it",
                                   zh=f"区块 {code} 已验收：除非管理员重新打开，否则不能修改",
                                   field="status" if target not in (None, current) else None)
    if target is None or target == current:
        return "update"
    nexts = allowed_next(current)
    if target not in nexts:
        step = "skip steps" if STATUS_SEQ[target] > STATUS_SEQ[current] else "go back more than one step"
        raise TransitionNotAllowed(
            f"block {code} cannot go from {_named(current)} to {_named(target)}: a block cannot {step}; allowed "
            f"next: {', '.join(_named(s) for s in nexts)}",
            zh=f"区块 {code} 不能从{STATUS_ZH[current]}改为{STATUS_ZH[target]}：区块不能"
               f"{'跳过步骤' if STATUS_SEQ[target] > STATUS_SEQ[current] else '回退超过一步'}；下一步可为："
               f"{'、'.join(STATUS_ZH[s] for s in nexts)}", field="status")
    if STATUS_SEQ[target] < STATUS_SEQ[current]:
        if not (remark or "").strip():
            raise InvalidChange(f"going back from {_named(current)} to {_named(target)} is a correction and needs a "
                                "remark saying why",
                                zh=f"从{STATUS_ZH[current]}退回到{STATUS_ZH[target]}属于更正，需要附说明理由的备注",
                                field="remark")
        return "correct"
    return "advance"


@dataclass(frozen=True, slots=True)
class Deadline:
    """A programme deadline: by ``due``, a block must have reached ``step`` (or finished its works)."""

    step: str
    due: dt.date
    title: str
    clause: str


def deadlines(prules: ProgrammeRules) -> tuple[Deadline, ...]:
    """The programme's deadlines in order ([plan] 实施步骤, dates configurable)."""
    clause = f"[plan] {PLAN} 实施步骤"
    return (
        Deadline("surveyed", prules.survey_deadline, "排查 every block surveyed", f"{clause}: surveyed by "
                 f"{prules.survey_deadline}"),
        Deadline("planned", prules.plan_deadline, "方案 town five-year plans approved", f"{clause}: plans by "
                 f"{prules.plan_deadline}"),
        Deadline("works", prules.works_deadline, "实施 works finished", f"{clause}: works 2022-07 to "
                 f"{prules.works_deadline}"),
        Deadline("accepted", prules.acceptance_deadline, "验收 acceptance", f"{clause}: acceptance "
                 f"{prules.acceptance_opens} to {prules.acceptance_deadline}"),
    )


@dataclass(slots=True)
class OverdueStep:
    """A deadline a block has missed at the ``as_of`` date."""

    step: Annotated[str, Field(description="surveyed, planned, works or accepted.")]
    title: Annotated[str, Field(description="What was due.")]
    due: Annotated[dt.date, Field(description="The deadline.")]
    days_overdue: Annotated[int, Field(description="Days from the deadline to as_of.")]
    clause: Annotated[str, Field(description="Where the deadline comes from.")]


def overdue_steps(status_at: str, works_done: bool, as_of: dt.date, prules: ProgrammeRules) -> list[OverdueStep]:
    """The deadlines missed by a block that is in ``status_at`` on ``as_of`` (a deadline day itself is on time).

    Works count as finished when ``works_done`` (a completion date on or before as_of) or the block is accepted.
    """
    missed = []
    seq = STATUS_SEQ[status_at]
    for d in deadlines(prules):
        if as_of <= d.due:
            continue
        done = (works_done or status_at == "accepted") if d.step == "works" else seq >= STATUS_SEQ[d.step]
        if not done:
            missed.append(OverdueStep(d.step, d.title, d.due, (as_of - d.due).days, d.clause))
    return missed


def parse_if_match(header: str | None) -> int | None:
    """The block version an ``If-Match`` header names; None for ``*`` (any current version).

    No header: ``PreconditionRequired`` (428). A tag that is not one of ours (or a weak one, which never matches
    for If-Match) names no version: -1, which then fails as stale (412).
    """
    if header is None or not header.strip():
        raise PreconditionRequired("this change needs an If-Match header with the block's ETag (from GET "
                                   "/api/blocks/{code}), so that it cannot overwrite someone else's change",
                                   zh="此修改需要带区块 ETag 的 If-Match 请求头（来自 GET /api/blocks/{code}），以免"
                                      "覆盖他人的修改",
                                   field="If-Match")
    tags = [t.strip() for t in header.split(",")]
    if "*" in tags:
        return None
    for tag in tags:
        if tag.startswith('"v') and tag.endswith('"') and tag[2:-1].isdigit():
            return int(tag[2:-1])
    return -1


def if_match(header: str | None, what: str) -> int | None:
    """:func:`parse_if_match` for any versioned resource (``what``: "user", "FAR exemption"...): the version the
    header names, None for ``*``, -1 for a tag that names none; 428 without the header."""
    try:
        return parse_if_match(header)
    except PreconditionRequired:
        raise PreconditionRequired(f"this change needs an If-Match header with the {what}'s ETag (from its GET), "
                                   "so that it cannot overwrite someone else's change",
                                   zh="此修改需要带 ETag 的 If-Match 请求头（来自其 GET），以免覆盖他人的修改",
                                   field="If-Match") from None


def etag(version: int) -> str:
    """The ETag of a block at ``version`` (strong): ``"v7"``."""
    return f'"v{version}"'


# ---------------------------------------------------------------- records
@dataclass(slots=True)
class BlockRecord:
    """A block's programme attributes and its row version (the ETag)."""

    code: Annotated[str, Field(description="区块编号.")]
    name: Annotated[str, Field(description="区块名称.")]
    town_code: Annotated[str, Field(description="区划代码.")]
    town_name: Annotated[str, Field(description="镇街名称.")]
    status: Annotated[str, Field(description="实施状态: listed, surveyed, planned, in_progress, accepted.")]
    status_zh: Annotated[str, Field(description="实施状态 (中文).")]
    allowed_next: Annotated[list[str], Field(description="Statuses the block may move to now (forward one step, "
                                                         "or back one as a correction); none when accepted.")]
    mode: Annotated[str | None, Field(description="改造路径: demolition, sorting, management.")]
    mode_zh: Annotated[str | None, Field(description="改造路径 (中文).")]
    industry: Annotated[str | None, Field(description="产业定位.")]
    plan_year: Annotated[int | None, Field(description="改造计划年度.")]
    works_completed_on: Annotated[dt.date | None, Field(description="施工完成日期.")]
    fire_hazard: Annotated[bool, Field(description="消防安全隐患突出.")]
    illegal_buildings: Annotated[bool, Field(description="违法建筑较多.")]
    low_industry: Annotated[bool, Field(description="产业层次低.")]
    poor_environment: Annotated[bool, Field(description="环境脏乱差.")]
    block_area_m2: Annotated[float, Field(description="区块面积, m² (outline, planar in the storage CRS).")]
    block_area_mu: Annotated[float, Field(description="区块面积, 亩.")]
    last_changed_on: Annotated[dt.date | None, Field(description="Date of the last recorded change.")]
    version: Annotated[int, Field(description="Row version; the ETag is \"v<version>\".")]


@dataclass(slots=True)
class HistoryEntry:
    """One recorded change of a block."""

    id: Annotated[int, Field(description="History row id.")]
    event: Annotated[str, Field(description="advance, correct (one step back), reopen or update (attributes).")]
    from_status: Annotated[str | None, Field(description="Status before.")]
    to_status: Annotated[str, Field(description="Status after.")]
    changed_on: Annotated[dt.date, Field(description="Effective date of the change (变更日期).")]
    recorded_at: Annotated[dt.datetime, Field(description="When it was recorded.")]
    actor: Annotated[str, Field(description="Who (经办人).")]
    remark: Annotated[str | None, Field(description="备注.")]
    changes: Annotated[dict[str, Any], Field(description="Attributes changed: {name: [old, new]}.")]
    block_version: Annotated[int, Field(description="Block version after the change.")]


@dataclass(slots=True)
class BlockChange:
    """What a caller asks to change: a status, attributes (only those given), the date and a remark."""

    status: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    changed_on: dt.date | None = None
    remark: str | None = None
    reopen: bool = False
    acceptance_exception: bool = False
    """An administrator's exception: accept before the acceptance window opens (with a remark)."""


_BLOCK = text("""
SELECT b.id, b.code, b.name, t.code AS town_code, t.name AS town_name, b.status, b.mode, b.industry,
       b.plan_year::int AS plan_year, b.works_completed_on, b.fire_hazard, b.illegal_buildings, b.low_industry,
       b.poor_environment, ST_Area(b.geom) AS block_area_m2, b.version,
       (SELECT max(h.changed_on) FROM block_status_history h WHERE h.block_id = b.id) AS last_changed_on
FROM blocks b JOIN towns t ON t.id = b.town_id
WHERE b.code = :code
""")
_LOCK = text("SELECT b.id, b.version FROM blocks b WHERE b.code = :code FOR UPDATE")
_UPDATE = text("""
UPDATE blocks SET status = :status, mode = :mode, industry = :industry, plan_year = :plan_year,
                  works_completed_on = :works_completed_on
WHERE id = :id
RETURNING version
""")
_TOUCH = text("UPDATE blocks SET version = version WHERE id = :id RETURNING version")  # the trigger bumps it
_INSERT_HISTORY = text("""
INSERT INTO block_status_history (block_id, event, from_status, to_status, changed_on, actor, remark, changes,
                                  block_version)
VALUES (:block_id, :event, :from_status, :to_status, :changed_on, :actor, :remark, CAST(:changes AS jsonb),
        :block_version)
""")
_HISTORY = text("""
SELECT h.id, h.event, h.from_status, h.to_status, h.changed_on, h.recorded_at, h.actor, h.remark, h.changes,
       h.block_version
FROM block_status_history h JOIN blocks b ON b.id = h.block_id
WHERE b.code = :code
ORDER BY h.changed_on, h.id
""")


def _record(row: RowMapping) -> BlockRecord:
    """A block row as a record."""
    values = {k: row[k] for k in ("code", "name", "town_code", "town_name", "status", "mode", "industry",
                                  "plan_year", "works_completed_on", "fire_hazard", "illegal_buildings",
                                  "low_industry", "poor_environment", "block_area_m2", "last_changed_on", "version")}
    return BlockRecord(**values, status_zh=STATUS_ZH[row["status"]], allowed_next=list(allowed_next(row["status"])),
                       mode_zh=MODE_ZH.get(row["mode"]) if row["mode"] else None,
                       block_area_mu=row["block_area_m2"] * 15 / 10000)


def get_block(conn: Connection, code: str) -> BlockRecord:
    """A block's programme attributes and version; ``NotFound`` for an unknown code."""
    row = conn.execute(_BLOCK, {"code": code}).mappings().first()
    if row is None:
        raise NotFound(f"no block with code {code!r}",
                       zh=f"没有编号为 {code!r} 的区块", field="code")
    return _record(row)


def history(conn: Connection, code: str) -> list[HistoryEntry]:
    """A block's recorded changes, oldest first; ``NotFound`` for an unknown code."""
    get_block(conn, code)
    return [HistoryEntry(**dict(r)) for r in conn.execute(_HISTORY, {"code": code}).mappings()]


def lock_block(conn: Connection, code: str, expected_version: int | None) -> tuple[int, int]:
    """Take the block's row lock and check the caller's version: (id, version), or 404 / 412."""
    row = conn.execute(_LOCK, {"code": code}).first()
    if row is None:
        raise NotFound(f"no block with code {code!r}",
                       zh=f"没有编号为 {code!r} 的区块", field="code")
    if expected_version is not None and row.version != expected_version:
        raise PreconditionFailed(f"block {code} has changed since it was read: it is now at {etag(row.version)}; "
                                 "read it again and re-apply the change",
                                 zh=f"区块 {code} 在读取后已被修改，当前版本为 {etag(row.version)}；请重新读取后再修"
                                    "改", field="If-Match")
    return int(row.id), int(row.version)


def _check_date(day: dt.date, last: dt.date | None, today: dt.date, what: str) -> None:
    """A change's date is not in the future and not before the block's last recorded change."""
    if day > today:
        raise InvalidChange(f"{what} {day} is in the future (today is {today})",
                            zh=f"变更日期 {day} 在未来（今天是 {today}）", field="changed_on")
    if last is not None and day < last:
        raise InvalidChange(f"{what} {day} is before the block's last recorded change on {last}",
                            zh=f"变更日期 {day} 早于区块上次记录的变更日期 {last}", field="changed_on")


def _jsonable(value: Any) -> Any:
    """Dates as ISO text for the history's JSON."""
    return value.isoformat() if isinstance(value, dt.date) else value


def validate_attributes(attrs: Mapping[str, Any]) -> None:
    """Known attribute names and values (mode from the list, plan year in range)."""
    unknown = sorted(set(attrs) - set(ATTRIBUTES))
    if unknown:
        raise InvalidParameter(f"unknown attributes {', '.join(unknown)}; attributes: {', '.join(ATTRIBUTES)}",
                               zh=f"未知的属性 {'、'.join(unknown)}；可改的属性：{'、'.join(ATTRIBUTES)}",
                               field=unknown[0])
    mode = attrs.get("mode")
    if mode is not None and mode not in MODES:
        raise InvalidParameter(f"unknown mode {mode!r}; modes: {', '.join(MODES)}",
                               zh=f"未知的改造路径 {mode!r}；可选：{'、'.join(MODES)}", field="mode")
    year = attrs.get("plan_year")
    if year is not None and not 2000 <= year <= 2100:
        raise InvalidParameter("plan_year must be between 2000 and 2100",
                               zh="计划年度 plan_year 应在 2000 到 2100 之间", field="plan_year")


def change_block(conn: Connection, code: str, change: BlockChange, *, expected_version: int | None, actor: str,
                 is_admin: bool = False, today: dt.date | None = None, extra_changes: dict[str, Any] | None = None,
                 prules: ProgrammeRules | None = None) -> BlockRecord:
    """Apply a status and/or attribute change to a block and record it; call inside a transaction.

    Refuses (without writing): unknown block (404), stale ``expected_version`` (412), a step skipped or any
    change of an accepted block without an admin reopen (409, 403 for a non-admin reopen), an acceptance dated
    before the acceptance window of ``prules`` without an administrator's exception (409; 403 for a non-admin's
    exception), a correction, reopen or exception without remark, a date in the future or before the last change,
    ``planned`` without mode and industry, works finished on a block not in progress (422). ``extra_changes`` are
    recorded as changed too (checklist items, a plan id), so that such writes bump the version even without
    attribute changes. ``prules``: the programme settings (``settings.programme``); without them the plan's
    default window applies.
    """
    if not actor or not actor.strip():
        raise InvalidParameter("actor must name who makes the change",
                               zh="actor 应写明修改人", field="actor")
    today = today or dt.date.today()
    validate_attributes(change.attributes)
    block_id, _ = lock_block(conn, code, expected_version)
    current = get_block(conn, code)
    event = transition(code, current.status, change.status, reopen=change.reopen, is_admin=is_admin,
                       remark=change.remark)
    target = "in_progress" if event == "reopen" else (change.status or current.status)
    day = change.changed_on or today
    _check_date(day, current.last_changed_on, today, "change date")
    excepted = False
    if event == "advance" and target == "accepted":
        excepted = acceptance_exception(code, day, prules or ProgrammeRules.model_construct(),
                                        exception=change.acceptance_exception, is_admin=is_admin,
                                        remark=change.remark)
    elif change.acceptance_exception:
        raise InvalidChange("acceptance_exception applies only to a change of status to accepted (已验收)",
                            zh="acceptance_exception（验收例外）只适用于把状态改为已验收",
                            field="acceptance_exception")

    before = {name: getattr(current, name) for name in ATTRIBUTES}
    after = {**before, **change.attributes}
    works = after["works_completed_on"]
    if works is not None and works != before["works_completed_on"]:
        if works > today:
            raise InvalidChange(f"works_completed_on {works} is in the future (today is {today})",
                                zh=f"工程完工日期 works_completed_on {works} 在未来（今天是 {today}）",
                                field="works_completed_on")
        if target not in ("in_progress", "accepted"):
            raise InvalidChange(f"works can be recorded as finished only for a block in progress (实施中); block "
                                f"{code} is {_named(target)}",
                                zh=f"只有实施中的区块才能记录工程完工；区块 {code} 为{STATUS_ZH.get(target, target)}",
                                field="works_completed_on")
    if event == "advance" and target == "planned":
        missing = [n for n in ("mode", "industry") if not after[n]]
        if missing:
            raise InvalidChange(f"an approved plan (方案已批) records the renovation mode and the industry positioning "
                                f"(产业定位): give {' and '.join(missing)}",
                                zh=f"方案已批需要记录改造路径和产业定位：请提供 {' 和 '.join(missing)}",
                                field=missing[0])
    changes = {n: [_jsonable(before[n]), _jsonable(after[n])] for n in ATTRIBUTES if after[n] != before[n]}
    changes.update(extra_changes or {})
    if excepted:
        changes["acceptance_exception"] = [False, True]
    if event == "update" and not changes:
        raise InvalidChange(f"nothing to change: block {code} already has these values",
                            zh=f"没有可修改的内容：区块 {code} 已是这些值", field=None)

    version = conn.execute(_UPDATE, {"id": block_id, "status": target, **after}).scalar_one()
    conn.execute(_INSERT_HISTORY, {
        "block_id": block_id, "event": event, "from_status": current.status, "to_status": target, "changed_on": day,
        "actor": actor.strip(), "remark": (change.remark or "").strip() or None,
        "changes": json.dumps(changes, ensure_ascii=False), "block_version": version})
    return get_block(conn, code)


def apply_change(conn: Connection, code: str, status: str | None = None, *, actor: str, remark: str | None = None,
                 changed_on: dt.date | None = None, expected_version: int | None = None, reopen: bool = False,
                 is_admin: bool = False, today: dt.date | None = None, acceptance_exception: bool = False,
                 prules: ProgrammeRules | None = None, **attributes: Any) -> BlockRecord:
    """Keyword form of :func:`change_block` (for the CLI and scripts)."""
    change = BlockChange(status=status, attributes=attributes, changed_on=changed_on, remark=remark, reopen=reopen,
                         acceptance_exception=acceptance_exception)
    return change_block(conn, code, change, expected_version=expected_version, actor=actor, is_admin=is_admin,
                        today=today, prules=prules)


# ---------------------------------------------------------------- deadlines per town
@dataclass(slots=True)
class OverdueBlock:
    """A block that has missed one or more deadlines on ``as_of``."""

    code: Annotated[str, Field(description="区块编号.")]
    name: Annotated[str, Field(description="区块名称.")]
    status_at: Annotated[str, Field(description="Status on as_of (from the history; the current status when the "
                                                "block has no recorded history).")]
    history_recorded: Annotated[bool, Field(description="False: no history, the current status is used.")]
    block_area_mu: Annotated[float, Field(description="区块面积, 亩.")]
    steps: Annotated[list[OverdueStep], Field(description="Missed deadlines, in order.")]


@dataclass(slots=True)
class OverdueTown:
    """A town's blocks that are overdue on ``as_of``."""

    town_code: Annotated[str, Field(description="区划代码.")]
    town_name: Annotated[str, Field(description="镇街名称.")]
    blocks: Annotated[list[OverdueBlock], Field(description="Overdue blocks, by code.")]


# Each block's status on :as_of: the last change on or before it; before the first recorded change, the status
# that change started from; with no history at all, the current status (history_recorded false).
STATUS_AT = """
SELECT b.id AS block_id, b.code, b.name, t.code AS town_code, t.name AS town_name, b.mode,
       b.plan_year::int AS plan_year, ST_Area(b.geom) AS block_area_m2,
       COALESCE(le.to_status, gt.from_status, b.status) AS status_at,
       (le.to_status IS NOT NULL OR gt.from_status IS NOT NULL) AS history_recorded,
       (b.works_completed_on IS NOT NULL AND b.works_completed_on <= :as_of) AS works_done,
       rn.renovated_on
FROM blocks b
JOIN towns t ON t.id = b.town_id
LEFT JOIN LATERAL (
    SELECT h.to_status FROM block_status_history h
    WHERE h.block_id = b.id AND h.changed_on <= :as_of ORDER BY h.changed_on DESC, h.id DESC LIMIT 1) le ON TRUE
LEFT JOIN LATERAL (
    SELECT h.from_status FROM block_status_history h
    WHERE h.block_id = b.id AND h.changed_on > :as_of ORDER BY h.changed_on, h.id LIMIT 1) gt ON TRUE
LEFT JOIN LATERAL (
    -- the first date the block reached a status counted as renovated (on or before as_of)
    SELECT min(h.changed_on) AS renovated_on FROM block_status_history h
    WHERE h.block_id = b.id AND h.changed_on <= :as_of AND h.to_status = ANY(CAST(:renovated AS text[]))
) rn ON TRUE
WHERE CAST(:town AS text) IS NULL OR t.code = :town
ORDER BY t.code, b.code
"""
_STATUS_AT = text(STATUS_AT)


def statuses_at(conn: Connection, as_of: dt.date, renovated: tuple[str, ...], town: str | None = None
                ) -> list[RowMapping]:
    """Every block (of a town) with its status on ``as_of``, whether works were done, and when it was renovated."""
    return list(conn.execute(_STATUS_AT, {"as_of": as_of, "renovated": list(renovated), "town": town}).mappings())


def overdue(conn: Connection, prules: ProgrammeRules, as_of: dt.date, town: str | None = None,
            renovated: tuple[str, ...] = ("accepted",)) -> list[OverdueTown]:
    """Blocks that missed a deadline on ``as_of``, per town (towns without overdue blocks left out)."""
    towns: dict[str, OverdueTown] = {}
    for r in statuses_at(conn, as_of, renovated, town):
        steps = overdue_steps(r["status_at"], bool(r["works_done"]), as_of, prules)
        if not steps:
            continue
        entry = towns.setdefault(r["town_code"], OverdueTown(r["town_code"], r["town_name"], []))
        entry.blocks.append(OverdueBlock(r["code"], r["name"], r["status_at"], bool(r["history_recorded"]),
                                         r["block_area_m2"] * 15 / 10000, steps))
    return list(towns.values())
