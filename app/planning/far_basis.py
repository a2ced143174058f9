"""Which minimum 容积率 applies to a parcel, and why (``rule_basis``): the pure-Python twin of
:func:`app.planning.rule_sql.far_basis_sql` and :func:`~app.planning.rule_sql.far_floor_sql` (docs/rules.md §9.3).

- **Land use** (用地性质, ``parcels.land_use``) is read in both schemes the data carry: the national
  classification of land and sea use (《国土空间调查、规划、用途管制用地用海分类指南》: 1001 工业用地 and
  100101–100103 一类/二类/三类工业用地; 11 仓储用地 with 1101 物流仓储用地, 110101–110103, and 1102 储备库用地)
  and the older GB 50137-2011 letters (M, M1–M3 工业用地; W, W1–W3 物流仓储用地); failing a code, a Chinese name
  with 仓储, 物流 or 储备库 is warehouse land and one with 工业 industrial. Anything else recorded is other land;
  an empty value is unrecorded and read as industrial (assumed: the programme's blocks are industrial blocks, and
  results before this rule treated every parcel so).
- **Industrial land in a programme block** (``blocks.in_programme``): the plan's floor ``far_min`` (2.0), or the
  block's FAR exemption (``exemption``).
- **Industrial land outside the programme**: the national minimum by industry (国土资发〔2008〕24号 表2, by GB/T
  4754-2002 division) of the parcel's firms' industry codes (``enterprises.industry_code``); several firms: the
  lowest of their floors (assumed: no floor is claimed that one firm's industry does not support); no firm with a
  code in the table: no floor.
- **Warehouse land**: ``warehouse_far_min`` (default none: reported only).
- Otherwise **none**: no floor is claimed (outcome ``not_applicable``, pass null).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from app.planning.config import PlanningRules

LandUseClass = Literal["industrial", "warehouse", "other", "unrecorded"]
Basis = Literal["programme", "exemption", "national_industry", "warehouse", "none"]
BASES: tuple[Basis, ...] = ("programme", "exemption", "national_industry", "warehouse", "none")
"""The values of ``rule_basis`` for ``far_min``, as lists filter them (``basis=``)."""

BASIS_LABELS: dict[str, tuple[str, str]] = {
    "programme": ("攻坚行动计划下限", "programme floor"),
    "exemption": ("区块容积率豁免", "block exemption"),
    "national_industry": ("国家行业下限", "national minimum by industry"),
    "warehouse": ("仓储用地下限", "warehouse floor"),
    "none": ("不设下限", "no floor claimed"),
    "national": ("国家标准", "national standard"),
}
"""How each basis reads (中文, English): lists, cards, reports. ``national`` is the basis of the other rules whose
threshold is a national one."""

# Codes after normalisation (full-width letters and digits folded, spaces removed, upper case).
INDUSTRIAL_CODES = ("1001", "100101", "100102", "100103", "M", "M1", "M2", "M3")
WAREHOUSE_CODES = ("11", "1101", "1102", "110101", "110102", "110103", "W", "W1", "W2", "W3")
WAREHOUSE_WORDS = ("仓储", "物流", "储备库")
INDUSTRIAL_WORDS = ("工业",)
_FULL_WIDTH = "０１２３４５６７８９ＭＷｍｗ"
_HALF_WIDTH = "0123456789MWMW"
_FOLD = str.maketrans(_FULL_WIDTH, _HALF_WIDTH)
_SPACE = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"[^0-9]")

# GB/T 4754-2011/2017 manufacturing divisions (and groups where a division merged two of 2002) → the GB/T
# 4754-2002 division whose row of the 2008 table applies. Divisions 13–28 kept their numbers; 29 merged 2002's 29
# (rubber) and 30 (plastics), told apart by group (291 rubber, 292 plastics); 30–42 are 2002's 31–43 moved down by
# one (37 transport equipment split into 36 cars and 37 other transport, both 2002's 37; 24 took over arts and
# crafts from 2002's 42, both at 1.0); 43 (repair of metal products and machinery) is new and has no row.
CONCORDANCE_2017: dict[str, str] = {
    **{f"{d}": f"{d}" for d in range(13, 29)},
    "29": "29", "291": "29", "292": "30",
    "30": "31", "31": "32", "32": "33", "33": "34", "34": "35", "35": "36", "36": "37", "37": "37",
    "38": "39", "39": "40", "40": "41", "41": "42", "42": "43",
}


def normalise(text: str | None) -> str:
    """``text`` as compared: full-width digits and M/W folded, white space removed, upper case ('' for None)."""
    return _SPACE.sub("", (text or "").translate(_FOLD)).upper()


def land_use_class(land_use: str | None) -> LandUseClass:
    """The class of a recorded land use (用地性质): industrial, warehouse, other, or unrecorded (empty)."""
    n = normalise(land_use)
    if not n:
        return "unrecorded"
    if n in INDUSTRIAL_CODES:
        return "industrial"
    if n in WAREHOUSE_CODES:
        return "warehouse"
    if any(w in n for w in WAREHOUSE_WORDS):
        return "warehouse"
    if any(w in n for w in INDUSTRIAL_WORDS):
        return "industrial"
    return "other"


def industry_digits(code: str | None) -> str:
    """The digits of an industry code (``C2438`` → ``2438``; '' for None or a bare section letter)."""
    return _NOT_DIGIT.sub("", code or "")


def floor_table(rules: PlanningRules) -> dict[str, float]:
    """The national minimum by the leading digits of an industry code as the data write it: the 2008 table
    (``national_far_min``, by 2002 division) through :data:`CONCORDANCE_2017` when codes are GB/T 4754-2011/2017
    (``industry_code_edition`` 2017), else as published. Longest matching prefix wins; a bare 29 under 2017 takes
    the lower of rubber and plastics (no floor claimed beyond what both support)."""
    table = dict(rules.national_far_min)
    if rules.industry_code_edition == "2002":
        return table
    out = {code: table[old] for code, old in CONCORDANCE_2017.items() if old in table}
    if "291" in out and "292" in out:
        out["29"] = min(out["291"], out["292"])
    return out


def national_floor(code: str | None, table: Mapping[str, float]) -> float | None:
    """The national minimum of one industry code under ``table`` (:func:`floor_table`): the entry of the longest
    prefix of its digits, None without one."""
    digits = industry_digits(code)
    keys = [k for k in table if digits.startswith(k)]
    return table[max(keys, key=len)] if keys else None


def industry_floor(codes: Iterable[str | None], table: Mapping[str, float]) -> float | None:
    """The national minimum of a parcel's firms: the lowest over the codes that have one; None when none does."""
    floors = [f for f in (national_floor(c, table) for c in codes) if f is not None]
    return min(floors) if floors else None


