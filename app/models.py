"""Tables (SQLAlchemy 2 + GeoAlchemy2). The schema itself is created only by Alembic (migrations/).

Geometry is stored in the storage CRS (``RENEWAL_SRID``, default EPSG:4549, metres) as valid, non-empty
MultiPolygons; areas and plot ratios are planar in that CRS (docs/rules.md §2.3).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DEFAULT_SRID = 4549
"""The default storage CRS: CGCS2000 / 3-degree Gauss-Kruger CM 120E (metres). The migrations create the
geometry columns in the configured ``RENEWAL_SRID``; the code reads the storage CRS from the database
(:func:`app.db.schema.storage_srid`) or from the settings, never from these declarations."""

# The plan's programme steps (实施步骤) and renovation modes (改造路径), with their labels (docs/rules.md §6.1).
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
# 甬规字〔2010〕122号《宁波市建设工程容积率计算规则》: basement uses with their own 容积率 factor (issue 14).
BASEMENT_USES: tuple[tuple[str, str, str], ...] = (
    ("garage", "地下停车库", "Garage"),
    ("plant", "设备用房", "Plant room"),
    ("commercial", "地下商业", "Commercial"),
)


def geometry_column() -> Geometry:
    """A MultiPolygon column in the storage CRS, with a GiST index."""
    return Geometry("MULTIPOLYGON", srid=DEFAULT_SRID, spatial_index=True)


def valid_geometry_check(table: str) -> CheckConstraint:
    """Check constraint: the geometry is valid and not empty."""
    return CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name=f"{table}_geom_valid")


class Base(DeclarativeBase):
    """Declarative base of all tables."""


class BlockStatus(Base):
    """Programme step of a block (实施步骤 of the plan)."""

    __tablename__ = "block_statuses"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label_zh: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(SmallInteger, unique=True)


class RenovationMode(Base):
    """Renovation mode of a block (改造路径 of the plan)."""

    __tablename__ = "renovation_modes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label_zh: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)


class BuildingUse(Base):
    """Use of a building; office, dormitory and canteen are supporting facilities (docs/rules.md §3.8)."""

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
    __table_args__ = (
        valid_geometry_check("blocks"),
        CheckConstraint("plan_year IS NULL OR plan_year BETWEEN 2000 AND 2100", name="blocks_plan_year_range"),
    )
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
    # issue 7 (migration 0005): row version bumped by a trigger on every update (the ETag), works finished on
    version: Mapped[int] = mapped_column(Integer, server_default="1",
                                         comment="row version (ETag), bumped on every update")
    works_completed_on: Mapped[dt.date | None] = mapped_column(Date, comment="施工完成日期")
    # issue 14 (migration 0008): outside the programme, industrial parcels take the national minimum by industry
    in_programme: Mapped[bool] = mapped_column(Boolean, server_default=true(), comment="列入改造提升攻坚行动")


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
        # issue 14 (migration 0007): storeys, basements and garages as surveyed
        CheckConstraint("storey_hs IS NULL OR (array_ndims(storey_hs) = 1 AND cardinality(storey_hs) = floors "
                        "AND array_position(storey_hs, NULL) IS NULL AND 0 < ALL(storey_hs) "
                        "AND 100 >= ALL(storey_hs))", name="buildings_storey_hs_valid"),
        CheckConstraint("basement_floors IS NULL OR basement_floors BETWEEN 0 AND 20",
                        name="buildings_basement_floors_range"),
        CheckConstraint("basement_use IS NULL OR basement_use IN ('garage', 'plant', 'commercial')",
                        name="buildings_basement_use_known"),
        CheckConstraint("CASE WHEN COALESCE(basement_floors, 0) = 0 "
                        "THEN basement_use IS NULL AND basement_area IS NULL "
                        "ELSE basement_use IS NOT NULL END", name="buildings_basement_given"),
        CheckConstraint("basement_area IS NULL OR basement_area >= 0", name="buildings_basement_area_nonneg"),
        CheckConstraint("garage_floors IS NULL OR garage_floors BETWEEN 0 AND floors - 2",
                        name="buildings_garage_floors_range"),
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
    # issue 14 (migration 0007): storey heights bottom up (NULL: every storey floor_h), basements (storeys, use,
    # floor area of all of them; NULL area: footprint × storeys) and garage storeys above the second floor
    storey_hs: Mapped[list[Decimal] | None] = mapped_column(
        ARRAY(Numeric(6, 2)), comment="各层层高 m, bottom up; NULL: every storey floor_h")
    basement_floors: Mapped[int | None] = mapped_column(SmallInteger, comment="地下室层数")
    basement_use: Mapped[str | None] = mapped_column(
        String(16), comment="地下室用途: garage 停车库, plant 设备用房, commercial 商业")
    basement_area: Mapped[Decimal | None] = mapped_column(
        Numeric(14, 2), comment="地下建筑面积 m², all basement storeys; NULL: footprint × storeys")
    garage_floors: Mapped[int | None] = mapped_column(SmallInteger, comment="二层以上停车库层数")


class Enterprise(Base):
    """An enterprise (企业) with its yearly figures in yuan and its 亩均效益 class as published."""

    __tablename__ = "enterprises"
    __table_args__ = (
        CheckConstraint("class IS NULL OR class IN ('A','B','C','D')", name="enterprises_class_abcd"),
        CheckConstraint("industry_code IS NULL OR industry_code ~ '^([A-T]|[A-T]?[0-9]{2,4})$'",
                        name="enterprises_industry_code_form"),
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
    # issue 14 (migration 0008): GB/T 4754 industry code, for the national minimum 容积率 by industry
    industry_code: Mapped[str | None] = mapped_column(String(5), comment="行业代码 GB/T 4754 (e.g. C2438)")




class FarExemption(Base):
    """A block's exemption from the 容积率 ≥ 2.0 rule (docs/rules.md §4.8): a lower floor, or none, with its reason."""

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
    # issue 8 (migration 0006): row version (ETag of /api/blocks/{code}/far-exemption), bumped on every update
    version: Mapped[int] = mapped_column(Integer, server_default="1", comment="row version (ETag)")


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


