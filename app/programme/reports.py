"""Programme reports: per town and citywide, and the block dossier (地块档案), as HTML and as PDF.

The HTML is rendered from the Jinja2 templates in ``web/report/`` and is self-contained (inline CSS and SVG
maps; no script, font file or network), so it opens offline and prints the same everywhere. The PDF is
that HTML printed by Chromium, headless (``RENEWAL_REPORT_CHROMIUM``, Debian's ``chromium``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess  # noqa: S404 (Chromium is run with a fixed argument list, no shell)
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import Connection, text

from app.errors import NotFound, RenewalError
from app.planning import far_basis, legend, metrics
from app.planning.config import PlanningRules
from app.planning.figures import ParcelFigures
from app.planning.metrics import parcel_figures
from app.planning.money import redact_money
from app.planning.rules import RATIO_TOLERANCE
from app.programme import classification, incentives, lifecycle, plans, progress, svgmap, tenx
from app.programme.config import PLAN, ProgrammeRules
from app.settings import PROJECT_ROOT, Settings

TEMPLATES = PROJECT_ROOT / "web" / "report"
HTML_MEDIA_TYPE = "text/html; charset=utf-8"
_OWNERS = text("SELECT p.code, p.owner FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE b.code = :code")
PDF_MEDIA_TYPE = "application/pdf"


class PdfFailed(RenewalError):
    """Chromium could not print the report."""

    status, code = 503, "PdfUnavailable"


def _num(value: Any, digits: int = 2) -> str:
    """A number with thousands separators, or — when unknown."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage, or —."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _environment() -> jinja2.Environment:
    """The template environment: autoescaped, strict about undefined names, with number filters."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    env.globals.update(status_zh=lifecycle.STATUS_ZH, mode_zh=lifecycle.MODE_ZH, plan_title=PLAN,
                       state_zh=tenx.STATE_ZH, status_colours=legend.STATUS_COLOURS, legend=legend)
    return env


def render(template: str, **context: Any) -> str:
    """Render a report template with ``context``."""
    return _environment().get_template(template).render(**context)


def _common(rules: PlanningRules, prules: ProgrammeRules, as_of: dt.date) -> dict[str, Any]:
    """What every report states: dates and versions."""
    return {"as_of": as_of, "generated_at": dt.datetime.now().replace(microsecond=0), "rules": rules,
            "prules": prules, "rule_version": rules.rule_version, "programme_version": prules.programme_version,
            "deadlines": lifecycle.deadlines(prules), "basis_labels": far_basis.BASIS_LABELS}


@dataclass(slots=True)
class BlockRow:
    """A block as the town report lists it."""

    state: progress.BlockState
    far: float | None
    tax_per_mu_wan: float | None
    tenx_score: float
    overdue: list[lifecycle.OverdueStep]


def town_context(conn: Connection, town: str, rules: PlanningRules, prules: ProgrammeRules, as_of: dt.date,
                 max_rows: int = 40) -> dict[str, Any]:
    """Everything the town report shows: progress, blocks, failing FAR list, overdue blocks, map."""
    found = progress.progress(conn, rules, prules, as_of)
    town_progress = next((t for t in found.towns if t.town_code == town), None)
    if town_progress is None:
        raise NotFound(f"no town with code {town!r}",
                       zh=f"没有区划代码为 {town!r} 的镇街", field="town")
    states = progress.block_states(conn, rules, prules, as_of, town)
    checks = {c.block_code: c for c in tenx.checklists(conn, rules, prules, town=town)}
    rows_at = {r["code"]: r for r in lifecycle.statuses_at(conn, as_of, tuple(rules.target_statuses), town)}
    blocks = []
    for s in states:
        r = rows_at[s.code]
        blocks.append(BlockRow(s, s.figures.far if s.figures else None,
                               s.figures.tax_per_mu_wan if s.figures else None, checks[s.code].tenx_score,
                               lifecycle.overdue_steps(s.status_at, bool(r["works_done"]), as_of, prules)))
    failing = metrics.compliance(conn, rules, "far_min", town=town, limit=max_rows)
    return {**_common(rules, prules, as_of), "title": f"{town_progress.town_name} 老旧工业区块改造提升进度报告",
            "scope": "town", "town": town_progress, "city": found.city, "blocks": blocks, "failing": failing,
            "overdue": lifecycle.overdue(conn, prules, as_of, town, tuple(rules.target_statuses)),
            "by_year": progress.by_year(states, prules, as_of), "by_mode": progress.by_mode(states),
            "tenx": tenx.summarise(town, list(checks.values()), prules),
            "map_svg": svgmap.area_map(conn, rules, town)}


def city_context(conn: Connection, rules: PlanningRules, prules: ProgrammeRules, as_of: dt.date,
                 max_rows: int = 40) -> dict[str, Any]:
    """Everything the citywide report shows: progress per town, failing FAR list, overdue blocks, map."""
    found = progress.progress(conn, rules, prules, as_of)
    failing = metrics.compliance(conn, rules, "far_min", limit=max_rows)
    return {**_common(rules, prules, as_of), "title": "慈溪市老旧工业区块改造提升进度报告", "scope": "city",
            "progress": found, "city": found.city, "failing": failing,
            "overdue": lifecycle.overdue(conn, prules, as_of, None, tuple(rules.target_statuses)),
            "by_year": found.by_year, "by_mode": found.by_mode, "map_svg": svgmap.area_map(conn, rules, None)}


def _block_incentives(conn: Connection, record: lifecycle.BlockRecord, plan: plans.SavedPlan | None,
                      rules: PlanningRules, prules: ProgrammeRules) -> incentives.IncentiveSummary:
    """The block's incentive figures: from its saved plan's inputs, and the acquisition line on its area."""
    inputs = plan.inputs if plan else {}
    area = plans.incentive_area_mu(conn, record, rules, prules)
    return incentives.calculate(prules, area_mu=area, difficulty_band=inputs.get("difficulty_band"),
                                relocated_floor_area_m2=inputs.get("relocated_floor_area_m2"),
                                acquisition_area_mu=area, block_code=record.code)


_FLAG_ORDER = {"exit": 0, "upgrade": 1}


def parcel_rank(p: ParcelFigures, floor: float | None, cls: classification.ParcelClasses | None
                ) -> tuple[int, float, int, str]:
    """See :func:`parcel_rank_by_own_floor`; ``floor`` is the one floor the parcel is judged by."""
    return _rank(p, floor, cls)


def parcel_rank_by_own_floor(p: ParcelFigures, cls: classification.ParcelClasses | None
                             ) -> tuple[int, float, int, str]:
    """:func:`_rank` against the parcel's own floor (``far_floor``: programme, exemption, national minimum by
    industry, warehouse; none claimed: never below it), docs/rules.md §9.3."""
    return _rank(p, p.far_floor, cls)


def _rank(p: ParcelFigures, floor: float | None, cls: classification.ParcelClasses | None
          ) -> tuple[int, float, int, str]:
    """Where the dossier lists a parcel: parcels with an issue (below the 容积率 floor, or flagged 腾退/提升 by the
    亩均效益 classes) first, then the others; within each, the lowest 容积率 first (none counts as 0, like a parcel
    without buildings), then exit before upgrade, then by code. The sort is over all the block's parcels before the
    table is cut to its rows, so the lowest 容积率 are always listed."""
    far = p.far if p.far is not None else 0.0
    failing = floor is not None and far < floor - RATIO_TOLERANCE
    flag = cls.flag if cls else None
    return (0 if failing or flag else 1, far, _FLAG_ORDER.get(flag or "", 2), p.parcel_code)


def dossier_context(conn: Connection, code: str, rules: PlanningRules, prules: ProgrammeRules, as_of: dt.date,
                    max_parcels: int = 14) -> dict[str, Any]:
    """Everything the block dossier (地块档案) shows on one page."""
    record = lifecycle.get_block(conn, code)
    block = metrics.block_metrics(conn, code, rules)
    classes = classification.block_classes(conn, code, prules)
    by_parcel = {p.parcel_code: p for p in classes.parcels}
    parcels = parcel_figures(conn, rules, "block", code)
    floor = block.far_exemption_min_far if block.far_exemption_reason else rules.far_min
    shown = sorted(parcels, key=lambda p: parcel_rank_by_own_floor(p, by_parcel.get(p.parcel_code)))[:max_parcels]
    plan = plans.latest(conn, code)
    rows_at = lifecycle.statuses_at(conn, as_of, tuple(rules.target_statuses), record.town_code)
    at = next(r for r in rows_at if r["code"] == code)
    owners: dict[str, str | None] = dict(conn.execute(_OWNERS, {"code": code}).all())
    return {**_common(rules, prules, as_of), "title": f"{record.name} 地块档案", "record": record, "block": block,
            "classes": classes, "class_by_parcel": by_parcel, "parcels": shown, "parcel_total": len(parcels),
            "far_floor": floor, "owners": owners, "owner_total": len({o for o in owners.values() if o}),
            "history": lifecycle.history(conn, code),
            "overdue": lifecycle.overdue_steps(at["status_at"], bool(at["works_done"]), as_of, prules),
            "checklist": tenx.block_checklist(conn, code, rules, prules), "plan": plan,
            "plan_summary": plans.card_summary(plan),
            "incentives": _block_incentives(conn, record, plan, rules, prules),
            "map_svg": svgmap.block_map(conn, code, rules, {p.parcel_code: p.flag for p in classes.parcels},
                                        max_height_mm=72)}


def _shown(context: dict[str, Any], money: bool) -> dict[str, Any]:
    """The context as the reader may see it: tax, output and revenue figures blank unless ``money``."""
    return context if money else redact_money(context)


def town_html(conn: Connection, town: str, rules: PlanningRules, prules: ProgrammeRules,
              as_of: dt.date | None = None, *, show_money: bool = True) -> str:
    """The town report as self-contained HTML (money figures blank for anonymous readers)."""
    context = town_context(conn, town, rules, prules, as_of or dt.date.today())
    return render("progress.html", **_shown(context, show_money))


def city_html(conn: Connection, rules: PlanningRules, prules: ProgrammeRules, as_of: dt.date | None = None,
              *, show_money: bool = True) -> str:
    """The citywide report as self-contained HTML (money figures blank for anonymous readers)."""
    return render("progress.html", **_shown(city_context(conn, rules, prules, as_of or dt.date.today()), show_money))


def dossier_html(conn: Connection, code: str, rules: PlanningRules, prules: ProgrammeRules,
                 as_of: dt.date | None = None, *, show_money: bool = True) -> str:
    """The block dossier (地块档案) as self-contained HTML, one A4 page (money blank for anonymous readers)."""
    context = dossier_context(conn, code, rules, prules, as_of or dt.date.today())
    return render("dossier.html", **_shown(context, show_money))


def chromium_path(settings: Settings) -> str:
    """The Chromium executable, or ``PdfFailed`` saying how to get one."""
    found = shutil.which(settings.report_chromium)
    if found is None:
        raise PdfFailed(f"Chromium not found ({settings.report_chromium!r}): install Debian's chromium "
                        "(apt-get install chromium) or set RENEWAL_REPORT_CHROMIUM",
                        zh=f"找不到 Chromium（{settings.report_chromium!r}）：请安装 Debian 的 chromium（apt-get inst"
                           "all chromium）或设置 RENEWAL_REPORT_CHROMIUM")
    return found


def pdf(page_html: str, settings: Settings) -> bytes:
    """Print ``page_html`` to PDF with headless Chromium (A4, no header or footer)."""
    exe = chromium_path(settings)
    with tempfile.TemporaryDirectory(prefix="renewal-report-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(page_html, encoding="utf-8")
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer", f"--print-to-pdf={out}",
                src.as_uri()]
        try:
            done = subprocess.run(args, capture_output=True, timeout=settings.report_timeout_s,  # noqa: S603
                                  check=False)
        except subprocess.TimeoutExpired:
            raise PdfFailed(f"Chromium did not print the report within {settings.report_timeout_s} s",
                            zh=f"Chromium 未在 {settings.report_timeout_s} 秒内打印出报告") from None
        if not out.is_file() or out.stat().st_size == 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise PdfFailed(f"Chromium could not print the report (exit {done.returncode}): {tail[0]}",
                            zh=f"Chromium 无法打印报告（退出码 {done.returncode}）：{tail[0]}")
        return out.read_bytes()
