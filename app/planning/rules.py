"""The compliance rules: named, configurable checks of the planning figures, each explaining itself.

Parcel rules have an SQL twin (:data:`app.planning.sql.PARCEL_CHECKS`) that pages failing parcels of a
whole city in the database; block rules run here on the block figures the SQL computes. A result says
the rule and its source, the value, the threshold, the outcome, by how much it fails (the shortfall,
in m² or yuan) and the data it used, and carries the ``rule_version`` of the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from app.errors import InvalidParameter
from app.planning import formulas
from app.planning.config import PlanningRules
from app.planning.figures import BlockFigures, Figures, ParcelFigures

RATIO_TOLERANCE = 1e-9
"""Absolute slack on ratio comparisons, so that a FAR of exactly 2.0 computed in floating point passes."""

Outcome = Literal["pass", "fail", "exempt", "not_applicable", "no_data"]


@dataclass(slots=True)
class BuildingCodes:
    """The buildings behind a parcel's figures, by code."""

    used: list[str]
    doubled_for_height: list[str]
    illegal_left_out: list[str]


@dataclass(slots=True)
class RuleResult:
    """One rule applied to one parcel or block."""

    rule: Annotated[str, Field(description="Rule id, e.g. far_min.")]
    title: Annotated[str, Field(description="What the rule checks (中文 and English).")]
    level: Annotated[Literal["parcel", "block"], Field(description="What the rule applies to.")]
    source: Annotated[str, Field(description="Where the threshold comes from: the published document and clause, "
                                             "or 暂定值 (provisional) with the setting that changes it.")]
    outcome: Annotated[Outcome, Field(description="pass, fail, exempt, not_applicable or no_data.")]
    passed: Annotated[bool | None, Field(description="True on pass, false on fail, null otherwise.")]
    value: Annotated[float | None, Field(description="The figure checked, in `unit`.")]
    comparison: Annotated[Literal["≥", "≤", ">"], Field(description="Passes when value comparison threshold "
                                                                    "(> for old_block: at or below the line, "
                                                                    "以下, is an old block).")]
    threshold: Annotated[float | None, Field(description="The threshold applied, in `unit`.")]
    unit: Annotated[str, Field(description="Unit of value and threshold.")]
    shortfall: Annotated[float | None, Field(description="How much is missing (or in excess) to pass, in "
                                                         "`shortfall_unit`; 0 on pass.")]
    shortfall_unit: Annotated[str, Field(description="Unit of the shortfall.")]
    relative_gap: Annotated[float | None, Field(description="Distance from the threshold relative to it "
                                                            "(0.25 = 25 % off); lists sort by it.")]
    explanation: Annotated[str, Field(description="The result in words, with the numbers used.")]
    exemption_reason: Annotated[str | None, Field(description="Reason of an exemption that applied.")]
    rule_basis: Annotated[str, Field(description="Which threshold applied and why: for far_min programme (the "
                                                 "plan's floor, industrial land in a programme block), exemption "
                                                 "(the block's FAR exemption), national_industry (the national "
                                                 "minimum of the firms' industry, outside the programme), warehouse "
                                                 "(the warehouse floor) or none (no floor claimed: not_applicable); "
                                                 "for the other rules programme or national.")]
    buildings_used: Annotated[list[str] | None, Field(description="Buildings in the figures (codes).")]
    doubled_for_height: Annotated[list[str] | None, Field(description="Of those, counted ×2 for storeys "
                                                                      "above the height threshold.")]
    illegal_left_out: Annotated[list[str] | None, Field(description="Illegal buildings left out.")]
    rule_version: Annotated[str, Field(description="Version of the rule configuration.")]


@dataclass(frozen=True, slots=True)
class Check:
    """The raw result of a rule before it is dressed as a :class:`RuleResult`."""

    outcome: Outcome
    value: float | None
    threshold: float | None
    shortfall: float | None
    explanation: str
    exemption_reason: str | None = None
    basis: str | None = None
    """Which threshold applied (far_min: ``ParcelFigures.far_basis``); None: the rule's own (programme or national)."""


