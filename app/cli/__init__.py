"""The ``renewal`` command line: database, sample data, import/export, checks, reports and the web service.

One module per command group (:mod:`app.cli.db`, :mod:`~app.cli.data`, :mod:`~app.cli.serve`,
:mod:`~app.cli.check` (with :mod:`~app.cli.entry`), :mod:`~app.cli.joint`, :mod:`~app.cli.report`,
:mod:`~app.cli.block`, :mod:`~app.cli.user`; shared helpers in :mod:`~app.cli.common`). The root callback builds
the settings once and puts them on the Typer context, where every command reads them
(:func:`app.cli.common.settings_of`).
"""

from __future__ import annotations

import sys

import typer

from app.cli import block, check, data, db, joint, report, serve, user
from app.settings import get_settings

cli = typer.Typer(help="renewal: old industrial block renovation (老旧工业区块改造提升), Cixi.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


@cli.callback()
def _settings(ctx: typer.Context) -> None:
    """Build the settings once for the command (a caller may pass its own as ``obj``)."""
    if ctx.obj is None:
        ctx.obj = get_settings()


# the order of the help: commands, then groups
cli.command()(data.sample)
cli.command("import")(data.import_)
cli.command()(data.export)
cli.command()(serve.serve)
cli.add_typer(check.cli, name="check")
cli.add_typer(db.cli, name="db")
cli.add_typer(joint.cli, name="joint")
cli.add_typer(report.cli, name="report")
cli.add_typer(block.cli, name="block")
cli.add_typer(user.cli, name="user")


def main() -> None:
    """Entry point of the console script; an unreachable database is a one-line error, not a traceback."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
