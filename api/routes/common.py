"""Helpers shared by the routes: time windows, failure rows as JSON, documented error answers."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, status

from api.schemas import ErrorOut
from core.ids import FailureIdError, group_id, parse_failure_id
from core.types import utcnow
from core.vocabulary import recovery_state

MAX_SINCE_HOURS = 24 * 366 * 5


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error codes (every error is {"detail": ...})."""
    text = {
        400: "Malformed id or header", 401: "Missing or invalid token", 403: "Role or tenant not allowed",
        404: "Not found (or another tenant's)", 409: "Changed since you read it", 413: "Body or batch too large",
        422: "Invalid input", 503: "Database unavailable or ingest disabled",
    }
    return {c: {"model": ErrorOut, "description": text.get(c, "Error")} for c in codes}


def as_utc(value: datetime, name: str) -> datetime:
    """A timezone-aware UTC datetime; naive values are read as UTC."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{name} is out of range") from exc


def window(
    since_hours: float, since: datetime | None, until: datetime | None, *, end_default_now: bool
) -> tuple[datetime, datetime | None]:
    """[start, end) from since/until or `since_hours` before until (or now)."""
    now = utcnow()
    end = as_utc(until, "until") if until is not None else (now if end_default_now else None)
    try:
        start = as_utc(since, "since") if since is not None else (end or now) - timedelta(hours=since_hours)
    except OverflowError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="since_hours reaches before year 1") from exc
    # One rule for every endpoint: a window starts no later than now and before its end.
    if start > now:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="since is in the future")
    if end is not None and start > end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="since must be before until")
    return start, end


def parse_id(failure_id: str) -> uuid.UUID:
    """The failure id as a UUID; 400 when malformed."""
    try:
        return parse_failure_id(failure_id)
    except FailureIdError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="failure id must be a UUID") from exc


def parse_group_id(value: str, code: int = status.HTTP_400_BAD_REQUEST) -> uuid.UUID:
    """A group id as a UUID; `code` (400 in a path, 422 as a filter, like every filter) when malformed."""
    try:
        return uuid.UUID(value.strip())
    except ValueError as exc:
        raise HTTPException(code, detail="group id must be a UUID") from exc


def failure_json(row: dict[str, Any]) -> dict[str, Any]:
    """A failure_matches row as the API shows it (id as text, plus recovery_status)."""
    out = dict(row)
    out["id"] = str(out["id"])
    out["group_id"] = str(group_id(row["tenant_id"], row["signature"]))
    out["recovery_status"] = recovery_state(bool(row["recovery_attempted"]), row["recovery_succeeded"])
    return out


def group_json(row: dict[str, Any]) -> dict[str, Any]:
    """A failure_groups row as the API shows it."""
    return {
        "id": str(row["id"]), "tenant_id": row["tenant_id"], "fingerprint": row["signature"],
        "error_code": row["error_code"], "title": row["title"], "category": row["category"],
        "severity": row["severity"], "state": row["state"], "assignee": row["assignee"], "notes": row["notes"],
        "first_seen": row["first_seen"], "last_seen": row["last_seen"], "count": row["failures"],
        "regressed": bool(row["regressed"]), "ignore_until": row["ignore_until"],
        "ignore_until_count": row["ignore_until_failures"], "resolved_at": row["resolved_at"],
        "updated_at": row["updated_at"], "updated_by": row["updated_by"], "version": row["version"],
    }


def parse_if_match(value: str | None, what: str) -> int | None:
    """Expected version from If-Match: `3`, `"3"` or `W/"3"`; `*` or absent means no check; 400 otherwise."""
    if value is None or value.strip() in ("", "*"):
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"If-Match must be the {what}'s version (its ETag)")
    return int(raw)