@dataclass(frozen=True)
class Rule:
    """A named rule: what it checks, its source, its units, and its evaluation."""

    id: str
    level: Literal["parcel", "block"]
    title: str
    source: str
    at_least: bool
    unit: str
    shortfall_unit: str
    uses_buildings: bool
    default_threshold: Callable[[PlanningRules], float]
    evaluate: Callable[[Figures, PlanningRules], Check]
    strict: bool = False
    """True when the threshold itself fails (old_block: "5万元以下" includes 5万, so passing needs more)."""

    @property
    def comparison(self) -> Literal["≥", "≤", ">"]:
        """``≥`` for floors, ``≤`` for caps, ``>`` for a floor the threshold itself fails."""
        if self.strict:
            return ">"
        return "≥" if self.at_least else "≤"


def _passes(value: float, threshold: float, at_least: bool) -> bool:
    """Whether ``value`` meets ``threshold`` (with :data:`RATIO_TOLERANCE`); the twin of the SQL test."""
    return value >= threshold - RATIO_TOLERANCE if at_least else value <= threshold + RATIO_TOLERANCE


def _pct(share: float) -> str:
    """A fraction as a percentage for explanations."""
    return f"{share * 100:.2f} %"


def _parcel(fig: Figures) -> ParcelFigures:
    """The figures as a parcel's (parcel rules get parcel figures)."""
    assert isinstance(fig, ParcelFigures)
    return fig


def _block(fig: Figures) -> BlockFigures:
    """The figures as a block's (block rules get block figures)."""
    assert isinstance(fig, BlockFigures)
    return fig


def far_basis_text(p: ParcelFigures, rules: PlanningRules) -> str:
    """Why the parcel's 容积率 floor is what it is (docs/rules.md §9.3), in words."""
    use = f"land use {p.land_use!r} ({p.land_use_class})" if p.land_use_class != "unrecorded" \
        else "land use not recorded (read as industrial, assumed)"
    codes = ", ".join(p.industry_codes) or "none"
    if p.far_basis in ("programme", "exemption"):
        return f"basis {p.far_basis}: {use} in programme block {p.block_code}"
    if p.far_basis == "national_industry":
        return (f"basis national_industry: {use} outside the programme's blocks, firms' industry codes {codes} → "
                f"national minimum {p.far_floor:g} ({_CONTROLS} 表2, lowest of the firms' divisions)")
    if p.far_basis == "warehouse":
        return f"basis warehouse: {use}, floor RENEWAL_RULE_WAREHOUSE_FAR_MIN = {p.far_floor:g}"
    if p.land_use_class == "warehouse":
        return f"basis none: {use}, no warehouse floor configured (RENEWAL_RULE_WAREHOUSE_FAR_MIN): reported only"
    if p.land_use_class in ("industrial", "unrecorded"):
        return (f"basis none: {use} outside the programme's blocks and no firm with an industry code in the "
                f"national table (codes: {codes}): no floor claimed")
    return f"basis none: {use} is neither industrial nor warehouse land: no floor claimed"


