"""Planning figures of parcels, blocks and towns, and their pure-Python twin of the SQL engine.

A parcel's figures start from additive quantities (:class:`Sums`: land, floor areas, money, and the land
that each per-area figure is measured on). Blocks, towns and the city add those up, and every ratio is
then derived from the totals (:func:`derive`), so aggregates are Σ ÷ Σ, never averages of ratios
(docs/planning.md). The SQL in :mod:`app.planning.sql` does the same in one pass; the functions here are its
twin for tests and what-if use. Areas are planar m² in the storage CRS; money is yuan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Annotated, Any

from pydantic import Field

from app.planning import formulas
from app.planning.config import PlanningRules


def _doc(text: str) -> Any:
    """Field metadata: the description shown in the API schema."""
    return Field(description=text)


@dataclass(slots=True)
class Sums:
    """Additive quantities of a parcel or of a set of parcels (areas in m², money in yuan per year)."""

    parcel_count: Annotated[int, _doc("Parcels (宗地) included.")]
    land_area_m2: Annotated[float, _doc("用地面积, m²: planar area in the storage CRS, holes excluded.")]
    building_count: Annotated[int, _doc("Buildings used in the figures (illegal ones left out by default).")]
    doubled_building_count: Annotated[int, _doc("Buildings used whose storeys exceed the height threshold.")]
    illegal_building_count: Annotated[int, _doc("Illegal buildings (违法建筑), reported separately.")]
    footprint_m2: Annotated[float, _doc("Σ footprints (基底面积) of the buildings used, m².")]
    floor_area_m2: Annotated[float, _doc("建筑面积, m²: surveyed floor area, else footprint × floors.")]
    far_floor_area_m2: Annotated[float, _doc(
        "计容建筑面积, m²: floor area, storeys above 8 m counted twice, garage storeys above the second floor half, "
        "basements by use (garage, plant room 0, commercial 0.6).")]
    supporting_floor_area_m2: Annotated[float, _doc("Floor area of office, dormitory and canteen buildings, m².")]
    dormitory_floor_area_m2: Annotated[float, _doc("Floor area of dormitory-type housing, m².")]
    illegal_footprint_m2: Annotated[float, _doc("Σ footprints of illegal buildings, m².")]
    illegal_floor_area_m2: Annotated[float, _doc("Floor area of illegal buildings, m².")]
    supporting_land_m2: Annotated[float | None, _doc(
        "Land of supporting facilities, m²: recorded (supp_m2), else land × supporting floor share.")]
    dormitory_land_m2: Annotated[float | None, _doc(
        "The dormitories' part of the supporting land (apportioned by floor area), m².")]
    supporting_land_basis_m2: Annotated[float, _doc("Land of the parcels whose supporting land is known, m².")]
    green_m2: Annotated[float | None, _doc("绿地面积, m².")]
    green_basis_m2: Annotated[float, _doc("Land of the parcels that report green area, m².")]
    tax_yuan: Annotated[float | None, _doc("年税收, yuan per year.")]
    tax_basis_m2: Annotated[float, _doc("Land of the parcels that report tax, m².")]
    output_yuan: Annotated[float | None, _doc("年产值, yuan per year.")]
    output_basis_m2: Annotated[float, _doc("Land of the parcels that report output, m².")]
    invest_yuan: Annotated[float | None, _doc("固定资产投资, yuan.")]
    invest_basis_m2: Annotated[float, _doc("Land of the parcels that report investment, m².")]


@dataclass(slots=True)
class Figures(Sums):
    """Sums and the ratios derived from them (fractions are 0–1; per-亩 figures in yuan/亩 and 万元/亩)."""

    land_area_mu: Annotated[float, _doc("用地面积, 亩 (= m² × 15 / 10000).")]
    far: Annotated[float | None, _doc("容积率 = counted floor area ÷ land area.")]
    building_density: Annotated[float | None, _doc("建筑密度 = footprints ÷ land area (fraction).")]
    building_coefficient: Annotated[float | None, _doc(
        "建筑系数 = (footprints + structures + yards) ÷ land (fraction); equals the density: no structure "
        "or yard data yet.")]
    supporting_floor_share: Annotated[float | None, _doc("Supporting floor area ÷ floor area (fraction).")]
    dormitory_floor_share: Annotated[float | None, _doc("Dormitory floor area ÷ floor area (fraction).")]
    supporting_land_share: Annotated[float | None, _doc("Supporting land ÷ land (fraction).")]
    dormitory_land_share: Annotated[float | None, _doc("Dormitories' supporting land ÷ land (fraction).")]
    green_ratio: Annotated[float | None, _doc("绿地率 = green area ÷ land (fraction).")]
    tax_per_mu: Annotated[float | None, _doc("亩均税收, yuan/亩 per year.")]
    tax_per_mu_wan: Annotated[float | None, _doc("亩均税收, 万元/亩 per year.")]
    output_per_mu: Annotated[float | None, _doc("亩均产值, yuan/亩 per year.")]
    output_per_mu_wan: Annotated[float | None, _doc("亩均产值, 万元/亩 per year.")]
    invest_per_mu: Annotated[float | None, _doc("投资强度 (fixed-asset investment per 亩), yuan/亩.")]
    invest_per_mu_wan: Annotated[float | None, _doc("投资强度, 万元/亩.")]


@dataclass(slots=True)
class ParcelFigures(Figures):
    """The figures of one parcel with where it lies and what applies to it."""

    parcel_code: Annotated[str, _doc("宗地编号.")]
    block_code: Annotated[str, _doc("区块编号 of the parcel's block.")]
    town_code: Annotated[str, _doc("区划代码 of the block's town.")]
    supporting_land_apportioned: Annotated[bool, _doc(
        "True when supp_m2 is not recorded and the supporting land is apportioned by floor share.")]
    far_exemption_min_far: Annotated[float | None, _doc(
        "容积率 floor set by the block's exemption (null: none, or the rule lifted).")]
    far_exemption_reason: Annotated[str | None, _doc("Reason of the block's 容积率 exemption, if any.")]
    land_use: Annotated[str | None, _doc("用地性质 as recorded (national code such as 1001/100102, GB 50137 letter "
                                         "such as M2/W1, or a Chinese name).")]
    land_use_class: Annotated[str, _doc("industrial, warehouse, other or unrecorded (read as industrial).")]
    in_programme: Annotated[bool, _doc("The parcel's block is one of the programme's blocks (列入攻坚行动).")]
    industry_codes: Annotated[list[str], _doc("Industry codes (GB/T 4754) of the parcel's firms.")]
    far_basis: Annotated[str, _doc(
        "Which minimum 容积率 applies (rule_basis): programme, exemption, national_industry, warehouse or none.")]
    far_floor: Annotated[float | None, _doc(
        "The minimum 容积率 that applies (null: none claimed, or lifted by the block's exemption).")]


@dataclass(slots=True)
class AreaFigures(Figures):
    """The figures of a set of parcels (a block, a town, the city) with its parcels' rule failures."""

    parcel_rule_failures: Annotated[dict[str, int], _doc("Parcels failing each parcel rule, by rule id.")]


