"""Progress against the 2026 targets, citywide and per town, by year and by mode ([plan] targets).

- **Renovated area** (亩): blocks whose status on ``as_of`` counts as renovated (``RENEWAL_RULE_TARGET_STATUSES``,
  default accepted) against 10,000 亩; blocks in progress are shown beside it, not in it. The area is the
  block outline (``area_basis`` block, default) or the land of its parcels.
- **New above-scale firms** (新增规上工业企业) in renovated blocks against 200: firms above scale now whose
  baseline year (``enterprise_baselines.above_scl_since``) is after ``new_above_scale_after_year``; firms
  without a baseline are counted apart, never as new.
- **亩均税收 of renovated blocks** against 15万元/亩: Σ tax ÷ Σ 亩 of the parcels that report tax, over all
  renovated blocks of the scope (the planning engine's block sums, added and then divided; never an
  average of block ratios).

A block's status on ``as_of`` comes from its history (:data:`app.programme.lifecycle.STATUS_AT`); blocks
without any recorded history count with their current status and are reported as ``undated_blocks``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection, text

from app.planning import figures as planning_figures
from app.planning import formulas
from app.planning.config import PlanningRules
from app.planning.figures import BlockFigures
from app.planning.metrics import area_figures
from app.programme import lifecycle
from app.programme.config import PLAN, ProgrammeRules

# Above-scale firms per block: all, new since the baseline year (up to as_of's year), and without a baseline.
_FIRMS = text("""
SELECT b.code AS block_code,
       count(*) FILTER (WHERE e.above_scl) AS above_scale,
       count(*) FILTER (WHERE e.above_scl AND eb.above_scl_since > :after_year
                                          AND eb.above_scl_since <= :as_of_year) AS new_above_scale,
       count(*) FILTER (WHERE e.above_scl AND eb.above_scl_since IS NULL) AS unknown_baseline
FROM enterprises e
JOIN parcels p ON p.id = e.parcel_id
JOIN blocks b ON b.id = p.block_id
LEFT JOIN enterprise_baselines eb ON eb.credit_code = e.credit_code
GROUP BY b.code
""")
_TOWNS = text("SELECT t.code, t.name FROM towns t ORDER BY t.code")


@dataclass(slots=True)
class TargetProgress:
    """One 2026 target: the value reached, the target, the share and the source."""

    key: Annotated[str, Field(description="area_mu, new_above_scale or tax_per_mu_wan.")]
    title: Annotated[str, Field(description="What is counted (中文 and English).")]
    value: Annotated[float | None, Field(description="Value reached, in `unit` (null: no data).")]
    target: Annotated[float, Field(description="2026 target, in `unit`.")]
    unit: Annotated[str, Field(description="亩, firms or 万元/亩.")]
    share: Annotated[float | None, Field(description="value ÷ target (1 = reached).")]
    met: Annotated[bool, Field(description="value ≥ target.")]
    source: Annotated[str, Field(description="Where the target comes from.")]


@dataclass(slots=True)
class ScopeProgress:
    """Programme figures of a scope (the city or a town) on ``as_of``."""

    blocks: Annotated[int, Field(description="Blocks in the programme.")]
    blocks_by_status: Annotated[dict[str, int], Field(description="Blocks per status on as_of.")]
    programme_area_mu: Annotated[float, Field(description="Area of all blocks, 亩 (area basis).")]
    renovated_blocks: Annotated[int, Field(description="Blocks counted as renovated.")]
    renovated_area_mu: Annotated[float, Field(description="Area of the renovated blocks, 亩 (area basis).")]
    in_progress_blocks: Annotated[int, Field(description="Blocks in progress (实施中) not counted as renovated.")]
    in_progress_area_mu: Annotated[float, Field(description="Their area, 亩 (shown beside the target, not in it).")]
    renovated_land_area_mu: Annotated[float, Field(description="Land of the renovated blocks' parcels, 亩.")]
    above_scale_firms: Annotated[int, Field(description="Above-scale firms (规上) in renovated blocks.")]
    new_above_scale_firms: Annotated[int, Field(description="Of those, new since the baseline year.")]
    unknown_baseline_firms: Annotated[int, Field(description="Of those, without a baseline year (not counted new).")]
    renovated_tax_yuan: Annotated[float | None, Field(description="Σ yearly tax of the renovated blocks' parcels, "
                                                                  "yuan.")]
    renovated_tax_land_mu: Annotated[float, Field(description="Σ land of those parcels that report tax, 亩.")]
    renovated_tax_per_mu_wan: Annotated[float | None, Field(description="亩均税收 of the renovated blocks = Σ tax ÷ "
                                                                        "Σ 亩, 万元/亩.")]
    overdue_blocks: Annotated[int, Field(description="Blocks that missed a deadline on as_of.")]
    undated_blocks: Annotated[int, Field(description="Blocks without recorded history (current status used).")]
    targets: Annotated[list[TargetProgress], Field(description="The three 2026 targets.")]


@dataclass(slots=True)
class TownProgress(ScopeProgress):
    """A town's programme figures (its share of the citywide targets)."""

    town_code: Annotated[str, Field(description="区划代码.")]
    town_name: Annotated[str, Field(description="镇街名称.")]