@dataclass(frozen=True, slots=True)
class FarBasis:
    """The minimum 容积率 that applies and why."""

    basis: Basis
    floor: float | None
    """The floor (None: no floor claimed, or the block's exemption lifts the rule)."""
    land_use_class: LandUseClass


def applicable_floor(land_use: str | None, in_programme: bool, industry_codes: Iterable[str | None],
                     rules: PlanningRules, *, exemption: bool = False,
                     exemption_min_far: float | None = None) -> FarBasis:
    """Which floor applies to a parcel: the twin of ``rule_sql.far_basis_sql``/``far_floor_sql`` (see the module).

    ``exemption``: the parcel's block has a FAR exemption (``exemption_min_far`` its floor, None: rule lifted).
    """
    cls = land_use_class(land_use)
    if cls in ("industrial", "unrecorded"):
        if in_programme:
            if exemption:
                return FarBasis("exemption", exemption_min_far, cls)
            return FarBasis("programme", rules.far_min, cls)
        floor = industry_floor(industry_codes, floor_table(rules))
        return FarBasis("none", None, cls) if floor is None else FarBasis("national_industry", floor, cls)
    if cls == "warehouse" and rules.warehouse_far_min is not None:
        return FarBasis("warehouse", rules.warehouse_far_min, cls)
    return FarBasis("none", None, cls)


def table_params(rules: PlanningRules) -> tuple[list[str], list[float]]:
    """:func:`floor_table` as the two arrays SQL binds (``:national_far_codes``, ``:national_far_floors``)."""
    table = floor_table(rules)
    codes = sorted(table)
    return codes, [table[c] for c in codes]
