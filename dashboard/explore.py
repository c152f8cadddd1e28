"""Cached loaders for Explore, the group filter its Groups and New views derive from the failure filter, and the
CSV exports of failures and of groups (keyset pages, never one huge query)."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

import pandas as pd
from sqlalchemy.engine import Connection

from core.spreadsheet import formula_safe_frame
from core.vocabulary import recovery_state
from dashboard.cache import cached_loader
from dashboard.db import Database, database
from queries.failures import explore as q
from queries.failures.filters import FailureFilter
from queries.failures.listing import FailurePage, count_failures, list_failures
from queries.groups.reads import MAX_LIMIT as GROUP_PAGE_MAX
from queries.groups.reads import GroupFilter, list_groups

CSV_MAX_ROWS = 200_000
CSV_COLUMNS = ["id", "created_at", "tenant_id", "run_id", "error_code", "category", "severity", "match_type",
               "confidence", "recovery_mode", "skill_id", "step_index", "recovery_attempted", "recovery_succeeded",
               "recovered_at", "recovered_by", "recovery_notes", "signature", "error_message"]
GROUPS_CSV_MAX_ROWS = 5_000
GROUPS_CSV_COLUMNS = ["id", "tenant_id", "signature", "error_code", "title", "category", "severity", "failures",
                      "first_seen", "last_seen", "state", "regressed", "assignee"]


@cached_loader()
def load_options(db: Database, tenant_id: str | None) -> dict[str, list[str]]:
    """Codes, categories and recovery modes seen in the tenant scope."""
    with db.connect() as conn:
        return q.get_filter_options(conn, tenant_id=tenant_id)


@cached_loader()
def load_grouped(db: Database, filt: FailureFilter, by: str, limit: int = 100) -> tuple[pd.DataFrame, int]:
    """Grouped view rows and the number of failures selected (see queries.failures.explore.get_grouped_view)."""
    with db.connect() as conn:
        return q.get_grouped_view(conn, filt=filt, by=by, limit=limit)


@cached_loader()
def load_count(db: Database, filt: FailureFilter) -> int:
    """Number of failures the filter selects."""
    with db.connect() as conn:
        return count_failures(conn, filt=filt)


@cached_loader()
def load_page(db: Database, filt: FailureFilter, cursor: str | None, limit: int) -> FailurePage:
    """One keyset page of failures, newest first."""
    with db.connect() as conn:
        return list_failures(conn, filt=filt, limit=limit, cursor=cursor)


def _paged_csv(read_page: Callable[[Connection, int, str | None], tuple[pd.DataFrame, str | None]],
               columns: list[str], max_rows: int) -> str:
    """CSV of the pages `read_page(conn, limit, cursor)` returns until max_rows or the end, spreadsheet-safe."""
    out = io.StringIO()
    cursor: str | None = None
    written = 0
    with database().connect() as conn:
        while written < max_rows:
            rows, cursor = read_page(conn, max_rows - written, cursor)
            frame = formula_safe_frame(rows.reindex(columns=columns))
            frame.to_csv(out, index=False, header=written == 0)
            written += len(frame)
            if cursor is None or frame.empty:
                break
    if not out.getvalue():  # only when no page was read: an empty first page has written the header
        pd.DataFrame(columns=columns).to_csv(out, index=False)
    return out.getvalue()


def export_csv(filt: FailureFilter, max_rows: int = CSV_MAX_ROWS) -> str:
    """CSV of the failures the filter selects (newest first, at most max_rows), read in keyset pages."""
    def read(conn: Connection, left: int, cursor: str | None) -> tuple[pd.DataFrame, str | None]:
        page = list_failures(conn, filt=filt, limit=min(1000, left), cursor=cursor)
        return page.rows, page.next_cursor

    return _paged_csv(read, CSV_COLUMNS, max_rows)


def group_filter(filt: FailureFilter, *, kind: str, state: str) -> GroupFilter:
    """The groups a failure filter selects: "groups" have a failure in the range, "new" their first ever there.

    Only what describes a whole group carries over (tenant, codes, category, severity, signature, text in the
    title or code); failure_only_filters names the rest, which the page reports as not applied.
    """
    return GroupFilter(
        tenant_id=filt.tenant_id, state=state, error_codes=filt.error_codes, categories=filt.categories,
        severities=filt.severities, signature=filt.signature, text=filt.q,
        # A group first seen after the range ends has no failure in it; lifetime first/last seen is all a group
        # row holds, so "groups" are those whose lifetime overlaps the range.
        last_seen_from=filt.start if kind == "groups" else None,
        first_seen_from=filt.start if kind == "new" else None, first_seen_to=filt.end,
    )


def failure_only_filters(filt: FailureFilter) -> list[str]:
    """The active filters that describe single failures and so cannot select groups (their labels)."""
    active = {"Catalog match": filt.matched is not None, "Recovery status": filt.status != "all",
              "Recovery mode": bool(filt.recovery_modes), "Skill": bool(filt.skill_id), "Run id": bool(filt.run_id)}
    return [label for label, on in active.items() if on]


def export_groups_csv(gfilt: GroupFilter, *, sort: str, now: datetime, max_rows: int = GROUPS_CSV_MAX_ROWS) -> str:
    """CSV of the groups the filter selects in the page's sort (at most max_rows), spreadsheet-safe cells."""
    def read(conn: Connection, left: int, cursor: str | None) -> tuple[pd.DataFrame, str | None]:
        page = list_groups(conn, gfilt, now=now, sort=sort, limit=min(GROUP_PAGE_MAX, left), cursor=cursor)
        return pd.DataFrame(page.rows), page.next_cursor

    return _paged_csv(read, GROUPS_CSV_COLUMNS, max_rows)


def recovery_states(rows: pd.DataFrame) -> pd.Series:
    """Each listed failure's recovery state (unrecovered, failed, recovered)."""
    return pd.Series([recovery_state(bool(a), s if s is None or s == s else None)
                      for a, s in zip(rows["recovery_attempted"], rows["recovery_succeeded"], strict=True)],
                     index=rows.index, dtype=object)