def _far_min(fig: Figures, rules: PlanningRules) -> Check:
    """容积率 ≥ the floor that applies (``far_basis``: 2.0 [plan] in programme blocks or the block's exemption, the
    national minimum by industry outside them, the warehouse floor, or none); shortfall = counted m² still needed."""
    p = _parcel(fig)
    why = far_basis_text(p, rules)
    if p.far_basis == "exemption" and p.far_floor is None:
        return Check("exempt", p.far, None, None, f"容积率 {p.far or 0:.2f}: the block is exempt from the rule "
                     f"({p.far_exemption_reason}); {why}", p.far_exemption_reason, p.far_basis)
    if p.far_basis == "none" or p.far_floor is None:
        value = "undefined (no land area)" if p.far is None else f"{p.far:.2f}"
        return Check("not_applicable", p.far, None, None, f"容积率 {value}: no floor applies; {why}",
                     basis="none")
    threshold = p.far_floor
    if p.far is None:
        return Check("no_data", None, threshold, None, f"no land area: 容积率 undefined; {why}", basis=p.far_basis)
    shortfall = formulas.far_shortfall_m2(threshold, p.far_floor_area_m2, p.land_area_m2)
    ok = _passes(p.far, threshold, True)
    text = (f"容积率 {p.far:.2f} {'≥' if ok else '<'} {threshold:.2f}: counted floor area (计容建筑面积) "
            f"{p.far_floor_area_m2:,.2f} m² on {p.land_area_m2:,.2f} m² of land ({p.land_area_mu:,.2f} 亩)")
    if not ok:
        text += f"; {shortfall:,.2f} m² more counted floor area needed"
    if p.far_basis == "exemption":
        text += f"; block exemption lowers the floor to {threshold:.2f} ({p.far_exemption_reason})"
    if p.far_basis != "programme":
        text += f"; {why}"
    return Check("pass" if ok else "fail", p.far, threshold, shortfall, text,
                 p.far_exemption_reason if p.far_basis == "exemption" else None, p.far_basis)


def _supporting_floor_max(fig: Figures, rules: PlanningRules) -> Check:
    """Supporting floor share ≤ min(30 %, 15 % + dormitory share) [national, plan]; shortfall = excess m²."""
    value = fig.supporting_floor_share
    dorm = fig.dormitory_floor_share or 0.0
    threshold = formulas.supporting_cap(rules.supporting_floor_max, rules.supporting_floor_national_max, dorm)
    if value is None:
        return Check("not_applicable", None, threshold, None, "no floor area: no supporting floor share")
    excess = max(fig.supporting_floor_area_m2 - threshold * fig.floor_area_m2, 0.0)
    ok = _passes(value, threshold, False)
    text = (f"supporting facilities (office, dormitory, canteen) {fig.supporting_floor_area_m2:,.2f} m² of "
            f"{fig.floor_area_m2:,.2f} m² floor area = {_pct(value)} {'≤' if ok else '>'} cap {_pct(threshold)} "
            f"(national {_pct(rules.supporting_floor_national_max)} + dormitories {_pct(dorm)}, at most "
            f"{_pct(rules.supporting_floor_max)})")
    if not ok:
        text += f"; {excess:,.2f} m² of supporting floor area above the cap"
    return Check("pass" if ok else "fail", value, threshold, excess, text)


def _supporting_land_max(fig: Figures, rules: PlanningRules) -> Check:
    """Supporting land share ≤ min(15 %, 7 % + dormitories' land share) [national, plan]; shortfall = excess m²."""
    value = fig.supporting_land_share
    dorm = fig.dormitory_land_share or 0.0
    threshold = formulas.supporting_cap(rules.supporting_land_max, rules.supporting_land_national_max, dorm)
    if value is None or fig.supporting_land_m2 is None:
        return Check("no_data", None, threshold, None,
                     "no supporting land recorded (supp_m2) and no floor area to apportion it by")
    excess = max(fig.supporting_land_m2 - threshold * fig.supporting_land_basis_m2, 0.0)
    ok = _passes(value, threshold, False)
    how = "apportioned by floor share" if isinstance(fig, ParcelFigures) and fig.supporting_land_apportioned \
        else "recorded"
    text = (f"supporting land {fig.supporting_land_m2:,.2f} m² ({how}) of {fig.supporting_land_basis_m2:,.2f} m² "
            f"= {_pct(value)} {'≤' if ok else '>'} cap {_pct(threshold)} (national "
            f"{_pct(rules.supporting_land_national_max)} + dormitories {_pct(dorm)}, at most "
            f"{_pct(rules.supporting_land_max)})")
    if not ok:
        text += f"; {excess:,.2f} m² of supporting land above the cap"
    return Check("pass" if ok else "fail", value, threshold, excess, text)


