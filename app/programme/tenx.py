"""The ten standards (十化) and three scenarios (三场景) of a block: a checklist with evidence, scored.

Items come from configuration ([plan] 十化三场景, docs/rules.md §6.5: 场地标准化 … 生活社区化; the
scenarios' official names and indicator tables are not published, so they are placeholders labelled as such).
Each item is met, partly met or not met, with evidence notes and who recorded it; a met item scores 1, a partly
met one 0.5 (not assessed: 0). Two items have a **proxy** from the planning figures, shown when nobody has
assessed them and always marked as a proxy: 建筑城市化 from the block's FAR (≥ the 2.0 floor met, ≥ 1.5
partly), 园区公园化 from its green ratio (≥ 15% met, ≥ 10% partly): provisional thresholds. A recorded
assessment wins over a proxy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection, text

from app.errors import InvalidChange, InvalidParameter, NotFound
from app.planning.config import PlanningRules
from app.planning.figures import Figures
from app.planning.metrics import area_figures
from app.programme import lifecycle
from app.programme.config import PLAN, ProgrammeRules

STATES = ("met", "partly", "not_met")
STATE_ZH = {"met": "达标", "partly": "部分达标", "not_met": "未达标"}
SOURCE = (f"[plan] {PLAN}: 十化三场景 standard; items and scenarios configurable, scenario names unpublished "
          "(placeholders); proxy thresholds 暂定值 (provisional, set by RENEWAL_PROGRAMME_PROXY_FAR_PARTLY, "
          "RENEWAL_PROGRAMME_PROXY_GREEN_MET, RENEWAL_PROGRAMME_PROXY_GREEN_PARTLY)")


def points(state: str | None, prules: ProgrammeRules) -> float:
    """Score of one item: met 1, partly 0.5, not met or not assessed 0 (configurable)."""
    return {"met": prules.score_met, "partly": prules.score_partly}.get(state or "", 0.0)


def proxy_building_urban(far: float | None, far_min: float, far_partly: float) -> str | None:
    """建筑城市化 proxy from the block's FAR: ≥ far_min met, ≥ far_partly partly, else not met; None without FAR."""
    if far is None:
        return None
    return "met" if far >= far_min - 1e-9 else "partly" if far >= far_partly - 1e-9 else "not_met"


def proxy_park_garden(green_ratio: float | None, met: float, partly: float) -> str | None:
    """园区公园化 proxy from the green ratio (fraction): ≥ met met, ≥ partly partly, else not met; None: no data."""
    if green_ratio is None:
        return None
    return "met" if green_ratio >= met - 1e-9 else "partly" if green_ratio >= partly - 1e-9 else "not_met"


@dataclass(slots=True)
class Proxy:
    """A derived assessment of an item from the planning figures."""

    state: Annotated[str, Field(description="met, partly or not_met.")]
    value: Annotated[float, Field(description="The figure used (FAR, or green ratio as a fraction).")]
    rule: Annotated[str, Field(description="How the state follows from the value.")]


def proxies(fig: Figures | None, rules: PlanningRules, prules: ProgrammeRules) -> dict[str, Proxy]:
    """The proxies available for a block's figures, by item code."""
    out: dict[str, Proxy] = {}
    if fig is None:
        return out
    urban = proxy_building_urban(fig.far, rules.far_min, prules.proxy_far_partly)
    if urban is not None and fig.far is not None:
        out["building_urban"] = Proxy(urban, fig.far, f"proxy: 容积率 {fig.far:.2f}; ≥ {rules.far_min:g} met, "
                                                       f"≥ {prules.proxy_far_partly:g} partly (暂定值 provisional, "
                                                       "RENEWAL_PROGRAMME_PROXY_FAR_PARTLY)")
    park = proxy_park_garden(fig.green_ratio, prules.proxy_green_met, prules.proxy_green_partly)
    if park is not None and fig.green_ratio is not None:
        out["park_garden"] = Proxy(park, fig.green_ratio,
                                   f"proxy: 绿地率 {fig.green_ratio:.1%}; ≥ {prules.proxy_green_met:.0%} met, "
                                   f"≥ {prules.proxy_green_partly:.0%} partly (暂定值 provisional, "
                                   "RENEWAL_PROGRAMME_PROXY_GREEN_MET, RENEWAL_PROGRAMME_PROXY_GREEN_PARTLY)")
    return out


