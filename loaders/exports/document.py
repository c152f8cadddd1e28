"""The export document (docs/export-schema.md): summary and candidate patterns for one window."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from core.schema import catalog_entries
from core.schema import failure_matches as fm
from core.types import utcnow
from loaders.catalog.candidates import get_candidate_patterns
from queries.rollups.reads import rollup_source

SCHEMA_NAME = "failcat.candidate_patterns"
SCHEMA_VERSION = "1.0"
TOP_N = 10
MAX_DAYS = 366


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def export_window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end): end is now, start is `days` earlier rounded down to the hour (rollup buckets are hourly)."""
    if not 1 <= int(days) <= MAX_DAYS:
        raise ValueError(f"--days must be between 1 and {MAX_DAYS}")
    end = now or utcnow()
    start = (end - timedelta(days=int(days))).replace(minute=0, second=0, microsecond=0)
    return start, end


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def summary(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    """Totals, hit rate, recovery success and top error codes from the rollups; top skills from failures."""
    # Whole days from the daily levels, the rest from hourly rows (all tenants: the all-tenant levels); the
    # current hour's bucket is included whole, as before.
    fr = rollup_source(tenant_id=tenant_id, start=start, end=end)
    row = conn.execute(select(
        func.coalesce(func.sum(fr.c.failures), 0),
        func.coalesce(func.sum(case((fr.c.matched.is_(True), fr.c.failures), else_=0)), 0),
        func.coalesce(func.sum(fr.c.recovery_attempts), 0),
        func.coalesce(func.sum(fr.c.recovery_successes), 0),
    )).one()
    total, matched, attempts, successes = (int(v or 0) for v in row)
    n = func.sum(fr.c.failures).label("n")
    codes = conn.execute(
        select(fr.c.error_code, n).group_by(fr.c.error_code).having(n > 0)
        .order_by(n.desc(), fr.c.error_code).limit(TOP_N)
    ).all()
    mc = [fm.c.created_at >= start, fm.c.created_at < end, fm.c.skill_id.is_not(None)]
    if tenant_id:
        mc.append(fm.c.tenant_id == tenant_id)
    k = func.count().label("n")
    skills = conn.execute(
        select(fm.c.skill_id, k).where(and_(*mc)).group_by(fm.c.skill_id).order_by(k.desc(), fm.c.skill_id)
        .limit(TOP_N)
    ).all()
    return {
        "total_failures": total,
        "matched": matched,
        "unmatched": total - matched,
        "hit_rate": _rate(matched, total),
        "recovery_attempts": attempts,
        "recovery_successes": successes,
        "recovery_success_rate": _rate(successes, attempts),
        "top_error_codes": [{"error_code": c, "failures": int(v)} for c, v in codes],
        "most_affected_skills": [{"skill_id": s, "failures": int(v)} for s, v in skills],
    }


def catalog_info(conn: Connection) -> dict[str, Any]:
    """Version of the shipped catalog file and the number of enabled entries in the database."""
    from loaders.catalog.file import read_catalog_file

    try:
        version = read_catalog_file(None)[0]
    except Exception:  # noqa: BLE001 - an unreadable file must not stop an export
        version = "unknown"
    entries = conn.execute(
        select(func.count()).select_from(catalog_entries).where(catalog_entries.c.enabled.is_(True))
    ).scalar()
    return {"version": version, "entries": int(entries or 0)}


def build_document(conn: Connection, *, tenant_id: str | None, days: int = 7, min_occurrences: int = 3,
                   limit: int = 100, now: datetime | None = None) -> dict[str, Any]:
    """The export document for one tenant (or all) over the last `days` days."""
    start, end = export_window(days, now)
    frame = get_candidate_patterns(conn, tenant_id=tenant_id, start=start, end=end,
                                   min_occurrences=min_occurrences, limit=limit)
    patterns = []
    for rec in frame.to_dict("records"):
        patterns.append({
            "signature": rec["signature"],
            "template": rec["template"],
            "error_codes": list(rec["error_codes"]),
            "occurrences": int(rec["occurrences"]),
            "affected_skills": list(rec["affected_skills"]),
            "tenants": list(rec["tenants"]),
            "examples": list(rec["examples"]),
            "first_seen": _iso(rec["first_seen"].to_pydatetime()),
            "last_seen": _iso(rec["last_seen"].to_pydatetime()),
            "suggested_category": rec["suggested_category"],
            "suggested_recovery_mode": rec["suggested_recovery_mode"],
        })
    summ = summary(conn, tenant_id=tenant_id, start=start, end=end)
    summ["candidate_patterns"] = len(patterns)
    summ["candidate_occurrences"] = sum(p["occurrences"] for p in patterns)
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(end),
        "window": {"start": _iso(start), "end": _iso(end), "days": int(days)},
        "scope": {"tenant_id": tenant_id},
        "catalog": catalog_info(conn),
        "parameters": {"min_occurrences": int(min_occurrences), "limit": int(limit)},
        "summary": summ,
        "candidate_patterns": patterns,
    }


def render(document: dict[str, Any]) -> bytes:
    """The exact bytes that are uploaded and hashed (sorted keys, UTF-8, trailing newline)."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
