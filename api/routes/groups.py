"""/api/v1/groups: list, read and triage groups of failures (same tokens, roles and tenant scope as failures)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response
from fastapi import status as http
from sqlalchemy.engine import Engine

from api.deps import get_app_metrics, get_engine, require, tenant_scope
from api.routes.common import errors, group_json, parse_group_id, parse_if_match
from api.schemas import GroupDetailOut, GroupListOut, GroupPatchIn, GroupPatchOut
from core.metrics import FailcatMetrics
from core.security import Principal
from core.types import utcnow
from queries.failures.recovery import count_recovery_changes
from queries.groups.reads import GroupFilter, GroupFilterError, daily_counts, get_group, group_history, list_groups
from queries.groups.triage import (
    UNSET,
    GroupConflict,
    GroupNotFound,
    Triage,
    TriageError,
    open_failure_count,
    update_group,
)

router = APIRouter(prefix="/api/v1", tags=["groups"])
GroupId = Annotated[str, Path(description="Group id (400 when malformed)", json_schema_extra={"format": "uuid"})]


def _many(values: list[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for v in values or [] for p in v.split(",") if p.strip()))


def require_triage(principal: Annotated[Principal, Depends(require("read"))]) -> Principal:
    """Dependency: the principal, or 403 when its role may not triage (the roles that may mark recoveries)."""
    if principal.refusal("recover") is not None:
        raise HTTPException(http.HTTP_403_FORBIDDEN,
                            detail=f"your role ({principal.role}) does not allow you to triage groups")
    return principal


def _me(principal: Principal) -> str:
    """The signed-in user's name for "me"; 422 for an API token, which is nobody to assign."""
    if principal.name.startswith("token:"):
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, detail='"me" needs a user, not an API token')
    return principal.name


@router.get("/groups", response_model=GroupListOut, responses=errors(401, 403, 422, 503))
def list_groups_route(
    principal: Annotated[Principal, Depends(require("read"))],
    engine: Annotated[Engine, Depends(get_engine)],
    tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[Literal["unresolved", "resolved", "ignored", "regressed", "open", "all"],
                     Query(description="regressed: unresolved groups reopened by a new failure")] = "all",
    assignee: Annotated[str | None, Query(max_length=128, description='A user name; "none" for unassigned, "me" '
                                          'for the signed-in user (not an API token)')] = None,
    error_code: Annotated[list[str] | None, Query(description="Repeat or separate with commas")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the title")] = None,
    sort: Literal["last_seen", "first_seen", "count"] = "last_seen",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400, description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Groups, the sort's largest first (most recent, newest or biggest), keyset-paged."""
    if assignee == "me":
        assignee = _me(principal)
    elif assignee == "none":
        assignee = ""
    try:
        filt = GroupFilter(tenant_id=tenant_scope(principal, tenant_id), state=state,
                           assignee=assignee, error_codes=_many(error_code),
                           q=q or None)
        with engine.connect() as conn:
            page = list_groups(conn, filt, now=utcnow(), sort=sort, limit=limit, cursor=cursor, with_total=True)
    except GroupFilterError as exc:
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    return {"groups": [group_json(r) for r in page.rows], "total": page.total, "next_cursor": page.next_cursor}


@router.get("/groups/{group_id}", response_model=GroupDetailOut, responses=errors(400, 401, 403, 404, 503))
def get_group_route(
    group_id: GroupId,
    response: Response,
    principal: Annotated[Principal, Depends(require("read"))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """One group with its history, its failures per day (14 days) and how many are still open."""
    gid = parse_group_id(group_id)
    now = utcnow()
    with engine.connect() as conn:
        row = get_group(conn, group_id=gid, tenant_id=principal.tenant_id, now=now)
        if row is None:
            raise HTTPException(http.HTTP_404_NOT_FOUND, detail=f"group {gid} not found")
        key = (row["tenant_id"], row["signature"])
        history = group_history(conn, group_id=gid)
        daily = daily_counts(conn, [key], end=now)[key]
        open_failures = open_failure_count(conn, tenant_id=row["tenant_id"], signature=row["signature"])
    response.headers["ETag"] = f'"{row["version"]}"'
    return {**group_json(row), "history": history, "daily": daily, "open_failures": open_failures}


@router.patch("/groups/{group_id}", response_model=GroupPatchOut,
              responses=errors(400, 401, 403, 404, 409, 413, 422, 503))
def patch_group_route(
    group_id: GroupId,
    body: GroupPatchIn,
    response: Response,
    principal: Annotated[Principal, Depends(require_triage)],
    engine: Annotated[Engine, Depends(get_engine)],
    metrics: Annotated[FailcatMetrics, Depends(get_app_metrics)],
    if_match: Annotated[str | None, Header(max_length=64, description="Version (ETag) you read")] = None,
) -> dict[str, Any]:
    """Change state (resolve, ignore, reopen), assignee or notes; 409 when the group changed since If-Match."""
    gid = parse_group_id(group_id)
    fields = body.model_fields_set
    assignee = _me(principal) if body.assignee == "me" else body.assignee
    triage = Triage(
        state=body.state if "state" in fields and body.state is not None else UNSET,
        assignee=assignee if "assignee" in fields else UNSET,
        notes=body.notes if "notes" in fields else UNSET,
        ignore_until=body.ignore_until if "ignore_until" in fields else UNSET,
        ignore_failures=body.ignore_count,
        recover_failures=body.recover_failures,
    )
    try:
        with engine.begin() as conn:
            result = update_group(conn, group_id=gid, tenant_id=principal.tenant_id, triage=triage,
                                  actor=principal.name, source="api", now=utcnow(),
                                  expected_version=parse_if_match(if_match, "group"))
    except GroupNotFound as exc:
        raise HTTPException(http.HTTP_404_NOT_FOUND, detail=f"group {gid} not found") from exc
    except TriageError as exc:
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    except GroupConflict as exc:
        raise HTTPException(http.HTTP_409_CONFLICT, detail=str(exc)) from exc
    count_recovery_changes(metrics, result.recovered)  # after commit, as for single marks
    response.headers["ETag"] = f'"{result.group["version"]}"'
    recovered = sum(c.changed for c in result.recovered)
    return {**group_json(result.group), "changed": result.changed, "recovered": recovered}
