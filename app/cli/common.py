"""What the command groups share: the stderr console, the settings on the context, one engine per command,
progress bars, dates from options, and the one helper that renders a report and writes it (HTML or PDF)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.errors import Language, RenewalError
from app.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

console = Console(stderr=True, soft_wrap=True)
"""Messages, progress and errors go to stderr; results (JSON, CSV, tables) to stdout."""

AS_OF_HELP = "Date the figures are for, YYYY-MM-DD (default today)."


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback built for this command."""
    found = ctx.find_object(Settings)
    if found is None:
        raise RuntimeError("no settings on the Typer context: invoke the command through app.cli.cli")
    return found


def language() -> Language:
    """The language of the CLI's messages, from the locale: the first of ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``
    that is set; Chinese when it starts with ``zh`` (``zh_CN.UTF-8``), else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(name):
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def fail(err: Exception) -> NoReturn:
    """Print an error (a domain error in the locale's language) and exit non-zero."""
    text = err.text(language()) if isinstance(err, RenewalError) else str(err)
    console.print(f"[red]error:[/red] {text}")
    raise typer.Exit(code=2)


@contextmanager
def reaching(settings: Settings) -> Iterator[None]:
    """Run database work; an unreachable database is a one-line error (exit 3), not a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as err:
        where = make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
        reason = str(err.orig).strip().splitlines()[0]
        console.print(f"[red]error:[/red] cannot reach the database at {where}: {reason}")
        raise typer.Exit(code=3) from None


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """An engine on the configured database for one command (no statement timeout); domain errors exit 2,
    an unreachable database exits 3."""
    from app.db.engine import make_engine

    engine = make_engine(settings, pool_size=1, statement_timeout_ms=0)
    try:
        with reaching(settings):
            yield engine
    except RenewalError as err:
        fail(err)
    finally:
        engine.dispose()


def progress_bar() -> Progress:
    """A progress bar on stderr."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def parse_date(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD option as a date (None: not given, which means today)."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise typer.BadParameter(f"{value!r}: expected YYYY-MM-DD", param_hint="--as-of") from None


def write_report(settings: Settings, out: Path, render: Callable[[Connection], str]) -> None:
    """Render a report page on a connection and write it to ``out``: HTML, or PDF (printed by Chromium) when
    ``out`` ends in .pdf; then say where it went."""
    from app.programme import reports

    with database(settings) as engine:
        with engine.connect() as conn:
            page = render(conn)
        if out.suffix.lower() == ".pdf":
            out.write_bytes(reports.pdf(page, settings))
        else:
            out.write_text(page, encoding="utf-8")
        console.print(f"wrote {out}")
