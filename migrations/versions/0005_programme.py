"""Programme: block lifecycle history, 亩均效益 classes, 十化 checklist, plans (issue 7).

- ``blocks.version``: row version, bumped by a trigger on every UPDATE of a block (whoever writes it: the
  API, the CLI, an import), exposed as the ETag of ``/api/blocks/{code}``; ``blocks.works_completed_on``:
  the date the works finished (the 2026-09-30 deadline).
- ``block_status_history``: every status or attribute change of a block with its date, who and a remark.
- ``enterprise_baselines``: the year each firm first counted as above-scale (规上), keyed by credit code
  (stable across re-imports), so that "new above-scale firms" can be counted against the 2026 target.
- ``block_checklists``: the 十化 and 三场景 checklist of a block, one row per item.
- ``block_plans``: a block's plan with the planned floor area (before/after) and incentive inputs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("blocks", sa.Column("version", sa.Integer, nullable=False, server_default="1",
                                      comment="row version (ETag), bumped on every update"))
    op.add_column("blocks", sa.Column("works_completed_on", sa.Date, comment="施工完成日期"))
    op.execute("""
        CREATE FUNCTION blocks_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.version := OLD.version + 1;
            RETURN NEW;
        END
        $$
    """)
    op.execute("CREATE TRIGGER blocks_version BEFORE UPDATE ON blocks FOR EACH ROW "
               "EXECUTE FUNCTION blocks_bump_version()")

    op.create_table(
        "block_status_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("block_id", sa.Integer, sa.ForeignKey("blocks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.String(16), nullable=False, comment="advance, correct, reopen or update"),
        sa.Column("from_status", sa.String(16), sa.ForeignKey("block_statuses.code")),
        sa.Column("to_status", sa.String(16), sa.ForeignKey("block_statuses.code"), nullable=False),
        sa.Column("changed_on", sa.Date, nullable=False, comment="变更日期 (effective date)"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False, comment="经办人"),
        sa.Column("remark", sa.Text, comment="备注"),
        sa.Column("changes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb"),
                  comment="attributes changed: {name: [old, new]}"),
        sa.Column("block_version", sa.Integer, nullable=False, comment="blocks.version after the change"),
        sa.CheckConstraint("event IN ('advance', 'correct', 'reopen', 'update')", name="block_history_event"),
        sa.CheckConstraint("length(btrim(actor)) > 0", name="block_history_actor_given"),
    )
    op.create_index("ix_block_status_history_block", "block_status_history", ["block_id", "changed_on", "id"])

    op.create_table(
        "enterprise_baselines",
        sa.Column("credit_code", sa.String(18), primary_key=True, comment="统一社会信用代码"),
        sa.Column("above_scl_since", sa.SmallInteger, comment="year the firm first counted as above-scale (规上)"),
        sa.Column("source", sa.Text, nullable=False, comment="where the year comes from"),
        sa.CheckConstraint("above_scl_since IS NULL OR above_scl_since BETWEEN 1949 AND 2100",
                           name="enterprise_baselines_year_range"),
    )

    op.create_table(
        "block_checklists",
        sa.Column("block_id", sa.Integer, sa.ForeignKey("blocks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("item", sa.String(40), primary_key=True, comment="十化 / 三场景 item code"),
        sa.Column("status", sa.String(8), nullable=False, comment="met, partly or not_met"),
        sa.Column("evidence", sa.Text, comment="佐证材料"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('met', 'partly', 'not_met')", name="block_checklists_status"),
    )

    op.create_table(
        "block_plans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("block_id", sa.Integer, sa.ForeignKey("blocks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("remark", sa.Text),
        sa.Column("mode", sa.String(16), sa.ForeignKey("renovation_modes.code")),
        sa.Column("industry", sa.Text, comment="产业定位"),
        sa.Column("plan_year", sa.SmallInteger),
        sa.Column("planned_floor_area_m2", sa.Numeric(14, 2), comment="规划计容建筑面积 m² (whole block)"),
        sa.Column("planned_footprint_m2", sa.Numeric(14, 2), comment="规划基底面积 m² (whole block)"),
        sa.Column("parcel_floor_areas", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb"),
                  comment="{parcel code: planned counted floor area m²}"),
        sa.Column("tax_assumption_wan_per_mu", sa.Numeric(8, 2), comment="assumed 亩均税收 after renovation 万元/亩"),
        sa.Column("difficulty_band", sa.SmallInteger, comment="难度档 for the town reward"),
        sa.Column("relocated_floor_area_m2", sa.Numeric(14, 2), comment="floor area moved into parks m²"),
        sa.Column("figures", JSONB, nullable=False, comment="before/after as computed when saved"),
        sa.Column("rules_version", sa.Text, nullable=False),
        sa.CheckConstraint("planned_floor_area_m2 IS NULL OR planned_floor_area_m2 >= 0",
                           name="block_plans_floor_nonneg"),
        sa.CheckConstraint("planned_footprint_m2 IS NULL OR planned_footprint_m2 >= 0",
                           name="block_plans_footprint_nonneg"),
        sa.CheckConstraint("relocated_floor_area_m2 IS NULL OR relocated_floor_area_m2 >= 0",
                           name="block_plans_relocated_nonneg"),
        sa.CheckConstraint("difficulty_band IS NULL OR difficulty_band >= 1", name="block_plans_band_positive"),
    )
    op.create_index("ix_block_plans_block", "block_plans", ["block_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_block_plans_block", table_name="block_plans")
    op.drop_table("block_plans")
    op.drop_table("block_checklists")
    op.drop_table("enterprise_baselines")
    op.drop_index("ix_block_status_history_block", table_name="block_status_history")
    op.drop_table("block_status_history")
    op.execute("DROP TRIGGER IF EXISTS blocks_version ON blocks")
    op.execute("DROP FUNCTION IF EXISTS blocks_bump_version()")
    op.drop_column("blocks", "works_completed_on")
    op.drop_column("blocks", "version")
