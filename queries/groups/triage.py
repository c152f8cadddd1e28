"""Triage of a group: state, assignee, notes and ignores, with a history row per change; resolving can also
mark the group's open failures recovered, in the same transaction.

Conflicts work as for recoveries: a stale expected version is a conflict, unless the group already has exactly
what was asked (a retried request, or two people doing the same thing).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.schema import failure_groups as g
from core.schema import failure_matches as fm
from core.schema import group_events as ge
from core.schema import users
from core.security import PERMISSIONS
from core.vocabulary import GROUP_STATES, IGNORED, RESOLVED, UNRESOLVED
from queries.failures.recovery import RecoveryChange, mark_recoveries
from queries.groups.reads import get_group

MAX_NOTES = 4000
MAX_RECOVER = 50_000  # open failures a resolve may mark in one transaction
MAX_IGNORE = timedelta(days=365)  # an ignore_until further off is a forgotten group, not a decision
TRIAGE_ROLES = tuple(role for role, allowed in PERMISSIONS.items() if "recover" in allowed)


class GroupNotFound(LookupError):
    """No such group in the caller's scope."""


class TriageError(ValueError):
    """A triage request is invalid (state, assignee, ignore); the message says why."""


class GroupConflict(RuntimeError):
    """The group changed after the caller read it (version mismatch), by anyone, the caller included."""

    def __init__(self, group: dict[str, Any], expected: int, *, by: str | None = None,
                 at: datetime | None = None) -> None:
        last = f", last changed by {by}" if by else ""
        last += f" at {at.isoformat()}" if at is not None else ""
        super().__init__(f"the group changed since you read it (now version {group['version']} instead of "
                         f"{expected}, {group['state']}{last}); reload and try again")
        self.group, self.expected = group, expected


UNSET: Any = object()


@dataclass(frozen=True)
class Triage:
    """What to change; UNSET leaves a field as it is. ignore_failures: stay ignored for N more failures."""

    state: str = UNSET
    assignee: str | None = UNSET
    notes: str | None = UNSET
    ignore_until: datetime | None = UNSET
    ignore_failures: int | None = None
    recover_failures: bool = False  # with state=resolved: mark the group's open failures recovered too


@dataclass
class TriageResult:
    """The group after the change, whether anything changed, and the recoveries it marked."""

    group: dict[str, Any]
    changed: bool
    recovered: list[RecoveryChange] = field(default_factory=list)


def assignable(conn: Connection, name: str, tenant_id: str) -> bool:
    """True when `name` is an enabled account whose role may triage and that can see the tenant."""
    row = conn.execute(select(users.c.tenant_id, users.c.disabled, users.c.role).where(users.c.name == name)).first()
    return (row is not None and not row.disabled and row.role in TRIAGE_ROLES
            and row.tenant_id in (None, tenant_id))


