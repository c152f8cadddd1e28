"""The failure event format (design.md section 5) and its validation with field-level errors."""
from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from core.settings import get_settings
from core.types import utcnow
from core.vocabulary import MAX_TENANT_ID, TENANT_ID_PATTERN

MAX_MESSAGE = 8000
MAX_CONTEXT_BYTES = 16_384
# How far ahead of this server's clock an event may be (clients' clocks drift a little).
MAX_FUTURE = timedelta(minutes=10)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CONTEXT_DEPTH = 32
_HAS_TIME = re.compile(r"[Tt ]\d{2}:\d{2}")
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def occurred_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The [earliest, latest] occurred_at an event may carry: within RETENTION_DAYS, at most 10 minutes ahead."""
    now = now or utcnow()
    return now - timedelta(days=get_settings().retention_days), now + MAX_FUTURE


class FailureEvent(BaseModel):
    """One failure event as sent by a runtime (JSON object / JSONL line)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: uuid.UUID | None = Field(default=None, description="Optional idempotency key; re-sending it stores nothing new")
    tenant_id: str = Field(min_length=1, max_length=MAX_TENANT_ID, pattern=TENANT_ID_PATTERN)
    run_id: str = Field(min_length=1, max_length=128)
    error_message: str = Field(min_length=1)
    error_code: str | None = Field(default=None, max_length=128)
    skill_id: str | None = Field(default=None, max_length=128)
    step_index: int | None = Field(default=None, ge=0, le=1_000_000)
    context: dict[str, Any] | None = None
    occurred_at: datetime | None = None

    @field_validator("error_message")
    @classmethod
    def _cap_message(cls, value: str) -> str:
        # Oversized messages are kept (truncated) rather than refused: the failure still matters.
        return value[:MAX_MESSAGE]

    @field_validator("context")
    @classmethod
    def _small_context(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        problem = context_problem(value)
        if problem:
            raise ValueError(f"context {problem}")
        if len(json.dumps(value, default=str)) > MAX_CONTEXT_BYTES:
            raise ValueError(f"context is larger than {MAX_CONTEXT_BYTES} bytes")
        return value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        # pydantic would read 123 or "123.5" as Unix time; the format is ISO 8601 text.
        if isinstance(value, (bool, int, float)) or (isinstance(value, str) and _NUMBER.match(value)):
            raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
        if isinstance(value, str) and not _HAS_TIME.search(value):  # a bare date would become midnight UTC
            raise ValueError("expected a date and a time such as 2026-01-31T12:00:00Z, not a date alone")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _within_window(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # ISO strings without offset are read as UTC
        try:
            value = value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:  # 0001-01-01T00:30:00+01:00 is before year 1 in UTC
            raise ValueError("occurred_at is out of range") from exc
        earliest, latest = occurred_window()
        if value > latest:
            raise ValueError(f"occurred_at is more than {int(MAX_FUTURE.total_seconds() // 60)} minutes in the future")
        # A replayed event was inside the window when it was spooled; only the hard floor applies then.
        floor = EPOCH if (info.context or {}).get("replay") else earliest
        if value < floor:
            days = get_settings().retention_days
            raise ValueError(f"occurred_at is older than the retention period ({days} days)"
                             if floor is earliest else "occurred_at is before 1970")
        return value


def _depth(value: Any) -> int:
    """How many arrays and objects deep a JSON value goes (walked without recursion: a hostile payload
    is as deep as the JSON parser lets it be)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_CONTEXT_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def context_problem(value: Any) -> str | None:
    """Why a context cannot be stored (nested deeper than MAX_CONTEXT_DEPTH, NaN or infinite numbers), or None."""
    # One walk for both checks, without recursion; depth wins over a number found earlier in the walk.
    not_finite = False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, float) and not math.isfinite(item):
                not_finite = True
            continue
        if depth > MAX_CONTEXT_DEPTH:
            return f"nested deeper than {MAX_CONTEXT_DEPTH} levels"
        stack.extend((child, depth + 1) for child in children)
    if not_finite:
        return "holds a number that is not finite (NaN or Infinity); JSON has no such number"
    return None


def storable_problem(value: str) -> str | None:
    """Why a string cannot be stored as text (NUL character, lone surrogate), or None when it can."""
    # PostgreSQL text and JSONB cannot hold NUL, and UTF-8 cannot encode lone surrogates.
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def unstorable_reason(value: Any) -> str | None:
    """The first reason a string anywhere in a JSON value cannot be stored, or None."""
    if isinstance(value, str):
        return storable_problem(value)
    if isinstance(value, dict):
        for k, v in value.items():
            problem = unstorable_reason(k) or unstorable_reason(v)
            if problem:
                return problem
    if isinstance(value, list):
        for v in value:
            problem = unstorable_reason(v)
            if problem:
                return problem
    return None


def _surely_storable(raw: dict[str, Any]) -> bool:
    """Fast path for the common event: one encoding of the whole event instead of a walk over every string.
    False only means "look closer" (a NUL escape or a lone surrogate may be present)."""
    try:
        blob = json.dumps(raw, ensure_ascii=False, default=str)
        blob.encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError):
        return False
    return "\\u0000" not in blob


@dataclass(frozen=True)
class EventError:
    """Why one event was refused: position (line number or batch index), field and reason."""

    position: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.position}: {self.field}: {self.reason}"


def validate_event(raw: Any, position: int) -> FailureEvent | list[EventError]:
    """Return a FailureEvent, or the list of field errors that refuse it."""
    if not isinstance(raw, dict):
        return [EventError(position, "(event)", f"expected a JSON object, got {type(raw).__name__}")]
    # Before any recursive walk: a value nested a thousand levels deep would exhaust the stack.
    deep = [EventError(position, str(key)[:64], f"nested deeper than {MAX_CONTEXT_DEPTH} levels")
            for key, value in raw.items() if isinstance(value, (dict, list)) and _depth(value) > MAX_CONTEXT_DEPTH]
    if deep:
        return deep
    # Checked here, not by the database, so one bad event is refused alone instead of failing its batch.
    unstorable = [] if _surely_storable(raw) else [
        EventError(position, str(key), problem)
        for key, value in raw.items()
        if (problem := unstorable_reason(key) or unstorable_reason(value))
    ]
    if unstorable:
        return unstorable
    try:
        return FailureEvent.model_validate(raw)
    except ValidationError as exc:
        return [
            EventError(position, ".".join(str(p) for p in err["loc"]) or "(event)", err["msg"])
            for err in exc.errors(include_url=False)
        ]


def parse_jsonl_line(line: str, position: int) -> FailureEvent | list[EventError] | None:
    """Parse and validate one JSONL line; None for a blank line."""
    if not line.strip():
        return None
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        return [EventError(position, "(json)", f"not valid JSON: {exc.msg} at column {exc.colno}")]
    except RecursionError:
        return [EventError(position, "(json)", "not valid JSON: nested too deeply")]
    return validate_event(raw, position)


def reject_reason(error: EventError) -> str:
    """The metric label for a refused event: the event field at fault, never a name the client made up."""
    top = error.field.split(".")[0]
    return top if top in FailureEvent.model_fields or top in ("(event)", "(json)") else "unknown_field"
