"""A block's plan and its before/after figures: FAR, density, 亩均税收 at a stated tax assumption, incentive cost.

The plan gives the planned counted floor area (计容建筑面积) either **per parcel** (parcels not named keep
their current figures) or **for the whole block** after demolition and rebuilding, and optionally the
planned footprint (for the density). Tax after renovation follows a stated assumption: a 亩均税收 (万元/亩)
given with the plan, or else the block's current tax per m² of counted floor area carried over to the
planned floor area (said so in the result). The incentive cost is the calculator's town reward (area ×
difficulty band) plus the relocation reward. Saving a plan records the mode, industry and plan year on
the block (through the lifecycle, so the version moves and the history says who), and stores the
figures as computed then.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection, text

from app.errors import InvalidParameter, NotFound
from app.planning import formulas
from app.planning.config import PlanningRules
from app.planning.figures import ParcelFigures
from app.planning.metrics import parcel_figures
from app.programme import incentives, lifecycle
from app.programme.config import ProgrammeRules
from app.programme.incentives import IncentiveSummary


@dataclass(slots=True)
class PlanInput:
    """What a plan states (areas in m², tax in 万元/亩); None = not planned."""

    mode: str | None = None
    industry: str | None = None
    plan_year: int | None = None
    planned_floor_area_m2: float | None = None
    planned_footprint_m2: float | None = None
    parcel_floor_areas: dict[str, float] = field(default_factory=dict)
    tax_assumption_wan_per_mu: float | None = None
    difficulty_band: int | None = None
    relocated_floor_area_m2: float | None = None


@dataclass(frozen=True, slots=True)
class ParcelNow:
    """A parcel's current figures as the before/after takes them (m², yuan)."""

    code: str
    land_area_m2: float
    far_floor_area_m2: float
    footprint_m2: float
    tax_yuan: float | None


@dataclass(slots=True)
class Side:
    """The block's figures on one side (before or after)."""

    land_area_m2: Annotated[float, Field(description="Land of the block's parcels, m².")]
    land_area_mu: Annotated[float, Field(description="Same, 亩.")]
    far_floor_area_m2: Annotated[float, Field(description="计容建筑面积, m².")]
    far: Annotated[float | None, Field(description="容积率 = Σ counted floor area ÷ Σ land.")]
    footprint_m2: Annotated[float | None, Field(description="Σ footprints, m² (after: null when not planned).")]
    building_density: Annotated[float | None, Field(description="建筑密度 (fraction).")]
    tax_yuan: Annotated[float | None, Field(description="Yearly tax, yuan (after: at the stated assumption).")]
    tax_per_mu_wan: Annotated[float | None, Field(description="亩均税收, 万元/亩.")]


@dataclass(slots=True)
class ParcelPlanRow:
    """A parcel's counted floor area and FAR before and after (per-parcel plans)."""

    code: Annotated[str, Field(description="宗地编号.")]
    land_area_m2: Annotated[float, Field(description="Land, m².")]
    far_floor_area_m2_before: Annotated[float, Field(description="Counted floor area now, m².")]
    far_floor_area_m2_after: Annotated[float, Field(description="Planned counted floor area, m².")]
    far_before: Annotated[float | None, Field(description="FAR now.")]
    far_after: Annotated[float | None, Field(description="Planned FAR.")]


@dataclass(slots=True)
class BeforeAfter:
    """A block's current figures beside the planned ones, with the assumptions and the incentive cost."""

    block_code: Annotated[str, Field(description="区块编号.")]
    basis: Annotated[str, Field(description="block (whole block after rebuilding) or parcels (per parcel).")]
    before: Annotated[Side, Field(description="Now.")]
    after: Annotated[Side, Field(description="As planned.")]
    parcels: Annotated[list[ParcelPlanRow], Field(description="Per parcel (per-parcel plans only).")]
    far_min: Annotated[float, Field(description="容积率 floor of the programme (2.0 by default).")]
    far_after_meets_floor: Annotated[bool | None, Field(description="Planned FAR ≥ the floor.")]
    tax_assumption: Annotated[str, Field(description="How the tax after is estimated, in words.")]
    incentives: Annotated[IncentiveSummary, Field(description="Incentive cost of the plan.")]
    rule_version: Annotated[str, Field(description="Version of the planning-rule configuration.")]
    programme_version: Annotated[str, Field(description="Version of the programme configuration.")]


