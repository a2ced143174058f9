"""Tiles: data_version, bumped by statement-level triggers on every table the vector tiles read.

The tile cache of each server process reads ``data_version.version`` (at most once a second) and drops its
tiles when the number moved. The trigger runs BEFORE each writing statement, so a transaction takes the
row lock at its first write to these tables and holds it to commit: the new number becomes visible with
the data it stands for, and writers to these tables are serialised (no lock-order deadlocks among them).
TRUNCATE and COPY fire the trigger too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("towns", "blocks", "parcels", "buildings", "far_exemptions")


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0",
                  comment="Bumped by every statement that writes a table the tiles read"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="data_version_one_row"),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")
    op.execute("""
        CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_version SET version = version + 1, changed_at = now() WHERE id = 1;
            RETURN NULL;
        END
        $$
    """)
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_data_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
                   f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_data_version()")
    op.drop_table("data_version")
