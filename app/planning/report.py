"""Compliance results for the terminal: ``renewal check`` as a table, CSV or JSON (the API's numbers)."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection

from app.errors import InvalidParameter
from app.planning import metrics
from app.planning.config import PlanningRules
from app.planning.rules import RULES, get_rule

FORMATS = ("table", "csv", "json")
CSV_COLUMNS = ("rule", "level", "code", "block_code", "town_code", "outcome", "value", "comparison", "threshold",
               "unit", "shortfall", "shortfall_unit", "relative_gap", "land_area_m2", "land_area_mu",
               "exemption_reason", "explanation", "rule_version")


def check(conn: Connection, rules: PlanningRules, rule_id: str | None, *, town: str | None = None,
          block: str | None = None, limit: int = 20) -> list[metrics.CompliancePage]:
    """The compliance page of one rule, or of every rule when ``rule_id`` is None; ``limit`` 0 = all."""
    ids = [get_rule(rule_id).id] if rule_id is not None else list(RULES)
    size = limit if limit > 0 else 2**31 - 1
    return [metrics.compliance(conn, rules, r, town=town, block=block, limit=size) for r in ids]


def check_format(fmt: str) -> str:
    """``fmt`` if it is a known output format, else an error naming them."""
    if fmt not in FORMATS:
        raise InvalidParameter(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}", field="format")
    return fmt


def write(pages: Sequence[metrics.CompliancePage], fmt: str, out: TextIO) -> None:
    """Write ``pages`` to ``out`` as a table (default), CSV (one row per failure) or JSON (the API bodies)."""
    if check_format(fmt) == "json":
        json.dump([dataclasses.asdict(p) for p in pages], out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for page in pages:
            for item in page.items:
                row = dataclasses.asdict(item)
                writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    else:
        console = Console(file=out, width=max(Console().width, 120))
        for page in pages:
            console.print(_table(page))


def _num(value: float | None, digits: int = 2) -> str:
    """A number for the table."""
    return "" if value is None else f"{value:,.{digits}f}"


def _table(page: metrics.CompliancePage) -> Table:
    """One rule's failures as a rich table, with the rule's source below it."""
    rule = page.rule
    scope = f"block {page.block}" if page.block else f"town {page.town}" if page.town else "city"
    unit = "" if rule.unit == "ratio" else f" {rule.unit}"
    table = Table(title=escape(f"{rule.id}: {rule.title} ({rule.comparison} {rule.threshold:g}{unit}); {scope}: "
                               f"{page.total:,} failing, {len(page.items):,} shown"),
                  caption=escape(f"{rule.source}; {page.rule_version}"), title_justify="left",
                  caption_justify="left")
    for name, justify in (("#", "right"), ("code", "left"), ("block", "left"), ("town", "left"), ("亩", "right"),
                          ("value", "right"), ("threshold", "right"), (f"shortfall ({rule.shortfall_unit})", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    digits = 4 if rule.unit == "fraction" else 2
    for i, item in enumerate(page.items, start=page.offset + 1):
        table.add_row(str(i), escape(item.code), escape(item.block_code), escape(item.town_code),
                      _num(item.land_area_mu),
                      _num(item.value, digits), _num(item.threshold, digits), _num(item.shortfall))
    return table