def _locked(conn: Connection, group_id: uuid.UUID, tenant_id: str | None) -> Any:
    query = select(g).where(g.c.id == group_id)
    if tenant_id is not None:
        query = query.where(g.c.tenant_id == tenant_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def _wanted(conn: Connection, row: Any, t: Triage, now: datetime) -> dict[str, Any]:
    """The columns the request sets, from the current row."""
    out: dict[str, Any] = {}
    if t.state is not UNSET:
        if t.state not in GROUP_STATES:
            raise TriageError(f"state must be one of {', '.join(GROUP_STATES)}")
        out["state"] = t.state
        if t.state == RESOLVED:
            out.update(resolved_at=row["resolved_at"] if row["state"] == RESOLVED else now, regressed=False,
                       ignore_until=None, ignore_until_failures=None)
        elif t.state == UNRESOLVED:
            out.update(resolved_at=None, regressed=False, ignore_until=None, ignore_until_failures=None)
        else:
            until = None if t.ignore_until is UNSET else t.ignore_until
            _check_ignore(until, t.ignore_failures, now)
            # Ignoring acknowledges a regression, as resolving and reopening do; regressed_at keeps when it was.
            out.update(resolved_at=None, regressed=False, ignore_until=until,
                       ignore_until_failures=row["failures"] + t.ignore_failures if t.ignore_failures else None)
    elif t.ignore_until is not UNSET or t.ignore_failures is not None:
        raise TriageError("ignore_until and ignore_count go with state=ignored")
    if t.recover_failures and t.state != RESOLVED:
        raise TriageError("recover_failures goes with state=resolved")
    if t.assignee is not UNSET:
        assignee = (t.assignee or "").strip() or None
        # One answer for unknown, disabled, out-of-tenant and viewer accounts: no way to probe which names exist.
        if assignee is not None and not assignable(conn, assignee, row["tenant_id"]):
            raise TriageError(f"no account named {assignee!r} can triage this group")
        out["assignee"] = assignee
    if t.notes is not UNSET:
        notes = (t.notes or "").strip() or None
        if notes is not None and len(notes) > MAX_NOTES:
            raise TriageError(f"notes are longer than {MAX_NOTES} characters")
        out["notes"] = notes
    return out


def _check_ignore(until: datetime | None, failures: int | None, now: datetime) -> None:
    if until is not None:
        if until.tzinfo is None:
            raise TriageError("ignore_until needs a time zone")
        if until <= now:
            raise TriageError("ignore_until must be in the future")
        if until > now + MAX_IGNORE:
            raise TriageError(f"ignore_until must be at most {MAX_IGNORE.days} days ahead")
    if failures is not None and failures < 1:
        raise TriageError("ignore_count must be at least 1")


def _last_change(conn: Connection, group: dict[str, Any]) -> tuple[str | None, datetime | None]:
    """Who changed the group last and when: a person's change, or ingest's reopening (history only)."""
    event = conn.execute(select(ge.c.actor, ge.c.at).where(ge.c.group_id == group["id"])
                         .order_by(ge.c.at.desc(), ge.c.id.desc()).limit(1)).first()
    if event is not None and (group["updated_at"] is None or event.at > group["updated_at"]):
        return event.actor, event.at
    return group["updated_by"], group["updated_at"]


def update_group(conn: Connection, *, group_id: uuid.UUID, tenant_id: str | None, triage: Triage,
                 actor: str, source: str, now: datetime, expected_version: int | None = None) -> TriageResult:
    """Apply a triage request in the caller's transaction; GroupNotFound, TriageError or GroupConflict."""
    row = _locked(conn, group_id, tenant_id)
    if row is None:
        raise GroupNotFound(f"group {group_id} not found")
    wanted = _wanted(conn, row, triage, now)
    effective = UNRESOLVED if (row["state"] == IGNORED and row["ignore_until"] is not None
                               and row["ignore_until"] <= now) else row["state"]
    current = {**row, "state": effective}
    diff = {k: v for k, v in wanted.items() if current[k] != v}
    if expected_version is not None and expected_version != row["version"] and diff:
        latest = get_group(conn, group_id=group_id, tenant_id=None, now=now) or dict(row)
        by, at = _last_change(conn, latest)
        raise GroupConflict(latest, expected_version, by=by, at=at)
    recovered: list[RecoveryChange] = []
    if diff:
        conn.execute(g.update().where(g.c.id == group_id).values(
            **diff, version=row["version"] + 1, updated_at=now, updated_by=actor,
            **({"state_changed_at": now} if "state" in diff else {})))
        history = [{"group_id": group_id, "tenant_id": row["tenant_id"], "at": now, "actor": actor,
                    "source": source, "action": name, "from_value": _text(current[name]),
                    "to_value": _text(diff[name]), "notes": None}
                   for name in ("state", "assignee", "notes") if name in diff]
        if "state" in diff and diff["state"] == IGNORED:
            history[0]["notes"] = _ignore_words(wanted)
        if history:
            conn.execute(ge.insert(), history)
    if triage.recover_failures and wanted.get("state") == RESOLVED:
        recovered = recover_open_failures(conn, row=row, actor=actor, source=source)
    group = get_group(conn, group_id=group_id, tenant_id=None, now=now)
    assert group is not None
    return TriageResult(group, bool(diff) or any(c.changed for c in recovered), recovered)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _ignore_words(wanted: dict[str, Any]) -> str:
    parts = []
    if wanted.get("ignore_until") is not None:
        parts.append(f"until {wanted['ignore_until'].isoformat()}")
    if wanted.get("ignore_until_failures") is not None:
        parts.append(f"while it has at most {wanted['ignore_until_failures']} failures")
    return "ignored " + (" or ".join(parts) if parts else "with no end")


def open_failure_count(conn: Connection, *, tenant_id: str, signature: str) -> int:
    """How many of a group's failures are not recovered (what resolving with recoveries would mark)."""
    return int(conn.execute(select(func.count()).select_from(fm).where(
        fm.c.tenant_id == tenant_id, fm.c.signature == signature, fm.c.recovery_succeeded.is_not(True))).scalar_one())


def recover_open_failures(conn: Connection, *, row: Any, actor: str, source: str) -> list[RecoveryChange]:
    """Mark every open failure of the group recovered (at most MAX_RECOVER, newest first)."""
    ids = list(conn.execute(select(fm.c.id).where(
        fm.c.tenant_id == row["tenant_id"], fm.c.signature == row["signature"], fm.c.recovery_succeeded.is_not(True))
        .order_by(fm.c.created_at.desc()).limit(MAX_RECOVER)).scalars())
    if not ids:
        return []
    return mark_recoveries(conn, items=[(i, None) for i in ids], succeeded=True, recovered_by=actor,
                           notes=f"resolved with its group: {row['title'][:200]}", tenant_id=row["tenant_id"],
                           source=source)
