"""Recovery marks: state transitions, version conflicts, history rows and rollups stay in step."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from core.ids import FailureIdError
from core.schema import failure_matches, failure_rollups, recovery_events
from loaders.ingest.pipeline import IngestPipeline
from queries.failures.recovery import (
    FailureNotFound,
    RecoveryConflict,
    count_recovery_changes,
    mark_recoveries,
    mark_recovery,
)


@pytest.fixture
def failures(engine, metrics):
    events = [
        {"tenant_id": "t1", "run_id": "r1", "error_message": "connection refused"},
        {"tenant_id": "t1", "run_id": "r2", "error_message": "connection refused"},
        {"tenant_id": "t2", "run_id": "r3", "error_message": "connection refused"},
    ]
    report = IngestPipeline(engine, metrics=metrics).ingest(events)
    return [uuid.UUID(i) for i in report.ids]


def _rollup_totals(conn):
    row = conn.execute(
        select(func.sum(failure_rollups.c.recovery_attempts), func.sum(failure_rollups.c.recovery_successes))
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def _row_totals(conn):
    attempted = conn.execute(
        select(func.count()).select_from(failure_matches).where(failure_matches.c.recovery_attempted.is_(True))
    ).scalar()
    succeeded = conn.execute(
        select(func.count()).select_from(failure_matches).where(failure_matches.c.recovery_succeeded.is_(True))
    ).scalar()
    return attempted, succeeded


def test_transitions_write_history_and_keep_rollups_consistent(engine, failures, metrics):
    first = failures[0]
    with engine.begin() as conn:
        ch = mark_recovery(conn, failure_id=first, succeeded=False, recovered_by="ann", notes="retry failed")
    assert (ch.from_state, ch.to_state, ch.version) == ("unrecovered", "failed", 2)
    with engine.begin() as conn:
        ch2 = mark_recovery(conn, failure_id=first, succeeded=True, recovered_by="bob", expected_version=2)
    assert (ch2.from_state, ch2.to_state, ch2.version) == ("failed", "recovered", 3)
    count_recovery_changes(metrics, [ch, ch2])
    with engine.connect() as conn:
        history = conn.execute(
            select(recovery_events.c.from_state, recovery_events.c.to_state, recovery_events.c.actor)
            .where(recovery_events.c.failure_id == first).order_by(recovery_events.c.id)
        ).all()
        assert [tuple(h) for h in history] == [("unrecovered", "failed", "ann"), ("failed", "recovered", "bob")]
        assert _rollup_totals(conn) == _row_totals(conn) == (1, 1)
    labels = {"recovery_mode": "RETRY_EXPONENTIAL", "error_code": "NET_CONNECTION_REFUSED"}
    assert metrics.registry.get_sample_value("recovery_success_total", labels) == 1
    assert metrics.registry.get_sample_value("recovery_failure_total", labels) == 1


def test_same_mark_twice_is_harmless(engine, failures):
    for _ in range(2):
        with engine.begin() as conn:
            ch = mark_recovery(conn, failure_id=failures[0], succeeded=True, recovered_by="ops", notes="n")
    assert ch.changed is False and ch.version == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(recovery_events)).scalar() == 1
        assert _rollup_totals(conn) == (1, 1)


def test_stale_version_is_refused_and_nothing_is_overwritten(engine, failures):
    with engine.begin() as conn:
        mark_recovery(conn, failure_id=failures[0], succeeded=True, recovered_by="first", expected_version=1)
    with pytest.raises(RecoveryConflict, match="first"):
        with engine.begin() as conn:
            mark_recovery(conn, failure_id=failures[0], succeeded=False, recovered_by="second", expected_version=1)
    with engine.connect() as conn:
        row = conn.execute(select(failure_matches).where(failure_matches.c.id == failures[0])).mappings().one()
    assert (row["recovered_by"], row["recovery_succeeded"], row["version"]) == ("first", True, 2)


def test_bulk_mark_is_all_or_nothing(engine, failures):
    with pytest.raises(FailureNotFound):
        with engine.begin() as conn:
            mark_recoveries(conn, items=[(failures[0], None), (uuid.uuid4(), None)], succeeded=True, recovered_by="x")
    with engine.connect() as conn:
        assert _row_totals(conn) == (0, 0)
        assert _rollup_totals(conn) == (0, 0)


def test_tenant_scope_hides_other_tenants(engine, failures):
    with pytest.raises(FailureNotFound):
        with engine.begin() as conn:
            mark_recovery(conn, failure_id=failures[2], succeeded=True, recovered_by="x", tenant_id="t1")
    with pytest.raises(FailureIdError):  # a malformed id is bad input, not an unknown failure
        with engine.begin() as conn:
            mark_recovery(conn, failure_id="not-a-uuid", succeeded=True, recovered_by="x")