# ---------------------------------------------------------------- the programme (issue 7, migration 0005)
class BlockStatusHistory(Base):
    """A status or attribute change of a block (实施步骤), with its date, who and a remark."""

    __tablename__ = "block_status_history"
    __table_args__ = (
        CheckConstraint("event IN ('advance', 'correct', 'reopen', 'update')", name="block_history_event"),
        CheckConstraint("length(btrim(actor)) > 0", name="block_history_actor_given"),
        Index("ix_block_status_history_block", "block_id", "changed_on", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(16), comment="advance, correct, reopen or update")
    from_status: Mapped[str | None] = mapped_column(ForeignKey("block_statuses.code"))
    to_status: Mapped[str] = mapped_column(ForeignKey("block_statuses.code"))
    changed_on: Mapped[dt.date] = mapped_column(Date, comment="变更日期 (effective date)")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text, comment="经办人")
    remark: Mapped[str | None] = mapped_column(Text, comment="备注")
    changes: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"),
                                                       comment="attributes changed: {name: [old, new]}")
    block_version: Mapped[int] = mapped_column(Integer, comment="blocks.version after the change")


class EnterpriseBaseline(Base):
    """The year a firm first counted as above-scale (规上), by credit code: "new" firms for the 2026 target."""

    __tablename__ = "enterprise_baselines"
    __table_args__ = (
        CheckConstraint("above_scl_since IS NULL OR above_scl_since BETWEEN 1949 AND 2100",
                        name="enterprise_baselines_year_range"),
    )
    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True, comment="统一社会信用代码")
    above_scl_since: Mapped[int | None] = mapped_column(SmallInteger,
                                                        comment="year the firm first counted as above-scale (规上)")
    source: Mapped[str] = mapped_column(Text, comment="where the year comes from")


