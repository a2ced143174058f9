"""Entry thresholds of a proposed project (准入门槛): a project on a parcel checked against configurable thresholds.

A proposed project (investment, planned floor area and storeys, footprint, green area, supporting-facility land and
floor areas, expected yearly tax and output, industry code) on the land of a parcel is checked against:

- ``invest_intensity_min`` 投资强度: investment ÷ 亩 ≥ ``ENTRY_INVEST_PER_MU_WAN_MIN`` 万元/亩 (none published: not
  checked);
- ``far_min`` 容积率: counted floor area ÷ land ≥ ``FAR_MIN`` (2.0), or the block's FAR exemption;
- ``building_coefficient_min`` 建筑系数: (footprint + structures + yards) ÷ land ≥ ``BUILDING_COEFFICIENT_MIN`` (30 %);
- ``green_ratio_max`` 绿地率: green ÷ land ≤ ``GREEN_RATIO_MAX`` (20 %);
- ``supporting_land_max`` 配套设施用地占比: supporting land ÷ land ≤ min(15 %, 7 % + the dormitories' land share);
- ``supporting_floor_max`` 配套设施建筑面积占比: supporting floor ÷ floor area ≤ min(30 %, 15 % + the dormitories'
  share);
- ``tax_per_mu_min`` 亩均税收 (expected): tax ÷ 亩 ≥ ``ENTRY_TAX_PER_MU_WAN_MIN`` 万元/亩 (none published: not checked);
- ``negative_list`` 产业负面清单: the industry code is on no entry of ``ENTRY_NEGATIVE_LIST`` (GB/T 4754-2017).

The settings are ``RENEWAL_RULE_*`` (:class:`app.planning.config.PlanningRules`). Each result gives the value,
the threshold, ``pass``, ``fail`` or ``not_checked`` (no published value, the rule lifted by the block's exemption,
an empty list, no industry code), the shortfall in its unit and the source of the threshold. The counted floor
area (计容建筑面积) counts storeys above the height threshold (8 m) twice when the storey heights are given
(国土资发〔2008〕24号), each storey taking an equal share of the floor area.

:func:`check_entry` is pure (what-if use, tests); :func:`entry_site` reads the parcel's land and FAR floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import Connection, text

from app.db.schema import storage_srid
from app.errors import InvalidParameter, NotFound
from app.planning import far_basis, formulas
from app.planning.config import INDUSTRY_CODE, PlanningRules
from app.planning.rules import RATIO_TOLERANCE, RULES

Outcome = Literal["pass", "fail", "not_checked"]

_CONTROLS = "《工业项目建设用地控制指标》(国土资发〔2008〕24号)"
NO_PUBLISHED_VALUE = "no published value"

# GB/T 4754-2017 sections (门类) by their divisions (大类): A 01–05 … T 97.
_SECTIONS = (("A", 1, 5), ("B", 6, 12), ("C", 13, 43), ("D", 44, 46), ("E", 47, 50), ("F", 51, 52), ("G", 53, 60),
             ("H", 61, 62), ("I", 63, 65), ("J", 66, 69), ("K", 70, 70), ("L", 71, 72), ("M", 73, 75),
             ("N", 76, 79), ("O", 80, 82), ("P", 83, 83), ("Q", 84, 85), ("R", 86, 90), ("S", 91, 96),
             ("T", 97, 97))


# ---------------------------------------------------------------- inputs
@dataclass(frozen=True, slots=True)
class ProjectInput:
    """A proposed project: areas in m², money in yuan (investment a stock, tax and output per year)."""

    invest_yuan: float
    floor_area_m2: float
    storeys: int
    footprint_m2: float
    tax_yuan: float
    output_yuan: float
    green_m2: float = 0.0
    supporting_land_m2: float = 0.0
    supporting_floor_area_m2: float = 0.0
    dormitory_land_m2: float = 0.0
    dormitory_floor_area_m2: float = 0.0
    structures_m2: float = 0.0
    yards_m2: float = 0.0
    storey_heights_m: tuple[float, ...] | None = None
    industry_code: str | None = None


@dataclass(frozen=True, slots=True)
class EntrySite:
    """The parcel a project is proposed on: its land and the 容积率 floor that applies there."""

    parcel_code: str
    block_code: str
    land_area_m2: float
    far_exemption: bool = False
    """True when the block has a FAR exemption (``far_exemption_min_far`` its floor, None: the rule lifted)."""
    far_exemption_min_far: float | None = None
    far_exemption_reason: str | None = None
    land_use: str | None = None
    """用地性质 as recorded: which minimum 容积率 applies (docs/rules.md §9.3)."""
    in_programme: bool = True
    """The parcel's block is one of the programme's: the plan's floor; outside, the national minimum by the
    project's industry."""


