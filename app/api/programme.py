"""The programme (老旧工业区块改造提升 2022-2026): progress, block lifecycle, classes, 十化, incentives, reports.

Areas in 亩 (= m² × 15 / 10000, planar in the storage CRS) and m²; money in yuan and 万元 where the name
says ``_wan``; dates ``YYYY-MM-DD``. Writes need ``If-Match`` with the block's ETag (from ``GET
/api/blocks/{code}``): 428 without it, 412 when someone changed the block first. Writes also need the token
of the block's town editor, a reviewer or an admin (issue 8: ``block_editor``); they record the logged-in
user as the actor and write an audit row in their transaction. Only an admin reopens an accepted block.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from app.api.deps import (
    BlockEditor,
    ConnectionDep,
    OptionalPrincipal,
    ProgrammeRulesDep,
    RulesDep,
    SettingsDep,
    block_editor,
    get_engine,
)
from app.api.redact import for_reader, sees_money
from app.db import audit
from app.programme import classification, incentives, lifecycle, plans, progress, reports, tenx
from app.settings import PROJECT_ROOT

router = APIRouter(tags=["programme 改造提升攻坚行动"])

EngineDep = Annotated[Engine, Depends(get_engine)]
BlockCode = Annotated[str, Path(description="区块编号 (block code), e.g. QK107-001.")]
TownCode = Annotated[str, Path(description="区划代码 (town code), e.g. 330282107.")]
AsOf = Annotated[dt.date | None, Query(description="Date the figures are for (YYYY-MM-DD); default today. The "
                                                   "status on that date comes from the block history.")]
IfMatch = Annotated[str | None, Header(description="The block's ETag from GET /api/blocks/{code}, e.g. \"v3\" "
                                                   "(428 without it, 412 when stale).")]
Status = Literal["listed", "surveyed", "planned", "in_progress", "accepted"]
Mode = Literal["demolition", "sorting", "management"]
ReportFormat = Literal["html", "pdf"]

WRITE_DEPENDENCIES: list[Any] = [Depends(block_editor)]
"""Dependencies of every write route (issue 8): a token of the block's town editor, a reviewer or an admin."""


def caller_is_admin(caller: BlockEditor) -> bool:
    """Whether the caller is an administrator (who alone may reopen an accepted block)."""
    return caller.role == "admin"


AdminDep = Annotated[bool, Depends(caller_is_admin)]


def _etag(response: Response, version: int) -> None:
    """Set the block's ETag on the response."""
    response.headers["ETag"] = lifecycle.etag(version)


# ---------------------------------------------------------------- the page
@router.get("/dashboard", include_in_schema=False)
def dashboard() -> FileResponse:
    """The progress dashboard (web/dashboard.html; charts drawn by its own script, no CDN)."""
    return FileResponse(PROJECT_ROOT / "web" / "dashboard.html", media_type="text/html")


# ---------------------------------------------------------------- progress and deadlines
@router.get("/api/programme/progress", response_model=progress.Progress,
            summary="Progress against the 2026 targets, citywide and per town, by year and by mode")
def get_progress(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, as_of: AsOf = None
                 ) -> progress.Progress:
    """Renovated area (亩) against 10,000 亩, new above-scale firms against 200, 亩均税收 (万元/亩, Σ ÷ Σ) of renovated
    blocks against 15; blocks in progress beside them; per town, by plan and renovation year, by mode; a time line."""
    return progress.progress(conn, rules, prules, as_of)


@router.get("/api/programme/overdue", response_model=list[lifecycle.OverdueTown],
            summary="Blocks that missed a programme deadline, per town")
def get_overdue(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, as_of: AsOf = None,
                town: Annotated[str | None, Query(description="Only this town (区划代码).")] = None
                ) -> list[lifecycle.OverdueTown]:
    """Survey by 2022-04-30, plans by 2022-06-30, works by 2026-09-30, acceptance by 2026-12-31 (configurable)."""
    return lifecycle.overdue(conn, prules, as_of or dt.date.today(), town, tuple(rules.target_statuses))


