"""Cached loaders: st.cache_data with a ttl around a queries/ or loaders/ function, and clear_caches().

A loader takes the dashboard's Database first and the tenant scope always as an argument; callers leave the
database out (it is filled in), so a page reads

    @cached_loader()
    def load_top_codes(db: Database, tenant_id: str | None, start: datetime, end: datetime) -> pd.DataFrame:
        with db.connect() as conn:
            return q.get_top_codes(conn, tenant_id=tenant_id, start=start, end=end)

    df = load_top_codes(scope, start, end)

Results are keyed by the database's URL and every other argument, so a cache never serves one database's rows
for another, nor one tenant's for another.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from core.settings import get_settings
from dashboard.db import Database, database

F = TypeVar("F", bound=Callable[..., Any])

_LOADERS: list[Any] = []


def cache_ttl() -> int:
    """Seconds a cached query result is reused (DASHBOARD_CACHE_TTL, default 60)."""
    return get_settings().dashboard_cache_ttl


def cached_loader(ttl: int | None = None) -> Callable[[Callable[..., Any]], Any]:
    """Decorator: st.cache_data with the dashboard ttl; the database argument is filled in for the caller."""

    def wrap(func: Callable[..., Any]) -> Any:
        cached = st.cache_data(ttl=ttl if ttl is not None else cache_ttl(), show_spinner=False,
                               hash_funcs={Database: lambda db: db.cache_key})(func)
        _LOADERS.append(cached)

        @functools.wraps(func)
        def load(*args: Any, **kwargs: Any) -> Any:
            return cached(database(), *args, **kwargs)

        load.clear = cached.clear  # type: ignore[attr-defined]
        return load

    return wrap


def clear_caches(*loaders: Any) -> None:
    """Clear the given cached loaders, or every cached query result when none are given (after a write)."""
    if loaders:
        for loader in loaders:
            loader.clear()
        return
    st.cache_data.clear()
