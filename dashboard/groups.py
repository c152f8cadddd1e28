"""Groups glue: cached loaders (queue, pages, sparklines, one failure's group) and triage actions on the groups a
person selected, by id and the version they saw; a group's state in words and its notes and history panel."""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from core.ids import group_id
from core.metrics import get_metrics
from core.security import Principal
from core.timebuckets import hour_floor
from core.types import utcnow
from core.vocabulary import IGNORED
from dashboard.cache import cached_loader, clear_caches
from dashboard.db import Database, database
from dashboard.text import lit, plain_text, text_frame
from dashboard.viewer_time import local_text
from queries.failures.recovery import count_recovery_changes
from queries.groups.reads import (  # noqa: F401 - GroupFilter is re-exported for the pages
    GroupFilter,
    GroupPage,
    count_groups,
    daily_counts,
    get_group,
    group_history,
    list_groups,
    queue_groups,
)
from queries.groups.triage import (  # noqa: F401 - Triage is re-exported for the pages
    MAX_NOTES,
    GroupConflict,
    GroupNotFound,
    Triage,
    TriageError,
    open_failure_count,
    update_group,
)

QUEUE_LIMIT = 200
SPARK_DAYS = 14


def now_minute() -> datetime:
    """Now, to the minute: reads are cached per minute (a time argument that changed every call would not be)."""
    return utcnow().replace(second=0, microsecond=0)


def _with_sparklines(db: Database, rows: list[dict[str, Any]], now: datetime) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    keys = list(zip(frame["tenant_id"], frame["signature"], strict=True))
    with db.connect() as conn:
        spark = daily_counts(conn, keys, end=now, days=SPARK_DAYS)
    frame["sparkline"] = [spark[k] for k in keys]
    frame["id"] = frame["id"].astype(str)
    return frame


@cached_loader(ttl=15)
def load_queue(db: Database, filt: GroupFilter, now: datetime, limit: int = QUEUE_LIMIT) -> pd.DataFrame:
    """The on-call queue of groups with 14-day sparklines (see queries.groups.reads.queue_groups)."""
    with db.connect() as conn:
        rows = queue_groups(conn, filt, now=now, limit=limit)
    return _with_sparklines(db, rows, now)


@cached_loader(ttl=15)
def load_count(db: Database, filt: GroupFilter, now: datetime) -> int:
    """How many groups a filter selects."""
    with db.connect() as conn:
        return count_groups(conn, filt, now=now)


@cached_loader(ttl=15)
def load_page(db: Database, filt: GroupFilter, now: datetime, sort: str, cursor: str | None,
              limit: int) -> tuple[pd.DataFrame, str | None]:
    """One page of groups sorted by the database, with sparklines, and the next page's cursor."""
    with db.connect() as conn:
        page: GroupPage = list_groups(conn, filt, now=now, sort=sort, limit=limit, cursor=cursor)
    return _with_sparklines(db, page.rows, now), page.next_cursor


@cached_loader(ttl=10)
def load_group_of(db: Database, tenant_id: str, signature: str) -> dict[str, Any] | None:
    """The group a failure belongs to."""
    with db.connect() as conn:
        return get_group(conn, group_id=group_id(tenant_id, signature), tenant_id=tenant_id, now=now_minute())


@cached_loader(ttl=15)
def load_open_failures(db: Database, keys: tuple[tuple[str, str], ...]) -> int:
    """How many failures of these groups are not recovered (what resolving with recoveries marks)."""
    with db.connect() as conn:
        return sum(open_failure_count(conn, tenant_id=t, signature=s) for t, s in keys)


def failures_query(tenant_id: str, signature: str) -> dict[str, str]:
    """Explore's query parameters for the failure list of one group (its whole retention window)."""
    return {"view": "list", "tenant": tenant_id, "sig": signature, "range": "90d"}


def failures_link(tenant_id: str, signature: str) -> str:
    """The relative link to that list (for link columns)."""
    return "explore?" + urlencode(failures_query(tenant_id, signature))


@dataclass(frozen=True)
class TriageOutcome:
    """What one action did: ok with a sentence, or why nothing changed."""

    ok: bool
    message: str
    changed: int = 0
    recovered: int = 0