@router.get("/api/programme/config", summary="Targets, deadlines, class method, checklist and incentive numbers")
def get_config(rules: RulesDep, prules: ProgrammeRulesDep) -> dict[str, Any]:
    """The programme configuration in force, with its sources (field descriptions) and versions."""
    described = {name: {"value": getattr(prules, name), "description": f.description}
                 for name, f in type(prules).model_fields.items()}
    return {"programme": described, "target_tax_per_mu_wan": rules.target_tax_per_mu_wan,
            "renovated_statuses": list(rules.target_statuses),
            "deadlines": lifecycle.deadlines(prules), "programme_version": prules.programme_version,
            "rule_version": rules.rule_version}


# ---------------------------------------------------------------- a block: read, change, history
class BlockUpdate(BaseModel):
    """A change of a block: its status and/or attributes (only those given change), with who, when and why."""

    actor: str | None = Field(None, max_length=100, description="Ignored: the logged-in user is recorded (经办人).")
    status: Status | None = Field(None, description="New status: one step forward, or one back with a remark.")
    mode: Mode | None = Field(None, description="改造路径 (null clears it).")
    industry: str | None = Field(None, max_length=200, description="产业定位.")
    plan_year: int | None = Field(None, ge=2000, le=2100, description="改造计划年度.")
    works_completed_on: dt.date | None = Field(None, description="Date the works finished (YYYY-MM-DD).")
    changed_on: dt.date | None = Field(None, description="Effective date of the change; default today; not before "
                                                         "the block's last change, not in the future.")
    remark: str | None = Field(None, max_length=2000, description="备注; required for a correction or a reopen.")
    reopen: bool = Field(False, description="Reopen an accepted block (back to in_progress): administrators only.")
    acceptance_exception: bool = Field(
        False, description="Accept (status accepted) before the acceptance window opens (2026-10-01 by default, "
                           "RENEWAL_PROGRAMME_ACCEPTANCE_OPENS): an exception only administrators record, with a "
                           "remark saying why; without it such an acceptance is refused (409).")

    def change(self) -> lifecycle.BlockChange:
        """The domain change: only the attributes present in the body."""
        attrs = {name: getattr(self, name) for name in lifecycle.ATTRIBUTES if name in self.model_fields_set}
        return lifecycle.BlockChange(status=self.status, attributes=attrs, changed_on=self.changed_on,
                                     remark=self.remark, reopen=self.reopen,
                                     acceptance_exception=self.acceptance_exception)


@router.get("/api/blocks/{code}", response_model=lifecycle.BlockRecord,
            summary="A block's programme attributes, with its version as ETag")
def get_block(conn: ConnectionDep, code: BlockCode, response: Response) -> lifecycle.BlockRecord:
    """Status (and the statuses allowed next), mode, industry, plan year, works date, flags, area (m², 亩)."""
    record = lifecycle.get_block(conn, code)
    _etag(response, record.version)
    return record


@router.patch("/api/blocks/{code}", response_model=lifecycle.BlockRecord, dependencies=WRITE_DEPENDENCIES,
              summary="Change a block's status or attributes (If-Match required)",
              responses={409: {"description": "Step skipped, the block is accepted, or an acceptance dated before "
                                              "the acceptance window without an administrator's exception."},
                         403: {"description": "A reopen or an acceptance exception by a non-administrator."},
                         412: {"description": "Stale If-Match."}, 428: {"description": "No If-Match."}})
def patch_block(engine: EngineDep, code: BlockCode, body: BlockUpdate, response: Response, is_admin: AdminDep,
                caller: BlockEditor, prules: ProgrammeRulesDep, if_match: IfMatch = None) -> lifecycle.BlockRecord:
    """One step at a time (listed → surveyed → planned → in_progress → accepted); recorded in the history.
    Acceptance happens in the acceptance window (2026-10-01 to 2026-12-31 by default); earlier only as an
    administrator's exception with a remark."""
    expected = lifecycle.parse_if_match(if_match)
    with engine.begin() as conn:
        lifecycle.lock_block(conn, code, expected)  # the audit's "before" is read under the row lock
        before = lifecycle.get_block(conn, code)
        record = lifecycle.change_block(conn, code, body.change(), expected_version=expected, actor=caller.username,
                                        is_admin=is_admin, prules=prules)
        action = "reopen" if body.reopen else "acceptance_exception" if body.acceptance_exception else "update"
        audit.record(conn, actor=caller.username, action=action, entity="block", entity_key=code,
                     before=asdict(before), after=asdict(record))
    _etag(response, record.version)
    return record


