"""Joint developments (联合开发): preview, save and read merged-parcel projects."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from app.api.deps import ConnectionDep, ReviewerOrAdmin, RulesDep, SettingsDep, get_engine
from app.api.schemas import errors
from app.db import audit
from app.planning import joint_sql
from app.settings import Settings

router = APIRouter(prefix="/api/joint-developments", tags=["joint development 联合开发"])


class MemberIn(BaseModel):
    """A consortium member (联合体成员)."""

    owner: str = Field(min_length=1, max_length=200, description="Land-rights holder (土地权属人), as on the parcels.")
    share_pct: float = Field(gt=0, le=100, description="Agreed share of the property (产权分配比例), percent.")
    planned_floor_area_m2: float | None = Field(None, ge=0, description="The member's planned floor area, m².")


class JointDevelopmentCreate(BaseModel):
    """A proposed joint development: the parcels to merge, the members and the valuation inputs."""

    name: str | None = Field(None, max_length=200, description="Project name (项目名称).")
    parcels: list[str] = Field(description="Parcel codes (宗地编号) to merge; at least two.", max_length=500)
    members: list[MemberIn] = Field(description="Members; shares must sum to 100% (±0.01%).", max_length=100)
    p50_yuan_per_mu: float | None = Field(
        None, ge=0, description="50-year land price from the appraisal, yuan/亩 (e.g. 136000 = 13.6万元/亩); "
        "without it no top-ups are computed.")
    rate: float | None = Field(None, gt=0, lt=1, description="土地还原率 r; without it the setting RENEWAL_LAND_RATE "
                               "(暂定值 provisional 6% until the bureau sets Cixi's value).")
    tolerance_m: float | None = Field(None, ge=0, le=5, description="Adjacency tolerance, m (default 0.5).")
    valuation_date: dt.date | None = Field(None, description="Date the remaining terms are counted from (today).")
    planned_floor_area_m2: float | None = Field(None, ge=0, description="The plan's total floor area, m².")

    def proposal(self, settings: Settings) -> joint_sql.Proposal:
        """The domain proposal, with defaults from the settings."""
        return joint_sql.Proposal(
            parcels=self.parcels,
            members=[joint_sql.Member(m.owner, m.share_pct, m.planned_floor_area_m2) for m in self.members],
            name=self.name, p50_yuan_per_mu=self.p50_yuan_per_mu,
            rate=self.rate if self.rate is not None else settings.land_rate, rate_given=self.rate is not None,
            rate_configured="land_rate" in settings.model_fields_set,
            tolerance_m=self.tolerance_m if self.tolerance_m is not None else settings.joint_tolerance_m,
            valuation_date=self.valuation_date or dt.date.today(),
            planned_floor_area_m2=self.planned_floor_area_m2)




@router.post("/preview", summary="Merged outline and figures of a proposal, without saving")
def preview(body: JointDevelopmentCreate, conn: ConnectionDep, settings: SettingsDep, rules: RulesDep
            ) -> dict[str, Any]:
    """Everything a reviewer needs before saving: outline (GeoJSON, CRS84), areas, FAR, term, top-ups, split."""
    figures = joint_sql.evaluate(conn, body.proposal(settings), rules)
    return joint_sql.with_geojson(conn, figures)


@router.post("", status_code=201, summary="Save a joint development (reviewers and admins)",
             responses=errors(401, 403))
def create(body: JointDevelopmentCreate, settings: SettingsDep, rules: RulesDep,
           engine: Annotated[Engine, Depends(get_engine)], user: ReviewerOrAdmin) -> dict[str, Any]:
    """Check, merge and store the project with its parcels and members (one transaction, audited)."""
    with engine.begin() as conn:
        jd_id = joint_sql.create(conn, body.proposal(settings), rules)
        saved = {k: v for k, v in joint_sql.get(conn, jd_id).items() if k != "geometry"}
        audit.record(conn, actor=user.username, action="create", entity="joint_development", entity_key=jd_id,
                     before=None, after=saved)
    with engine.connect() as conn:
        return joint_sql.get(conn, jd_id)


@router.get("", summary="All joint developments")
def list_all(conn: ConnectionDep) -> list[dict[str, Any]]:
    """Id, name, status, land area (m², 亩), merged term end and parcels of every project."""
    return joint_sql.list_all(conn)


@router.get("/{jd_id}", summary="One joint development")
def get(conn: ConnectionDep, jd_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="Project id.")]
        ) -> dict[str, Any]:
    """The project's figures as saved and its merged outline (GeoJSON, CRS84)."""
    return joint_sql.get(conn, jd_id)
