"""/api/v1/failures: list, one, stats, unrecovered queue, recovery marks and event ingest."""
from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi import status as http
from pydantic import BeforeValidator
from sqlalchemy.engine import Engine

from api.deps import get_app_metrics, get_engine, require, tenant_scope
from api.routes.common import MAX_SINCE_HOURS, errors, failure_json, parse_group_id, parse_id, parse_if_match, window
from api.schemas import (
    FailureDetailOut,
    FailureListOut,
    IngestOut,
    RecoveryIn,
    RecoveryOut,
    StatsOut,
    UnrecoveredOut,
)
from core.metrics import FailcatMetrics
from core.security import Principal
from core.settings import get_settings
from core.types import utcnow
from loaders.ingest.events import EventError, FailureEvent, validate_event
from loaders.ingest.pipeline import IngestDisabled, IngestPipeline
from queries.failures.filters import FailureFilter
from queries.failures.listing import (
    count_failures,
    get_failure,
    list_failure_rows,
    list_unrecovered_rows,
    recovery_history_rows,
)
from queries.failures.recovery import FailureNotFound, RecoveryConflict, count_recovery_changes, mark_recovery
from queries.groups.reads import get_group
from queries.reports.stats import get_stats

router = APIRouter(prefix="/api/v1", tags=["failures"])
MATCHER_TTL_SECONDS = 60.0

Str64 = Annotated[str | None, Query(max_length=64)]
Str128 = Annotated[str | None, Query(max_length=128)]
Many = Annotated[list[str] | None, Query(description="Repeat the parameter or separate values with commas")]
SinceHours = Annotated[float, Query(gt=0, le=MAX_SINCE_HOURS, description="Window length before `until` (or now)")]


def _iso_only(value: Any) -> Any:
    # pydantic would read "0.5" as a Unix timestamp; the API promises ISO 8601 only.
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value


Since = Annotated[datetime | None, BeforeValidator(_iso_only),
                  Query(description="Start (ISO 8601; overrides since_hours; naive = UTC)")]
Until = Annotated[datetime | None, BeforeValidator(_iso_only),
                  Query(description="End, exclusive (ISO 8601; default now)")]
FailureId = Annotated[str, Path(description="Failure UUID (400 when malformed)",
                                json_schema_extra={"format": "uuid"})]


def _many(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return tuple(dict.fromkeys(out))


@router.get("/failures", response_model=FailureListOut, responses=errors(401, 403, 422, 503))
def list_failures_route(
    principal: Annotated[Principal, Depends(require("read"))],
    engine: Annotated[Engine, Depends(get_engine)],
    tenant_id: Str64 = None,
    run_id: Str128 = None,
    error_code: Many = None,
    category: Many = None,
    severity: Many = None,
    recovery_mode: Many = None,
    matched: bool | None = None,
    status: Annotated[
        Literal["all", "open", "unrecovered", "failed", "recovered"],
        Query(description="unrecovered = never attempted, failed = attempted and not succeeded, "
                          "open = unrecovered or failed"),
    ] = "all",
    skill_id: Str128 = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the message or code")] = None,
    group_id: Annotated[str | None, Query(max_length=64, description="A group's failures (all its lifetime unless "
                                                                     "since or since_hours is given)")] = None,
    since_hours: Annotated[float | None, Query(gt=0, le=MAX_SINCE_HOURS,
                                               description="Window length before `until` (or now); 24 by default")]
    = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="For old clients; prefer cursor")] = 0,
) -> dict[str, Any]:
    """Failures newest first, filtered, keyset-paged."""
    scope = tenant_scope(principal, tenant_id)
    signature = None
    if group_id is not None:
        gid = parse_group_id(group_id, http.HTTP_422_UNPROCESSABLE_ENTITY)
        with engine.connect() as conn:
            group = get_group(conn, group_id=gid, tenant_id=scope, now=utcnow())
        if group is None:
            raise HTTPException(http.HTTP_404_NOT_FOUND, detail=f"group {gid} not found")
        scope, signature = group["tenant_id"], group["signature"]
        if since is None and since_hours is None:
            since = group["first_seen"]
    start, end = window(since_hours or 24, since, until, end_default_now=False)
    filt = FailureFilter(
        tenant_id=scope, signature=signature, run_id=run_id, error_codes=_many(error_code),
        categories=_many(category), severities=_many(severity), recovery_modes=_many(recovery_mode),
        matched=matched, status=status, skill_id=skill_id, q=q or None, start=start, end=end,
    )
    with engine.connect() as conn:
        rows, next_cursor = list_failure_rows(conn, filt=filt, limit=limit, cursor=cursor, offset=offset)
        total = count_failures(conn, filt=filt)
    return {"failures": [failure_json(r) for r in rows], "total": total, "limit": limit, "next_cursor": next_cursor}