@dataclass(slots=True)
class ChecklistEntry:
    """One item of a block's checklist."""

    item: Annotated[str, Field(description="Item code.")]
    name: Annotated[str, Field(description="Item name (中文).")]
    group: Annotated[str, Field(description="tenx (十化) or scenario (三场景).")]
    placeholder: Annotated[bool, Field(description="The name is a placeholder (official name unpublished).")]
    state: Annotated[str | None, Field(description="met, partly, not_met, or null (not assessed).")]
    basis: Annotated[str | None, Field(description="recorded (by a person) or proxy (derived), null when neither.")]
    evidence: Annotated[str | None, Field(description="Evidence notes (佐证材料).")]
    actor: Annotated[str | None, Field(description="Who recorded it.")]
    updated_at: Annotated[dt.datetime | None, Field(description="When it was recorded.")]
    proxy: Annotated[Proxy | None, Field(description="The proxy for this item, when there is one.")]
    points: Annotated[float, Field(description="Score of the item.")]


@dataclass(slots=True)
class BlockChecklist:
    """A block's 十化 / 三场景 checklist and its scores."""

    block_code: Annotated[str, Field(description="区块编号.")]
    block_name: Annotated[str, Field(description="区块名称.")]
    town_code: Annotated[str, Field(description="区划代码.")]
    items: Annotated[list[ChecklistEntry], Field(description="The ten standards, then the scenarios.")]
    tenx_score: Annotated[float, Field(description="Σ points of the ten standards.")]
    tenx_max: Annotated[float, Field(description="Highest possible 十化 score.")]
    scenario_score: Annotated[float, Field(description="Σ points of the scenarios.")]
    scenario_max: Annotated[float, Field(description="Highest possible scenario score.")]
    assessed: Annotated[int, Field(description="Items recorded by a person.")]
    proxied: Annotated[int, Field(description="Items scored from a proxy only.")]
    source: Annotated[str, Field(description="Where the items and scoring come from.")]
    programme_version: Annotated[str, Field(description="Version of the programme configuration.")]


def build_checklist(code: str, name: str, town_code: str, recorded: dict[str, dict[str, Any]],
                    fig: Figures | None, rules: PlanningRules, prules: ProgrammeRules) -> BlockChecklist:
    """A block's checklist from its recorded items and its figures (the proxies): pure."""
    derived = proxies(fig, rules, prules)
    tenx_codes = {i.code for i in prules.tenx_items}
    items = []
    for item in prules.checklist:
        rec = recorded.get(item.code)
        proxy = derived.get(item.code)
        state = rec["status"] if rec else (proxy.state if proxy else None)
        basis = "recorded" if rec else ("proxy" if proxy else None)
        items.append(ChecklistEntry(
            item=item.code, name=item.name, group="tenx" if item.code in tenx_codes else "scenario",
            placeholder=item.placeholder, state=state, basis=basis, evidence=rec["evidence"] if rec else None,
            actor=rec["actor"] if rec else None, updated_at=rec["updated_at"] if rec else None, proxy=proxy,
            points=points(state, prules)))
    tenx = [i for i in items if i.group == "tenx"]
    scen = [i for i in items if i.group == "scenario"]
    return BlockChecklist(
        block_code=code, block_name=name, town_code=town_code, items=items,
        tenx_score=sum(i.points for i in tenx), tenx_max=prules.score_met * len(tenx),
        scenario_score=sum(i.points for i in scen), scenario_max=prules.score_met * len(scen),
        assessed=sum(1 for i in items if i.basis == "recorded"),
        proxied=sum(1 for i in items if i.basis == "proxy"), source=SOURCE,
        programme_version=prules.programme_version)