def _side(land: float, counted: float, footprint: float | None, tax: float | None) -> Side:
    """A side's ratios from its sums (Σ ÷ Σ)."""
    mu = formulas.mu_from_m2(land)
    return Side(land, mu, counted, formulas.far(counted, land), footprint,
                None if footprint is None else formulas.building_density(footprint, land), tax,
                None if tax is None or not mu else tax / mu / formulas.YUAN_PER_WAN)


def before_after(code: str, parcels: Sequence[ParcelNow], plan: PlanInput, area_mu: float, rules: PlanningRules,
                 prules: ProgrammeRules) -> BeforeAfter:
    """Before/after of a block (pure): the plan applied to its parcels' current figures."""
    known = {p.code for p in parcels}
    unknown = sorted(set(plan.parcel_floor_areas) - known)
    if unknown:
        raise InvalidParameter(f"parcels not in block {code}: {', '.join(unknown)}",
                               zh=f"不在区块 {code} 内的宗地：{'、'.join(unknown)}", field="parcel_floor_areas")
    if plan.planned_floor_area_m2 is not None and plan.parcel_floor_areas:
        raise InvalidParameter("give the planned floor area for the whole block or per parcel, not both",
                               zh="规划建筑面积请按整个区块或按宗地给出，不能两者都给",
                               field="planned_floor_area_m2")
    land = sum(p.land_area_m2 for p in parcels)
    counted = sum(p.far_floor_area_m2 for p in parcels)
    taxed = [p for p in parcels if p.tax_yuan is not None]
    tax_now = sum(p.tax_yuan or 0.0 for p in taxed) if taxed else None
    before = _side(land, counted, sum(p.footprint_m2 for p in parcels), tax_now)

    rows: list[ParcelPlanRow] = []
    if plan.planned_floor_area_m2 is not None:
        basis, counted_after = "block", plan.planned_floor_area_m2
    else:
        basis = "parcels"
        for p in parcels:
            after = plan.parcel_floor_areas.get(p.code, p.far_floor_area_m2)
            rows.append(ParcelPlanRow(p.code, p.land_area_m2, p.far_floor_area_m2, after,
                                      formulas.far(p.far_floor_area_m2, p.land_area_m2),
                                      formulas.far(after, p.land_area_m2)))
        counted_after = sum(r.far_floor_area_m2_after for r in rows)

    mu = formulas.mu_from_m2(land)
    if plan.tax_assumption_wan_per_mu is not None:
        tax_after: float | None = plan.tax_assumption_wan_per_mu * formulas.YUAN_PER_WAN * mu
        assumption = f"stated: 亩均税收 {plan.tax_assumption_wan_per_mu:g} 万元/亩 after renovation"
    else:
        taxed_counted = sum(p.far_floor_area_m2 for p in taxed)
        if tax_now is None or not taxed_counted:
            tax_after = None
            assumption = "none stated, and no current tax per m² of counted floor area to carry over"
        else:
            per_m2 = tax_now / taxed_counted
            tax_after = per_m2 * counted_after
            assumption = (f"none stated: the current {per_m2:,.2f} 元 of yearly tax per m² of counted floor area "
                          f"(Σ tax ÷ Σ counted floor area of the parcels reporting tax) carried over to the planned "
                          "floor area")
    after_side = _side(land, counted_after, plan.planned_footprint_m2, tax_after)
    cost = incentives.calculate(prules, area_mu=area_mu, difficulty_band=plan.difficulty_band,
                                relocated_floor_area_m2=plan.relocated_floor_area_m2, block_code=code)
    meets = None if after_side.far is None else after_side.far >= rules.far_min - 1e-9
    return BeforeAfter(code, basis, before, after_side, rows, rules.far_min, meets, assumption, cost,
                       rules.rule_version, prules.programme_version)