def _building_coefficient_min(fig: Figures, rules: PlanningRules) -> Check:
    """建筑系数 ≥ 30 % [national]; shortfall = footprint m² still needed."""
    threshold = rules.building_coefficient_min
    value = fig.building_coefficient
    if value is None:
        return Check("no_data", None, threshold, None, "no land area: 建筑系数 undefined")
    shortfall = max(threshold * fig.land_area_m2 - fig.footprint_m2, 0.0)
    ok = _passes(value, threshold, True)
    text = (f"建筑系数 {_pct(value)} {'≥' if ok else '<'} {_pct(threshold)}: footprints {fig.footprint_m2:,.2f} m² "
            f"on {fig.land_area_m2:,.2f} m² (no structure or storage-yard data: equals the building density)")
    if not ok:
        text += f"; {shortfall:,.2f} m² more footprint needed"
    return Check("pass" if ok else "fail", value, threshold, shortfall, text)


def _green_ratio_max(fig: Figures, rules: PlanningRules) -> Check:
    """绿地率 ≤ 20 % [national] 国土资发〔2008〕24号 附件1 (provisional until confirmed); shortfall = green m² over."""
    threshold = rules.green_ratio_max
    value = fig.green_ratio
    if value is None or fig.green_m2 is None:
        return Check("no_data", None, threshold, None, "no green area recorded (green_m2)")
    excess = max(fig.green_m2 - threshold * fig.green_basis_m2, 0.0)
    ok = _passes(value, threshold, False)
    text = (f"绿地率 {_pct(value)} {'≤' if ok else '>'} {_pct(threshold)}: green {fig.green_m2:,.2f} m² "
            f"on {fig.green_basis_m2:,.2f} m²")
    if not ok:
        text += f"; {excess:,.2f} m² of green area above the cap"
    return Check("pass" if ok else "fail", value, threshold, excess, text)


def _tax_gap_yuan(fig: Figures, threshold_wan: float) -> float:
    """Yearly tax (yuan) still needed to reach ``threshold_wan`` 万元/亩 on the land that reports tax."""
    return max(threshold_wan * formulas.YUAN_PER_WAN * formulas.mu_from_m2(fig.tax_basis_m2) - (fig.tax_yuan or 0.0),
               0.0)


def _old_block(fig: Figures, rules: PlanningRules) -> Check:
    """Old-block criterion [plan]: 亩均税收 5万元/亩以下 (5万 included) with enough hazard flags; failing = meets it."""
    b = _block(fig)
    threshold = rules.old_block_tax_per_mu_wan
    value = b.tax_per_mu_wan
    flags = b.hazard_flags
    if value is None:
        return Check("no_data", None, threshold, None, "no parcel of the block reports tax: 亩均税收 unknown")
    low = formulas.at_or_below(value, threshold, RATIO_TOLERANCE)
    named = ", ".join(flags) or "none"
    if formulas.is_old_block(value, len(flags), threshold, rules.old_block_min_flags, RATIO_TOLERANCE):
        gap = _tax_gap_yuan(b, threshold)
        return Check("fail", value, threshold, gap,
                     f"亩均税收 {value:,.2f} 万元/亩 ≤ {threshold:g} 万元/亩 (以下: the line itself included) with "
                     f"hazard flags {named}: meets the old-block criterion (老旧工业区块); {gap:,.0f} 元/年 more tax "
                     f"brings it to {threshold:g} 万元/亩, and any more above it")
    if low:
        return Check("pass", value, threshold, 0.0,
                     f"亩均税收 {value:,.2f} 万元/亩 ≤ {threshold:g} 万元/亩 but hazard flags {named}: fewer than "
                     f"the {rules.old_block_min_flags} needed, so not an old block")
    return Check("pass", value, threshold, 0.0,
                 f"亩均税收 {value:,.2f} 万元/亩 > {threshold:g} 万元/亩: not an old block by tax (flags: {named})")