# ---------------------------------------------------------------- results
@dataclass(slots=True)
class EntryResult:
    """One threshold applied to the proposed project."""

    id: Annotated[str, Field(description="Threshold id, e.g. invest_intensity_min.")]
    name_zh: Annotated[str, Field(description="Name (中文), e.g. 投资强度.")]
    name_en: Annotated[str, Field(description="Name (English).")]
    outcome: Annotated[Outcome, Field(description="pass, fail, or not_checked (no published value, rule lifted, "
                                                  "no list, no industry code).")]
    passed: Annotated[bool | None, Field(description="True on pass, false on fail, null when not checked.")]
    value: Annotated[float | str | None, Field(description="The project's figure, in `unit` (the industry code "
                                                           "for the negative list).")]
    comparison: Annotated[Literal["≥", "≤", "∉"], Field(description="Passes when value comparison threshold.")]
    threshold: Annotated[float | list[str] | None, Field(description="The threshold applied, in `unit` (the "
                                                                     "listed codes for the negative list); null: "
                                                                     "none.")]
    unit: Annotated[str, Field(description="Unit of value and threshold.")]
    shortfall: Annotated[float | None, Field(description="How much is missing (or in excess) to pass, in "
                                                         "`shortfall_unit`; 0 on pass, null when not checked or "
                                                         "not a quantity.")]
    shortfall_unit: Annotated[str, Field(description="Unit of the shortfall.")]
    source: Annotated[str, Field(description="Where the threshold comes from: a published document and clause, "
                                             "or 暂定值 (provisional).")]
    provisional: Annotated[bool, Field(description="True when no Cixi value is published for this threshold.")]
    setting: Annotated[str, Field(description="The environment variable(s) that set the threshold.")]
    explanation: Annotated[str, Field(description="The result in words, with the numbers used.")]
    rule_basis: Annotated[str | None, Field(description="far_min: which minimum applied (programme, exemption, "
                                                        "national_industry by the project's industry code, "
                                                        "warehouse, none); null for the other thresholds.")] = None


@dataclass(slots=True)
class EntryFigures:
    """The proposed project's figures on the parcel (fractions 0–1; per-亩 figures in 万元/亩)."""

    land_area_m2: Annotated[float, Field(description="用地面积 of the parcel, m² (planar, storage CRS).")]
    land_area_mu: Annotated[float, Field(description="用地面积, 亩 (= m² × 15 / 10000).")]
    floor_area_m2: Annotated[float, Field(description="Planned 建筑面积, m².")]
    far_floor_area_m2: Annotated[float, Field(description="计容建筑面积, m²: storeys above the height threshold "
                                                          "counted twice when storey heights are given.")]
    far: Annotated[float | None, Field(description="容积率 = counted floor area ÷ land.")]
    building_coefficient: Annotated[float | None, Field(description="建筑系数 = (footprint + structures + yards) "
                                                                    "÷ land.")]
    green_ratio: Annotated[float | None, Field(description="绿地率 = green ÷ land.")]
    supporting_land_share: Annotated[float | None, Field(description="Supporting land ÷ land.")]
    dormitory_land_share: Annotated[float | None, Field(description="Dormitories' supporting land ÷ land.")]
    supporting_floor_share: Annotated[float | None, Field(description="Supporting floor area ÷ floor area.")]
    dormitory_floor_share: Annotated[float | None, Field(description="Dormitory floor area ÷ floor area.")]
    invest_per_mu_wan: Annotated[float | None, Field(description="投资强度, 万元/亩.")]
    tax_per_mu_wan: Annotated[float | None, Field(description="Expected 亩均税收, 万元/亩 per year.")]
    output_per_mu_wan: Annotated[float | None, Field(description="Expected 亩均产值, 万元/亩 per year.")]
    industry_code: Annotated[str | None, Field(description="The industry code as checked (GB/T 4754-2017).")]
    industry_section: Annotated[str | None, Field(description="Its section (门类), A–T.")]


