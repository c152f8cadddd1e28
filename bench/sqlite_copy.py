"""The same rows on SQLite: a filled PostgreSQL bench database copied table by table into a migrated SQLite file,
so both engines are measured on identical data."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from core.db import make_engine, refresh_statistics
from core.schema import metadata
from loaders.migrate import migrate

CHUNK = 20_000


def copy_to_sqlite(source: Engine, path: Path) -> Engine:
    """A migrated SQLite database at `path` holding every row of `source`, with fresh statistics."""
    target = make_engine(f"sqlite:///{path}")
    migrate(target)
    with target.begin() as out:
        for table in reversed(metadata.sorted_tables):
            out.execute(delete(table))  # what migrate put there (catalog, flags) comes from the source too
    with source.connect() as src:
        for table in metadata.sorted_tables:
            result = src.execution_options(stream_results=True, yield_per=CHUNK).execute(select(table))
            for part in result.mappings().partitions(CHUNK):
                with target.begin() as out:
                    out.execute(table.insert(), [dict(r) for r in part])
    refresh_statistics(target)
    return target
