"""Reading groups: a filtered, sorted page with a keyset cursor, one group, its history and daily counts.

An ignore that ran out (its time passed) reads as unresolved at once; the stored state follows at the next
failure of the group or the next change a person makes.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, tuple_
from sqlalchemy.engine import Connection

from core.schema import failure_group_daily as gd
from core.schema import failure_groups as g
from core.schema import group_events as ge
from core.timebuckets import day_floor
from core.vocabulary import GROUP_STATES, IGNORED, RESOLVED, UNRESOLVED

SORTS = {"last_seen": g.c.last_seen, "first_seen": g.c.first_seen, "count": g.c.failures}
STATE_FILTERS = (*GROUP_STATES, "regressed", "open", "all")  # open: unresolved, regressed included
MAX_LIMIT = 200
MAX_CURSOR_COUNT = 2**53  # exact in JSON numbers everywhere, far above any group's count
CURSOR_YEARS = (2000, 2200)
GROUP_COLUMNS = ["id", "tenant_id", "signature", "error_code", "title", "category", "severity", "severity_rank",
                 "failures", "first_seen", "last_seen", "state", "assignee", "notes", "ignore_until",
                 "ignore_until_failures", "resolved_at", "regressed", "regressed_at", "updated_at", "updated_by",
                 "version"]


class GroupFilterError(ValueError):
    """A group filter or cursor is invalid; the message names it."""


def effective_state(now: datetime) -> ColumnElement[str]:
    """The state as people should see it: an ignore whose time has passed is unresolved."""
    return case((and_(g.c.state == IGNORED, g.c.ignore_until.is_not(None), g.c.ignore_until <= now), UNRESOLVED),
                else_=g.c.state)


@dataclass(frozen=True)
class GroupFilter:
    """Which groups to list; empty values mean no restriction. `assignee` "" means nobody."""

    tenant_id: str | None = None
    state: str = "all"
    assignee: str | None = None
    error_codes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    first_seen_from: datetime | None = None  # the "new" view: groups whose lifetime first failure is recent
    first_seen_to: datetime | None = None
    last_seen_from: datetime | None = None
    q: str | None = None  # text in the title
    severities: tuple[str, ...] = ()  # the group's severity (its latest failure's)
    signature: str | None = None
    text: str | None = None  # text in the title or the error code (Explore's "Message contains")

    def __post_init__(self) -> None:
        if self.state not in STATE_FILTERS:
            raise GroupFilterError(f"state must be one of {', '.join(STATE_FILTERS)}")
        if self.q is not None and len(self.q) > 200:
            raise GroupFilterError("the title filter is longer than 200 characters")
        if self.text is not None and len(self.text) > 200:
            raise GroupFilterError("the text filter is longer than 200 characters")

    def conditions(self, now: datetime) -> list[ColumnElement[bool]]:
        """SQL conditions on failure_groups (bound parameters only)."""
        c: list[ColumnElement[bool]] = []
        if self.tenant_id:
            c.append(g.c.tenant_id == self.tenant_id)
        expired = and_(g.c.state == IGNORED, g.c.ignore_until.is_not(None), g.c.ignore_until <= now)
        if self.state in (UNRESOLVED, "open"):
            c.append(or_(g.c.state == UNRESOLVED, expired))
        elif self.state == IGNORED:
            c.append(and_(g.c.state == IGNORED, or_(g.c.ignore_until.is_(None), g.c.ignore_until > now)))
        elif self.state == RESOLVED:
            c.append(g.c.state == RESOLVED)
        elif self.state == "regressed":
            c.append(and_(g.c.state == UNRESOLVED, g.c.regressed.is_(True)))
        if self.assignee == "":
            c.append(g.c.assignee.is_(None))
        elif self.assignee:
            c.append(g.c.assignee == self.assignee)
        if self.error_codes:
            c.append(g.c.error_code.in_(self.error_codes))
        if self.categories:
            c.append(g.c.category.in_(self.categories))
        if self.severities:
            c.append(g.c.severity.in_(self.severities))
        if self.signature:
            c.append(g.c.signature == self.signature)
        if self.first_seen_from is not None:
            c.append(g.c.first_seen >= self.first_seen_from)
        if self.first_seen_to is not None:
            c.append(g.c.first_seen < self.first_seen_to)
        if self.last_seen_from is not None:
            c.append(g.c.last_seen >= self.last_seen_from)
        if self.q:
            c.append(_contains(g.c.title, self.q))
        if self.text:
            c.append(or_(_contains(g.c.title, self.text), _contains(g.c.error_code, self.text)))
        return c


def _contains(column: Any, value: str) -> ColumnElement[bool]:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


@dataclass
class GroupPage:
    """One page of groups (dicts of GROUP_COLUMNS, `state` the effective one) and the cursor of the next."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _columns(now: datetime) -> list[Any]:
    return [effective_state(now).label("state") if c == "state" else g.c[c] for c in GROUP_COLUMNS]