@dataclass(slots=True)
class EntryCheck:
    """The entry check of a proposed project on a parcel: every threshold, and the overall outcome."""

    parcel_code: Annotated[str, Field(description="宗地编号.")]
    block_code: Annotated[str, Field(description="区块编号 of the parcel's block.")]
    outcome: Annotated[Literal["pass", "fail"], Field(description="fail when any threshold fails; pass otherwise "
                                                                  "(see not_checked for what was not checked).")]
    failed: Annotated[list[str], Field(description="Ids of the thresholds that fail.")]
    not_checked: Annotated[list[str], Field(description="Ids of the thresholds not checked.")]
    figures: Annotated[EntryFigures, Field(description="The project's figures on the parcel.")]
    thresholds: Annotated[list[EntryResult], Field(description="Every threshold, in order.")]
    rule_version: Annotated[str, Field(description="Version of the rule configuration.")]
    area_crs: Annotated[str | None, Field(description="CRS of the land area (EPSG:…).")] = None
    notes: Annotated[list[str], Field(description="Assumptions made in the figures.")] = field(default_factory=list)


# ---------------------------------------------------------------- industry codes (GB/T 4754-2017)
def section_of(division: int) -> str | None:
    """The section letter (门类) of a division (大类) number, or None when no section holds it."""
    return next((letter for letter, low, high in _SECTIONS if low <= division <= high), None)


def parse_industry_code(code: str, field_name: str = "industry_code") -> tuple[str, str]:
    """(section letter, digits) of a GB/T 4754-2017 code such as ``C2511``, ``2511``, ``C25`` or ``C``; digits are
    empty for a bare section. ``InvalidParameter`` naming ``field_name`` for a malformed code, an unknown division or
    a letter that is not the division's section."""
    norm = code.strip().upper()
    if not INDUSTRY_CODE.fullmatch(norm):
        raise InvalidParameter(f"{field_name} {code!r} is not a GB/T 4754-2017 industry code: a section letter A–T, "
                               "or 2–4 digits with an optional section letter (e.g. C2511, 2511, C25)",
                               zh=f"{field_name} {code!r} 不是 GB/T 4754-2017 行业代码：应为门类字母 A–T，或 2–4 位数"
                                  "字（可带门类字母，如 C2511、2511、C25）",
                               field=field_name)
    letter, digits = (norm[0], norm[1:]) if norm[0].isalpha() else ("", norm)
    if not digits:
        return letter, ""
    section = section_of(int(digits[:2]))
    if section is None:
        raise InvalidParameter(f"{field_name} {code!r}: division {digits[:2]} is not a division of GB/T 4754-2017",
                               zh=f"{field_name} {code!r}：{digits[:2]} 不是 GB/T 4754-2017 的大类",
                               field=field_name)
    if letter and letter != section:
        raise InvalidParameter(f"{field_name} {code!r}: division {digits[:2]} belongs to section {section}, not "
                               f"{letter}",
                               zh=f"{field_name} {code!r}：大类 {digits[:2]} 属于门类 {section}，而不是 {letter}",
                               field=field_name)
    return section, digits


def listed_entry(code: str, negative_list: tuple[str, ...]) -> str | None:
    """The first entry of ``negative_list`` that covers ``code`` (a section covers its divisions, a division its
    groups and classes), or None."""
    section, digits = parse_industry_code(code)
    for entry in negative_list:
        e_section, e_digits = parse_industry_code(entry, "entry_negative_list")
        if (not e_digits and e_section == section) or (e_digits and digits.startswith(e_digits)):
            return entry
    return None


