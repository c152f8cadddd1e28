"""Capture the SQL statements a page load (or any call) runs, and EXPLAIN them on PostgreSQL.

Used by tests/queries/test_explain_pages.py and by hand: `python -m bench.explain URL` prints the plan of
every statement the dashboard pages run against the database at URL.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

Statement = tuple[str, Any]


@contextmanager
def captured(engine: Engine) -> Iterator[list[Statement]]:
    """Every (sql, parameters) the engine's connections execute inside the block."""
    seen: list[Statement] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "DELETE", "INSERT")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def statements_of(engine: Engine, call: Callable[[Connection], Any]) -> list[Statement]:
    """The statements `call(conn)` runs (in a transaction that is rolled back, so writes leave no trace)."""
    with captured(engine) as seen, engine.connect() as conn:
        trans = conn.begin()
        try:
            call(conn)
        finally:
            trans.rollback()
    return list(seen)


def plan(conn: Connection, statement: Statement) -> str:
    """EXPLAIN (no ANALYZE) text of one captured statement, with its own parameters."""
    sql, params = statement
    rows = conn.exec_driver_sql(f"EXPLAIN {sql}", params)
    return "\n".join(r[0] for r in rows)


def seq_scans(plan_text: str, table: str = "failure_matches") -> list[str]:
    """Plan lines that read `table` sequentially (including parallel sequential scans)."""
    return [line.strip() for line in plan_text.splitlines() if "Seq Scan on " + table in line]


def main(argv: list[str]) -> int:
    """Print the plan of every page statement (all tenants and the busiest tenant) against URL."""
    from bench import pages
    from bench.__main__ import busiest_tenant
    from core.db import make_engine

    engine = make_engine(argv[0])
    busy = busiest_tenant(engine)
    for name, (fast, _naive) in pages.PAGES.items():
        for tenant in (None, busy):
            extra: tuple[Any, ...] = ()
            if name == "failure_detail":
                with engine.connect() as conn:
                    extra = (pages.sample_failure(conn, busy),)
            stmts = statements_of(engine, lambda c: fast(c, tenant, pages.utc_now(), *extra))  # noqa: B023
            with engine.connect() as conn:
                for stmt in stmts:
                    text_ = plan(conn, stmt)
                    flag = " SEQ SCAN" if seq_scans(text_) else ""
                    print(f"=== {name} tenant={tenant}{flag}\n{stmt[0]}\n--- {stmt[1]}\n{text_}\n")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
