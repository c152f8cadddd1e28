"""Tables of the failure store (SQLAlchemy Core); migrations/ creates them on both engines."""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from core.types import JSONType, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


UNRECOVERED = text("recovery_succeeded IS NOT TRUE")

# On PostgreSQL, migration 0004 partitions failure_matches by week on created_at (queries.failures.partitions), and a
# partitioned table's unique constraints must contain the partition key: there the primary key is
# PG_PRIMARY_KEY, on SQLite it stays (id). Ingest keeps ids unique on both engines; the drift test
# tests/core/test_migrations.py checks both keys.
PG_PRIMARY_KEY = ("id", "created_at")

failure_matches = Table(
    "failure_matches",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("run_id", String(128), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("error_code", String(128), nullable=False),
    Column("error_message", Text, nullable=False),
    Column("signature", String(64), nullable=False),
    Column("catalog_entry_id", Integer, ForeignKey("catalog_entries.id", ondelete="SET NULL"), nullable=True),
    Column("match_type", String(16), nullable=False),
    Column("confidence", Float, nullable=False, server_default=text("0")),
    # Why the failure matched its entry (or what a miss was read for), in words an analyst can check.
    Column("match_reason", Text, nullable=True),
    Column("category", String(64), nullable=True),
    Column("severity", String(16), nullable=True),
    Column("severity_rank", SmallInteger, nullable=False, server_default=text("5")),
    Column("recovery_mode", String(32), nullable=True),
    Column("recovery_suggestion", Text, nullable=True),
    Column("skill_id", String(128), nullable=True),
    Column("step_index", Integer, nullable=True),
    Column("is_retryable", Boolean, nullable=False, server_default=text("false")),
    Column("recovery_attempted", Boolean, nullable=False, server_default=text("false")),
    Column("recovery_succeeded", Boolean, nullable=True),
    Column("recovered_at", UTCDateTime, nullable=True),
    Column("recovered_by", String(128), nullable=True),
    Column("recovery_notes", Text, nullable=True),
    Column("context", JSONType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Index("ix_fm_tenant_created", "tenant_id", "created_at"),
    Index("ix_fm_tenant_code_created", "tenant_id", "error_code", "created_at"),
    Index("ix_fm_code_created", "error_code", "created_at"),
    Index("ix_fm_created", "created_at"),
    Index("ix_fm_tenant_category_created", "tenant_id", "category", "created_at"),
    Index("ix_fm_tenant_run", "tenant_id", "run_id"),
    Index("ix_fm_tenant_signature_created", "tenant_id", "signature", "created_at"),
    Index(
        "ix_fm_unmatched",
        "tenant_id",
        "created_at",
        postgresql_where=text("catalog_entry_id IS NULL"),
        sqlite_where=text("catalog_entry_id IS NULL"),
    ),
    Index("ix_fm_tenant_mode_created", "tenant_id", "recovery_mode", "created_at"),
)
# Migration 0007 dropped ix_fm_unrecovered, ix_fm_unrecovered_all, ix_fm_unrecovered_summary and
# ix_fm_unmatched_created: the queue indexes below and the rollup tables serve their queries.

# Migration 0002: the on-call queue's exact order (created_at descending needs a column expression).
Index("ix_fm_unrecovered_queue", failure_matches.c.severity_rank, failure_matches.c.created_at.desc(),
      failure_matches.c.id, postgresql_where=UNRECOVERED, sqlite_where=UNRECOVERED)
Index("ix_fm_unrecovered_tenant_queue", failure_matches.c.tenant_id, failure_matches.c.severity_rank,
      failure_matches.c.created_at.desc(), failure_matches.c.id, postgresql_where=UNRECOVERED,
      sqlite_where=UNRECOVERED)

recovery_events = Table(
    "recovery_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("failure_id", Uuid, nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("notes", Text, nullable=True),
    Column("source", String(16), nullable=False, server_default=text("'api'")),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_re_failure_at", "failure_id", "at"),
    Index("ix_re_tenant_at", "tenant_id", "at"),
)

def _rollup_seen() -> list[Column]:
    # Migration 0008: the earliest and latest created_at of the failures a rollup row counts, and the latest one's
    # message (queries.rollups.seen), so Explore's groups need no raw rows. NULL until a failure is counted.
    return [Column("first_at", UTCDateTime, nullable=True),
            Column("last_at", UTCDateTime, nullable=True),
            Column("last_message", Text, nullable=True)]


failure_rollups = Table(
    "failure_rollups",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    Column("error_code", String(128), nullable=False),
    Column("category", String(64), nullable=False, server_default=text("''")),
    Column("severity", String(16), nullable=False, server_default=text("''")),
    Column("recovery_mode", String(32), nullable=False, server_default=text("''")),
    Column("matched", Boolean, nullable=False),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("recovery_attempts", Integer, nullable=False, server_default=text("0")),
    Column("recovery_successes", Integer, nullable=False, server_default=text("0")),
    *_rollup_seen(),
    UniqueConstraint(
        "tenant_id", "bucket", "error_code", "category", "severity", "recovery_mode", "matched",
        name="uq_failure_rollups_key",
    ),
    # BRIN on PostgreSQL (migration 0006): a btree here drew tenant reads away from ix_fr_tenant_bucket.
    Index("ix_fr_bucket", "bucket", postgresql_using="brin"),
    Index("ix_fr_tenant_bucket", "tenant_id", "bucket"),
)


ROLLUP_COUNT_NAMES = ("failures", "recovery_attempts", "recovery_successes")


def _rollup_counts() -> list[Column]:
    return [Column("failures", Integer, nullable=False, server_default=text("0")),
            Column("recovery_attempts", Integer, nullable=False, server_default=text("0")),
            Column("recovery_successes", Integer, nullable=False, server_default=text("0"))]


def _rollup_keys() -> list[Column]:
    return [Column("error_code", String(128), nullable=False),
            Column("category", String(64), nullable=False, server_default=text("''")),
            Column("severity", String(16), nullable=False, server_default=text("''")),
            Column("recovery_mode", String(32), nullable=False, server_default=text("''")),
            Column("matched", Boolean, nullable=False)]


# Migration 0003: coarser rollup levels, kept in step with failure_rollups by queries.rollups.reads, so a page's
# cost is bounded by tenants x days x codes instead of growing with the number of failures.
failure_rollups_daily = Table(
    "failure_rollups_daily",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),  # UTC midnight
    *_rollup_keys(),
    *_rollup_counts(),
    *_rollup_seen(),
    UniqueConstraint(
        "tenant_id", "bucket", "error_code", "category", "severity", "recovery_mode", "matched",
        name="uq_failure_rollups_daily_key",
    ),
    # No index on bucket alone: all-tenant reads use failure_rollups_daily_all, and with one the planner read
    # a tenant's window through it (every tenant's rows, filtered). Not covering either: count updates at
    # ingest stay HOT (no index entries), which bench.ingest measured at ~10% of the pipeline's time.
    Index("ix_frd_tenant_bucket", "tenant_id", "bucket"),
)

# Per tenant and hour, without the code dimensions: rate series and totals of short windows.
failure_rollups_tenant_hourly = Table(
    "failure_rollups_tenant_hourly",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    Column("matched", Boolean, nullable=False),
    *_rollup_counts(),
    UniqueConstraint("tenant_id", "bucket", "matched", name="uq_failure_rollups_tenant_hourly_key"),
    Index("ix_frth_bucket", "bucket"),
    Index("ix_frth_tenant_bucket", "tenant_id", "bucket", postgresql_include=["matched", *ROLLUP_COUNT_NAMES]),
)

# The same two time levels summed over all tenants: an all-tenant page reads one row per code and bucket
# instead of one per tenant, code and bucket.
def _all_tenant_level(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("bucket", UTCDateTime, nullable=False),  # an hour, or a UTC midnight for the daily level
        *_rollup_keys(),
        *_rollup_counts(),
        *_rollup_seen(),
        UniqueConstraint("bucket", "error_code", "category", "severity", "recovery_mode", "matched",
                         name=f"uq_{name}_key"),
    )


failure_rollups_all = _all_tenant_level("failure_rollups_all")
failure_rollups_daily_all = _all_tenant_level("failure_rollups_daily_all")

# All-time counts per tenant and code dimensions (what retention has not removed), with the first and last
# hour a failure of that key was stored: filter options, on-call summary, "new codes".
failure_totals = Table(
    "failure_totals",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    *_rollup_keys(),
    *_rollup_counts(),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "error_code", "category", "severity", "recovery_mode", "matched",
                     name="uq_failure_totals_key"),
)

