"""The ``renewal`` command line: database, sample data, import/export and the web service."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from app.errors import RenewalError
from app.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

cli = typer.Typer(help="renewal: old industrial block renovation (老旧工业区块改造提升), Cixi.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_cli = typer.Typer(help="The database: the project's own PostGIS cluster and migrations.",
                     no_args_is_help=True)
cli.add_typer(db_cli, name="db")
console = Console(stderr=True, soft_wrap=True)


def _fail(err: Exception) -> None:
    """Print an error and exit non-zero."""
    console.print(f"[red]error:[/red] {err}")
    raise typer.Exit(code=2)


@contextmanager
def _database() -> Iterator[Engine]:
    """An engine on the configured database for one command (no statement timeout); domain errors exit 2."""
    from app.db.engine import make_engine

    engine = make_engine(get_settings(), pool_size=1, statement_timeout_ms=0)
    try:
        yield engine
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()


def _progress() -> Progress:
    """A progress bar on stderr."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


@db_cli.command("up")
def db_up() -> None:
    """Start (installing and initialising if needed) the local cluster; no-op with DATABASE_URL."""
    from app.db import cluster

    try:
        cluster.up(get_settings(), say=lambda m: console.print(f"[cyan]db[/cyan] {m}"))
    except cluster.ClusterError as err:
        _fail(err)


@db_cli.command("down")
def db_down() -> None:
    """Stop the local cluster."""
    from app.db import cluster

    cluster.down(get_settings(), say=lambda m: console.print(f"[cyan]db[/cyan] {m}"))


@db_cli.command("status")
def db_status() -> None:
    """Where the database is and whether it answers."""
    from app.db import cluster

    print(json.dumps(cluster.status(get_settings()), indent=2))


