"""Compliance lists the bureau can use: a rule's parcels (or blocks) as rows a person reads, as CSV and XLSX.

One function, :func:`table`, turns a compliance page (:class:`app.planning.metrics.CompliancePage`) into
rows with Chinese headers (English in brackets): code, 土地权属人, town, block, land area in m² and 亩, the
figure checked (容积率 for ``far_min``), the threshold that applied, the outcome, the shortfall and the rule
basis (``rule_basis``: for ``far_min`` ``programme`` for Cixi's floor, ``exemption`` when the block's FAR
exemption set it, ``national_industry``, ``warehouse`` or ``none``; docs/rules.md §9.3), as the map's
parcel card shows them. Numbers are rounded as a person reads them (m² and 亩 to 0.01, 容积率 to 0.01,
shares in percent to 0.01, yuan whole). :func:`csv_bytes` writes UTF-8 with a BOM (Excel shows the
Chinese); :func:`xlsx_bytes` writes a workbook with number formats, a frozen header row and a sheet of
notes. ``GET /api/compliance?format=csv|xlsx`` and ``renewal check --format csv|xlsx`` both use them.

Which rows: :func:`compliance_list` gives the failing items exactly as the JSON list does (worst first), or
with ``outcome`` ``pass`` or ``all`` every parcel (block) of the scope with its result, from the figures of
:func:`app.planning.metrics.parcel_figures` (or the block figures) judged by the rules' Python twin, which
the tests keep equal to the SQL that pages the failures.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection, text

from app.errors import InvalidParameter, NotFound
from app.planning import metrics, sql
from app.planning.config import PlanningRules
from app.planning.figures import Figures
from app.planning.rules import RULES, Rule, RuleResult, apply, get_rule

OUTCOMES = ("fail", "pass", "all")
"""Which results a list holds: the failures (default, as the JSON list), the passes, or every result."""
FILE_FORMATS = ("csv", "xlsx")
"""The file formats of a list."""
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

_ALL_ROWS = 2**31 - 1

# The figure each rule checks, in Chinese and English (the title says what the rule is; this, what it measures).
_MEASURES = {
    "far_min": ("容积率", "FAR"),
    "supporting_floor_max": ("配套设施建筑面积占比", "supporting floor share"),
    "supporting_land_max": ("配套设施用地占比", "supporting land share"),
    "building_coefficient_min": ("建筑系数", "building coefficient"),
    "green_ratio_max": ("绿地率", "green ratio"),
    "old_block": ("亩均税收", "tax per mu"),
    "target_tax_per_mu": ("亩均税收", "tax per mu"),
}
_OUTCOME_LABELS = {"fail": "未达标 (fail)", "pass": "达标 (pass)", "exempt": "豁免 (exempt)",
                   "no_data": "无数据 (no data)", "not_applicable": "不适用 (not applicable)"}
_BASIS_NOTES = {
    "programme": "慈溪市老旧工业区块改造提升攻坚行动计划（2022-2026）的指标: 攻坚区块内的工业用地 (the programme's "
                 "threshold: industrial land in a programme block)",
    "exemption": "区块的容积率豁免 (the block's FAR exemption: a lower floor, or the rule lifted)",
    "national_industry": "国土资发〔2008〕24号 表2 按行业 (GB/T 4754) 的容积率下限: 攻坚区块外的工业用地, "
                         "按企业行业代码 "
                         "(the national minimum by industry: industrial land outside the programme's blocks)",
    "warehouse": "仓储用地容积率下限 RENEWAL_RULE_WAREHOUSE_FAR_MIN (the warehouse floor)",
    "none": "不设下限: 非工业用地、未设仓储下限的仓储用地或无行业代码的区块外工业用地, 仅报告容积率 (no floor claimed: "
            "reported only)",
    "national": "国家标准 (a national standard)",
}


@dataclass(frozen=True)
class Column:
    """A column of a list: its key, its header (中文 (English)) and, for numbers, the decimals shown."""

    key: str
    header: str
    decimals: int | None = None

    @property
    def excel_format(self) -> str | None:
        """The XLSX number format of a number column (thousands separated), None for text."""
        if self.decimals is None:
            return None
        return "#,##0" + ("." + "0" * self.decimals if self.decimals else "")


@dataclass(frozen=True)
class Place:
    """Where a listed parcel or block is, and whose it is."""

    owner: str | None
    block_code: str
    block_name: str
    town_code: str
    town_name: str


@dataclass
class ListTable:
    """A compliance list as rows: the columns, one row of values per parcel or block, and what it lists."""

    rule: metrics.RuleInfo
    scope: str
    outcome: str
    columns: list[Column]
    rows: list[list[Any]]
    rule_version: str
    failing: int  # rows whose result is a failure

    @property
    def name(self) -> str:
        """A file name without suffix: ``compliance_far_min_330282107`` (``_pass``/``_all`` for other outcomes)."""
        return "_".join(["compliance", self.rule.id, self.scope] + ([] if self.outcome == "fail" else [self.outcome]))


def check_outcome(outcome: str) -> str:
    """``outcome`` if it is one of :data:`OUTCOMES`, else an error naming them."""
    if outcome not in OUTCOMES:
        raise InvalidParameter(f"unknown outcome {outcome!r}; outcomes: {', '.join(OUTCOMES)}",
                               zh=f"未知的结果 {outcome!r}；可选：{'、'.join(OUTCOMES)}", field="outcome")
    return outcome


def check_file_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`FILE_FORMATS`, else an error naming them."""
    if fmt not in FILE_FORMATS:
        raise InvalidParameter(f"unknown format {fmt!r}; formats: {', '.join(FILE_FORMATS)}",
                               zh=f"未知的格式 {fmt!r}；可选：{'、'.join(FILE_FORMATS)}", field="format")
    return fmt