@router.get("/failures/stats", response_model=StatsOut, responses=errors(401, 403, 422, 503))
def stats_route(
    principal: Annotated[Principal, Depends(require("read"))],
    engine: Annotated[Engine, Depends(get_engine)],
    tenant_id: Str64 = None,
    since_hours: SinceHours = 24,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """Hit rate, recovery success, top codes and categories, by severity and recovery mode."""
    scope = tenant_scope(principal, tenant_id)
    start, end = window(since_hours, since, until, end_default_now=True)
    assert end is not None
    with engine.connect() as conn:
        stats = get_stats(conn, tenant_id=scope, start=start, end=end)
    return {"tenant_id": scope, **stats}


@router.get("/failures/unrecovered", response_model=UnrecoveredOut, responses=errors(401, 403, 422, 503))
def unrecovered_route(
    principal: Annotated[Principal, Depends(require("read"))],
    engine: Annotated[Engine, Depends(get_engine)],
    tenant_id: Str64 = None,
    since_hours: SinceHours = 24,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """Failures not yet recovered (never attempted or failed), most severe first, then newest."""
    scope = tenant_scope(principal, tenant_id)
    start, end = window(since_hours, since, until, end_default_now=False)
    with engine.connect() as conn:
        rows = list_unrecovered_rows(conn, tenant_id=scope, start=start, end=end, limit=limit)
    return {
        "failures": [failure_json(r) for r in rows], "count": len(rows), "limit": limit,
        "since": start, "until": end or datetime.now(start.tzinfo),
    }


@router.get("/failures/{failure_id}", response_model=FailureDetailOut, responses=errors(400, 401, 404, 503))
def get_failure_route(
    failure_id: FailureId,
    response: Response,
    principal: Annotated[Principal, Depends(require("read"))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """One failure with its recovery history; the ETag is its version (send it back as If-Match)."""
    fid = parse_id(failure_id)
    with engine.connect() as conn:
        row = get_failure(conn, failure_id=fid, tenant_id=principal.tenant_id)
        if row is None:
            raise HTTPException(http.HTTP_404_NOT_FOUND, detail=f"failure {fid} not found")
        history = recovery_history_rows(conn, failure_id=fid, tenant_id=principal.tenant_id)
    response.headers["ETag"] = f'"{row["version"]}"'
    return {**failure_json(row), "history": history}


@router.patch(
    "/failures/{failure_id}/recovery", response_model=RecoveryOut,
    responses=errors(400, 401, 403, 404, 409, 413, 422, 503),
)
def patch_recovery_route(
    failure_id: FailureId,
    body: RecoveryIn,
    response: Response,
    principal: Annotated[Principal, Depends(require("recover"))],
    engine: Annotated[Engine, Depends(get_engine)],
    metrics: Annotated[FailcatMetrics, Depends(get_app_metrics)],
    if_match: Annotated[str | None, Header(max_length=64, description="Version (ETag) you read")] = None,
) -> dict[str, Any]:
    """Mark recovery succeeded or failed; writes history, rollups and the recovery counters."""
    fid = parse_id(failure_id)
    expected = parse_if_match(if_match, "failure")
    by = body.recovered_by or principal.name
    notes = body.notes or None
    try:
        with engine.begin() as conn:
            change = mark_recovery(
                conn, failure_id=fid, succeeded=body.recovery_succeeded, recovered_by=by, notes=notes,
                expected_version=expected, tenant_id=principal.tenant_id, source="api",
            )
        count_recovery_changes(metrics, [change])  # after commit: counters never count a rolled-back mark
    except FailureNotFound as exc:
        raise HTTPException(http.HTTP_404_NOT_FOUND, detail=f"failure {fid} not found") from exc
    except RecoveryConflict as exc:
        raise HTTPException(http.HTTP_409_CONFLICT, detail=str(exc)) from exc
    changed = change.changed
    with engine.connect() as conn:
        row = get_failure(conn, failure_id=fid, tenant_id=principal.tenant_id)
    if row is None:  # deleted between the mark and the read (retention); report it as gone
        raise HTTPException(http.HTTP_404_NOT_FOUND, detail=f"failure {fid} not found")
    response.headers["ETag"] = f'"{row["version"]}"'
    return {**failure_json(row), "changed": changed}


def _pipeline(request: Request, engine: Engine, metrics: FailcatMetrics) -> IngestPipeline:
    state = request.app.state
    pipeline: IngestPipeline | None = getattr(state, "pipeline", None)
    if pipeline is None:
        pipeline = state.pipeline = IngestPipeline(engine, metrics=metrics)
        state.pipeline_loaded = time.monotonic()
    elif time.monotonic() - state.pipeline_loaded > MATCHER_TTL_SECONDS:
        # Entries promoted in the dashboard take effect within a minute without a restart.
        pipeline.reload_catalog()
        state.pipeline_loaded = time.monotonic()
    return pipeline


_EVENT_SCHEMA = FailureEvent.model_json_schema()
_INGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "anyOf": [
                _EVENT_SCHEMA,
                {"type": "object", "required": ["events"], "additionalProperties": False,
                 "properties": {"events": {"type": "array", "items": _EVENT_SCHEMA, "minItems": 1}}},
                {"type": "array", "items": _EVENT_SCHEMA, "minItems": 1},
            ]
        }}},
    }
}