@db_cli.command("migrate")
def db_migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply Alembic migrations up to REVISION (default head)."""
    from app.db import migrate

    migrate.upgrade(get_settings().sqlalchemy_url, revision)


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "base") -> None:
    """Revert Alembic migrations down to REVISION (default: everything)."""
    from app.db import migrate

    migrate.downgrade(get_settings().sqlalchemy_url, revision)


@cli.command()
def sample(
    scale: Annotated[float | None, typer.Option(
        help="1 = city size: ~400 blocks, ~50,000 parcels (default RENEWAL_SAMPLE_SCALE, 0.02).")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Random seed; the same seed gives the same data (default RENEWAL_SAMPLE_SEED, 42).")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Load only into an empty database.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Delete existing data first.")] = False,
) -> None:
    """Generate the synthetic Cixi sample and load it (towns, blocks, parcels, buildings, enterprises)."""
    from sqlalchemy import Connection

    from app import audit
    from app.io import sample_load

    settings = get_settings()
    with _database() as engine:
        if if_empty and not sample_load.is_empty(engine):
            console.print("sample: the database already holds data; nothing loaded")
            return
        with _progress() as bar:
            tasks: dict[str, TaskID] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            def audited(conn: Connection, loaded: dict[str, int]) -> None:
                audit.record(conn, actor=audit.cli_actor(), action="replace" if replace else "load",
                             entity="sample", entity_key=f"scale={used_scale} seed={used_seed}",
                             before=None, after={"rows": loaded})

            used_scale = settings.sample_scale if scale is None else scale
            used_seed = settings.sample_seed if seed is None else seed
            counts = sample_load.load(engine, scale=used_scale, seed=used_seed, replace=replace, progress=report,
                                      on_loaded=audited)
        console.print("sample loaded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@cli.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Zipped shapefile, shapefile, GeoPackage, GeoJSON, or CSV "
                                              "(enterprises).", exists=True)],
    layer: Annotated[str, typer.Option(help="towns, blocks, parcels, buildings or enterprises.")],
    crs: Annotated[str | None, typer.Option(help="CRS of the file when it declares none, e.g. EPSG:4528.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of a shapefile without .cpg or a CSV: "
                                                      "utf-8 or gbk (default: detected).")] = None,
    mode: Annotated[str, typer.Option(help="append (existing codes refused), upsert (update by code) or "
                                           "replace (per town: also delete what the file lacks).")] = "append",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report what would change; write "
                                                             "nothing.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse invalid geometry instead of repairing it, "
                                                           "and treat warnings as errors.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the full report (JSON) to this file.")] = None,
) -> None:
    """Import a layer in one transaction: all features or, on any error, none; report per feature."""
    from app.audit import cli_actor
    from app.auth.imports import ImportGuard
    from app.db.engine import make_engine
    from app.io import importer

    engine = make_engine(get_settings(), pool_size=1, statement_timeout_ms=0)
    result: importer.ImportReport | None = None
    try:
        with console.status(f"importing {file.name} into {layer}..."):
            result = importer.import_file(engine, file, layer, crs=crs, encoding=encoding, mode=mode,
                                          dry_run=dry_run, strict=strict, hooks=ImportGuard(cli_actor(), None))
    except (importer.ImportRejected, importer.ImportConflict) as err:
        result = err.report
        _print_issues(result)
        _fail(err)
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()
        if report is not None and result is not None:
            report.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    assert result is not None
    _print_issues(result)
    verb = "would import" if dry_run else "imported"
    console.print(f"{verb} {result.inserted + result.updated:,} {layer} ({result.inserted:,} new, "
                  f"{result.updated:,} updated, {result.deleted:,} deleted; {len(result.repaired)} repaired, "
                  f"{len(result.warnings)} warnings)")


def _print_issues(result: object, limit: int = 20) -> None:
    """The first findings of an import report, one line each."""
    issues = getattr(result, "issues", [])
    for issue in issues[:limit]:
        colour = {"error": "red", "repaired": "yellow", "warning": "yellow"}[issue.severity]
        console.print(f"[{colour}]{issue.severity}[/{colour}] {issue.text()}", markup=True, highlight=False)
    if len(issues) > limit:
        console.print(f"... and {len(issues) - limit} more (see --report)")


@cli.command()
def export(
    layer: Annotated[str, typer.Option(help="towns, blocks, parcels, buildings (enterprises: csv, xlsx).")],
    out: Annotated[Path, typer.Option(help="Output file (a shapefile export is a .zip).")],
    format: Annotated[str, typer.Option(help="shp (zip), gpkg, geojson, csv or xlsx.")] = "gpkg",
    crs: Annotated[str | None, typer.Option(help="Output CRS; default the storage CRS.")] = None,
    town: Annotated[str | None, typer.Option(help="Only this town (区划代码).")] = None,
    block: Annotated[str | None, typer.Option(help="Only this block (区块编号).")] = None,
    status: Annotated[str | None, typer.Option(help="Only blocks with this status (and their parcels...).")] = None,
    bbox: Annotated[str | None, typer.Option(help="minx,miny,maxx,maxy in --bbox-crs (default CRS84).")] = None,
    bbox_crs: Annotated[str | None, typer.Option(help="CRS of --bbox, e.g. EPSG:4549.")] = None,
    encoding: Annotated[str, typer.Option(help="Shapefile text encoding: utf-8 or gbk.")] = "utf-8",
    geometry: Annotated[str, typer.Option(help="CSV geometry: wkt or none.")] = "wkt",
) -> None:
    """Export a layer with its interchange attributes (and planning figures for parcels and blocks)."""
    from app.io import exporter

    with _database() as engine:
        with _progress() as bar:
            task = bar.add_task(f"export {layer}", total=None)

            def report(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = exporter.export(
                engine, layer, out, fmt=format, crs=crs, encoding=encoding, geometry=geometry, progress=report,
                flt=exporter.ExportFilter(town=town, block=block, status=status, bbox=bbox, bbox_crs=bbox_crs))
        for cut in result.truncated[:10]:
            console.print(f"[yellow]truncated[/yellow] {cut.code} {cut.field}: {cut.bytes_before} bytes → 254")
        if len(result.truncated) > 10:
            console.print(f"... {len(result.truncated)} values truncated in all (listed in the zip)")
        console.print(f"exported {result.count:,} {layer} to {out}")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default RENEWAL_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default RENEWAL_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn workers (default RENEWAL_WORKERS).")] = None,
) -> None:
    """Serve the API and the map."""
    import uvicorn

    from app.http_protocol import PROTOCOL

    settings = get_settings()
    console.print(f"map at http://{host or settings.host}:{port or settings.port}/")
    uvicorn.run("app.main:app", host=host or settings.host, port=port or settings.port,
                workers=workers or settings.workers, log_level="info", http=PROTOCOL)


@cli.command()
def check(
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
    from app.planning.config import get_rules

    with _database() as engine:
        report.check_format(format)
        with engine.connect() as conn:
            pages = report.check(conn, get_rules(), rule, town=town, block=block, limit=limit)
        report.write(pages, format, sys.stdout)
    if any(page.total for page in pages):
        raise typer.Exit(code=1)


joint_cli = typer.Typer(help="Joint developments (联合开发): merge parcels of several holders.", no_args_is_help=True)
cli.add_typer(joint_cli, name="joint")


def _member(spec: str) -> tuple[str, float, float | None]:
    """Parse ``OWNER:SHARE_PCT[:PLANNED_M2]``."""
    parts = spec.rsplit(":", 2) if spec.count(":") >= 2 else spec.rsplit(":", 1)
    try:
        owner, share = parts[0], float(parts[1])
        planned = float(parts[2]) if len(parts) == 3 else None
    except (IndexError, ValueError):
        raise typer.BadParameter(f"{spec!r}: expected OWNER:SHARE_PCT[:PLANNED_M2]", param_hint="--member") from None
    return owner, share, planned


@joint_cli.command("create")
def joint_create(
    parcel: Annotated[list[str], typer.Option("--parcel", "-p", help="Parcel code (宗地编号); repeat, at least 2.")],
    member: Annotated[list[str], typer.Option("--member", "-m", help="OWNER:SHARE_PCT[:PLANNED_M2]; repeat.")],
    name: Annotated[str | None, typer.Option(help="Project name (项目名称).")] = None,
    p50: Annotated[float | None, typer.Option(help="50-year land price from the appraisal, yuan/亩.")] = None,
    rate: Annotated[float | None, typer.Option(help="土地还原率 (default RENEWAL_LAND_RATE, 6% assumed).")] = None,
    tolerance: Annotated[float | None, typer.Option(help="Adjacency tolerance, m (default 0.5).")] = None,
    valuation_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD the terms are counted from (today).")] = None,
    planned: Annotated[float | None, typer.Option(help="The plan's total floor area, m².")] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Compute and print; save nothing.")] = False,
) -> None:
    """Check, merge and save a joint development (or only preview it); prints its figures as JSON."""
    import datetime as dt

    from app import audit
    from app.planning import joint_sql
    from app.planning.config import get_rules

    settings = get_settings()
    try:
        proposal = joint_sql.Proposal(
            parcels=parcel, members=[joint_sql.Member(*_member(m)) for m in member], name=name,
            p50_yuan_per_mu=p50, rate=rate if rate is not None else settings.land_rate, rate_given=rate is not None,
            tolerance_m=tolerance if tolerance is not None else settings.joint_tolerance_m,
            valuation_date=dt.date.fromisoformat(valuation_date) if valuation_date else dt.date.today(),
            planned_floor_area_m2=planned)
    except ValueError as err:
        _fail(err)
    with _database() as engine:
        with engine.begin() as conn:
            if preview:
                result = joint_sql.with_geojson(conn, joint_sql.evaluate(conn, proposal, get_rules()))
            else:
                result = joint_sql.get(conn, joint_sql.create(conn, proposal, get_rules()))
                audit.record(conn, actor=audit.cli_actor(), action="create", entity="joint_development",
                             entity_key=result["id"], before=None,
                             after={k: v for k, v in result.items() if k != "geometry"})
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


@joint_cli.command("show")
def joint_show(jd_id: Annotated[int, typer.Argument(help="Project id.")]) -> None:
    """Print a saved joint development as JSON."""
    from app.planning import joint_sql

    with _database() as engine:
        with engine.connect() as conn:
            print(json.dumps(joint_sql.get(conn, jd_id), ensure_ascii=False, indent=2, default=str))


@joint_cli.command("list")
def joint_list() -> None:
    """List joint developments: id, name, status, area (亩), term end, parcels."""
    from rich.table import Table

    from app.db.engine import make_engine
    from app.planning import joint_sql

    engine = make_engine(get_settings(), pool_size=1, statement_timeout_ms=0)
    try:
        with engine.connect() as conn:
            rows = joint_sql.list_all(conn)
    finally:
        engine.dispose()
    table = Table("id", "名称 name", "状态 status", "面积 亩", "终止日期 term end", "宗地 parcels")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], r["status"], f"{r['land_area_mu']:.2f}", r["term_end"],
                      ", ".join(r["parcels"]))
    Console(soft_wrap=True).print(table)


report_cli = typer.Typer(help="Reports: self-contained maps for people without access to the service.",
                         no_args_is_help=True)
cli.add_typer(report_cli, name="report")


@report_cli.command("map")
def report_map(
    town: Annotated[str, typer.Option(help="Town code (区划代码), e.g. 330282107.")],
    out: Annotated[Path, typer.Option(help="HTML file to write; it opens offline (assets inlined).")],
) -> None:
    """Write a folium map of a town's blocks, coloured by programme status, with their figures."""
    from app import report_map as rm

    with _database() as engine:
        result = rm.town_map(engine, town, out)
        console.print(f"wrote {result.path}: {result.town_name} ({result.town_code}), {result.blocks} blocks")


