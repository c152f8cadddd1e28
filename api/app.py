"""The FastAPI application: /api/v1 routes, /metrics, /healthz, /readyz; OpenAPI at /docs."""
from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.middleware import RequestGuard
from api.routes import failures, features, groups, health
from core.db import DatabaseUnavailable, describe_db_error, get_engine
from core.ids import FailureIdError
from core.metrics import FailcatMetrics, get_metrics
from core.settings import get_settings
from core.throttle import Throttle
from queries.failures.filters import FilterError

log = logging.getLogger("failcat.api")

DESCRIPTION = """Failure Catalog REST API. Authenticate with `Authorization: Bearer <token>`
(`failcat tokens create`). Errors are JSON objects with a `detail`."""


def _json(status: int, detail: object) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


def _printable(value: Any) -> Any:
    """The value with strings made encodable (lone surrogates escaped) so an error echo cannot fail."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(v) for v in value]
    return value


MAX_ECHO = 200  # characters of a refused input an error repeats


def _clipped(value: Any) -> Any:
    """A refused input short enough to repeat: longer text (or JSON of a larger value) is cut and ends in "…"."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= MAX_ECHO:
        return value
    return text[:MAX_ECHO] + "…"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # A validation error names the input it refused (and, for an unknown field, its name in `loc`); a
        # megabyte body must not come back in the answer.
        errors = [{**e, **({"input": _clipped(e["input"])} if "input" in e else {}),
                   "loc": [_clipped(part) if isinstance(part, str) else part for part in e.get("loc", [])]}
                  for e in jsonable_encoder(exc.errors())]
        return _json(422, _printable(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": _printable(exc.detail)},
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(FilterError)
    async def _filter_error(_: Request, exc: FilterError) -> JSONResponse:
        return _json(422, _printable(str(exc)))

    @app.exception_handler(FailureIdError)
    async def _bad_id(_: Request, exc: FailureIdError) -> JSONResponse:
        return _json(400, str(exc))

    @app.exception_handler(DatabaseUnavailable)
    async def _db_unavailable(_: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return _json(503, DATABASE_DOWN)

    @app.exception_handler(SQLAlchemyError)
    async def _db_error(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        # Connection trouble is the database being down (503); a value the database refuses is bad input.
        if isinstance(exc, (OperationalError, PoolTimeout)) or getattr(exc, "connection_invalidated", False):
            log.warning("database unavailable: %s", describe_db_error(exc))
            return _json(503, DATABASE_DOWN)  # the driver's words name hosts and ports: the log has them
        if isinstance(exc, DataError):
            return _json(422, "a value was refused by the database: " + describe_db_error(exc))
        if isinstance(exc, IntegrityError):
            return _json(409, "conflicts with stored data: " + describe_db_error(exc))
        log.exception("database error")
        return _json(500, "internal database error" if isinstance(exc, DBAPIError) else "internal error")


DATABASE_DOWN = "database unavailable; retry shortly (events sent meanwhile are spooled and stored later)"


def create_app(engine: Engine | None = None, *, metrics: FailcatMetrics | None = None) -> FastAPI:
    """Build the app on one engine (default: DATABASE_URL's) and one metrics registry (default: the process's)."""
    # Swagger UI is served from the package's own copy, so /docs works offline. No ReDoc: its bundle fetches
    # its logo from a CDN. No validator badge: Swagger UI would send the spec's URL to validator.swagger.io.
    app = FastAPIOffline(title="Failure Catalog API", version="1.0.0", description=DESCRIPTION, redoc_url=None,
                         swagger_ui_parameters={"validatorUrl": None})
    app.state.engine = engine if engine is not None else get_engine()
    app.state.metrics = metrics if metrics is not None else get_metrics()
    app.state.pipeline = None
    app.state.token_cache = {}
    settings = get_settings()
    app.state.auth_throttle = Throttle(settings.auth_max_failures_per_address, settings.auth_failure_window_seconds)
    app.add_middleware(RequestGuard, max_body_bytes=lambda: get_settings().api_max_body_bytes)
    _install_error_handlers(app)
    app.include_router(failures.router)
    app.include_router(groups.router)
    app.include_router(features.router)
    app.include_router(health.router)
    return app
