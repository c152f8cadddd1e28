"""Request and response models of the REST API (they are the OpenAPI schema)."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from loaders.ingest.events import FailureEvent, storable_problem
from queries.groups.triage import MAX_IGNORE


def _no_nul(value: str | None) -> str | None:
    problem = storable_problem(value) if value is not None else None
    if problem:
        raise ValueError(problem)
    return value


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_HAS_TIME = re.compile(r"[Tt ]\d{2}:\d{2}")


def _iso_text(value: Any) -> Any:
    # pydantic would read 123 or "123.5" as Unix time and a bare date as midnight; the API takes ISO 8601 text,
    # as occurred_at does.
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    if isinstance(value, str) and not _HAS_TIME.search(value):
        raise ValueError("expected a date and a time such as 2026-01-31T12:00:00Z, not a date alone")
    return value


def _utc(value: datetime | None) -> datetime | None:
    # Naive values are read as UTC, as since/until and occurred_at are.
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:  # 9999-12-31T23:59:59-05:00 is after year 9999 in UTC
        raise ValueError("out of range") from exc


def _one_line_name(value: str | None) -> str | None:
    # A name is shown in tables and logs: printable characters only, and something left after trimming.
    if value is None:
        return None
    value = value.strip()
    if not value or not value.isprintable():
        raise ValueError("expected a name of printable characters (no control characters)")
    return value


class ErrorOut(BaseModel):
    """Every error answer: a JSON object with a human-readable detail."""

    detail: Any


class FailureOut(BaseModel):
    """One stored failure."""

    id: str
    group_id: str = Field(description="The failure's group (GET /api/v1/groups/{group_id})")
    run_id: str
    tenant_id: str
    error_code: str
    error_message: str
    signature: str
    catalog_entry_id: int | None
    match_type: str = Field(description="How it matched: code, pattern, signal, keyword or none")
    confidence: float
    match_reason: str | None = Field(default=None, description="Why it matched (the rule and the signal it read, "
                                     "the pattern or the keywords); for a miss, what the matcher looked at")
    category: str | None
    severity: str | None
    severity_rank: int
    recovery_mode: str | None
    recovery_suggestion: str | None
    skill_id: str | None
    step_index: int | None
    is_retryable: bool
    recovery_attempted: bool
    recovery_succeeded: bool | None
    recovery_status: Literal["unrecovered", "failed", "recovered"]
    recovered_at: datetime | None
    recovered_by: str | None
    recovery_notes: str | None
    context: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    version: int


class RecoveryEventOut(BaseModel):
    """One row of a failure's recovery history."""

    id: int
    from_state: str
    to_state: str
    actor: str
    notes: str | None
    source: str
    at: datetime


class FailureDetailOut(FailureOut):
    """One failure with its recovery history (oldest first)."""

    history: list[RecoveryEventOut]


class FailureListOut(BaseModel):
    """A page of failures, newest first; pass next_cursor as `cursor` for the next page."""

    failures: list[FailureOut]
    total: int
    limit: int
    next_cursor: str | None


class UnrecoveredOut(BaseModel):
    """Failures not yet recovered, most severe first, then newest."""

    failures: list[FailureOut]
    count: int
    limit: int
    since: datetime
    until: datetime


class CodeCount(BaseModel):
    error_code: str
    count: int


class CategoryCount(BaseModel):
    category: str
    count: int


class ModeRecovery(BaseModel):
    recovery_mode: str
    attempts: int
    successes: int


class TimeRange(BaseModel):
    start: datetime
    end: datetime


class StatsOut(BaseModel):
    """Aggregates for a time range; rates are 0..1 and 0.0 when there is nothing to divide."""

    tenant_id: str | None
    total_failures: int
    matched_failures: int
    unmatched_failures: int
    hit_rate: float
    recovery_attempts: int
    recovery_successes: int
    recovery_success_rate: float
    top_error_codes: list[CodeCount]
    top_categories: list[CategoryCount]
    by_severity: dict[str, int]
    by_recovery_mode: dict[str, int]
    recovery_by_mode: list[ModeRecovery]
    time_range: TimeRange


