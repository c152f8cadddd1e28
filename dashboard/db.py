"""The dashboard's database: one object per DATABASE_URL and process, owning its engines.

Pages never see it: the glue's loaders take it as their first argument, which cached_loader (dashboard/cache.py)
fills in, and actions use database() themselves.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import streamlit as st
from sqlalchemy.engine import Connection, Engine

from core.db import make_engine
from core.settings import get_settings


@dataclass(eq=False)
class Database:
    """The configured database: a transactional engine for writes and an autocommit one for reads."""

    url: str
    engine: Engine = field(repr=False)
    read_engine: Engine = field(repr=False)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read connection; autocommit (core.db.make_engine), so no transaction is opened or kept open."""
        with self.read_engine.connect() as conn:
            yield conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in one transaction, committed on success (writes; then clear_caches())."""
        with self.engine.begin() as conn:
            yield conn

    @property
    def cache_key(self) -> str:
        """What cached results are keyed by: the URL, so one database's rows are never served for another."""
        return self.url


@st.cache_resource(show_spinner=False)
def _database_for(url: str) -> Database:
    pool = get_settings().db_pool_size
    return Database(url, make_engine(url, pool_size=pool), make_engine(url, pool_size=pool, autocommit=True))


def database() -> Database:
    """The database of DATABASE_URL, built once per process."""
    return _database_for(get_settings().database_url)