@dataclass(slots=True)
class BlockFigures(AreaFigures):
    """The figures of a block with its attributes: status and the hazard flags of the old-block criterion."""

    block_code: Annotated[str, _doc("区块编号.")]
    block_name: Annotated[str, _doc("区块名称.")]
    town_code: Annotated[str, _doc("区划代码 of the block's town.")]
    status: Annotated[str, _doc("实施状态: listed, surveyed, planned, in_progress, accepted.")]
    mode: Annotated[str | None, _doc("改造路径: demolition, sorting, management.")]
    fire_hazard: Annotated[bool, _doc("消防安全隐患突出.")]
    illegal_buildings: Annotated[bool, _doc("违法建筑较多.")]
    low_industry: Annotated[bool, _doc("产业层次低.")]
    poor_environment: Annotated[bool, _doc("环境脏乱差.")]
    far_exemption_min_far: Annotated[float | None, _doc("容积率 floor set by the block's exemption.")]
    far_exemption_reason: Annotated[str | None, _doc("Reason of the block's 容积率 exemption, if any.")]

    @property
    def hazard_flags(self) -> list[str]:
        """The hazard flags set on the block (the action plan's old-block criterion), by name."""
        flags = ("fire_hazard", "illegal_buildings", "low_industry", "poor_environment")
        return [name for name in flags if getattr(self, name)]


