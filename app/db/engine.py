"""The SQLAlchemy engine: one per process, with short connect timeouts so an absent database fails fast."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

from app.settings import Settings


def make_engine(settings: Settings, url: str | None = None, *, pool_size: int = 10,
                statement_timeout_ms: int | None = None) -> Engine:
    """An engine for ``url`` (default: the configured database) with pre-ping and a statement timeout.

    ``statement_timeout_ms`` defaults to the API's setting; 0 means none (bulk loads from the CLI).
    """
    timeout = settings.db_statement_timeout_ms if statement_timeout_ms is None else statement_timeout_ms
    return create_engine(
        url or settings.sqlalchemy_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=settings.db_connect_timeout_s,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_s,
            "options": f"-c statement_timeout={timeout}",
            "application_name": "renewal",
        },
    )