class BlockChecklistItem(Base):
    """One 十化 / 三场景 item of a block's checklist: met, partly or not met, with evidence."""

    __tablename__ = "block_checklists"
    __table_args__ = (CheckConstraint("status IN ('met', 'partly', 'not_met')", name="block_checklists_status"),)
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(40), primary_key=True, comment="十化 / 三场景 item code")
    status: Mapped[str] = mapped_column(String(8), comment="met, partly or not_met")
    evidence: Mapped[str | None] = mapped_column(Text, comment="佐证材料")
    actor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BlockPlan(Base):
    """A block's plan: mode, industry, planned floor area (before/after) and incentive inputs, figures as saved."""

    __tablename__ = "block_plans"
    __table_args__ = (
        CheckConstraint("planned_floor_area_m2 IS NULL OR planned_floor_area_m2 >= 0",
                        name="block_plans_floor_nonneg"),
        CheckConstraint("planned_footprint_m2 IS NULL OR planned_footprint_m2 >= 0",
                        name="block_plans_footprint_nonneg"),
        CheckConstraint("relocated_floor_area_m2 IS NULL OR relocated_floor_area_m2 >= 0",
                        name="block_plans_relocated_nonneg"),
        CheckConstraint("difficulty_band IS NULL OR difficulty_band >= 1", name="block_plans_band_positive"),
        Index("ix_block_plans_block", "block_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    remark: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str | None] = mapped_column(ForeignKey("renovation_modes.code"))
    industry: Mapped[str | None] = mapped_column(Text, comment="产业定位")
    plan_year: Mapped[int | None] = mapped_column(SmallInteger)
    planned_floor_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2),
                                                                  comment="规划计容建筑面积 m² (whole block)")
    planned_footprint_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2),
                                                                 comment="规划基底面积 m² (whole block)")
    parcel_floor_areas: Mapped[dict[str, object]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"), comment="{parcel code: planned counted floor area m²}")
    tax_assumption_wan_per_mu: Mapped[Decimal | None] = mapped_column(
        Numeric(8, 2), comment="assumed 亩均税收 after renovation 万元/亩")
    difficulty_band: Mapped[int | None] = mapped_column(SmallInteger, comment="难度档 for the town reward")
    relocated_floor_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2),
                                                                    comment="floor area moved into parks m²")
    figures: Mapped[dict[str, object]] = mapped_column(JSONB, comment="before/after as computed when saved")
    rules_version: Mapped[str] = mapped_column(Text)


# ---------------------------------------------------------------- trust (issue 8, migration 0006)
USER_ROLES: tuple[tuple[str, str, str], ...] = (
    ("viewer", "浏览", "Viewer: browses the map, figures and reports"),
    ("town_editor", "镇街编辑", "Town editor: edits the blocks, parcels and reports of its own town"),
    ("reviewer", "审核", "Reviewer (bureau): compliance decisions, FAR exemptions, joint developments"),
    ("admin", "管理员", "Admin: accounts, reopening accepted blocks, imports that replace data"),
)


class User(Base):
    """An account: its argon2id password hash, one role and, for a town editor, the town it edits.

    ``town_code`` has no foreign key on purpose: ``renewal sample --replace`` truncates the towns with
    CASCADE, which would empty this table too; the code is checked against ``towns`` when it is set.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'town_editor', 'reviewer', 'admin')", name="users_role"),
        CheckConstraint("(role = 'town_editor') = (town_code IS NOT NULL)", name="users_town_iff_editor"),
        CheckConstraint("username ~ '^[a-z0-9][a-z0-9_.@-]{0,63}$'", name="users_username_form"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, comment="login name (lower case)")
    password_hash: Mapped[str] = mapped_column(Text, comment="argon2id hash (PHC string)")
    role: Mapped[str] = mapped_column(String(16), comment="viewer, town_editor, reviewer or admin")
    town_code: Mapped[str | None] = mapped_column(String(12), comment="区划代码 of the town a town editor edits")
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    version: Mapped[int] = mapped_column(Integer, server_default="1", comment="row version (ETag)")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditEntry(Base):
    """One write (API or CLI): who, when, what, and the values before and after. Append-only: a trigger
    refuses UPDATE, DELETE and TRUNCATE (migration 0006)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_key", "id"),
        Index("ix_audit_log_actor", "actor", "id"),
        Index("ix_audit_log_at", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                            comment="start of the writing transaction")
    actor: Mapped[str] = mapped_column(Text, comment="user name, or cli:<os user>")
    action: Mapped[str] = mapped_column(String(32), comment="create, update, delete, import...")
    entity: Mapped[str] = mapped_column(String(40), comment="what was written: user, block, far_exemption...")
    entity_key: Mapped[str | None] = mapped_column(Text, comment="its code, id or name")
    before: Mapped[dict[str, object] | None] = mapped_column(JSONB, comment="values before (null: created)")
    after: Mapped[dict[str, object] | None] = mapped_column(JSONB, comment="values after (null: deleted)")
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("txid_current()"),
                                      comment="transaction id: rows of one write share it")


class LoginFailure(Base):
    """A failed login, counted by user name and by client address for the login rate limit."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Text, comment="user:<name> or ip:<address>")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
