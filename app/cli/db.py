"""``renewal db``: the project's own PostGIS cluster (up, down, status) and the Alembic migrations."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.cli.common import console, fail, reaching, settings_of

cli = typer.Typer(help="The database: the project's own PostGIS cluster and migrations.", no_args_is_help=True)


def _say(message: str) -> None:
    """A cluster step on stderr."""
    console.print(f"[cyan]db[/cyan] {message}")


@cli.command("up")
def db_up(ctx: typer.Context) -> None:
    """Start (installing and initialising if needed) the local cluster; no-op with DATABASE_URL."""
    from app.db import cluster

    try:
        cluster.up(settings_of(ctx), say=_say)
    except cluster.ClusterError as err:
        fail(err)


@cli.command("down")
def db_down(ctx: typer.Context) -> None:
    """Stop the local cluster."""
    from app.db import cluster

    cluster.down(settings_of(ctx), say=_say)


@cli.command("status")
def db_status(ctx: typer.Context) -> None:
    """Where the database is and whether it answers."""
    from app.db import cluster

    print(json.dumps(cluster.status(settings_of(ctx)), indent=2))


@cli.command("migrate")
def db_migrate(ctx: typer.Context,
               revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply Alembic migrations up to REVISION (default head)."""
    from app.db import migrate

    settings = settings_of(ctx)
    with reaching(settings):
        migrate.upgrade(settings.sqlalchemy_url, revision)


@cli.command("downgrade")
def db_downgrade(ctx: typer.Context,
                 revision: Annotated[str, typer.Argument(help="Target revision.")] = "base") -> None:
    """Revert Alembic migrations down to REVISION (default: everything)."""
    from app.db import migrate

    settings = settings_of(ctx)
    with reaching(settings):
        migrate.downgrade(settings.sqlalchemy_url, revision)
