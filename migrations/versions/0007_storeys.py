"""Floor area as surveyed: storey heights, basements and garage storeys of buildings (issue 14).

- ``storey_hs``: the heights of the storeys above ground, bottom up (m, numeric(6,2) like ``floor_h``); NULL
  when every storey has ``floor_h``. One value per storey (as many as ``floors``), each > 0 and ≤ 100.
- ``basement_floors``, ``basement_use``, ``basement_area``: basement storeys (地下室层数), their use (garage,
  plant or commercial: 地下停车库, 设备用房, 地下商业) and their floor area, all storeys together (m²; NULL:
  footprint × basement storeys). A use and an area only with basement storeys, and a use with them.
- ``garage_floors``: garage storeys above the second floor (二层以上的停车库), at most ``floors`` − 2.

How they count towards 容积率 (甬规字〔2010〕122号《宁波市建设工程容积率计算规则》, 国土资发〔2008〕24号) is
the planning rules' business (app/planning/rule_sql.py); the schema only keeps the data consistent.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS = {
    # one height per storey, no NULL element, each in (0, 100] like floor_h
    "buildings_storey_hs_valid": "storey_hs IS NULL OR (array_ndims(storey_hs) = 1 "
                                 "AND cardinality(storey_hs) = floors AND array_position(storey_hs, NULL) IS NULL "
                                 "AND 0 < ALL(storey_hs) AND 100 >= ALL(storey_hs))",
    "buildings_basement_floors_range": "basement_floors IS NULL OR basement_floors BETWEEN 0 AND 20",
    "buildings_basement_use_known": "basement_use IS NULL OR basement_use IN ('garage', 'plant', 'commercial')",
    "buildings_basement_given": "CASE WHEN COALESCE(basement_floors, 0) = 0 "
                                "THEN basement_use IS NULL AND basement_area IS NULL "
                                "ELSE basement_use IS NOT NULL END",
    "buildings_basement_area_nonneg": "basement_area IS NULL OR basement_area >= 0",
    "buildings_garage_floors_range": "garage_floors IS NULL OR garage_floors BETWEEN 0 AND floors - 2",
}


def upgrade() -> None:
    op.add_column("buildings", sa.Column("storey_hs", ARRAY(sa.Numeric(6, 2)),
                                         comment="各层层高 m, bottom up; NULL: every storey floor_h"))
    op.add_column("buildings", sa.Column("basement_floors", sa.SmallInteger, comment="地下室层数"))
    op.add_column("buildings", sa.Column("basement_use", sa.String(16),
                                         comment="地下室用途: garage 停车库, plant 设备用房, commercial 商业"))
    op.add_column("buildings", sa.Column("basement_area", sa.Numeric(14, 2),
                                         comment="地下建筑面积 m², all basement storeys; NULL: footprint × storeys"))
    op.add_column("buildings", sa.Column("garage_floors", sa.SmallInteger, comment="二层以上停车库层数"))
    for name, condition in CHECKS.items():
        op.create_check_constraint(name, "buildings", condition)


def downgrade() -> None:
    for name in CHECKS:
        op.drop_constraint(name, "buildings", type_="check")
    for column in ("garage_floors", "basement_area", "basement_use", "basement_floors", "storey_hs"):
        op.drop_column("buildings", column)