# ---------------------------------------------------------------- checks
def validate(project: ProjectInput, site: EntrySite) -> None:
    """Inputs that cannot describe a project on this parcel: ``InvalidParameter`` naming the field."""
    land = site.land_area_m2
    if land <= 0:
        raise InvalidParameter(f"parcel {site.parcel_code} has no land area",
                               zh=f"宗地 {site.parcel_code} 没有用地面积", field="code")
    numbers = {"invest_yuan": project.invest_yuan, "floor_area_m2": project.floor_area_m2,
               "footprint_m2": project.footprint_m2, "tax_yuan": project.tax_yuan,
               "output_yuan": project.output_yuan, "green_m2": project.green_m2,
               "supporting_land_m2": project.supporting_land_m2,
               "supporting_floor_area_m2": project.supporting_floor_area_m2,
               "dormitory_land_m2": project.dormitory_land_m2,
               "dormitory_floor_area_m2": project.dormitory_floor_area_m2,
               "structures_m2": project.structures_m2, "yards_m2": project.yards_m2}
    for name, value in numbers.items():
        if not value >= 0 or value == float("inf"):
            raise InvalidParameter(f"{name} must be a finite number ≥ 0",
                                   zh=f"{name} 应为不小于 0 的有限数字", field=name)
    if project.floor_area_m2 <= 0:
        raise InvalidParameter("floor_area_m2 must be more than 0: a project builds some floor area",
                               zh="floor_area_m2（建筑面积）应大于 0：项目总要有建筑面积",
                               field="floor_area_m2")
    if not 1 <= project.storeys <= 100:
        raise InvalidParameter("storeys must be between 1 and 100",
                               zh="storeys（层数）应在 1 到 100 之间", field="storeys")
    slack = RATIO_TOLERANCE * land
    for name in ("footprint_m2", "green_m2", "supporting_land_m2"):
        if numbers[name] > land + slack:
            raise InvalidParameter(f"{name} {numbers[name]:,.2f} m² exceeds the land of parcel {site.parcel_code} "
                                   f"({land:,.2f} m²)",
                                   zh=f"{name} {numbers[name]:,.2f} m² 超过宗地 {site.parcel_code} 的用地面积（"
                                      f"{land:,.2f} m²）", field=name)
    covered = project.footprint_m2 + project.structures_m2 + project.yards_m2
    if covered > land + slack:
        raise InvalidParameter(f"footprint, structures and yards together ({covered:,.2f} m²) exceed the land of "
                               f"parcel {site.parcel_code} ({land:,.2f} m²)",
                               zh=f"建筑基底、构筑物和堆场合计（{covered:,.2f} m²）超过宗地 {site.parcel_code} 的用地"
                                  f"面积（{land:,.2f} m²）", field="yards_m2" if project.yards_m2
                               else "structures_m2" if project.structures_m2 else "footprint_m2")
    if project.supporting_floor_area_m2 > project.floor_area_m2 * (1 + RATIO_TOLERANCE):
        raise InvalidParameter(f"supporting_floor_area_m2 {project.supporting_floor_area_m2:,.2f} m² exceeds the "
                               f"floor area {project.floor_area_m2:,.2f} m²",
                               zh=f"配套建筑面积 supporting_floor_area_m2 {project.supporting_floor_area_m2:,.2f} m² "
                                  f"超过建筑面积 {project.floor_area_m2:,.2f} m²", field="supporting_floor_area_m2")
    if project.dormitory_floor_area_m2 > project.supporting_floor_area_m2 * (1 + RATIO_TOLERANCE):
        raise InvalidParameter("dormitory_floor_area_m2 is part of supporting_floor_area_m2 and cannot exceed it",
                               zh="宿舍建筑面积 dormitory_floor_area_m2 属于配套建筑面积 supporting_floor_area_m2，"
                                  "不能超过它",
                               field="dormitory_floor_area_m2")
    if project.dormitory_land_m2 > project.supporting_land_m2 * (1 + RATIO_TOLERANCE):
        raise InvalidParameter("dormitory_land_m2 is part of supporting_land_m2 and cannot exceed it",
                               zh="宿舍用地 dormitory_land_m2 属于配套用地 supporting_land_m2，不能超过它",
                               field="dormitory_land_m2")
    heights = project.storey_heights_m
    if heights is not None:
        if len(heights) != project.storeys:
            raise InvalidParameter(f"storey_heights_m gives {len(heights)} heights for {project.storeys} storeys",
                                   zh=f"storey_heights_m 给了 {len(heights)} 个层高，而层数为 {project.storeys}",
                                   field="storey_heights_m")
        if not all(0 < h <= 100 for h in heights):
            raise InvalidParameter("storey heights must be more than 0 and at most 100 m",
                                   zh="层高应大于 0 且不超过 100 m", field="storey_heights_m")
    if project.industry_code is not None:
        parse_industry_code(project.industry_code)


def counted_floor_area_m2(project: ProjectInput, rules: PlanningRules) -> float:
    """计容建筑面积 of the project: with storey heights, each storey takes an equal share of the floor area and a
    storey higher than the threshold counts × the multiplier (国土资发〔2008〕24号); without them, the floor area."""
    if project.storey_heights_m is None:
        return project.floor_area_m2
    return formulas.counted_storeys_m2(project.floor_area_m2, project.storeys, 0.0, rules.height_threshold_m,
                                       rules.height_multiplier, storey_heights_m=project.storey_heights_m)


