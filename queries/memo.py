"""Statements built once per shape and run with new parameter values.

Building a page query with SQLAlchemy (a union of rollup levels, a dozen expressions) costs more than the
database takes to answer it; a statement of the same shape is the same SQL with other bound values, so it is
built on first use and kept for the process (a handful of shapes per query).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

_STATEMENTS: dict[Hashable, object] = {}
_LOCK = threading.Lock()


def memo_statement(shape: Hashable, build: Callable[[], T]) -> T:
    """The statement `build()` makes for `shape` (everything that changes its SQL), built once per process."""
    found = _STATEMENTS.get(shape)
    if found is None:
        made = build()
        with _LOCK:
            found = _STATEMENTS.setdefault(shape, made)
    return found  # type: ignore[return-value]