@dataclass(slots=True)
class YearProgress:
    """Blocks planned for a year (plan_year) and blocks renovated in it (from the history)."""

    year: Annotated[int, Field(description="Calendar year.")]
    planned_blocks: Annotated[int, Field(description="Blocks whose plan_year is this year.")]
    planned_area_mu: Annotated[float, Field(description="Their area, 亩.")]
    renovated_blocks: Annotated[int, Field(description="Blocks first reaching a renovated status this year.")]
    renovated_area_mu: Annotated[float, Field(description="Their area, 亩.")]
    cumulative_renovated_area_mu: Annotated[float, Field(description="Renovated area up to the end of the year, 亩 "
                                                                     "(dated blocks only).")]


@dataclass(slots=True)
class ModeProgress:
    """Blocks of one renovation mode (改造路径)."""

    mode: Annotated[str, Field(description="demolition, sorting, management, or none (not decided).")]
    mode_zh: Annotated[str, Field(description="改造路径 (中文).")]
    blocks: Annotated[int, Field(description="Blocks.")]
    area_mu: Annotated[float, Field(description="Their area, 亩.")]
    renovated_blocks: Annotated[int, Field(description="Renovated blocks.")]
    renovated_area_mu: Annotated[float, Field(description="Renovated area, 亩.")]
    in_progress_area_mu: Annotated[float, Field(description="Area in progress, 亩.")]
    renovated_tax_per_mu_wan: Annotated[float | None, Field(description="亩均税收 of the renovated blocks, 万元/亩 "
                                                                        "(Σ ÷ Σ).")]


@dataclass(slots=True)
class TimelinePoint:
    """Cumulative renovated area at a quarter's end."""

    date: Annotated[dt.date, Field(description="Quarter end (or as_of for the last point).")]
    renovated_area_mu: Annotated[float, Field(description="Renovated area reached by that date, 亩 (dated blocks).")]


@dataclass(slots=True)
class Progress:
    """The programme on ``as_of``: citywide, per town, by year, by mode, and a time line."""

    as_of: Annotated[dt.date, Field(description="Date the figures are for.")]
    renovated_statuses: Annotated[list[str], Field(description="Statuses counted as renovated.")]
    area_basis: Annotated[str, Field(description="block (outline) or parcels (Σ parcel land).")]
    city: Annotated[ScopeProgress, Field(description="Citywide.")]
    towns: Annotated[list[TownProgress], Field(description="Per town, by code (every town, with or without blocks).")]
    by_year: Annotated[list[YearProgress], Field(description="By plan year and by renovation year.")]
    by_mode: Annotated[list[ModeProgress], Field(description="By renovation mode.")]
    timeline: Annotated[list[TimelinePoint], Field(description="Cumulative renovated area by quarter.")]
    programme_version: Annotated[str, Field(description="Version of the programme configuration.")]
    rule_version: Annotated[str, Field(description="Version of the planning-rule configuration.")]


@dataclass(slots=True)
class BlockState:
    """What the progress figures need of one block (from the history, the planning sums and the firms)."""

    code: str
    name: str
    town_code: str
    town_name: str
    mode: str | None
    plan_year: int | None
    status_at: str
    history_recorded: bool
    renovated_on: dt.date | None
    area_mu: float
    renovated: bool
    overdue: bool
    figures: BlockFigures | None
    above_scale: int
    new_above_scale: int
    unknown_baseline: int