def half_up(value: float, decimals: int) -> float:
    """``value`` rounded to ``decimals`` as a person rounds: halves away from zero (0.28125 → 0.2813, where
    Python's ``round`` gives 0.2812), no negative zero."""
    scale = 10.0 ** decimals
    return math.copysign(math.floor(abs(value) * scale + 0.5), value) / scale + 0.0


# ---------------------------------------------------------------- which rows
def _scope(conn: Connection, town: str | None, block: str | None) -> tuple[str, str | None]:
    """The narrowest scope the filters give (as the JSON list checks them: codes exist and agree)."""
    if town is not None and conn.execute(sql.TOWN, {"code": town}).first() is None:
        raise NotFound(f"no town with code {town!r}",
                       zh=f"没有区划代码为 {town!r} 的镇街", field="town")
    if block is not None:
        row = conn.execute(sql.BLOCK, {"code": block}).first()
        if row is None:
            raise NotFound(f"no block with code {block!r}",
                           zh=f"没有编号为 {block!r} 的区块", field="block")
        if town is not None and town != row.town_code:
            raise InvalidParameter(f"block {block!r} lies in town {row.town_code!r}, not {town!r}",
                                   zh=f"区块 {block!r} 位于镇街 {row.town_code!r}，而不是 {town!r}", field="block")
        return "block", block
    return ("town", town) if town is not None else ("city", None)


def _judged(conn: Connection, rules: PlanningRules, rule: Rule, scope: str,
            code: str | None) -> list[tuple[Figures, RuleResult, str, str, str]]:
    """Every parcel (block) of the scope with the rule's result: (figures, result, code, block, town)."""
    if rule.level == "parcel":
        parcels = metrics.parcel_figures(conn, rules, scope, code)
        return [(p, apply(rule, p, rules), p.parcel_code, p.block_code, p.town_code) for p in parcels]
    _, blocks = metrics.area_figures(conn, scope, code, rules)
    return [(b, apply(rule, b, rules), b.block_code, b.block_code, b.town_code) for b in blocks]


def _order(item: metrics.ComplianceItem) -> tuple[int, float, float, str]:
    """Failures first, worst first (as the JSON list: relative gap, then shortfall), then the rest by code."""
    if item.outcome == "fail":
        return (0, -(item.relative_gap or 0.0), -(item.shortfall or 0.0), item.code)
    return (1, 0.0, 0.0, item.code)


