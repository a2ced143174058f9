"""Incentives calculator (figures only: the decisions stay with people), [plan] policy measures (docs/rules.md §6.6).

Each figure carries its inputs, the arithmetic in words and the policy clause it comes from:

- **Town reward** (镇街奖励): renovated area (亩) × the 万元/亩 of the block's difficulty band (1–5万元/亩 by
  difficulty [plan]; one value per band, configurable).
- **Relocation reward** (入园奖励): 200 元/m² of floor area for firms moving into state-built small-micro parks
  by a land-for-floor-area swap [plan].
- **State acquisition line** (一事一议): a state-owned acquisition of ≥ 200 亩 for strategic industries is
  decided case by case [plan]; a flag, no amount.
- **Absorb reward** (兼并奖励): A/B-class firms with main revenue ≥ 1亿元 that absorb low-yield neighbours get
  tiered rewards [plan]; the tiers default to 3% of the purchase price, at most 200万元 per deal, as Cixi's
  2023 measures are *reported* to set [Cixi, secondary], so the figure is labelled secondary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from app.errors import InvalidParameter
from app.planning import formulas
from app.programme.config import PLAN, ProgrammeRules

YUAN_PER_WAN = formulas.YUAN_PER_WAN


@dataclass(slots=True)
class IncentiveFigure:
    """One incentive figure with its inputs, its arithmetic and the policy clause."""

    key: Annotated[str, Field(description="town_reward, relocation_reward, state_acquisition or absorb_reward.")]
    title: Annotated[str, Field(description="What it is (中文 and English).")]
    value_yuan: Annotated[float | None, Field(description="Amount, yuan (null for a flag without amount).")]
    value_wan: Annotated[float | None, Field(description="Amount, 万元.")]
    flag: Annotated[bool | None, Field(description="For the acquisition line: true = goes to 一事一议.")]
    eligible: Annotated[bool, Field(description="Whether the conditions are met (false: amount 0, see `note`).")]
    inputs: Annotated[dict[str, Any], Field(description="Inputs used, with units in their names.")]
    arithmetic: Annotated[str, Field(description="The calculation in words, with the numbers.")]
    clause: Annotated[str, Field(description="The policy clause the figure comes from.")]
    secondary: Annotated[bool, Field(description="True when the numbers come from a secondary report.")]
    note: Annotated[str, Field(description="Caveats: figures only, decisions stay with people.")]


def _wan(yuan: float | None) -> float | None:
    """yuan → 万元."""
    return None if yuan is None else yuan / YUAN_PER_WAN


def _money(yuan: float) -> str:
    """An amount in 万元 for the arithmetic text."""
    return f"{yuan / YUAN_PER_WAN:,.2f} 万元"


NOTE = "Figure only: the award is decided by the leading group's office and the finance bureau."


def town_reward(area_mu: float, band: int, prules: ProgrammeRules) -> IncentiveFigure:
    """Town reward (yuan) = area (亩) × rate of difficulty ``band`` (万元/亩) × 10,000 [plan]."""
    if area_mu < 0:
        raise InvalidParameter("area must not be negative",
                               zh="面积不能为负", field="area_mu")
    if not 1 <= band <= prules.difficulty_bands:
        raise InvalidParameter(f"difficulty band must be 1 to {prules.difficulty_bands}",
                               zh=f"难度等级应为 1 到 {prules.difficulty_bands}", field="difficulty_band")
    rate = prules.town_reward_wan_per_mu[band - 1]
    value = area_mu * rate * YUAN_PER_WAN
    return IncentiveFigure(
        key="town_reward", title="镇街改造奖励 town reward by area and difficulty", value_yuan=value,
        value_wan=_wan(value), flag=None, eligible=True,
        inputs={"area_mu": area_mu, "difficulty_band": band, "rate_wan_per_mu": rate},
        arithmetic=f"{area_mu:,.2f} 亩 × {rate:g} 万元/亩 (band {band}) = {_money(value)}",
        clause=f"[plan] {PLAN}, policy measures (paraphrased): towns get 1–5万元/亩 by difficulty; one rate per "
               "band: 暂定值 (provisional, set by RENEWAL_PROGRAMME_TOWN_REWARD_WAN_PER_MU)",
        secondary=False, note=NOTE)


def relocation_reward(floor_area_m2: float, prules: ProgrammeRules) -> IncentiveFigure:
    """Relocation reward (yuan) = floor area moved into parks (m²) × 200 元/m² [plan]."""
    if floor_area_m2 < 0:
        raise InvalidParameter("floor area must not be negative",
                               zh="建筑面积不能为负", field="relocated_floor_area_m2")
    rate = prules.relocation_reward_yuan_per_m2
    value = floor_area_m2 * rate
    return IncentiveFigure(
        key="relocation_reward", title="入园奖励 relocation into small-micro parks", value_yuan=value,
        value_wan=_wan(value), flag=None, eligible=True,
        inputs={"relocated_floor_area_m2": floor_area_m2, "rate_yuan_per_m2": rate},
        arithmetic=f"{floor_area_m2:,.2f} m² × {rate:g} 元/m² = {value:,.2f} 元 ({_money(value)})",
        clause=f"[plan] {PLAN}, policy measures (paraphrased): firms moving into state-built small-micro parks by "
               "land-for-floor-area swap get 200 元/m² of floor area",
        secondary=False, note=NOTE)


def state_acquisition(area_mu: float, prules: ProgrammeRules) -> IncentiveFigure:
    """The 一事一议 line: a state-owned acquisition of at least 200 亩 is decided case by case [plan]."""
    line = prules.state_acquisition_mu
    over = area_mu >= line
    return IncentiveFigure(
        key="state_acquisition", title="国有收储一事一议 state acquisition line", value_yuan=None, value_wan=None,
        flag=over, eligible=over, inputs={"acquisition_area_mu": area_mu, "line_mu": line},
        arithmetic=f"{area_mu:,.2f} 亩 {'≥' if over else '<'} {line:g} 亩: "
                   f"{'一事一议 (case by case)' if over else 'below the line: ordinary terms'}",
        clause=f"[plan] {PLAN}, policy measures (paraphrased): state-owned acquisitions of ≥ 200 亩 for strategic "
               "industries go to 一事一议",
        secondary=False, note=NOTE)


def tiered(price_yuan: float, tiers: Sequence[tuple[float, float]]) -> float:
    """Σ over marginal tiers: each ``rate`` applies to the part of the price from its ``from`` to the next one."""
    ordered = sorted(tiers)
    total = 0.0
    for i, (start, rate) in enumerate(ordered):
        end = ordered[i + 1][0] if i + 1 < len(ordered) else float("inf")
        total += max(0.0, min(price_yuan, end) - start) * rate
    return total


def absorb_reward(price_yuan: float, firm_class: str | None, revenue_yuan: float | None,
                  prules: ProgrammeRules) -> IncentiveFigure:
    """Reward (yuan) to an A/B firm with revenue ≥ 1亿元 absorbing a low-yield neighbour: tiers, then the cap.

    [plan] for the conditions; [Cixi, secondary] for the default tiers (3%) and cap (200万元).
    """
    if price_yuan < 0:
        raise InvalidParameter("purchase price must not be negative",
                               zh="收购价格不能为负", field="price_yuan")
    tiers = [(t.from_yuan, t.rate) for t in prules.absorb_tiers]
    reasons = []
    if firm_class not in prules.absorb_classes:
        reasons.append(f"class {firm_class or 'unknown'} is not {'/'.join(prules.absorb_classes)}")
    if revenue_yuan is None or revenue_yuan < prules.absorb_min_revenue_yuan:
        shown = "unknown" if revenue_yuan is None else _money(revenue_yuan)
        reasons.append(f"main revenue {shown} < {_money(prules.absorb_min_revenue_yuan)}")
    raw = tiered(price_yuan, tiers)
    cap = prules.absorb_cap_yuan
    value = raw if cap is None else min(raw, cap)
    tier_text = " + ".join(f"{r:.1%} of the part above {_money(f)}" for f, r in sorted(tiers))
    arithmetic = f"{_money(price_yuan)} purchase price: {tier_text} = {_money(raw)}"
    if cap is not None:
        arithmetic += f"; cap {_money(cap)} → {_money(value)}"
    if reasons:
        value = 0.0
        arithmetic += f"; not eligible: {'; '.join(reasons)} → 0"
    return IncentiveFigure(
        key="absorb_reward", title="兼并低效企业奖励 reward for absorbing low-yield neighbours (secondary report)",
        value_yuan=value, value_wan=_wan(value), flag=None, eligible=not reasons,
        inputs={"price_yuan": price_yuan, "firm_class": firm_class, "revenue_yuan": revenue_yuan,
                "tiers": [{"from_yuan": f, "rate": r} for f, r in sorted(tiers)], "cap_yuan": cap},
        arithmetic=arithmetic,
        clause=f"[plan] {PLAN}, policy measures (paraphrased): A/B-class firms (亩均效益) with main revenue ≥ 1亿元 "
               "absorbing low-yield neighbours get tiered rewards; tiers [Cixi, secondary] 2023 measures for "
               "low-efficiency land as reported: 3% of the purchase price, at most 200万元",
        secondary=True, note=NOTE + " The tiers come from a secondary report; confirm with the published text.")


@dataclass(slots=True)
class AbsorbDeal:
    """An absorption: the buying firm's class and revenue, and the purchase price."""

    price_yuan: float
    firm_class: str | None
    revenue_yuan: float | None
    buyer: str | None = None