@router.get("/api/blocks/{code}/history", response_model=list[lifecycle.HistoryEntry],
            summary="A block's recorded changes, oldest first")
def get_history(conn: ConnectionDep, code: BlockCode) -> list[lifecycle.HistoryEntry]:
    """Date, event (advance, correct, reopen, update), statuses, who, remark and the attributes changed."""
    return lifecycle.history(conn, code)


# ---------------------------------------------------------------- classes
@router.get("/api/blocks/{code}/classes", response_model=classification.BlockClasses,
            summary="亩均效益 classes of a block's firms; parcels flagged for exit or upgrade")
def get_block_classes(conn: ConnectionDep, prules: ProgrammeRulesDep, code: BlockCode, principal: OptionalPrincipal
                      ) -> classification.BlockClasses:
    """Published class (default) and indicative class per firm; D → 腾退, C → 提升 (腾退 in demolition blocks).

    Firms' revenue, 亩均税收 and score terms are blank for anonymous readers.
    """
    return for_reader(principal, classification.block_classes(conn, code, prules))


@router.get("/api/parcels/{code}/classes", response_model=classification.ParcelClasses,
            summary="亩均效益 classes of a parcel's firms")
def get_parcel_classes(conn: ConnectionDep, prules: ProgrammeRulesDep, principal: OptionalPrincipal,
                       code: Annotated[str, Path(description="宗地编号 (parcel code).")]
                       ) -> classification.ParcelClasses:
    """Each firm's published and indicative class with the score terms (logged-in readers); worst class, flag."""
    return for_reader(principal, classification.parcel_classes(conn, code, prules))


# ---------------------------------------------------------------- 十化 checklist
class ChecklistItemIn(BaseModel):
    """An assessment of one 十化 / 三场景 item."""

    item: str = Field(max_length=40, description="Item code, e.g. site_standard (see GET .../checklist).")
    state: Literal["met", "partly", "not_met"] = Field(description="met (1), partly (0.5) or not_met (0).")
    evidence: str | None = Field(None, max_length=2000, description="Evidence notes (佐证材料).")


class ChecklistPut(BaseModel):
    """Assessments of some checklist items."""

    actor: str | None = Field(None, max_length=100, description="Ignored: the logged-in user is recorded.")
    remark: str | None = Field(None, max_length=2000, description="备注.")
    items: list[ChecklistItemIn] = Field(min_length=1, max_length=50, description="Items assessed.")


@router.get("/api/blocks/{code}/checklist", response_model=tenx.BlockChecklist,
            summary="A block's 十化 and 三场景 checklist with its score")
def get_checklist(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, code: BlockCode
                  ) -> tenx.BlockChecklist:
    """Met / partly / not met with evidence; proxies (建筑城市化 from FAR, 园区公园化 from green ratio) marked."""
    return tenx.block_checklist(conn, code, rules, prules)


@router.put("/api/blocks/{code}/checklist", response_model=tenx.BlockChecklist, dependencies=WRITE_DEPENDENCIES,
            summary="Record checklist assessments (If-Match required)")
