"""The configurable numbers of the programme, with their defaults and sources.

Every value can be set as ``RENEWAL_PROGRAMME_<NAME>`` in the environment (dates as ``YYYY-MM-DD``, lists
and mappings as JSON, e.g. ``RENEWAL_PROGRAMME_TOWN_REWARD_WAN_PER_MU='[1,1.5,2,3,5]'``). The 2026 tax
target (15万元/亩) and the statuses counted as renovated are those of the planning rules
(``RENEWAL_RULE_TARGET_TAX_PER_MU_WAN``, ``RENEWAL_RULE_TARGET_STATUSES``), so the block rule
``target_tax_per_mu`` and the progress figures cannot disagree. Results carry ``programme_version``:
``programme-1``, plus a digest of the values that differ from the defaults.

Sources: **[plan]** the Cixi action plan (2022-2026); **[Zhejiang]** 浙政发〔2018〕5号;
**[Cixi, secondary]** reported, not read in the original; **暂定值 (provisional)** a product default where
nothing is published, named with its setting. Every number, its source and a worked example: docs/rules.md §6.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROGRAMME_SET_VERSION = "programme-1"
"""Version of the programme defaults in this code; bump when they change."""

PLAN = "慈溪市老旧工业区块改造提升攻坚行动计划（2022-2026）"


class ChecklistItem(BaseModel):
    """One of the ten standards (十化) or three scenarios (三场景) of a block's checklist."""

    model_config = ConfigDict(frozen=True)

    code: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$",
                               description="Item code, e.g. site_standard.")]
    name: Annotated[str, Field(min_length=1, description="Name (中文), e.g. 场地标准化.")]
    placeholder: Annotated[bool, Field(description="True when the name is a placeholder: the official name "
                                                   "is not published.")] = False


class AbsorbTier(BaseModel):
    """A marginal tier of the reward for absorbing a low-yield neighbour: ``rate`` on the price above ``from_yuan``."""

    model_config = ConfigDict(frozen=True)

    from_yuan: Annotated[float, Field(ge=0, description="Purchase price (yuan) from which the tier's rate applies.")]
    rate: Annotated[float, Field(ge=0, le=1, description="Reward as a fraction of that part of the price.")]


TENX_ITEMS: tuple[ChecklistItem, ...] = tuple(ChecklistItem(code=c, name=n) for c, n in (
    ("site_standard", "场地标准化"), ("plant_digital", "厂房数字化"), ("fire_smart", "消防智能化"),
    ("storage_vertical", "仓储立体化"), ("transport_dustless", "运输无尘化"), ("energy_low_carbon", "能耗低碳化"),
    ("water_recycling", "用水循环化"), ("park_garden", "园区公园化"), ("building_urban", "建筑城市化"),
    ("life_community", "生活社区化"),
))
SCENARIOS: tuple[ChecklistItem, ...] = tuple(
    ChecklistItem(code=f"scenario_{i}", name=f"场景{n}（官方名称未公布）", placeholder=True)
    for i, n in ((1, "一"), (2, "二"), (3, "三")))

CLASS_INDICATORS: dict[str, tuple[str, str, str]] = {
    # code: (中文 name, unit, how it is measured here)
    "tax_per_mu": ("亩均税收", "yuan/亩", "firm tax ÷ its land (亩)"),
    "value_added_per_mu": ("亩均增加值", "yuan/亩", "value added ÷ land: not in the data"),
    "labour_productivity": ("全员劳动生产率", "yuan/person", "value added ÷ average staff: not in the data"),
    "value_added_per_tce": ("单位能耗增加值", "yuan/tce", "value added ÷ tonnes of standard coal: not in the data"),
    "value_added_per_emission": ("单位排放增加值", "yuan/t", "value added ÷ tonnes of main pollutants: not in "
                                                      "the data"),
    "rd_ratio": ("研发经费支出占主营业务收入比重", "fraction", "R&D spending ÷ main revenue: not in the data"),
    # proxies, used in place of an indicator that is not in the data (marked as proxies in every result)
    "output_per_mu": ("亩均产值 (proxy for 亩均增加值)", "yuan/亩", "firm output ÷ its land (亩)"),
    "output_per_tce": ("单位能耗产值 (proxy for 单位能耗增加值)", "yuan/tce", "firm output ÷ its energy use (tce)"),
}


