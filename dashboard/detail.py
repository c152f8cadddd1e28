"""Cached loader for the Failure detail page: the failure, its catalog entry, history and relatives."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from core.vocabulary import recovery_state
from dashboard.cache import cached_loader
from dashboard.db import Database
from dashboard.viewer_time import local_text
from queries.failures import detail as q
from queries.failures.listing import get_failure, get_recovery_history


@dataclass(frozen=True)
class FailureDetail:
    """One failure with everything its page shows."""

    failure: dict[str, Any]
    entry: dict[str, Any] | None
    history: pd.DataFrame
    same_run: pd.DataFrame
    same_signature: pd.DataFrame
    signature_count: int


# What a person reads about a failure, in reading order. The message, context and suggestion have their own
# places on the page; bookkeeping columns (severity_rank, version, the entry's row id) are not shown.
FIELDS = {
    "error_code": "Code", "category": "Category", "severity": "Severity", "recovery_mode": "Recovery mode",
    "is_retryable": "Retryable", "tenant_id": "Tenant", "run_id": "Run", "skill_id": "Skill", "step_index": "Step",
    "created_at": "Occurred", "recovery_state": "Recovery state", "recovered_at": "Last recovery attempt",
    "recovered_by": "Last attempt by", "recovery_notes": "Recovery notes", "match_type": "Matched by",
    "confidence": "Match confidence", "match_reason": "Match reason", "signature": "Signature (its group)",
    "updated_at": "Last changed", "id": "Failure id",
}


def failure_fields(failure: Mapping[str, Any]) -> pd.DataFrame:
    """The Fields table of the detail page: field (a label) and value (text), times in the viewer's zone."""
    shown = {**failure, "recovery_state": recovery_state(bool(failure["recovery_attempted"]),
                                                         failure["recovery_succeeded"])}
    values = []
    for column in FIELDS:
        value = shown.get(column)
        if isinstance(value, datetime):
            values.append(local_text(value, "%Y-%m-%d %H:%M:%S"))
        elif isinstance(value, bool):
            values.append("yes" if value else "no")
        elif column == "confidence" and value is not None:
            values.append(f"{float(value):.2f}")
        else:
            values.append("" if value is None else str(value))
    return pd.DataFrame({"field": list(FIELDS.values()), "value": values})


_HOW = {"code": "by its own code", "pattern": "by a catalog pattern", "signal": "by the signals it carries",
        "keyword": "by keywords"}
_MISS_PREFIX = "no catalog entry: "


def why_matched(match_type: str, reason: str, *, matched: bool) -> str:
    """One sentence for the detail page: how the failure got its entry, or what the matcher read when none fit."""
    if not matched:
        looked = reason[len(_MISS_PREFIX):] if reason.startswith(_MISS_PREFIX) else reason
        return f"No catalog entry matched. The matcher {looked}."
    return f"Matched {_HOW.get(match_type, match_type)}: {reason}."


@cached_loader(ttl=10)
def load_failure_detail(db: Database, failure_id: str, tenant_id: str | None) -> FailureDetail | None:
    """None when the failure does not exist or is outside the scope; ValueError for a malformed id."""
    with db.connect() as conn:
        failure = get_failure(conn, failure_id=failure_id, tenant_id=tenant_id)
        if failure is None:
            return None
        tenant = failure["tenant_id"]
        return FailureDetail(
            failure=failure,
            entry=q.get_catalog_entry(conn, entry_id=failure["catalog_entry_id"]),
            history=get_recovery_history(conn, failure_id=failure_id, tenant_id=tenant),
            same_run=q.get_same_run(conn, tenant_id=tenant, run_id=failure["run_id"], exclude_id=failure["id"]),
            same_signature=q.get_same_signature(conn, tenant_id=tenant, signature=failure["signature"],
                                                exclude_id=failure["id"]),
            signature_count=q.count_same_signature(conn, tenant_id=tenant, signature=failure["signature"]),
        )
