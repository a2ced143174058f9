"""The layer registry: interchange attributes (ARCHITECTURE.md) of each spatial layer and their SQL.

Field names are ASCII and at most 10 characters so that shapefiles keep them; Chinese labels travel
beside them. Identifiers in SQL come only from this registry, never from user input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.errors import InvalidParameter
from app.models import BLOCK_STATUSES, BUILDING_USES, RENOVATION_MODES

Kind = Literal["str", "int", "float", "date", "bool"]


@dataclass(frozen=True)
class Field:
    """One interchange attribute: name (≤ 10 chars), Chinese label, type, and what values are allowed."""

    name: str
    label_zh: str
    kind: Kind = "str"
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Layer:
    """A spatial layer: its table, its interchange fields and the statement that exports them."""

    name: str
    label_zh: str
    table: str
    fields: tuple[Field, ...]
    export_sql: str
    parent: tuple[str, str] | None = None  # (code field, parent layer) resolved by code or location

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        return next(f for f in self.fields if f.name == name)


_STATUSES = tuple(c for c, _, _ in BLOCK_STATUSES)
_MODES = tuple(c for c, _, _ in RENOVATION_MODES)
_USES = tuple(c for c, _, _ in BUILDING_USES)

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "towns", "镇街", "towns",
            (Field("code", "区划代码", required=True), Field("name", "名称", required=True)),
            "SELECT t.code, t.name, t.geom FROM towns t ORDER BY t.code",
        ),
        Layer(
            "blocks", "老旧工业区块", "blocks",
            (
                Field("code", "区块编号", required=True),
                Field("name", "区块名称", required=True),
                Field("town_code", "所属镇街代码"),
                Field("status", "实施状态", choices=_STATUSES),
                Field("mode", "改造路径", choices=_MODES),
                Field("industry", "产业定位"),
                Field("plan_year", "计划年度", "int", min=2000, max=2100),
                Field("fire_haz", "消防安全隐患突出", "bool"),
                Field("illeg_bldg", "违法建筑较多", "bool"),
                Field("low_ind", "产业层次低", "bool"),
                Field("poor_env", "环境脏乱差", "bool"),
            ),
            """
            SELECT b.code, b.name, t.code AS town_code, b.status, b.mode, b.industry, b.plan_year,
                   b.fire_hazard AS fire_haz, b.illegal_buildings AS illeg_bldg,
                   b.low_industry AS low_ind, b.poor_environment AS poor_env, b.geom
            FROM blocks b JOIN towns t ON t.id = b.town_id ORDER BY b.code
            """,
            parent=("town_code", "towns"),
        ),
        Layer(
            "parcels", "宗地", "parcels",
            (
                Field("code", "宗地编号", required=True),
                Field("block_code", "区块编号"),
                Field("land_use", "用地性质"),
                Field("owner", "土地权属人"),
                Field("term_end", "土地使用权终止日期", "date"),
                Field("supp_m2", "配套用地面积(m²)", "float", min=0),
                Field("green_m2", "绿地面积(m²)", "float", min=0),
                Field("invest", "固定资产投资(元)", "float", min=0),
                Field("output", "年产值(元)", "float", min=0),
                Field("tax", "年税收(元)", "float", min=0),
            ),
            """
            SELECT p.code, b.code AS block_code, p.land_use, p.owner, to_char(p.term_end, 'YYYY-MM-DD') AS term_end,
                   p.supp_m2::float8 AS supp_m2, p.green_m2::float8 AS green_m2, p.invest::float8 AS invest,
                   p.output::float8 AS output, p.tax::float8 AS tax, p.geom
            FROM parcels p JOIN blocks b ON b.id = p.block_id ORDER BY p.code
            """,
            parent=("block_code", "blocks"),
        ),
        Layer(
            "buildings", "建筑物", "buildings",
            (
                Field("code", "建筑编号", required=True),
                Field("parcel_code", "宗地编号"),
                Field("floors", "层数", "int", required=True, min=1, max=200),
                Field("floor_h", "层高(m)", "float", required=True, min=0.01, max=100),
                Field("floor_area", "建筑面积(m²)", "float", min=0),
                Field("use", "用途", choices=_USES),
                Field("illegal", "违法建筑", "bool"),
            ),
            """
            SELECT g.code, p.code AS parcel_code, g.floors::int AS floors, g.floor_h::float8 AS floor_h,
                   g.floor_area::float8 AS floor_area, g.use, g.illegal, g.geom
            FROM buildings g JOIN parcels p ON p.id = g.parcel_id ORDER BY g.code
            """,
            parent=("parcel_code", "parcels"),
        ),
    )
}


def get_layer(name: str) -> Layer:
    """The layer called ``name``, or an error listing the known layers."""
    try:
        return LAYERS[name]
    except KeyError:
        raise InvalidParameter(
            f"unknown layer {name!r}; known layers: {', '.join(LAYERS)}", field="layer"
        ) from None
