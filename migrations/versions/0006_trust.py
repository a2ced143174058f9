"""Trust: users and roles, audit trail, row versions (issue 8).

- ``users``: accounts with an argon2id hash, one role (viewer, town_editor, reviewer, admin) and, for a town
  editor, its town code; ``version`` is the ETag of ``/api/users/{name}``.
- ``audit_log``: one row per write (who, when, what, before and after), written in the writer's own
  transaction. Append-only in the database: a trigger refuses UPDATE, DELETE and TRUNCATE, whoever asks.
- ``login_failures``: failed logins, counted by user name and by client address for the rate limit.
- ``far_exemptions.version``: the ETag of ``/api/blocks/{code}/far-exemption``.

Row versions follow issue 7's pattern (migration 0005): a BEFORE UPDATE trigger bumps ``version``, whoever
writes the row, through its function ``blocks_bump_version()`` (which only does ``NEW.version :=
OLD.version + 1`` and so serves any table with a ``version`` column).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True, comment="login name (lower case)"),
        sa.Column("password_hash", sa.Text, nullable=False, comment="argon2id hash (PHC string)"),
        sa.Column("role", sa.String(16), nullable=False, comment="viewer, town_editor, reviewer or admin"),
        sa.Column("town_code", sa.String(12), comment="区划代码 of the town a town editor edits"),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("version", sa.Integer, nullable=False, server_default="1", comment="row version (ETag)"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("role IN ('viewer', 'town_editor', 'reviewer', 'admin')", name="users_role"),
        sa.CheckConstraint("(role = 'town_editor') = (town_code IS NOT NULL)", name="users_town_iff_editor"),
        sa.CheckConstraint("username ~ '^[a-z0-9][a-z0-9_.@-]{0,63}$'", name="users_username_form"),
    )
    op.execute("CREATE TRIGGER users_version BEFORE UPDATE ON users FOR EACH ROW "
               "EXECUTE FUNCTION blocks_bump_version()")

    op.add_column("far_exemptions", sa.Column("version", sa.Integer, nullable=False, server_default="1",
                                              comment="row version (ETag)"))
    op.execute("CREATE TRIGGER far_exemptions_version BEFORE UPDATE ON far_exemptions FOR EACH ROW "
               "EXECUTE FUNCTION blocks_bump_version()")

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now(),
                  comment="start of the writing transaction"),
        sa.Column("actor", sa.Text, nullable=False, comment="user name, or cli:<os user>"),
        sa.Column("action", sa.String(32), nullable=False, comment="create, update, delete, import..."),
        sa.Column("entity", sa.String(40), nullable=False, comment="what was written: user, block, far_exemption..."),
        sa.Column("entity_key", sa.Text, comment="its code, id or name"),
        sa.Column("before", JSONB, comment="values before (null: created)"),
        sa.Column("after", JSONB, comment="values after (null: deleted)"),
        sa.Column("txid", sa.BigInteger, nullable=False, server_default=sa.text("txid_current()"),
                  comment="transaction id: rows of one write share it"),
        sa.CheckConstraint("length(btrim(actor)) > 0", name="audit_log_actor_given"),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_key", "id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    # Append-only for everyone, the table's owner included (privileges do not bind an owner; a trigger does).
    op.execute("""
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
    """)
    op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW "
               "EXECUTE FUNCTION audit_log_append_only()")
    op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT "
               "EXECUTE FUNCTION audit_log_append_only()")
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC")

    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("key", sa.Text, nullable=False, comment="user:<name> or ip:<address>"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_key_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.execute("DROP TABLE audit_log")  # DROP is not refused: the trigger guards rows, not the schema
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.execute("DROP TRIGGER IF EXISTS far_exemptions_version ON far_exemptions")
    op.drop_column("far_exemptions", "version")
    op.execute("DROP TRIGGER IF EXISTS users_version ON users")
    op.drop_table("users")
