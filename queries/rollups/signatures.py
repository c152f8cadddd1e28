"""Keep `unmatched_signature_daily` and `unmatched_signature_weekly` (unmatched failures per tenant, UTC day or
week, signature and error code, with the first and last time seen) in step with inserts, promotions and
retention.

A key whose occurrences drop to 0 or below is ignored by readers (loaders.catalog.candidates); promotion deletes
the ones it empties and recomputes first/last seen of the ones it thins out, so every row with
occurrences > 0 equals a GROUP BY of the raw unmatched rows of its day (or week).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from core.schema import unmatched_signature_daily as usd
from core.schema import unmatched_signature_weekly as usw
from queries.failures.partitions import week_start as week_floor

KEY_COLUMNS = ("tenant_id", "bucket", "signature", "error_code")
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

SignatureKey = tuple[str, datetime, str, str]  # tenant_id, UTC day, signature, error_code
# Per key: [occurrences delta, earliest created_at, latest created_at] of the rows behind the delta.
SignatureDelta = list[Any]


def day_floor(ts: datetime) -> datetime:
    """Truncate a timestamp to its UTC day."""
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def day_ceil(ts: datetime) -> datetime:
    """The first UTC midnight at or after ts."""
    floor = day_floor(ts)
    return floor if floor == ts else floor + DAY


def week_ceil(ts: datetime) -> datetime:
    """The first Monday 00:00 UTC at or after ts."""
    floor = week_floor(ts)
    return floor if floor == ts else floor + WEEK


# Each level: its table, the start of the bucket holding a time, and the bucket's length.
LEVELS: tuple[tuple[Table, Any, timedelta], ...] = ((usd, day_floor, DAY), (usw, week_floor, WEEK))


def signature_key(row: Mapping) -> SignatureKey:  # type: ignore[type-arg]
    """The rollup key of one unmatched failure row (mapping with failure_matches columns)."""
    return (row["tenant_id"], day_floor(row["created_at"]), row["signature"], row["error_code"])


def signature_deltas(rows: Iterable[Mapping], sign: int = 1) -> dict[SignatureKey, SignatureDelta]:  # type: ignore[type-arg]
    """Deltas for rows entering (sign=1) or leaving (sign=-1) the unmatched set; matched rows are skipped."""
    deltas: dict[SignatureKey, SignatureDelta] = {}
    for row in rows:
        add_signature_delta(deltas, row, sign)
    return deltas


def add_signature_delta(deltas: dict[SignatureKey, SignatureDelta], row: Mapping, sign: int) -> None:  # type: ignore[type-arg]
    """Add one failure row (if unmatched) to a delta map."""
    if row["catalog_entry_id"] is not None:
        return
    ts = row["created_at"]
    _merge(deltas, signature_key(row), sign, ts, ts)


def _merge(deltas: dict[SignatureKey, SignatureDelta], key: SignatureKey, n: int, lo: datetime,
           hi: datetime) -> None:
    entry = deltas.get(key)
    if entry is None:
        deltas[key] = [n, lo, hi]
    else:
        entry[0] += n
        entry[1], entry[2] = min(entry[1], lo), max(entry[2], hi)


def weekly_deltas(deltas: Mapping[SignatureKey, SignatureDelta]) -> dict[SignatureKey, SignatureDelta]:
    """Daily deltas merged into their weeks."""
    out: dict[SignatureKey, SignatureDelta] = {}
    for (tenant, day, sig, code), (n, lo, hi) in deltas.items():
        _merge(out, (tenant, week_floor(day), sig, code), n, lo, hi)
    return out


def apply_signature_deltas(conn: Connection, deltas: Mapping[SignatureKey, SignatureDelta]) -> None:
    """Add occurrence deltas to the daily and weekly levels; first/last seen widen to the delta's rows.

    PostgreSQL gets the daily deltas as arrays in one statement that derives the weeks server-side (like the
    rollup levels' statement); SQLite one multi-row upsert per level."""
    if conn.dialect.name != "postgresql":
        _upsert(conn, usd, deltas)
        _upsert(conn, usw, weekly_deltas(deltas))
        return
    items = sorted((key, v) for key, v in deltas.items() if v[0])  # sorted: every writer's lock order
    if not items:
        return
    params: dict[str, list[Any]] = {c: [] for c in (*KEY_COLUMNS, "occurrences", "first_seen", "last_seen")}
    for key, (n, lo, hi) in items:
        for col, value in zip(KEY_COLUMNS, key, strict=True):
            params[col].append(value)
        params["occurrences"].append(int(n))
        params["first_seen"].append(lo)
        params["last_seen"].append(hi)
    conn.execute(_LEVELS_SQL, params)


def _levels_sql() -> str:
    """The PostgreSQL statement of apply_signature_deltas, built once at import from constant names."""
    keys = ", ".join(KEY_COLUMNS)

    def upsert(table: str, select: str) -> str:
        return (f"INSERT INTO {table} ({keys}, occurrences, first_seen, last_seen) {select} "  # noqa: S608
                f"ON CONFLICT ({keys}) DO UPDATE SET occurrences = {table}.occurrences + excluded.occurrences, "
                f"first_seen = least({table}.first_seen, excluded.first_seen), "
                f"last_seen = greatest({table}.last_seen, excluded.last_seen)")

    week = "date_trunc('week', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"  # Monday 00:00 UTC
    deltas = ("SELECT * FROM unnest(CAST(:tenant_id AS text[]), CAST(:bucket AS timestamptz[]), "  # noqa: S608
              "CAST(:signature AS text[]), CAST(:error_code AS text[]), CAST(:occurrences AS integer[]), "
              f"CAST(:first_seen AS timestamptz[]), CAST(:last_seen AS timestamptz[])) AS d({keys}, occurrences, "
              "first_seen, last_seen)")
    daily = upsert(usd.name, f"SELECT * FROM d ORDER BY {keys}")  # noqa: S608
    weekly = upsert(usw.name, f"SELECT tenant_id, {week}, signature, error_code, sum(occurrences), min(first_seen), "  # noqa: S608
                              f"max(last_seen) FROM d GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")
    # A data-modifying CTE runs to completion whether or not its RETURNING is read.
    return f"WITH d AS ({deltas}), daily AS ({daily} RETURNING 1) {weekly}"


_LEVELS_SQL = text(_levels_sql())


def _upsert(conn: Connection, table: Table, deltas: Mapping[SignatureKey, SignatureDelta]) -> None:
    rows = [dict(zip(KEY_COLUMNS, key, strict=True), occurrences=int(n), first_seen=lo, last_seen=hi)
            for key, (n, lo, hi) in deltas.items() if n]
    if not rows:
        return
    pg = conn.dialect.name == "postgresql"
    stmt = (pg_insert if pg else sqlite_insert)(table)
    # Two-argument min()/max() are scalar functions on SQLite; the stored text sorts like the time.
    least, greatest = (func.least, func.greatest) if pg else (func.min, func.max)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={"occurrences": table.c.occurrences + stmt.excluded.occurrences,
              "first_seen": least(table.c.first_seen, stmt.excluded.first_seen),
              "last_seen": greatest(table.c.last_seen, stmt.excluded.last_seen)},
    ).returning(table.c.occurrences)  # RETURNING lets SQLAlchemy send one multi-row upsert
    # Sorted keys give every writer the same lock order, so concurrent batches cannot deadlock.
    rows.sort(key=lambda r: tuple(r[k] for k in KEY_COLUMNS))
    conn.execute(stmt, rows).all()


