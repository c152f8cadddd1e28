"""Groups in step with failure_matches: ingest adds failures (and reopens resolved groups they come back to),
promotion moves failures between groups, retention drops what it deleted.

A group's counts equal a GROUP BY of its tenant's and signature's raw rows: `failures`, lifetime `first_seen` and
`last_seen`; failure_group_daily holds the same per UTC day. Writes happen in the caller's transaction, keys in
sorted order so two writers never wait on each other in a cycle.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, cast, delete, false, func, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from core.ids import group_id
from core.schema import failure_group_daily as gd
from core.schema import failure_groups as g
from core.schema import failure_matches as fm
from core.schema import group_events as ge
from core.timebuckets import SPAN, day_floor
from core.types import UTCDateTime
from core.vocabulary import IGNORED, RESOLVED, UNRESOLVED, severity_rank
from queries.rollups.levels import GROUPS
from queries.rollups.upserts import family_params, family_statement, upsert_rows, write_levels

GroupKey = tuple[str, str]  # tenant_id, signature
MAX_TITLE = 400
_DAILY = family_statement(GROUPS)


@dataclass
class GroupDelta:
    """What a set of failures adds to (or, negated, takes from) one group."""

    failures: int
    first_seen: datetime
    last_seen: datetime
    error_code: str
    latest_message: str
    category: str | None
    severity: str | None
    days: dict[datetime, list[Any]] = field(default_factory=dict)  # day -> [failures, first, last]


@dataclass(frozen=True)
class GroupChange:
    """A state change ingest made: a resolved group whose error came back, or an ignore that ran out."""

    group_id: uuid.UUID
    tenant_id: str
    action: str  # regressed | unignored


def group_key(row: Mapping[str, Any]) -> GroupKey:
    """The group of one failure row."""
    return (row["tenant_id"], row["signature"])


def group_deltas(rows: Iterable[Mapping[str, Any]]) -> dict[GroupKey, GroupDelta]:
    """What failure rows add to their groups (the latest row gives code, message, category and severity)."""
    out: dict[GroupKey, GroupDelta] = {}
    for row in rows:
        ts = row["created_at"]
        key = group_key(row)
        d = out.get(key)
        if d is None:
            d = out[key] = GroupDelta(0, ts, ts, row["error_code"], row["error_message"], row["category"],
                                      row["severity"])
        d.failures += 1
        if ts < d.first_seen:
            d.first_seen = ts
        if ts >= d.last_seen:
            d.last_seen, d.error_code, d.latest_message = ts, row["error_code"], row["error_message"]
            d.category, d.severity = row["category"], row["severity"]
        day = d.days.get(day_floor(ts))
        if day is None:
            d.days[day_floor(ts)] = [1, ts, ts]
        else:
            day[0] += 1
            day[1], day[2] = min(day[1], ts), max(day[2], ts)
    return out


# What ingest gives a group; the rest (state, regressed, version) starts from the table's defaults.
_INSERTED = ("id", "tenant_id", "signature", "error_code", "title", "category", "severity", "severity_rank",
             "failures", "first_seen", "last_seen")


def _upsert(conn: Connection) -> Any:
    if conn.dialect.name != "postgresql":
        return sqlite_insert(g)
    # One statement over arrays: the ON CONFLICT clause carries a parameter (now), which would make an
    # executemany send one statement per group instead of one per batch.
    rows = select(*[func.unnest(cast(bindparam(f"a_{c}"), ARRAY(g.c[c].type))).label(c) for c in _INSERTED])
    return pg_insert(g).from_select(list(_INSERTED), rows)


def _reopen_statement(conn: Connection, *, reopen: bool) -> Any:
    stmt = _upsert(conn)
    ex = stmt.excluded
    now = bindparam("g_now", type_=UTCDateTime())
    later = ex.last_seen >= g.c.last_seen
    regressed = and_(g.c.state == RESOLVED, ex.last_seen > g.c.resolved_at) if reopen else false()
    unignored = and_(g.c.state == IGNORED, or_(
        and_(g.c.ignore_until.is_not(None), ex.last_seen >= g.c.ignore_until),
        and_(g.c.ignore_until_failures.is_not(None), g.c.failures + ex.failures > g.c.ignore_until_failures),
    )) if reopen else false()
    changed = or_(regressed, unignored)
    return stmt.on_conflict_do_update(
        index_elements=[g.c.tenant_id, g.c.signature],
        set_={
            "failures": g.c.failures + ex.failures,
            "first_seen": case((ex.first_seen < g.c.first_seen, ex.first_seen), else_=g.c.first_seen),
            "last_seen": case((later, ex.last_seen), else_=g.c.last_seen),
            "title": case((later, ex.title), else_=g.c.title),
            "error_code": case((later, ex.error_code), else_=g.c.error_code),
            "category": case((later, ex.category), else_=g.c.category),
            "severity": case((later, ex.severity), else_=g.c.severity),
            "severity_rank": case((later, ex.severity_rank), else_=g.c.severity_rank),
            "state": case((changed, UNRESOLVED), else_=g.c.state),
            "regressed": case((regressed, true()), else_=g.c.regressed),
            "regressed_at": case((regressed, now), else_=g.c.regressed_at),
            "resolved_at": case((regressed, None), else_=g.c.resolved_at),
            "ignore_until": case((unignored, None), else_=g.c.ignore_until),
            "ignore_until_failures": case((unignored, None), else_=g.c.ignore_until_failures),
            "state_changed_at": case((changed, now), else_=g.c.state_changed_at),
            "version": g.c.version + case((changed, 1), else_=0),
        },
    ).returning(g.c.id, g.c.tenant_id, g.c.state_changed_at, g.c.regressed_at)


def apply_group_deltas(conn: Connection, deltas: Mapping[GroupKey, GroupDelta], *, now: datetime,
                       title_of: Callable[[str], str], reopen: bool = True) -> list[GroupChange]:
    """Add failures to their groups (creating new ones) and to the daily counts. With `reopen` (ingest), a
    resolved group gets unresolved and flagged regressed when a failure newer than its resolution arrives, and an
    ignored group whose ignore ran out (time or count) gets unresolved; both are recorded in the history."""
    if not deltas:
        return []
    rows = [{
        "id": group_id(tenant, signature), "tenant_id": tenant, "signature": signature, "error_code": d.error_code,
        "title": title_of(d.latest_message)[:MAX_TITLE] or d.error_code, "category": d.category,
        "severity": d.severity, "severity_rank": severity_rank(d.severity), "failures": d.failures,
        "first_seen": d.first_seen, "last_seen": d.last_seen, "state": UNRESOLVED, "regressed": False,
        "version": 1, "g_now": now,
    } for (tenant, signature), d in sorted(deltas.items()) if d.failures > 0]
    changes: list[GroupChange] = []
    if rows:
        params: Any = rows
        if conn.dialect.name == "postgresql":
            params = {f"a_{c}": [r[c] for r in rows] for c in _INSERTED} | {"g_now": now}
        for r in conn.execute(_reopen_statement(conn, reopen=reopen), params):
            if r.state_changed_at is not None and _same_instant(r.state_changed_at, now):
                action = "regressed" if r.regressed_at is not None and _same_instant(r.regressed_at, now) \
                    else "unignored"
                changes.append(GroupChange(r.id, r.tenant_id, action))
    _write_daily(conn, deltas)
    if changes:
        conn.execute(ge.insert(), [{
            "group_id": c.group_id, "tenant_id": c.tenant_id, "at": now, "actor": "failcat", "source": "ingest",
            "action": c.action, "from_value": RESOLVED if c.action == "regressed" else IGNORED,
            "to_value": UNRESOLVED,
            "notes": "a new failure arrived after the group was resolved" if c.action == "regressed"
            else "the ignore ran out",
        } for c in changes])
    return changes


def _same_instant(a: datetime, b: datetime) -> bool:
    # SQLite hands back the stored text's datetime without microsecond loss; compare as aware UTC instants.
    return (a if a.tzinfo else a.replace(tzinfo=UTC)) == b


def _daily_rows(deltas: Mapping[GroupKey, GroupDelta]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {(tenant, day, signature): {"failures": n, "first_seen": lo, "last_seen": hi}
            for (tenant, signature), d in deltas.items() for day, (n, lo, hi) in d.days.items() if n}


def _write_daily(conn: Connection, deltas: Mapping[GroupKey, GroupDelta]) -> None:
    rows = _daily_rows(deltas)
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_DAILY, family_params(GROUPS, rows))
    else:
        write_levels(conn, GROUPS, rows)


def negate(deltas: Mapping[GroupKey, GroupDelta]) -> dict[GroupKey, GroupDelta]:
    """The same failures taken away."""
    return {key: GroupDelta(-d.failures, d.first_seen, d.last_seen, d.error_code, d.latest_message, d.category,
                            d.severity, {day: [-n, lo, hi] for day, (n, lo, hi) in d.days.items()})
            for key, d in deltas.items()}


def remove_from_groups(conn: Connection, deltas: Mapping[GroupKey, GroupDelta]) -> None:
    """Take failures that left their groups (promotion re-matched them under another code); call after their
    UPDATE. Emptied groups and days go; the others get first/last seen again from their raw rows."""
    if not deltas:
        return
    keys = sorted(deltas)
    conn.execute(g.update().where(g.c.tenant_id == bindparam("k_tenant"), g.c.signature == bindparam("k_sig"))
                 .values(failures=g.c.failures - bindparam("k_n")),
                 [{"k_tenant": t, "k_sig": s, "k_n": deltas[(t, s)].failures} for t, s in keys])
    _write_daily(conn, negate(deltas))
    _drop_empty_and_refresh(conn, keys, [(t, day, s) for t, s in keys for day in deltas[(t, s)].days])


def _drop_empty_and_refresh(conn: Connection, keys: list[GroupKey], days: list[tuple[str, datetime, str]]) -> None:
    params = [{"k_tenant": t, "k_sig": s} for t, s in keys]
    in_group = and_(fm.c.tenant_id == bindparam("k_tenant"), fm.c.signature == bindparam("k_sig"))
    empty = list(conn.execute(select(g.c.id).where(g.c.failures <= 0)).scalars())
    if empty:
        conn.execute(delete(ge).where(ge.c.group_id.in_(empty)))
        conn.execute(delete(g).where(g.c.id.in_(empty)))
    is_group = and_(g.c.tenant_id == bindparam("k_tenant"), g.c.signature == bindparam("k_sig"))
    conn.execute(g.update().where(is_group).values(
        first_seen=func.coalesce(select(func.min(fm.c.created_at)).where(in_group).scalar_subquery(), g.c.first_seen),
        last_seen=func.coalesce(select(func.max(fm.c.created_at)).where(in_group).scalar_subquery(), g.c.last_seen),
    ), params)
    if not days:
        return
    day_params = [{"k_tenant": t, "k_bucket": b, "k_sig": s, "k_end": b + SPAN["day"]}
                  for t, b, s in sorted(set(days))]
    key_match = and_(gd.c.tenant_id == bindparam("k_tenant"), gd.c.bucket == bindparam("k_bucket"),
                     gd.c.signature == bindparam("k_sig"))
    conn.execute(delete(gd).where(key_match, gd.c.failures <= 0), day_params)
    raw = and_(fm.c.tenant_id == bindparam("k_tenant"), fm.c.signature == bindparam("k_sig"),
               fm.c.created_at >= bindparam("k_bucket"), fm.c.created_at < bindparam("k_end"))
    conn.execute(gd.update().where(key_match).values(
        first_seen=func.coalesce(select(func.min(fm.c.created_at)).where(raw).scalar_subquery(), gd.c.first_seen),
        last_seen=func.coalesce(select(func.max(fm.c.created_at)).where(raw).scalar_subquery(), gd.c.last_seen),
    ), day_params)


def expire_groups(conn: Connection, cutoff: datetime) -> int:
    """Retention: drop the days before the cutoff's day, rebuild the cutoff's day from the raw rows kept, delete the
    groups whose failures are all gone and give the others their counts and first seen from the days kept.
    Gives the same result before or after the raw rows were deleted; returns the number of groups deleted."""
    first_day = day_floor(cutoff)
    conn.execute(delete(gd).where(gd.c.bucket < first_day))
    if first_day != cutoff:
        kept = conn.execute(
            select(fm.c.tenant_id, fm.c.signature, func.count().label("n"), func.min(fm.c.created_at).label("lo"),
                   func.max(fm.c.created_at).label("hi"))
            .where(fm.c.created_at >= cutoff, fm.c.created_at < first_day + SPAN["day"])
            .group_by(fm.c.tenant_id, fm.c.signature)).all()
        conn.execute(delete(gd).where(gd.c.bucket == first_day))
        upsert_rows(conn, GROUPS.base, [{"tenant_id": r.tenant_id, "bucket": first_day, "signature": r.signature,
                                         "failures": r.n, "first_seen": _dt(r.lo), "last_seen": _dt(r.hi)}
                                        for r in kept])
    gone = select(g.c.id).where(g.c.last_seen < cutoff).scalar_subquery()
    conn.execute(delete(ge).where(ge.c.group_id.in_(gone)))
    deleted = int(conn.execute(delete(g).where(g.c.last_seen < cutoff)).rowcount or 0)
    of_group = and_(gd.c.tenant_id == g.c.tenant_id, gd.c.signature == g.c.signature)
    conn.execute(g.update().where(g.c.first_seen < cutoff).values(
        failures=func.coalesce(select(func.sum(gd.c.failures)).where(of_group).scalar_subquery(), 0),
        first_seen=func.coalesce(select(func.min(gd.c.first_seen)).where(of_group).scalar_subquery(), g.c.first_seen),
    ))
    return deleted


def _dt(value: Any) -> datetime:
    # min()/max() of a timestamp can come back as text on SQLite (stored UTC, no offset).
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value
