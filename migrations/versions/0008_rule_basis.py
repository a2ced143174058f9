"""Which minimum 容积率 applies (issue 14): the firm's industry code and the block's programme membership.

- ``enterprises.industry_code``: the firm's industry code of GB/T 4754 《国民经济行业分类》 (a section letter and up to
  four digits, e.g. ``C2438``, or digits alone, ``2438``, ``24``); NULL when unknown. Outside the programme's blocks
  an industrial parcel takes the national minimum 容积率 of its firms' industry (国土资发〔2008〕24号 表2).
- ``blocks.in_programme``: whether the block is one of the programme's old industrial blocks (列入攻坚行动, default
  true: every block recorded so far is). A block recorded outside the programme (an industrial area kept for its
  parcels) has its industrial parcels judged by the national minimum instead of the plan's 2.0.

Which floor applies is the planning rules' business (app/planning/far_basis.py, app/planning/rule_sql.py); the
schema only keeps the data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDUSTRY_CODE_CHECK = "industry_code IS NULL OR industry_code ~ '^([A-T]|[A-T]?[0-9]{2,4})$'"


def upgrade() -> None:
    op.add_column("enterprises", sa.Column("industry_code", sa.String(5), nullable=True,
                                           comment="行业代码 GB/T 4754 (e.g. C2438)"))
    op.create_check_constraint("enterprises_industry_code_form", "enterprises", INDUSTRY_CODE_CHECK)
    op.add_column("blocks", sa.Column("in_programme", sa.Boolean, nullable=False, server_default=sa.true(),
                                      comment="列入改造提升攻坚行动"))


def downgrade() -> None:
    op.drop_column("blocks", "in_programme")
    op.drop_constraint("enterprises_industry_code_form", "enterprises", type_="check")
    op.drop_column("enterprises", "industry_code")
