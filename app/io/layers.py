"""The layer registry: interchange attributes of each layer and the SQL that reads them.

Field names are ASCII and at most 10 characters so that shapefiles keep them; Chinese labels travel
beside them (alias tables, XLSX headers, OGC queryables). Every SQL identifier and expression used by
import, export and the OGC API comes from this registry, never from user input; values are bound.

Numbers carry the precision a person reads them with (:data:`M2`, :data:`MU`, :data:`RATIO`, :data:`YUAN`...):
a shapefile's DBF declares each real field with its width and decimals, XLSX cells get the matching number
format, and CSV values are rounded to it.

A new layer (e.g. ``joint_developments``) is one more ``Layer`` in ``LAYERS``: the OGC API lists it as a
collection as soon as its table exists, and exports and property filters follow from its fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from app.errors import InvalidParameter
from app.models import BASEMENT_USES, BLOCK_STATUSES, BUILDING_USES, ENTERPRISE_CLASSES, RENOVATION_MODES
from app.planning.lists import half_up

Kind = Literal["str", "int", "float", "date", "bool"]
Scope = Literal["town", "block", "status"]


@dataclass(frozen=True)
class Precision:
    """How a real number is written: decimals kept, and the DBF width (sign, digits, point) of a shapefile."""

    decimals: int
    width: int

    def __post_init__(self) -> None:
        if not 0 <= self.decimals <= 15 or not self.decimals + 2 <= self.width <= 20:
            raise ValueError(f"unusable precision {self.decimals} decimals in {self.width} characters")

    @property
    def excel_format(self) -> str:
        """The XLSX number format: thousands separated, the decimals kept (``#,##0.00`` for 0.01)."""
        return "#,##0" + ("." + "0" * self.decimals if self.decimals else "")


M2 = Precision(2, 16)
"""Areas in m² (0.01 m²): up to 10¹² m²."""
MU = Precision(4, 16)
"""Areas in 亩 (0.0001 亩 ≈ 0.07 m², the resolution of the m²)."""
RATIO = Precision(4, 10)
"""容积率, densities, shares (0–1): four decimals."""
WAN = Precision(4, 14)
"""万元/亩 (0.0001 万元 = 1 yuan)."""
YUAN = Precision(0, 19)
"""Money figures worked out by the service (yuan/亩): whole yuan; 19 characters keep them reals in a DBF."""
YUAN_CENTS = Precision(2, 19)
"""Money as recorded (yuan, the database keeps cents): exported as stored, so a round trip loses nothing."""
METRES = Precision(2, 8)
"""Lengths in m (storey heights)."""
TONNES = Precision(2, 16)
"""Energy in 吨标准煤."""


@dataclass(frozen=True)
class Field:
    """One interchange attribute: name (≤ 10 chars), Chinese label, type, its SQL and allowed values.

    ``expr`` is the SQL expression over the layer's FROM clause; ``derived`` fields are written on export
    and served by the OGC API but never read on import (they follow from other data).
    """

    name: str
    label_zh: str
    kind: Kind = "str"
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    expr: str = ""
    derived: bool = False
    description: str = ""
    filter_expr: str = ""
    short: str = ""
    precision: Precision | None = None  # reals: decimals kept and DBF width (None: as the database has it)
    numbers: bool = False  # a "str" holding comma-separated numbers, each within min…max (storey heights)
    industry_code: bool = False  # a GB/T 4754 industry code, stored with its section letter (C2438)

    def rounded(self, value: Any) -> Any:
        """``value`` rounded to the field's decimals (reals with a precision; anything else unchanged)."""
        if self.precision is None or not isinstance(value, float):
            return value
        return half_up(value, self.precision.decimals)

    @property
    def shp_name(self) -> str:
        """The name in a shapefile: at most 10 characters (``parcel_code`` becomes ``parcel_cod``)."""
        return self.short or self.name[:10]

    def sql(self, alias: str) -> str:
        """The SQL expression of this field (``alias.name`` unless the registry says otherwise)."""
        return self.expr or f"{alias}.{self.name}"

    def where_sql(self, alias: str) -> str:
        """The SQL expression used to filter and sort on this field (typed: dates as dates)."""
        return self.filter_expr or self.sql(alias)


@dataclass(frozen=True)
class Layer:
    """A layer: its table, fields, FROM clause (with the joins its fields need) and filter expressions."""

    name: str
    label_zh: str
    table: str
    alias: str
    fields: tuple[Field, ...]
    from_sql: str
    title_en: str = ""
    parent: tuple[str, str] | None = None  # (code field, parent layer) resolved by code or location
    scopes: dict[str, str] = field(default_factory=dict)  # export filter (town, block, status) → SQL
    temporal: tuple[str, Literal["date", "year"]] | None = None  # SQL of the date or year of a feature
    geometry: bool = True
    geometry_type: str = "MultiPolygon"
    key: str = "code"  # the unique code field: feature id, upsert key
    importable: bool = True  # False: made by the service (joint developments), never read from files
    rule_params: tuple[str, ...] = ()  # planning-rule values its SQL binds first, as $1, $2… (OGC figures)

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        return next(f for f in self.fields if f.name == name)

    def has_field(self, name: str) -> bool:
        """Whether the layer has a field called ``name``."""
        return any(f.name == name for f in self.fields)

    @property
    def imported_fields(self) -> tuple[Field, ...]:
        """Fields read from files on import (not derived)."""
        return tuple(f for f in self.fields if not f.derived)

    @property
    def geom_sql(self) -> str:
        """SQL of the stored geometry."""
        return f"{self.alias}.geom"

    @property
    def id_sql(self) -> str:
        """SQL of the feature id (the code)."""
        return self.field(self.key).where_sql(self.alias)


_STATUSES = tuple(c for c, _, _ in BLOCK_STATUSES)
_MODES = tuple(c for c, _, _ in RENOVATION_MODES)
_USES = tuple(c for c, _, _ in BUILDING_USES)
_BASEMENT_USES = tuple(c for c, _, _ in BASEMENT_USES)
# Storey heights as written in files: "9,4.5,4.5,4.5" (numeric without trailing zeros, in storey order); NULL without.
_STOREY_HS = ("(SELECT string_agg(trim_scale(st.h)::text, ',' ORDER BY st.i) "
              "FROM unnest(g.storey_hs) WITH ORDINALITY AS st(h, i))")

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "towns", "镇街", "towns", "t",
            (Field("code", "区划代码", required=True), Field("name", "名称", required=True)),
            "towns t",
            title_en="Towns, subdistricts and parks (synthetic outlines in the sample)",
            scopes={"town": "t.code"},
        ),
        Layer(
            "blocks", "老旧工业区块", "blocks", "b",
            (
                Field("code", "区块编号", required=True),
                Field("name", "区块名称", required=True),
                Field("town_code", "所属镇街代码", expr="t.code"),
                Field("status", "实施状态", choices=_STATUSES),
                Field("mode", "改造路径", choices=_MODES),
                Field("industry", "产业定位"),
                Field("plan_year", "计划年度", "int", min=2000, max=2100, expr="b.plan_year::int"),
                Field("fire_haz", "消防安全隐患突出", "bool", expr="b.fire_hazard"),
                Field("illeg_bldg", "违法建筑较多", "bool", expr="b.illegal_buildings"),
                Field("low_ind", "产业层次低", "bool", expr="b.low_industry"),
                Field("poor_env", "环境脏乱差", "bool", expr="b.poor_environment"),
                Field("in_prog", "列入攻坚行动", "bool", expr="b.in_programme",
                      description="one of the programme's blocks (default true); false: its industrial parcels "
                                  "take the national minimum 容积率 by industry instead of the plan's 2.0"),
            ),
            "blocks b JOIN towns t ON t.id = b.town_id",
            title_en="Old industrial blocks of the renovation programme",
            parent=("town_code", "towns"),
            scopes={"town": "t.code", "block": "b.code", "status": "b.status"},
            temporal=("b.plan_year", "year"),
        ),
        Layer(
            "parcels", "宗地", "parcels", "p",
            (
                Field("code", "宗地编号", required=True),
                Field("block_code", "区块编号", expr="b.code"),
                Field("land_use", "用地性质"),
                Field("owner", "土地权属人"),
                Field("term_end", "土地使用权终止日期", "date", min=1990,
                      expr="to_char(p.term_end, 'YYYY-MM-DD')", filter_expr="p.term_end",
                      description="YYYY-MM-DD"),
                Field("supp_m2", "配套用地面积(m²)", "float", min=0, expr="p.supp_m2::float8", precision=M2),
                Field("green_m2", "绿地面积(m²)", "float", min=0, expr="p.green_m2::float8", precision=M2),
                Field("invest", "固定资产投资(元)", "float", min=0, expr="p.invest::float8", precision=YUAN_CENTS),
                Field("output", "年产值(元)", "float", min=0, expr="p.output::float8", precision=YUAN_CENTS),
                Field("tax", "年税收(元)", "float", min=0, expr="p.tax::float8", precision=YUAN_CENTS),
                Field("town_code", "所属镇街代码", expr="t.code", derived=True),
            ),
            "parcels p JOIN blocks b ON b.id = p.block_id JOIN towns t ON t.id = b.town_id",
            title_en="Land parcels (宗地) with rights holders and yearly figures in yuan",
            parent=("block_code", "blocks"),
            scopes={"town": "t.code", "block": "b.code", "status": "b.status"},
            temporal=("p.term_end", "date"),
        ),
        Layer(
            "buildings", "建筑物", "buildings", "g",
            (
                Field("code", "建筑编号", required=True),
                Field("parcel_code", "宗地编号", expr="p.code", short="parcel_cod"),
                Field("floors", "层数", "int", required=True, min=1, max=200, expr="g.floors::int"),
                Field("floor_h", "层高(m)", "float", min=0.01, max=100, expr="g.floor_h::float8", precision=METRES,
                      description="every storey's height; required unless storey_hs gives them (then the highest)"),
                Field("floor_area", "建筑面积(m²)", "float", min=0, expr="g.floor_area::float8", precision=M2,
                      description="above ground; empty: footprint × floors"),
                Field("use", "用途", choices=_USES),
                Field("illegal", "违法建筑", "bool"),
                # issue 14: floor area as surveyed (甬规字〔2010〕122号, 国土资发〔2008〕24号)
                Field("storey_hs", "各层层高(m)", min=0.01, max=100, numbers=True, expr=_STOREY_HS,
                      description="storey heights, m, comma-separated, bottom up, one per floor (e.g. 9,4.5,4.5,4.5)"),
                Field("bsmt_n", "地下室层数", "int", min=0, max=20, expr="g.basement_floors::int",
                      description="basement storeys"),
                Field("bsmt_use", "地下室用途", choices=_BASEMENT_USES, expr="g.basement_use",
                      description="garage (停车库), plant (设备用房) or commercial (商业); required with bsmt_n"),
                Field("bsmt_m2", "地下建筑面积(m²)", "float", min=0, expr="g.basement_area::float8", precision=M2,
                      description="floor area of all basement storeys together; empty: footprint × bsmt_n"),
                Field("garage_n", "二层以上停车库层数", "int", min=0, max=200, expr="g.garage_floors::int",
                      description="garage storeys above the second floor (storeys 3, 4…), at most floors − 2"),
                Field("block_code", "区块编号", expr="b.code", derived=True),
                Field("town_code", "所属镇街代码", expr="t.code", derived=True),
            ),
            "buildings g JOIN parcels p ON p.id = g.parcel_id JOIN blocks b ON b.id = p.block_id "
            "JOIN towns t ON t.id = b.town_id",
            title_en="Buildings (建筑物) with floors, storey heights, basements, garage storeys and use",
            parent=("parcel_code", "parcels"),
            scopes={"town": "t.code", "block": "b.code", "status": "b.status"},
        ),
        Layer(
            "joint_developments", "联合开发项目", "joint_developments", "j",
            (
                Field("code", "项目编号", "int", expr="j.id", filter_expr="j.id"),
                Field("name", "项目名称"),
                Field("status", "状态", choices=("active", "cancelled")),
                Field("parcels", "宗地编号", expr="(SELECT string_agg(jp_p.code, ',' ORDER BY jp_p.code) "
                      "FROM joint_development_parcels jp JOIN parcels jp_p ON jp_p.id = jp.parcel_id "
                      "WHERE jp.jd_id = j.id)", derived=True),
                Field("area_m2", "合并用地面积(m²)", "float", expr="j.land_area_m2", precision=M2),
                Field("area_mu", "合并用地面积(亩)", "float", expr="j.land_area_m2 * 15 / 10000", derived=True,
                      precision=MU),
                Field("far", "现状容积率", "float", expr="(j.figures->>'far')::float8", derived=True, precision=RATIO),
                Field("plan_m2", "规划建筑面积(m²)", "float", expr="j.planned_floor_area_m2::float8", precision=M2),
                Field("term_end", "合并后土地使用权终止日期", "date", expr="to_char(j.term_end, 'YYYY-MM-DD')",
                      filter_expr="j.term_end", description="YYYY-MM-DD"),
                Field("town_code", "所属镇街代码", expr="(SELECT t.code FROM towns t "
                      "WHERE ST_Intersects(t.geom, ST_PointOnSurface(j.geom)) ORDER BY t.code LIMIT 1)",
                      derived=True),
            ),
            "joint_developments j",
            title_en="Joint developments (联合开发): merged parcels of several rights holders",
            importable=False,
        ),
    )
}

