"""Capture the SQL statements a page load (or any call) runs, and EXPLAIN them on PostgreSQL.

Used by tests/queries/test_explain_pages.py and by hand: `python -m bench.explain URL` prints the plan of
every statement the dashboard pages run against the database at URL.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
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
    """Plan lines that read `table` or one of its partitions sequentially (parallel scans included).

    Partitions are named table_pYYYYMMDD, so "Seq Scan on failure_matches_p20261123" matches too. A scan
    costed below TINY_SCAN_COST is left out: that partition is empty or a few pages (the weeks created ahead,
    emptied ones, the oldest week holding the first hours of the retention window), and reading it whole is
    cheaper than descending an index; a partition of any size costs more.
    """
    return [line.strip() for line in plan_text.splitlines()
            if "Seq Scan on " + table in line and _total_cost(line) >= TINY_SCAN_COST]


TINY_SCAN_COST = 10.0  # the planner's units: about ten pages read sequentially
_COST = re.compile(r"\(cost=[0-9.]+\.\.([0-9.]+) ")


def _total_cost(line: str) -> float:
    found = _COST.search(line)
    return float(found.group(1)) if found else float("inf")


_CHILDREN = text(
    "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_class p ON p.oid = i.inhparent")


def parent_names(conn: Connection) -> dict[str, str]:
    """Partition and partition-index names -> their parent table or index (empty when nothing is partitioned)."""
    return {child: parent for child, parent in conn.execute(_CHILDREN)}


def normalise_plan(conn: Connection, plan_text: str) -> str:
    """A plan read as if failure_matches were one table: partition and partition-index names become their
    parents' (ix_fm_created, not failure_matches_p20261123_created_at_idx), and the scans of partitions the
    planner knows to be empty (cost 0.00..0.00) are left out."""
    names = parent_names(conn)
    lines = [line for line in plan_text.splitlines() if not ("Seq Scan on " in line and "(cost=0.00..0.00 " in line)]
    out = "\n".join(lines)
    for child in sorted(names, key=len, reverse=True):
        out = re.sub(rf"\b{re.escape(child)}\b", names[child], out)
    return out


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