@dataclass(slots=True)
class BuildingFigures:
    """One building's part in its parcel's figures."""

    code: Annotated[str, _doc("Building code.")]
    use: Annotated[str, _doc("production, warehouse, office, dormitory, canteen or other.")]
    floors: Annotated[int, _doc("层数: storeys above ground.")]
    floor_h_m: Annotated[float, _doc("层高, m (every storey's, unless storey_heights_m gives each).")]
    illegal: Annotated[bool, _doc("违法建筑.")]
    used: Annotated[bool, _doc("Whether it counts in the parcel's figures (illegal ones do not by default).")]
    footprint_m2: Annotated[float, _doc("基底面积, m² (planar, storage CRS).")]
    floor_area_m2: Annotated[float, _doc("建筑面积 above ground, m²: surveyed, else footprint × floors.")]
    floor_area_surveyed: Annotated[bool, _doc("True: surveyed floor area; false: footprint × floors.")]
    doubled_for_height: Annotated[bool, _doc("A storey higher than the threshold (8 m): it counts ×2.")]
    far_floor_area_m2: Annotated[float, _doc(
        "计容建筑面积, m²: each storey above ground its share of the floor area, × 2 when higher than the threshold "
        "and × 0.5 when a garage above the second floor; plus the basement × its use's factor (garage, plant room "
        "×0, commercial ×0.6).")]
    storey_heights_m: Annotated[list[float] | None, _doc(
        "各层层高, m, bottom up (storey_hs); null: every storey floor_h_m.")] = None
    doubled_storeys: Annotated[int, _doc("Storeys above ground higher than the threshold (counted ×2).")] = 0
    garage_storeys: Annotated[int, _doc("Garage storeys above the second floor (storeys 3, 4…; counted ×0.5).")] = 0
    basement_storeys: Annotated[int, _doc("地下室层数.")] = 0
    basement_use: Annotated[str | None, _doc("地下室用途: garage, plant or commercial.")] = None
    basement_floor_area_m2: Annotated[float, _doc(
        "地下建筑面积, m², all basement storeys: surveyed (bsmt_m2), else footprint × basement storeys; not in "
        "floor_area_m2.")] = 0.0


@dataclass(frozen=True, slots=True)
class BuildingInput:
    """A building as the Python twin takes it: footprint from its geometry, the rest from its attributes.

    ``storey_heights_m`` bottom up (as many as ``floors``; None: every storey ``floor_h_m``), ``garage_storeys``
    above the second floor, basement storeys with their use and floor area (None: footprint × storeys).
    """

    code: str
    footprint_m2: float
    floors: int
    floor_h_m: float
    floor_area_m2: float | None = None
    use: str = "production"
    illegal: bool = False
    storey_heights_m: tuple[float, ...] | None = None
    garage_storeys: int = 0
    basement_storeys: int = 0
    basement_use: str | None = None
    basement_floor_area_m2: float | None = None


@dataclass(frozen=True, slots=True)
class ParcelInput:
    """A parcel as the Python twin takes it (areas in m², money in yuan)."""

    land_area_m2: float
    buildings: Sequence[BuildingInput] = field(default_factory=tuple)
    supp_m2: float | None = None
    green_m2: float | None = None
    tax_yuan: float | None = None
    output_yuan: float | None = None
    invest_yuan: float | None = None