def _parcels_now(conn: Connection, code: str, rules: PlanningRules) -> list[ParcelNow]:
    """The block's parcels with their current figures (the planning engine's SQL)."""
    figs: list[ParcelFigures] = parcel_figures(conn, rules, "block", code)
    return [ParcelNow(f.parcel_code, f.land_area_m2, f.far_floor_area_m2, f.footprint_m2, f.tax_yuan)
            for f in sorted(figs, key=lambda f: f.parcel_code)]


def _area_mu(record: lifecycle.BlockRecord, parcels: Sequence[ParcelNow], prules: ProgrammeRules) -> float:
    """The block's area for the town reward: its outline or its parcels' land (``area_basis``)."""
    if prules.area_basis == "parcels":
        return formulas.mu_from_m2(sum(p.land_area_m2 for p in parcels))
    return record.block_area_mu


def incentive_area_mu(conn: Connection, record: lifecycle.BlockRecord, rules: PlanningRules,
                      prules: ProgrammeRules) -> float:
    """The block's area (亩) the incentives are computed on: outline or parcels' land, as the progress counts it."""
    parcels = _parcels_now(conn, record.code, rules) if prules.area_basis == "parcels" else []
    return _area_mu(record, parcels, prules)


def preview(conn: Connection, code: str, plan: PlanInput, rules: PlanningRules,
            prules: ProgrammeRules) -> BeforeAfter:
    """Before/after of a plan for a block, without saving; ``NotFound`` for an unknown block."""
    record = lifecycle.get_block(conn, code)
    parcels = _parcels_now(conn, code, rules)
    return before_after(code, parcels, plan, _area_mu(record, parcels, prules), rules, prules)


@dataclass(slots=True)
class SavedPlan:
    """A saved plan with its inputs and its figures as computed when saved."""

    id: Annotated[int, Field(description="Plan id.")]
    block_code: Annotated[str, Field(description="区块编号.")]
    created_at: Annotated[dt.datetime, Field(description="When it was saved.")]
    actor: Annotated[str, Field(description="Who saved it.")]
    remark: Annotated[str | None, Field(description="备注.")]
    inputs: Annotated[dict[str, Any], Field(description="The plan as stated (mode, industry, floor areas...).")]
    figures: Annotated[dict[str, Any], Field(description="Before/after as computed when saved.")]
    rules_version: Annotated[str, Field(description="Rule and programme versions when saved.")]


_INSERT = text("""
INSERT INTO block_plans (block_id, actor, remark, mode, industry, plan_year, planned_floor_area_m2,
                         planned_footprint_m2, parcel_floor_areas, tax_assumption_wan_per_mu, difficulty_band,
                         relocated_floor_area_m2, figures, rules_version)
VALUES (:block_id, :actor, :remark, :mode, :industry, :plan_year, :planned_floor_area_m2, :planned_footprint_m2,
        CAST(:parcel_floor_areas AS jsonb), :tax_assumption_wan_per_mu, :difficulty_band, :relocated_floor_area_m2,
        CAST(:figures AS jsonb), :rules_version)
RETURNING id
""")
_LATEST = text("""
SELECT p.id, b.code AS block_code, p.created_at, p.actor, p.remark, p.mode, p.industry, p.plan_year::int AS plan_year,
       p.planned_floor_area_m2::float8 AS planned_floor_area_m2, p.planned_footprint_m2::float8 AS planned_footprint_m2,
       p.parcel_floor_areas, p.tax_assumption_wan_per_mu::float8 AS tax_assumption_wan_per_mu,
       p.difficulty_band::int AS difficulty_band, p.relocated_floor_area_m2::float8 AS relocated_floor_area_m2,
       p.figures, p.rules_version
FROM block_plans p JOIN blocks b ON b.id = p.block_id
WHERE b.code = :code
ORDER BY p.id DESC
LIMIT 1
""")
_INPUT_FIELDS = ("mode", "industry", "plan_year", "planned_floor_area_m2", "planned_footprint_m2",
                 "parcel_floor_areas", "tax_assumption_wan_per_mu", "difficulty_band", "relocated_floor_area_m2")


