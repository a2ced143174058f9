"""``renewal check``: the planning rules' results on the terminal as a table or JSON (the API's numbers), or the
compliance list as a CSV or XLSX file the bureau can use; ``renewal check entry`` checks a proposed project
against the entry thresholds (:mod:`app.cli.entry`).

``check`` is a group whose default command is the rules check: ``renewal check far_min --town T`` (and ``renewal
check`` alone) run ``renewal check rules …``, while ``renewal check entry …`` runs the entry check.

The figures come from :func:`app.planning.report.check` and the lists from :mod:`app.planning.lists` (the
function that also builds ``GET /api/compliance?format=csv|xlsx``); this module only renders and writes them.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from typer.core import TyperGroup

from app.cli import entry
from app.cli.common import console, database, settings_of
from app.errors import InvalidParameter

if TYPE_CHECKING:
    from rich.console import JustifyMethod
    from rich.table import Table

    from app.planning.metrics import CompliancePage

_OUTCOME_WORDS = {"fail": "failing", "pass": "passing", "all": "checked"}
DEFAULT_COMMAND = "rules"
"""The command ``renewal check`` runs when its first argument names no command of the group (a rule, an option)."""


class RulesByDefault(TyperGroup):
    """A group that runs :data:`DEFAULT_COMMAND` unless the first argument names one of its commands, so that
    ``renewal check far_min`` keeps meaning ``renewal check rules far_min`` beside ``renewal check entry``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: Typer's own click Context
        """Put the default command in front of arguments that do not start with a command or ask for help."""
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


def check(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Argument(help="Rule id (far_min, supporting_floor_max, supporting_land_max, "
                                               "building_coefficient_min, green_ratio_max, old_block, "
                                               "target_tax_per_mu); every rule when omitted.")] = None,
    town: Annotated[str | None, typer.Option(help="Only this town (区划代码).")] = None,
    block: Annotated[str | None, typer.Option(help="Only this block (区块编号).")] = None,
    format: Annotated[str, typer.Option(help="table or json on the terminal; csv (one rule; to --out, else "
                                             "stdout) or xlsx (a sheet per rule; needs --out): the compliance "
                                             "list with Chinese headers, every row.")] = "table",
    out: Annotated[Path | None, typer.Option(help="File to write the csv or xlsx list to.")] = None,
    outcome: Annotated[str, typer.Option(help="Results listed: fail (default), pass or all.")] = "fail",
    limit: Annotated[int, typer.Option(help="Table and json: results listed per rule, worst first; 0 = all.",
                                       min=0)] = 20,
    basis: Annotated[str | None, typer.Option(help="Only results with this rule basis: programme, exemption, "
                                              "national_industry, warehouse, none (far_min; none with --outcome "
                                              "all) or national.")] = None,
) -> None:
    """Check the planning rules: parcels (or blocks) failing each, worst first. Exit 1 when a listed result fails."""
    from app.planning import lists, report

    settings = settings_of(ctx)
    with database(settings) as engine:
        report.check_format(format)
        lists.check_outcome(outcome)
        if format == "xlsx" and out is None:
            raise InvalidParameter("xlsx is a file: give --out PATH (e.g. --out compliance.xlsx)",
                                   zh="xlsx 是文件：请给出 --out 路径（例如 --out compliance.xlsx）", field="out")
        if format == "csv" and rule is None:
            raise InvalidParameter("a csv list holds one rule: name it (e.g. renewal check far_min --format csv), "
                                   "or use --format xlsx for a sheet per rule",
                                   zh="csv 清单只含一条规则：请指定规则（例如 renewal check far_min --format csv），"
                                      "或用 --format xlsx 每条规则一张表", field="rule")
        with engine.connect() as conn:
            if format in lists.FILE_FORMATS:
                tables = lists.build_all(conn, settings.rules, None if rule is None else [rule], town=town,
                                         block=block, outcome=outcome, basis=basis)
                failing = any(t.failing for t in tables)
            else:
                pages = report.check(conn, settings.rules, rule, town=town, block=block, limit=limit,
                                     outcome=outcome, basis=basis)
                failing = any(p.total if outcome == "fail" else any(i.outcome == "fail" for i in p.items)
                              for p in pages)
        if format in lists.FILE_FORMATS:
            data = lists.file_bytes(tables, format, settings.rules)
            if out is None:
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                rows = sum(len(t.rows) for t in tables)
                console.print(f"wrote {rows:,} rows ({', '.join(t.rule.id for t in tables)}) to {out}")
        else:
            write(pages, format, sys.stdout, outcome)
    if failing:
        raise typer.Exit(code=1)


cli = typer.Typer(cls=RulesByDefault, help="Check the planning rules (default: renewal check [RULE] ...) or a "
                  "proposed project's entry thresholds (renewal check entry ...).")
cli.command(DEFAULT_COMMAND)(check)
cli.command("entry")(entry.entry)


def write(pages: Sequence[CompliancePage], fmt: str, out: TextIO, outcome: str = "fail") -> None:
    """Write ``pages`` to ``out`` as a table (default) or JSON (the API bodies)."""
    from rich.console import Console

    if fmt == "json":
        json.dump([dataclasses.asdict(p) for p in pages], out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        console_ = Console(file=out, width=max(Console().width, 120))
        for page in pages:
            console_.print(_table(page, outcome))


def _num(value: float | None, digits: int = 2) -> str:
    """A number for the table."""
    return "" if value is None else f"{value:,.{digits}f}"


def _table(page: CompliancePage, outcome: str = "fail") -> Table:
    """One rule's results as a rich table, with the rule's source below it."""
    from rich.markup import escape
    from rich.table import Table

    rule = page.rule
    scope = f"block {page.block}" if page.block else f"town {page.town}" if page.town else "city"
    unit = "" if rule.unit == "ratio" else f" {rule.unit}"
    table = Table(title=escape(f"{rule.id}: {rule.title} ({rule.comparison} {rule.threshold:g}{unit}); {scope}: "
                               f"{page.total:,} {_OUTCOME_WORDS.get(outcome, outcome)}, {len(page.items):,} shown"),
                  caption=escape(f"{rule.source}; {page.rule_version}"), title_justify="left",
                  caption_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("#", "right"), ("code", "left"), ("block", "left"), ("town", "left"), ("亩", "right"), ("value", "right"),
        ("threshold", "right"), ("outcome", "left"), (f"shortfall ({rule.shortfall_unit})", "right"),
        ("basis", "left"))
    for name, justify in columns:
        table.add_column(name, justify=justify)
    digits = 4 if rule.unit == "fraction" else 2
    for i, item in enumerate(page.items, start=page.offset + 1):
        table.add_row(str(i), escape(item.code), escape(item.block_code), escape(item.town_code),
                      _num(item.land_area_mu), _num(item.value, digits), _num(item.threshold, digits),
                      escape(item.outcome), _num(item.shortfall), escape(item.rule_basis))
    return table
