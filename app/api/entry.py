"""Entry thresholds of a proposed project on a parcel (准入门槛): ``POST /api/parcels/{code}/entry-check``.

The body describes the project (money in yuan, areas in m²); the answer lists every threshold with the project's
value, the threshold, pass / fail / not_checked, the shortfall with its unit and the threshold's source
(:mod:`app.planning.entry`). Nothing is written. Bad input answers 400 with the JSON error body naming the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ConnectionDep, RulesDep
from app.planning import entry

router = APIRouter(prefix="/api", tags=["entry 准入"])

_YUAN = 1e13   # 10万亿元: more than any single project
_AREA = 1e8    # 100 km²


class ProjectIn(BaseModel):
    """A proposed project on the parcel (建设项目): investment, floor area, storeys, areas, expected tax and output."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"example": {
        "invest_yuan": 60_000_000, "floor_area_m2": 24_000, "storeys": 4, "storey_heights_m": [9, 4.5, 4.5, 4.5],
        "footprint_m2": 5_000, "green_m2": 1_000, "supporting_land_m2": 500, "supporting_floor_area_m2": 2_400,
        "tax_yuan": 2_400_000, "output_yuan": 90_000_000, "industry_code": "C3481"}})

    invest_yuan: float = Field(ge=0, le=_YUAN, description="固定资产投资, yuan.")
    floor_area_m2: float = Field(gt=0, le=_AREA, description="Planned 建筑面积, m².")
    storeys: int = Field(ge=1, le=100, description="Planned storeys (层数).")
    storey_heights_m: list[float] | None = Field(
        None, min_length=1, max_length=100, description="Storey heights in m, bottom up, one per storey (optional): "
        "a storey above 8 m counts twice in 计容建筑面积 (国土资发〔2008〕24号); each storey takes an equal share of "
        "the floor area. Without them the floor area is counted once.")
    footprint_m2: float = Field(ge=0, le=_AREA, description="Building footprints (建筑物基底面积), m².")
    structures_m2: float = Field(0, ge=0, le=_AREA, description="Structures (构筑物) footprint, m² (建筑系数).")
    yards_m2: float = Field(0, ge=0, le=_AREA, description="Open storage yards (露天堆场、操作场地), m² (建筑系数).")
    green_m2: float = Field(0, ge=0, le=_AREA, description="绿地面积, m².")
    supporting_land_m2: float = Field(0, ge=0, le=_AREA, description="Land of 行政办公及生活服务设施, m².")
    supporting_floor_area_m2: float = Field(0, ge=0, le=_AREA, description="Floor area of 行政办公及生活服务设施, m².")
    dormitory_land_m2: float = Field(0, ge=0, le=_AREA, description="Of the supporting land, the part for "
                                                                   "宿舍型保障性租赁住房, m².")
    dormitory_floor_area_m2: float = Field(0, ge=0, le=_AREA, description="Of the supporting floor area, the part "
                                                                         "for 宿舍型保障性租赁住房, m².")
    tax_yuan: float = Field(ge=0, le=_YUAN, description="Expected yearly tax (年税收), yuan.")
    output_yuan: float = Field(ge=0, le=_YUAN, description="Expected yearly output (年产值), yuan.")
    industry_code: str | None = Field(None, min_length=1, max_length=5, description="Industry code of GB/T "
                                      "4754-2017, e.g. C3481 or 3481 (checked against the negative list).")

    def project(self) -> entry.ProjectInput:
        """The domain input."""
        values = self.model_dump()
        heights = values.pop("storey_heights_m")
        return entry.ProjectInput(**values, storey_heights_m=None if heights is None else tuple(heights))


@router.post("/parcels/{code}/entry-check", response_model=entry.EntryCheck,
             summary="Check a proposed project on a parcel against the entry thresholds (准入门槛)",
             responses={400: {"description": "A field that cannot describe the project (named in `field`)."},
                        404: {"description": "No parcel with this code."}})
def entry_check(
    conn: ConnectionDep,
    rules: RulesDep,
    body: ProjectIn,
    code: Annotated[str, Path(description="宗地编号 (parcel code), e.g. 330282107001GB00001.")],
) -> entry.EntryCheck:
    """Investment intensity, 容积率, building coefficient, green ratio, supporting land and floor shares, expected
    亩均税收 and the industry negative list, each with value, threshold, outcome, shortfall and source; thresholds
    without a published value are not checked. Nothing is written."""
    return entry.entry_check(conn, code, body.project(), rules)
