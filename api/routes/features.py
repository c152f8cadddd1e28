"""/api/v1/features: list feature flags and flip one (the runbook's immediate rollback switch)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi import status as http
from sqlalchemy.engine import Engine

from api.deps import get_engine, require
from api.routes.common import errors
from api.schemas import FlagIn, FlagListOut, FlagOut
from core.security import Principal
from queries.flags import UnknownFlag, get_flags, set_flag

router = APIRouter(prefix="/api/v1", tags=["features"])


@router.get("/features", response_model=FlagListOut, responses=errors(401, 403, 503))
def list_features_route(
    principal: Annotated[Principal, Depends(require("read"))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """Every feature flag and who changed it last."""
    with engine.connect() as conn:
        frame = get_flags(conn)
    return {"features": [
        {"name": r.name, "enabled": bool(r.enabled), "updated_by": r.updated_by, "updated_at": r.updated_at}
        for r in frame.astype(object).itertuples(index=False)
    ]}


@router.patch("/features/{name}", response_model=FlagOut, responses=errors(400, 401, 403, 404, 413, 422, 503))
def set_feature_route(
    name: Annotated[str, Path(max_length=64)],
    body: FlagIn,
    principal: Annotated[Principal, Depends(require("flags"))],
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """Turn a flag on or off (admin of all tenants). The body is read as JSON whatever the Content-Type says."""
    try:
        with engine.begin() as conn:
            return set_flag(conn, name=name, enabled=body.enabled, updated_by=principal.name)
    except UnknownFlag as exc:
        raise HTTPException(http.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
