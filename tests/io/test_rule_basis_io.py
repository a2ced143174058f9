"""Import and export of what decides the 容积率 floor (issue 14, docs/rules.md §9.3): the firms' industry codes
(``ind_code``) and the blocks' programme membership (``in_prog``)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.io import importer
from tests import handmade
from tests.io.conftest import LIMITS

ENTERPRISES = (
    "credit_code,name,parcel_code,ind_code\n"
    "91330282MA2AAAAA0X,慈溪市甬兴电器有限公司,330282107001GB00001,2438\n"
    "91330282MA2BBBBB1Y,慈溪市长河轴承有限公司,330282107001GB00003,c 3451\n"
    "91330282MA2CCCCC2Z,某企业,330282107001GB00002,\n"
)


def test_industry_codes_are_imported_with_their_section(loaded, tmp_path):
    path = tmp_path / "enterprises.csv"
    path.write_text(ENTERPRISES, encoding="utf-8")
    assert importer.import_file(loaded, path, "enterprises", limits=LIMITS).inserted == 3
    with loaded.connect() as conn:
        codes = dict(conn.execute(text("SELECT credit_code, industry_code FROM enterprises")).all())
    assert codes == {"91330282MA2AAAAA0X": "C2438", "91330282MA2BBBBB1Y": "C3451", "91330282MA2CCCCC2Z": None}


@pytest.mark.parametrize(("value", "why"), [("C99", "division 99"), ("F2438", "section C"), ("24X", "industry code")])
def test_bad_industry_codes_stop_the_import(loaded, tmp_path, value, why):
    path = tmp_path / "enterprises.csv"
    path.write_text(f"credit_code,name,parcel_code,ind_code\n91330282MA2AAAAA0X,甲,330282107001GB00001,{value}\n",
                    encoding="utf-8")
    with pytest.raises(importer.ImportRejected, match=why):
        importer.import_file(loaded, path, "enterprises", limits=LIMITS)
    with loaded.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM enterprises")).scalar_one() == 0


def test_block_programme_membership_round_trip(loaded, tmp_path):
    with loaded.connect() as conn:
        assert conn.execute(text("SELECT in_programme FROM blocks")).scalar_one() is True  # the default
    block = handmade.layers()["blocks"].assign(in_prog=[False])
    path = handmade.write(block, tmp_path / "blocks.gpkg")
    assert importer.import_file(loaded, path, "blocks", mode="upsert", limits=LIMITS).updated == 1
    with loaded.connect() as conn:
        assert conn.execute(text("SELECT in_programme FROM blocks")).scalar_one() is False
