"""``renewal serve``: the API and the map under stock uvicorn, as ``uvicorn app.main:app`` runs them."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, settings_of


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default RENEWAL_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default RENEWAL_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn workers (default RENEWAL_WORKERS).")] = None,
) -> None:
    """Serve the API and the map."""
    import uvicorn

    settings = settings_of(ctx)
    host = host or settings.host
    port = port or settings.port
    console.print(f"map at http://{host}:{port}/")
    # uvicorn's own protocols, access log and proxy-header handling (FORWARDED_ALLOW_IPS), as its CLI has them
    uvicorn.run("app.main:app", host=host, port=port, workers=workers or settings.workers, log_level="info")
