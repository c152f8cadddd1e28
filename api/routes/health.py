"""Liveness, readiness (checks the database) and Prometheus metrics."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.deps import get_app_metrics, get_engine
from api.schemas import ErrorOut, HealthOut, ReadyOut
from core.db import DatabaseUnavailable, describe_db_error
from core.metrics import FailcatMetrics

router = APIRouter(tags=["health"])
log = logging.getLogger("failcat.api")


@router.get("/healthz", response_model=HealthOut)
def healthz() -> dict[str, str]:
    """The process is up (no database check)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ErrorOut, "description": "Database down"}})
def readyz(engine: Annotated[Engine, Depends(get_engine)]) -> object:
    """Ready to serve: the database answers."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, DatabaseUnavailable) as exc:
        log.warning("readiness: %s", describe_db_error(exc))
        return JSONResponse(status_code=503, content={"detail": "database unavailable"})
    return {"status": "ready", "database": "ok"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                     "description": "Prometheus text exposition"}},
)
def metrics_route(metrics: Annotated[FailcatMetrics, Depends(get_app_metrics)]) -> Response:
    """Prometheus metrics of this process (recovery and match counters, ingest timings)."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