@router.post(
    "/failures", response_model=IngestOut, openapi_extra=_INGEST_BODY,
    responses={**errors(400, 401, 403, 413, 422, 503), 202: {"model": IngestOut, "description": "Spooled"}},
)
def post_failures_route(
    request: Request,
    response: Response,
    payload: Annotated[Any, Body()],
    principal: Annotated[Principal, Depends(require("ingest"))],
    engine: Annotated[Engine, Depends(get_engine)],
    metrics: Annotated[FailcatMetrics, Depends(get_app_metrics)],
) -> dict[str, Any]:
    """Store one event, `{"events": [...]}` or a JSON list, through the ingest pipeline; per-item results."""
    if isinstance(payload, list):
        items = payload
    elif isinstance(payload, dict) and set(payload) == {"events"}:
        items = payload["events"]
        if not isinstance(items, list):
            raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, detail="events must be a JSON list")
    elif isinstance(payload, dict):
        items = [payload]
    else:
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="send one event object, {\"events\": [...]} or a JSON list of events")
    limit = get_settings().api_max_batch
    if not items:
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, detail="no events in the request")
    if len(items) > limit:
        raise HTTPException(http.HTTP_413_CONTENT_TOO_LARGE,
                            detail=f"batch of {len(items)} events is over the limit of {limit}")
    if principal.tenant_id is not None:
        items = [dict(it, tenant_id=it.get("tenant_id") or principal.tenant_id) if isinstance(it, dict) else it
                 for it in items]
        others = sorted({str(it["tenant_id"])[:64] for it in items
                         if isinstance(it, dict) and it["tenant_id"] != principal.tenant_id})
        if others:
            raise HTTPException(http.HTTP_403_FORBIDDEN,
                                detail=f"this token is limited to tenant {principal.tenant_id!r}; "
                                       f"events for {', '.join(map(repr, others[:5]))} refused")
    checked: list[FailureEvent | list[EventError]] = [validate_event(it, i) for i, it in enumerate(items)]
    pipeline = _pipeline(request, engine, metrics)
    try:
        report = pipeline.ingest_checked(checked, replay=False, token_id=principal.token_id)
    except IngestDisabled as exc:
        raise HTTPException(http.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    bad: dict[int, list[str]] = {}
    for err in report.errors:
        bad.setdefault(err.position, []).append(f"{err.field}: {err.reason}")
    stored_n = report.inserted + report.duplicates
    results, ids, k = [], iter(report.ids), 0
    for i in range(len(items)):
        if i in bad:
            results.append({"index": i, "status": "rejected", "id": None, "errors": bad[i]})
            continue
        results.append({"index": i, "status": "stored" if k < stored_n else "spooled", "id": next(ids, None),
                        "errors": []})
        k += 1
    if bad and len(bad) == len(items):
        raise HTTPException(
            http.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[{"loc": ["body", e.position, *e.field.split(".")], "msg": e.reason, "type": "value_error"}
                    for e in report.errors],
        )
    if report.spooled:
        response.status_code = http.HTTP_202_ACCEPTED
    return {
        "received": len(items), "inserted": report.inserted, "duplicates": report.duplicates,
        "matched": report.matched, "unmatched": report.unmatched, "rejected": report.rejected,
        "spooled": report.spooled, "results": results,
    }
