"""Tables (SQLAlchemy 2 + GeoAlchemy2). The schema itself is created only by Alembic (migrations/).

Geometry is stored in the storage CRS (``RENEWAL_SRID``, default EPSG:4549, metres) as valid, non-empty
MultiPolygons; areas and plot ratios are planar in that CRS (DOMAIN.md §3).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.settings import get_settings

SRID = get_settings().srid

# DOMAIN.md §1: programme steps (实施步骤) and renovation modes (改造路径), with their labels.
BLOCK_STATUSES: tuple[tuple[str, str, str], ...] = (
    ("listed", "已列入", "Listed"),
    ("surveyed", "已排查", "Surveyed"),
    ("planned", "方案已批", "Plan approved"),
    ("in_progress", "实施中", "In progress"),
    ("accepted", "已验收", "Accepted"),
)
RENOVATION_MODES: tuple[tuple[str, str, str], ...] = (
    ("demolition", "全部拆除式改造", "Full demolition and rebuilding"),
    ("sorting", "梳理式改造", "Sorting and upgrading"),
    ("management", "管理提升式改造", "Management improvement"),
)
BUILDING_USES: tuple[tuple[str, str, str], ...] = (
    ("production", "生产", "Production"),
    ("warehouse", "仓储", "Warehouse"),
    ("office", "办公", "Office"),
    ("dormitory", "宿舍", "Dormitory"),
    ("canteen", "食堂", "Canteen"),
    ("other", "其他", "Other"),
)
ENTERPRISE_CLASSES = ("A", "B", "C", "D")


def geometry_column() -> Geometry:
    """A MultiPolygon column in the storage CRS, with a GiST index."""
    return Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)


def valid_geometry_check(table: str) -> CheckConstraint:
    """Check constraint: the geometry is valid and not empty."""
    return CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name=f"{table}_geom_valid")


class Base(DeclarativeBase):
    """Declarative base of all tables."""


class BlockStatus(Base):
    """Programme step of a block (实施步骤), DOMAIN.md §1."""

    __tablename__ = "block_statuses"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label_zh: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(SmallInteger, unique=True)


class RenovationMode(Base):
    """Renovation mode of a block (改造路径), DOMAIN.md §1."""

    __tablename__ = "renovation_modes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label_zh: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)


class BuildingUse(Base):
    """Use of a building; office, dormitory and canteen are supporting facilities (DOMAIN.md §4)."""

    __tablename__ = "building_uses"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label_zh: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)


class Town(Base):
    """A town-level unit (镇、街道、园区) of Cixi; the responsible unit of the programme."""

    __tablename__ = "towns"
    __table_args__ = (valid_geometry_check("towns"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, comment="区划代码")
    name: Mapped[str] = mapped_column(Text, comment="名称")
    kind: Mapped[str | None] = mapped_column(String(16))
    seat_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(geometry_column(), nullable=False)


class Block(Base):
    """An old industrial block (老旧工业区块) in the programme."""

    __tablename__ = "blocks"
    __table_args__ = (valid_geometry_check("blocks"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, comment="区块编号")
    name: Mapped[str] = mapped_column(Text)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    status: Mapped[str] = mapped_column(ForeignKey("block_statuses.code"), default="listed")
    mode: Mapped[str | None] = mapped_column(ForeignKey("renovation_modes.code"))
    industry: Mapped[str | None] = mapped_column(Text, comment="产业定位")
    plan_year: Mapped[int | None] = mapped_column(SmallInteger)
    fire_hazard: Mapped[bool] = mapped_column(Boolean, default=False, comment="消防安全隐患突出")
    illegal_buildings: Mapped[bool] = mapped_column(Boolean, default=False, comment="违法建筑较多")
    low_industry: Mapped[bool] = mapped_column(Boolean, default=False, comment="产业层次低")
    poor_environment: Mapped[bool] = mapped_column(Boolean, default=False, comment="环境脏乱差")
    geom = mapped_column(geometry_column(), nullable=False)


class Parcel(Base):
    """A land parcel (宗地) with its rights holder and economic figures (yuan per year)."""

    __tablename__ = "parcels"
    __table_args__ = (
        valid_geometry_check("parcels"),
        CheckConstraint("supp_m2 IS NULL OR supp_m2 >= 0", name="parcels_supp_m2_nonneg"),
        CheckConstraint("green_m2 IS NULL OR green_m2 >= 0", name="parcels_green_m2_nonneg"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, comment="宗地编号")
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id"), index=True)
    land_use: Mapped[str | None] = mapped_column(Text, comment="用地性质")
    owner: Mapped[str | None] = mapped_column(Text, comment="土地权属人")
    term_end: Mapped[dt.date | None] = mapped_column(Date, comment="土地使用权终止日期")
    supp_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="配套用地面积 m²")
    green_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="绿地面积 m²")
    invest: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), comment="固定资产投资 元")
    output: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), comment="年产值 元")
    tax: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), comment="年税收 元")
    geom = mapped_column(geometry_column(), nullable=False)


class Building(Base):
    """A building (建筑物) on a parcel."""

    __tablename__ = "buildings"
    __table_args__ = (
        valid_geometry_check("buildings"),
        CheckConstraint("floors >= 1", name="buildings_floors_positive"),
        CheckConstraint("floor_h > 0 AND floor_h <= 100", name="buildings_floor_h_range"),
        CheckConstraint("floor_area IS NULL OR floor_area >= 0", name="buildings_floor_area_nonneg"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"), index=True)
    floors: Mapped[int] = mapped_column(SmallInteger, comment="层数")
    floor_h: Mapped[Decimal] = mapped_column(Numeric(6, 2), comment="层高 m")
    floor_area: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="建筑面积 m²")
    use: Mapped[str] = mapped_column(ForeignKey("building_uses.code"), default="production")
    illegal: Mapped[bool] = mapped_column(Boolean, default=False, comment="违法建筑")
    geom = mapped_column(geometry_column(), nullable=False)


class Enterprise(Base):
    """An enterprise (企业) with its yearly figures in yuan and its 亩均效益 class as published."""

    __tablename__ = "enterprises"
    __table_args__ = (
        CheckConstraint("class IS NULL OR class IN ('A','B','C','D')", name="enterprises_class_abcd"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True, comment="统一社会信用代码")
    name: Mapped[str] = mapped_column(Text)
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"), index=True)
    above_scl: Mapped[bool] = mapped_column(Boolean, default=False, comment="规上工业企业")
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), comment="主营业务收入 元")
    tax: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), comment="税收 元")
    output: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), comment="产值 元")
    energy_tce: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="能耗 吨标准煤")
    class_: Mapped[str | None] = mapped_column("class", String(1), comment="亩均效益分类")
    class_year: Mapped[int | None] = mapped_column(SmallInteger)


SPATIAL_TABLES = ("towns", "blocks", "parcels", "buildings")


class FarExemption(Base):
    """A block's exemption from the 容积率 ≥ 2.0 rule (DOMAIN.md §1): a lower floor, or none, with its reason."""

    __tablename__ = "far_exemptions"
    __table_args__ = (
        CheckConstraint("min_far IS NULL OR min_far >= 0", name="far_exemptions_min_far_nonneg"),
        CheckConstraint("length(btrim(reason)) > 0", name="far_exemptions_reason_given"),
    )
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id", ondelete="CASCADE"), primary_key=True)
    min_far: Mapped[Decimal | None] = mapped_column(Numeric(5, 2),
                                                    comment="容积率下限 for the block; NULL = rule lifted")
    reason: Mapped[str] = mapped_column(Text, comment="豁免理由")
    document: Mapped[str | None] = mapped_column(Text, comment="批复文件 (approval reference)")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class JointDevelopment(Base):
    """A joint development (联合开发): merged parcels of several holders, with figures as saved."""

    __tablename__ = "joint_developments"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'cancelled')", name="joint_developments_status"),
        valid_geometry_check("joint_developments"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, comment="项目名称")
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    tolerance_m: Mapped[float] = mapped_column(Float, comment="相邻判定容差 m")
    rate: Mapped[float] = mapped_column(Float, comment="土地还原率")
    p50_yuan_per_mu: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="50年期地价 元/亩 (评估)")
    valuation_date: Mapped[dt.date] = mapped_column(Date)
    planned_floor_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="规划建筑面积 m²")
    term_end: Mapped[dt.date] = mapped_column(Date, comment="合并后土地使用权终止日期")
    land_area_m2: Mapped[float] = mapped_column(Float)
    figures: Mapped[dict[str, object]] = mapped_column(JSONB, comment="figures as computed when saved")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = mapped_column(geometry_column(), nullable=False)


class JointDevelopmentParcel(Base):
    """A parcel of a joint development; at most one active project per parcel (partial unique index)."""

    __tablename__ = "joint_development_parcels"
    __table_args__ = (
        Index("ux_jd_parcels_active", "parcel_id", unique=True, postgresql_where=text("active")),
    )
    jd_id: Mapped[int] = mapped_column(ForeignKey("joint_developments.id", ondelete="CASCADE"), primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class JointDevelopmentMember(Base):
    """A member of a joint development and its agreed share of the property (%)."""

    __tablename__ = "joint_development_members"
    __table_args__ = (
        CheckConstraint("share_pct > 0 AND share_pct <= 100", name="jd_members_share_range"),
        UniqueConstraint("jd_id", "owner", name="jd_members_owner_once"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jd_id: Mapped[int] = mapped_column(ForeignKey("joint_developments.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(Text, comment="成员（土地权属人）")
    share_pct: Mapped[Decimal] = mapped_column(Numeric(7, 4), comment="产权分配比例 %")
    planned_floor_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="成员规划建筑面积 m²")
