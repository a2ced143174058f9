"""Joint developments (联合开发): the project, its parcels (one active project per parcel) and members.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

from app.settings import get_settings

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "joint_developments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, comment="项目名称"),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("tolerance_m", sa.Float, nullable=False, comment="相邻判定容差 m"),
        sa.Column("rate", sa.Float, nullable=False, comment="土地还原率"),
        sa.Column("p50_yuan_per_mu", sa.Numeric(14, 2), comment="50年期地价 元/亩 (评估)"),
        sa.Column("valuation_date", sa.Date, nullable=False),
        sa.Column("planned_floor_area_m2", sa.Numeric(14, 2), comment="规划建筑面积 m²"),
        sa.Column("term_end", sa.Date, nullable=False, comment="合并后土地使用权终止日期"),
        sa.Column("land_area_m2", sa.Float, nullable=False),
        sa.Column("figures", JSONB, nullable=False, comment="figures as computed when saved"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=get_settings().srid, spatial_index=False), nullable=False),
        sa.CheckConstraint("status IN ('active', 'cancelled')", name="joint_developments_status"),
        sa.CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="joint_developments_geom_valid"),
    )
    op.create_index("idx_joint_developments_geom", "joint_developments", ["geom"], postgresql_using="gist")
    op.create_table(
        "joint_development_parcels",
        sa.Column("jd_id", sa.Integer, sa.ForeignKey("joint_developments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("parcel_id", sa.Integer, sa.ForeignKey("parcels.id"), primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    # A parcel belongs to one active joint development at most, even under concurrent saves.
    op.create_index("ux_jd_parcels_active", "joint_development_parcels", ["parcel_id"], unique=True,
                    postgresql_where=sa.text("active"))
    op.create_table(
        "joint_development_members",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("jd_id", sa.Integer, sa.ForeignKey("joint_developments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("owner", sa.Text, nullable=False, comment="成员（土地权属人）"),
        sa.Column("share_pct", sa.Numeric(7, 4), nullable=False, comment="产权分配比例 %"),
        sa.Column("planned_floor_area_m2", sa.Numeric(14, 2), comment="成员规划建筑面积 m²"),
        sa.CheckConstraint("share_pct > 0 AND share_pct <= 100", name="jd_members_share_range"),
        sa.UniqueConstraint("jd_id", "owner", name="jd_members_owner_once"),
    )
    # The vector-tile cache (0003) drops its tiles when a project is saved or changed.
    op.execute("CREATE TRIGGER joint_developments_data_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
               "ON joint_developments FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()")


def downgrade() -> None:
    op.drop_table("joint_development_members")
    op.drop_table("joint_development_parcels")
    op.drop_index("idx_joint_developments_geom", table_name="joint_developments")
    op.drop_table("joint_developments")