def block_states(conn: Connection, rules: PlanningRules, prules: ProgrammeRules, as_of: dt.date,
                 town: str | None = None) -> list[BlockState]:
    """Every block's state on ``as_of``: status, renovated or not, overdue or not, planning sums and firms."""
    renovated = tuple(rules.target_statuses)
    rows = lifecycle.statuses_at(conn, as_of, renovated, town)
    _, block_figs = area_figures(conn, "city" if town is None else "town", town, rules)
    figs = {b.block_code: b for b in block_figs}
    firms = {r.block_code: r for r in conn.execute(_FIRMS, {"after_year": prules.new_above_scale_after_year,
                                                            "as_of_year": as_of.year})}
    states = []
    for r in rows:
        fig = figs.get(r["code"])
        if prules.area_basis == "parcels":
            area_m2 = fig.land_area_m2 if fig else 0.0
        else:
            area_m2 = r["block_area_m2"]
        f = firms.get(r["code"])
        states.append(BlockState(
            code=r["code"], name=r["name"], town_code=r["town_code"], town_name=r["town_name"], mode=r["mode"],
            plan_year=r["plan_year"], status_at=r["status_at"], history_recorded=bool(r["history_recorded"]),
            renovated_on=r["renovated_on"], area_mu=formulas.mu_from_m2(area_m2),
            renovated=r["status_at"] in renovated,
            overdue=bool(lifecycle.overdue_steps(r["status_at"], bool(r["works_done"]), as_of, prules)),
            figures=fig, above_scale=int(f.above_scale) if f else 0,
            new_above_scale=int(f.new_above_scale) if f else 0, unknown_baseline=int(f.unknown_baseline) if f else 0))
    return states


def renovated_tax(states: Iterable[BlockState]) -> tuple[float | None, float, float | None]:
    """(Σ tax yuan, Σ tax land 亩, 亩均税收 万元/亩) of the renovated blocks: sums added, then divided (Σ ÷ Σ)."""
    parts = [s.figures for s in states if s.renovated and s.figures is not None]
    fig = planning_figures.derive(planning_figures.add(parts)) if parts else None
    if fig is None:
        return None, 0.0, None
    return fig.tax_yuan, formulas.mu_from_m2(fig.tax_basis_m2), fig.tax_per_mu_wan


def targets(area_mu: float, new_firms: int, tax_per_mu_wan: float | None, rules: PlanningRules,
            prules: ProgrammeRules) -> list[TargetProgress]:
    """The three 2026 targets [plan] with the values reached."""
    def target(key: str, title: str, value: float | None, goal: float, unit: str) -> TargetProgress:
        share = None if value is None else value / goal
        return TargetProgress(key, title, value, goal, unit, share, value is not None and value >= goal,
                              f"[plan] {PLAN} 2026 targets")
    return [
        target("area_mu", "改造提升老旧工业区块面积 renovated area", area_mu, prules.target_area_mu, "亩"),
        target("new_above_scale", "新增规上工业企业 new above-scale firms in renovated blocks", float(new_firms),
               float(prules.target_new_above_scale), "firms"),
        target("tax_per_mu_wan", "改造区块亩均税收 tax per 亩 of renovated blocks", tax_per_mu_wan,
               rules.target_tax_per_mu_wan, "万元/亩"),
    ]


def scope_progress(states: list[BlockState], rules: PlanningRules, prules: ProgrammeRules) -> ScopeProgress:
    """The figures of a set of blocks (a town, the city)."""
    renovated = [s for s in states if s.renovated]
    in_progress = [s for s in states if s.status_at == "in_progress" and not s.renovated]
    tax, tax_mu, tax_per_mu_wan = renovated_tax(renovated)
    by_status = {code: sum(1 for s in states if s.status_at == code) for code in lifecycle.STATUSES}
    area = sum(s.area_mu for s in renovated)
    new_firms = sum(s.new_above_scale for s in renovated)
    return ScopeProgress(
        blocks=len(states), blocks_by_status=by_status, programme_area_mu=sum(s.area_mu for s in states),
        renovated_blocks=len(renovated), renovated_area_mu=area, in_progress_blocks=len(in_progress),
        in_progress_area_mu=sum(s.area_mu for s in in_progress),
        renovated_land_area_mu=sum(s.figures.land_area_mu for s in renovated if s.figures),
        above_scale_firms=sum(s.above_scale for s in renovated), new_above_scale_firms=new_firms,
        unknown_baseline_firms=sum(s.unknown_baseline for s in renovated), renovated_tax_yuan=tax,
        renovated_tax_land_mu=tax_mu, renovated_tax_per_mu_wan=tax_per_mu_wan,
        overdue_blocks=sum(1 for s in states if s.overdue),
        undated_blocks=sum(1 for s in states if not s.history_recorded),
        targets=targets(area, new_firms, tax_per_mu_wan, rules, prules))