def basement_factor(use: str | None, rules: PlanningRules) -> float:
    """The factor a basement counts with by its use (甬规字〔2010〕122号): garage, plant room, commercial; 0 else."""
    factors = {"garage": rules.basement_garage_factor, "plant": rules.basement_plant_factor,
               "commercial": rules.basement_commercial_factor}
    return factors.get(use or "", 0.0)


def building_figures(building: BuildingInput, rules: PlanningRules) -> BuildingFigures:
    """A building's floor area and counted floor area under ``rules``: the twin of the SQL ``building_figures``."""
    b = building
    floor_area = formulas.building_floor_area_m2(b.footprint_m2, b.floors, b.floor_area_m2)
    heights = list(b.storey_heights_m) if b.storey_heights_m else None
    threshold = rules.height_threshold_m
    basement = (b.basement_floor_area_m2 if b.basement_floor_area_m2 is not None
                else b.footprint_m2 * b.basement_storeys) if b.basement_storeys > 0 else 0.0
    doubled = [formulas.doubled_for_height(h, threshold) for h in heights or [b.floor_h_m] * b.floors]
    return BuildingFigures(
        code=b.code, use=b.use, floors=b.floors, floor_h_m=b.floor_h_m,
        illegal=b.illegal, used=not b.illegal or rules.count_illegal,
        footprint_m2=b.footprint_m2, floor_area_m2=floor_area,
        floor_area_surveyed=b.floor_area_m2 is not None,
        doubled_for_height=any(doubled),
        far_floor_area_m2=formulas.counted_storeys_m2(
            floor_area, b.floors, b.floor_h_m, threshold, rules.height_multiplier, heights, b.garage_storeys,
            rules.upper_garage_factor, basement, basement_factor(b.basement_use, rules)),
        storey_heights_m=heights, doubled_storeys=sum(doubled), garage_storeys=b.garage_storeys,
        basement_storeys=b.basement_storeys, basement_use=b.basement_use, basement_floor_area_m2=basement,
    )


def parcel_sums(parcel: ParcelInput, rules: PlanningRules) -> Sums:
    """The additive quantities of one parcel: the Python twin of the SQL ``parcel_sums`` step."""
    land = parcel.land_area_m2
    figs = [building_figures(b, rules) for b in parcel.buildings]
    used = [b for b in figs if b.used]
    illegal = [b for b in figs if b.illegal]
    floor = sum(b.floor_area_m2 for b in used)
    supporting = sum(b.floor_area_m2 for b in used if b.use in rules.supporting_uses)
    dormitory = sum(b.floor_area_m2 for b in used if b.use in rules.dormitory_uses)
    supp_land = formulas.supporting_land_m2(parcel.supp_m2, land, supporting, floor)
    if parcel.supp_m2 is not None:
        dorm_land: float | None = parcel.supp_m2 * dormitory / supporting if supporting > 0 else 0.0
    else:
        dorm_land = land * dormitory / floor if floor > 0 else None
    return Sums(
        parcel_count=1, land_area_m2=land, building_count=len(used),
        doubled_building_count=sum(1 for b in used if b.doubled_for_height), illegal_building_count=len(illegal),
        footprint_m2=sum(b.footprint_m2 for b in used), floor_area_m2=floor,
        far_floor_area_m2=sum(b.far_floor_area_m2 for b in used),
        supporting_floor_area_m2=supporting, dormitory_floor_area_m2=dormitory,
        illegal_footprint_m2=sum(b.footprint_m2 for b in illegal),
        illegal_floor_area_m2=sum(b.floor_area_m2 for b in illegal),
        supporting_land_m2=supp_land, dormitory_land_m2=dorm_land,
        supporting_land_basis_m2=land if supp_land is not None else 0.0,
        green_m2=parcel.green_m2, green_basis_m2=land if parcel.green_m2 is not None else 0.0,
        tax_yuan=parcel.tax_yuan, tax_basis_m2=land if parcel.tax_yuan is not None else 0.0,
        output_yuan=parcel.output_yuan, output_basis_m2=land if parcel.output_yuan is not None else 0.0,
        invest_yuan=parcel.invest_yuan, invest_basis_m2=land if parcel.invest_yuan is not None else 0.0,
    )