class ProgrammeRules(BaseSettings):
    """Deadlines, targets, class method, 十化 checklist and incentive numbers of the programme ([plan], [Zhejiang])."""

    model_config = SettingsConfigDict(env_prefix="RENEWAL_PROGRAMME_", extra="ignore", frozen=True)

    # --- steps and deadlines [plan] 实施步骤
    programme_start: dt.date = Field(dt.date(2022, 1, 1), description="Start of the programme (2022-2026) [plan].")
    survey_deadline: dt.date = Field(dt.date(2022, 4, 30), description="All blocks surveyed (已排查) by [plan].")
    plan_deadline: dt.date = Field(dt.date(2022, 6, 30), description="Town five-year plans approved (方案已批) by "
                                                                     "[plan].")
    works_deadline: dt.date = Field(dt.date(2026, 9, 30), description="Works (实施中, 2022-07 to) finished by [plan].")
    acceptance_opens: dt.date = Field(
        dt.date(2026, 10, 1), description="Acceptance (验收, status accepted) window opens [plan] 实施步骤 "
        "(2026年10月至12月 验收): an acceptance dated earlier is refused unless an administrator records an "
        "exception with a remark.")
    acceptance_deadline: dt.date = Field(
        dt.date(2026, 12, 31), description="Acceptance window closes [plan]: a block accepted later is overdue.")

    # --- 2026 targets [plan]; the tax target is PlanningRules.target_tax_per_mu_wan
    target_area_mu: float = Field(10_000, gt=0, description="亩 of old industrial blocks renovated by 2026 [plan].")
    target_new_above_scale: int = Field(200, gt=0, description="New above-scale industrial firms (新增规上工业企业) "
                                                              "in renovated blocks by 2026 [plan].")
    area_basis: str = Field("block", pattern="^(block|parcels)$", description="What a renovated block adds to the "
                            "area target: its outline (block) or the land of its parcels; 暂定值 (provisional, "
                            "RENEWAL_PROGRAMME_AREA_BASIS).")
    new_above_scale_after_year: int = Field(
        2021, ge=1949, le=2100, description="A firm is a new above-scale firm when it became above-scale (规上) "
        "after this year: the programme starts in 2022; 暂定值 (provisional, "
        "RENEWAL_PROGRAMME_NEW_ABOVE_SCALE_AFTER_YEAR).")

    # --- 亩均效益 classes [Zhejiang] 浙政发〔2018〕5号; the computed class is indicative
    class_weights: dict[str, float] = Field(
        {"tax_per_mu": 30, "value_added_per_mu": 20, "labour_productivity": 20, "value_added_per_tce": 10,
         "value_added_per_emission": 10, "rd_ratio": 10},
        description="Weights of the six indicators for above-scale firms (an example county's 30/20/20/10/10/10) "
                    "[Zhejiang, example]; indicators without data are left out and the rest re-weighted.")
    class_below_scale_weights: dict[str, float] = Field(
        {"tax_per_mu": 100}, description="Weights for below-scale firms: mainly 亩均税收 [Zhejiang].")
    class_benchmarks: dict[str, float] = Field(
        {"tax_per_mu": 100_000.0, "output_per_mu": 2_000_000.0, "output_per_tce": 200_000.0},
        description="Benchmark of each indicator (its unit): score term = weight × value ÷ benchmark; 暂定值 "
                    "(provisional, RENEWAL_PROGRAMME_CLASS_BENCHMARKS): Cixi's benchmarks are not published.")
    class_proxies: dict[str, str] = Field(
        {"value_added_per_mu": "output_per_mu", "value_added_per_tce": "output_per_tce"},
        description="Indicator → proxy measured in its place when the indicator is not in the data; "
                    "{} turns proxies off; 暂定 (provisional, RENEWAL_PROGRAMME_CLASS_PROXIES).")
    class_ratio_cap: float = Field(3.0, gt=0, description="Each value ÷ benchmark is capped at this, so that one "
                                                          "indicator cannot carry the score; 暂定值 (provisional, "
                                                          "RENEWAL_PROGRAMME_CLASS_RATIO_CAP).")
    class_bands: tuple[float, float, float] = Field(
        (0.20, 0.60, 0.95), description="Upper percentile bounds of A, B and C (best first); D is the rest: A top "
                                        "20%, B 20-60%, C 60-95%, D bottom 5% [Zhejiang, common practice].")
    exit_classes: tuple[str, ...] = Field(("D",), description="Classes flagged for 腾退 (exit) [plan: 限期腾退].")
    upgrade_classes: tuple[str, ...] = Field(("C",), description="Classes flagged for upgrading (提升); 暂定值 "
                                                                 "(provisional, RENEWAL_PROGRAMME_UPGRADE_CLASSES).")

    # --- 十化 and 三场景 [plan]: items in configuration; scenario names are unpublished placeholders
    tenx_items: tuple[ChecklistItem, ...] = Field(TENX_ITEMS, description="The ten standards (十化) [plan].")
    scenarios: tuple[ChecklistItem, ...] = Field(
        SCENARIOS, description="The three scenarios (三场景): official names not published, placeholders.")
    score_met: float = Field(1.0, description="Score of an item met.")
    score_partly: float = Field(0.5, description="Score of an item partly met.")
    proxy_far_partly: float = Field(1.5, ge=0, description="建筑城市化 proxy: FAR ≥ the floor (2.0) is met, ≥ this "
                                                          "partly; 暂定值 (provisional, "
                                                          "RENEWAL_PROGRAMME_PROXY_FAR_PARTLY).")
    proxy_green_met: float = Field(0.15, ge=0, le=1, description="园区公园化 proxy: green ratio ≥ this is met; "
                                                                 "暂定值 (provisional, "
                                                                 "RENEWAL_PROGRAMME_PROXY_GREEN_MET).")
    proxy_green_partly: float = Field(0.10, ge=0, le=1, description="园区公园化 proxy: green ratio ≥ this is partly "
                                                                    "met; 暂定值 (provisional, "
                                                                    "RENEWAL_PROGRAMME_PROXY_GREEN_PARTLY).")

    # --- incentives [plan]
    town_reward_wan_per_mu: tuple[float, ...] = Field(
        (1.0, 2.0, 3.0, 4.0, 5.0), description="Town reward (万元/亩) for difficulty bands 1..5: 1–5万元/亩 by "
                                               "difficulty [plan]; one value per band: 暂定值 (provisional, "
                                               "RENEWAL_PROGRAMME_TOWN_REWARD_WAN_PER_MU).")
    relocation_reward_yuan_per_m2: float = Field(
        200.0, ge=0, description="Reward per m² of floor area for firms moving into state-built small-micro parks "
                                 "by land-for-floor-area swap [plan].")
    state_acquisition_mu: float = Field(
        200.0, gt=0, description="State-owned acquisitions of at least this many 亩 for strategic industries go to "
                                 "一事一议 [plan].")
    absorb_min_revenue_yuan: float = Field(
        100_000_000.0, ge=0, description="Main revenue (yuan) an absorbing firm needs: ≥ 1亿元 [plan].")
    absorb_classes: tuple[str, ...] = Field(("A", "B"), description="亩均效益 classes of firms that can be rewarded "
                                                                    "for absorbing low-yield neighbours [plan].")
    absorb_tiers: tuple[AbsorbTier, ...] = Field(
        (AbsorbTier(from_yuan=0, rate=0.03),),
        description="Marginal tiers of the absorb reward; default 3% of the purchase price [Cixi, secondary: "
                    "2023 low-efficiency land measures as reported].")
    absorb_cap_yuan: float | None = Field(
        2_000_000.0, ge=0, description="Cap of the absorb reward per deal: 200万元 [Cixi, secondary]; null: none.")

    @model_validator(mode="after")
    def _consistent(self) -> ProgrammeRules:
        """Deadlines in order, bands increasing, one town reward per difficulty band."""
        steps = (self.programme_start, self.survey_deadline, self.plan_deadline, self.works_deadline,
                 self.acceptance_opens, self.acceptance_deadline)
        if list(steps) != sorted(steps):
            raise ValueError("programme dates must be in order: start, survey, plan, works, acceptance opens, "
                             "acceptance deadline")
        a, b, c = self.class_bands
        if not 0 < a < b < c < 1:
            raise ValueError("class_bands must be increasing fractions between 0 and 1")
        if not self.town_reward_wan_per_mu:
            raise ValueError("town_reward_wan_per_mu needs one value per difficulty band")
        if self.proxy_green_partly > self.proxy_green_met:
            raise ValueError("proxy_green_partly must not exceed proxy_green_met")
        codes = [i.code for i in (*self.tenx_items, *self.scenarios)]
        if len(codes) != len(set(codes)):
            raise ValueError("checklist item codes must be unique")
        unknown = [k for k in (*self.class_weights, *self.class_below_scale_weights, *self.class_benchmarks,
                               *self.class_proxies, *self.class_proxies.values()) if k not in CLASS_INDICATORS]
        if unknown:
            raise ValueError(f"unknown class indicators: {', '.join(unknown)}; known: {', '.join(CLASS_INDICATORS)}")
        return self

    @property
    def difficulty_bands(self) -> int:
        """How many difficulty bands there are (1..n)."""
        return len(self.town_reward_wan_per_mu)

    @property
    def checklist(self) -> tuple[ChecklistItem, ...]:
        """All checklist items: the ten standards, then the scenarios."""
        return (*self.tenx_items, *self.scenarios)

    @property
    def programme_version(self) -> str:
        """``programme-1`` with the defaults; ``programme-1+<digest>`` when any value is configured otherwise."""
        defaults = type(self).model_construct()
        changed = {name: value for name, value in self.model_dump(mode="json").items()
                   if value != defaults.model_dump(mode="json")[name]}
        if not changed:
            return PROGRAMME_SET_VERSION
        digest = hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:8]
        return f"{PROGRAMME_SET_VERSION}+{digest}"
