"""The ``renewal`` command line: database, sample data, import/export and the web service."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from app.errors import RenewalError
from app.settings import get_settings

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
    scale: Annotated[float, typer.Option(help="1 = city size: ~400 blocks, ~50,000 parcels.")] = 0.02,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Load only into an empty database.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Delete existing data first.")] = False,
) -> None:
    """Generate the synthetic Cixi sample and load it (towns, blocks, parcels, buildings, enterprises)."""
    from app.db.engine import make_engine
    from app.io import sample_load

    settings = get_settings()
    engine = make_engine(settings, pool_size=1, statement_timeout_ms=0)
    try:
        if if_empty and not sample_load.is_empty(engine):
            console.print("sample: the database already holds data; nothing loaded")
            return
        with _progress() as bar:
            tasks: dict[str, TaskID] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            counts = sample_load.load(engine, scale=scale, seed=seed, replace=replace, progress=report)
        console.print("sample loaded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()


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
    from app.db.engine import make_engine
    from app.io import importer

    engine = make_engine(get_settings(), pool_size=1, statement_timeout_ms=0)
    result: importer.ImportReport | None = None
    try:
        with console.status(f"importing {file.name} into {layer}..."):
            result = importer.import_file(engine, file, layer, crs=crs, encoding=encoding, mode=mode,
                                          dry_run=dry_run, strict=strict)
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
    from app.db.engine import make_engine
    from app.io import exporter

    engine = make_engine(get_settings(), pool_size=1, statement_timeout_ms=0)
    try:
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
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default RENEWAL_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default RENEWAL_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn workers (default RENEWAL_WORKERS).")] = None,
) -> None:
    """Serve the API and the map."""
    import uvicorn

    settings = get_settings()
    console.print(f"map at http://{host or settings.host}:{port or settings.port}/")
    uvicorn.run("app.main:app", host=host or settings.host, port=port or settings.port,
                workers=workers or settings.workers, log_level="info")


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
    from app.db.engine import make_engine
    from app.planning import report
    from app.planning.config import get_rules

    engine = make_engine(get_settings(), pool_size=1)
    try:
        report.check_format(format)
        with engine.connect() as conn:
            pages = report.check(conn, get_rules(), rule, town=town, block=block, limit=limit)
        report.write(pages, format, sys.stdout)
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()
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

    from app.db.engine import make_engine
    from app.planning import joint_sql
    from app.planning.config import get_rules

    settings = get_settings()
    try:
        proposal = joint_sql.Proposal(
            parcels=parcel, members=[joint_sql.Member(*_member(m)) for m in member], name=name,
            p50_yuan_per_mu=p50, rate=rate if rate is not None else settings.land_rate,
            tolerance_m=tolerance if tolerance is not None else settings.joint_tolerance_m,
            valuation_date=dt.date.fromisoformat(valuation_date) if valuation_date else dt.date.today(),
            planned_floor_area_m2=planned)
    except ValueError as err:
        _fail(err)
    engine = make_engine(settings, pool_size=1)
    try:
        with engine.begin() as conn:
            if preview:
                result = joint_sql.with_geojson(conn, joint_sql.evaluate(conn, proposal, get_rules()))
            else:
                result = joint_sql.get(conn, joint_sql.create(conn, proposal, get_rules()))
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()


@joint_cli.command("show")
def joint_show(jd_id: Annotated[int, typer.Argument(help="Project id.")]) -> None:
    """Print a saved joint development as JSON."""
    from app.db.engine import make_engine
    from app.planning import joint_sql

    engine = make_engine(get_settings(), pool_size=1)
    try:
        with engine.connect() as conn:
            print(json.dumps(joint_sql.get(conn, jd_id), ensure_ascii=False, indent=2, default=str))
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()


@joint_cli.command("list")
def joint_list() -> None:
    """List joint developments: id, name, status, area (亩), term end, parcels."""
    from rich.table import Table

    from app.db.engine import make_engine
    from app.planning import joint_sql

    engine = make_engine(get_settings(), pool_size=1)
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
    from app.db.engine import make_engine

    engine = make_engine(get_settings(), pool_size=1)
    try:
        result = rm.town_map(engine, town, out)
        console.print(f"wrote {result.path}: {result.town_name} ({result.town_code}), {result.blocks} blocks")
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()


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
