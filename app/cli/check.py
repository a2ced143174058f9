"""``renewal check``: the planning rules' failures on the terminal, as a table, CSV or JSON (the API's numbers).

The figures come from :func:`app.planning.report.check`; this module only renders them.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from app.cli.common import database, settings_of

if TYPE_CHECKING:
    from rich.console import JustifyMethod
    from rich.table import Table

    from app.planning.metrics import CompliancePage

CSV_COLUMNS = ("rule", "level", "code", "block_code", "town_code", "outcome", "value", "comparison", "threshold",
               "unit", "shortfall", "shortfall_unit", "relative_gap", "land_area_m2", "land_area_mu",
               "exemption_reason", "explanation", "rule_version")


def check(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Argument(help="Rule id (far_min, supporting_floor_max, supporting_land_max, "
                                               "building_coefficient_min, green_ratio_max, old_block, "
                                               "target_tax_per_mu); every rule when omitted.")] = None,
    town: Annotated[str | None, typer.Option(help="Only this town (区划代码).")] = None,
    block: Annotated[str | None, typer.Option(help="Only this block (区块编号).")] = None,
    format: Annotated[str, typer.Option(help="table, csv or json (csv and json on stdout).")] = "table",
    limit: Annotated[int, typer.Option(help="Failures listed per rule, worst first; 0 = all.", min=0)] = 20,
) -> None:
    """Check the planning rules: parcels (or blocks) failing each, worst first. Exit 1 when any fails."""
    from app.planning import report

    settings = settings_of(ctx)
    with database(settings) as engine:
        report.check_format(format)
        with engine.connect() as conn:
            pages = report.check(conn, settings.rules, rule, town=town, block=block, limit=limit)
        write(pages, format, sys.stdout)
    if any(page.total for page in pages):
        raise typer.Exit(code=1)


def write(pages: Sequence[CompliancePage], fmt: str, out: TextIO) -> None:
    """Write ``pages`` to ``out`` as a table (default), CSV (one row per failure) or JSON (the API bodies)."""
    from rich.console import Console

    if fmt == "json":
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


def _table(page: CompliancePage) -> Table:
    """One rule's failures as a rich table, with the rule's source below it."""
    from rich.markup import escape
    from rich.table import Table

    rule = page.rule
    scope = f"block {page.block}" if page.block else f"town {page.town}" if page.town else "city"
    unit = "" if rule.unit == "ratio" else f" {rule.unit}"
    table = Table(title=escape(f"{rule.id}: {rule.title} ({rule.comparison} {rule.threshold:g}{unit}); {scope}: "
                               f"{page.total:,} failing, {len(page.items):,} shown"),
                  caption=escape(f"{rule.source}; {page.rule_version}"), title_justify="left",
                  caption_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("#", "right"), ("code", "left"), ("block", "left"), ("town", "left"), ("亩", "right"), ("value", "right"),
        ("threshold", "right"), (f"shortfall ({rule.shortfall_unit})", "right"))
    for name, justify in columns:
        table.add_column(name, justify=justify)
    digits = 4 if rule.unit == "fraction" else 2
    for i, item in enumerate(page.items, start=page.offset + 1):
        table.add_row(str(i), escape(item.code), escape(item.block_code), escape(item.town_code),
                      _num(item.land_area_mu),
                      _num(item.value, digits), _num(item.threshold, digits), _num(item.shortfall))
    return table