def _write_report(page: str, out: Path) -> None:
    """Write a report as HTML, or as PDF (printed by Chromium) when ``out`` ends in .pdf."""
    from app.programme import reports

    if out.suffix.lower() == ".pdf":
        out.write_bytes(reports.pdf(page, get_settings()))
    else:
        out.write_text(page, encoding="utf-8")


def _as_of(value: str | None) -> object:
    """A YYYY-MM-DD option as a date (None: today)."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected YYYY-MM-DD", param_hint="--as-of") from None


_AS_OF = "Date the figures are for, YYYY-MM-DD (default today)."


@report_cli.command("progress")
def report_progress(
    as_of: Annotated[str | None, typer.Option(help=_AS_OF)] = None,
    format: Annotated[str, typer.Option(help="table or json (stdout).")] = "table",
    out: Annotated[Path | None, typer.Option(help="Write the citywide report instead: .html or .pdf.")] = None,
) -> None:
    """Progress against the 2026 targets, citywide and per town (or the citywide report with --out)."""
    import dataclasses

    from app.planning.config import get_rules
    from app.programme import progress, reports
    from app.programme.config import get_programme_rules

    day = _as_of(as_of)
    with _database() as engine:
        with engine.connect() as conn:
            if out is not None:
                _write_report(reports.city_html(conn, get_rules(), get_programme_rules(), day), out)  # type: ignore[arg-type]
                console.print(f"wrote {out}")
                return
            found = progress.progress(conn, get_rules(), get_programme_rules(), day)  # type: ignore[arg-type]
    if format == "json":
        print(json.dumps(dataclasses.asdict(found), ensure_ascii=False, indent=2, default=str))
        return
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


@report_cli.command("town")
def report_town(
    town: Annotated[str, typer.Option(help="Town code (区划代码), e.g. 330282107.")],
    out: Annotated[Path, typer.Option(help="File to write: .html (self-contained) or .pdf (Chromium).")],
    as_of: Annotated[str | None, typer.Option(help=_AS_OF)] = None,
) -> None:
    """A town's progress report: targets, map, blocks, failing-FAR list, overdue blocks, 十化 summary."""
    from app.planning.config import get_rules
    from app.programme import reports
    from app.programme.config import get_programme_rules

    with _database() as engine:
        with engine.connect() as conn:
            page = reports.town_html(conn, town, get_rules(), get_programme_rules(), _as_of(as_of))  # type: ignore[arg-type]
        _write_report(page, out)
        console.print(f"wrote {out}")