def put_checklist(engine: EngineDep, rules: RulesDep, prules: ProgrammeRulesDep, code: BlockCode, body: ChecklistPut,
                  response: Response, is_admin: AdminDep, caller: BlockEditor, if_match: IfMatch = None
                  ) -> tenx.BlockChecklist:
    """The block's version moves and the history records the items changed."""
    expected = lifecycle.parse_if_match(if_match)
    updates = [tenx.ChecklistUpdate(i.item, i.state, i.evidence) for i in body.items]
    with engine.begin() as conn:
        lifecycle.lock_block(conn, code, expected)
        before = tenx.block_checklist(conn, code, rules, prules)
        result = tenx.set_checklist(conn, code, updates, expected_version=expected, actor=caller.username,
                                    remark=body.remark, is_admin=is_admin, rules=rules, prules=prules)
        audit.record(conn, actor=caller.username, action="update", entity="block_checklist", entity_key=code,
                     before=asdict(before), after=asdict(result))
        _etag(response, lifecycle.get_block(conn, code).version)
    return result


@router.get("/api/programme/towns/{code}/checklists", response_model=tenx.TownChecklistSummary,
            summary="十化 / 三场景 summary of a town's blocks")
def get_town_checklists(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, code: TownCode
                        ) -> tenx.TownChecklistSummary:
    """Mean scores and, per item, how many blocks meet it, partly, not, or are not assessed."""
    return tenx.town_summary(conn, code, rules, prules)


# ---------------------------------------------------------------- incentives
class AbsorbDealIn(BaseModel):
    """An absorption of a low-yield neighbour by a firm."""

    price_yuan: float = Field(ge=0, le=1e13, description="Purchase price, yuan.")
    firm_class: Literal["A", "B", "C", "D"] | None = Field(None, description="The buyer's 亩均效益 class.")
    revenue_yuan: float | None = Field(None, ge=0, le=1e13, description="The buyer's main revenue, yuan/year.")
    buyer: str | None = Field(None, max_length=200, description="The buyer's name or credit code.")


class IncentiveInputs(BaseModel):
    """Inputs of the incentives calculator; each figure is computed when its inputs are given."""

    area_mu: float | None = Field(None, ge=0, le=1e7, description="Renovated area, 亩 (town reward).")
    difficulty_band: int | None = Field(None, ge=1, description="Difficulty band 1–5 (town reward).")
    relocated_floor_area_m2: float | None = Field(None, ge=0, le=1e9, description="Floor area moved into parks, m².")
    acquisition_area_mu: float | None = Field(None, ge=0, le=1e7,
                                              description="State-owned acquisition, 亩 (一事一议 line).")
    deals: list[AbsorbDealIn] = Field(default_factory=list, max_length=100, description="Absorptions.")


@router.post("/api/programme/incentives", response_model=incentives.IncentiveSummary,
             summary="Incentives calculator (figures only; decisions stay with people)")
def calculate_incentives(prules: ProgrammeRulesDep, body: IncentiveInputs) -> incentives.IncentiveSummary:
    """Each figure with its inputs, its arithmetic and its policy clause; the absorb reward is a secondary report."""
    deals = [incentives.AbsorbDeal(d.price_yuan, d.firm_class, d.revenue_yuan, d.buyer) for d in body.deals]
    return incentives.calculate(prules, area_mu=body.area_mu, difficulty_band=body.difficulty_band,
                                relocated_floor_area_m2=body.relocated_floor_area_m2,
                                acquisition_area_mu=body.acquisition_area_mu, deals=deals)


@router.get("/api/blocks/{code}/incentives", response_model=incentives.IncentiveSummary,
            summary="Incentive figures of a block (its area, its plan's band and relocation)")
def block_incentives(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, code: BlockCode,
                     difficulty_band: Annotated[int | None, Query(ge=1, description="Difficulty band (default: "
                                                                                    "the saved plan's).")] = None,
                     relocated_floor_area_m2: Annotated[float | None, Query(ge=0, description="Floor area moved "
                                                                            "into parks, m² (default: the plan's).")]
                     = None) -> incentives.IncentiveSummary:
    """Town reward on the block's area (亩), relocation reward, the 200 亩 acquisition line on the block's area."""
    record = lifecycle.get_block(conn, code)
    plan = plans.latest(conn, code)
    inputs = plan.inputs if plan else {}
    band = difficulty_band if difficulty_band is not None else inputs.get("difficulty_band")
    moved = relocated_floor_area_m2 if relocated_floor_area_m2 is not None else inputs.get("relocated_floor_area_m2")
    area = plans.incentive_area_mu(conn, record, rules, prules)
    return incentives.calculate(prules, area_mu=area, difficulty_band=band, relocated_floor_area_m2=moved,
                                acquisition_area_mu=area, block_code=code)