def encode_cursor(sort: str, value: Any, group: uuid.UUID) -> str:
    """An opaque cursor for keyset paging."""
    raw = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(json.dumps([sort, raw, str(group)]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
    """(sort value, id) of a cursor made for the same sort; GroupFilterError otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(parts, list) or len(parts) != 3:
            raise ValueError("expected [sort, value, id]")
        name, raw, group = parts
        if name != sort or not isinstance(group, str):
            raise ValueError("the cursor was made for another sort")
        value = _cursor_count(raw) if sort == "count" else _cursor_time(raw)
        return value, uuid.UUID(group)
    except (ValueError, TypeError, OverflowError) as exc:
        raise GroupFilterError("cursor is not valid for this sort (start again without it)") from exc


def _cursor_count(raw: Any) -> int:
    # bool is an int to Python; a count is a whole number the database column can hold.
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_CURSOR_COUNT:
        raise ValueError("expected a count")
    return raw


def _cursor_time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("expected a time")
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        raise ValueError("naive time")
    # Far-off years overflow when moved to UTC or when the database converts them; no group lives there.
    value = value.astimezone(UTC)
    if not CURSOR_YEARS[0] <= value.year <= CURSOR_YEARS[1]:
        raise ValueError("time out of range")
    return value


def list_groups(conn: Connection, filt: GroupFilter, *, now: datetime, sort: str = "last_seen", limit: int = 50,
                cursor: str | None = None, with_total: bool = False) -> GroupPage:
    """A page of groups, largest sort value first (ties by id), the whole result sorted by the database."""
    if sort not in SORTS:
        raise GroupFilterError(f"sort must be one of {', '.join(SORTS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise GroupFilterError(f"limit must be between 1 and {MAX_LIMIT}")
    key = SORTS[sort]
    cond = filt.conditions(now)
    query = select(*_columns(now)).where(*cond)
    if cursor:
        value, after = decode_cursor(cursor, sort)
        query = query.where(or_(key < value, and_(key == value, g.c.id < after)))
    rows = [dict(r) for r in conn.execute(query.order_by(key.desc(), g.c.id.desc()).limit(limit + 1)).mappings()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, last["failures" if sort == "count" else sort], last["id"])
    total = int(conn.execute(select(func.count()).select_from(g).where(*cond)).scalar_one()) if with_total else 0
    return GroupPage(rows, next_cursor, total)


def get_group(conn: Connection, *, group_id: uuid.UUID, tenant_id: str | None, now: datetime) -> dict[str, Any] | None:
    """One group (None when absent or outside the tenant scope)."""
    query = select(*_columns(now)).where(g.c.id == group_id)
    if tenant_id is not None:
        query = query.where(g.c.tenant_id == tenant_id)
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def group_history(conn: Connection, *, group_id: uuid.UUID, limit: int = 200) -> list[dict[str, Any]]:
    """A group's changes, oldest first (at most `limit`, the latest ones)."""
    rows = conn.execute(select(ge).where(ge.c.group_id == group_id).order_by(ge.c.at.desc(), ge.c.id.desc())
                        .limit(limit)).mappings().all()
    return [dict(r) for r in reversed(rows)]


def daily_counts(conn: Connection, keys: list[tuple[str, str]], *, end: datetime,
                 days: int = 14) -> dict[tuple[str, str], list[int]]:
    """Failures per UTC day of each group (tenant, signature) over the `days` days ending with end's day."""
    last = day_floor(end)
    first = last - timedelta(days=days - 1)
    out = {k: [0] * days for k in keys}
    if not keys:
        return out
    rows = conn.execute(select(gd.c.tenant_id, gd.c.signature, gd.c.bucket, gd.c.failures).where(
        _any_group(conn, keys), gd.c.bucket >= first, gd.c.bucket <= last))
    for tenant, signature, bucket, n in rows:
        index = (day_floor(bucket) - first).days
        if 0 <= index < days:
            out[(tenant, signature)][index] += int(n)
    return out


def _any_group(conn: Connection, keys: list[tuple[str, str]]) -> ColumnElement[bool]:
    """The daily rows of these groups, in a form each engine answers from the (tenant, signature, day) index."""
    if conn.dialect.name != "sqlite":
        return tuple_(gd.c.tenant_id, gd.c.signature).in_(keys)
    # SQLite cannot probe an index with a row-value IN list: it would range-scan every group's days and test each.
    # One `tenant = ? AND signature IN (...)` per tenant is probed key by key, so the cost stays 200 x 14 rows.
    by_tenant: dict[str, list[str]] = {}
    for tenant, signature in keys:
        by_tenant.setdefault(tenant, []).append(signature)
    return or_(*(and_(gd.c.tenant_id == tenant, gd.c.signature.in_(signatures))
                 for tenant, signatures in by_tenant.items()))


def queue_groups(conn: Connection, filt: GroupFilter, *, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """The on-call queue: regressions first (newest first), then the most severe, then the most recent."""
    query = (select(*_columns(now)).where(*filt.conditions(now))
             .order_by(g.c.regressed.desc(), case((g.c.regressed, g.c.regressed_at)).desc().nulls_last(),
                       g.c.severity_rank, g.c.last_seen.desc(),
                       g.c.id).limit(limit))
    return [dict(r) for r in conn.execute(query).mappings()]


def count_groups(conn: Connection, filt: GroupFilter, *, now: datetime) -> int:
    """How many groups the filter selects."""
    return int(conn.execute(select(func.count()).select_from(g).where(*filt.conditions(now))).scalar_one())