def _jsonable(value: Any) -> Any:
    """Dataclasses and dates as JSON-ready values."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, dt.date | dt.datetime)
                                 else str(v)))


def latest(conn: Connection, code: str) -> SavedPlan | None:
    """The block's latest saved plan, or None; ``NotFound`` for an unknown block."""
    lifecycle.get_block(conn, code)
    row = conn.execute(_LATEST, {"code": code}).mappings().first()
    if row is None:
        return None
    return SavedPlan(row["id"], row["block_code"], row["created_at"], row["actor"], row["remark"],
                     {k: row[k] for k in _INPUT_FIELDS}, row["figures"], row["rules_version"])


def save(conn: Connection, code: str, plan: PlanInput, *, expected_version: int | None, actor: str,
         remark: str | None = None, is_admin: bool = False, today: dt.date | None = None, rules: PlanningRules,
         prules: ProgrammeRules) -> SavedPlan:
    """Save a plan with its before/after (in a transaction): mode, industry and plan year go onto the block.

    Refused like any block change (412 stale, 409 accepted); the history records the new plan's id.
    """
    if plan.difficulty_band is not None and not 1 <= plan.difficulty_band <= prules.difficulty_bands:
        raise InvalidParameter(f"difficulty band must be 1 to {prules.difficulty_bands}",
                               zh=f"难度等级应为 1 到 {prules.difficulty_bands}", field="difficulty_band")
    lifecycle.validate_attributes({k: getattr(plan, k) for k in ("mode", "plan_year")})
    block_id, _ = lifecycle.lock_block(conn, code, expected_version)
    figures = preview(conn, code, plan, rules, prules)
    previous = latest(conn, code)
    plan_id = conn.execute(_INSERT, {
        "block_id": block_id, "actor": actor.strip() if actor else actor, "remark": remark,
        **{k: getattr(plan, k) for k in _INPUT_FIELDS if k != "parcel_floor_areas"},
        "parcel_floor_areas": json.dumps(plan.parcel_floor_areas),
        "figures": json.dumps(_jsonable(asdict(figures)), ensure_ascii=False),
        "rules_version": f"{rules.rule_version} {prules.programme_version}"}).scalar_one()
    attributes: Mapping[str, Any] = {k: getattr(plan, k) for k in ("mode", "industry", "plan_year")
                                     if getattr(plan, k) is not None}
    lifecycle.change_block(conn, code, lifecycle.BlockChange(attributes=dict(attributes), remark=remark),
                           expected_version=None, actor=actor, is_admin=is_admin, today=today,
                           extra_changes={"plan": [previous.id if previous else None, plan_id]})
    saved = latest(conn, code)
    if saved is None:  # pragma: no cover - just inserted
        raise NotFound(f"plan of block {code!r} not found after saving",
                       zh=f"保存后找不到区块 {code!r} 的方案")
    return saved


def card_summary(plan: SavedPlan | None) -> dict[str, Any] | None:
    """What the block card shows of a saved plan: FAR, density and 亩均税收 before → after, incentive cost."""
    if plan is None:
        return None
    f = plan.figures
    return {"plan_id": plan.id, "saved_at": plan.created_at, "basis": f.get("basis"),
            "far_before": f["before"]["far"], "far_after": f["after"]["far"],
            "density_before": f["before"]["building_density"], "density_after": f["after"]["building_density"],
            "tax_per_mu_wan_before": f["before"]["tax_per_mu_wan"],
            "tax_per_mu_wan_after": f["after"]["tax_per_mu_wan"],
            "tax_assumption": f.get("tax_assumption"), "incentive_cost_wan": f["incentives"]["total_wan"]}