@dataclass(slots=True)
class IncentiveSummary:
    """The incentive figures of one block (or a what-if), with their total."""

    block_code: Annotated[str | None, Field(description="区块编号 (null for a free calculation).")]
    figures: Annotated[list[IncentiveFigure], Field(description="Each figure with inputs and clause.")]
    total_yuan: Annotated[float, Field(description="Σ amounts, yuan (flags add nothing).")]
    total_wan: Annotated[float, Field(description="Σ amounts, 万元.")]
    note: Annotated[str, Field(description="Figures only; decisions stay with people.")]
    programme_version: Annotated[str, Field(description="Version of the programme configuration.")]


def calculate(prules: ProgrammeRules, *, area_mu: float | None = None, difficulty_band: int | None = None,
              relocated_floor_area_m2: float | None = None, acquisition_area_mu: float | None = None,
              deals: Sequence[AbsorbDeal] = (), block_code: str | None = None) -> IncentiveSummary:
    """The figures the inputs allow: a town reward needs area and band, the others their own input."""
    figures = []
    if area_mu is not None and difficulty_band is not None:
        figures.append(town_reward(area_mu, difficulty_band, prules))
    if relocated_floor_area_m2 is not None:
        figures.append(relocation_reward(relocated_floor_area_m2, prules))
    if acquisition_area_mu is not None:
        figures.append(state_acquisition(acquisition_area_mu, prules))
    for deal in deals:
        fig = absorb_reward(deal.price_yuan, deal.firm_class, deal.revenue_yuan, prules)
        if deal.buyer:
            fig.inputs["buyer"] = deal.buyer
        figures.append(fig)
    total = sum(f.value_yuan or 0.0 for f in figures)
    return IncentiveSummary(block_code, figures, total, total / YUAN_PER_WAN, NOTE, prules.programme_version)
