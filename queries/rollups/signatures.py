"""The SIGNATURES rollup family (unmatched failures per tenant, UTC day or week, signature and error code, with the
first and last time seen) in step with inserts, promotions and retention.

A key whose occurrences drop to 0 or below is ignored by readers (loaders.catalog.candidates); promotion deletes
the ones it empties and recomputes first/last seen of the ones it thins out, so every row with occurrences > 0
equals a GROUP BY of the raw unmatched rows of its day (or week).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from core.timebuckets import SPAN, day_floor, floor
from queries.rollups.levels import SIGNATURES
from queries.rollups.upserts import family_params, family_statement, upsert_rows, write_levels

SignatureKey = tuple[str, datetime, str, str]  # tenant_id, UTC day, signature, error_code
# Per key: [occurrences delta, earliest created_at, latest created_at] of the rows behind the delta.
SignatureDelta = list[Any]
_STATEMENT = family_statement(SIGNATURES)


def signature_key(row: Mapping[Any, Any]) -> SignatureKey:
    """The daily signature key of one unmatched failure row (a mapping with failure_matches columns)."""
    return (row["tenant_id"], day_floor(row["created_at"]), row["signature"], row["error_code"])


def signature_deltas(rows: Iterable[Mapping[str, Any]], sign: int = 1) -> dict[SignatureKey, SignatureDelta]:
    """Deltas for rows entering (sign=1) or leaving (sign=-1) the unmatched set; matched rows are skipped."""
    deltas: dict[SignatureKey, SignatureDelta] = {}
    for row in rows:
        add_signature_delta(deltas, row, sign)
    return deltas


def add_signature_delta(deltas: dict[SignatureKey, SignatureDelta], row: Mapping[Any, Any], sign: int) -> None:
    """Add one failure row (if unmatched) to a delta map."""
    if row["catalog_entry_id"] is not None:
        return
    ts = row["created_at"]
    key = signature_key(row)
    entry = deltas.get(key)
    if entry is None:
        deltas[key] = [sign, ts, ts]
    else:
        entry[0] += sign
        entry[1], entry[2] = min(entry[1], ts), max(entry[2], ts)


def _base_rows(deltas: Mapping[SignatureKey, SignatureDelta]) -> dict[SignatureKey, dict[str, Any]]:
    return {key: {"occurrences": int(n), "first_seen": lo, "last_seen": hi}
            for key, (n, lo, hi) in deltas.items() if n}


def apply_signature_deltas(conn: Connection, deltas: Mapping[SignatureKey, SignatureDelta]) -> None:
    """Add occurrence deltas to the daily and weekly levels; first/last seen widen to the delta's rows."""
    rows = _base_rows(deltas)
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_STATEMENT, family_params(SIGNATURES, rows))
        return
    write_levels(conn, SIGNATURES, rows)


def remove_from_signature_rollups(conn: Connection, deltas: Mapping[SignatureKey, SignatureDelta]) -> None:
    """Apply negative deltas of rows that left the unmatched set (promotion); call after their UPDATE.

    Keys left empty are deleted and the others get first/last seen recomputed from the raw unmatched rows
    of their day or week (index ix_fm_tenant_signature_created), since the removed rows may have been the edges.
    """
    if not deltas:
        return
    apply_signature_deltas(conn, deltas)
    for level in SIGNATURES.levels:
        table, grain = level.table, level.grain
        assert grain is not None
        keys = sorted({(t, floor(b, grain), s, c) for t, b, s, c in deltas})
        params = [{"k_tenant": t, "k_bucket": b, "k_sig": s, "k_code": c, "k_end": b + SPAN[grain]}
                  for t, b, s, c in keys]
        key_match = and_(table.c.tenant_id == bindparam("k_tenant"), table.c.bucket == bindparam("k_bucket"),
                         table.c.signature == bindparam("k_sig"), table.c.error_code == bindparam("k_code"))
        conn.execute(delete(table).where(key_match, table.c.occurrences <= 0), params)
        raw = and_(fm.c.tenant_id == bindparam("k_tenant"), fm.c.signature == bindparam("k_sig"),
                   fm.c.error_code == bindparam("k_code"), fm.c.catalog_entry_id.is_(None),
                   fm.c.created_at >= bindparam("k_bucket"), fm.c.created_at < bindparam("k_end"))
        first = select(func.min(fm.c.created_at)).where(raw).scalar_subquery()
        last = select(func.max(fm.c.created_at)).where(raw).scalar_subquery()
        conn.execute(table.update().where(key_match).values(first_seen=func.coalesce(first, table.c.first_seen),
                                                            last_seen=func.coalesce(last, table.c.last_seen)),
                     params)


def expire_signature_rollups(conn: Connection, cutoff: datetime) -> int:
    """Retention: drop days (weeks) before the cutoff's day (week) and rebuild the cutoff's day (week) from the
    raw rows >= cutoff.

    Rebuilding [cutoff, end of its bucket) from the raw rows (instead of subtracting the rows before the cutoff)
    gives the same result whether it runs before or after retention deleted the raw rows, and running it twice
    is harmless. Returns the number of rollup rows deleted.
    """
    deleted = 0
    for level in SIGNATURES.levels:
        table, grain = level.table, level.grain
        assert grain is not None
        first = floor(cutoff, grain)
        deleted += int(conn.execute(delete(table).where(table.c.bucket < first)).rowcount or 0)
        if first == cutoff:
            continue
        group = [fm.c.tenant_id, fm.c.signature, fm.c.error_code]
        kept = conn.execute(
            select(*group, func.count().label("n"), func.min(fm.c.created_at).label("lo"),
                   func.max(fm.c.created_at).label("hi"))
            .where(fm.c.catalog_entry_id.is_(None), fm.c.created_at >= cutoff, fm.c.created_at < first + SPAN[grain])
            .group_by(*group)
        ).all()
        deleted += int(conn.execute(delete(table).where(table.c.bucket == first)).rowcount or 0)
        upsert_rows(conn, level, [{"tenant_id": r.tenant_id, "bucket": first, "signature": r.signature,
                                   "error_code": r.error_code, "occurrences": r.n, "first_seen": _dt(r.lo),
                                   "last_seen": _dt(r.hi)} for r in kept])
    return deleted


def _dt(value: Any) -> datetime:
    # min()/max() of a timestamp can come back as text on SQLite (stored UTC, no offset).
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value