ENTERPRISES = Layer(
    "enterprises", "企业", "enterprises", "e",
    (
        Field("credit_code", "统一社会信用代码", required=True, short="credit_cod"),
        Field("name", "企业名称", required=True),
        Field("parcel_code", "宗地编号", expr="p.code", short="parcel_cod"),
        Field("above_scl", "规上工业企业", "bool"),
        Field("revenue", "主营业务收入(元)", "float", min=0, expr="e.revenue::float8", precision=YUAN_CENTS),
        Field("tax", "税收(元)", "float", expr="e.tax::float8", precision=YUAN_CENTS),
        Field("output", "产值(元)", "float", min=0, expr="e.output::float8", precision=YUAN_CENTS),
        Field("energy_tce", "能耗(吨标准煤)", "float", min=0, expr="e.energy_tce::float8", precision=TONNES),
        Field("class", "亩均效益分类", choices=ENTERPRISE_CLASSES, expr='e."class"'),
        Field("class_year", "分类年度", "int", min=1990, max=2100, expr="e.class_year::int"),
        Field("ind_code", "行业代码(GB/T 4754)", expr="e.industry_code", industry_code=True,
              description="GB/T 4754 industry code, e.g. C2438, 2438 or C24 (stored with its section letter); "
                          "outside the programme's blocks it sets the national minimum 容积率 by industry"),
    ),
    "enterprises e LEFT JOIN parcels p ON p.id = e.parcel_id LEFT JOIN blocks b ON b.id = p.block_id "
    "LEFT JOIN towns t ON t.id = b.town_id",
    title_en="Enterprises with yearly figures and their 亩均效益 class (CSV, no geometry)",
    parent=("parcel_code", "parcels"),
    scopes={"town": "t.code", "block": "b.code", "status": "b.status"},
    geometry=False,
    geometry_type="None",
    key="credit_code",
)
"""Enterprises travel as CSV/XLSX without geometry; the code field is credit_code."""

TABLE_LAYERS: dict[str, Layer] = {**LAYERS, "enterprises": ENTERPRISES}


def get_layer(name: str, *, tables: bool = False) -> Layer:
    """The layer called ``name`` (spatial only, or also ``enterprises`` with ``tables``), or an error."""
    known = TABLE_LAYERS if tables else LAYERS
    try:
        return known[name]
    except KeyError:
        raise InvalidParameter(
            f"unknown layer {name!r}; known layers: {', '.join(known)}",
            zh=f"未知的图层 {name!r}；已有图层：{'、'.join(known)}", field="layer"
        ) from None