def _target_tax(fig: Figures, rules: PlanningRules) -> Check:
    """2026 target [plan]: renovated blocks reach 亩均税收 ≥ 15万元/亩; shortfall = yearly tax still needed."""
    b = _block(fig)
    threshold = rules.target_tax_per_mu_wan
    value = b.tax_per_mu_wan
    if b.status not in rules.target_statuses:
        return Check("not_applicable", value, threshold, None,
                     f"status {b.status}: the target applies to blocks in {', '.join(rules.target_statuses)}")
    if value is None:
        return Check("no_data", None, threshold, None, "no parcel of the block reports tax: 亩均税收 unknown")
    ok = _passes(value, threshold, True)
    gap = _tax_gap_yuan(b, threshold)
    text = f"亩均税收 {value:,.2f} 万元/亩 {'≥' if ok else '<'} target {threshold:g} 万元/亩"
    if not ok:
        text += f"; {gap:,.0f} 元/年 more tax needed"
    return Check("pass" if ok else "fail", value, threshold, gap, text)


_PLAN = "慈溪市老旧工业区块改造提升攻坚行动计划（2022-2026）"
_CONTROLS = "《工业项目建设用地控制指标》(国土资发〔2008〕24号)"
_RENTAL = "国办发〔2021〕22号"
RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("far_min", "parcel", "容积率下限 plot-ratio floor",
             f"[plan] {_PLAN}: 容积率原则上不低于2.0 for industrial land in the programme's blocks, with per-block "
             f"exemptions; outside them the national minimum by industry [national] {_CONTROLS} 表2 (rule_basis "
             f"national_industry), on warehouse land RENEWAL_RULE_WAREHOUSE_FAR_MIN (default none); counted floor "
             f"area doubles storeys above 8 m [national] {_CONTROLS} 附件1 控制指标应用说明 "
             "(层高超过8米的该层建筑面积加倍计算)",
             True, "ratio", "m² counted floor area", True, lambda r: r.far_min, _far_min),
        Rule("supporting_floor_max", "parcel", "配套设施建筑面积占比上限 supporting-facility floor share cap",
             "[national] 15 % of floor area (clause to be confirmed; RENEWAL_RULE_SUPPORTING_FLOOR_NATIONAL_MAX); "
             f"[plan] Cixi 30 %, the part above 15 % only for 宿舍型保障性租赁住房 ({_RENTAL})",
             False, "fraction", "m² supporting floor area", True, lambda r: r.supporting_floor_max,
             _supporting_floor_max),
        Rule("supporting_land_max", "parcel", "配套设施用地占比上限 supporting-facility land share cap",
             f"[national] 7 % of land ({_CONTROLS} 第四条(四)), raised to 15 % for 宿舍型保障性租赁住房 "
             f"({_RENTAL}); [plan] Cixi 15 %, the part above 7 % only for 宿舍型保障性租赁住房; "
             f"unrecorded land apportioned by floor share [national] ({_CONTROLS} 附件1)",
             False, "fraction", "m² supporting land", True, lambda r: r.supporting_land_max, _supporting_land_max),
        Rule("building_coefficient_min", "parcel", "建筑系数下限 building-coefficient floor",
             f"[national] {_CONTROLS} 第四条(三): 建筑系数 ≥ 30 %; no structure or yard data, so it equals the "
             "building density",
             True, "fraction", "m² footprint", True, lambda r: r.building_coefficient_min,
             _building_coefficient_min),
        Rule("green_ratio_max", "parcel", "绿地率上限 green-ratio cap",
             f"[national] {_CONTROLS} 附件1: 工业项目绿地率 ≤ 20 %, as reproduced in secondary sources; 暂定值 "
             "(provisional, set by RENEWAL_RULE_GREEN_RATIO_MAX) until confirmed against the original",
             False, "fraction", "m² green area", False, lambda r: r.green_ratio_max, _green_ratio_max),
        Rule("old_block", "block", "老旧工业区块认定 old-block criterion (fails = is an old block)",
             f"[plan] {_PLAN} 实施范围: 亩均税收5万元以下 (以下 includes 5万: 《民法典》第一千二百五十九条) with fire "
             "hazards, illegal buildings, low-level industry or a dirty environment; hazard flags needed: 暂定值 "
             "(provisional, set by RENEWAL_RULE_OLD_BLOCK_MIN_FLAGS)",
             True, "万元/亩", "元/年 tax", False, lambda r: r.old_block_tax_per_mu_wan, _old_block, strict=True),
        Rule("target_tax_per_mu", "block", "改造区块亩均税收目标 2026 tax-per-亩 target of renovated blocks",
             f"[plan] {_PLAN} 2026 targets: 亩均税收 ≥ 15万元/亩 in renovated blocks; statuses counted as "
             "renovated: 暂定值 (provisional, set by RENEWAL_RULE_TARGET_STATUSES)",
             True, "万元/亩", "元/年 tax", False, lambda r: r.target_tax_per_mu_wan, _target_tax),
    )
}
PARCEL_RULES = tuple(r.id for r in RULES.values() if r.level == "parcel")
BLOCK_RULES = tuple(r.id for r in RULES.values() if r.level == "block")


