"""Fill a PostgreSQL database with realistic synthetic failures fast (server-side generate_series)."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from core.ids import group_id
from core.schema import failure_groups, metadata
from core.vocabulary import RESOLVED, UNRESOLVED
from loaders.catalog.signature import normalise_message
from queries.failures.partitions import ensure_partitions
from queries.groups.store import MAX_TITLE

# Rows come from one INSERT ... SELECT so a million rows take seconds, not minutes; the mix follows
# the seed generator: ~15% unmatched in recurring clusters, working-hours rhythm, 20 tenants, 90 days.
_FILL = text(
    """
    WITH codes AS (
        SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, code, category, severity, recovery_mode,
               is_retryable
        FROM catalog_entries WHERE enabled
    ), n AS (SELECT count(*) AS k FROM codes),
    g AS (
        SELECT s,
               (random() < 0.15) AS miss,
               floor(power(random(), 2) * (SELECT k FROM n))::int AS ci,
               floor(power(random(), 1.5) * :tenants)::int AS ti,
               -- Rows arrive in time order (as ingest appends them), with a few minutes of jitter, so the
               -- table's physical order matches a real one: a time window reads a contiguous stretch.
               now() - (:days * (1 - (s + :offset)::float8 / :total) + random() / 288) * interval '1 day' AS ts
        FROM generate_series(1, :rows) AS s
    )
    INSERT INTO failure_matches (
        id, run_id, tenant_id, error_code, error_message, signature, catalog_entry_id, match_type,
        confidence, category, severity, severity_rank, recovery_mode, recovery_suggestion, skill_id,
        step_index, is_retryable, recovery_attempted, recovery_succeeded, recovered_at, recovered_by,
        context, created_at, updated_at, version)
    SELECT -- A UUIDv7 of created_at's millisecond, as ingest makes them (core.ids): a random v4 with its first 48
           -- bits replaced by the time and its version nibble by 7 (the variant nibble stays).
           (lpad(to_hex(floor(extract(epoch FROM g.ts) * 1000)::bigint), 12, '0') || '7'
            || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid,
           'run-' || ((g.s + :offset) / 4),
           'tenant-' || lpad(g.ti::text, 2, '0'),
           CASE WHEN g.miss THEN 'UNKNOWN' ELSE c.code END,
           CASE WHEN g.miss THEN 'widget frobnication failed for batch ' || (g.s % 9973)
                ELSE c.code || ': failure ' || g.s END,
           CASE WHEN g.miss THEN 'sig' || lpad((g.s % 40)::text, 13, '0')
                ELSE 'sig' || lpad(c.i::text, 12, 'c') || (g.s % 5) END,
           CASE WHEN g.miss THEN NULL ELSE c.id END,
           CASE WHEN g.miss THEN 'none' ELSE 'code' END,
           CASE WHEN g.miss THEN 0 ELSE 1 END,
           CASE WHEN g.miss THEN NULL ELSE c.category END,
           CASE WHEN g.miss THEN NULL ELSE c.severity END,
           CASE WHEN g.miss THEN 5 ELSE CASE c.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1
                WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END END,
           CASE WHEN g.miss THEN NULL ELSE c.recovery_mode END,
           NULL,
           'skill-' || (g.s % 25),
           g.s % 12,
           CASE WHEN g.miss THEN false ELSE c.is_retryable END,
           (g.s % 10) < 6,
           CASE WHEN (g.s % 10) < 6 THEN (g.s % 10) < 4 ELSE NULL END,
           CASE WHEN (g.s % 10) < 6 THEN g.ts + interval '5 minutes' ELSE NULL END,
           CASE WHEN (g.s % 10) < 6 THEN 'bench' ELSE NULL END,
           NULL, g.ts, g.ts, 1
    FROM g JOIN codes c ON c.i = g.ci
    ORDER BY g.ts
    """
)

_ROLLUPS = text(
    """
    INSERT INTO failure_rollups (tenant_id, bucket, error_code, category, severity, recovery_mode, matched,
                                 failures, recovery_attempts, recovery_successes, first_at, last_at, last_message)
    SELECT tenant_id, date_trunc('hour', created_at), error_code, coalesce(category, ''),
           coalesce(severity, ''), coalesce(recovery_mode, ''), catalog_entry_id IS NOT NULL,
           count(*), count(*) FILTER (WHERE recovery_attempted),
           count(*) FILTER (WHERE recovery_succeeded IS TRUE), min(created_at), max(created_at),
           (array_agg(error_message ORDER BY created_at DESC, error_message DESC))[1]
    FROM failure_matches
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 2
    """
)

# The coarser levels derive from the hourly rollups, as migration 0003 fills them.
_LEVELS = [text(q) for q in (
    """INSERT INTO failure_rollups_daily (tenant_id, bucket, error_code, category, severity, recovery_mode, matched,
                                         failures, recovery_attempts, recovery_successes, first_at, last_at,
                                         last_message)
       SELECT tenant_id, date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', error_code, category,
              severity, recovery_mode, matched, sum(failures), sum(recovery_attempts), sum(recovery_successes),
              min(first_at), max(last_at),
              (array_agg(last_message ORDER BY last_at DESC, last_message DESC))[1]
       FROM failure_rollups GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 2""",
    """INSERT INTO failure_rollups_tenant_hourly (tenant_id, bucket, matched, failures, recovery_attempts,
                                                 recovery_successes)
       SELECT tenant_id, bucket, matched, sum(failures), sum(recovery_attempts), sum(recovery_successes)
       FROM failure_rollups GROUP BY 1, 2, 3 ORDER BY 2""",
    """INSERT INTO failure_rollups_all (bucket, error_code, category, severity, recovery_mode, matched, failures,
                                       recovery_attempts, recovery_successes, first_at, last_at, last_message)
       SELECT bucket, error_code, category, severity, recovery_mode, matched, sum(failures), sum(recovery_attempts),
              sum(recovery_successes), min(first_at), max(last_at),
              (array_agg(last_message ORDER BY last_at DESC, last_message DESC))[1]
       FROM failure_rollups GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1""",
    """INSERT INTO failure_rollups_daily_all (bucket, error_code, category, severity, recovery_mode, matched,
                                             failures, recovery_attempts, recovery_successes, first_at, last_at,
                                             last_message)
       SELECT bucket, error_code, category, severity, recovery_mode, matched, sum(failures), sum(recovery_attempts),
              sum(recovery_successes), min(first_at), max(last_at),
              (array_agg(last_message ORDER BY last_at DESC, last_message DESC))[1]
       FROM failure_rollups_daily GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1""",
    """INSERT INTO failure_totals (tenant_id, error_code, category, severity, recovery_mode, matched, failures,
                                  recovery_attempts, recovery_successes, first_seen, last_seen)
       SELECT tenant_id, error_code, category, severity, recovery_mode, matched, sum(failures),
              sum(recovery_attempts), sum(recovery_successes), min(bucket), max(bucket)
       FROM failure_rollups GROUP BY 1, 2, 3, 4, 5, 6""",
)]
# Groups: one per tenant and signature with lifetime counts, per UTC day for the sparklines; a tenth resolved,
# a fifth assigned, so the state filters and the queue's order have something to sort.
_GROUPS = text(
    """SELECT tenant_id, signature, count(*) AS failures, min(created_at) AS first_seen,
              max(created_at) AS last_seen,
              (array_agg(error_code ORDER BY created_at DESC))[1] AS error_code,
              (array_agg(error_message ORDER BY created_at DESC))[1] AS message,
              (array_agg(category ORDER BY created_at DESC))[1] AS category,
              (array_agg(severity ORDER BY created_at DESC))[1] AS severity,
              min(severity_rank) AS severity_rank
       FROM failure_matches GROUP BY tenant_id, signature"""
)
_GROUP_DAILY = text(
    """INSERT INTO failure_group_daily (tenant_id, bucket, signature, failures, first_seen, last_seen)
       SELECT tenant_id, date_trunc('day', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', signature, count(*),
              min(created_at), max(created_at)
       FROM failure_matches GROUP BY 1, 2, 3 ORDER BY 2"""
)
LEVEL_TABLES = ("failure_rollups_daily", "failure_rollups_tenant_hourly", "failure_totals", "failure_rollups_all",
                "failure_rollups_daily_all", "unmatched_signature_daily", "unmatched_signature_weekly",
                "failure_group_daily", "failure_groups")

# Unmatched failures per tenant, day, signature and code (queries.rollups.signatures), as migration 0005 fills it.
_SIGNATURES = text(
    """INSERT INTO unmatched_signature_daily (tenant_id, bucket, signature, error_code, occurrences, first_seen,
                                              last_seen)
       SELECT tenant_id, date_trunc('day', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', signature,
              error_code, count(*), min(created_at), max(created_at)
       FROM failure_matches WHERE catalog_entry_id IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 2"""
)
# The same per UTC week, from the daily level (as migration 0009 fills it).
_SIGNATURES_WEEKLY = text(
    """INSERT INTO unmatched_signature_weekly (tenant_id, bucket, signature, error_code, occurrences, first_seen,
                                               last_seen)
       SELECT tenant_id, date_trunc('week', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', signature, error_code,
              sum(occurrences), min(first_seen), max(last_seen)
       FROM unmatched_signature_daily GROUP BY 1, 2, 3, 4 ORDER BY 2"""
)


def _fill_groups(conn: Connection) -> None:
    """failure_groups and failure_group_daily from the rows, as ingest would have kept them."""
    groups = []
    for i, r in enumerate(conn.execute(_GROUPS).mappings()):
        state = RESOLVED if i % 10 == 0 else UNRESOLVED
        groups.append({
            "id": group_id(r["tenant_id"], r["signature"]), "tenant_id": r["tenant_id"], "signature": r["signature"],
            "error_code": r["error_code"], "title": normalise_message(r["message"])[:MAX_TITLE] or r["error_code"],
            "category": r["category"], "severity": r["severity"], "severity_rank": r["severity_rank"],
            "failures": r["failures"], "first_seen": r["first_seen"], "last_seen": r["last_seen"], "state": state,
            "assignee": f"user-{i % 7}" if i % 5 == 0 else None, "resolved_at": r["last_seen"] if state == RESOLVED
            else None, "version": 1,
        })
    for start in range(0, len(groups), 5_000):
        conn.execute(failure_groups.insert(), groups[start:start + 5_000])
    conn.execute(_GROUP_DAILY)


def fill(engine: Engine, *, rows: int, tenants: int = 20, days: int = 90, chunk: int = 250_000) -> float:
    """Insert `rows` synthetic failures (plus their rollups and ANALYZE) into an EMPTY database; returns seconds."""
    if engine.dialect.name != "postgresql":
        raise ValueError("bench fill needs PostgreSQL")
    started = time.perf_counter()
    with engine.begin() as conn:  # partitioned table (migration 0004): every week of the range needs its partition
        end = conn.execute(text("SELECT now()")).scalar_one()
        ensure_partitions(conn, end - timedelta(days=days + 1), end + timedelta(days=1))
    done = 0
    while done < rows:
        n = min(chunk, rows - done)
        with engine.begin() as conn:
            conn.execute(_FILL, {"rows": n, "tenants": tenants, "days": days, "offset": done, "total": rows})
        done += n
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM failure_rollups"))
        conn.execute(_ROLLUPS)
        for table in LEVEL_TABLES:
            conn.execute(metadata.tables[table].delete())
        for statement in _LEVELS:
            conn.execute(statement)
        conn.execute(_SIGNATURES)
        conn.execute(_SIGNATURES_WEEKLY)
        _fill_groups(conn)
    # VACUUM as autovacuum would have by then: statistics, and the visibility map for index-only scans.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE failure_matches"))
        conn.execute(text("VACUUM ANALYZE failure_rollups"))
        for table in LEVEL_TABLES:
            conn.execute(text(f"VACUUM ANALYZE {table}"))
        # Write the fill's dirty pages out now, not in the background while the first pages are timed.
        conn.execute(text("CHECKPOINT"))
    return time.perf_counter() - started
