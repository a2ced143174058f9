"""The configurable numbers of the planning rules, with their defaults and published sources (docs/rules.md §5).

Every threshold can be set as ``RENEWAL_RULE_<NAME>`` in the environment (tuples as JSON, e.g.
``RENEWAL_RULE_TARGET_STATUSES='["in_progress","accepted"]'``). Results carry ``rule_version``: the
rule-set version, plus a digest of the values that differ from the defaults, so that a figure can be
traced back to the numbers that produced it.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

INDUSTRY_CODE = re.compile(r"[A-T]|[A-T]?[0-9]{2,4}")
"""A GB/T 4754-2017 industry code as written in the settings and in requests: a section letter (门类), or a
division (大类, 2 digits), group (中类, 3) or class (小类, 4), optionally after its section letter."""

NATIONAL_FAR_MIN_2008: dict[str, float] = {
    **dict.fromkeys(("13", "14", "15", "16", "18", "19", "24", "30", "40", "41", "42"), 1.0),
    **dict.fromkeys(("17", "20", "21", "22", "23", "28", "29"), 0.8),
    **dict.fromkeys(("27", "31", "34", "35", "36", "37", "39", "43"), 0.7),
    **dict.fromkeys(("26", "32", "33"), 0.6),
    "25": 0.5,
}
"""国土资发〔2008〕24号《工业项目建设用地控制指标》 表2: minimum 容积率 by GB/T 4754-2002 manufacturing division
(2002 has no division 38)."""

RULE_SET_VERSION = "rules-1"
"""Version of the rule set in this code (formulas and defaults); bump when they change."""


class PlanningRules(BaseSettings):
    """Thresholds of the planning rules; defaults and sources in each description."""

    model_config = SettingsConfigDict(env_prefix="RENEWAL_RULE_", extra="ignore", frozen=True)

    far_min: float = Field(
        2.0, ge=0, description="容积率 floor for programme parcels [plan] (容积率原则上不低于2.0).")
    height_threshold_m: float = Field(
        8.0, gt=0, description="Storey height (m) above which, strictly, floor area counts more "
        "[national] 国土资发〔2008〕24号.")
    height_multiplier: float = Field(
        2.0, ge=1, description="Factor for storeys above the height threshold [national] 国土资发〔2008〕24号 "
        "(加倍计算).")
    upper_garage_factor: float = Field(
        0.5, ge=0, le=1, description="Factor of garage storeys above the second floor (二层以上的停车库) [Ningbo] "
        "甬规字〔2010〕122号《宁波市建设工程容积率计算规则》.")
    basement_garage_factor: float = Field(
        0.0, ge=0, le=1, description="Factor of basement storeys used as garages (地下停车库) [Ningbo] "
        "甬规字〔2010〕122号《宁波市建设工程容积率计算规则》.")
    basement_plant_factor: float = Field(
        0.0, ge=0, le=1, description="Factor of basement storeys used as plant rooms (地下设备用房) [Ningbo] "
        "甬规字〔2010〕122号《宁波市建设工程容积率计算规则》.")
    basement_commercial_factor: float = Field(
        0.6, ge=0, le=1, description="Factor of basement storeys in commercial use (地下商业) [Ningbo] "
        "甬规字〔2010〕122号《宁波市建设工程容积率计算规则》.")
    count_illegal: bool = Field(
        False, description="Whether illegal buildings (违法建筑) count in floor area; 暂定值 (provisional, "
        "RENEWAL_RULE_COUNT_ILLEGAL): no document says whether unlawful floor area counts.")
    supporting_uses: tuple[str, ...] = Field(
        ("office", "dormitory", "canteen"),
        description="Building uses that are 行政办公及生活服务设施 [national] 国土资发〔2008〕24号.")
    dormitory_uses: tuple[str, ...] = Field(
        ("dormitory",), description="Uses that are dormitory-type rental housing (宿舍型保障性租赁住房) [plan].")
    supporting_land_national_max: float = Field(
        0.07, ge=0, le=1, description="National cap on the supporting-facility land share [national] "
        "国土资发〔2008〕24号 第四条(四).")
    supporting_floor_national_max: float = Field(
        0.15, ge=0, le=1, description="National cap on the supporting-facility floor share [national] (clause to "
        "be confirmed: 国土资发〔2008〕24号 caps the land share only).")
    supporting_land_max: float = Field(
        0.15, ge=0, le=1, description="Cixi cap on the supporting land share, the part above the national cap "
        "for dormitories only [plan].")
    supporting_floor_max: float = Field(
        0.30, ge=0, le=1, description="Cixi cap on the supporting floor share, the part above the national cap "
        "for dormitories only [plan].")
    building_coefficient_min: float = Field(
        0.30, ge=0, le=1, description="建筑系数 floor [national] 国土资发〔2008〕24号 第四条(三).")
    green_ratio_max: float = Field(
        0.20, ge=0, le=1, description="绿地率 cap for industrial projects [national] 国土资发〔2008〕24号 附件1, as "
        "reproduced in secondary sources; 暂定值 (provisional, RENEWAL_RULE_GREEN_RATIO_MAX) until confirmed.")
    old_block_tax_per_mu_wan: float = Field(
        5.0, ge=0, description="亩均税收 (万元/亩) below which a block with hazard flags is an old block [plan].")
    old_block_min_flags: int = Field(
        1, ge=0, le=4, description="Hazard flags (fire, illegal buildings, low industry, poor environment) a "
        "block needs, with low tax, to meet the old-block criterion; 暂定值 (provisional, "
        "RENEWAL_RULE_OLD_BLOCK_MIN_FLAGS): the plan does not say how many.")
    target_tax_per_mu_wan: float = Field(
        15.0, ge=0, description="2026 target 亩均税收 (万元/亩) of renovated blocks [plan].")
    target_statuses: tuple[str, ...] = Field(
        ("accepted",), description="Block statuses counted as renovated for the 2026 target; 暂定值 (provisional, "
        "RENEWAL_RULE_TARGET_STATUSES).")

    # --- which minimum 容积率 applies (docs/rules.md §9.3): the plan's far_min above for industrial land in programme
    # blocks; the national minimum by industry outside them; warehouse land its own floor.
    warehouse_far_min: float | None = Field(
        None, ge=0, description="容积率 floor of warehouse land (仓储用地: 1101/1102/110101–110103, W, W1–W3). 暂定值 "
        "(provisional): no floor is published for warehouse land in the plan; None: no floor, the 容积率 is reported "
        "only (outcome not_applicable).")
    national_far_min: dict[str, float] = Field(
        NATIONAL_FAR_MIN_2008, description="Minimum 容积率 of industrial projects by GB/T 4754-2002 division (大类), "
        "for industrial land outside the programme's blocks [national] 国土资发〔2008〕24号"
        "《工业项目建设用地控制指标》 表2 容积率控制指标 (JSON object, division → floor).")
    industry_code_edition: Literal["2017", "2002"] = Field(
        "2017", description="Edition of GB/T 4754 the firms' industry codes follow: 2017 (also 2011: the same "
        "manufacturing divisions) is read through the concordance to the 2002 divisions of the 2008 table "
        "(app.planning.far_basis.CONCORDANCE_2017); 2002 reads codes as the table's own. Assumed: the data carry "
        "current codes.")

    # --- joint developments (联合开发): how the adjacency tolerance (RENEWAL_JOINT_TOLERANCE_M, or the request's
    # tolerance_m) is applied; product defaults [assumed], no published value.
    joint_shared_boundary_factor: float = Field(
        4.0, gt=2, le=100, description="联合开发 adjacency: two parcels are neighbours when at least this many × the "
        "tolerance of one's boundary lies within the tolerance of the other (2 m at the default 0.5 m). More than 2: "
        "a touch at a single point leaves about 2 × the tolerance near the other parcel, which is not adjacency; "
        "暂定值 (provisional, RENEWAL_RULE_JOINT_SHARED_BOUNDARY_FACTOR): no published value.")
    joint_closing_factor: float = Field(
        0.5, ge=0, le=5, description="联合开发 merged outline: the union of the parcels closed by ± this × the "
        "tolerance (mitred joins), so that gaps and slivers narrower than 2 × this × the tolerance close while real "
        "holes (a foreign courtyard) stay; 暂定值 (provisional, RENEWAL_RULE_JOINT_CLOSING_FACTOR): no published "
        "value.")

    # --- entry thresholds of a proposed project (准入门槛, POST /api/parcels/{code}/entry-check). The 容积率 floor,
    # building coefficient, green ratio and supporting-facility caps are the ones above; these are the entry check's
    # own. Where no Cixi value is published the default is None: not checked, reported as "no published value".
    entry_invest_per_mu_wan_min: float | None = Field(
        None, ge=0, description="投资强度 floor of a proposed project, 万元/亩 of fixed-asset investment. 暂定值 "
        "(provisional): no Cixi value is published; 《工业项目建设用地控制指标》(国土资发〔2008〕24号) sets the "
        "national floors by region class and industry (表1). None: not checked (no published value).")
    entry_tax_per_mu_wan_min: float | None = Field(
        None, ge=0, description="Expected 亩均税收 floor of a proposed project, 万元/亩 per year. 暂定值 "
        "(provisional): no Cixi entry value is published (the action plan's 15万元/亩 is the 2026 target of "
        "renovated blocks, not an entry threshold). None: not checked (no published value).")
    entry_negative_list: tuple[str, ...] = Field(
        (), description="产业负面清单: industry codes of GB/T 4754-2017 《国民经济行业分类》 (a section letter, or a "
        "division, group or class such as C25, 251 or 2511) that a proposed project may not carry; a code covers "
        "its subdivisions. 暂定 (provisional): empty, no list is published in the settings; set it (JSON list) to "
        "the list in force. Empty: not checked.")

    @field_validator("entry_negative_list", mode="before")
    @classmethod
    def _industry_codes(cls, value: object) -> object:
        """Negative-list entries are GB/T 4754 codes: a section letter A–T, or 2–4 digits with an optional letter."""
        if isinstance(value, (list, tuple)):
            codes = tuple(str(v).strip().upper() for v in value)
            bad = [c for c in codes if not INDUSTRY_CODE.fullmatch(c)]
            if bad:
                raise ValueError(f"not GB/T 4754 industry codes: {', '.join(bad)} (a section letter A–T, or 2–4 "
                                 "digits with an optional section letter, e.g. C25 or 2511)")
            return codes
        return value

    @field_validator("national_far_min")
    @classmethod
    def _divisions(cls, value: dict[str, float]) -> dict[str, float]:
        """Keys are two-digit GB/T 4754-2002 divisions, values non-negative floors."""
        bad = [k for k in value if not re.fullmatch(r"[0-9]{2}", k)]
        if bad:
            raise ValueError(f"not two-digit GB/T 4754-2002 divisions: {', '.join(bad)}")
        if any(v < 0 for v in value.values()):
            raise ValueError("a 容积率 floor cannot be negative")
        return value

    @cached_property
    def rule_version(self) -> str:
        """``rules-1`` with the defaults; ``rules-1+<digest>`` when any value is configured otherwise (worked out
        once: the rules are frozen, and every tile's ETag carries it)."""
        changed = {name: value for name, value in self.model_dump().items()
                   if value != type(self).model_fields[name].default}
        if not changed:
            return RULE_SET_VERSION
        digest = hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:8]
        return f"{RULE_SET_VERSION}+{digest}"