def figures(project: ProjectInput, site: EntrySite, rules: PlanningRules) -> EntryFigures:
    """The project's figures on the parcel's land (after :func:`validate`)."""
    land = site.land_area_m2
    counted = counted_floor_area_m2(project, rules)

    def wan_per_mu(yuan: float) -> float | None:
        per = formulas.per_mu(yuan, land)
        return None if per is None else formulas.wan_from_yuan(per)

    section, digits = (None, "") if project.industry_code is None else parse_industry_code(project.industry_code)
    code = None if section is None else section + digits
    return EntryFigures(
        land_area_m2=land, land_area_mu=formulas.mu_from_m2(land), floor_area_m2=project.floor_area_m2,
        far_floor_area_m2=counted, far=formulas.far(counted, land),
        building_coefficient=formulas.building_coefficient(project.footprint_m2, land, project.structures_m2,
                                                           project.yards_m2),
        green_ratio=formulas.green_ratio(project.green_m2, land),
        supporting_land_share=formulas.supporting_land_share(project.supporting_land_m2, land),
        dormitory_land_share=formulas.ratio(project.dormitory_land_m2, land),
        supporting_floor_share=formulas.supporting_floor_share(project.supporting_floor_area_m2,
                                                               project.floor_area_m2),
        dormitory_floor_share=formulas.ratio(project.dormitory_floor_area_m2, project.floor_area_m2),
        invest_per_mu_wan=wan_per_mu(project.invest_yuan), tax_per_mu_wan=wan_per_mu(project.tax_yuan),
        output_per_mu_wan=wan_per_mu(project.output_yuan),
        industry_code=code, industry_section=section)


def _passes(value: float, threshold: float, at_least: bool) -> bool:
    """The rules' comparison, with the same floating-point slack."""
    return value >= threshold - RATIO_TOLERANCE if at_least else value <= threshold + RATIO_TOLERANCE


def _pct(share: float) -> str:
    return f"{share * 100:.2f} %"


def _result(id_: str, zh: str, en: str, *, value: float | str | None, comparison: Literal["≥", "≤", "∉"],
            threshold: float | list[str] | None, unit: str, shortfall: float | None, shortfall_unit: str,
            source: str, setting: str, explanation: str, ok: bool | None, provisional: bool = False,
            rule_basis: str | None = None) -> EntryResult:
    outcome: Outcome = "not_checked" if ok is None else "pass" if ok else "fail"
    return EntryResult(id=id_, name_zh=zh, name_en=en, outcome=outcome, passed=ok, value=value,
                       comparison=comparison, threshold=threshold, unit=unit,
                       shortfall=None if ok is None else 0.0 if ok else shortfall, shortfall_unit=shortfall_unit,
                       source=source, provisional=provisional or "暂定值" in source, setting=setting,
                       explanation=explanation, rule_basis=rule_basis)


def _per_mu_floor(id_: str, zh: str, en: str, *, value: float, amount_yuan: float, threshold: float | None,
                  land_mu: float, shortfall_unit: str, source: str, setting: str, what: str) -> EntryResult:
    """A 万元/亩 floor (investment intensity, expected 亩均税收); not checked without a published value."""
    if threshold is None:
        return _result(id_, zh, en, value=value, comparison="≥", threshold=None, unit="万元/亩", shortfall=None,
                       shortfall_unit=shortfall_unit, source=source, setting=setting, provisional=True, ok=None,
                       explanation=f"{zh} {value:,.2f} 万元/亩: {NO_PUBLISHED_VALUE}, not checked (set {setting} "
                                   "to apply one)")
    ok = _passes(value, threshold, True)
    gap = max(threshold * formulas.YUAN_PER_WAN * land_mu - amount_yuan, 0.0)
    text = (f"{zh} {value:,.2f} 万元/亩 {'≥' if ok else '<'} {threshold:g} 万元/亩: {what} {amount_yuan:,.0f} 元 on "
            f"{land_mu:,.2f} 亩")
    if not ok:
        text += f"; {gap:,.0f} {shortfall_unit} more needed"
    return _result(id_, zh, en, value=value, comparison="≥", threshold=threshold, unit="万元/亩", shortfall=gap,
                   shortfall_unit=shortfall_unit, source=source, setting=setting, provisional=True, ok=ok,
                   explanation=text)


