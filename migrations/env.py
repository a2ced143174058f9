"""Alembic environment: runs migrations on the configured database (or the URL the caller passes)."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from app.models import Base
from app.settings import get_settings

config = context.config
url = config.attributes.get("url") or get_settings().sqlalchemy_url


def run_migrations_online() -> None:
    """Migrate in one transaction per run."""
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