# Migration 0005: unmatched failures per tenant, UTC day, signature and code, kept in step by
# queries.rollups.signatures, so the Catalog candidates group days of rollup rows instead of raw failures.
unmatched_signature_daily = Table(
    "unmatched_signature_daily",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),  # UTC midnight
    Column("signature", String(64), nullable=False),
    Column("error_code", String(128), nullable=False),
    Column("occurrences", Integer, nullable=False, server_default=text("0")),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "bucket", "signature", "error_code", name="uq_unmatched_signature_daily_key"),
    Index("ix_usd_bucket", "bucket"),
    Index("ix_usd_tenant_bucket", "tenant_id", "bucket"),
)

# Migration 0009: the same per UTC week (Monday 00:00), so a 30-day window reads about 10 rows a key, not 30.
unmatched_signature_weekly = Table(
    "unmatched_signature_weekly",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),  # Monday 00:00 UTC
    Column("signature", String(64), nullable=False),
    Column("error_code", String(128), nullable=False),
    Column("occurrences", Integer, nullable=False, server_default=text("0")),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "bucket", "signature", "error_code", name="uq_unmatched_signature_weekly_key"),
    Index("ix_usw_bucket", "bucket"),
)

# Migration 0005: the latest unmatched rows of one signature across tenants (candidate examples and skills).
Index("ix_fm_unmatched_signature_created", failure_matches.c.signature, failure_matches.c.created_at,
      postgresql_where=text("catalog_entry_id IS NULL"), sqlite_where=text("catalog_entry_id IS NULL"))