def remove_from_signature_rollups(conn: Connection, deltas: Mapping[SignatureKey, SignatureDelta]) -> None:
    """Apply negative deltas of rows that left the unmatched set (promotion); call after their UPDATE.

    Keys left empty are deleted and the others get first/last seen recomputed from the raw unmatched rows
    of their day or week (index ix_fm_tenant_signature_created), since the removed rows may have been the edges.
    """
    if not deltas:
        return
    apply_signature_deltas(conn, deltas)
    for table, floor, span in LEVELS:
        keys = sorted({(t, floor(b), s, c) for t, b, s, c in deltas})
        params = [{"k_tenant": t, "k_bucket": b, "k_sig": s, "k_code": c, "k_end": b + span} for t, b, s, c in keys]
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
    for table, floor, span in LEVELS:
        first = floor(cutoff)
        deleted += int(conn.execute(delete(table).where(table.c.bucket < first)).rowcount or 0)
        if first == cutoff:
            continue
        group = [fm.c.tenant_id, fm.c.signature, fm.c.error_code]
        kept = conn.execute(
            select(*group, func.count().label("n"), func.min(fm.c.created_at).label("lo"),
                   func.max(fm.c.created_at).label("hi"))
            .where(fm.c.catalog_entry_id.is_(None), fm.c.created_at >= cutoff, fm.c.created_at < first + span)
            .group_by(*group)
        ).all()
        deleted += int(conn.execute(delete(table).where(table.c.bucket == first)).rowcount or 0)
        _upsert(conn, table, {(t, first, s, c): [n, _dt(lo), _dt(hi)] for t, s, c, n, lo, hi in kept})
    return deleted


def _dt(value: Any) -> datetime:
    # min()/max() of a timestamp can come back as text on SQLite (stored UTC, no offset).
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value
