"""Groups glue: cached loaders (queue, pages, sparklines, one failure's group) and triage actions on the groups a
person selected, by id and the version they saw."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from core.ids import group_id
from core.metrics import get_metrics
from core.security import Principal
from core.timebuckets import hour_floor
from core.types import utcnow
from dashboard.cache import cached_loader, clear_caches
from dashboard.db import Database, database
from dashboard.text import lit
from queries.failures.recovery import count_recovery_changes
from queries.groups.reads import (  # noqa: F401 - GroupFilter is re-exported for the pages
    GroupFilter,
    GroupPage,
    count_groups,
    daily_counts,
    get_group,
    list_groups,
    queue_groups,
)
from queries.groups.triage import (  # noqa: F401 - Triage is re-exported for the pages
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