def get_rule(rule_id: str) -> Rule:
    """The rule called ``rule_id``, or an error naming the known rules."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise InvalidParameter(f"unknown rule {rule_id!r}; rules: {', '.join(RULES)}",
                               zh=f"未知的规则 {rule_id!r}；可选：{'、'.join(RULES)}", field="rule") from None


def relative_gap(value: float | None, threshold: float | None, at_least: bool) -> float | None:
    """(threshold − value) ÷ threshold for floors, (value − threshold) ÷ threshold for caps; the SQL ``gap``."""
    if value is None or not threshold:
        return None
    return (threshold - value) / threshold if at_least else (value - threshold) / threshold


def apply(rule: Rule, fig: Figures, rules: PlanningRules, codes: BuildingCodes | None = None) -> RuleResult:
    """Evaluate ``rule`` on ``fig``; ``codes`` lists the buildings behind a parcel's figures."""
    check = rule.evaluate(fig, rules)
    shortfall = 0.0 if check.outcome == "pass" else check.shortfall
    with_codes = codes if rule.uses_buildings else None
    return RuleResult(
        rule=rule.id, title=rule.title, level=rule.level, source=rule.source, outcome=check.outcome,
        passed={"pass": True, "fail": False}.get(check.outcome), value=check.value, comparison=rule.comparison,
        threshold=check.threshold, unit=rule.unit, shortfall=shortfall, shortfall_unit=rule.shortfall_unit,
        relative_gap=relative_gap(check.value, check.threshold, rule.at_least) if check.outcome == "fail" else None,
        explanation=check.explanation + (_buildings_note(with_codes, rules) if with_codes else ""),
        exemption_reason=check.exemption_reason,
        rule_basis=check.basis or ("national" if rule.source.startswith("[national") else "programme"),
        buildings_used=with_codes.used if with_codes else None,
        doubled_for_height=with_codes.doubled_for_height if with_codes else None,
        illegal_left_out=with_codes.illegal_left_out if with_codes else None,
        rule_version=rules.rule_version,
    )


def _buildings_note(codes: BuildingCodes, rules: PlanningRules) -> str:
    """The buildings a parcel result used, in words."""
    note = f". Buildings used: {len(codes.used)}"
    if codes.doubled_for_height:
        note += (f", of which {len(codes.doubled_for_height)} counted ×{rules.height_multiplier:g} for storeys "
                 f"above {rules.height_threshold_m:g} m ({', '.join(codes.doubled_for_height)})")
    if codes.illegal_left_out:
        note += f"; illegal buildings left out: {len(codes.illegal_left_out)} ({', '.join(codes.illegal_left_out)})"
    return note


def evaluate(fig: Figures, rules: PlanningRules, rule_ids: Sequence[str],
             codes: BuildingCodes | None = None) -> list[RuleResult]:
    """Apply several rules to the same figures."""
    return [apply(RULES[r], fig, rules, codes) for r in rule_ids]