class RecoveryIn(BaseModel):
    """Mark a failure's recovery as succeeded or failed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    recovery_succeeded: StrictBool
    recovered_by: str | None = Field(
        default=None, min_length=1, max_length=128,
        description="Who recovered it; defaults to the token's name",
    )
    notes: str | None = Field(default=None, max_length=4000)

    _nul = field_validator("recovered_by", "notes")(_no_nul)
    _name = field_validator("recovered_by")(_one_line_name)


class RecoveryOut(FailureOut):
    """The failure after the change; `changed` is false when the same mark was sent again."""

    changed: bool


class IngestItemOut(BaseModel):
    """What happened to one event of a POST (index counts from 0)."""

    index: int
    status: Literal["stored", "spooled", "rejected"]
    id: str | None = None
    errors: list[str] = []


class IngestOut(BaseModel):
    """Result of a POST of events; stored includes re-sent ids (duplicates stores nothing twice)."""

    received: int
    inserted: int
    duplicates: int
    matched: int
    unmatched: int
    rejected: int
    spooled: int
    results: list[IngestItemOut]


class EventBatchIn(BaseModel):
    """A batch of events."""

    events: list[FailureEvent]


class FlagOut(BaseModel):
    """One feature flag."""

    name: str
    enabled: bool
    updated_by: str | None
    updated_at: datetime


class FlagListOut(BaseModel):
    features: list[FlagOut]


class FlagIn(BaseModel):
    """Turn a flag on or off."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    database: str


class GroupOut(BaseModel):
    """A group: every failure of one tenant with the same fingerprint (signature), and its triage state."""

    id: str
    tenant_id: str
    fingerprint: str = Field(description="The signature its failures share")
    error_code: str
    title: str = Field(description="The latest failure's message with ids, numbers and hosts as placeholders")
    category: str | None
    severity: str | None
    state: Literal["unresolved", "resolved", "ignored"]
    assignee: str | None
    notes: str | None
    first_seen: datetime
    last_seen: datetime
    count: int
    regressed: bool = Field(description="Reopened by a failure after it was resolved")
    ignore_until: datetime | None
    ignore_until_count: int | None = Field(description="Ignored while count stays at or below this")
    resolved_at: datetime | None
    updated_at: datetime | None
    updated_by: str | None
    version: int


class GroupListOut(BaseModel):
    """A page of groups, the sort's largest first; pass next_cursor as `cursor` for the next page."""

    groups: list[GroupOut]
    total: int
    next_cursor: str | None


class GroupEventOut(BaseModel):
    """One change of a group."""

    at: datetime
    actor: str
    source: str
    action: str
    from_value: str | None
    to_value: str | None
    notes: str | None


class GroupDetailOut(GroupOut):
    """A group with its history and its failures per UTC day over the last 14 days (oldest first)."""

    history: list[GroupEventOut]
    daily: list[int]
    open_failures: int = Field(description="Failures not recovered (what resolving with recover_failures marks)")


class GroupPatchIn(BaseModel):
    """Change a group; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    state: Literal["unresolved", "resolved", "ignored"] | None = None
    assignee: str | None = Field(default=None, max_length=128,
                                 description='A user name who may triage; null or "" unassigns; "me" is the caller '
                                             '(a user, not an API token)')
    notes: str | None = Field(default=None, max_length=4000)
    ignore_until: datetime | None = Field(
        default=None, description="With state=ignored: ignored until then (ISO 8601, naive = UTC; in the future, "
                                  f"at most {MAX_IGNORE.days} days ahead)")
    ignore_count: StrictInt | None = Field(default=None, ge=1, le=1_000_000,
                                           description="With state=ignored: ignored for this many more failures")
    recover_failures: StrictBool = Field(default=False,
                                         description="With state=resolved: mark its open failures recovered too")

    _nul = field_validator("assignee", "notes")(_no_nul)
    _iso = field_validator("ignore_until", mode="before")(_iso_text)
    _aware = field_validator("ignore_until")(_utc)


class GroupPatchOut(GroupOut):
    """The group after the change; `changed` is false when it already was so; `recovered` failures marked."""

    changed: bool
    recovered: int
