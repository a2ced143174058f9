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
    engine = make_engine(settings, pool_size=1)
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
    file: Annotated[Path, typer.Argument(help="GeoPackage, GeoJSON or zipped shapefile.", exists=True)],
    layer: Annotated[str, typer.Option(help="towns, blocks, parcels or buildings.")],
    crs: Annotated[str | None, typer.Option(help="CRS of the file when it declares none, e.g. EPSG:4528.")] = None,
) -> None:
    """Import a layer in one transaction: all features or, on any error, none."""
    from app.db.engine import make_engine
    from app.io import importer

    engine = make_engine(get_settings(), pool_size=1)
    try:
        n = importer.import_file(engine, file, layer, crs=crs)
        console.print(f"imported {n:,} {layer}")
    except RenewalError as err:
        _fail(err)
    finally:
        engine.dispose()


@cli.command()
def export(
    layer: Annotated[str, typer.Option(help="towns, blocks, parcels or buildings.")],
    out: Annotated[Path, typer.Option(help="Output file.")],
    format: Annotated[str, typer.Option(help="gpkg or geojson.")] = "gpkg",
    crs: Annotated[str | None, typer.Option(help="Output CRS; default the storage CRS.")] = None,
) -> None:
    """Export a layer with its interchange attributes."""
    from app.db.engine import make_engine
    from app.io import exporter

    engine = make_engine(get_settings(), pool_size=1)
    try:
        n = exporter.export_layer(engine, layer, out, fmt=format, crs=crs)
        console.print(f"exported {n:,} {layer} to {out}")
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
        console.print(f"[red]error:[/red] cannot reach the database at {where}: {str(err.orig).strip().splitlines()[0]}")
        sys.exit(3)


if __name__ == "__main__":
    main()
