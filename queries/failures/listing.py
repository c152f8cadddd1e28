"""Failure rows: keyset-paged lists, counts, one failure with its history, the unrecovered queue."""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.engine import Connection

from core.ids import MILLISECOND, id_created_ms, parse_failure_id
from core.schema import UNRECOVERED, failure_matches, recovery_events
from queries.failures.counts import count_from_rollups
from queries.failures.filters import FailureFilter, FilterError

fm = failure_matches

# Every column of failure_matches, in table order; list frames always have these columns.
FAILURE_COLUMNS = [c.name for c in fm.columns]
HISTORY_COLUMNS = ["id", "failure_id", "from_state", "to_state", "actor", "notes", "source", "at"]
MAX_LIMIT = 1000
MAX_CURSOR_CHARS = 200


@dataclass(frozen=True)
class FailurePage:
    """One page of failures (newest first) and the cursor of the next page (None on the last)."""

    rows: pd.DataFrame
    next_cursor: str | None


def encode_cursor(created_at: datetime, failure_id: uuid.UUID | str) -> str:
    """Opaque keyset cursor for the row (created_at, id): urlsafe base64 of a small JSON array."""
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), str(failure_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """(created_at, id) from a cursor made by encode_cursor; FilterError when it is not one."""
    bad = FilterError("cursor is not valid: use the next_cursor value of a previous page")
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_raw, id_raw = json.loads(raw.decode())
        created_at = datetime.fromisoformat(created_raw)
        failure_id = uuid.UUID(id_raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise bad from exc
    if created_at.tzinfo is None:
        raise bad
    return created_at.astimezone(UTC), failure_id


def _check_limit(limit: int) -> int:
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise FilterError(f"limit must be between 1 and {MAX_LIMIT}")
    return int(limit)


def list_failures_query(
    *, filt: FailureFilter, limit: int = 100, cursor: str | None = None, offset: int = 0
) -> Select:
    """The SELECT behind list_failures (fetches limit + 1 rows to know whether a next page exists)."""
    limit = _check_limit(limit)
    if offset < 0:
        raise FilterError("offset must not be negative")
    query = select(fm).where(*filt.conditions())
    if cursor:
        created_at, failure_id = decode_cursor(cursor)
        # Keyset: strictly after the cursor row in (created_at DESC, id DESC) order.
        query = query.where(
            fm.c.created_at <= created_at,
            or_(fm.c.created_at < created_at, and_(fm.c.created_at == created_at, fm.c.id < failure_id)),
        )
    query = query.order_by(fm.c.created_at.desc(), fm.c.id.desc()).limit(limit + 1)
    if offset and not cursor:
        query = query.offset(offset)
    return query


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if "id" in frame.columns:
        frame["id"] = frame["id"].astype(str) if len(frame) else frame["id"].astype(object)
    if "failure_id" in frame.columns:
        frame["failure_id"] = frame["failure_id"].astype(str) if len(frame) else frame["failure_id"].astype(object)
    for col in ("created_at", "updated_at", "recovered_at", "at"):
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def list_failure_rows(
    conn: Connection, *, filt: FailureFilter, limit: int = 100, cursor: str | None = None, offset: int = 0
) -> tuple[list[dict[str, Any]], str | None]:
    """Like list_failures but plain dicts (native Python values, id as UUID) and the next cursor."""
    query = list_failures_query(filt=filt, limit=limit, cursor=cursor, offset=offset)
    rows = [dict(r) for r in conn.execute(query).mappings().all()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
    return rows, next_cursor


def list_failures(
    conn: Connection, *, filt: FailureFilter, limit: int = 100, cursor: str | None = None, offset: int = 0
) -> FailurePage:
    """Failures matching `filt`, newest first (created_at DESC, id DESC): one row per failure, all columns.

    Pass the returned next_cursor back as `cursor` for the next page; `offset` is only for old clients
    (ignored when a cursor is given).
    """
    rows, next_cursor = list_failure_rows(conn, filt=filt, limit=limit, cursor=cursor, offset=offset)
    return FailurePage(rows=_frame(rows, FAILURE_COLUMNS), next_cursor=next_cursor)


def count_failures_query(*, filt: FailureFilter) -> Select:
    """The SELECT COUNT(*) behind count_failures."""
    return select(func.count()).select_from(fm).where(*filt.conditions())


def count_failures(conn: Connection, *, filt: FailureFilter) -> int:
    """Number of failures matching `filt` (from the rollups when the filter allows it, else raw rows)."""
    counted = count_from_rollups(conn, filt)
    if counted is not None:
        return counted
    return int(conn.execute(count_failures_query(filt=filt)).scalar_one())


def id_bounds(ids: Iterable[uuid.UUID]) -> tuple[datetime, datetime] | None:
    """[lo, hi) holding every id's created_at when all are UUIDv7 (core.ids), else None. Narrowing a lookup by
    id to it lets PostgreSQL read one weekly partition instead of all; a row whose id was made elsewhere may lie
    outside, so a narrowed lookup that misses is retried without it."""
    created = [id_created_ms(i) for i in ids]
    times = [t for t in created if t is not None]
    if not times or len(times) != len(created):
        return None
    return min(times), max(times) + MILLISECOND


def within(bounds: tuple[datetime, datetime] | None) -> list[Any]:
    """created_at conditions for id_bounds' range (none for None)."""
    return [] if bounds is None else [fm.c.created_at >= bounds[0], fm.c.created_at < bounds[1]]


def id_lookups(ids: Iterable[uuid.UUID]) -> list[tuple[datetime, datetime] | None]:
    """The created_at ranges a lookup by these ids tries in turn: the one their UUIDv7s name (when they all
    name one), then none."""
    bounds = id_bounds(ids)
    return [None] if bounds is None else [bounds, None]


def same_partition(conn: Connection) -> list[Any]:
    """For an UPDATE by id of rows read before: `created_at = :b_created` picks the row's partition on
    PostgreSQL (by id alone it probes every one). None on SQLite: no partitions, and text-stored times compare
    exactly only in the format they were written in."""
    return [fm.c.created_at == bindparam("b_created")] if conn.dialect.name == "postgresql" else []


def _failure_query(fid: uuid.UUID, tenant_id: str | None,
                   bounds: tuple[datetime, datetime] | None) -> Select:
    query = select(fm).where(fm.c.id == fid, *within(bounds))
    return query if tenant_id is None else query.where(fm.c.tenant_id == tenant_id)


def get_failure_query(*, failure_id: uuid.UUID | str, tenant_id: str | None,
                      narrowed: bool = False) -> Select:
    """The SELECT behind get_failure (with `narrowed`, limited to the created_at its UUIDv7 id names)."""
    fid = parse_failure_id(failure_id)
    return _failure_query(fid, tenant_id, id_bounds([fid]) if narrowed else None)


def get_failure(conn: Connection, *, failure_id: uuid.UUID | str, tenant_id: str | None) -> dict[str, Any] | None:
    """One failure as a dict of all columns (id as str), or None when absent or outside the tenant scope.

    A malformed id raises core.ids.FailureIdError (a ValueError).
    """
    fid = parse_failure_id(failure_id)
    for bounds in id_lookups([fid]):
        row = conn.execute(_failure_query(fid, tenant_id, bounds)).mappings().first()
        if row is not None:
            out = dict(row)
            out["id"] = str(out["id"])
            return out
    return None


def recovery_history_rows(
    conn: Connection, *, failure_id: uuid.UUID | str, tenant_id: str | None
) -> list[dict[str, Any]]:
    """Recovery history of one failure as plain dicts, oldest first."""
    re_ = recovery_events
    query = select(*[re_.c[c] for c in HISTORY_COLUMNS]).where(re_.c.failure_id == parse_failure_id(failure_id))
    if tenant_id is not None:
        query = query.where(re_.c.tenant_id == tenant_id)
    return [dict(r) for r in conn.execute(query.order_by(re_.c.at, re_.c.id)).mappings().all()]


def get_recovery_history(
    conn: Connection, *, failure_id: uuid.UUID | str, tenant_id: str | None
) -> pd.DataFrame:
    """Recovery history of one failure, oldest first: id, failure_id, from_state, to_state, actor, notes, source, at."""
    rows = recovery_history_rows(conn, failure_id=failure_id, tenant_id=tenant_id)
    return _frame(rows, HISTORY_COLUMNS)


def list_unrecovered_query(
    *, tenant_id: str | None, start: datetime, end: datetime | None = None, limit: int = 50
) -> Select:
    """The SELECT behind list_unrecovered; WHERE and ORDER BY match the partial queue indexes (migration 0002)."""
    limit = _check_limit(limit)
    FailureFilter(start=start, end=end)  # same validation of the time range as every other filter
    # UNRECOVERED is the very expression of the partial indexes, so both engines can use them.
    query = select(fm).where(UNRECOVERED, fm.c.created_at >= start)
    if end is not None:
        query = query.where(fm.c.created_at < end)
    if tenant_id is not None:
        query = query.where(fm.c.tenant_id == tenant_id)
    # id ascending breaks ties so the order is exactly that of ix_fm_unrecovered(_tenant)_queue (no sort step).
    return query.order_by(fm.c.severity_rank.asc(), fm.c.created_at.desc(), fm.c.id.asc()).limit(limit)


def list_unrecovered_rows(
    conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Like list_unrecovered but plain dicts (native Python values, id as UUID)."""
    query = list_unrecovered_query(tenant_id=tenant_id, start=start, end=end, limit=limit)
    return [dict(r) for r in conn.execute(query).mappings().all()]


def list_unrecovered(
    conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime | None = None, limit: int = 50
) -> pd.DataFrame:
    """Failures not yet recovered (never attempted or failed), most severe first then newest; all columns."""
    rows = list_unrecovered_rows(conn, tenant_id=tenant_id, start=start, end=end, limit=limit)
    return _frame(rows, FAILURE_COLUMNS)