_BLOCKS = text("""
SELECT b.code, b.name, t.code AS town_code FROM blocks b JOIN towns t ON t.id = b.town_id
WHERE (CAST(:town AS text) IS NULL OR t.code = :town) AND (CAST(:block AS text) IS NULL OR b.code = :block)
ORDER BY b.code
""")
_RECORDED = text("""
SELECT b.code AS block_code, c.item, c.status, c.evidence, c.actor, c.updated_at
FROM block_checklists c JOIN blocks b ON b.id = c.block_id JOIN towns t ON t.id = b.town_id
WHERE (CAST(:town AS text) IS NULL OR t.code = :town) AND (CAST(:block AS text) IS NULL OR b.code = :block)
""")


def checklists(conn: Connection, rules: PlanningRules, prules: ProgrammeRules, *, town: str | None = None,
               block: str | None = None) -> list[BlockChecklist]:
    """The checklists of every block of the city, a town or one block (one statement each for items and figures)."""
    params = {"town": town, "block": block}
    blocks = conn.execute(_BLOCKS, params).all()
    recorded: dict[str, dict[str, dict[str, Any]]] = {}
    for r in conn.execute(_RECORDED, params).mappings():
        recorded.setdefault(r["block_code"], {})[r["item"]] = dict(r)
    scope, code = ("block", block) if block else ("town", town) if town else ("city", None)
    _, figs = area_figures(conn, scope, code, rules) if blocks else (None, [])
    by_code = {f.block_code: f for f in figs}
    return [build_checklist(b.code, b.name, b.town_code, recorded.get(b.code, {}), by_code.get(b.code), rules, prules)
            for b in blocks]


def block_checklist(conn: Connection, code: str, rules: PlanningRules, prules: ProgrammeRules) -> BlockChecklist:
    """One block's checklist; ``NotFound`` for an unknown block."""
    found = checklists(conn, rules, prules, block=code)
    if not found:
        raise NotFound(f"no block with code {code!r}",
                       zh=f"没有编号为 {code!r} 的区块", field="code")
    return found[0]


@dataclass(slots=True)
class ItemSummary:
    """How a town's blocks stand on one item."""

    item: Annotated[str, Field(description="Item code.")]
    name: Annotated[str, Field(description="Item name.")]
    met: Annotated[int, Field(description="Blocks meeting it.")]
    partly: Annotated[int, Field(description="Blocks partly meeting it.")]
    not_met: Annotated[int, Field(description="Blocks not meeting it.")]
    not_assessed: Annotated[int, Field(description="Blocks without an assessment or proxy.")]


@dataclass(slots=True)
class TownChecklistSummary:
    """A town's 十化 / 三场景 checklists summarised: mean scores and per-item counts."""

    town_code: Annotated[str, Field(description="区划代码.")]
    blocks: Annotated[int, Field(description="Blocks.")]
    tenx_score_mean: Annotated[float | None, Field(description="Mean 十化 score of the blocks (out of tenx_max).")]
    tenx_max: Annotated[float, Field(description="Highest possible 十化 score.")]
    scenario_score_mean: Annotated[float | None, Field(description="Mean scenario score.")]
    items: Annotated[list[ItemSummary], Field(description="Per item: blocks met, partly, not met, not assessed.")]
    block_scores: Annotated[dict[str, float], Field(description="十化 score per block code.")]


