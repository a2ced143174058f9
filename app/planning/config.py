"""The configurable numbers of the planning rules, with their DOMAIN.md defaults and sources.

Every threshold can be set as ``RENEWAL_RULE_<NAME>`` in the environment (tuples as JSON, e.g.
``RENEWAL_RULE_TARGET_STATUSES='["in_progress","accepted"]'``). Results carry ``rule_version``: the
rule-set version, plus a digest of the values that differ from the defaults, so that a figure can be
traced back to the numbers that produced it.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

RULE_SET_VERSION = "rules-1"
"""Version of the rule set in this code (formulas and defaults of DOMAIN.md); bump when they change."""


class PlanningRules(BaseSettings):
    """Thresholds of the planning rules; defaults and sources from DOMAIN.md (sections in brackets)."""

    model_config = SettingsConfigDict(env_prefix="RENEWAL_RULE_", extra="ignore", frozen=True)

    far_min: float = Field(
        2.0, ge=0, description="容积率 floor for programme parcels [plan] (§1: 'in principle not below 2.0').")
    height_threshold_m: float = Field(
        8.0, gt=0, description="Storey height (m) above which, strictly, floor area counts more "
        "[national] 国土资发〔2008〕24号 (§4).")
    height_multiplier: float = Field(
        2.0, ge=1, description="Factor for storeys above the height threshold [national] (§4: 加倍计算).")
    count_illegal: bool = Field(
        False, description="Whether illegal buildings (违法建筑) count in floor area [assumed] (§4).")
    supporting_uses: tuple[str, ...] = Field(
        ("office", "dormitory", "canteen"),
        description="Building uses that are 行政办公及生活服务设施 (§4).")
    dormitory_uses: tuple[str, ...] = Field(
        ("dormitory",), description="Uses that are dormitory-type rental housing (宿舍型保障性租赁住房) [plan] (§1).")
    supporting_land_national_max: float = Field(
        0.07, ge=0, le=1, description="National cap on the supporting-facility land share [national] (§4).")
    supporting_floor_national_max: float = Field(
        0.15, ge=0, le=1, description="National cap on the supporting-facility floor share [national] (§4).")
    supporting_land_max: float = Field(
        0.15, ge=0, le=1, description="Cixi cap on the supporting land share, the part above the national cap "
        "for dormitories only [plan] (§1, §4).")
    supporting_floor_max: float = Field(
        0.30, ge=0, le=1, description="Cixi cap on the supporting floor share, the part above the national cap "
        "for dormitories only [plan] (§1, §4).")
    building_coefficient_min: float = Field(
        0.30, ge=0, le=1, description="建筑系数 floor [national] (§4).")
    green_ratio_max: float = Field(
        0.20, ge=0, le=1, description="绿地率 cap for industrial projects [national, secondary; assumed] (§4).")
    old_block_tax_per_mu_wan: float = Field(
        5.0, ge=0, description="亩均税收 (万元/亩) below which a block with hazard flags is an old block [plan] (§1).")
    old_block_min_flags: int = Field(
        1, ge=0, le=4, description="Hazard flags (fire, illegal buildings, low industry, poor environment) a "
        "block needs, with low tax, to meet the old-block criterion [assumed] (§1).")
    target_tax_per_mu_wan: float = Field(
        15.0, ge=0, description="2026 target 亩均税收 (万元/亩) of renovated blocks [plan] (§1).")
    target_statuses: tuple[str, ...] = Field(
        ("accepted",), description="Block statuses counted as renovated for the 2026 target [assumed] (§1).")

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