def _total(values: Iterable[float | None]) -> float | None:
    """Σ of the known values; ``None`` when none is known (SQL ``sum`` semantics)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


SUM_FIELDS = tuple(f.name for f in fields(Sums))
OPTIONAL_SUMS = ("supporting_land_m2", "dormitory_land_m2", "green_m2", "tax_yuan", "output_yuan", "invest_yuan")
COUNT_SUMS = ("parcel_count", "building_count", "doubled_building_count", "illegal_building_count")


def add(parts: Iterable[Sums]) -> Sums:
    """Σ of several parcels' sums (a block, a town, a merged site): the twin of the SQL roll-up."""
    items = list(parts)
    totals: dict[str, float | int | None] = {}
    for name in SUM_FIELDS:
        values = [getattr(s, name) for s in items]
        totals[name] = _total(values) if name in OPTIONAL_SUMS else sum(values)
    return Sums(**totals)  # type: ignore[arg-type]


def _per_mu_wan(value: float | None) -> float | None:
    """yuan/亩 → 万元/亩, keeping ``None``."""
    return None if value is None else formulas.wan_from_yuan(value)


def _opt(fn: Callable[[float, float], float | None], amount: float | None, basis: float) -> float | None:
    """Apply a ratio formula to an optional amount."""
    return None if amount is None else fn(amount, basis)


def derive(sums: Sums) -> Figures:
    """The ratios of ``sums`` (Σ ÷ Σ): the twin of the SQL ``derived`` step."""
    s = sums
    tax = _opt(formulas.per_mu, s.tax_yuan, s.tax_basis_m2)
    output = _opt(formulas.per_mu, s.output_yuan, s.output_basis_m2)
    invest = _opt(formulas.investment_intensity, s.invest_yuan, s.invest_basis_m2)
    return Figures(
        **{name: getattr(s, name) for name in SUM_FIELDS},
        land_area_mu=formulas.mu_from_m2(s.land_area_m2),
        far=formulas.far(s.far_floor_area_m2, s.land_area_m2),
        building_density=formulas.building_density(s.footprint_m2, s.land_area_m2),
        building_coefficient=formulas.building_coefficient(s.footprint_m2, s.land_area_m2),
        supporting_floor_share=formulas.supporting_floor_share(s.supporting_floor_area_m2, s.floor_area_m2),
        dormitory_floor_share=formulas.supporting_floor_share(s.dormitory_floor_area_m2, s.floor_area_m2),
        supporting_land_share=_opt(formulas.supporting_land_share, s.supporting_land_m2, s.supporting_land_basis_m2),
        dormitory_land_share=_opt(formulas.supporting_land_share, s.dormitory_land_m2, s.supporting_land_basis_m2),
        green_ratio=_opt(formulas.green_ratio, s.green_m2, s.green_basis_m2),
        tax_per_mu=tax, tax_per_mu_wan=_per_mu_wan(tax),
        output_per_mu=output, output_per_mu_wan=_per_mu_wan(output),
        invest_per_mu=invest, invest_per_mu_wan=_per_mu_wan(invest),
    )


def parcel_figures(parcel: ParcelInput, rules: PlanningRules) -> Figures:
    """All figures of one parcel from its land area and buildings (the what-if entry point)."""
    return derive(parcel_sums(parcel, rules))


FIGURE_FIELDS = tuple(f.name for f in fields(Figures))
PARCEL_FIELDS = tuple(f.name for f in fields(ParcelFigures))
