"""Request dependencies: the engine, the authenticated principal and role checks."""
from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from core.metrics import FailcatMetrics
from core.security import Principal, token_hash
from queries.accounts import authenticate_token

bearer = HTTPBearer(auto_error=False, description="An API token from `failcat tokens create`")
MAX_TOKEN_CHARS = 512
# While the database is down, a token seen valid this recently still authenticates, so runtimes
# can keep posting events (they go to the spool). Revocation always wins while the database is up.
OUTAGE_GRACE_SECONDS = 15 * 60


def get_engine(request: Request) -> Engine:
    """The application's one engine."""
    return request.app.state.engine


def get_app_metrics(request: Request) -> FailcatMetrics:
    """The metrics object the app counts into (the process-wide one unless a test passed its own)."""
    return request.app.state.metrics


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def get_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    engine: Engine = Depends(get_engine),
) -> Principal:
    """The caller from `Authorization: Bearer <token>`; 401 when missing, unknown or revoked."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
    token = credentials.credentials.strip()
    if len(token) > MAX_TOKEN_CHARS or not token.isprintable():
        raise _unauthorized("invalid or revoked token")
    cache: dict[str, tuple[float, Principal]] = request.app.state.token_cache
    key = token_hash(token)
    try:
        with engine.begin() as conn:
            principal = authenticate_token(conn, token)
    except OperationalError:
        seen = cache.get(key)
        if seen is None or time.monotonic() - seen[0] > OUTAGE_GRACE_SECONDS:
            raise
        return seen[1]
    if principal is None:
        cache.pop(key, None)
        raise _unauthorized("invalid or revoked token")
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = (time.monotonic(), principal)
    return principal


def require(action: str) -> Callable[..., Principal]:
    """Dependency: the principal, or 403 when its role may not do `action`."""

    def dependency(principal: Principal = Depends(get_principal)) -> Principal:
        if not principal.can(action):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"role {principal.role!r} may not {action}"
            )
        return principal

    dependency.__name__ = f"require_{action}"
    return dependency


def tenant_scope(principal: Principal, requested: str | None) -> str | None:
    """The tenant filter to apply; 403 when a tenant-bound token asks for another tenant."""
    try:
        return principal.scope(requested)
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from exc
