"""why each failure matched, signatures that never merge different errors, and groups to triage

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

failure_matches.match_reason holds the matcher's explanation (rule and signal, pattern or keyword; for a miss,
what was read). Signatures become fingerprints of the stored code, the exception type, the status and a
template with ids, hosts, durations and quoted data normalised; every stored signature is recomputed with
the frozen copy of that fingerprint below, and the unmatched signature rollups are rebuilt from the rows.
Groups (failure_groups, per tenant and signature, with triage state and history in group_events) and their daily
counts (failure_group_daily) are created and filled from the same pass over the rows.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BATCH = 5000

# ---- frozen copy of the signature fingerprint (loaders/catalog/signature.py as of this revision) ----------
_DIGITS = frozenset("0123456789")
_RULES: list[tuple[str, str, tuple[str, ...]]] = [
    ("url", r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", ("://",)),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", ("@",)),
    ("uuid", r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", ("long", "digit")),
    ("id", r"\b(?:req|request|trace|span|correlation|msg|run|job|task|evt|call|chatcmpl|resp)[_-][A-Za-z0-9_-]{6,}",
     ("_-",)),
    ("str", r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|`[^`\n]{0,200}`|‘[^’\n]{0,200}’|“[^”\n]{0,200}”",
     ("quote",)),
    ("path", r"(?<![\w.])(?:[A-Za-z]:\\|~?/)[\w.\-/\\]+", ("slash",)),
    ("host", r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5}\b",
     (":", "digit")),
    ("host", r"\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|ai|dev|cloud|internal|local|lan|svc|cluster|invalid|test|example)"
     r"\b(?!\.\w)", (".",)),
    ("ip", r"\b\d{1,3}(?:\.\d{1,3}){3}\b", (".", "digit")),
    ("hex", r"\b0x[0-9a-f]+\b", ("0x",)),
    ("hex", r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", ("digit",)),
    ("id", r"\b(?=(?:[A-Za-z_-]*\d){2})(?=(?:[0-9_-]*[A-Za-z]){2})[A-Za-z0-9_-]{8,}\b", ("digit",)),
    ("time", r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?", ("-", "digit")),
    ("duration", r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b",
     ("digit",)),
    ("n", r"(?<![<\w])[-+]?\d+(?:\.\d+)?", ("digit",)),
]
_PLACEHOLDERS = {f"r{i}": f"<{name}>" for i, (name, _, _) in enumerate(_RULES)}
MAX_TEMPLATE = 400
_EXCEPTION = re.compile(r"^\s*(?:[a-z_][\w]*\.)*([A-Z][A-Za-z0-9]*(?:Error|Exception|Timeout|Failure|Fault|Refused"
                        r"|Denied|NotFound|Exceeded|Cancelled|Canceled|Interrupt|Expired|Conflict|Unavailable"
                        r"|Rejected|Violation|Disconnected|Closed|Exhausted)[A-Za-z0-9]*)\b")
_STATUS = re.compile(r"\b(?:HTTP(?: Error|/\d(?:\.\d)?)?:?\s*|status(?:[ _]?code)?[\"']?\s*[:=]?\s*[\"']?"
                     r"|returned error:?\s*|Error code:?\s*)([1-5]\d\d)\b|\b([45]\d\d)\s+(?:Client|Server) Error"
                     r"|StatusCode\.([A-Z_]+)", re.IGNORECASE)


@lru_cache(maxsize=256)
def _combined(active: tuple[int, ...]) -> re.Pattern[str]:
    # Every placeholder starts where a word does not continue: one look behind skips the inside of words fast.
    return re.compile(r"(?<!\w)(?=\S*?[\d:/@.\\'\"`‘“_-])(?:" + "|".join(f"(?P<r{i}>{_RULES[i][1]})" for i in active)
                      + ")", re.IGNORECASE)


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDERS[match.lastgroup]  # type: ignore[index]


def _features(text: str) -> tuple[str, ...]:
    found = [f for f in ("://", "@", "_", "-", "/", "\\", ":", ".", "0x", "0X") if f in text]
    if len(text) >= 32:
        found.append("long")
    if any(q in text for q in "'\"`‘“"):
        found.append("quote")
    if not _DIGITS.isdisjoint(text):
        found.append("digit")
    return tuple(found)


@lru_cache(maxsize=512)
def _active(features: tuple[str, ...]) -> tuple[int, ...]:
    have = set(features)
    have |= {"_-"} if have & {"_", "-"} else set()
    have |= {"slash"} if have & {"/", "\\"} else set()
    have |= {"0x"} if "0X" in have else set()
    return tuple(i for i, (_, _, needs) in enumerate(_RULES) if have.issuperset(needs))


_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _template(message: str) -> str:
    text = _TERMINAL_CODES.sub("", message.strip()[:4000])
    active = _active(_features(text))
    if active:
        text = _combined(active).sub(_placeholder, text)
    return " ".join(text.split())[:MAX_TEMPLATE]


_STATUS_WORDS = ("http", "status", "returned error", "error code", "client error", "server error")


def signature_v2(message: str, error_code: str | None) -> str:
    """The fingerprint of this revision: code, exception type, status and template."""
    m = _EXCEPTION.match(message)
    low = message.lower()
    s = _STATUS.search(message) if any(w in low for w in _STATUS_WORDS) else None
    status = next((g for g in s.groups() if g), "") if s else ""
    key = "\x1f".join((error_code or "", m.group(1) if m else "", status, _template(message).lower()))
    return hashlib.sha256(key.encode()).hexdigest()[:16]
# ---- end of the frozen copy ----------------------------------------------------------------------------------

REBUILD_DAILY_PG = (
    "INSERT INTO unmatched_signature_daily (tenant_id, bucket, signature, error_code, occurrences, first_seen, "
    "last_seen) SELECT tenant_id, date_trunc('day', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', signature, "
    "error_code, count(*), min(created_at), max(created_at) FROM failure_matches WHERE catalog_entry_id IS NULL "
    "GROUP BY 1, 2, 3, 4"
)
REBUILD_DAILY_SQLITE = (
    "INSERT INTO unmatched_signature_daily (tenant_id, bucket, signature, error_code, occurrences, first_seen, "
    "last_seen) SELECT tenant_id, substr(created_at, 1, 10) || ' 00:00:00.000000', signature, error_code, count(*), "
    "min(created_at), max(created_at) FROM failure_matches WHERE catalog_entry_id IS NULL GROUP BY 1, 2, 3, 4"
)
REBUILD_WEEKLY_PG = (
    "INSERT INTO unmatched_signature_weekly (tenant_id, bucket, signature, error_code, occurrences, first_seen, "
    "last_seen) SELECT tenant_id, "
    "date_trunc('week', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', signature, error_code, sum(occurrences), "
    "min(first_seen), max(last_seen) FROM unmatched_signature_daily WHERE occurrences > 0 GROUP BY 1, 2, 3, 4"
)
REBUILD_WEEKLY_SQLITE = (
    "INSERT INTO unmatched_signature_weekly (tenant_id, bucket, signature, error_code, occurrences, first_seen, "
    "last_seen) SELECT tenant_id, "
    "date(substr(bucket, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00.000000', signature, error_code, "
    "sum(occurrences), min(first_seen), max(last_seen) FROM unmatched_signature_daily WHERE occurrences > 0 "
    "GROUP BY 1, 2, 3, 4"
)

_fm = sa.table("failure_matches", sa.column("id"), sa.column("created_at"), sa.column("error_code"),
               sa.column("error_message"), sa.column("signature"), sa.column("tenant_id"), sa.column("category"),
               sa.column("severity"))
_groups = sa.table("failure_groups", sa.column("id", sa.Uuid()), *(sa.column(c) for c in (
    "tenant_id", "signature", "error_code", "title", "category", "severity", "severity_rank", "failures",
    "first_seen", "last_seen", "state", "regressed", "version")))
_group_daily = sa.table("failure_group_daily", *(sa.column(c) for c in (
    "tenant_id", "bucket", "signature", "failures", "first_seen", "last_seen")))
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def group_id_v1(tenant_id: str, signature: str) -> uuid.UUID:
    """core.ids.group_id as of this revision."""
    key = b"failcat/group\0" + tenant_id.encode() + b"\0" + signature.encode()
    digest = bytearray(hashlib.sha256(key).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80
    digest[8] = (digest[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(digest))


def _day(value: Any) -> Any:
    # SQLite hands the stored text back ('YYYY-MM-DD HH:MM:SS.ffffff'); PostgreSQL a datetime.
    if isinstance(value, str):
        return value[:10] + " 00:00:00.000000"
    return value.replace(hour=0, minute=0, second=0, microsecond=0)
_new = sa.table("failcat_new_signatures", sa.column("id"), sa.column("created_at"), sa.column("signature"))


def _refingerprint(conn: Any) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[tuple[str, Any, str], list[Any]]]:
    """Recompute every signature, a keyset batch at a time (only changed ones are written); returns the groups and
    their days as the rows make them."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    days: dict[tuple[str, Any, str], list[Any]] = {}
    op.create_table("failcat_new_signatures", sa.Column("id", sa.Uuid(), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("signature", sa.String(64), nullable=False))
    after: tuple[Any, Any] | None = None
    while True:
        query = sa.select(_fm.c.id, _fm.c.created_at, _fm.c.error_code, _fm.c.error_message, _fm.c.signature,
                          _fm.c.tenant_id, _fm.c.category, _fm.c.severity)
        if after is not None:
            query = query.where(sa.or_(_fm.c.created_at > after[0],
                                       sa.and_(_fm.c.created_at == after[0], _fm.c.id > after[1])))
        rows = conn.execute(query.order_by(_fm.c.created_at, _fm.c.id).limit(BATCH)).all()
        if not rows:
            break
        after = (rows[-1].created_at, rows[-1].id)
        changed = []
        for r in rows:  # in created_at order: the last row of a group is its latest
            sig = signature_v2(r.error_message or "", r.error_code)
            if sig != r.signature:
                changed.append({"id": r.id, "created_at": r.created_at, "signature": sig})
            group = groups.setdefault((r.tenant_id, sig), {"failures": 0, "first_seen": r.created_at})
            group.update(failures=group["failures"] + 1, last_seen=r.created_at, error_code=r.error_code,
                         message=r.error_message or "", category=r.category, severity=r.severity)
            day = days.setdefault((r.tenant_id, _day(r.created_at), sig), [0, r.created_at, r.created_at])
            day[0] += 1
            day[2] = r.created_at
        if changed:
            conn.execute(_new.insert(), changed)
        if len(rows) < BATCH:
            break
    conn.execute(sa.text(
        "UPDATE failure_matches SET signature = n.signature FROM failcat_new_signatures AS n "
        "WHERE failure_matches.id = n.id AND failure_matches.created_at = n.created_at"))
    op.drop_table("failcat_new_signatures")
    return groups, days


def _create_groups(conn: Any, groups: dict[tuple[str, str], dict[str, Any]],
                   days: dict[tuple[str, Any, str], list[Any]]) -> None:
    op.create_table(
        "failure_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("error_code", sa.String(128), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("severity_rank", sa.SmallInteger(), server_default=sa.text("5"), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), server_default=sa.text("'unresolved'"), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("ignore_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ignore_until_failures", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("regressed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("regressed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(128), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_failure_groups"),
        sa.UniqueConstraint("tenant_id", "signature", name="uq_failure_groups_tenant_signature"),
    )
    for name, cols in (("ix_fg_tenant_last_seen", ["tenant_id", "last_seen", "id"]),
                       ("ix_fg_tenant_first_seen", ["tenant_id", "first_seen", "id"]),
                       ("ix_fg_tenant_failures", ["tenant_id", "failures", "id"]),
                       ("ix_fg_tenant_state_last_seen", ["tenant_id", "state", "last_seen", "id"]),
                       ("ix_fg_last_seen", ["last_seen", "id"]), ("ix_fg_first_seen", ["first_seen", "id"]),
                       ("ix_fg_failures", ["failures", "id"]), ("ix_fg_state_last_seen", ["state", "last_seen", "id"])):
        op.create_index(name, "failure_groups", cols)
    op.create_table(
        "failure_group_daily",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "bucket", "signature", name="uq_failure_group_daily_key"),
    )
    op.create_index("ix_fgd_group_bucket", "failure_group_daily", ["tenant_id", "signature", "bucket"])
    op.create_index("ix_fgd_bucket", "failure_group_daily", ["bucket"])
    op.create_table(
        "group_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_group_events"),
    )
    op.create_index("ix_ge_group_at", "group_events", ["group_id", "at", "id"])
    op.create_index("ix_ge_tenant_at", "group_events", ["tenant_id", "at"])
    rows = [{"id": group_id_v1(tenant, sig), "tenant_id": tenant, "signature": sig, "error_code": v["error_code"],
             "title": _template(v["message"])[:400] or v["error_code"], "category": v["category"],
             "severity": v["severity"], "severity_rank": SEVERITY_RANK.get(v["severity"] or "", 5),
             "failures": v["failures"], "first_seen": v["first_seen"], "last_seen": v["last_seen"],
             "state": "unresolved", "regressed": False, "version": 1}
            for (tenant, sig), v in groups.items()]
    for i in range(0, len(rows), BATCH):
        conn.execute(_groups.insert(), rows[i:i + BATCH])
    daily = [{"tenant_id": t, "bucket": b, "signature": s, "failures": n, "first_seen": lo, "last_seen": hi}
             for (t, b, s), (n, lo, hi) in days.items()]
    for i in range(0, len(daily), BATCH):
        conn.execute(_group_daily.insert(), daily[i:i + BATCH])


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("failure_matches", sa.Column("match_reason", sa.Text(), nullable=True))
    groups, days = _refingerprint(conn)
    _create_groups(conn, groups, days)
    pg = conn.dialect.name == "postgresql"
    conn.execute(sa.text("DELETE FROM unmatched_signature_weekly"))
    conn.execute(sa.text("DELETE FROM unmatched_signature_daily"))
    conn.execute(sa.text(REBUILD_DAILY_PG if pg else REBUILD_DAILY_SQLITE))
    conn.execute(sa.text(REBUILD_WEEKLY_PG if pg else REBUILD_WEEKLY_SQLITE))


def downgrade() -> None:
    # The old fingerprints cannot be recomputed here; signatures stay as they are, the reasons and groups go.
    op.drop_table("group_events")
    op.drop_table("failure_group_daily")
    op.drop_table("failure_groups")
    with op.batch_alter_table("failure_matches", schema=None) as batch_op:
        batch_op.drop_column("match_reason")
