"""Aggregate failure statistics for a time range: rollups for whole hours, raw rows for the edges."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.engine import Connection

from core.schema import failure_matches, failure_rollups
from queries.failures.filters import FilterError
from queries.rollups.reads import rollup_source

fm = failure_matches
fr = failure_rollups

TOP_N = 10
# Names used in the output for failures without a catalog entry (the columns are empty for misses).
NO_CATEGORY = "uncategorized"
NO_SEVERITY = "unknown"
NO_MODE = "NONE"

# (error_code, category, severity, recovery_mode, matched) -> [failures, attempts, successes]
GroupKey = tuple[str, str, str, str, bool]


def _floor_hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(ts: datetime) -> datetime:
    floor = _floor_hour(ts)
    return floor if floor == ts else floor + timedelta(hours=1)


Span = tuple[datetime, datetime]


def split_range(start: datetime, end: datetime) -> tuple[Span | None, list[Span]]:
    """Split [start, end) into whole hours (read from rollups) and the partial edges (read from raw rows)."""
    first_full, last_full = _ceil_hour(start), _floor_hour(end)
    if first_full >= last_full:
        return None, [(start, end)] if start < end else []
    edges = [(a, b) for a, b in ((start, first_full), (last_full, end)) if a < b]
    return (first_full, last_full), edges


def rollup_query(*, tenant_id: str | None, start: datetime, end: datetime) -> Select:
    """Grouped sums of the rollup levels over whole-hour buckets in [start, end) (whole days from the daily
    level, all tenants from the all-tenant levels)."""
    src = rollup_source(tenant_id=tenant_id, start=start, end=end)
    return select(
        src.c.error_code, src.c.category, src.c.severity, src.c.recovery_mode, src.c.matched,
        func.sum(src.c.failures), func.sum(src.c.recovery_attempts), func.sum(src.c.recovery_successes),
    ).group_by(src.c.error_code, src.c.category, src.c.severity, src.c.recovery_mode, src.c.matched)


def raw_query(*, tenant_id: str | None, start: datetime, end: datetime) -> Select:
    """The same grouped sums from failure_matches for a (partial-hour) range [start, end)."""
    # Plain columns (no bound parameters) in SELECT and GROUP BY so PostgreSQL sees them as equal.
    matched = fm.c.catalog_entry_id.is_not(None)
    query = select(
        fm.c.error_code, fm.c.category, fm.c.severity, fm.c.recovery_mode, matched,
        func.count(),
        func.sum(case((fm.c.recovery_attempted.is_(True), 1), else_=0)),
        func.sum(case((fm.c.recovery_succeeded.is_(True), 1), else_=0)),
    ).where(and_(fm.c.created_at >= start, fm.c.created_at < end))
    if tenant_id is not None:
        query = query.where(fm.c.tenant_id == tenant_id)
    return query.group_by(fm.c.error_code, fm.c.category, fm.c.severity, fm.c.recovery_mode, matched)


def _rate(part: int, whole: int) -> float:
    return float(part) / float(whole) if whole else 0.0


def get_stats(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    """Aggregates of failures created in [start, end) for one tenant (None = all).

    Keys: total_failures, matched_failures, unmatched_failures, hit_rate, recovery_attempts,
    recovery_successes, recovery_success_rate, top_error_codes [{error_code, count}], top_categories
    [{category, count}], by_severity {severity: count}, by_recovery_mode {mode: count},
    recovery_by_mode [{recovery_mode, attempts, successes}], time_range {start, end}.
    Rates are floats in 0..1 and 0.0 when there is nothing to divide (no failures / no attempts).
    Recovery counts are by the failure's creation time (a failure created in the range and recovered
    later counts). Misses have no category/severity/mode: they show as uncategorized/unknown/NONE.
    """
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise FilterError(f"{name} must be timezone-aware")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start > end:
        raise FilterError("start must be before end")
    groups: dict[GroupKey, list[int]] = {}

    def add(rows: Any) -> None:
        for code, category, severity, mode, matched, failures, attempts, successes in rows:
            acc = groups.setdefault((code, category or "", severity or "", mode or "", bool(matched)), [0, 0, 0])
            acc[0] += int(failures or 0)
            acc[1] += int(attempts or 0)
            acc[2] += int(successes or 0)

    whole, edges = split_range(start, end)
    if whole is not None:
        add(conn.execute(rollup_query(tenant_id=tenant_id, start=whole[0], end=whole[1])))
    for a, b in edges:
        add(conn.execute(raw_query(tenant_id=tenant_id, start=a, end=b)))

    total = matched = attempts = successes = 0
    codes: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    severities: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    mode_attempts: Counter[str] = Counter()
    mode_successes: Counter[str] = Counter()
    for (code, category, severity, mode, is_matched), (n, att, succ) in groups.items():
        total += n
        matched += n if is_matched else 0
        attempts += att
        successes += succ
        if n:
            codes[code] += n
            categories[category or NO_CATEGORY] += n
            severities[severity or NO_SEVERITY] += n
            modes[mode or NO_MODE] += n
        if att:
            mode_attempts[mode or NO_MODE] += att
            mode_successes[mode or NO_MODE] += succ

    def top(counter: Counter[str], key: str) -> list[dict[str, Any]]:
        # Ties are broken by name so the answer is stable across engines.
        items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
        return [{key: k, "count": v} for k, v in items]

    return {
        "total_failures": total,
        "matched_failures": matched,
        "unmatched_failures": total - matched,
        "hit_rate": _rate(matched, total),
        "recovery_attempts": attempts,
        "recovery_successes": successes,
        "recovery_success_rate": _rate(successes, attempts),
        "top_error_codes": top(codes, "error_code"),
        "top_categories": top(categories, "category"),
        "by_severity": dict(sorted(severities.items())),
        "by_recovery_mode": dict(sorted(modes.items())),
        "recovery_by_mode": [
            {"recovery_mode": m, "attempts": mode_attempts[m], "successes": mode_successes[m]}
            for m in sorted(mode_attempts)
        ],
        "time_range": {"start": start.isoformat(), "end": end.isoformat()},
    }
