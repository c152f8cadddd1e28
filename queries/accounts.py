"""Users and API tokens: create, list, authenticate, revoke."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core.schema import api_tokens, users
from core.security import Principal, check_role, hash_password, new_token, token_hash, verify_password
from core.types import utcnow

LAST_USED_RESOLUTION = timedelta(minutes=1)


class AccountError(ValueError):
    """A user or token operation was refused (duplicate name, unknown id, ...)."""


def create_user(conn: Connection, *, name: str, password: str, role: str, tenant_id: str | None) -> int:
    """Add a local account; tenant_id None means all tenants."""
    name = name.strip()
    if not name:
        raise AccountError("user name is required")
    check_role(role)
    try:
        return int(conn.execute(
            users.insert().values(
                name=name, password_hash=hash_password(password), role=role, tenant_id=tenant_id,
                created_at=utcnow(),
            ).returning(users.c.id)
        ).scalar_one())
    except IntegrityError as exc:
        raise AccountError(f"user {name!r} already exists") from exc


def set_password(conn: Connection, *, name: str, password: str) -> None:
    """Replace a user's password."""
    result = conn.execute(users.update().where(users.c.name == name).values(password_hash=hash_password(password)))
    if result.rowcount == 0:
        raise AccountError(f"no user {name!r}")


def authenticate_user(conn: Connection, *, name: str, password: str) -> Principal | None:
    """The user's principal when name and password match an enabled account."""
    row = conn.execute(select(users).where(users.c.name == name.strip())).mappings().first()
    if row is None or row["disabled"] or not verify_password(row["password_hash"], password):
        return None
    return Principal(name=row["name"], role=row["role"], tenant_id=row["tenant_id"])


def get_user_principal(conn: Connection, *, name: str) -> Principal | None:
    """The principal of an enabled user by name (for restoring a session)."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    if row is None or row["disabled"]:
        return None
    return Principal(name=row["name"], role=row["role"], tenant_id=row["tenant_id"])


def list_users(conn: Connection, *, tenant_scope: str | None = None) -> pd.DataFrame:
    """Users (never their hashes): id, name, role, tenant_id, created_at, disabled."""
    query = select(users.c.id, users.c.name, users.c.role, users.c.tenant_id, users.c.created_at, users.c.disabled)
    if tenant_scope is not None:
        query = query.where(users.c.tenant_id == tenant_scope)
    rows = conn.execute(query.order_by(users.c.name)).mappings().all()
    return pd.DataFrame(rows, columns=["id", "name", "role", "tenant_id", "created_at", "disabled"])


def set_user_disabled(conn: Connection, *, name: str, disabled: bool) -> None:
    """Disable or re-enable a user."""
    if conn.execute(users.update().where(users.c.name == name).values(disabled=disabled)).rowcount == 0:
        raise AccountError(f"no user {name!r}")


def create_token(conn: Connection, *, name: str, role: str, tenant_id: str | None) -> tuple[int, str]:
    """Create an API token; returns (id, token). Only the hash is stored."""
    check_role(role)
    if not name.strip():
        raise AccountError("token name is required")
    token = new_token()
    token_id = conn.execute(
        api_tokens.insert().values(
            name=name.strip(), token_hash=token_hash(token), role=role, tenant_id=tenant_id, created_at=utcnow()
        ).returning(api_tokens.c.id)
    ).scalar_one()
    return int(token_id), token


def authenticate_token(conn: Connection, token: str) -> Principal | None:
    """The token's principal when it exists and is not revoked; records last use (to the minute)."""
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash(token))).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    now = utcnow()
    # Writing last_used_at on every request made every API read a write transaction (a commit flush per
    # request, bench api.*.p95); once a minute is as useful for spotting unused tokens.
    if row["last_used_at"] is None or now - row["last_used_at"] >= LAST_USED_RESOLUTION:
        conn.execute(api_tokens.update().where(api_tokens.c.id == row["id"]).values(last_used_at=now))
    return Principal(name=f"token:{row['name']}", role=row["role"], tenant_id=row["tenant_id"])


def list_tokens(conn: Connection) -> pd.DataFrame:
    """Tokens without secrets: id, name, role, tenant_id, created_at, last_used_at, revoked_at."""
    cols = ["id", "name", "role", "tenant_id", "created_at", "last_used_at", "revoked_at"]
    rows = conn.execute(select(*[api_tokens.c[c] for c in cols]).order_by(api_tokens.c.id)).mappings().all()
    return pd.DataFrame(rows, columns=cols)


def revoke_token(conn: Connection, *, token_id: int | None = None, name: str | None = None) -> int:
    """Revoke tokens by id or name; returns how many were revoked."""
    if token_id is None and not name:
        raise AccountError("give a token id or name")
    cond = api_tokens.c.id == token_id if token_id is not None else api_tokens.c.name == name
    n = conn.execute(
        api_tokens.update().where(cond, api_tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow())
    ).rowcount
    if n == 0:
        raise AccountError(f"no active token {token_id if token_id is not None else name!r}")
    return int(n)