# ---------------------------------------------------------------- plan: before / after
class PlanIn(BaseModel):
    """A block's plan: mode, industry, planned floor area (whole block or per parcel), assumptions."""

    mode: Mode | None = Field(None, description="改造路径 (recorded on the block).")
    industry: str | None = Field(None, max_length=200, description="产业定位 (recorded on the block).")
    plan_year: int | None = Field(None, ge=2000, le=2100, description="改造计划年度 (recorded on the block).")
    planned_floor_area_m2: float | None = Field(None, ge=0, description="Planned counted floor area of the whole "
                                                "block after demolition and rebuilding, m².")
    planned_footprint_m2: float | None = Field(None, ge=0, description="Planned footprint of the block, m² "
                                                                       "(for the density).")
    parcel_floor_areas: dict[str, float] = Field(default_factory=dict, description="Planned counted floor area per "
                                                 "parcel code, m² (others keep theirs).")
    tax_assumption_wan_per_mu: float | None = Field(None, ge=0, description="Assumed 亩均税收 after renovation, "
                                                    "万元/亩; default: today's tax per m² of floor area carried over.")
    difficulty_band: int | None = Field(None, ge=1, description="Difficulty band for the town reward.")
    relocated_floor_area_m2: float | None = Field(None, ge=0, description="Floor area moved into parks, m².")

    def plan(self) -> plans.PlanInput:
        """The domain plan."""
        return plans.PlanInput(**self.model_dump())


class PlanSave(PlanIn):
    """A plan to save, with who saves it."""

    actor: str | None = Field(None, max_length=100, description="Ignored: the logged-in user is recorded.")
    remark: str | None = Field(None, max_length=2000, description="备注.")

    def plan(self) -> plans.PlanInput:
        """The domain plan (without actor and remark)."""
        return plans.PlanInput(**self.model_dump(exclude={"actor", "remark"}))


@router.post("/api/blocks/{code}/plan/preview", response_model=plans.BeforeAfter,
             summary="Before/after of a plan, without saving")
def preview_plan(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, code: BlockCode, body: PlanIn
                 ) -> plans.BeforeAfter:
    """FAR, density, 亩均税收 at the stated assumption and incentive cost, now and as planned."""
    return plans.preview(conn, code, body.plan(), rules, prules)


@router.post("/api/blocks/{code}/plan", response_model=plans.SavedPlan, status_code=201,
             dependencies=WRITE_DEPENDENCIES, summary="Save a plan with its before/after (If-Match required)")
def save_plan(engine: EngineDep, rules: RulesDep, prules: ProgrammeRulesDep, code: BlockCode, body: PlanSave,
              response: Response, is_admin: AdminDep, caller: BlockEditor, if_match: IfMatch = None
              ) -> plans.SavedPlan:
    """Mode, industry and plan year go onto the block; the figures are stored as computed now."""
    expected = lifecycle.parse_if_match(if_match)
    with engine.begin() as conn:
        lifecycle.lock_block(conn, code, expected)
        previous = plans.latest(conn, code)
        saved = plans.save(conn, code, body.plan(), expected_version=expected, actor=caller.username,
                           remark=body.remark, is_admin=is_admin, rules=rules, prules=prules)
        audit.record(conn, actor=caller.username, action="create", entity="block_plan", entity_key=code,
                     before=asdict(previous) if previous is not None else None, after=asdict(saved))
        _etag(response, lifecycle.get_block(conn, code).version)
    return saved


@router.get("/api/blocks/{code}/plan", summary="A block's latest saved plan (null when none)")
def get_plan(conn: ConnectionDep, code: BlockCode) -> dict[str, Any]:
    """The plan's inputs and its before/after as saved."""
    return {"plan": plans.latest(conn, code)}


