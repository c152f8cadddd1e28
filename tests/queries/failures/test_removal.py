"""delete_failures: the database afterwards holds what it held before those failures arrived (both engines)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core.schema import DATA_TABLES, metadata
from core.schema import failure_matches as fm
from core.schema import recovery_events as re_
from core.timebuckets import hour_floor
from core.types import utcnow
from queries.failures.recovery import mark_recoveries
from queries.failures.removal import delete_failures
from tests.support.failures import ingest

T0 = hour_floor(utcnow()) - timedelta(hours=20)
MESSAGES = [("NET_TIMEOUT", "read timed out after 30s"), (None, "gizmo frobnication failed for batch 7"),
            (None, "widget 12 exploded in stage 3"), ("NET_CONNECTION_REFUSED", "connect ECONNREFUSED 10.0.0.1:5432")]


def _events(tenant: str, minutes: list[int], tag: str) -> list[dict]:
    out = []
    for i, m in enumerate(minutes):
        code, message = MESSAGES[i % len(MESSAGES)]
        ev = {"tenant_id": tenant, "run_id": f"{tag}{i}", "error_message": message,
              "occurred_at": (T0 + timedelta(minutes=m)).isoformat()}
        if code:
            ev["error_code"] = code
        out.append(ev)
    return out


def _snapshot(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {name: sorted((tuple(r) for r in conn.execute(select(metadata.tables[name]))), key=repr)
                for name in DATA_TABLES}


def _recover(engine, ids: list[str], succeeded: bool) -> None:
    with engine.begin() as conn:
        mark_recoveries(conn, items=[(i, None) for i in ids], succeeded=succeeded, recovered_by="t")


def test_deleting_failures_restores_every_table(engine):
    # Kept failures open and close each hour and day; the deleted ones fall between them (same tenant, codes,
    # signatures and hours, and later than the kept ones in their hour, so they held the latest message).
    kept = ingest(engine, _events("t1", [0, 1, 2, 3, 300, 301, 302, 303], "k")
                  + _events("t2", [0, 1, 2, 3, 300, 301, 302, 303], "k"))
    _recover(engine, kept[:3], True)
    _recover(engine, kept[8:10], False)
    before = _snapshot(engine)
    added = ingest(engine, _events("t1", [10, 11, 12, 13, 120, 121, 122, 123], "d")
                   + _events("gone", [5, 6, 7, 8, 310, 311], "d"))
    _recover(engine, added[:2], True)
    _recover(engine, added[-3:], False)
    assert _snapshot(engine) != before

    with engine.begin() as conn:
        removed = delete_failures(conn, added + ["018f0000-0000-7000-8000-000000000000"])  # one id never stored
    assert (removed.failures, removed.recovery_events) == (14, 5)
    assert _snapshot(engine) == before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fm)).scalar_one() == 16
        assert conn.execute(select(func.count()).select_from(re_)).scalar_one() == 5


def test_deleting_nothing_changes_nothing(engine):
    ingest(engine, _events("t1", [0, 60], "k"))
    before = _snapshot(engine)
    with engine.begin() as conn:
        assert delete_failures(conn, []).failures == 0
        assert delete_failures(conn, ["018f0000-0000-7000-8000-000000000000"]).failures == 0
    assert _snapshot(engine) == before