def summarise(town_code: str, lists: Sequence[BlockChecklist], prules: ProgrammeRules) -> TownChecklistSummary:
    """A town's summary from its blocks' checklists (pure)."""
    n = len(lists)
    items = []
    for item in prules.checklist:
        states = [e.state for c in lists for e in c.items if e.item == item.code]
        items.append(ItemSummary(item.code, item.name, states.count("met"), states.count("partly"),
                                 states.count("not_met"), states.count(None)))
    return TownChecklistSummary(
        town_code=town_code, blocks=n, tenx_score_mean=sum(c.tenx_score for c in lists) / n if n else None,
        tenx_max=prules.score_met * len(prules.tenx_items),
        scenario_score_mean=sum(c.scenario_score for c in lists) / n if n else None, items=items,
        block_scores={c.block_code: c.tenx_score for c in lists})


def town_summary(conn: Connection, town: str, rules: PlanningRules, prules: ProgrammeRules) -> TownChecklistSummary:
    """A town's checklist summary; ``NotFound`` for an unknown town."""
    if conn.execute(text("SELECT 1 FROM towns WHERE code = :code"), {"code": town}).first() is None:
        raise NotFound(f"no town with code {town!r}",
                       zh=f"没有区划代码为 {town!r} 的镇街", field="code")
    return summarise(town, checklists(conn, rules, prules, town=town), prules)


_UPSERT = text("""
INSERT INTO block_checklists (block_id, item, status, evidence, actor, updated_at)
VALUES (:block_id, :item, :status, :evidence, :actor, now())
ON CONFLICT (block_id, item) DO UPDATE
SET status = EXCLUDED.status, evidence = EXCLUDED.evidence, actor = EXCLUDED.actor, updated_at = now()
""")


@dataclass(slots=True)
class ChecklistUpdate:
    """An assessment of one item."""

    item: str
    state: str
    evidence: str | None = None


def set_checklist(conn: Connection, code: str, updates: Sequence[ChecklistUpdate], *, expected_version: int | None,
                  actor: str, remark: str | None = None, is_admin: bool = False, today: dt.date | None = None,
                  rules: PlanningRules, prules: ProgrammeRules) -> BlockChecklist:
    """Record assessments of checklist items (in a transaction); the block's version moves and history records it.

    Refused like any block change: stale version (412), accepted block (409), unknown item or state (400),
    nothing changed (422).
    """
    known = {i.code for i in prules.checklist}
    for u in updates:
        if u.item not in known:
            raise InvalidParameter(f"unknown checklist item {u.item!r}; items: {', '.join(sorted(known))}",
                                   zh=f"未知的清单条目 {u.item!r}；条目有：{'、'.join(sorted(known))}",
                                   field="item")
        if u.state not in STATES:
            raise InvalidParameter(f"unknown state {u.state!r}; states: {', '.join(STATES)}",
                                   zh=f"未知的状态 {u.state!r}；可选：{'、'.join(STATES)}", field="state")
    if len({u.item for u in updates}) != len(updates):
        raise InvalidParameter("each item may be given once",
                               zh="每个条目只能给一次", field="item")
    block_id, _ = lifecycle.lock_block(conn, code, expected_version)
    current = block_checklist(conn, code, rules, prules)
    old = {e.item: e for e in current.items}
    changes: dict[str, Any] = {}
    for u in updates:
        before = old[u.item]
        prior = (before.state, before.evidence) if before.basis == "recorded" else (None, None)
        if prior != (u.state, u.evidence):
            changes[f"checklist.{u.item}"] = [prior[0], u.state]
    if not changes:
        raise InvalidChange(f"nothing to change: block {code}'s checklist already says this",
                            zh=f"没有可修改的内容：区块 {code} 的十化清单已是这样")
    lifecycle.change_block(conn, code, lifecycle.BlockChange(remark=remark), expected_version=None, actor=actor,
                           is_admin=is_admin, today=today, extra_changes=changes)
    for u in updates:
        conn.execute(_UPSERT, {"block_id": block_id, "item": u.item, "status": u.state, "evidence": u.evidence,
                               "actor": actor.strip()})
    return block_checklist(conn, code, rules, prules)
