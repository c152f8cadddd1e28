"""The dashboard's database engine (one per DATABASE_URL, built once per process) and connections."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.engine import Connection, Engine

from core.db import make_engine
from core.settings import get_settings


def database_url() -> str:
    """The configured DATABASE_URL; cached loaders take it as their first argument so caches never mix databases."""
    return get_settings().database_url


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return make_engine(url, pool_size=get_settings().db_pool_size)


@st.cache_resource(show_spinner=False)
def _read_engine_for(url: str) -> Engine:
    return make_engine(url, pool_size=get_settings().db_pool_size, autocommit=True)


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for `url` (default: DATABASE_URL)."""
    return _engine_for(url or database_url())


@contextmanager
def connect(url: str | None = None) -> Iterator[Connection]:
    """A read connection: autocommit (core.db.make_engine), so no transaction is opened or kept open."""
    with _read_engine_for(url or database_url()).connect() as conn:
        yield conn


@contextmanager
def begin(url: str | None = None) -> Iterator[Connection]:
    """A connection in one transaction, committed on success (use for writes, then clear_caches())."""
    with get_engine(url).begin() as conn:
        yield conn