def compliance_list(conn: Connection, rules: PlanningRules, rule_id: str, *, town: str | None = None,
                    block: str | None = None, outcome: str = "fail", limit: int = _ALL_ROWS,
                    offset: int = 0, basis: str | None = None) -> metrics.CompliancePage:
    """A page of a rule's results in a scope: failures (worst first, the JSON list's own), passes, or all;
    ``basis``: only the results whose ``rule_basis`` is it (far_min: programme, exemption, national_industry,
    warehouse, none).

    ``total`` counts the results of that outcome over all pages.
    """
    check_outcome(outcome)
    metrics.check_basis(basis)
    rule = get_rule(rule_id)
    if outcome == "fail":
        return metrics.compliance(conn, rules, rule.id, town=town, block=block, limit=limit, offset=offset,
                                  basis=basis)
    scope, code = _scope(conn, town, block)
    items = []
    for fig, result, item_code, block_code, town_code in _judged(conn, rules, rule, scope, code):
        if (outcome == "all" or result.outcome == outcome) and basis in (None, result.rule_basis):
            values = {f.name: getattr(result, f.name) for f in fields(RuleResult)}
            items.append(metrics.ComplianceItem(**values, code=item_code, block_code=block_code,
                                                town_code=town_code, land_area_m2=fig.land_area_m2,
                                                land_area_mu=fig.land_area_mu))
    items.sort(key=_order)
    info = metrics.RuleInfo(id=rule.id, level=rule.level, title=rule.title, source=rule.source,
                            comparison=rule.comparison, threshold=rule.default_threshold(rules), unit=rule.unit,
                            shortfall_unit=rule.shortfall_unit)
    return metrics.CompliancePage(rule=info, town=town, block=block, total=len(items), limit=limit, offset=offset,
                                  items=items[offset:offset + limit], rule_version=rules.rule_version, basis=basis)


# ---------------------------------------------------------------- rows
_PARCEL_PLACES = text("""
SELECT p.code, p.owner, b.code AS block_code, b.name AS block_name, t.code AS town_code, t.name AS town_name
FROM parcels p JOIN blocks b ON b.id = p.block_id JOIN towns t ON t.id = b.town_id
WHERE p.code = ANY(:codes)
""")
_BLOCK_PLACES = text("""
SELECT b.code, NULL AS owner, b.code AS block_code, b.name AS block_name, t.code AS town_code, t.name AS town_name
FROM blocks b JOIN towns t ON t.id = b.town_id
WHERE b.code = ANY(:codes)
""")


def places(conn: Connection, page: metrics.CompliancePage) -> dict[str, Place]:
    """Owner, block and town (codes and names) of every parcel (block) of ``page``, by code."""
    statement = _PARCEL_PLACES if page.rule.level == "parcel" else _BLOCK_PLACES
    rows = conn.execute(statement, {"codes": [i.code for i in page.items]})
    return {r.code: Place(r.owner, r.block_code, r.block_name, r.town_code, r.town_name) for r in rows}


def _basis(item: RuleResult) -> str:
    """The result's ``rule_basis`` (programme, exemption, national_industry, warehouse, none or national; the notes
    sheet says what each means)."""
    return item.rule_basis


def _number(unit: str) -> tuple[str, int, float]:
    """How a value in ``unit`` is shown: its unit in a header, decimals, and the factor (fractions as %)."""
    if unit == "fraction":
        return "%", 2, 100.0
    if unit == "ratio":
        return "", 2, 1.0
    if unit.startswith("m²"):
        return "m²", 2, 1.0
    if unit.startswith("元"):
        return "元/年", 0, 1.0
    return unit, 2, 1.0


def _scaled(value: float | None, factor: float, decimals: int) -> float | None:
    """A value scaled (fractions to percent) and rounded as a person reads it; None stays None."""
    return None if value is None else half_up(value * factor, decimals)


