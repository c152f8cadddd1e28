"""Seed data and principals for the API and query tests."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from core.metrics import FailcatMetrics
from core.schema import catalog_entries, failure_matches
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from queries.accounts import create_token

CRITICAL_CODE = "TEST_CRITICAL_OOM"


def add_critical_entry(engine: Engine) -> None:
    """A catalog entry with severity critical (removed again by the fixture reset: created_by != catalog)."""
    with engine.begin() as conn:
        conn.execute(catalog_entries.insert().values(
            code=CRITICAL_CODE, category="RESOURCE_EXHAUSTION", severity="critical", message="out of memory",
            patterns=["zorblax meltdown"], keywords=[], is_retryable=False, recovery_mode="MANUAL_INTERVENTION",
            recovery_suggestions=["add memory"], created_by="test", created_at=utcnow(), enabled=True,
        ))


def ingest(engine: Engine, events: list[dict[str, Any]]) -> list[str]:
    """Store events through the real pipeline; returns their ids in order."""
    report = IngestPipeline(engine, metrics=FailcatMetrics()).ingest(events, replay=False)
    assert not report.errors, report.errors
    return report.ids


def event(tenant: str = "t1", *, minutes_ago: float = 5, code: str | None = "NET_TIMEOUT",
          message: str = "read timed out after 30s", **extra: Any) -> dict[str, Any]:
    """One valid event created `minutes_ago` before now."""
    ev: dict[str, Any] = {
        "tenant_id": tenant, "run_id": extra.pop("run_id", "run-1"), "error_message": message,
        "occurred_at": (utcnow() - timedelta(minutes=minutes_ago)).isoformat(),
    }
    if code is not None:
        ev["error_code"] = code
    ev.update(extra)
    return ev


def mixed_events(now: datetime | None = None) -> list[dict[str, Any]]:
    """A spread of matched/unmatched events over two tenants and the last ~30 hours."""
    out = []
    for i in range(40):
        tenant = "t1" if i % 3 else "t2"
        minutes = 7 + i * 47  # spreads over ~31 hours, crossing hour boundaries at odd minutes
        if i % 4 == 0:
            out.append(event(tenant, minutes_ago=minutes, code=None, message=f"weird failure number {i}"))
        elif i % 4 == 1:
            out.append(event(tenant, minutes_ago=minutes, code="NET_CONNECTION_REFUSED",
                             message="connect ECONNREFUSED 10.0.0.1:5432", skill_id="db"))
        elif i % 4 == 2:
            out.append(event(tenant, minutes_ago=minutes, code=None, message="zorblax meltdown in worker 7"))
        else:
            out.append(event(tenant, minutes_ago=minutes))
    return out


def all_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every failure row (for independent checks)."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(failure_matches)).mappings()]


def make_token(engine: Engine, role: str, tenant: str | None, name: str | None = None) -> str:
    """A real API token stored in the database."""
    with engine.begin() as conn:
        return create_token(conn, name=name or f"{role}-{tenant or 'all'}", role=role, tenant_id=tenant)[1]


def hours_ago(h: float) -> datetime:
    """A UTC time `h` hours ago."""
    return datetime.now(UTC) - timedelta(hours=h)