@report_cli.command("dossier")
def report_dossier(
    block: Annotated[str, typer.Option(help="Block code (区块编号), e.g. QK107-001.")],
    out: Annotated[Path, typer.Option(help="File to write: .html or .pdf (one A4 page).")],
    as_of: Annotated[str | None, typer.Option(help=_AS_OF)] = None,
) -> None:
    """A block's dossier (地块档案): map, parcels, owners, figures, classes, history, 十化, incentives."""
    from app.planning.config import get_rules
    from app.programme import reports
    from app.programme.config import get_programme_rules

    with _database() as engine:
        with engine.connect() as conn:
            page = reports.dossier_html(conn, block, get_rules(), get_programme_rules(), _as_of(as_of))  # type: ignore[arg-type]
        _write_report(page, out)
        console.print(f"wrote {out}")


block_cli = typer.Typer(help="Blocks in the programme: status changes (one step at a time), history, deadlines.",
                        no_args_is_help=True)
cli.add_typer(block_cli, name="block")
_ACTOR = "Who makes the change (default cli:<os user>)."


def _block_write(code: str, version: int | None, **kwargs: object) -> None:
    """Apply a lifecycle change in one transaction (audited) and print the block as JSON."""
    import dataclasses

    from app import audit
    from app.programme import lifecycle

    with _database() as engine:
        with engine.begin() as conn:
            lifecycle.lock_block(conn, code, version)
            before = lifecycle.get_block(conn, code)
            record = lifecycle.apply_change(conn, code, expected_version=version, **kwargs)  # type: ignore[arg-type]
            audit.record(conn, actor=str(kwargs["actor"]), action="reopen" if kwargs.get("reopen") else "update",
                         entity="block", entity_key=code, before=dataclasses.asdict(before),
                         after=dataclasses.asdict(record))
        print(json.dumps(dataclasses.asdict(record), ensure_ascii=False, indent=2, default=str))