def triage(principal: Principal, *, items: Sequence[tuple[str, int]], change: Triage, verb: str) -> TriageOutcome:
    """Apply one triage change to the groups (id, version shown) in one transaction: all or nothing."""
    if not principal.can("recover"):
        return TriageOutcome(False, f"Your role ({principal.role}) does not allow you to triage groups.")
    if not items:
        return TriageOutcome(False, "Select at least one group in the table first.")
    now = utcnow()
    changed = recovered = 0
    try:
        with database().begin() as conn:
            results = [update_group(conn, group_id=uuid.UUID(gid), tenant_id=principal.tenant_id, triage=change,
                                    actor=principal.name, source="dashboard", now=now, expected_version=version)
                       for gid, version in items]
    except GroupConflict as exc:
        clear_caches(load_queue, load_page, load_count)
        who = f" by {lit(exc.group['updated_by'])}" if exc.group.get("updated_by") else ""
        return TriageOutcome(False, (
            f"Nothing was changed: {lit(exc.group['title'], limit=60)} was changed{who} after you loaded it "
            f"(it is now {exc.group['state']}). The list has been reloaded; check it and try again."))
    except GroupNotFound:
        clear_caches(load_queue, load_page, load_count)
        return TriageOutcome(False, "Nothing was changed: a selected group is gone (retention removed it). "
                                    "The list has been reloaded.")
    except TriageError as exc:
        return TriageOutcome(False, f"Nothing was changed: {lit(exc)}.")
    for result in results:
        changed += int(result.changed)
        recovered += sum(c.changed for c in result.recovered)
        count_recovery_changes(get_metrics(), result.recovered)
    clear_caches()  # group and failure pages, rollups and queues may all show what changed
    n = len(items)
    text = f"{verb.capitalize()} {n} group{'s' if n != 1 else ''}"
    if changed < n:
        text += f" ({n - changed} already {'were' if n - changed != 1 else 'was'} so)"
    if recovered:
        text += f"; marked {recovered:,} open failure{'s' if recovered != 1 else ''} recovered"
    return TriageOutcome(True, text + ".", changed, recovered)


def ignore_triage(choice: str, *, failures: int | None = None) -> Triage:
    """The Triage for an ignore choice: for a day, a week, for N more failures, or with no end."""
    now = hour_floor(utcnow()) + timedelta(hours=1)
    if choice == "day":
        return Triage(state="ignored", ignore_until=now + timedelta(days=1))
    if choice == "week":
        return Triage(state="ignored", ignore_until=now + timedelta(days=7))
    if choice == "count":
        return Triage(state="ignored", ignore_failures=failures or 100)
    return Triage(state="ignored")


HISTORY_ROWS = 5
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2})?")


def state_text(group: Mapping[str, Any]) -> str:
    """A group's state as people read it, with an ignore's end: "ignored until 12-08 14:00 CET", "ignored for
    100 more failures", "ignored" (until someone reopens it)."""
    state = str(group["state"])
    if state != IGNORED:
        return state
    ends = []
    until = group.get("ignore_until")
    if until is not None and not pd.isna(until):
        ends.append(f"until {local_text(until, '%m-%d %H:%M')}")
    limit = group.get("ignore_until_failures")
    if limit is not None and not pd.isna(limit):
        left = max(int(limit) - int(group["failures"]), 0)
        ends.append(f"for {left:,} more failure{'' if left == 1 else 's'}")
    return ("ignored " + " or ".join(ends)) if ends else "ignored"


@cached_loader(ttl=10)
def load_group(db: Database, gid: str, tenant_id: str | None) -> dict[str, Any] | None:
    """One group by id within the tenant scope (None when absent or outside it)."""
    with db.connect() as conn:
        return get_group(conn, group_id=uuid.UUID(gid), tenant_id=tenant_id, now=now_minute())


@cached_loader(ttl=10)
def load_group_history(db: Database, gid: str, tenant_id: str, limit: int = HISTORY_ROWS) -> list[dict[str, Any]]:
    """A group's latest changes (group_events rows, oldest first) of that tenant."""
    with db.connect() as conn:
        rows = group_history(conn, group_id=uuid.UUID(gid), limit=limit)
    return [r for r in rows if r["tenant_id"] == tenant_id]