catalog_entries = Table(
    "catalog_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(128), nullable=False, unique=True),
    Column("category", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("patterns", JSONType, nullable=False),
    Column("keywords", JSONType, nullable=False),
    Column("is_retryable", Boolean, nullable=False, server_default=text("false")),
    Column("recovery_mode", String(32), nullable=False),
    Column("recovery_suggestions", JSONType, nullable=False),
    Column("http_status", Integer, nullable=True),
    Column("created_by", String(128), nullable=False, server_default=text("'catalog'")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
)

failure_pattern_exports = Table(
    "failure_pattern_exports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("s3_key", String(512), nullable=True),
    Column("local_path", String(1024), nullable=True),
    Column("tenant_id", String(64), nullable=True),
    Column("uploaded_at", UTCDateTime, nullable=True),
    Column("uploader", String(128), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("notes", Text, nullable=True),
    Column("retry_count", Integer, nullable=False, server_default=text("0")),
    Column("last_retry_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_fpe_status", "status", "created_at"),
)

feature_flags = Table(
    "feature_flags",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("updated_by", String(128), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("tenant_id", String(64), nullable=True),  # NULL = all tenants
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("tenant_id", String(64), nullable=True),  # NULL = all tenants
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# Dashboard sign-ins (migration 0010): the browser's cookie holds a random token, the server keeps its hash, so
# signing out, disabling the account or changing its password ends the session everywhere.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_ds_user", "user_name"),
)

# Groups (migration 0011): every failure belongs to the group of its tenant and signature. Ingest, promotion and
# retention keep the counts and lifetime first/last seen true (queries.groups.store); people triage groups: state,
# assignee, notes, ignore until a time or for a number of failures (queries.groups.triage), with a history.
failure_groups = Table(
    "failure_groups",
    metadata,
    Column("id", Uuid, primary_key=True),  # core.ids.group_id(tenant, signature)
    Column("tenant_id", String(64), nullable=False),
    Column("signature", String(64), nullable=False),
    Column("error_code", String(128), nullable=False),
    Column("title", String(400), nullable=False),  # the latest failure's message template
    Column("category", String(64), nullable=True),
    Column("severity", String(16), nullable=True),
    Column("severity_rank", SmallInteger, nullable=False, server_default=text("5")),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False, server_default=text("'unresolved'")),
    Column("assignee", String(128), nullable=True),
    Column("notes", Text, nullable=True),
    Column("ignore_until", UTCDateTime, nullable=True),
    Column("ignore_until_failures", Integer, nullable=True),  # ignored while failures stays at or below it
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("regressed", Boolean, nullable=False, server_default=text("false")),
    Column("regressed_at", UTCDateTime, nullable=True),
    Column("state_changed_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("updated_by", String(128), nullable=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
    UniqueConstraint("tenant_id", "signature", name="uq_failure_groups_tenant_signature"),
    Index("ix_fg_tenant_last_seen", "tenant_id", "last_seen", "id"),
    Index("ix_fg_tenant_first_seen", "tenant_id", "first_seen", "id"),
    Index("ix_fg_tenant_failures", "tenant_id", "failures", "id"),
    Index("ix_fg_tenant_state_last_seen", "tenant_id", "state", "last_seen", "id"),
    Index("ix_fg_last_seen", "last_seen", "id"),
    Index("ix_fg_first_seen", "first_seen", "id"),
    Index("ix_fg_failures", "failures", "id"),
    Index("ix_fg_state_last_seen", "state", "last_seen", "id"),
)

# Failures per group and UTC day (sparklines, retention), kept like the other rollups.
failure_group_daily = Table(
    "failure_group_daily",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),  # UTC midnight
    Column("signature", String(64), nullable=False),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "bucket", "signature", name="uq_failure_group_daily_key"),
    Index("ix_fgd_group_bucket", "tenant_id", "signature", "bucket"),
    Index("ix_fgd_bucket", "bucket"),
)

# Who changed what on a group, and the changes ingest made (a regression, an ignore that ran out).
group_events = Table(
    "group_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", Uuid, nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("source", String(16), nullable=False),  # api | dashboard | ingest | retention
    Column("action", String(16), nullable=False),  # state | assignee | notes | regressed | unignored
    Column("from_value", Text, nullable=True),
    Column("to_value", Text, nullable=True),
    Column("notes", Text, nullable=True),
    Index("ix_ge_group_at", "group_id", "at", "id"),
    Index("ix_ge_tenant_at", "tenant_id", "at"),
)

# Tables holding per-test data; catalog_entries and feature_flags are seeded by migrate.
DATA_TABLES = (
    "recovery_events",
    "group_events",
    "failure_group_daily",
    "failure_groups",
    "failure_rollups",
    "failure_rollups_daily",
    "failure_rollups_tenant_hourly",
    "failure_totals",
    "failure_rollups_all",
    "failure_rollups_daily_all",
    "unmatched_signature_daily",
    "unmatched_signature_weekly",
    "failure_matches",
    "failure_pattern_exports",
    "api_tokens",
    "dashboard_sessions",
    "users",
)
