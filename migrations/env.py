"""Alembic environment: the URL comes from settings, or a connection handed in by loaders.migrate."""
from __future__ import annotations

from alembic import context

from core.schema import metadata

config = context.config


def run_migrations_offline() -> None:
    from core.db import normalise_url
    from core.settings import get_settings

    context.configure(
        url=normalise_url(get_settings().database_url),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from core.db import get_engine

        with get_engine().connect() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # render_as_batch lets ALTERs work on SQLite by table copy.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
