"""Initial schema: PostGIS, lookups, towns, blocks, parcels, buildings, enterprises.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from app.settings import get_settings

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The codes and labels as this revision created them ([plan] 实施步骤, 改造路径); later changes need a new revision.
BLOCK_STATUSES = (
    ("listed", "已列入", "Listed"),
    ("surveyed", "已排查", "Surveyed"),
    ("planned", "方案已批", "Plan approved"),
    ("in_progress", "实施中", "In progress"),
    ("accepted", "已验收", "Accepted"),
)
RENOVATION_MODES = (
    ("demolition", "全部拆除式改造", "Full demolition and rebuilding"),
    ("sorting", "梳理式改造", "Sorting and upgrading"),
    ("management", "管理提升式改造", "Management improvement"),
)
BUILDING_USES = (
    ("production", "生产", "Production"),
    ("warehouse", "仓储", "Warehouse"),
    ("office", "办公", "Office"),
    ("dormitory", "宿舍", "Dormitory"),
    ("canteen", "食堂", "Canteen"),
    ("other", "其他", "Other"),
)


def _geom() -> sa.Column:
    srid = get_settings().srid
    return sa.Column("geom", Geometry("MULTIPOLYGON", srid=srid, spatial_index=False), nullable=False)


def _valid(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name=f"{table}_geom_valid")


def _lookup(name: str) -> sa.Table:
    return op.create_table(
        name,
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("label_zh", sa.Text, nullable=False),
        sa.Column("label_en", sa.Text, nullable=False),
        *([sa.Column("seq", sa.SmallInteger, nullable=False, unique=True)] if name == "block_statuses" else []),
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    statuses = _lookup("block_statuses")
    op.bulk_insert(
        statuses,
        [{"code": c, "label_zh": zh, "label_en": en, "seq": i} for i, (c, zh, en) in enumerate(BLOCK_STATUSES)],
    )
    modes = _lookup("renovation_modes")
    op.bulk_insert(modes, [{"code": c, "label_zh": zh, "label_en": en} for c, zh, en in RENOVATION_MODES])
    uses = _lookup("building_uses")
    op.bulk_insert(uses, [{"code": c, "label_zh": zh, "label_en": en} for c, zh, en in BUILDING_USES])

    op.create_table(
        "towns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(12), nullable=False, unique=True, comment="区划代码"),
        sa.Column("name", sa.Text, nullable=False, comment="名称"),
        sa.Column("kind", sa.String(16)),
        sa.Column("seat_synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        _geom(),
        _valid("towns"),
    )
    op.create_table(
        "blocks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True, comment="区块编号"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("town_id", sa.Integer, sa.ForeignKey("towns.id"), nullable=False),
        sa.Column("status", sa.String(16), sa.ForeignKey("block_statuses.code"), nullable=False,
                  server_default="listed"),
        sa.Column("mode", sa.String(16), sa.ForeignKey("renovation_modes.code")),
        sa.Column("industry", sa.Text, comment="产业定位"),
        sa.Column("plan_year", sa.SmallInteger),
        sa.Column("fire_hazard", sa.Boolean, nullable=False, server_default=sa.false(), comment="消防安全隐患突出"),
        sa.Column("illegal_buildings", sa.Boolean, nullable=False, server_default=sa.false(),
                  comment="违法建筑较多"),
        sa.Column("low_industry", sa.Boolean, nullable=False, server_default=sa.false(), comment="产业层次低"),
        sa.Column("poor_environment", sa.Boolean, nullable=False, server_default=sa.false(), comment="环境脏乱差"),
        _geom(),
        _valid("blocks"),
        sa.CheckConstraint("plan_year IS NULL OR plan_year BETWEEN 2000 AND 2100", name="blocks_plan_year_range"),
    )
    op.create_table(
        "parcels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True, comment="宗地编号"),
        sa.Column("block_id", sa.Integer, sa.ForeignKey("blocks.id"), nullable=False),
        sa.Column("land_use", sa.Text, comment="用地性质"),
        sa.Column("owner", sa.Text, comment="土地权属人"),
        sa.Column("term_end", sa.Date, comment="土地使用权终止日期"),
        sa.Column("supp_m2", sa.Numeric(14, 2), comment="配套用地面积 m²"),
        sa.Column("green_m2", sa.Numeric(14, 2), comment="绿地面积 m²"),
        sa.Column("invest", sa.Numeric(16, 2), comment="固定资产投资 元"),
        sa.Column("output", sa.Numeric(16, 2), comment="年产值 元"),
        sa.Column("tax", sa.Numeric(16, 2), comment="年税收 元"),
        _geom(),
        _valid("parcels"),
        sa.CheckConstraint("supp_m2 IS NULL OR supp_m2 >= 0", name="parcels_supp_m2_nonneg"),
        sa.CheckConstraint("green_m2 IS NULL OR green_m2 >= 0", name="parcels_green_m2_nonneg"),
    )
    op.create_table(
        "buildings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("parcel_id", sa.Integer, sa.ForeignKey("parcels.id"), nullable=False),
        sa.Column("floors", sa.SmallInteger, nullable=False, comment="层数"),
        sa.Column("floor_h", sa.Numeric(6, 2), nullable=False, comment="层高 m"),
        sa.Column("floor_area", sa.Numeric(14, 2), comment="建筑面积 m²"),
        sa.Column("use", sa.String(16), sa.ForeignKey("building_uses.code"), nullable=False,
                  server_default="production"),
        sa.Column("illegal", sa.Boolean, nullable=False, server_default=sa.false(), comment="违法建筑"),
        _geom(),
        _valid("buildings"),
        sa.CheckConstraint("floors >= 1", name="buildings_floors_positive"),
        sa.CheckConstraint("floor_h > 0 AND floor_h <= 100", name="buildings_floor_h_range"),
        sa.CheckConstraint("floor_area IS NULL OR floor_area >= 0", name="buildings_floor_area_nonneg"),
    )
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("credit_code", sa.String(18), nullable=False, unique=True, comment="统一社会信用代码"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parcel_id", sa.Integer, sa.ForeignKey("parcels.id")),
        sa.Column("above_scl", sa.Boolean, nullable=False, server_default=sa.false(), comment="规上工业企业"),
        sa.Column("revenue", sa.Numeric(16, 2), comment="主营业务收入 元"),
        sa.Column("tax", sa.Numeric(16, 2), comment="税收 元"),
        sa.Column("output", sa.Numeric(16, 2), comment="产值 元"),
        sa.Column("energy_tce", sa.Numeric(14, 2), comment="能耗 吨标准煤"),
        sa.Column("class", sa.String(1), comment="亩均效益分类"),
        sa.Column("class_year", sa.SmallInteger),
        sa.CheckConstraint("class IS NULL OR class IN ('A','B','C','D')", name="enterprises_class_abcd"),
    )
    for table in ("towns", "blocks", "parcels", "buildings"):
        op.create_index(f"idx_{table}_geom", table, ["geom"], postgresql_using="gist")
    op.create_index("ix_blocks_town_id", "blocks", ["town_id"])
    op.create_index("ix_parcels_block_id", "parcels", ["block_id"])
    op.create_index("ix_buildings_parcel_id", "buildings", ["parcel_id"])
    op.create_index("ix_enterprises_parcel_id", "enterprises", ["parcel_id"])


def downgrade() -> None:
    for table in ("enterprises", "buildings", "parcels", "blocks", "towns",
                  "building_uses", "renovation_modes", "block_statuses"):
        op.drop_table(table)
