"""Cached loaders for Explore and the CSV export of a filter (keyset pages, never one huge query)."""
from __future__ import annotations

import io

import pandas as pd

from core.spreadsheet import formula_safe_frame
from core.vocabulary import recovery_state
from dashboard.cache import cached_loader
from dashboard.db import Database, database
from queries.failures import explore as q
from queries.failures.filters import FailureFilter
from queries.failures.listing import FailurePage, count_failures, list_failures

CSV_MAX_ROWS = 200_000
CSV_COLUMNS = ["id", "created_at", "tenant_id", "run_id", "error_code", "category", "severity", "match_type",
               "confidence", "recovery_mode", "skill_id", "step_index", "recovery_attempted", "recovery_succeeded",
               "recovered_at", "recovered_by", "recovery_notes", "signature", "error_message"]


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


def export_csv(filt: FailureFilter, max_rows: int = CSV_MAX_ROWS) -> str:
    """CSV of the failures the filter selects (newest first, at most max_rows), read in keyset pages."""
    out = io.StringIO()
    cursor, written = None, 0
    with database().connect() as conn:
        while written < max_rows:
            page = list_failures(conn, filt=filt, limit=min(1000, max_rows - written), cursor=cursor)
            frame = formula_safe_frame(page.rows.reindex(columns=CSV_COLUMNS))
            frame.to_csv(out, index=False, header=written == 0)
            written += len(frame)
            cursor = page.next_cursor
            if cursor is None or frame.empty:
                break
    if written == 0:
        pd.DataFrame(columns=CSV_COLUMNS).to_csv(out, index=False)
    return out.getvalue()


def recovery_states(rows: pd.DataFrame) -> pd.Series:
    """Each listed failure's recovery state (unrecovered, failed, recovered)."""
    return pd.Series([recovery_state(bool(a), s if s is None or s == s else None)
                      for a, s in zip(rows["recovery_attempted"], rows["recovery_succeeded"], strict=True)],
                     index=rows.index, dtype=object)