@router.get("/api/blocks/{code}/programme", summary="What the map's block card shows of the programme")
def block_programme(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, code: BlockCode
                    ) -> dict[str, Any]:
    """Status and next steps, overdue deadlines, class counts, flagged parcels, 十化 score, before/after summary."""
    record = lifecycle.get_block(conn, code)
    classes = classification.block_classes(conn, code, prules)
    checklist = tenx.block_checklist(conn, code, rules, prules)
    today = dt.date.today()
    at = next(r for r in lifecycle.statuses_at(conn, today, tuple(rules.target_statuses), record.town_code)
              if r["code"] == code)
    return {"code": code, "status": record.status, "allowed_next": record.allowed_next, "version": record.version,
            "overdue": lifecycle.overdue_steps(at["status_at"], bool(at["works_done"]), today, prules),
            "class_counts": classes.counts, "exit_parcels": len(classes.exit_parcels),
            "upgrade_parcels": len(classes.upgrade_parcels), "tenx_score": checklist.tenx_score,
            "tenx_max": checklist.tenx_max, "scenario_score": checklist.scenario_score,
            "scenario_max": checklist.scenario_max, "proxied": checklist.proxied,
            "plan": plans.card_summary(plans.latest(conn, code)), "programme_version": prules.programme_version}


# ---------------------------------------------------------------- reports
def _report(body: str, fmt: str, name: str, settings: Any) -> Response:
    """The report as HTML, or printed to PDF by Chromium."""
    if fmt == "pdf":
        return Response(reports.pdf(body, settings), media_type=reports.PDF_MEDIA_TYPE,
                        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})
    return Response(body, media_type=reports.HTML_MEDIA_TYPE)


@router.get("/api/programme/report.{fmt}", summary="Citywide progress report (HTML or PDF)",
            responses={200: {"content": {reports.HTML_MEDIA_TYPE: {}, reports.PDF_MEDIA_TYPE: {}}}})
def city_report(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, settings: SettingsDep,
                principal: OptionalPrincipal, fmt: Annotated[ReportFormat, Path(description="html or pdf.")],
                as_of: AsOf = None) -> Response:
    """Progress per town, map, failing-FAR list, overdue blocks, by year and mode (tax figures: logged in)."""
    body = reports.city_html(conn, rules, prules, as_of, show_money=sees_money(principal))
    return _report(body, fmt, "renewal-progress-330282", settings)


@router.get("/api/programme/towns/{code}/report.{fmt}", summary="A town's progress report (HTML or PDF)",
            responses={200: {"content": {reports.HTML_MEDIA_TYPE: {}, reports.PDF_MEDIA_TYPE: {}}}})
def town_report(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, settings: SettingsDep,
                principal: OptionalPrincipal, code: TownCode,
                fmt: Annotated[ReportFormat, Path(description="html or pdf.")], as_of: AsOf = None) -> Response:
    """The town's progress, map (inline SVG), blocks, failing-FAR list, overdue blocks, 十化 summary."""
    body = reports.town_html(conn, code, rules, prules, as_of, show_money=sees_money(principal))
    return _report(body, fmt, f"renewal-progress-{code}", settings)


@router.get("/api/blocks/{code}/dossier.{fmt}", summary="A block's dossier (地块档案), one printable page",
            responses={200: {"content": {reports.HTML_MEDIA_TYPE: {}, reports.PDF_MEDIA_TYPE: {}}}})
def dossier(conn: ConnectionDep, rules: RulesDep, prules: ProgrammeRulesDep, settings: SettingsDep,
            principal: OptionalPrincipal, code: BlockCode,
            fmt: Annotated[ReportFormat, Path(description="html or pdf.")], as_of: AsOf = None) -> Response:
    """Map, parcels and owners, figures, classes, mode, status history, 十化 score, incentives, before/after."""
    body = reports.dossier_html(conn, code, rules, prules, as_of, show_money=sees_money(principal))
    return _report(body, fmt, f"dossier-{code}", settings)

