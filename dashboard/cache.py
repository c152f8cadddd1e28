"""Cached loader pattern: st.cache_data with a ttl around a queries/ function, and clear_caches().

Pattern for a loader (put it in dashboard/loaders_<page>.py or dashboard/loaders.py):

    @cached_loader()
    def load_top_codes(url: str, tenant: str | None, start: datetime, end: datetime) -> pd.DataFrame:
        with connect(url) as conn:
            return q.get_top_codes(conn, tenant=tenant, start=start, end=end)

    df = load_top_codes(database_url(), scope, start, end)

The first argument is always the database URL so that a cache never serves one database's rows for
another, and the tenant scope is always an argument so that a cached result is never shared across scopes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from core.settings import get_settings

F = TypeVar("F", bound=Callable[..., Any])

_LOADERS: list[Any] = []


def cache_ttl() -> int:
    """Seconds a cached query result is reused (DASHBOARD_CACHE_TTL, default 60)."""
    return get_settings().dashboard_cache_ttl


def cached_loader(ttl: int | None = None) -> Callable[[F], F]:
    """Decorator: st.cache_data with the dashboard ttl; the loader is registered for clear_caches()."""

    def wrap(func: F) -> F:
        cached = st.cache_data(ttl=ttl if ttl is not None else cache_ttl(), show_spinner=False)(func)
        _LOADERS.append(cached)
        return cached  # type: ignore[return-value]

    return wrap


def clear_caches(*loaders: Any) -> None:
    """Clear the given cached loaders, or every cached query result when none are given (after a write)."""
    if loaders:
        for loader in loaders:
            loader.clear()
        return
    st.cache_data.clear()
