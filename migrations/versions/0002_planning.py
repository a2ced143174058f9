"""Planning: per-block FAR exemptions (容积率 floor lowered or lifted for a block, with its reason).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "far_exemptions",
        sa.Column("block_id", sa.Integer, sa.ForeignKey("blocks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("min_far", sa.Numeric(5, 2), comment="容积率下限 for the block; NULL = rule lifted"),
        sa.Column("reason", sa.Text, nullable=False, comment="豁免理由"),
        sa.Column("document", sa.Text, comment="批复文件 (approval reference)"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("min_far IS NULL OR min_far >= 0", name="far_exemptions_min_far_nonneg"),
        sa.CheckConstraint("length(btrim(reason)) > 0", name="far_exemptions_reason_given"),
    )


def downgrade() -> None:
    op.drop_table("far_exemptions")