def _local_times(text: str) -> str:
    # Ignore history notes name their end in UTC ISO form; people read times in their own zone.
    return _ISO_TIME.sub(lambda m: local_text(datetime.fromisoformat(m.group()), "%m-%d %H:%M"), text)


def _change_words(row: Mapping[str, Any]) -> str:
    before, after, notes = row["from_value"], row["to_value"], row["notes"]
    if row["action"] == "notes":
        return f"notes: {after}" if after else "notes cleared"
    if row["action"] == "assignee":
        return (f"assigned to {after}" if after else "unassigned") + (f" (was {before})" if before else "")
    if row["action"] == "state" and after == IGNORED and notes:
        return f"{before} → {_local_times(notes)}"
    return f"{before or '—'} → {after or '—'}" + (f" ({notes})" if notes else "")


def history_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A group's changes for a table, newest first: when (viewer's zone), who, what changed, and through what."""
    return pd.DataFrame([{"when": local_text(r["at"], "%m-%d %H:%M"), "who": r["actor"], "what": _change_words(r),
                          "via": r["source"]} for r in reversed(rows)], columns=["when", "who", "what", "via"])


def save_notes(principal: Principal, *, gid: str, version: int, notes: str, seen: str) -> TriageOutcome:
    """Save a group's notes with the version whose notes (`seen`) the person edited; a conflict otherwise."""
    if notes.strip() == seen.strip():
        return TriageOutcome(True, "Nothing to save: the notes are as they were.")
    outcome = triage(principal, items=[(gid, version)], change=Triage(notes=notes), verb="saved the notes of")
    if not outcome.ok:
        clear_caches(load_group, load_group_history, load_group_of)  # show what the group holds now
    return outcome


def group_panel(principal: Principal, group: Mapping[str, Any], *, key: str) -> TriageOutcome | None:
    """Draw a group's notes and latest changes, and a notes editor for those who may triage; a save's outcome."""
    st.markdown("**Notes**")
    if group["notes"]:
        plain_text(group["notes"])
    else:
        st.caption("No notes yet.")
    st.markdown(f"**Latest changes** (up to {HISTORY_ROWS})")
    rows = load_group_history(str(group["id"]), group["tenant_id"])
    if rows:
        st.dataframe(text_frame(history_frame(rows)), hide_index=True, width="stretch", column_config={
            "when": st.column_config.TextColumn("When", width=120), "who": st.column_config.TextColumn("By", width=80),
            "what": st.column_config.TextColumn("What changed", width=260), "via": st.column_config.TextColumn("Via")})
    else:
        st.caption("Nobody has changed this group yet.")
    return _notes_editor(principal, group, key=key) if principal.can("recover") else None


def _notes_editor(principal: Principal, group: Mapping[str, Any], *, key: str) -> TriageOutcome | None:
    gid, version, notes = str(group["id"]), int(group["version"]), group["notes"] or ""
    text_key, base_key, after_key = f"{key}_notes_{gid}", f"{key}_notes_base_{gid}", f"{key}_notes_after_{gid}"
    base: tuple[int, str] | None = st.session_state.get(base_key)
    draft = st.session_state.get(text_key)
    after = st.session_state.pop(after_key, None)
    if base is None or draft is None or after == "saved" or (base[0] != version and draft == base[1]):
        # Start from what the group holds now: when first shown, after a save, or when someone else changed the
        # group while this person had typed nothing.
        st.session_state[text_key], base = notes, (version, notes)
    elif after == "failed":
        base = (version, notes)  # the draft stays; the person has seen the notes now shown above it
    st.session_state[base_key] = base
    st.text_area("Edit notes", key=text_key, max_chars=MAX_NOTES, height=110,
                 placeholder="What is known, what was tried, whom to ask")
    if not st.button("Save notes", key=f"{key}_save_{gid}", icon=":material/save:"):
        return None
    outcome = save_notes(principal, gid=gid, version=base[0], notes=st.session_state[text_key], seen=base[1])
    st.session_state[after_key] = "saved" if outcome.ok else "failed"
    return outcome
