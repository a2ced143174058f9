"""``renewal sample``, ``renewal import`` and ``renewal export``: data into and out of the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import console, database, progress_bar, settings_of

if TYPE_CHECKING:
    from rich.progress import TaskID
    from sqlalchemy import Connection


def sample(
    ctx: typer.Context,
    scale: Annotated[float | None, typer.Option(
        help="1 = city size: ~400 blocks, ~50,000 parcels (default RENEWAL_SAMPLE_SCALE, 0.02).")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Random seed; the same seed gives the same data (default RENEWAL_SAMPLE_SEED, 42).")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Load only into an empty database.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Delete existing data first.")] = False,
) -> None:
    """Generate the synthetic Cixi sample and load it (towns, blocks, parcels, buildings, enterprises)."""
    from app.db import audit
    from app.io import sample_load

    settings = settings_of(ctx)
    used_scale = settings.sample_scale if scale is None else scale
    used_seed = settings.sample_seed if seed is None else seed
    with database(settings) as engine:
        if if_empty and not sample_load.is_empty(engine):
            console.print("sample: the database already holds data; nothing loaded")
            return
        with progress_bar() as bar:
            tasks: dict[str, TaskID] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            def audited(conn: Connection, loaded: dict[str, int]) -> None:
                audit.record(conn, actor=audit.cli_actor(), action="replace" if replace else "load",
                             entity="sample", entity_key=f"scale={used_scale} seed={used_seed}",
                             before=None, after={"rows": loaded})

            counts = sample_load.load(engine, scale=used_scale, seed=used_seed, replace=replace, progress=report,
                                      on_loaded=audited)
        console.print("sample loaded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


def import_(
    ctx: typer.Context,
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
    from app.auth.imports import ImportGuard
    from app.db.audit import cli_actor
    from app.io import importer

    settings = settings_of(ctx)
    result: importer.ImportReport | None = None
    with database(settings) as engine:
        try:
            with console.status(f"importing {file.name} into {layer}..."):
                result = importer.import_file(engine, file, layer, limits=settings.limits, crs=crs,
                                              encoding=encoding, mode=mode, dry_run=dry_run, strict=strict,
                                              hooks=ImportGuard(cli_actor(), None))
        except (importer.ImportRejected, importer.ImportConflict) as err:
            result = err.report
            _print_issues(result)
            raise  # printed by database(), exit 2
        finally:
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


def export(
    ctx: typer.Context,
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

    settings = settings_of(ctx)
    with database(settings) as engine:
        with progress_bar() as bar:
            task = bar.add_task(f"export {layer}", total=None)

            def report(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = exporter.export(
                engine, layer, out, rules=settings.rules, fmt=format, crs=crs, encoding=encoding, geometry=geometry,
                progress=report,
                flt=exporter.ExportFilter(town=town, block=block, status=status, bbox=bbox, bbox_crs=bbox_crs,
                                          bbox_crs_param="--bbox-crs"))
        for cut in result.truncated[:10]:
            console.print(f"[yellow]truncated[/yellow] {cut.code} {cut.field}: {cut.bytes_before} bytes → 254")
        if len(result.truncated) > 10:
            console.print(f"... {len(result.truncated)} values truncated in all (listed in the zip)")
        console.print(f"exported {result.count:,} {layer} to {out}")
