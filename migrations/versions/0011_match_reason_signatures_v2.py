"""why each failure matched, and signatures that never merge different errors

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

failure_matches.match_reason holds the matcher's explanation (rule and signal, pattern or keyword; for a miss,
what was read). Signatures become fingerprints of the stored code, the exception type, the status and a
template with ids, hosts, durations and quoted data normalised; every stored signature is recomputed with
the frozen copy of that fingerprint below, and the unmatched signature rollups are rebuilt from the rows.
"""
from __future__ import annotations

import hashlib
import re
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


def _template(message: str) -> str:
    text = message.strip()[:4000]
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
               sa.column("error_message"), sa.column("signature"))
_new = sa.table("failcat_new_signatures", sa.column("id"), sa.column("created_at"), sa.column("signature"))


def _refingerprint(conn: Any) -> None:
    """Recompute every signature, a keyset batch at a time; only changed ones are written."""
    op.create_table("failcat_new_signatures", sa.Column("id", sa.Uuid(), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("signature", sa.String(64), nullable=False))
    after: tuple[Any, Any] | None = None
    while True:
        query = sa.select(_fm.c.id, _fm.c.created_at, _fm.c.error_code, _fm.c.error_message, _fm.c.signature)
        if after is not None:
            query = query.where(sa.or_(_fm.c.created_at > after[0],
                                       sa.and_(_fm.c.created_at == after[0], _fm.c.id > after[1])))
        rows = conn.execute(query.order_by(_fm.c.created_at, _fm.c.id).limit(BATCH)).all()
        if not rows:
            break
        after = (rows[-1].created_at, rows[-1].id)
        changed = [{"id": r.id, "created_at": r.created_at, "signature": sig} for r in rows
                   if (sig := signature_v2(r.error_message or "", r.error_code)) != r.signature]
        if changed:
            conn.execute(_new.insert(), changed)
        if len(rows) < BATCH:
            break
    conn.execute(sa.text(
        "UPDATE failure_matches SET signature = n.signature FROM failcat_new_signatures AS n "
        "WHERE failure_matches.id = n.id AND failure_matches.created_at = n.created_at"))
    op.drop_table("failcat_new_signatures")


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("failure_matches", sa.Column("match_reason", sa.Text(), nullable=True))
    _refingerprint(conn)
    pg = conn.dialect.name == "postgresql"
    conn.execute(sa.text("DELETE FROM unmatched_signature_weekly"))
    conn.execute(sa.text("DELETE FROM unmatched_signature_daily"))
    conn.execute(sa.text(REBUILD_DAILY_PG if pg else REBUILD_DAILY_SQLITE))
    conn.execute(sa.text(REBUILD_WEEKLY_PG if pg else REBUILD_WEEKLY_SQLITE))


def downgrade() -> None:
    # The old fingerprints cannot be recomputed here; signatures stay as they are, the reasons go.
    with op.batch_alter_table("failure_matches", schema=None) as batch_op:
        batch_op.drop_column("match_reason")