def table(page: metrics.CompliancePage, where: dict[str, Place], *, outcome: str = "fail") -> ListTable:
    """The rows of a compliance page as the bureau reads them (see the module), with Chinese headers."""
    rule = page.rule
    zh, en = _MEASURES.get(rule.id, (rule.id, rule.id))
    unit, decimals, factor = _number(rule.unit)
    unit_text = f" {unit}" if unit else ""
    floor_zh, floor_en = ("下限", "floor") if rule.comparison in ("≥", ">") else ("上限", "cap")
    short_unit, short_decimals, _ = _number(rule.shortfall_unit)
    what = rule.shortfall_unit.split(" ", 1)[1] if " " in rule.shortfall_unit else ""
    parcel = rule.level == "parcel"
    columns = [
        Column("code", "宗地编号 (parcel code)" if parcel else "区块编号 (block code)"),
        *([Column("owner", "土地权属人 (owner)")] if parcel else []),
        Column("town", "镇街 (town)"),
        Column("town_code", "镇街代码 (town code)"),
        *([Column("block", "区块编号 (block)")] if parcel else []),
        Column("block_name", "区块名称 (block name)"),
        Column("land_m2", "用地面积 m² (land area, m²)", 2),
        Column("land_mu", "用地面积 亩 (land area, mu)", 2),
        Column("value", f"{zh}{unit_text} ({en})", decimals),
        Column("threshold", f"{zh}{floor_zh}{unit_text} ({en} {floor_en} applied)", decimals),
        Column("outcome", "结果 (outcome)"),
        Column("shortfall", f"缺口 {short_unit} (shortfall{', ' + what if what else ''})", short_decimals),
        Column("basis", "依据 (rule basis)"),
        Column("exemption", "豁免理由 (exemption reason)"),
    ]
    rows = []
    for item in page.items:
        place = where.get(item.code) or Place(None, item.block_code, "", item.town_code, "")
        values = {
            "code": item.code, "owner": place.owner, "town": place.town_name, "town_code": item.town_code,
            "block": item.block_code, "block_name": place.block_name,
            "land_m2": _scaled(item.land_area_m2, 1.0, 2), "land_mu": _scaled(item.land_area_mu, 1.0, 2),
            "value": _scaled(item.value, factor, decimals), "threshold": _scaled(item.threshold, factor, decimals),
            "outcome": _OUTCOME_LABELS.get(item.outcome, item.outcome),
            "shortfall": _scaled(item.shortfall, 1.0, short_decimals),
            "basis": _basis(item), "exemption": item.exemption_reason,
        }
        rows.append([values[c.key] for c in columns])
    scope = page.block or page.town or "city"
    failing = sum(1 for item in page.items if item.outcome == "fail")
    return ListTable(rule, scope, outcome, columns, rows, page.rule_version, failing)


def build(conn: Connection, rules: PlanningRules, rule_id: str, *, town: str | None = None,
          block: str | None = None, outcome: str = "fail", basis: str | None = None) -> ListTable:
    """The whole list of a rule in a scope (every row of the outcome, of one ``rule_basis`` if given), ready for
    :func:`csv_bytes` or :func:`xlsx_bytes`."""
    page = compliance_list(conn, rules, rule_id, town=town, block=block, outcome=outcome, basis=basis)
    return table(page, places(conn, page), outcome=outcome)


def build_all(conn: Connection, rules: PlanningRules, rule_ids: Sequence[str] | None = None, *,
              town: str | None = None, block: str | None = None, outcome: str = "fail",
              basis: str | None = None) -> list[ListTable]:
    """The lists of several rules (every rule when ``rule_ids`` is None, parcel rules first)."""
    ids = list(rule_ids) if rule_ids is not None else list(RULES)
    return [build(conn, rules, r, town=town, block=block, outcome=outcome, basis=basis) for r in ids]


# ---------------------------------------------------------------- files
def _text(value: Any, column: Column) -> Any:
    """A value as CSV writes it: numbers with the column's decimals (no float noise), None as empty."""
    if value is None:
        return ""
    if column.decimals is not None and isinstance(value, float):
        return f"{value:.{column.decimals}f}"
    return value