def check_entry(project: ProjectInput, site: EntrySite, rules: PlanningRules) -> EntryCheck:
    """Every entry threshold applied to ``project`` on ``site`` (pure); ``InvalidParameter`` for unusable input."""
    validate(project, site)
    fig = figures(project, site, rules)
    land, mu = site.land_area_m2, fig.land_area_mu
    assert fig.far is not None and fig.building_coefficient is not None and fig.green_ratio is not None
    assert fig.invest_per_mu_wan is not None and fig.tax_per_mu_wan is not None
    results: list[EntryResult] = []
    notes: list[str] = []

    results.append(_per_mu_floor(
        "invest_intensity_min", "投资强度", "investment intensity", value=fig.invest_per_mu_wan,
        amount_yuan=project.invest_yuan, threshold=rules.entry_invest_per_mu_wan_min, land_mu=mu,
        shortfall_unit="元 investment", setting="RENEWAL_RULE_ENTRY_INVEST_PER_MU_WAN_MIN",
        what="fixed-asset investment",
        source=f"暂定值 (provisional): no Cixi value published; {_CONTROLS} 投资强度控制指标 sets national floors by "
               "region class and industry (表1)"))

    # 容积率: the programme's floor, or the block's exemption (a lower floor, or the rule lifted)
    far_source = RULES["far_min"].source
    if project.storey_heights_m is None:
        notes.append("no storey heights given: 计容建筑面积 = floor area (a storey above "
                     f"{rules.height_threshold_m:g} m would count ×{rules.height_multiplier:g})")
    else:
        notes.append(f"storey heights given: each of the {project.storeys} storeys takes "
                     f"{project.floor_area_m2 / project.storeys:,.2f} m² of the floor area")
    # which floor applies (docs/rules.md §9.3): the programme's (or the block's exemption) for industrial land in a
    # programme block, the national minimum of the project's industry outside it, the warehouse floor, or none
    applicable = far_basis.applicable_floor(site.land_use, site.in_programme, [project.industry_code], rules,
                                            exemption=site.far_exemption,
                                            exemption_min_far=site.far_exemption_min_far)
    far_basis_ = applicable.basis
    if far_basis_ == "national_industry":
        far_source = (f"[national] {_CONTROLS} 表2: minimum 容积率 by industry (GB/T 4754-2002 division; the "
                      f"project's code {fig.industry_code} read through RENEWAL_RULE_INDUSTRY_CODE_EDITION), for "
                      "industrial land outside the programme's blocks")
        far_setting = "RENEWAL_RULE_NATIONAL_FAR_MIN"
    elif far_basis_ == "warehouse" or (far_basis_ == "none" and applicable.land_use_class == "warehouse"):
        far_setting = "RENEWAL_RULE_WAREHOUSE_FAR_MIN"
        far_source = "暂定值 (provisional): no floor is published for warehouse land (仓储用地)"
    else:
        far_setting = "RENEWAL_RULE_FAR_MIN"
    if far_basis_ == "exemption" and applicable.floor is None:
        results.append(_result(
            "far_min", "容积率", "plot ratio (FAR)", value=fig.far, comparison="≥", threshold=None, unit="ratio",
            shortfall=None, shortfall_unit="m² counted floor area", source=far_source, setting=far_setting,
            ok=None, rule_basis=far_basis_,
            explanation=f"容积率 {fig.far:.2f}: block {site.block_code} is exempt from the 容积率 floor "
                        f"({site.far_exemption_reason}), not checked"))
    elif applicable.floor is None:
        if applicable.land_use_class == "warehouse":
            why = "warehouse land (仓储用地) and no warehouse floor configured (RENEWAL_RULE_WAREHOUSE_FAR_MIN)"
        elif applicable.land_use_class == "other":
            why = f"land use {site.land_use!r} is neither industrial nor warehouse land"
        elif project.industry_code is None:
            why = "outside the programme's blocks and no industry code given for the national minimum by industry"
        else:
            why = (f"outside the programme's blocks and industry {fig.industry_code} has no row in the national "
                   "table (国土资发〔2008〕24号 表2 covers manufacturing)")
        results.append(_result(
            "far_min", "容积率", "plot ratio (FAR)", value=fig.far, comparison="≥", threshold=None, unit="ratio",
            shortfall=None, shortfall_unit="m² counted floor area", source=far_source, setting=far_setting,
            ok=None, rule_basis=far_basis_, explanation=f"容积率 {fig.far:.2f}: no floor applies ({why}), not checked"))
    else:
        floor = applicable.floor
        ok = _passes(fig.far, floor, True)
        short = formulas.far_shortfall_m2(floor, fig.far_floor_area_m2, land)
        text = (f"容积率 {fig.far:.2f} {'≥' if ok else '<'} {floor:.2f}: counted floor area "
                f"{fig.far_floor_area_m2:,.2f} m² on {land:,.2f} m²")
        if far_basis_ == "exemption":
            text += f"; block exemption lowers the floor to {floor:.2f} ({site.far_exemption_reason})"
        elif far_basis_ == "national_industry":
            text += f"; national minimum of industry {fig.industry_code} outside the programme's blocks"
        elif far_basis_ == "warehouse":
            text += "; the warehouse floor (仓储用地)"
        if not ok:
            text += f"; {short:,.2f} m² more counted floor area needed"
        results.append(_result(
            "far_min", "容积率", "plot ratio (FAR)", value=fig.far, comparison="≥", threshold=floor, unit="ratio",
            shortfall=short, shortfall_unit="m² counted floor area", source=far_source,
            setting=far_setting, ok=ok, explanation=text, rule_basis=far_basis_))

    threshold = rules.building_coefficient_min
    covered = project.footprint_m2 + project.structures_m2 + project.yards_m2
    ok = _passes(fig.building_coefficient, threshold, True)
    text = (f"建筑系数 {_pct(fig.building_coefficient)} {'≥' if ok else '<'} {_pct(threshold)}: footprint "
            f"{project.footprint_m2:,.2f} + structures {project.structures_m2:,.2f} + yards {project.yards_m2:,.2f} "
            f"m² on {land:,.2f} m²")
    short = max(threshold * land - covered, 0.0)
    if not ok:
        text += f"; {short:,.2f} m² more footprint needed"
    results.append(_result(
        "building_coefficient_min", "建筑系数", "building coefficient", value=fig.building_coefficient,
        comparison="≥", threshold=threshold, unit="fraction", shortfall=short, shortfall_unit="m² footprint",
        source=RULES["building_coefficient_min"].source, ok=ok, explanation=text,
        setting="RENEWAL_RULE_BUILDING_COEFFICIENT_MIN"))

    threshold = rules.green_ratio_max
    ok = _passes(fig.green_ratio, threshold, False)
    excess = max(project.green_m2 - threshold * land, 0.0)
    text = (f"绿地率 {_pct(fig.green_ratio)} {'≤' if ok else '>'} {_pct(threshold)}: green {project.green_m2:,.2f} m² "
            f"on {land:,.2f} m²")
    if not ok:
        text += f"; {excess:,.2f} m² of green area above the cap"
    results.append(_result(
        "green_ratio_max", "绿地率", "green ratio", value=fig.green_ratio, comparison="≤", threshold=threshold,
        unit="fraction", shortfall=excess, shortfall_unit="m² green area", ok=ok, explanation=text,
        source=RULES["green_ratio_max"].source, setting="RENEWAL_RULE_GREEN_RATIO_MAX"))

    for kind, zh, en, value, dorm, cap, national, amount, basis, basis_name, setting in (
        ("land", "配套设施用地占比", "supporting-facility land share", fig.supporting_land_share,
         fig.dormitory_land_share, rules.supporting_land_max, rules.supporting_land_national_max,
         project.supporting_land_m2, land, "land", "RENEWAL_RULE_SUPPORTING_LAND_MAX, "
         "RENEWAL_RULE_SUPPORTING_LAND_NATIONAL_MAX"),
        ("floor", "配套设施建筑面积占比", "supporting-facility floor share", fig.supporting_floor_share,
         fig.dormitory_floor_share, rules.supporting_floor_max, rules.supporting_floor_national_max,
         project.supporting_floor_area_m2, project.floor_area_m2, "floor area",
         "RENEWAL_RULE_SUPPORTING_FLOOR_MAX, RENEWAL_RULE_SUPPORTING_FLOOR_NATIONAL_MAX"),
    ):
        assert value is not None
        dorm_share = dorm or 0.0
        threshold = round(formulas.supporting_cap(cap, national, dorm_share), 12)  # 7 % + 5 % is 12 %, not 12.000…1
        ok = _passes(value, threshold, False)
        excess = max(amount - threshold * basis, 0.0)
        text = (f"supporting facilities (行政办公及生活服务设施) {amount:,.2f} m² of {basis:,.2f} m² {basis_name} = "
                f"{_pct(value)} {'≤' if ok else '>'} cap {_pct(threshold)} (national {_pct(national)} + dormitories "
                f"{_pct(dorm_share)}, at most {_pct(cap)})")
        if not ok:
            text += f"; {excess:,.2f} m² of supporting {basis_name} above the cap"
        results.append(_result(
            f"supporting_{kind}_max", zh, en, value=value, comparison="≤", threshold=threshold, unit="fraction",
            shortfall=excess, shortfall_unit=f"m² supporting {basis_name}", ok=ok, explanation=text, setting=setting,
            source=RULES[f"supporting_{kind}_max"].source))

    results.append(_per_mu_floor(
        "tax_per_mu_min", "亩均税收", "expected tax per 亩", value=fig.tax_per_mu_wan, amount_yuan=project.tax_yuan,
        threshold=rules.entry_tax_per_mu_wan_min, land_mu=mu, shortfall_unit="元/年 tax",
        setting="RENEWAL_RULE_ENTRY_TAX_PER_MU_WAN_MIN", what="expected yearly tax",
        source="暂定值 (provisional): no Cixi entry value published (the action plan's 15万元/亩 is the 2026 target "
               "of renovated blocks, not an entry threshold)"))

    listed = list(rules.entry_negative_list)
    source = ("暂定值 (provisional): no negative list is published in the settings; industry codes of GB/T 4754-2017 "
              "《国民经济行业分类》")
    setting = "RENEWAL_RULE_ENTRY_NEGATIVE_LIST"
    code = fig.industry_code
    if not listed:
        results.append(_result(
            "negative_list", "产业负面清单", "industry negative list", value=code, comparison="∉", threshold=None,
            unit="GB/T 4754-2017", shortfall=None, shortfall_unit="", source=source, setting=setting,
            provisional=True, ok=None,
            explanation=f"no negative list configured ({NO_PUBLISHED_VALUE}): not checked (set {setting})"))
    elif code is None:
        results.append(_result(
            "negative_list", "产业负面清单", "industry negative list", value=None, comparison="∉", threshold=listed,
            unit="GB/T 4754-2017", shortfall=None, shortfall_unit="", source=source, setting=setting,
            provisional=True, ok=None, explanation="no industry code given: the negative list is not checked"))
    else:
        entry = listed_entry(code, rules.entry_negative_list)
        text = (f"industry {code} is on the negative list (entry {entry})" if entry is not None
                else f"industry {code} is on no entry of the negative list ({', '.join(listed)})")
        results.append(_result(
            "negative_list", "产业负面清单", "industry negative list", value=code, comparison="∉", threshold=listed,
            unit="GB/T 4754-2017", shortfall=None, shortfall_unit="", source=source, setting=setting,
            provisional=True, ok=entry is None, explanation=text))

    failed = [r.id for r in results if r.outcome == "fail"]
    return EntryCheck(parcel_code=site.parcel_code, block_code=site.block_code,
                      outcome="fail" if failed else "pass", failed=failed,
                      not_checked=[r.id for r in results if r.outcome == "not_checked"], figures=fig,
                      thresholds=results, rule_version=rules.rule_version, notes=notes)


