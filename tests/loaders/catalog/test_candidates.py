"""get_candidate_patterns groups unmatched failures by signature, per tenant or across tenants."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core.schema import failure_matches as fm
from core.types import utcnow
from loaders.catalog.candidates import get_candidate_patterns, suggest_category
from loaders.catalog.matcher import UNKNOWN_CODE
from loaders.catalog.signature import signature_of
from tests.support.exports import QUOTA, WIDGET, seed_failures


def _db_count(conn, signature, tenant=None, since=None):
    q = select(func.count()).select_from(fm).where(fm.c.signature == signature, fm.c.catalog_entry_id.is_(None))
    if tenant:
        q = q.where(fm.c.tenant_id == tenant)
    if since:
        q = q.where(fm.c.created_at >= since)
    return conn.execute(q).scalar()


def test_candidates_all_tenants(engine):
    seed_failures(engine)
    end = utcnow() + timedelta(minutes=1)
    start = end - timedelta(days=7)
    with engine.connect() as conn:
        frame = get_candidate_patterns(conn, tenant_id=None, start=start, end=end, min_occurrences=3)
        widget = signature_of(WIDGET.format(n=1), UNKNOWN_CODE)
        assert list(frame["signature"])[0] == widget
        row = frame.set_index("signature").loc[widget]
        assert row["occurrences"] == _db_count(conn, widget, since=start)
        assert sorted(row["tenants"]) == ["t1", "t2"]
        assert sorted(row["affected_skills"]) == ["s1", "s2", "s3"]
        assert row["error_codes"] == ["UNKNOWN"]
        assert len(row["examples"]) == 3 and all("widget frobnicator" in e for e in row["examples"])
        assert row["template"] == "widget frobnicator exploded at stage <n>"
        assert row["first_seen"] < row["last_seen"]
        assert str(frame["first_seen"].dt.tz) == "UTC"
        # Groups under min_occurrences and matched failures are left out.
        assert len(frame) == 2
        quota = frame.set_index("signature").loc[signature_of(QUOTA.format(n=1), UNKNOWN_CODE)]
        assert (quota["suggested_category"], quota["suggested_recovery_mode"]) == ("RATE_LIMIT", "RETRY_WITH_JITTER")


def test_candidates_tenant_scope_and_limits(engine):
    seed_failures(engine)
    end = utcnow() + timedelta(minutes=1)
    start = end - timedelta(days=7)
    widget = signature_of(WIDGET.format(n=1), UNKNOWN_CODE)
    with engine.connect() as conn:
        frame = get_candidate_patterns(conn, tenant_id="t2", start=start, end=end, min_occurrences=1)
        assert set(t for ts in frame["tenants"] for t in ts) == {"t2"}
        assert frame.set_index("signature").loc[widget]["occurrences"] == _db_count(conn, widget, "t2", start)
        assert sum(frame["occurrences"]) == conn.execute(
            select(func.count()).select_from(fm).where(fm.c.tenant_id == "t2", fm.c.catalog_entry_id.is_(None))
        ).scalar()
        assert len(get_candidate_patterns(conn, tenant_id=None, start=start, end=end, min_occurrences=1,
                                          limit=1)) == 1
        empty = get_candidate_patterns(conn, tenant_id="nobody", start=start, end=end)
        assert empty.empty and "suggested_category" in empty.columns


def test_suggestions():
    assert suggest_category("request timed out after <n> s") == ("TRANSIENT_NETWORK", "RETRY_EXPONENTIAL")
    assert suggest_category("permission denied on <path>") == ("PERMISSION", "ESCALATE")
    assert suggest_category("Forbidden") == ("PERMISSION", "ESCALATE")
    assert suggest_category("rate limit hit") == ("RATE_LIMIT", "RETRY_WITH_JITTER")
    assert suggest_category("the flux capacitor wobbled") == ("TOOL", "MANUAL_INTERVENTION")