def _actor(actor: str | None) -> str:
    """``cli:<os user>``, and the person named with ``--actor`` when given (recorded, not trusted alone)."""
    from app.audit import cli_actor

    return f"{cli_actor()} for {actor}" if actor else cli_actor()


@block_cli.command("show")
def block_show(code: Annotated[str, typer.Argument(help="Block code (区块编号).")]) -> None:
    """Print a block's programme attributes and its history as JSON."""
    import dataclasses

    from app.programme import lifecycle

    with _database() as engine:
        with engine.connect() as conn:
            body = {"block": dataclasses.asdict(lifecycle.get_block(conn, code)),
                    "history": [dataclasses.asdict(h) for h in lifecycle.history(conn, code)]}
        print(json.dumps(body, ensure_ascii=False, indent=2, default=str))


@block_cli.command("status")
def block_status(
    code: Annotated[str, typer.Argument(help="Block code (区块编号).")],
    status: Annotated[str, typer.Argument(help="listed, surveyed, planned, in_progress or accepted (one step).")],
    actor: Annotated[str | None, typer.Option(help=_ACTOR)] = None,
    remark: Annotated[str | None, typer.Option(help="备注 (required to go one step back).")] = None,
    date: Annotated[str | None, typer.Option(help="Effective date YYYY-MM-DD (default today).")] = None,
    mode: Annotated[str | None, typer.Option(help="改造路径 (with planned): demolition, sorting, management.")] = None,
    industry: Annotated[str | None, typer.Option(help="产业定位 (with planned).")] = None,
    version: Annotated[int | None, typer.Option(help="Expected block version (refused when it moved).")] = None,
) -> None:
    """Move a block one step (listed → surveyed → planned → in_progress → accepted), recorded in its history."""
    attrs = {k: v for k, v in (("mode", mode), ("industry", industry)) if v is not None}
    _block_write(code, version, status=status, actor=_actor(actor), remark=remark, changed_on=_as_of(date), **attrs)


@block_cli.command("set")
def block_set(
    code: Annotated[str, typer.Argument(help="Block code (区块编号).")],
    actor: Annotated[str | None, typer.Option(help=_ACTOR)] = None,
    remark: Annotated[str | None, typer.Option(help="备注.")] = None,
    mode: Annotated[str | None, typer.Option(help="改造路径: demolition, sorting, management.")] = None,
    industry: Annotated[str | None, typer.Option(help="产业定位.")] = None,
    plan_year: Annotated[int | None, typer.Option(help="改造计划年度.")] = None,
    works_completed: Annotated[str | None, typer.Option(help="Works finished on YYYY-MM-DD.")] = None,
    version: Annotated[int | None, typer.Option(help="Expected block version (refused when it moved).")] = None,
) -> None:
    """Change a block's mode, industry, plan year or works date (recorded in its history)."""
    attrs = {k: v for k, v in (("mode", mode), ("industry", industry), ("plan_year", plan_year),
                               ("works_completed_on", _as_of(works_completed))) if v is not None}
    _block_write(code, version, actor=_actor(actor), remark=remark, **attrs)


@block_cli.command("reopen")
def block_reopen(
    code: Annotated[str, typer.Argument(help="Block code (区块编号).")],
    remark: Annotated[str, typer.Option(help="Why it is reopened (required).")],
    actor: Annotated[str | None, typer.Option(help=_ACTOR)] = None,
    version: Annotated[int | None, typer.Option(help="Expected block version (refused when it moved).")] = None,
) -> None:
    """Reopen an accepted block (back to in_progress): an administrator's act, open to whoever runs the CLI."""
    _block_write(code, version, actor=_actor(actor), remark=remark, reopen=True, is_admin=True)


@block_cli.command("overdue")
def block_overdue(
    town: Annotated[str | None, typer.Option(help="Only this town (区划代码).")] = None,
    as_of: Annotated[str | None, typer.Option(help=_AS_OF)] = None,
) -> None:
    """List blocks that missed a programme deadline, per town. Exit 1 when any did."""
    import datetime as dt

    from app.planning.config import get_rules
    from app.programme import lifecycle
    from app.programme.config import get_programme_rules

    day = _as_of(as_of) or dt.date.today()
    with _database() as engine:
        with engine.connect() as conn:
            towns = lifecycle.overdue(conn, get_programme_rules(), day, town,  # type: ignore[arg-type]
                                      tuple(get_rules().target_statuses))
    for t in towns:
        print(f"{t.town_name} {t.town_code}: {len(t.blocks)} overdue")
        for b in t.blocks:
            steps = "; ".join(f"{s.title} due {s.due} ({s.days_overdue} days)" for s in b.steps)
            print(f"  {b.code} {b.name} [{b.status_at}] {steps}")
    if towns:
        raise typer.Exit(code=1)