def csv_bytes(table_: ListTable) -> bytes:
    """The list as CSV in UTF-8 with a BOM (so Excel shows the Chinese), one header row."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([c.header for c in table_.columns])
    for row in table_.rows:
        writer.writerow([_text(v, c) for v, c in zip(row, table_.columns, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def _scope_text(scope: str) -> str:
    """The scope in words."""
    return "全市 (city)" if scope == "city" else scope


def _notes(table_: ListTable, rules: PlanningRules | None) -> list[list[Any]]:
    """The notes sheet: what the list holds and how to read it."""
    rule = table_.rule
    threshold = f"{rule.comparison} {rule.threshold:g}" + ("" if rule.unit == "ratio" else f" {rule.unit}")
    notes: list[list[Any]] = [
        ["项目 (item)", "内容 (value)"],
        ["规则 (rule)", f"{rule.id}: {rule.title}"],
        ["指标 (threshold)", threshold + (" (区块豁免可调整 / a block's exemption may change it)"
                                          if rule.id == "far_min" else "")],
        ["范围 (scope)", _scope_text(table_.scope)],
        ["结果筛选 (outcome filter)", table_.outcome],
        ["行数 (rows)", len(table_.rows)],
        ["规则版本 (rule version)", table_.rule_version],
        ["生成日期 (date)", dt.date.today().isoformat()],
        ["面积 (areas)", "平面面积, 亩 = m² × 15 / 10000 (planar area in the storage CRS)"],
    ]
    if rules is not None and rule.id == "far_min":
        notes.append(["容积率下限设置 (setting)", f"RENEWAL_RULE_FAR_MIN = {rules.far_min:g}"])
    notes += [[f"依据 {key}", text_] for key, text_ in _BASIS_NOTES.items()]
    return notes


def number_cells(ws: Any, formats: list[str | None]) -> Callable[[list[Any]], list[Any]]:
    """For a write-only sheet: a function turning a row's values into what ``ws.append`` takes, numbers of the
    columns with a format in ``formats`` as cells with that number format (one styled cell per column, reused:
    a write-only sheet writes each row as it is appended)."""
    from openpyxl.cell import WriteOnlyCell

    styled: list[Any] = []
    for fmt in formats:
        cell = None
        if fmt is not None:
            cell = WriteOnlyCell(ws)
            cell.number_format = fmt
        styled.append(cell)

    def cells(values: list[Any]) -> list[Any]:
        out = list(values)
        for i, cell in enumerate(styled):
            if cell is not None and isinstance(out[i], (int, float)) and not isinstance(out[i], bool):
                cell.value = out[i]
                out[i] = cell
        return out

    return cells


def _sheet_rows(ws: Any, columns: list[Column]) -> Callable[[list[Any]], list[Any]]:
    """For a write-only sheet: a row's values with the numbers as cells of their column's number format."""
    return number_cells(ws, [column.excel_format for column in columns])


_WIDE = {"owner": 36, "block_name": 24, "exemption": 36, "code": 22}


def xlsx_bytes(tables: Sequence[ListTable], rules: PlanningRules | None = None) -> bytes:
    """The lists as an Excel workbook: a sheet per list (frozen header row, number formats, readable widths)
    and a notes sheet (说明) per list."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    for table_ in tables:
        ws = wb.create_sheet(table_.rule.id[:31])
        ws.freeze_panes = "A2"
        for i, column in enumerate(table_.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = _WIDE.get(column.key, 16)
        ws.append([c.header for c in table_.columns])
        cells = _sheet_rows(ws, table_.columns)
        for row in table_.rows:
            ws.append(cells(row))
    for table_ in tables:
        notes = wb.create_sheet(f"说明 {table_.rule.id}"[:31])
        notes.column_dimensions["A"].width = 26
        notes.column_dimensions["B"].width = 90
        for line in _notes(table_, rules):
            notes.append(line)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def file_bytes(tables: Sequence[ListTable], fmt: str, rules: PlanningRules | None = None) -> bytes:
    """The lists as a file: CSV (one list) or XLSX (a sheet each)."""
    if check_file_format(fmt) == "csv":
        if len(tables) != 1:
            raise InvalidParameter("a CSV file holds one rule's list; name the rule (or use xlsx)",
                                   zh="一个 CSV 文件只含一条规则的清单：请指定规则（或用 xlsx）", field="rule")
        return csv_bytes(tables[0])
    return xlsx_bytes(tables, rules)
