"""Request dependencies: the engine, the authenticated principal and role checks."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from core.metrics import FailcatMetrics
from core.security import Principal, token_hash
from core.throttle import Throttle
from queries.accounts import authenticate_token

bearer = HTTPBearer(auto_error=False, description="An API token from `failcat tokens create`")
MAX_TOKEN_CHARS = 512
# While the database is down, a token seen valid this recently may still post events, which go to the spool;
# the replay refuses them if the token was revoked before they were spooled (loaders.ingest.pipeline). Only ingest has
# this grace: every other request needs the database anyway.
OUTAGE_GRACE_SECONDS = 15 * 60

log = logging.getLogger("failcat.api")


def get_engine(request: Request) -> Engine:
    """The application's one engine."""
    return request.app.state.engine


def get_app_metrics(request: Request) -> FailcatMetrics:
    """The metrics object the app counts into (the process-wide one unless a test passed its own)."""
    return request.app.state.metrics


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (uvicorn applies X-Forwarded-For from trusted proxies only)."""
    return request.client.host if request.client else "unknown"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _throttled(retry_after: int) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                         detail=f"too many failed authentications from this address; retry in {retry_after} s",
                         headers={"Retry-After": str(retry_after)})


def _authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None, engine: Engine,
                  *, grace: bool) -> Principal:
    throttle: Throttle = request.app.state.auth_throttle
    metrics: FailcatMetrics = request.app.state.metrics
    address = client_address(request)
    token = credentials.credentials.strip() if credentials is not None else ""
    cache: dict[str, tuple[float, Principal]] = request.app.state.token_cache
    key = token_hash(token)
    principal: Principal | None = None
    if token and len(token) <= MAX_TOKEN_CHARS and token.isprintable():
        try:
            with engine.begin() as conn:
                principal = authenticate_token(conn, token)
        except OperationalError:
            seen = cache.get(key)
            if not grace or seen is None or time.monotonic() - seen[0] > OUTAGE_GRACE_SECONDS:
                raise
            return seen[1]
    if principal is None:
        # A valid token is never refused for its address: clients behind one proxy share an address, and
        # guessing a 256-bit token is hopeless anyway. Failures are what the address throttle counts and slows.
        cache.pop(key, None)
        wait = throttle.retry_after(address)
        if wait:
            metrics.count_auth_failure(channel="api", outcome="throttled")
            log.warning("throttled API authentication from %s (%s); retry in %s s", address, request.url.path, wait)
            raise _throttled(wait)
        if not token:
            raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
        throttle.failure(address)
        metrics.count_auth_failure(channel="api", outcome="bad_credentials")
        log.warning("refused API token from %s (%s)", address, request.url.path)
        raise _unauthorized("invalid or revoked token")
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = (time.monotonic(), principal)
    return principal


def get_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    engine: Engine = Depends(get_engine),
) -> Principal:
    """The caller from `Authorization: Bearer <token>`; 401 when missing, unknown or revoked, 429 when throttled."""
    return _authenticate(request, credentials, engine, grace=False)


def require(action: str) -> Callable[..., Principal]:
    """Dependency: the principal, or 403 when its role (or its tenant scope) may not do `action`."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        engine: Engine = Depends(get_engine),
    ) -> Principal:
        principal = _authenticate(request, credentials, engine, grace=action == "ingest")
        refusal = principal.refusal(action)
        if refusal is not None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
        return principal

    dependency.__name__ = f"require_{action}"
    return dependency


def tenant_scope(principal: Principal, requested: str | None) -> str | None:
    """The tenant filter to apply; 403 when a tenant-bound token asks for another tenant."""
    try:
        return principal.scope(requested)
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from exc
