"""``renewal report``: self-contained reports (a folium map, progress, town report, block dossier) as files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import AS_OF_HELP, console, database, parse_date, settings_of, write_report

if TYPE_CHECKING:
    from app.programme.progress import Progress

cli = typer.Typer(help="Reports: self-contained maps for people without access to the service.",
                  no_args_is_help=True)


@cli.command("map")
def report_map(
    ctx: typer.Context,
    town: Annotated[str, typer.Option(help="Town code (区划代码), e.g. 330282107.")],
    out: Annotated[Path, typer.Option(help="HTML file to write; it opens offline (assets inlined).")],
) -> None:
    """Write a folium map of a town's blocks, coloured by programme status, with their figures."""
    from app.programme import report_map as rm

    settings = settings_of(ctx)
    with database(settings) as engine:
        result = rm.town_map(engine, town, out, settings.rules)
        console.print(f"wrote {result.path}: {result.town_name} ({result.town_code}), {result.blocks} blocks")


@cli.command("progress")
def report_progress(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
    format: Annotated[str, typer.Option(help="table or json (stdout).")] = "table",
    out: Annotated[Path | None, typer.Option(help="Write the citywide report instead: .html or .pdf.")] = None,
) -> None:
    """Progress against the 2026 targets, citywide and per town (or the citywide report with --out)."""
    import dataclasses

    from app.programme import progress, reports

    settings = settings_of(ctx)
    day = parse_date(as_of)
    if out is not None:
        write_report(settings, out, lambda conn: reports.city_html(conn, settings.rules, settings.programme, day))
        return
    with database(settings) as engine:
        with engine.connect() as conn:
            found = progress.progress(conn, settings.rules, settings.programme, day)
    if format == "json":
        print(json.dumps(dataclasses.asdict(found), ensure_ascii=False, indent=2, default=str))
        return
    _print_progress(found)


def _print_progress(found: Progress) -> None:
    """The progress as a table per town (and the city) on stdout, then each target's share reached."""
    from rich.console import Console
    from rich.table import Table

    table = Table("镇街 town", "区块 blocks", "已改造 亩", "实施中 亩", "新增规上", "亩均税收 万元/亩", "逾期 overdue",
                  title=f"改造提升进度 progress on {found.as_of} ({found.programme_version}, {found.rule_version})",
                  title_justify="left")

    def fmt(v: float | None, d: int = 1) -> str:
        return "—" if v is None else f"{v:,.{d}f}"

    for t in [*found.towns, None]:
        s = found.city if t is None else t
        if t is not None and not t.blocks:
            continue
        table.add_row("全市 city" if t is None else f"{t.town_name} {t.town_code}", str(s.blocks),
                      fmt(s.renovated_area_mu), fmt(s.in_progress_area_mu), str(s.new_above_scale_firms),
                      fmt(s.renovated_tax_per_mu_wan, 2), str(s.overdue_blocks))
    Console(soft_wrap=True).print(table)
    for target in found.city.targets:
        share = "—" if target.share is None else f"{target.share:.1%}"
        print(f"{target.title}: {fmt(target.value, 2)} / {target.target:g} {target.unit} ({share})")


@cli.command("town")
def report_town(
    ctx: typer.Context,
    town: Annotated[str, typer.Option(help="Town code (区划代码), e.g. 330282107.")],
    out: Annotated[Path, typer.Option(help="File to write: .html (self-contained) or .pdf (Chromium).")],
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
) -> None:
    """A town's progress report: targets, map, blocks, failing-FAR list, overdue blocks, 十化 summary."""
    from app.programme import reports

    settings = settings_of(ctx)
    day = parse_date(as_of)
    write_report(settings, out, lambda conn: reports.town_html(conn, town, settings.rules, settings.programme, day))


@cli.command("dossier")
def report_dossier(
    ctx: typer.Context,
    block: Annotated[str, typer.Option(help="Block code (区块编号), e.g. QK107-001.")],
    out: Annotated[Path, typer.Option(help="File to write: .html or .pdf (one A4 page).")],
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
) -> None:
    """A block's dossier (地块档案): map, parcels, owners, figures, classes, history, 十化, incentives."""
    from app.programme import reports

    settings = settings_of(ctx)
    day = parse_date(as_of)
    write_report(settings, out,
                 lambda conn: reports.dossier_html(conn, block, settings.rules, settings.programme, day))