def by_year(states: list[BlockState], prules: ProgrammeRules, as_of: dt.date) -> list[YearProgress]:
    """Planned (plan_year) and renovated (first renovated date) blocks per year, 2022 to 2026 or as_of's year."""
    years = {s.plan_year for s in states if s.plan_year} | {s.renovated_on.year for s in states
                                                            if s.renovated and s.renovated_on}
    first = min([prules.programme_start.year, *years])
    last = max([prules.acceptance_deadline.year, as_of.year, *years])
    rows = []
    cumulative = 0.0
    for year in range(first, last + 1):
        planned = [s for s in states if s.plan_year == year]
        done = [s for s in states if s.renovated and s.renovated_on and s.renovated_on.year == year]
        cumulative += sum(s.area_mu for s in done)
        rows.append(YearProgress(year, len(planned), sum(s.area_mu for s in planned), len(done),
                                 sum(s.area_mu for s in done), cumulative))
    return rows


def by_mode(states: list[BlockState]) -> list[ModeProgress]:
    """Blocks, area and renovated area per renovation mode (and ``none``: not decided)."""
    rows = []
    for mode in (*lifecycle.MODES, None):
        group = [s for s in states if s.mode == mode]
        renovated = [s for s in group if s.renovated]
        rows.append(ModeProgress(
            mode=mode or "none", mode_zh=lifecycle.MODE_ZH.get(mode or "", "未确定"), blocks=len(group),
            area_mu=sum(s.area_mu for s in group), renovated_blocks=len(renovated),
            renovated_area_mu=sum(s.area_mu for s in renovated),
            in_progress_area_mu=sum(s.area_mu for s in group if s.status_at == "in_progress" and not s.renovated),
            renovated_tax_per_mu_wan=renovated_tax(renovated)[2]))
    return rows


def quarter_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Quarter-end dates from the quarter of ``start`` up to ``end`` (inclusive), then ``end`` itself."""
    out = []
    year, quarter = start.year, (start.month - 1) // 3 + 1
    while True:
        month = quarter * 3
        day = dt.date(year, month, 31 if month in (3, 12) else 30)
        if day >= end:
            break
        out.append(day)
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    out.append(end)
    return out


def timeline(states: list[BlockState], prules: ProgrammeRules, as_of: dt.date) -> list[TimelinePoint]:
    """Cumulative renovated area (dated blocks) at each quarter end from the programme start to ``as_of``."""
    dated = sorted((s.renovated_on, s.area_mu) for s in states if s.renovated and s.renovated_on)
    end = max(as_of, prules.programme_start)
    return [TimelinePoint(day, sum(a for d, a in dated if d <= day)) for day in quarter_ends(prules.programme_start,
                                                                                               end)]


def progress(conn: Connection, rules: PlanningRules, prules: ProgrammeRules, as_of: dt.date | None = None
             ) -> Progress:
    """The programme's progress on ``as_of`` (default today): citywide, per town, by year, by mode, time line."""
    as_of = as_of or dt.date.today()
    states = block_states(conn, rules, prules, as_of)
    towns = []
    for code, name in conn.execute(_TOWNS).all():
        scope = scope_progress([s for s in states if s.town_code == code], rules, prules)
        towns.append(TownProgress(**_fields(scope), town_code=code, town_name=name))
    return Progress(as_of=as_of, renovated_statuses=list(rules.target_statuses), area_basis=prules.area_basis,
                    city=scope_progress(states, rules, prules), towns=towns, by_year=by_year(states, prules, as_of),
                    by_mode=by_mode(states), timeline=timeline(states, prules, as_of),
                    programme_version=prules.programme_version, rule_version=rules.rule_version)


def _fields(obj: Any) -> dict[str, Any]:
    """The fields of a ScopeProgress as keyword arguments."""
    return {name: getattr(obj, name) for name in ScopeProgress.__dataclass_fields__}