# ---------------------------------------------------------------- the parcel
_SITE = text("""
SELECT p.code, b.code AS block_code, ST_Area(p.geom) AS land_m2, fe.block_id IS NOT NULL AS exempt,
       fe.min_far::float8 AS min_far, fe.reason, p.land_use, b.in_programme
FROM parcels p
JOIN blocks b ON b.id = p.block_id
LEFT JOIN far_exemptions fe ON fe.block_id = p.block_id
WHERE p.code = :code
""")


def entry_site(conn: Connection, code: str) -> tuple[EntrySite, str]:
    """The parcel ``code`` as a site (land area planar in the storage CRS, FAR exemption) and that CRS; 404
    naming ``code`` when there is no such parcel."""
    row = conn.execute(_SITE, {"code": code}).mappings().first()
    if row is None:
        raise NotFound(f"no parcel with code {code!r}",
                       zh=f"没有编号为 {code!r} 的宗地", field="code")
    return EntrySite(parcel_code=row["code"], block_code=row["block_code"], land_area_m2=float(row["land_m2"]),
                     far_exemption=bool(row["exempt"]), far_exemption_min_far=row["min_far"],
                     far_exemption_reason=row["reason"], land_use=row["land_use"],
                     in_programme=bool(row["in_programme"])), f"EPSG:{storage_srid(conn)}"


def entry_check(conn: Connection, code: str, project: ProjectInput, rules: PlanningRules) -> EntryCheck:
    """:func:`check_entry` on the parcel ``code`` of the database."""
    site, crs = entry_site(conn, code)
    result = check_entry(project, site, rules)
    result.area_crs = crs
    return result