@block_cli.command("seed-sample")
def block_seed_sample() -> None:
    """Give the sample's blocks a synthetic, deterministic history and its firms baseline years (示例数据)."""
    from app.db.engine import make_engine
    from app.programme import sample as programme_sample

    engine = make_engine(get_settings(), pool_size=1, statement_timeout_ms=0)
    try:
        with engine.begin() as conn:
            counts = programme_sample.seed(conn)
        console.print("seeded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    finally:
        engine.dispose()


user_cli = typer.Typer(help="Accounts: add, disable, enable, set-role, passwd, list. Every change is audited "
                       "as cli:<os user>.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")
_ROLE_HELP = "viewer, town_editor (with --town), reviewer or admin."


def _new_password(from_stdin: bool) -> str:
    """A password from the first line of standard input, or asked twice at the terminal (not echoed)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _change_user(username: str, *, role: str | None = None, town: str | None = None, disabled: bool | None = None,
                 password: str | None = None) -> None:
    """Apply a change to an account (audited as cli:<os user>) and say what it is now."""
    from app.audit import cli_actor
    from app.auth import users

    with _database() as engine:
        with engine.begin() as conn:
            user = users.update(conn, actor=cli_actor(), username=username, if_match=None, role=role,
                                town_code=town if town is not None else users.KEEP, disabled=disabled,
                                password=password)
        town = f" of town {user.town_code}" if user.town_code else ""
        console.print(f"{user.username}: {user.role}{town}{', disabled' if user.disabled else ''} (v{user.version})")


@user_cli.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name (lower-case letters, digits, _ . @ -).")],
    role: Annotated[str, typer.Option(help=_ROLE_HELP)],
    town: Annotated[str | None, typer.Option(help="区划代码 of the town a town editor edits.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first "
                                                                           "line of standard input.")] = False,
) -> None:
    """Add an account; the password is asked twice (or read with --password-stdin) and hashed with argon2id."""
    from app.audit import cli_actor
    from app.auth import users

    password = _new_password(password_stdin)
    with _database() as engine:
        with engine.begin() as conn:
            user = users.create(conn, actor=cli_actor(), username=username, password=password, role=role,
                                town_code=town)
        console.print(f"added {user.username}: {user.role}" + (f" of town {user.town_code}" if user.town_code else ""))


@user_cli.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable an account: it can no longer log in, and its tokens no longer write."""
    _change_user(username, disabled=True)


@user_cli.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Enable a disabled account again."""
    _change_user(username, disabled=False)


@user_cli.command("set-role")
def user_set_role(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Argument(help=_ROLE_HELP)],
    town: Annotated[str | None, typer.Option(help="区划代码 (for town_editor).")] = None,
) -> None:
    """Change an account's role (and town, for a town editor)."""
    _change_user(username, role=role, town=town)


@user_cli.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first "
                                                                           "line of standard input.")] = False,
) -> None:
    """Set a new password for an account."""
    _change_user(username, password=_new_password(password_stdin))


@user_cli.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout instead of a table.")] = False
              ) -> None:
    """List the accounts: name, role, town, state, version."""
    from rich.table import Table

    from app.auth import users
    from app.db.engine import make_engine

    engine = make_engine(get_settings(), pool_size=1, statement_timeout_ms=0)
    try:
        with engine.connect() as conn:
            rows = users.list_all(conn)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([u.public() for u in rows], ensure_ascii=False, indent=2, default=str))
        return
    table = Table("user", "role", "town", "state", "version")
    for u in rows:
        table.add_row(u.username, u.role, u.town_code or "", "disabled" if u.disabled else "active", str(u.version))
    Console(soft_wrap=True).print(table)


def main() -> None:
    """Entry point of the console script; an unreachable database is a one-line error, not a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except OperationalError as err:
        where = make_url(get_settings().sqlalchemy_url).render_as_string(hide_password=True)
        reason = str(err.orig).strip().splitlines()[0]
        console.print(f"[red]error:[/red] cannot reach the database at {where}: {reason}")
        sys.exit(3)


if __name__ == "__main__":
    main()
